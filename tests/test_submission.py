"""Unit tests of grader/run/submission.py: every form, notebook filtering, zip limits, hashes, ids.

Nothing here runs student code: the loader only copies, extracts and filters files. The
notebook tests execute the filtered module in a fresh namespace to see what survived.
"""

from __future__ import annotations

import io
import json
import os
import stat
import warnings
import zipfile
from pathlib import Path

import pytest
from mnist import CONTRACT_MODULES, prepare

from grader.errors import GraderError
from grader.run import submission
from grader.run.submission import (
    SubmissionError,
    content_hash,
    discover,
    notebook_module,
    notebook_to_module,
    submission_id,
)

SINGLE = {m: "submission" for m in CONTRACT_MODULES}
SPLIT = {m: m for m in CONTRACT_MODULES}
CODE = "def one_hot(labels, num_classes=10):\n    return labels\n"


def _folder(root: Path, files: dict[str, str | bytes]) -> Path:
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    return root


def _notebook(*cells, nbformat: int = 4) -> bytes:
    """cells: (cell_type, source) pairs; source a string or a list of lines."""
    return json.dumps(
        {
            "nbformat": nbformat,
            "nbformat_minor": 5,
            "metadata": {},
            "cells": [
                {"cell_type": kind, "id": f"c{i}", "metadata": {}, "source": source}
                for i, (kind, source) in enumerate(cells)
            ],
        }
    ).encode()


def _zip(path: Path, entries, compression: int = zipfile.ZIP_DEFLATED) -> Path:
    """entries: a dict, or (name, data) pairs when a name comes twice."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # duplicate names on purpose
        with zipfile.ZipFile(path, "w", compression) as zf:
            for name, data in entries.items() if isinstance(entries, dict) else entries:
                zf.writestr(name, data)
    return path


def _module(code: str) -> dict:
    namespace: dict = {}
    exec(compile(code, "submission.py", "exec"), namespace)  # the filtered notebook only
    return namespace


# ---- ids and discovery --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "is_dir", "expected"),
    [
        ("alice.ipynb", False, "alice"),
        ("bob.py", False, "bob"),
        ("carol.tar.zip", False, "carol.tar"),
        ("dave", True, "dave"),
        ("erin.py", True, "erin.py"),  # a folder keeps its whole name
    ],
    ids=["ipynb", "py", "double-suffix-zip", "folder", "folder-named-like-a-file"],
)
def test_submission_id(tmp_path, name, is_dir, expected):
    """Is a submission's id its file or folder name without the submission suffix?"""
    path = tmp_path / name
    path.mkdir() if is_dir else path.write_text("")
    assert submission_id(path) == expected


def test_discover_lists_one_entry_per_student_sorted_by_id(tmp_path):
    """Does discover() keep folders, .py, .ipynb and .zip, sorted by id, and skip the rest?"""
    for name in ("zed.py", "amy.ipynb", "bob.zip", "notes.txt", "report.pdf", ".hidden.py"):
        (tmp_path / name).write_text("")
    for name in ("carl", "_private", ".git"):
        (tmp_path / name).mkdir()
    found = discover(tmp_path)
    assert [submission_id(p) for p in found] == ["amy", "bob", "carl", "zed"]
    assert [p.name for p in found] == ["amy.ipynb", "bob.zip", "carl", "zed.py"]


@pytest.mark.parametrize(
    "names", [("alice.py", "alice.ipynb"), ("alice.zip", "alice")], ids=["py+ipynb", "zip+folder"]
)
def test_discover_refuses_duplicate_ids(tmp_path, names):
    """Are two entries with the same id an error naming both, not a silent replacement?"""
    for name in names:
        (tmp_path / name).mkdir() if "." not in name else (tmp_path / name).write_text("")
    with pytest.raises(GraderError, match="two submissions have the id 'alice'") as err:
        discover(tmp_path)
    assert all(name in str(err.value) for name in names)


def test_discover_needs_a_directory(tmp_path):
    """Is a class "directory" that is not one refused with a hint?"""
    (tmp_path / "file.py").write_text("")
    with pytest.raises(GraderError, match="is not a directory of submissions"):
        discover(tmp_path / "file.py")
    with pytest.raises(GraderError):
        discover(tmp_path / "missing")


