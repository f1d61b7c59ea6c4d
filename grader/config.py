"""An assignment's settings: `reference/<name>/assignment.toml`, parsed into frozen dataclasses.

Every field carries a docstring; every error names the key and the file it came from.
"""

from __future__ import annotations

import dataclasses
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path

from grader.errors import GraderError

REPO_ROOT = Path(__file__).resolve().parent.parent
"""The checkout the grader runs from: holds `reference/` and `assignments/`."""


@dataclass(frozen=True)
class TrainSpec:
    """What the grader passes to the student's `train()` for one model."""

    epochs: int
    """Number of passes over the training data."""
    batch_size: int
    """Samples per gradient update."""
    validation_split: float = 0.0
    """Fraction of the training data Keras holds out for validation, in [0, 1)."""

    def check(self, where: str) -> None:
        _require(self.epochs >= 1, where, "epochs", self.epochs, "must be at least 1")
        _require(self.batch_size >= 1, where, "batch_size", self.batch_size, "must be at least 1")
        _require(
            0.0 <= self.validation_split < 1.0,
            where,
            "validation_split",
            self.validation_split,
            "must be in [0, 1)",
        )


@dataclass(frozen=True)
class Budget:
    """The training budget for one data source: how much the student's pipeline trains."""

    train_samples: int
    """How many training images (the first ones of the split) the pipeline trains on."""
    mlp: TrainSpec
    """Training settings for the dense network."""
    cnn: TrainSpec
    """Training settings for the convolutional network."""
    name: str = ""
    """The budget's name in the file (`bundled`, `keras`, `quick`, ...)."""

    def check(self, where: str) -> None:
        _require(
            self.train_samples >= 10, where, "train_samples", self.train_samples, "must be >= 10"
        )
        self.mlp.check(f"{where}.mlp")
        self.cnn.check(f"{where}.cnn")


@dataclass(frozen=True)
class Grading:
    """How scores are derived from the reference."""

    accuracy_margin: float = 0.02
    """Full credit for test accuracy >= the reference's accuracy minus this margin."""
    accuracy_partial_band: float = 0.08
    """Below the margin, credit falls linearly to zero over this many accuracy points."""

    def check(self, where: str) -> None:
        for key in ("accuracy_margin", "accuracy_partial_band"):
            value = getattr(self, key)
            _require(0.0 <= value <= 1.0, where, key, value, "must be in [0, 1]")


@dataclass(frozen=True)
class Limits:
    """Resource limits of one sandboxed run (phase 1)."""

    wall_seconds: float = 600
    """Wall-clock time before everything the submission started is killed."""
    cpu_seconds: int = 2400
    """CPU seconds (all threads together) before the kernel stops the run."""
    memory_mib: int = 6144
    """Address space of each of the student's processes, in MiB (an rlimit)."""
    sandbox_memory_mib: int = 6144
    """Memory of the whole sandbox, in MiB: every process together, and the files written
    in its tmpfs (a cgroup; over it the kernel stops a process: status memory)."""
    cpu_cores: float = 2.0
    """CPU the sandbox may use at most, in cores (a cgroup quota); besides, every sandbox has
    the same CPU weight, so a neighbour's busy loops take its share, not an honest run's."""
    file_size_mib: int = 256
    """Largest single file the student's code may write, in MiB."""
    job_size_mib: int = 1024
    """Total size of the job directory (the only writable place), in MiB."""
    open_files: int = 1024
    """Open file descriptors."""
    processes: int = 512
    """Processes and threads of the whole sandbox (TensorFlow needs >= 256)."""
    output_keep_kib: int = 64
    """How much of stdout and stderr (each) is kept for the report, in KiB: the first and
    the last this much; what lies between is dropped and the run goes on ("output
    truncated" in its detail, no points lost for that alone)."""
    output_limit_mib: int = 16
    """No longer used: printing never stops a run (see `output_keep_kib`). Kept so that
    existing assignment.toml files still load."""
    out_entries: int = 2000
    """Files and folders the run may leave in its output directory; more: status
    output_limit and nothing of it copied to the host."""
    out_depth: int = 8
    """Folder levels allowed in the output directory; deeper: status output_limit."""

    def check(self, where: str) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            _require(value > 0, where, f.name, value, "must be positive")
        _require(
            self.processes >= 256, where, "processes", self.processes, "TensorFlow needs >= 256"
        )


@dataclass(frozen=True)
class Environment:
    """The grading environment student code runs in, declared like otter's requirements.txt:
    the packages it may import. The project's own set-up installs them (pyproject.toml), the
    sandbox runs that same environment, and an import of anything else is met the same way in
    every submission form: the import succeeds with a stand-in, and only a use of it fails,
    with one line naming the module and the fix."""

    modules: tuple[str, ...] = ()
    """Top-level module names student code may import besides the standard library, NumPy,
    TensorFlow and Keras (e.g. `matplotlib`, `pandas`, `sklearn`)."""


