"""Tests of grader/data.py: the bundled digits, the `.npz` source and the `keras` source."""

from __future__ import annotations

import functools
import hashlib
import http.server
import importlib.util
import pickle
import socket
import subprocess
import sys
import threading
import zipfile
from pathlib import Path

import numpy as np
import pytest
from mnist import BUNDLED_PATH, MNIST, dataset_label, load_mnist

from grader import data
from grader.data import budget_name
from grader.errors import GraderError

REPO_ROOT = Path(__file__).resolve().parent.parent
SPLIT_SHA256 = "8f78783135af252beb4cc80e44a58a9dda0c0f8c926a33f0ce60661a58e9614f"
"""sha256 of x_train, y_train, x_test, y_test bytes of the bundled split, pinned: a change in
the split (or in NumPy's legacy RandomState stream) would silently change every bundled grade."""
KERAS_MNIST_ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
KERAS_MNIST_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"


def _split_digest(split) -> str:
    (x_train, y_train), (x_test, y_test) = split
    digest = hashlib.sha256()
    for array in (x_train, y_train, x_test, y_test):
        digest.update(array.tobytes())
    return digest.hexdigest()


@pytest.fixture(scope="module")
def bundled():
    return load_mnist("bundled")


def _arrays(n_train: int = 20, n_test: int = 10) -> dict[str, np.ndarray]:
    """A small, valid dataset in keras's mnist.npz format."""
    rng = np.random.default_rng(0)
    return {
        "x_train": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "y_train": np.arange(n_train) % 10,
        "x_test": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "y_test": np.arange(n_test) % 10,
    }


def _write_npz(path: Path, **changes) -> Path:
    """Save _arrays() with some keys replaced (a None value drops the key)."""
    arrays = {**_arrays(), **changes}
    np.savez(path, **{k: v for k, v in arrays.items() if v is not None})
    return path


# --- the bundled file -------------------------------------------------------------------------


def test_bundled_file_matches_recorded_sha256():
    """Does the shipped file match its recorded sha256, in the code and in its README?"""
    digest = hashlib.sha256(BUNDLED_PATH.read_bytes()).hexdigest()
    assert digest == MNIST.data.sha256
    readme = (BUNDLED_PATH.parent / "README.md").read_text(encoding="utf-8")
    assert MNIST.data.sha256 in readme
    assert "CC BY-SA 3.0" in readme and "Yann LeCun" in readme and "Corinna Cortes" in readme