# ---- each form ----------------------------------------------------------------------------


def test_prepare_directory(tmp_path):
    """Is a folder of modules copied with its helpers and packages, minus caches and VCS?"""
    source = _folder(
        tmp_path / "alice",
        {
            "preprocessing.py": CODE,
            "models.py": "import helpers\n",
            "training.py": "",
            "helpers.py": "X = 1\n",
            "pkg/__init__.py": "",
            "pkg/util.py": "Y = 2\n",
            "__pycache__/models.cpython-311.pyc": b"\0",
            ".git/HEAD": "ref: main\n",
        },
    )
    prepared = prepare(source, tmp_path / "out")
    assert (prepared.id, prepared.kind, prepared.modules) == ("alice", "directory", SPLIT)
    files = sorted(
        p.relative_to(prepared.directory).as_posix() for p in prepared.directory.rglob("*")
    )
    assert files == [
        "helpers.py", "models.py", "pkg", "pkg/__init__.py", "pkg/util.py",
        "preprocessing.py", "training.py",
    ]  # fmt: skip
    assert prepared.notes == ()
    for path in [prepared.directory, *prepared.directory.rglob("*")]:
        assert stat.S_IMODE(path.stat().st_mode) == (0o755 if path.is_dir() else 0o644)


def test_prepare_directory_notes_missing_modules(tmp_path):
    """Does a folder without training.py still load, noting what is missing?"""
    source = _folder(tmp_path / "bob", {"preprocessing.py": CODE, "models.py": ""})
    prepared = prepare(source, tmp_path / "out")
    assert prepared.modules == SPLIT
    assert prepared.notes == ("training.py is missing from the submission",)


def test_prepare_modules_only_takes_top_level_py(tmp_path):
    """With modules_only (the reference), are checks and settings left out?"""
    source = _folder(
        tmp_path / "reference",
        {
            "preprocessing.py": CODE,
            "models.py": "",
            "training.py": "",
            "assignment.toml": "title = 'x'\n",
            "checks/test_mlp.py": "def test(): ...\n",
        },
    )
    prepared = prepare(source, tmp_path / "out", modules_only=True)
    assert sorted(p.name for p in prepared.directory.iterdir()) == [
        "models.py",
        "preprocessing.py",
        "training.py",
    ]


@pytest.mark.parametrize("suffix", [".py", ".ipynb"], ids=["py", "ipynb"])
def test_prepare_folder_holding_one_file_is_a_single_file(tmp_path, suffix):
    """Is a folder with just one .py or .ipynb graded like that single file?"""
    content = CODE if suffix == ".py" else _notebook(("code", CODE)).decode()
    source = _folder(tmp_path / "carol", {f"work{suffix}": content, "README.md": "hi"})
    prepared = prepare(source, tmp_path / "out")
    assert (prepared.kind, prepared.modules) == ("directory", SINGLE)
    assert sorted(p.name for p in prepared.directory.iterdir()) == ["submission.py"]
    assert "def one_hot" in (prepared.directory / "submission.py").read_text()


def test_prepare_folder_without_modules_is_refused(tmp_path):
    """Is a folder with none of the modules (nor a single file) refused, saying what is expected?"""
    source = _folder(tmp_path / "dan", {"a.py": "", "b.py": ""})
    with pytest.raises(SubmissionError, match="found none of preprocessing.py"):
        prepare(source, tmp_path / "out")


def test_prepare_py(tmp_path):
    """Is a single .py file the module `submission` providing all three parts?"""
    source = tmp_path / "erin.py"
    source.write_text(CODE)
    prepared = prepare(source, tmp_path / "out")
    assert (prepared.id, prepared.kind, prepared.modules) == ("erin", "py", SINGLE)
    assert (prepared.directory / "submission.py").read_text() == CODE


def test_prepare_py_with_invalid_utf8_is_still_loaded(tmp_path):
    """Is a .py with stray bytes loaded (replacement characters), not refused by the loader?"""
    source = tmp_path / "fay.py"
    source.write_bytes(b"# caf\xe9\n" + CODE.encode())
    prepared = prepare(source, tmp_path / "out")
    assert "caf\ufffd" in (prepared.directory / "submission.py").read_text()


