"""MNIST for the grader: the bundled 5,000 digits, keras's full MNIST, or an `.npz` file.

Every source comes back exactly as `keras.datasets.mnist.load_data()` returns MNIST:
`(x_train, y_train), (x_test, y_test)` with uint8 images (n, 28, 28), pixels 0..255, and uint8
labels (n,), digits 0..9. The student's code is written against that shape, whatever the source.

Sources (the CLI's `--data`):
- `"bundled"` (default, offline): `grader/data/mnist_5k.npz`, 5,000 real MNIST digits, 500 per
  class (provenance and licence in `grader/data/README.md`). Split stratified into 4,000 train /
  1,000 test, 400 / 100 per class, always the same way (see `_split_bundled`).
- `"keras"`: `keras.datasets.mnist.load_data()`, 60,000 / 10,000; needs the internet once.
- anything else: a path to an `.npz` with keras's keys `x_train, y_train, x_test, y_test`
  (a file literally named `bundled` or `keras` is reached as `./bundled`, `./keras`).

Importing this module imports only NumPy: TensorFlow is imported only for the `keras` source.
"""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import numpy as np

from grader.errors import GraderError

BUNDLED_PATH = Path(__file__).resolve().parent / "data" / "mnist_5k.npz"
"""The 5,000-digit file shipped inside the package (built by scripts/build_mnist_subset.py)."""
BUNDLED_SHA256 = "63818dc867dd7ee1181196c2588842f34debadc19cc80dc16b1dc1401cbb62c4"
"""sha256 of BUNDLED_PATH, also recorded in grader/data/README.md."""
BUNDLED_TEST_PER_CLASS = 100
"""Test images per digit in the bundled split; the other 400 of each digit are for training."""
SPLIT_SEED = 20_000_525
"""Seed of the bundled split's shuffle. Changing it changes every bundled grade: don't."""
NUM_CLASSES = 10
MAX_MEMBER_BYTES = 1 << 30
"""Largest uncompressed array accepted from a user's `.npz` (full MNIST is 47 MB)."""
NPZ_KEYS = ("x_train", "y_train", "x_test", "y_test")

Split = tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]

_NPZ_HINT = (
    "give an .npz like keras's mnist.npz: uint8 x_train/x_test (n, 28, 28) and "
    "integer y_train/y_test (n,) in 0..9, saved with np.savez (no pickled objects)"
)


def load_mnist(source: str = "bundled") -> Split:
    """Load MNIST from `source`, shaped like `keras.datasets.mnist.load_data()`.

    Args:
        source: `"bundled"` (the 5,000 digits shipped with the grader), `"keras"` (full MNIST
            via keras, downloaded once), or the path of a keras-format `.npz`.

    Returns:
        `(x_train, y_train), (x_test, y_test)`: uint8 images (n, 28, 28) and uint8 labels (n,).

    Raises:
        GraderError: the data cannot be had (offline, missing or malformed file), in one line
            naming the source and the problem, with a hint.
    """
    if source == "bundled":
        return _load_bundled()
    if source == "keras":
        return _load_keras()
    return _load_npz(source)


def dataset_label(source: str) -> str:
    """A short, stable description of `source` for reports and results.

    Args:
        source: a value accepted by `load_mnist`.

    Returns:
        e.g. `"bundled (5,000 MNIST digits, sha256 63818dc867dd)"`, `"keras (full MNIST)"`, or
        the resolved path of an `.npz`.
    """
    if source == "bundled":
        return f"bundled (5,000 MNIST digits, sha256 {BUNDLED_SHA256[:12]})"
    if source == "keras":
        return "keras (full MNIST)"
    return str(Path(source).expanduser().resolve())


def budget_name(source: str) -> str:
    """The training budget (`[budget.<name>]` of assignment.toml) that goes with `source`.

    A user's `.npz` gets the `keras` budget: it is assumed to be full-size MNIST, like
    keras's own file.
    """
    return "bundled" if source == "bundled" else "keras"


def _load_bundled() -> Split:
    data = BUNDLED_PATH.read_bytes()  # 0.8 MB: hashing it costs about a millisecond
    if hashlib.sha256(data).hexdigest() != BUNDLED_SHA256:
        raise GraderError(
            f"bundled data {BUNDLED_PATH} does not match its recorded sha256",
            "reinstall keras-grader, or rebuild it with scripts/build_mnist_subset.py",
        )
    with np.load(BUNDLED_PATH, allow_pickle=False) as f:
        images, labels = f["images"], f["labels"]
    train, test = _split_bundled(labels)
    return (images[train], labels[train]), (images[test], labels[test])