@dataclass(frozen=True)
class AssignmentConfig:
    """Everything `assignment.toml` says about one assignment."""

    title: str
    """Shown at the top of every report."""
    budgets: dict[str, Budget]
    """Training budgets by name: one per data source (`bundled`, `keras`) plus `quick`."""
    seed: int = 1234
    """Seed of Python, NumPy and Keras in both phases."""
    threads: int = 2
    """TensorFlow intra-op threads in both phases (fixed, for deterministic results)."""
    grading: Grading = field(default_factory=Grading)
    """Scoring settings."""
    limits: Limits = field(default_factory=Limits)
    """Sandbox limits."""
    environment: Environment = field(default_factory=Environment)
    """What student code may import (`[environment]`)."""
    name: str = ""
    """The assignment's name: its directory's name."""
    root: Path = Path(".")
    """The reference directory (`reference/<name>`)."""

    @property
    def checks_dir(self) -> Path:
        """Where the assignment's pytest checks live."""
        return self.root / "checks"

    def budget(self, name: str) -> Budget:
        """The budget called `name`; a path-to-.npz data source uses `keras`'s."""
        if name in self.budgets:
            return self.budgets[name]
        raise GraderError(
            f"no training budget {name!r} in {self.root / 'assignment.toml'}",
            f"define [budget.{name}] or choose one of: {', '.join(sorted(self.budgets))}",
        )


def _require(ok: bool, where: str, key: str, value: object, why: str) -> None:
    if not ok:
        raise GraderError(f"{where}.{key} = {value!r} {why}")


def _build(cls: type, data: object, where: str):
    """Build dataclass `cls` from a TOML table, checking keys and types."""
    if not isinstance(data, dict):
        raise GraderError(f"{where} must be a table, not {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(data) - known)
    if unknown:
        raise GraderError(
            f"{where}: unknown key {unknown[0]!r}", f"known keys: {', '.join(sorted(known))}"
        )
    kwargs = {}
    for name, raw in data.items():
        kwargs[name] = _convert(hints[name], raw, f"{where}.{name}")
    missing = [
        f.name
        for f in dataclasses.fields(cls)
        if f.init
        and f.name not in kwargs
        and f.default is dataclasses.MISSING
        and f.default_factory is dataclasses.MISSING
    ]
    if missing:
        raise GraderError(f"{where}: missing key {missing[0]!r}")
    return cls(**kwargs)


def _convert(hint, raw: object, where: str):
    if dataclasses.is_dataclass(hint):
        return _build(hint, raw, where)
    if hint is float:
        if isinstance(raw, bool) or not isinstance(raw, int | float):
            raise GraderError(f"{where} must be a number, not {raw!r}")
        return float(raw)
    if hint in (int, str, bool):
        if not isinstance(raw, hint) or (hint is int and isinstance(raw, bool)):
            raise GraderError(f"{where} must be {hint.__name__}, not {raw!r}")
        return raw
    if typing.get_origin(hint) is tuple:
        if not isinstance(raw, list) or not all(isinstance(v, str) and v for v in raw):
            raise GraderError(f"{where} must be a list of names, not {raw!r}")
        return tuple(raw)
    if typing.get_origin(hint) is dict:
        value_type = typing.get_args(hint)[1]
        if not isinstance(raw, dict):
            raise GraderError(f"{where} must be a table")
        return types.MappingProxyType(
            {k: _convert(value_type, v, f"{where}.{k}") for k, v in raw.items()}
        )
    raise GraderError(f"{where}: unsupported setting type {hint!r}")  # pragma: no cover


def load_config(path: str | Path) -> AssignmentConfig:
    """Read and validate an `assignment.toml`.

    Args:
        path: the toml file, or the reference directory that holds it.

    Returns:
        The validated, frozen configuration.

    Raises:
        GraderError: naming the file and the key when anything is wrong.
    """
    path = Path(path)
    if path.is_dir():
        path = path / "assignment.toml"
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise GraderError(
            f"no assignment settings at {path}", "an assignment is a reference/<name>/ directory"
        ) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise GraderError(f"{path}: not valid TOML: {exc}") from None
    where = str(path)
    budgets_raw = data.pop("budget", None)
    if not budgets_raw:
        raise GraderError(f"{where}: missing [budget.<name>] tables", "see reference/mnist")
    if not isinstance(budgets_raw, dict):
        raise GraderError(f"{where}: budget must be a table of [budget.<name>] tables")
    budgets = {}
    for name, table in budgets_raw.items():
        budget = _build(Budget, table, f"{where}: budget.{name}")
        budget = dataclasses.replace(budget, name=name)
        budget.check(f"{where}: budget.{name}")
        budgets[name] = budget
    config = _build(AssignmentConfig, {**data, "budgets": {}}, where)
    config = dataclasses.replace(
        config, budgets=types.MappingProxyType(budgets), name=path.parent.name, root=path.parent
    )
    config.grading.check(f"{where}: grading")
    config.limits.check(f"{where}: limits")
    _require(config.threads >= 1, where, "threads", config.threads, "must be at least 1")
    return config


def find_assignment(name_or_path: str | Path) -> AssignmentConfig:
    """Resolve `--assignment`: a name under `reference/`, or a reference directory."""
    candidate = Path(name_or_path)
    if not candidate.is_dir():
        candidate = REPO_ROOT / "reference" / str(name_or_path)
    if not (candidate / "assignment.toml").is_file():
        known = sorted(p.parent.name for p in (REPO_ROOT / "reference").glob("*/assignment.toml"))
        raise GraderError(
            f"unknown assignment {str(name_or_path)!r}",
            f"use one of: {', '.join(known) or '(none)'} or a path to a reference directory",
        )
    return load_config(candidate)