def test_prepare_ipynb(tmp_path):
    """Is a notebook filtered into the module `submission`?"""
    source = tmp_path / "gus.ipynb"
    source.write_bytes(_notebook(("markdown", "# Title"), ("code", CODE), ("code", "one_hot(1)")))
    prepared = prepare(source, tmp_path / "out")
    assert (prepared.id, prepared.kind, prepared.modules) == ("gus", "ipynb", SINGLE)
    assert "def one_hot" in (prepared.directory / "submission.py").read_text()
    assert prepared.notes == ("notebook: 1 top-level statements that are not definitions ignored",)


@pytest.mark.parametrize(
    ("entries", "modules"),
    [
        ({"hal/preprocessing.py": CODE, "hal/models.py": "", "hal/training.py": ""}, SPLIT),
        ({"preprocessing.py": CODE, "models.py": "", "training.py": ""}, SPLIT),
        ({"outer/inner/hal.py": CODE}, SINGLE),
        ({"hal.ipynb": _notebook(("code", CODE)).decode(), "__MACOSX/._hal.ipynb": "junk"}, SINGLE),
    ],
    ids=["folder-in-zip", "flat-zip", "nested-single-py", "notebook-with-macosx-junk"],
)
def test_prepare_zip(tmp_path, entries, modules):
    """Is a zip of any form unpacked (descending single folders) and laid out like that form?"""
    prepared = prepare(_zip(tmp_path / "hal.zip", entries), tmp_path / "out")
    assert (prepared.id, prepared.kind, prepared.modules) == ("hal", "zip", modules)
    module = "preprocessing.py" if modules == SPLIT else "submission.py"
    assert "def one_hot" in (prepared.directory / module).read_text()
    assert not (tmp_path / "out.unzipped").exists()


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda d: d / "missing.py", "does not exist"),
        (lambda d: _write(d / "notes.txt", "hi"), "unsupported submission type"),
        (lambda d: _link(d / "link.py", d / "real.py"), "is a symbolic link"),
    ],
    ids=["missing", "txt", "symlink"],
)
def test_prepare_refuses_what_is_not_a_submission(tmp_path, make, words):
    """Are a missing path, another file type and a symlinked submission refused?"""
    with pytest.raises(SubmissionError, match=words):
        prepare(make(tmp_path), tmp_path / "out")


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def _link(path: Path, target: Path) -> Path:
    target.write_text(CODE)
    path.symlink_to(target)
    return path


# ---- folder limits ------------------------------------------------------------------------


def test_folder_with_symlink_is_refused(tmp_path):
    """Is a symlink inside a folder submission refused rather than followed?"""
    source = _folder(tmp_path / "ivy", {"preprocessing.py": CODE})
    (source / "models.py").symlink_to("/etc/passwd")
    with pytest.raises(SubmissionError, match="models.py is a symbolic link"):
        prepare(source, tmp_path / "out")


def test_folder_with_fifo_is_refused(tmp_path):
    """Is a FIFO (or any non-regular file) inside a folder submission refused?"""
    source = _folder(tmp_path / "jay", {"preprocessing.py": CODE})
    os.mkfifo(source / "models.py")
    with pytest.raises(SubmissionError, match="models.py is not a regular file"):
        prepare(source, tmp_path / "out")


def test_folder_limits(tmp_path, monkeypatch):
    """Are too many files, too many bytes and too deep a tree refused in a folder?"""
    many = _folder(tmp_path / "many", {f"m{i}.py": "" for i in range(5)} | {"models.py": ""})
    monkeypatch.setattr(submission, "MAX_FILES", 4)
    with pytest.raises(SubmissionError, match="more than 4 files"):
        prepare(many, tmp_path / "o1")
    monkeypatch.undo()
    big = _folder(tmp_path / "big", {"models.py": "x" * 5000})
    monkeypatch.setattr(submission, "MAX_TOTAL_BYTES", 4096)
    with pytest.raises(SubmissionError, match=r"in all \(at models.py\)"):
        prepare(big, tmp_path / "o2")
    monkeypatch.undo()
    deep = _folder(tmp_path / "deep", {"models.py": "", "/".join("d" * 10) + "/x.py": ""})
    with pytest.raises(SubmissionError, match="nested deeper than 8 folders"):
        prepare(deep, tmp_path / "o3")