def _split_bundled(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the bundled train and test images: stratified, disjoint, always the same.

    For each digit, its images (in file order) are shuffled and the first 100 go to test, the
    other 400 to train. Each side is then shuffled again so that digits are interleaved, as in
    keras's MNIST: the grader trains on the first `train_samples` images and Keras validates on
    the LAST `validation_split` of them, so a class-sorted order would leave whole digits out.

    The legacy `RandomState` is used on purpose: NumPy freezes its stream across versions
    (NEP 19), while `default_rng` streams may change, and a changed split would change grades.
    """
    rng = np.random.RandomState(SPLIT_SEED)
    train_parts, test_parts = [], []
    for digit in range(NUM_CLASSES):
        members = rng.permutation(np.flatnonzero(labels == digit))
        test_parts.append(members[:BUNDLED_TEST_PER_CLASS])
        train_parts.append(members[BUNDLED_TEST_PER_CLASS:])
    return rng.permutation(np.concatenate(train_parts)), rng.permutation(np.concatenate(test_parts))


def _load_keras() -> Split:
    # Imported here, not at the top: TensorFlow takes seconds to import and is not needed
    # for the other sources.
    try:
        import keras
    except ImportError as exc:  # pragma: no cover - keras is a dependency of the grader
        raise GraderError(f"--data keras needs keras: {exc}", "use --data bundled") from None
    try:
        (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
    except Exception as exc:  # keras raises a bare Exception for network failures
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise GraderError(
            f"could not get full MNIST from keras (no internet?): {reason}",
            "use --data bundled (5,000 digits shipped with the grader) "
            "or --data PATH to a copy of keras's mnist.npz",
        ) from exc
    arrays = {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}
    return _validated(arrays, "keras's mnist.npz")


def _load_npz(source: str) -> Split:
    if not source:
        raise GraderError("empty data source", "use --data bundled, keras, or a path to an .npz")
    path = Path(source).expanduser()
    name = f"data file {path}"
    if not path.exists():
        raise GraderError(f"{name} does not exist", "use --data bundled, keras, or an .npz path")
    if not path.is_file():
        raise GraderError(f"{name} is not a regular file", _NPZ_HINT)
    # An .npz is a zip of .npy files. Looking at the zip before numpy does tells a pickle or a
    # bare .npy (which np.load would also open) apart from a real .npz, and says which.
    with path.open("rb") as fh:
        magic = fh.read(6)
    if magic.startswith(b"\x93NUMPY"):
        raise GraderError(f"{name} is a single .npy array, not an .npz", _NPZ_HINT)
    if magic.startswith(b"\x80"):
        raise GraderError(f"{name} is a pickle, not an .npz (pickles are never loaded)", _NPZ_HINT)
    if not magic.startswith((b"PK\x03\x04", b"PK\x05\x06")):  # a zip, or an empty zip
        raise GraderError(f"{name} is not an .npz (not a zip archive)", _NPZ_HINT)
    try:
        with zipfile.ZipFile(path) as zf:
            members = {info.filename: info.file_size for info in zf.infolist()}
    except (zipfile.BadZipFile, OSError) as exc:
        raise GraderError(f"{name} is a damaged zip: {exc}", _NPZ_HINT) from None
    missing = [key for key in NPZ_KEYS if f"{key}.npy" not in members]
    extra = sorted(
        m.removesuffix(".npy") for m in members if m.removesuffix(".npy") not in NPZ_KEYS
    )
    if missing or extra:
        problems = [f"lacks {', '.join(missing)}"] if missing else []
        problems += [f"has unexpected {', '.join(extra)}"] if extra else []
        raise GraderError(
            f"{name} {' and '.join(problems)} (keys must be exactly {', '.join(NPZ_KEYS)})",
            _NPZ_HINT,
        )
    too_big = [m for m, size in members.items() if size > MAX_MEMBER_BYTES]
    if too_big:
        raise GraderError(f"{name}: {too_big[0]} is larger than 1 GiB uncompressed", _NPZ_HINT)
    arrays, key = {}, NPZ_KEYS[0]
    try:
        with np.load(path, allow_pickle=False) as f:
            for key in NPZ_KEYS:
                arrays[key] = f[key]
    except ValueError as exc:
        # numpy refuses object arrays without pickle: "Object arrays cannot be loaded when
        # allow_pickle=False". Loading them would run arbitrary code, so they stay refused.
        problem = "an object array (would need pickle)" if "pickle" in str(exc) else str(exc)
        raise GraderError(f"{name}: {key} holds {problem}", _NPZ_HINT) from None
    except (OSError, zipfile.BadZipFile, EOFError) as exc:
        raise GraderError(f"{name}: cannot read {key}: {exc}", _NPZ_HINT) from None
    return _validated(arrays, name)


def _validated(arrays: dict[str, np.ndarray], name: str) -> Split:
    """Check the four arrays against keras's MNIST format; labels come back as uint8."""
    for split in ("train", "test"):
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if x.dtype != np.uint8:
            raise GraderError(f"{name}: x_{split} is {x.dtype}, expected uint8 pixels", _NPZ_HINT)
        if x.ndim != 3 or x.shape[1:] != (28, 28):
            raise GraderError(
                f"{name}: x_{split} has shape {x.shape}, expected (n, 28, 28)", _NPZ_HINT
            )
        if x.shape[0] == 0:
            raise GraderError(f"{name}: x_{split} is empty", _NPZ_HINT)
        if not np.issubdtype(y.dtype, np.integer):
            raise GraderError(f"{name}: y_{split} is {y.dtype}, expected integers", _NPZ_HINT)
        if y.shape != (x.shape[0],):
            raise GraderError(
                f"{name}: y_{split} has shape {y.shape}, expected ({x.shape[0]},) "
                f"to match x_{split}",
                _NPZ_HINT,
            )
        if y.min() < 0 or y.max() >= NUM_CLASSES:
            raise GraderError(
                f"{name}: y_{split} has labels {y.min()}..{y.max()}, expected 0..9", _NPZ_HINT
            )
    return (
        (np.ascontiguousarray(arrays["x_train"]), arrays["y_train"].astype(np.uint8)),
        (np.ascontiguousarray(arrays["x_test"]), arrays["y_test"].astype(np.uint8)),
    )