def test_bundled_file_contents():
    """Does the shipped file hold 5,000 uint8 28x28 images, 500 of each digit?"""
    with np.load(BUNDLED_PATH, allow_pickle=False) as f:
        assert sorted(f.files) == ["images", "labels"]
        images, labels = f["images"], f["labels"]
    assert images.shape == (5000, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (5000,) and labels.dtype == np.uint8
    assert np.bincount(labels).tolist() == [500] * 10
    assert len({image.tobytes() for image in images}) == 5000  # no duplicate digits


def test_build_script_writes_reproducible_bytes():
    """Does the build script's writer reproduce the shipped file byte for byte (no timestamps)?"""
    spec = importlib.util.spec_from_file_location(
        "build_mnist_subset_under_test", REPO_ROOT / "scripts" / "build_mnist_subset.py"
    )
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    with np.load(BUNDLED_PATH, allow_pickle=False) as f:
        rebuilt = script.npz_bytes({"images": f["images"], "labels": f["labels"]})
    assert hashlib.sha256(rebuilt).hexdigest() == MNIST.data.sha256


def test_bundled_corruption_is_detected(tmp_path, monkeypatch):
    """Does a damaged bundled file fail with a GraderError instead of grading on bad data?"""
    damaged = tmp_path / "mnist_5k.npz"
    raw = bytearray(BUNDLED_PATH.read_bytes())
    raw[1000] ^= 0xFF
    damaged.write_bytes(bytes(raw))
    monkeypatch.setattr(data, "bundled_path", lambda config: damaged)
    with pytest.raises(GraderError, match="sha256") as info:
        load_mnist("bundled")
    assert info.value.hint


# --- the bundled split ------------------------------------------------------------------------


def test_bundled_split_shapes_and_dtypes(bundled):
    """Does the bundled split look exactly like keras.datasets.mnist.load_data()'s output?"""
    (x_train, y_train), (x_test, y_test) = bundled
    assert x_train.shape == (4000, 28, 28) and x_test.shape == (1000, 28, 28)
    assert y_train.shape == (4000,) and y_test.shape == (1000,)
    for array in (x_train, y_train, x_test, y_test):
        assert array.dtype == np.uint8


def test_bundled_split_is_stratified(bundled):
    """Are there 400 training and 100 test images of every digit?"""
    (_, y_train), (_, y_test) = bundled
    assert np.bincount(y_train).tolist() == [400] * 10
    assert np.bincount(y_test).tolist() == [100] * 10


def test_bundled_split_is_disjoint_and_complete(bundled):
    """Is every bundled digit in exactly one of train and test?"""
    (x_train, _), (x_test, _) = bundled
    train = {image.tobytes() for image in x_train}
    test = {image.tobytes() for image in x_test}
    assert not train & test
    with np.load(BUNDLED_PATH, allow_pickle=False) as f:
        assert train | test == {image.tobytes() for image in f["images"]}


def test_bundled_split_is_deterministic(bundled):
    """Does every load, in this process and in a fresh one, give the same pinned split?"""
    assert _split_digest(load_mnist()) == _split_digest(bundled) == SPLIT_SHA256
    code = (
        "from grader.config import find_assignment; from grader.data import load_data\n"
        "import hashlib; h = hashlib.sha256()\n"
        "for part in load_data(find_assignment('mnist')): [h.update(a.tobytes()) for a in part]\n"
        "print(h.hexdigest())"
    )
    fresh = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert fresh == SPLIT_SHA256


def test_bundled_split_interleaves_digits(bundled):
    """Do the first 1,000 and the last 20% (Keras's validation part) hold every digit?"""
    (_, y_train), _ = bundled
    assert np.bincount(y_train[:1000], minlength=10).min() >= 70
    assert np.bincount(y_train[-800:], minlength=10).min() >= 50


def test_loaded_arrays_are_independent():
    """Can a caller modify the arrays it got without changing the next load?"""
    (x_train, _), _ = load_mnist()
    x_train[:] = 0
    (again, _), _ = load_mnist()
    assert again.any()


def test_import_does_not_import_tensorflow():
    """Does importing grader.data leave TensorFlow and Keras unimported?"""
    code = "import sys, grader.data; print(sorted({'tensorflow', 'keras'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# --- labels for reports and budgets -----------------------------------------------------------


def test_dataset_label_and_budget_name(tmp_path):
    """Are the report labels and budget names short, stable and right for each source?"""
    assert (
        dataset_label("bundled")
        == f"bundled (5,000 MNIST digits, sha256 {MNIST.data.sha256[:12]})"
    )
    assert dataset_label("keras") == "keras (full MNIST)"
    assert dataset_label(str(tmp_path / "x" / ".." / "m.npz")) == str(
        (tmp_path / "m.npz").resolve()
    )
    assert [budget_name(s) for s in ("bundled", "keras", "m.npz")] == ["bundled", "keras", "keras"]


# --- a path to an .npz ------------------------------------------------------------------------


def test_good_npz_loads(tmp_path):
    """Does a keras-format .npz load, with its labels turned into uint8 like keras's?"""
    path = _write_npz(tmp_path / "mnist.npz")
    (x_train, y_train), (x_test, y_test) = load_mnist(str(path))
    expected = _arrays()
    np.testing.assert_array_equal(x_train, expected["x_train"])
    np.testing.assert_array_equal(y_train, expected["y_train"])
    np.testing.assert_array_equal(x_test, expected["x_test"])
    np.testing.assert_array_equal(y_test, expected["y_test"])
    assert y_train.dtype == y_test.dtype == np.uint8


class _Trap:
    """Unpickling this creates a marker file: proof that pickled code ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def _bad_keys_missing(path: Path) -> None:
    _write_npz(path, y_test=None)


def _bad_keys_extra(path: Path) -> None:
    _write_npz(path, extra=np.zeros(3))


def _bad_shape(path: Path) -> None:
    _write_npz(path, x_train=np.zeros((20, 784), np.uint8))


def _bad_float_images(path: Path) -> None:
    _write_npz(path, x_test=np.zeros((10, 28, 28), np.float32))


def _bad_float_labels(path: Path) -> None:
    _write_npz(path, y_train=np.zeros(20, np.float64))


def _bad_label_range(path: Path) -> None:
    _write_npz(path, y_train=np.arange(20))


def _bad_negative_label(path: Path) -> None:
    _write_npz(path, y_test=np.full(10, -1))


def _bad_lengths(path: Path) -> None:
    _write_npz(path, y_train=np.zeros(19, np.uint8))


def _bad_empty(path: Path) -> None:
    _write_npz(path, x_test=np.zeros((0, 28, 28), np.uint8), y_test=np.zeros(0, np.uint8))


def _bad_text(path: Path) -> None:
    path.write_text("x_train,y_train\n1,2\n")


def _bad_pickle(path: Path) -> None:
    path.write_bytes(pickle.dumps(_arrays()))


def _bad_npy(path: Path) -> None:
    with path.open("wb") as fh:
        np.save(fh, np.zeros((3, 28, 28), np.uint8))


def _bad_other_zip(path: Path) -> None:
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("readme.txt", "not arrays")


def _bad_truncated(path: Path) -> None:
    _write_npz(path)
    path.write_bytes(path.read_bytes()[:5000])


def _bad_object_array(path: Path) -> None:
    trap = np.empty(10, dtype=object)
    trap[:] = [_Trap(path.with_name("pickle-ran")) for _ in range(10)]
    _write_npz(path, y_test=trap)  # np.savez pickles object arrays


def _bad_directory(path: Path) -> None:
    path.mkdir()


def _bad_missing(path: Path) -> None:
    pass


BAD_FILES = [
    (_bad_keys_missing, r"lacks y_test \(keys must be exactly x_train, y_train, x_test, y_test\)"),
    (_bad_keys_extra, "has unexpected extra"),
    (_bad_shape, r"x_train has shape \(20, 784\), expected \(n, 28, 28\)"),
    (_bad_float_images, "x_test is float32, expected uint8"),
    (_bad_float_labels, "y_train is float64, expected integers"),
    (_bad_label_range, r"y_train has labels 0\.\.19, expected 0\.\.9"),
    (_bad_negative_label, r"y_test has labels -1\.\.-1, expected 0\.\.9"),
    (_bad_lengths, r"y_train has shape \(19,\), expected \(20,\) to match x_train"),
    (_bad_empty, "x_test is empty"),
    (_bad_text, r"not an \.npz \(not a zip archive\)"),
    (_bad_pickle, r"is a pickle, not an \.npz"),
    (_bad_npy, r"single \.npy array"),
    (_bad_other_zip, "lacks x_train, y_train, x_test, y_test and has unexpected readme.txt"),
    (_bad_truncated, "damaged zip"),
    (_bad_object_array, r"y_test holds an object array \(would need pickle\)"),
    (_bad_directory, "is not a regular file"),
    (_bad_missing, "does not exist"),
]


@pytest.mark.parametrize(
    ("make", "problem"),
    BAD_FILES,
    ids=[make.__name__.removeprefix("_bad_") for make, _ in BAD_FILES],
)
def test_bad_npz_is_refused(tmp_path, make, problem):
    """Does each kind of bad data file give one GraderError naming the file and the problem?"""
    path = tmp_path / "mnist.npz"
    make(path)
    with pytest.raises(GraderError, match=problem) as info:
        load_mnist(str(path))
    assert str(path) in info.value.message
    assert "\n" not in str(info.value)
    assert info.value.hint
    assert not (tmp_path / "pickle-ran").exists()


def test_empty_source_is_refused():
    """Does an empty --data value say so instead of reading the current directory?"""
    with pytest.raises(GraderError, match="empty data source"):
        load_mnist("")


# --- the keras source, with a stand-in served on 127.0.0.1 ------------------------------------


@pytest.fixture
def loopback(tmp_path):
    """An HTTP server on 127.0.0.1 serving tmp_path/www; yields its base URL."""
    root = tmp_path / "www"
    root.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Quiet, directory=str(root))
    )
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", root
    finally:
        server.shutdown()
        server.server_close()


def _redirect_keras_download(monkeypatch, new_origin: str, new_hash: str, cache: Path) -> list:
    """Make keras's MNIST loader fetch `new_origin` instead of Google's URL; nothing else changes.

    keras.datasets.mnist.load_data() passes a fixed origin and sha256 to keras.utils.get_file.
    Only those arguments (and the cache directory) are swapped: keras's real get_file downloads,
    checks the hash and caches, and keras's real load_data opens the file.
    """
    from keras.src.datasets import mnist as keras_mnist

    real_get_file = keras_mnist.get_file
    asked = []
    cache.mkdir()  # keras falls back to /tmp/.keras if the cache dir is not there and writable

    def redirected(fname=None, origin=None, file_hash=None, **kwargs):
        asked.append((origin, file_hash))
        return real_get_file(
            fname=fname, origin=new_origin, file_hash=new_hash, cache_dir=str(cache), **kwargs
        )

    monkeypatch.setattr(keras_mnist, "get_file", redirected)
    return asked


def test_keras_source_loads_through_keras(tmp_path, loopback, monkeypatch):
    """Does --data keras load what keras.datasets.mnist.load_data() downloads?"""
    base, root = loopback
    standin = _write_npz(root / "mnist.npz")
    digest = hashlib.sha256(standin.read_bytes()).hexdigest()
    asked = _redirect_keras_download(monkeypatch, f"{base}/mnist.npz", digest, tmp_path / "cache")
    (x_train, y_train), (x_test, y_test) = load_mnist("keras")
    assert asked == [(KERAS_MNIST_ORIGIN, KERAS_MNIST_SHA256)]  # keras still asks for the real one
    np.testing.assert_array_equal(x_train, _arrays()["x_train"])
    assert x_test.shape == (10, 28, 28) and y_train.dtype == y_test.dtype == np.uint8
    assert (tmp_path / "cache" / "datasets" / "mnist.npz").is_file()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("failure", ["connection-refused", "http-404"])
def test_keras_source_offline_says_what_to_do(tmp_path, loopback, monkeypatch, failure):
    """Offline, does --data keras fail with one GraderError pointing at --data bundled or a path?"""
    base, _ = loopback
    origin = (
        f"http://127.0.0.1:{_closed_port()}/mnist.npz"
        if failure == "connection-refused"
        else f"{base}/missing/mnist.npz"
    )
    _redirect_keras_download(monkeypatch, origin, KERAS_MNIST_SHA256, tmp_path / "cache")
    with pytest.raises(GraderError, match="could not get full MNIST from keras") as info:
        load_mnist("keras")
    assert "\n" not in str(info.value)
    assert "--data bundled" in info.value.hint and "--data PATH" in info.value.hint