def test_large_py_is_refused(tmp_path, monkeypatch):
    """Is a single .py larger than the per-file cap refused?"""
    monkeypatch.setattr(submission, "MAX_FILE_BYTES", 1 << 20)
    source = tmp_path / "kim.py"
    source.write_text("x = 1\n" * 200_000)
    with pytest.raises(SubmissionError, match="kim.py is larger than 1 MiB"):
        prepare(source, tmp_path / "out")


# ---- zip limits ---------------------------------------------------------------------------


def _symlink_zip(path: Path) -> Path:
    info = zipfile.ZipInfo("models.py")
    info.create_system = 3
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("preprocessing.py", CODE)
        zf.writestr(info, "/etc/passwd")
    return path


def _patched_zip(path: Path, patch) -> Path:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("submission.py", "x = 1\n" * 50)
    data = bytearray(buf.getvalue())
    patch(data, data.index(b"PK\x01\x02"))
    path.write_bytes(bytes(data))
    return path


def _encrypt_flag(data: bytearray, central: int) -> None:
    data[6] |= 1
    data[central + 8] |= 1


def _unknown_method(data: bytearray, central: int) -> None:
    data[8] = 99  # AES, which zipfile cannot read
    data[central + 10] = 99


def _corrupt_byte(data: bytearray, central: int) -> None:
    data[data.index(b"x = 1") + 12] = ord("y")


def _lying_size(data: bytearray, central: int) -> None:
    # The central directory says 10 bytes; the entry really holds 300.
    data[central + 24 : central + 28] = (10).to_bytes(4, "little")
    data[22:26] = (10).to_bytes(4, "little")


ZIP_REFUSALS = {
    "symlink": (_symlink_zip, "zip entry 'models.py' is a symbolic link"),
    "dotdot": (lambda p: _zip(p, {"../evil.py": CODE}), "points outside the archive"),
    "dotdot-inside": (lambda p: _zip(p, {"a/../../evil.py": CODE}), "points outside"),
    "backslash": (lambda p: _zip(p, {"a\\..\\evil.py": CODE}), "points outside"),
    "absolute": (lambda p: _zip(p, {"/etc/cron.d/evil": CODE}), "has an absolute path"),
    "drive-letter": (lambda p: _zip(p, {"C:/evil.py": CODE}), "has an absolute path"),
    "too-deep": (lambda p: _zip(p, {"/".join("d" * 10) + "/x.py": CODE}), "nested too deep"),
    "bomb-ratio": (lambda p: _zip(p, {"x.py": bytes(4 << 20)}), "expands 200x: a zip bomb?"),
    "bomb-size": (
        lambda p: _zip(p, {"a.py": bytes(30 << 20), "b.py": bytes(30 << 20)}, zipfile.ZIP_STORED),
        "more than 50 MiB in all (at b.py)",
    ),
    "too-many-files": (
        lambda p: _zip(p, {f"m{i}.py": "" for i in range(201)}),
        "more than 200 files",
    ),
    "not-a-zip": (lambda p: _write(p, "PK but not really"), "is not a readable zip file"),
    "empty": (lambda p: _zip(p, {}), "the zip file is empty"),
    "encrypted": (lambda p: _patched_zip(p, _encrypt_flag), "is encrypted"),
    "unknown-compression": (
        lambda p: _patched_zip(p, _unknown_method),
        "compression method is not supported",
    ),
    "bad-crc": (lambda p: _patched_zip(p, _corrupt_byte), "Bad CRC-32"),
    "lying-size": (lambda p: _patched_zip(p, _lying_size), "cannot be extracted"),
    "same-name-twice": (
        lambda p: _zip(p, [("models.py", CODE), ("models.py", CODE)]),
        "cannot be extracted: File exists",
    ),
    "file-then-folder": (
        lambda p: _zip(p, [("models.py", CODE), ("models.py/x.py", CODE)]),
        "cannot be extracted",
    ),
}


