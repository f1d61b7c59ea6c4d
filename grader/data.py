"""An assignment's data: the small file shipped in its folder, keras's download, or an `.npz`.

Every source comes back as keras's `load_data()` returns a dataset: `(x_train, y_train),
(x_test, y_test)`, with the examples in the dtype and shape the assignment's `[data]` table
declares and integer labels 0..classes-1 (or float32 targets where `classes = 0`: regression).
The student's code is written against that shape, whatever the source.

Sources (the CLI's `--data`):
- `"bundled"` (default, offline): the `[data] file` in the assignment's folder (provenance and
  licence in the README beside it), checked against its sha256. A file holding `x`/`y` (or
  `images`/`labels`) is split stratified, `test_per_class` of each class to test (numeric
  targets: `test_rows` at random), always the same way (see `_split_bundled`); a file with
  keras's four keys is used as it is.
- `"keras"`: `keras.datasets.<[data] keras>.load_data()`; needs the internet once.
- anything else: a path to an `.npz` with keras's keys `x_train, y_train, x_test, y_test`
  (a file literally named `bundled` or `keras` is reached as `./bundled`, `./keras`).

`grader check` (visible checks) never uses the test split: `check_split` holds out the last
training rows instead, so a student's check kit (grader/kit.py) can ship the very data the
instructor's own `grader check` uses, with no test example or label in it.

Importing this module imports only NumPy: TensorFlow is imported only for the `keras` source.
"""

from __future__ import annotations

import hashlib
import importlib
import zipfile
from pathlib import Path

import numpy as np

from grader.config import AssignmentConfig, DataSpec
from grader.errors import GraderError, UsageError

MAX_MEMBER_BYTES = 1 << 30
"""Largest uncompressed array accepted from a user's `.npz`."""
NPZ_KEYS = ("x_train", "y_train", "x_test", "y_test")
PAIRS = (("x", "y"), ("images", "labels"))
"""Key pairs of a bundled file that is split by the grader."""

Split = tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


def _npz_hint(spec: DataSpec) -> str:
    shape = ", ".join(map(str, spec.x_shape))
    targets = (
        "numeric y_train/y_test (n,)"
        if spec.numeric_targets
        else f"integer y_train/y_test (n,) in 0..{spec.classes - 1}"
    )
    return (
        f"give an .npz with keras's keys: {spec.x_dtype} x_train/x_test (n, {shape}) and "
        f"{targets}, saved with np.savez (no pickled objects)"
    )


def bundled_path(config: AssignmentConfig) -> Path:
    """The dataset file shipped in the assignment's folder."""
    return config.root / config.data.file


def load_data(config: AssignmentConfig, source: str = "bundled") -> Split:
    """Load the assignment's data from `source`, shaped like keras's `load_data()`.

    Args:
        config: the assignment (its `[data]` table is the schema).
        source: `"bundled"` (the file shipped in the assignment's folder), `"keras"` (keras's
            download, once), or the path of a keras-format `.npz`.

    Returns:
        `(x_train, y_train), (x_test, y_test)`, labels as uint8 (numeric targets as
        float32).

    Raises:
        GraderError: the data cannot be had (offline, missing or malformed file), in one line
            naming the source and the problem, with a hint.
    """
    if source == "bundled":
        return _load_bundled(config)
    if source == "keras":
        return _load_keras(config)
    return _load_npz(config.data, source)