@pytest.mark.parametrize("case", sorted(ZIP_REFUSALS), ids=sorted(ZIP_REFUSALS))
def test_zip_refusals(tmp_path, case):
    """Is each malformed or malicious zip refused with SubmissionError, nothing escaping?"""
    make, words = ZIP_REFUSALS[case]
    archive = make(tmp_path / "zed.zip")
    with pytest.raises(SubmissionError, match=words.replace("(", r"\(").replace(")", r"\)")) as err:
        prepare(archive, tmp_path / "job" / "out")
    assert str(tmp_path) not in str(err.value)  # the student never sees the grader's paths
    assert not (tmp_path / "evil.py").exists() and not (tmp_path / "job" / "evil.py").exists()


def test_zip_skips_macosx_and_directory_entries(tmp_path):
    """Are __MACOSX resource forks and explicit folder entries handled quietly?"""
    archive = _zip(
        tmp_path / "amy.zip",
        [
            ("amy/", ""),
            ("amy/preprocessing.py", CODE),
            ("amy/models.py", ""),
            ("__MACOSX/amy/._models.py", "junk"),
        ],
    )
    prepared = prepare(archive, tmp_path / "out")
    assert sorted(p.name for p in prepared.directory.iterdir()) == ["models.py", "preprocessing.py"]
    assert prepared.notes == ("training.py is missing from the submission",)


# ---- notebooks ----------------------------------------------------------------------------


def test_notebook_keeps_definitions_and_drops_the_rest():
    """Are imports, defs, classes and constants kept, and training, prints and loads dropped?"""
    raw = _notebook(
        ("markdown", "# My assignment"),
        ("code", "import numpy as np\nfrom math import pi as PI\nNUM_CLASSES = 10\n"),
        (
            "code",
            [
                "DOUBLE = NUM_CLASSES * 2\n",
                "LABEL: str = 'digits'\n",
                "data = np.load('mnist.npz')\n",
                "num_pixels = data.shape[1]\n",
                "print('hello')\n",
                "for i in range(3):\n",
                "    print(i)\n",
                "raise SystemExit('top-level code ran')\n",
            ],
        ),
        (
            "code",
            "class Helper:\n    scale = 255\n\n\n"
            "def one_hot(labels, num_classes=NUM_CLASSES):\n"
            "    return np.eye(num_classes)[labels]\n",
        ),
        ("code", "@staticmethod\ndef decorated():\n    return PI\n"),
        ("raw", "raise SystemExit('raw cell')"),
        ("code", "model = build_mlp()\nmodel.fit(x, y)\nhistory = model.fit(x, y)\n"),
    )
    notes: list[str] = []
    code = notebook_to_module(raw, "nb.ipynb", notes)
    module = _module(code)
    assert (module["NUM_CLASSES"], module["DOUBLE"], module["LABEL"]) == (10, 20, "digits")
    assert module["one_hot"]([1, 0]).tolist() == [[0.0, 1.0] + [0.0] * 8, [1.0] + [0.0] * 9]
    assert module["Helper"].scale == 255
    assert "@staticmethod" in code
    for dropped in ("data", "num_pixels", "model", "history", "i"):
        assert dropped not in module
    assert notes == ["notebook: 8 top-level statements that are not definitions ignored"]


def test_notebook_keeps_constants_of_every_target():
    """Are `img_rows, img_cols = 28, 28` (keras' examples/mnist_cnn.py), starred, list and
    annotated targets and augmented assignments kept, and attribute/item targets dropped?"""
    raw = _notebook(
        ("code", "import numpy as np\nimport keras\nfrom functools import partial\n"),
        (
            "code",
            "DefaultConv2D = partial(keras.layers.Conv2D, kernel_size=3, padding='same')\n"
            "opt = keras.optimizers.RMSprop(learning_rate=0.001)\n"
            "img_rows, img_cols = 28, 28\n"
            "num_classes: int = 10\n"
            "(first, *rest) = (1, 2, 3)\n"
            "[pool_rows, pool_cols] = 2, 2\n"
            "input_shape = (img_rows, img_cols, 1)\n"
            "epochs = 3\n"
            "epochs += 1\n"
            "np.random.seed = 3\n"
            "cache = {}\n"
            "cache['x'] = 1\n"
            "(x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()\n",
        ),
        (
            "code",
            "def reshape_for_cnn(images):\n"
            "    return images.reshape(images.shape[0], img_rows, img_cols, 1) / 255\n",
        ),
    )
    notes: list[str] = []
    module = _module(notebook_to_module(raw, "nb.ipynb", notes))
    assert (module["img_rows"], module["img_cols"], module["num_classes"]) == (28, 28, 10)
    assert (module["first"], module["rest"], module["pool_cols"]) == (1, [2, 3], 2)
    assert module["input_shape"] == (28, 28, 1) and module["epochs"] == 4
    assert module["reshape_for_cnn"](module["np"].zeros((2, 784))).shape == (2, 28, 28, 1)
    assert "x_train" not in module  # a call: the student's own data loading is not run
    assert module["DefaultConv2D"](filters=8).get_config()["kernel_size"] == (3, 3)
    assert type(module["opt"]).__name__ == "RMSprop"
    assert notes == ["notebook: 3 top-level statements that are not definitions ignored"]


def test_notebook_definition_that_cannot_run_is_left_out_with_a_note():
    """Does a helper whose `def` line would raise NameError (its default uses plt, which the
    notebook never imports) get left out with a note, instead of sinking the module?"""
    raw = _notebook(
        ("code", "import numpy as np\nimport itertools\n"),
        ("code", "import matplotlib.pyplot as plt\nprint 'python 2'\n"),
        (
            "code",
            "def plot_confusion_matrix(cm, classes, cmap=plt.cm.Blues):\n"
            "    plt.imshow(cm, cmap=cmap)\n\n\n"
            "@register(np)\ndef decorated():\n    return 1\n\n\n"
            "class Net(Base):\n    pass\n\n\n"
            "def one_hot(labels, num_classes: int = 10) -> np.ndarray:\n"
            "    return np.eye(num_classes)[labels]\n",
        ),
    )
    notes: list[str] = []
    module = _module(notebook_to_module(raw, "nb.ipynb", notes))
    assert "plot_confusion_matrix" not in module and "Net" not in module
    assert module["one_hot"]([1]).shape == (1, 10)
    assert any("plot_confusion_matrix was left out: its definition uses plt" in n for n in notes)
    assert any("decorated was left out: its definition uses register" in n for n in notes)
    assert any("Net was left out: its definition uses Base" in n for n in notes)


def test_notebook_lines_map_back_to_cells(tmp_path):
    """Does every line of the generated module know its notebook cell and line, so that a
    traceback can say `notebook cell 3, line 2`?"""
    raw = _notebook(
        ("markdown", "# title"),
        ("code", "import numpy as np\nx = np.load('a')\nSCALE = 255\n"),
        ("code", "def f(images):\n    return images / SCALE\n"),
    )
    code, origins = notebook_module(raw, "nb.ipynb", [])
    lines = code.splitlines()
    assert len(origins) == len(lines)
    by_text = {text.strip(): origin for text, origin in zip(lines, origins, strict=True)}
    assert by_text["import numpy as np"] == [2, 1]
    assert by_text["SCALE = 255"] == [2, 3]
    assert by_text["return images / SCALE"] == [3, 2]
    assert by_text["try:"] == [2, 1] and by_text["pass"] is None
    notebook = tmp_path / "alice.ipynb"
    notebook.write_bytes(raw)
    prepared = prepare(notebook, tmp_path / "out")
    assert prepared.sources["submission.py"]["label"] == "alice.ipynb"
    assert prepared.sources["submission.py"]["cells"] == origins