def check_split(split: Split) -> Split:
    """The data `grader check` runs on: the training split only, never the test split.

    The last `min(len(x_test), len(x_train) // 5)` training rows are held out to measure the
    metric; the rows before them train (the budget's first `train_samples` of them, as in
    grading). Both sides come from training rows, so a check kit can hold exactly this data
    (`training rows[:train_samples]` and the held-out rows) without one test example or label.
    """
    (x_train, y_train), (x_test, _labels) = split
    hold = max(1, min(len(x_test), len(x_train) // 5))
    cut = len(x_train) - hold
    return (x_train[:cut], y_train[:cut]), (x_train[cut:], y_train[cut:])


def grading_split(config: AssignmentConfig, source: str, visibility: str = "all") -> Split:
    """The data a grading runs on: `load_data(source)`, or its `check_split` for a check
    (`visibility == "visible"`); a check kit's own data (already that split) in a kit."""
    if config.kit is not None:
        return _load_kit(config, source)
    split = load_data(config, source)
    return check_split(split) if visibility == "visible" else split


def dataset_label(config: AssignmentConfig, source: str, visibility: str = "all") -> str:
    """`describe_source`, plus how a check measures (held-out training rows), if it is one."""
    if config.kit is not None:
        return str(config.kit["data_label"])
    label = describe_source(config, source)
    if visibility == "visible":
        label += "; checked on held-out training rows"
    return label


def _load_kit(config: AssignmentConfig, source: str) -> Split:
    if source != "bundled":
        raise UsageError(
            f"this check kit has its own data; --data {source} cannot be used with it",
            "leave out --data (the kit checks on the data it was built with)",
        )
    path = config.root / config.kit["data"]
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise GraderError(
            f"the check kit's data {path} cannot be read: {exc.strerror}",
            "reinstall the kit your instructor gave you",
        ) from None
    if hashlib.sha256(data).hexdigest() != config.kit["data_sha256"]:
        raise GraderError(
            f"the check kit's data {path} does not match its recorded sha256",
            "reinstall the kit your instructor gave you",
        )
    with np.load(path, allow_pickle=False) as f:
        arrays = {k: f[k] for k in NPZ_KEYS}
    return _validated(arrays, f"check kit data {path}", config.data)


def describe_source(config: AssignmentConfig, source: str) -> str:
    """A short, stable description of `source` for reports and results.

    Args:
        config: the assignment.
        source: a value accepted by `load_data`.

    Returns:
        e.g. `"bundled (<[data] label>, sha256 63818dc867dd)"`, `"keras (<keras_label>)"`,
        or the resolved path of an `.npz`.
    """
    spec = config.data
    if source == "bundled":
        return f"bundled ({spec.label}, sha256 {spec.sha256[:12]})"
    if source == "keras":
        return f"keras ({spec.keras_label or spec.keras})"
    return str(Path(source).expanduser().resolve())


def budget_name(source: str) -> str:
    """The training budget (`[budget.<name>]` of assignment.toml) that goes with `source`.

    A user's `.npz` gets the `keras` budget: it is assumed to be full size, like keras's own.
    """
    return "bundled" if source == "bundled" else "keras"


def _load_bundled(config: AssignmentConfig) -> Split:
    spec, path = config.data, bundled_path(config)
    try:
        data = path.read_bytes()  # small: hashing it costs about a millisecond
    except OSError as exc:
        raise GraderError(
            f"the assignment's data {path} cannot be read: {exc.strerror}",
            "restore it (see the README beside it), or use --data PATH",
        ) from None
    if hashlib.sha256(data).hexdigest() != spec.sha256:
        raise GraderError(
            f"bundled data {path} does not match its recorded sha256",
            "restore it from the repository, or rebuild it with its script under scripts/",
        )
    with np.load(path, allow_pickle=False) as f:
        keys = set(f.files)
        if set(NPZ_KEYS) <= keys:
            arrays = {k: f[k] for k in NPZ_KEYS}
            return _validated(arrays, f"bundled data {path}", spec)
        for x_key, y_key in PAIRS:
            if {x_key, y_key} <= keys:
                x, y = f[x_key], f[y_key]
                break
        else:
            raise GraderError(
                f"bundled data {path} holds {', '.join(sorted(keys))}",
                "a bundled file holds x and y (split by the grader) or keras's four keys",
            )
    train, test = _split_bundled(y, spec)
    arrays = {"x_train": x[train], "y_train": y[train], "x_test": x[test], "y_test": y[test]}
    return _validated(arrays, f"bundled data {path}", spec)


def _split_bundled(labels: np.ndarray, spec: DataSpec) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the bundled train and test examples: stratified, disjoint, always the same.

    For each class, its examples (in file order) are shuffled and the first `test_per_class`
    go to test, the others to train. Each side is then shuffled again so that classes are
    interleaved: the grader trains on the first `train_samples` examples and Keras validates
    on the LAST `validation_split` of them, so a class-sorted order would leave whole classes
    out.

    The legacy `RandomState` is used on purpose: NumPy freezes its stream across versions
    (NEP 19), while `default_rng` streams may change, and a changed split would change grades.
    """
    rng = np.random.RandomState(spec.split_seed)
    if spec.numeric_targets:  # no classes to stratify by: test_rows drawn at random
        order = rng.permutation(len(labels))
        return order[spec.test_rows :], order[: spec.test_rows]
    train_parts, test_parts = [], []
    for label in range(spec.classes):
        members = rng.permutation(np.flatnonzero(labels == label))
        test_parts.append(members[: spec.test_per_class])
        train_parts.append(members[spec.test_per_class :])
    return rng.permutation(np.concatenate(train_parts)), rng.permutation(np.concatenate(test_parts))


def _load_keras(config: AssignmentConfig) -> Split:
    spec = config.data
    if not spec.keras:
        raise GraderError(
            f"assignment {config.name} has no keras download ([data] keras)",
            "use --data bundled or --data PATH to an .npz",
        )
    # Imported here, not at the top: TensorFlow takes seconds to import and is not needed
    # for the other sources.
    try:
        module = importlib.import_module(f"keras.datasets.{spec.keras}")
    except ImportError as exc:
        raise GraderError(f"--data keras needs keras.datasets.{spec.keras}: {exc}",
                          "use --data bundled") from None  # fmt: skip
    try:
        (x_train, y_train), (x_test, y_test) = module.load_data()
    except Exception as exc:  # keras raises a bare Exception for network failures
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise GraderError(
            f"could not get {spec.keras_label or spec.keras} from keras (no internet?): {reason}",
            f"use --data bundled ({spec.label}, shipped with the assignment) "
            f"or --data PATH to a copy of keras's {spec.keras}.npz",
        ) from exc
    arrays = {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}
    return _validated(arrays, f"keras's {spec.keras}.npz", spec)


def _load_npz(spec: DataSpec, source: str) -> Split:
    _NPZ_HINT = _npz_hint(spec)
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
    return _validated(arrays, name, spec)


def _validated(arrays: dict[str, np.ndarray], name: str, spec: DataSpec) -> Split:
    """Check the four arrays against the assignment's schema; labels come back as uint8."""
    _NPZ_HINT = _npz_hint(spec)
    for split in ("train", "test"):
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if x.dtype != np.dtype(spec.x_dtype):
            raise GraderError(f"{name}: x_{split} is {x.dtype}, expected {spec.x_dtype}", _NPZ_HINT)
        if x.shape[1:] != tuple(spec.x_shape):
            expected = ", ".join(map(str, ("n", *spec.x_shape)))
            raise GraderError(
                f"{name}: x_{split} has shape {x.shape}, expected ({expected})", _NPZ_HINT
            )
        if x.shape[0] == 0:
            raise GraderError(f"{name}: x_{split} is empty", _NPZ_HINT)
        if spec.numeric_targets:
            if not (np.issubdtype(y.dtype, np.floating) or np.issubdtype(y.dtype, np.integer)):
                raise GraderError(f"{name}: y_{split} is {y.dtype}, expected numbers", _NPZ_HINT)
        elif not np.issubdtype(y.dtype, np.integer):
            raise GraderError(f"{name}: y_{split} is {y.dtype}, expected integers", _NPZ_HINT)
        if y.shape != (x.shape[0],):
            raise GraderError(
                f"{name}: y_{split} has shape {y.shape}, expected ({x.shape[0]},) "
                f"to match x_{split}",
                _NPZ_HINT,
            )
        if spec.numeric_targets:
            if not np.isfinite(y).all():
                raise GraderError(f"{name}: y_{split} holds NaN or infinite targets", _NPZ_HINT)
        elif y.min() < 0 or y.max() >= spec.classes:
            raise GraderError(
                f"{name}: y_{split} has labels {y.min()}..{y.max()}, "
                f"expected 0..{spec.classes - 1}",
                _NPZ_HINT,
            )
    targets = np.float32 if spec.numeric_targets else np.uint8
    return (
        (np.ascontiguousarray(arrays["x_train"]), arrays["y_train"].astype(targets)),
        (np.ascontiguousarray(arrays["x_test"]), arrays["y_test"].astype(targets)),
    )