def test_notebook_drops_magics_and_shell_lines():
    """Are IPython magics, shell lines, %% cells and help lines blanked, and nothing else?"""
    raw = _notebook(
        ("code", "%matplotlib inline\n!pip install keras\nimport math\n"),
        ("code", "%%time\nimport os\nLEAK = 1\n"),
        ("code", "math.sqrt?\n??math\n"),
        (
            "code",
            "def f(x):\n    %timeit x\n    return x + 1  # is this right?\n",
        ),
    )
    notes: list[str] = []
    module = _module(notebook_to_module(raw, "nb.ipynb", notes))
    assert module["f"](1) == 2  # a comment ending in '?' is not IPython's help syntax
    assert "math" in module and "LEAK" not in module and "os" not in module
    assert notes == []


def test_notebook_survives_reordered_and_renamed_cells():
    """Do reordered cells and changed cell ids/metadata give the same functions?"""
    cells = [
        ("code", "import numpy as np\n"),
        ("code", "SCALE = 255.0\n"),
        (
            "code",
            "def flatten_and_scale(x):\n    return np.asarray(x).reshape(len(x), -1) / SCALE\n",
        ),
        ("code", "flatten_and_scale([[1, 2]])\n"),
    ]
    base = _module(notebook_to_module(_notebook(*cells), "a.ipynb", []))
    reordered = json.loads(_notebook(cells[3], cells[2], ("markdown", "moved"), cells[0], cells[1]))
    for i, cell in enumerate(reordered["cells"]):
        cell["id"] = f"renamed-{i}"
        cell["metadata"] = {"name": f"cell {i}", "tags": ["student"]}
    moved = _module(notebook_to_module(json.dumps(reordered).encode(), "b.ipynb", []))
    assert base["flatten_and_scale"]([[255, 0]]).tolist() == [[1.0, 0.0]]
    assert moved["flatten_and_scale"]([[255, 0]]).tolist() == [[1.0, 0.0]]


def test_notebook_cell_with_syntax_error_is_skipped_with_a_note():
    """Does a cell with a syntax error lose only its own definitions, and say so?"""
    raw = _notebook(
        ("code", "def good():\n    return 1\n"),
        ("code", "def broken(:\n    return 2\n"),
        ("code", "def later():\n    return 3\n"),
    )
    notes: list[str] = []
    module = _module(notebook_to_module(raw, "nb.ipynb", notes))
    assert (module["good"](), module["later"]()) == (1, 3)
    assert "broken" not in module
    assert len(notes) == 1
    assert notes[0].startswith("notebook cell 2 has a syntax error (line 1:")
    assert notes[0].endswith("its definitions were skipped")


@pytest.mark.parametrize(
    "source",
    ["x = " + "-" * 100_000 + "1\n", "x = 1\0\n"],
    ids=["too-deeply-nested", "null-byte"],
)
def test_notebook_cell_the_parser_rejects_is_skipped(source):
    """Is a cell that makes the parser fail with another error (too deep, NUL) skipped, noted?"""
    notes: list[str] = []
    raw = _notebook(("code", source), ("code", CODE))
    module = _module(notebook_to_module(raw, "nb.ipynb", notes))
    assert "one_hot" in module
    assert len(notes) == 1 and notes[0].startswith("notebook cell 1 ")


def test_notebook_with_non_string_source_lines_does_not_crash():
    """Does a cell whose source list holds non-strings load instead of crashing the grader?"""
    notes: list[str] = []
    raw = _notebook(("code", [1, 2]), ("code", CODE))
    assert "one_hot" in _module(notebook_to_module(raw, "nb.ipynb", notes))


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        (b'{"cells": [', "is not a valid notebook (not JSON"),
        (b"\xff\xfe\x00garbage", "is not a valid notebook (not JSON"),
        (b"[" * 100_000, "is not a valid notebook (not JSON"),
        (b"[1, 2, 3]", "is JSON but not a Jupyter notebook"),
        (b'{"cells": []}', "is JSON but not a Jupyter notebook"),
        (b'{"nbformat": 4, "cells": "none"}', "is JSON but not a Jupyter notebook"),
    ],
    ids=["truncated", "binary", "nested-too-deep", "json-list", "no-nbformat", "cells-not-list"],
)
def test_invalid_notebook_is_refused(tmp_path, raw, words):
    """Is a notebook that is not JSON, or JSON but not a notebook, refused with SubmissionError?"""
    source = tmp_path / "nb.ipynb"
    source.write_bytes(raw)
    with pytest.raises(SubmissionError, match=words.replace("(", r"\(")):
        prepare(source, tmp_path / "out")


# ---- content hash -------------------------------------------------------------------------


def test_content_hash_is_stable(tmp_path):
    """Is the hash the same for the same content, wherever it lies and whatever its caches?"""
    files = {"preprocessing.py": CODE, "pkg/util.py": "Y = 2\n"}
    a = _folder(tmp_path / "a", files)
    b = _folder(tmp_path / "elsewhere" / "b", files)
    (b / "__pycache__").mkdir()
    (b / "__pycache__" / "x.pyc").write_bytes(b"\0\1")
    (b / "link.py").symlink_to(b / "preprocessing.py")
    assert content_hash(a) == content_hash(b) == content_hash(a)
    assert len(content_hash(a)) == 64
    single = _write(tmp_path / "s.py", CODE)
    assert content_hash(single) == content_hash(_write(tmp_path / "t.py", CODE))


@pytest.mark.parametrize(
    "change",
    ["edit", "rename", "move-bytes", "add-empty-file"],
    ids=["edit", "rename", "move-bytes", "add-empty-file"],
)
def test_content_hash_is_sensitive(tmp_path, change):
    """Does any change of content, of a file's name or of where bytes live change the hash?"""
    original = _folder(tmp_path / "a", {"a.py": "xy", "b.py": ""})
    changed = {
        "edit": {"a.py": "xz", "b.py": ""},
        "rename": {"c.py": "xy", "b.py": ""},
        "move-bytes": {"a.py": "x", "b.py": "y"},
        "add-empty-file": {"a.py": "xy", "b.py": "", "c.py": ""},
    }[change]
    assert content_hash(original) != content_hash(_folder(tmp_path / "b", changed))


def test_prepared_hash_is_the_hash_of_what_was_handed_in(tmp_path):
    """Is a prepared submission's hash that of the student's file, zip bytes included?"""
    py = _write(tmp_path / "a.py", CODE)
    archive = _zip(tmp_path / "b.zip", {"b.py": CODE})
    assert prepare(py, tmp_path / "o1").content_hash == content_hash(py)
    assert prepare(archive, tmp_path / "o2").content_hash == content_hash(archive)
    assert content_hash(py) != content_hash(archive)


@pytest.mark.full  # a concurrency soak
def test_notebooks_parse_side_by_side_in_threads():
    """Do notebooks prepared in parallel threads (as `grader grade --workers 2` does) all
    parse? CPython 3.11's AST converter keeps its recursion depth in shared state: a thread
    switch in the middle of a parse (a garbage collection running a finalizer) failed an
    honest notebook with "SystemError: AST constructor recursion depth mismatch"
    (python/cpython#106905). The loader parses one at a time; without its lock, this test
    fails (2 of 200 parses, measured)."""
    import concurrent.futures
    import gc
    import sys

    class Finalized:
        def __del__(self):
            sum(range(200))  # Python code in a finalizer: a point where threads switch

    def garbage():
        for _ in range(200):
            a, b = Finalized(), Finalized()
            a.other, b.other = b, a

    nested = "def f(x):\n    return " + "(" * 60 + "x" + ")" * 60 + "\n"
    cells = [{"cell_type": "code", "source": nested * 30, "metadata": {}, "outputs": [],
              "execution_count": None} for _ in range(10)]  # fmt: skip
    raw = json.dumps({"cells": cells, "nbformat": 4, "nbformat_minor": 5, "metadata": {}})

    def parse(_):
        garbage()
        notes: list[str] = []
        code, _origins = notebook_module(raw.encode(), "nb.ipynb", notes)
        return notes, code.count("def f(")

    interval, thresholds = sys.getswitchinterval(), gc.get_threshold()
    sys.setswitchinterval(1e-6)
    gc.set_threshold(50, 1, 1)
    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
            outcomes = list(pool.map(parse, range(200)))
    finally:
        sys.setswitchinterval(interval)
        gc.set_threshold(*thresholds)
    assert all(notes == [] and count >= 1 for notes, count in outcomes)
