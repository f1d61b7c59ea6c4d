"""An assignment's settings: `reference/<name>/assignment.toml`, parsed into frozen dataclasses.

Every field carries a docstring; every error names the key and the file it came from.
"""

from __future__ import annotations

import ast
import dataclasses
import json
import re
import tomllib
import typing
from dataclasses import dataclass, field
from pathlib import Path

from grader.errors import GraderError, UsageError

REPO_ROOT = Path(__file__).resolve().parent.parent
KITS_DIR = Path(__file__).resolve().parent / "kits"
"""Where an installed check kit keeps its assignments (grader/kit.py)."""
KIT_FILE = "kit.json"
KIT_KEYS = frozenset(
    {"assignment", "budget", "data", "data_sha256", "data_label", "expected", "grader_version"}
)
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
    """How many training examples (the first ones of the split) the pipeline trains on."""
    models: dict[str, TrainSpec]
    """Training settings by model name (each model of the plan has one)."""
    name: str = ""
    """The budget's name in the file (`bundled`, `keras`, `quick`, ...)."""

    def check(self, where: str) -> None:
        _require(
            self.train_samples >= 10, where, "train_samples", self.train_samples, "must be >= 10"
        )
        for model, spec in self.models.items():
            spec.check(f"{where}.{model}")

    def model(self, name: str) -> TrainSpec:
        """The settings of model `name`."""
        return self.models[name]

    def to_json(self) -> dict:
        return {
            "train_samples": self.train_samples,
            **{name: dataclasses.asdict(spec) for name, spec in self.models.items()},
        }


@dataclass(frozen=True)
class Grading:
    """How scores are derived from the reference."""

    accuracy_margin: float = 0.02
    """Full credit for test accuracy >= the reference's accuracy minus this margin."""
    accuracy_partial_band: float = 0.08
    """Below the margin, credit falls linearly to zero over this many accuracy points."""
    error_factor: float = 1.15
    """Regression: full credit for a test error (MAE) up to the reference's times this."""
    error_partial_band: float = 0.5
    """Above that, credit falls linearly to zero at the reference's error times
    (error_factor + error_partial_band)."""

    def check(self, where: str) -> None:
        for key in ("accuracy_margin", "accuracy_partial_band"):
            value = getattr(self, key)
            _require(0.0 <= value <= 1.0, where, key, value, "must be in [0, 1]")
        _require(self.error_factor >= 1.0, where, "error_factor", self.error_factor,
                 "must be at least 1 (the reference's own error)")  # fmt: skip
        _require(self.error_partial_band >= 0.0, where, "error_partial_band",
                 self.error_partial_band, "must be >= 0")  # fmt: skip


@dataclass(frozen=True)
class Late:
    """`[late]`: the late policy (absent: none). A submission later than `due` plus
    `grace_minutes` loses `penalty_per_day` percent of the maximum score per started day
    late, at most `max_penalty` percent; one later than `cutoff` (if set) gets no credit.
    Times are ISO 8601 with a time zone, e.g. "2026-12-08T23:59:00+00:00"."""

    due: str = ""
    """When the assignment is due (ISO 8601 with a time zone)."""
    grace_minutes: float = 0.0
    """Minutes after `due` that still count as on time."""
    penalty_per_day: float = 0.0
    """Percent of the maximum score per started day after the grace period."""
    max_penalty: float = 100.0
    """Percent: the most a late submission loses (before `cutoff`)."""
    cutoff: str = ""
    """After this time: no credit. Empty: no cutoff."""

    def check(self, where: str) -> None:
        for key in ("due", "cutoff"):
            value = getattr(self, key)
            if key == "due" or value:
                moment = _moment(value, f"{where}.{key}")
                _require(moment.tzinfo is not None, where, key, value, "needs a time zone")
        minutes = self.grace_minutes
        _require(0 <= minutes <= 525_600, where, "grace_minutes", minutes, "must be 0 to a year")
        if self.cutoff:
            due, cutoff = _moment(self.due, where), _moment(self.cutoff, where)
            _require(cutoff >= due, where, "cutoff", self.cutoff, "must not be before due")
        for key in ("penalty_per_day", "max_penalty"):
            value = getattr(self, key)
            _require(0 <= value <= 100, where, key, value, "must be a percent in [0, 100]")

    def to_json(self) -> dict:
        return dataclasses.asdict(self)


def load_late(path: str | Path) -> Late:
    """A late policy of its own file (`grade --late FILE`: the same `[late]` table as
    assignment.toml's, for one offering of a course), validated."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(f"cannot read the late policy {path}: {exc}",
                         "a TOML file with a [late] table (docs/course.md)") from None  # fmt: skip
    table = data.get("late")
    if not isinstance(table, dict) or set(data) != {"late"}:
        raise UsageError(f"{path} must hold one [late] table", "see docs/course.md")
    table = {k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in table.items()}
    late = _build(Late, table, f"{path}: late")
    late.check(f"{path}: late")
    return late


def _moment(value: str, where: str):
    import datetime

    try:
        return datetime.datetime.fromisoformat(str(value))
    except ValueError:
        raise GraderError(
            f"{where}: {value!r} is not an ISO 8601 time", 'write e.g. "2026-12-08T23:59:00+00:00"'
        ) from None


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


TASKS = ("multiclass", "binary", "regression")
"""The task kinds a model may declare: `multiclass` (a softmax over the classes, one-hot or
integer labels, accuracy), `binary` (one sigmoid unit, labels 0/1, accuracy at 0.5) and
`regression` (one linear unit, numeric targets, mean absolute error: lower is better).
grader/check/tasks.py holds what each kind means to the checks and the reports."""
INPUT_NAMES = ("x_train", "y_train", "x_test")
"""What every run gets from the data: training examples and labels, test examples."""
KEEP = ("all", "sample", "value")
RESERVED_MODEL_NAMES = ("train_samples",)
REQUIRED_BUDGETS = {
    "bundled": "the default data source (the assignment's own file) trains on it",
    "quick": "`grader check` (students' own checks) and the tests train on it",
}
"""Budgets every assignment declares; `keras` (also for --data PATH) only if it has one."""
"""Keys of a budget table that are not model names."""
_CALL_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(:[A-Za-z0-9_]+)?$")
_SUFFIX = re.compile(r"^\.[A-Za-z0-9]{1,8}$")
_SIGNATURE = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\((.*)\)$", re.DOTALL)


@dataclass(frozen=True)
class DataSpec:
    """`[data]`: the assignment's dataset, what the sandbox gets of it, and its schema.

    Every source comes back as keras's `load_data()` returns a dataset: `(x_train, y_train),
    (x_test, y_test)`; the trusted side checks each array against this schema."""

    file: str
    """The small dataset shipped in the assignment's folder (an `.npz` with `x` and `y`, or
    keras's four keys), relative to the folder; its README there gives provenance."""
    sha256: str
    """sha256 of `file`: a changed file would change every grade."""
    label: str
    """What `file` holds, for reports (`5,000 handwritten digits`)."""
    x_shape: tuple[int, ...]
    """The shape of one example (without the leading count)."""
    x_dtype: str = "uint8"
    """The dtype of the examples, in every source."""
    classes: int = 0
    """Labels are integers 0..classes-1; 0: the targets are numbers (regression), float32."""
    test_per_class: int = 0
    """`file` with `x`, `y` only: this many examples of each class go to the test split
    (stratified, always the same way); the rest train."""
    test_rows: int = 0
    """`file` with `x`, `y` and numeric targets (classes = 0): this many examples, drawn
    always the same way, go to the test split; the rest train."""
    split_seed: int = 0
    """Seed of that split's shuffle. Changing it changes every grade on the bundled data."""
    keras: str = ""
    """`--data keras`: the `keras.datasets` module to `load_data()` from (needs the internet
    once); "" when the assignment has none."""
    keras_label: str = ""
    """What `--data keras` holds, for reports."""
    images: bool = False
    """Examples are grayscale pictures: the reports show them."""
    noun: str = "example"
    """What one example is, in the reports' prose (`digit`)."""

    def check(self, where: str) -> None:
        import numpy as np  # only here: parsing settings otherwise needs no NumPy

        _require(bool(self.x_shape), where, "x_shape", self.x_shape, "must name a shape")
        _require(
            self.classes == 0 or 2 <= self.classes <= 256, where, "classes", self.classes,
            "must be 2 to 256 (labels are kept as uint8), or 0 for numeric targets",
        )  # fmt: skip
        _require(
            bool(re.fullmatch(r"[0-9a-f]{64}", self.sha256)), where, "sha256", self.sha256,
            "must be a sha256 hex digest (64 lowercase hex digits)",
        )  # fmt: skip
        try:
            np.dtype(self.x_dtype)
        except TypeError:
            _require(False, where, "x_dtype", self.x_dtype, "is not a NumPy dtype")
        _require(self.test_per_class >= 0, where, "test_per_class", self.test_per_class,
                 "must be >= 0")  # fmt: skip
        _require(self.test_rows >= 0, where, "test_rows", self.test_rows, "must be >= 0")
        _require(
            not self.numeric_targets or self.test_rows >= 1, where, "test_rows",
            self.test_rows, "must be at least 1 with numeric targets (classes = 0): the rows "
            "held out to test",
        )  # fmt: skip
        _require(
            self.classes or not self.test_per_class, where, "test_per_class",
            self.test_per_class, "needs classes (numeric targets split by test_rows)",
        )  # fmt: skip

    @property
    def numeric_targets(self) -> bool:
        """The targets are numbers to predict (regression), not class labels."""
        return self.classes == 0


@dataclass(frozen=True)
class Call:
    """One `[[plan.calls]]`: a contract function called on named inputs in the sandbox."""

    name: str
    """The call's name in artifacts and checks: the function's name, with `:variant` for a
    second call of the same function (`scale:test`)."""
    args: typing.Any = ()
    """Positional arguments: strings name an input or an earlier call's output; numbers
    and lists are passed as they are."""
    keep: str = "all"
    """`sample`: a training-set output, of which only the first rows are kept as artifacts;
    `value`: whatever it returns (fitted statistics, a scaler object) is handed unchanged to
    the calls that name it and is not kept as an array."""
    shape: str = ""
    """`reference`: the output must have the reference's shape to feed a model."""
    labels_of: str = ""
    """An input whose labels the output must encode as one-hot rows; otherwise the
    reference's encoding stands in for training."""

    @property
    def function(self) -> str:
        return self.name.split(":", 1)[0]


@dataclass(frozen=True)
class ModelPlan:
    """One `[[plan.models]]`: a model the student builds, trains, evaluates and saves."""

    name: str
    """The model's name in artifacts, budgets and checks."""
    builder: str
    """The contract function that builds it."""
    input_shape: tuple[int, ...]
    """The shape of one input example, as the builder is told."""
    x: str
    """The call whose output it trains on."""
    x_test: str
    """The call whose output it predicts."""
    y: str
    """The call whose output are its training labels, or `y_train` for the data's own labels
    (binary labels 0/1, numeric targets)."""
    args: typing.Any = ()
    """The builder's positional arguments (as for calls)."""
    title: str = ""
    """Its name in reports (default: `name`)."""
    task: str = "multiclass"
    """Its task kind (see `TASKS`)."""


@dataclass(frozen=True)
class TrainingPlan:
    """`[plan.training]`: the contract functions that train, evaluate, save and load."""

    train: str
    """`train(model, x, y, **the model's budget)`, returning a History."""
    evaluate: str
    """`evaluate(model, x, y)`."""
    save: str
    """`save(model, path)`."""
    load: str
    """`load(path)`, returning the model."""
    save_suffix: str = ".keras"
    """The suffix of the path save() is given (`.h5` for the legacy format)."""


@dataclass(frozen=True)
class Plan:
    """`[plan]`: what the sandbox does with the student's functions, in order."""

    calls: tuple[Call, ...]
    """The contract's data functions, run in order."""
    models: tuple[ModelPlan, ...]
    """The models, all built before any is trained."""
    training: TrainingPlan
    """How every model is trained, evaluated, saved and loaded."""
    inputs: dict[str, typing.Any] = field(default_factory=dict)
    """Constant arrays given to calls by name (a list of numbers each; whole numbers get
    the labels' dtype, as if they were labels of the data)."""

    def model(self, name: str) -> ModelPlan:
        for model in self.models:
            if model.name == name:
                return model
        raise KeyError(name)

    @property
    def model_names(self) -> tuple[str, ...]:
        return tuple(m.name for m in self.models)

    def check(self, where: str, contract: dict[str, str]) -> None:
        known = set(INPUT_NAMES) | set(self.inputs)
        for key, value in self.inputs.items():
            _require(
                key.isidentifier() and key not in INPUT_NAMES, f"{where}.inputs", key, key,
                "must be a new name (letters, digits, _)",
            )  # fmt: skip
            _require(
                isinstance(value, list)
                and all(isinstance(v, int | float) and not isinstance(v, bool) for v in value),
                f"{where}.inputs", key, value, "must be a list of numbers",
            )  # fmt: skip
        steps = {getattr(self.training, k) for k in ("train", "evaluate", "save", "load")}
        steps |= {m.builder for m in self.models}
        calls: dict[str, Call] = {}
        for i, call in enumerate(self.calls):
            at = f"{where}.calls[{i}]"
            _require(
                bool(_CALL_NAME.match(call.name)), at, "name", call.name,
                "must be a function name, with :variant (letters, digits, _) for another call",
            )  # fmt: skip
            _require(call.function in contract, at, "name", call.name, "is no contract function")
            _require(
                call.function not in steps, at, "name", call.name,
                "is a builder or training function: the plan's models and training call those",
            )  # fmt: skip
            _require(call.name not in known, at, "name", call.name, "is used twice")
            _require(call.keep in KEEP, at, "keep", call.keep, f"must be one of {KEEP}")
            _require(call.shape in ("", "reference"), at, "shape", call.shape, "must be reference")
            _require(
                call.keep != "value" or not (call.shape or call.labels_of), at, "keep",
                call.keep, "(a value handed on as it is) has no shape or labels to check",
            )  # fmt: skip
            _require(
                call.labels_of in ("", "y_train"), at, "labels_of", call.labels_of,
                "must be y_train (the call encodes the training labels)",
            )  # fmt: skip
            _require(
                not (call.labels_of and call.shape), at, "shape", call.shape,
                "and labels_of do not go together (labels stand in by value)",
            )  # fmt: skip
            _check_args(call.args, known, at)
            known.add(call.name)
            calls[call.name] = call
        names, builders = set(), set()
        for i, model in enumerate(self.models):
            at = f"{where}.models[{i}]"
            _require(
                model.name.isidentifier() and model.name not in RESERVED_MODEL_NAMES
                and model.name not in contract.values(), at, "name", model.name,
                "must be a name (letters, digits, _), not train_samples or a contract module",
            )  # fmt: skip
            _require(model.name not in names, at, "name", model.name, "is used twice")
            _require(
                model.name not in {c.function for c in self.calls}, at, "name", model.name,
                "is a function's name too (their artifacts would share file names)",
            )  # fmt: skip
            _require(model.builder not in builders, at, "builder", model.builder, "builds twice")
            names.add(model.name)
            builders.add(model.builder)
            _require(model.builder in contract, at, "builder", model.builder, "is not a function")
            _require(model.task in TASKS, at, "task", model.task, f"must be one of {TASKS}")
            _require(
                bool(model.input_shape) and all(d >= 1 for d in model.input_shape), at,
                "input_shape", list(model.input_shape), "must be positive sizes",
            )  # fmt: skip
            for key in ("x", "x_test"):
                value = getattr(model, key)
                _require(
                    value in calls and calls[value].shape == "reference", at, key, value,
                    'must name a call with shape = "reference" (the model\'s inputs)',
                )  # fmt: skip
            _require(
                model.y == "y_train"
                or (model.y in calls and calls[model.y].labels_of == "y_train"), at, "y",
                model.y, 'must be y_train or name a call with labels_of = "y_train" (the '
                "model's training labels)",
            )  # fmt: skip
            _require(
                isinstance(model.args, list | tuple) and all(_literal(a) for a in model.args),
                at, "args", model.args, "must be numbers or lists (the builder's arguments)",
            )  # fmt: skip
        _require(bool(self.models), where, "models", (), "must declare at least one model")
        for key in ("train", "evaluate", "save", "load"):
            value = getattr(self.training, key)
            _require(value in contract, f"{where}.training", key, value, "is not in [contract]")
        _require(
            bool(_SUFFIX.match(self.training.save_suffix)), f"{where}.training", "save_suffix",
            self.training.save_suffix, "must be a file suffix such as .keras or .h5",
        )  # fmt: skip

    def to_json(self, contract: dict[str, str]) -> dict:
        """The plan as the sandbox's harness reads it: every function with its module."""

        def function(name: str) -> dict:
            return {"function": name, "module": contract[name]}

        return {
            "inputs": sorted(self.inputs),
            "calls": [
                {**dataclasses.asdict(c), **function(c.function), "args": list(c.args)}
                for c in self.calls
            ],
            "models": [
                {
                    **dataclasses.asdict(m),
                    **function(m.builder),
                    "args": list(m.args),
                    "title": m.title or m.name,
                }
                for m in self.models
            ],  # fmt: skip
            "training": {
                key: function(getattr(self.training, key))
                for key in ("train", "evaluate", "save", "load")
            }
            | {"save_suffix": self.training.save_suffix},
        }


def _check_task(model: ModelPlan, data: DataSpec, where: str) -> None:
    """A model's task kind must fit the data's targets (and its labels their encoding)."""
    fits = {
        "multiclass": (data.classes >= 2, "needs class labels ([data] classes >= 2)"),
        "binary": (data.classes == 2, "needs two classes ([data] classes = 2)"),
        "regression": (data.numeric_targets, "needs numeric targets ([data] classes = 0)"),
    }
    ok, why = fits[model.task]
    _require(ok, where, "task", model.task, why)
    if model.task == "multiclass":
        _require(
            model.y != "y_train", where, "y", model.y,
            'must name a call with labels_of = "y_train": a multiclass model trains on '
            "one-hot rows",
        )  # fmt: skip
    else:
        _require(
            model.y == "y_train", where, "y", model.y,
            f"must be y_train: a {model.task} model trains on the data's own "
            + ("targets" if model.task == "regression" else "labels (0/1)"),
        )  # fmt: skip


def _check_args(args: object, known: set[str], where: str) -> None:
    _require(isinstance(args, list | tuple), where, "args", args, "must be a list")
    for arg in args:
        if isinstance(arg, str):
            _require(arg in known, where, "args", arg, "names no input or earlier call")
        else:
            _require(_literal(arg), where, "args", arg, "must be names, numbers or lists")


def _literal(value: object) -> bool:
    if isinstance(value, bool | int | float):
        return True
    return isinstance(value, list) and all(_literal(v) for v in value)


def parse_contract(table: object, where: str) -> FrozenDict:
    """`[contract]`: module -> list of signatures; returns module -> (function, signature)."""
    if not isinstance(table, dict) or not table:
        raise GraderError(f"{where}: missing [contract]", "list each module's functions there")
    modules = {}
    for module, signatures in table.items():
        _require(module.isidentifier(), where, "contract", module, "is not a module name")
        _require(
            isinstance(signatures, list) and all(isinstance(x, str) for x in signatures),
            f"{where}.contract", module, signatures, "must be a list of signatures",
        )  # fmt: skip
        functions = []
        for text in signatures:
            match = _SIGNATURE.match(text.strip())
            _require(bool(match), f"{where}.contract", module, text, "is not `name(args)`")
            try:
                ast.parse(f"def {text.strip()}: pass")
            except SyntaxError:
                _require(False, f"{where}.contract", module, text, "is not a Python signature")
            name = match.group(1)
            _require(
                all(name not in [f for f, _ in fns] for fns in modules.values()),
                f"{where}.contract", module, name, "is in two modules",
            )  # fmt: skip
            functions.append((name, text.strip()))
        modules[module] = tuple(functions)
    return FrozenDict(modules)


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
    total_points: float = 100.0
    """What the checks' points add up to: `grader assign` refuses a reference whose checks
    (`@pytest.mark.check(points=...)`, hidden ones included) add up to anything else."""
    grading: Grading = field(default_factory=Grading)
    """Scoring settings."""
    limits: Limits = field(default_factory=Limits)
    """Sandbox limits."""
    late: Late | None = None
    """`[late]`: the late policy, if the assignment has one."""
    environment: Environment = field(default_factory=Environment)
    """What student code may import (`[environment]`)."""
    contract: dict = field(default_factory=dict)
    """`[contract]`: module -> ((function, signature), ...), as the student writes them."""
    data: DataSpec | None = None
    """`[data]`: the dataset and its schema."""
    plan: Plan | None = None
    """`[plan]`: what the sandbox does with the student's functions."""
    parts: dict[str, str] = field(default_factory=dict)
    """`[parts]`: report titles of the parts that are not models (default: the name)."""
    name: str = ""
    """The assignment's name: its directory's name."""
    root: Path = Path(".")
    """The reference directory (`reference/<name>`), or an installed check kit's folder."""
    kit: dict | None = None
    """A student's check kit (`kit.json` beside `assignment.toml`, written by `grader kit`):
    its budget, data, expected values and label. None for a reference directory."""

    @property
    def modules(self) -> tuple[str, ...]:
        """The contract's module names, in the file's order."""
        return tuple(self.contract)

    @property
    def part_titles(self) -> dict[str, str]:
        """The assignment's parts with their report titles, in report order: each contract
        module, where a module that builds models stands for its models (one part each)."""
        models = {m.builder: m for m in self.plan.models}
        titles: dict[str, str] = {}
        for module, functions in self.contract.items():
            built = [models[f] for f, _ in functions if f in models]
            for model in built:
                titles[model.name] = model.title or model.name
            if not built:
                titles[module] = self.parts.get(module, module)
        return titles

    @property
    def part_names(self) -> tuple[str, ...]:
        return tuple(self.part_titles)

    @property
    def functions(self) -> dict[str, str]:
        """Every contract function -> its module."""
        return {f: module for module, fns in self.contract.items() for f, _ in fns}

    def plan_json(self) -> dict:
        """The plan as the sandbox's harness reads it."""
        noun = "images" if self.data.images else "inputs"
        return {**self.plan.to_json(self.functions), "noun": noun}

    @property
    def checks_dir(self) -> Path:
        """Where the assignment's pytest checks live."""
        return self.root / "checks"

    def budget(self, name: str) -> Budget:
        """The budget called `name`; a path-to-.npz data source uses `keras`'s."""
        if name in self.budgets:
            return self.budgets[name]
        raise UsageError(
            f"no training budget {name!r} in {self.root / 'assignment.toml'}",
            f"define [budget.{name}] or choose one of: {', '.join(sorted(self.budgets))}",
        )


class FrozenDict(dict):
    """A read-only dict that pickles (a settings table sent to Dask workers)."""

    def _refuse(self, *args, **kwargs):
        raise TypeError("assignment settings are read-only")

    __setitem__ = __delitem__ = update = pop = popitem = clear = setdefault = _refuse

    def __reduce__(self):
        return (FrozenDict, (dict(self),))

    def __hash__(self) -> int:  # frozen dataclasses holding one stay hashable
        return hash(tuple(sorted(self.items(), key=repr)))


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
    if hint is typing.Any:
        return raw
    if typing.get_origin(hint) is tuple and typing.get_args(hint)[0] is int:
        if not isinstance(raw, list) or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in raw
        ):
            raise GraderError(f"{where} must be a list of whole numbers, not {raw!r}")
        return tuple(raw)
    if typing.get_origin(hint) is tuple and dataclasses.is_dataclass(typing.get_args(hint)[0]):
        if not isinstance(raw, list):
            raise GraderError(f"{where} must be a list of tables ([[...]])")
        item = typing.get_args(hint)[0]
        return tuple(_build(item, v, f"{where}[{i}]") for i, v in enumerate(raw))
    if typing.get_origin(hint) is tuple:
        if not isinstance(raw, list) or not all(isinstance(v, str) and v for v in raw):
            raise GraderError(f"{where} must be a list of names, not {raw!r}")
        return tuple(raw)
    if typing.get_origin(hint) is dict:
        value_type = typing.get_args(hint)[1]
        if not isinstance(raw, dict):
            raise GraderError(f"{where} must be a table")
        return FrozenDict({k: _convert(value_type, v, f"{where}.{k}") for k, v in raw.items()})
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
        raise GraderError(f"{where}: missing [budget.<name>] tables", "see docs/authoring.md")
    if not isinstance(budgets_raw, dict):
        raise GraderError(f"{where}: budget must be a table of [budget.<name>] tables")
    late = data.pop("late", None)
    if late is not None:
        if not isinstance(late, dict):
            raise GraderError(f"{where}: late must be a table")
        # An unquoted TOML time is a datetime: the policy keeps ISO text either way.
        late = {k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in late.items()}
        late = _build(Late, late, f"{where}: late")
    contract = parse_contract(data.pop("contract", None), where)
    functions = {f: m for m, fns in contract.items() for f, _ in fns}
    if "data" not in data:
        raise GraderError(f"{where}: missing [data]", "declare the dataset and its schema there")
    spec = _build(DataSpec, data.pop("data"), f"{where}: data")
    spec.check(f"{where}: data")
    if "plan" not in data:
        raise GraderError(f"{where}: missing [plan]", "declare the calls and models there")
    plan = _build(Plan, data.pop("plan"), f"{where}: plan")
    plan.check(f"{where}: plan", functions)
    for i, model in enumerate(plan.models):
        _check_task(model, spec, f"{where}: plan.models[{i}]")
    budgets = {}
    for name, table in budgets_raw.items():
        at = f"{where}: budget.{name}"
        if not isinstance(table, dict):
            raise GraderError(f"{at} must be a table")
        table = dict(table)
        samples = table.pop("train_samples", None)
        if samples is None:
            raise GraderError(f"{at}: missing key 'train_samples'")
        unknown = sorted(set(table) - set(plan.model_names))
        if unknown:
            raise GraderError(
                f"{at}: {unknown[0]!r} is no model of the plan",
                f"models: {', '.join(plan.model_names)}",
            )
        for model in plan.model_names:
            if model not in table:
                raise GraderError(f"{at}: missing key {model!r} (the model's training budget)")
        budget = _build(Budget, {"train_samples": samples, "models": table}, at)
        budget = dataclasses.replace(budget, name=name)
        budget.check(at)
        budgets[name] = budget
    for required, why in REQUIRED_BUDGETS.items():
        if required not in budgets:
            raise GraderError(f"{where}: missing [budget.{required}]", why)
    config = _build(AssignmentConfig, {**data, "budgets": {}}, where)
    config = dataclasses.replace(
        config, budgets=FrozenDict(budgets), name=path.parent.name, root=path.parent,
        contract=contract, data=spec, plan=plan, late=late,
    )  # fmt: skip
    unknown = sorted(set(config.parts) - set(config.contract))
    if unknown:
        raise GraderError(f"{where}: parts.{unknown[0]} names no contract module")
    kit_file = path.parent / KIT_FILE
    if kit_file.is_file():
        try:
            kit = json.loads(kit_file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise GraderError(f"{kit_file}: not a check kit's description: {exc}") from None
        missing = sorted(KIT_KEYS - set(kit)) if isinstance(kit, dict) else sorted(KIT_KEYS)
        if missing:
            raise GraderError(
                f"{kit_file}: missing {', '.join(missing)}", "rebuild the kit with grader kit"
            )
        config = dataclasses.replace(config, kit=kit, name=str(kit["assignment"]))
    if config.late is not None:
        config.late.check(f"{where}: late")
    config.grading.check(f"{where}: grading")
    config.limits.check(f"{where}: limits")
    _require(config.threads >= 1, where, "threads", config.threads, "must be at least 1")
    _require(config.total_points > 0, where, "total_points", config.total_points, "must be > 0")
    return config


def installed_kits() -> dict[str, Path]:
    """Check kits installed with this package (`grader kit` puts them in `grader/kits/`)."""
    return {p.parent.name: p.parent for p in sorted(KITS_DIR.glob(f"*/{KIT_FILE}"))}


def known_assignments() -> list[str]:
    """Names `--assignment` accepts: the references of a checkout, then installed kits."""
    names = [p.parent.name for p in sorted((REPO_ROOT / "reference").glob("*/assignment.toml"))]
    return names + [name for name in installed_kits() if name not in names]


def default_assignment(preferred: str) -> str:
    """`--assignment`'s default: `preferred` (the CLI's), or the one kit installed where no
    reference of that name exists (a student's machine with one course's kit)."""
    if (REPO_ROOT / "reference" / preferred / "assignment.toml").is_file():
        return preferred
    kits = installed_kits()
    return next(iter(kits)) if len(kits) == 1 else preferred


def find_assignment(name_or_path: str | Path) -> AssignmentConfig:
    """Resolve `--assignment`: a name under `reference/`, an installed check kit's name, or
    a reference directory."""
    candidate = Path(name_or_path)
    if not candidate.is_dir():
        candidate = REPO_ROOT / "reference" / str(name_or_path)
    if not (candidate / "assignment.toml").is_file():
        candidate = installed_kits().get(str(name_or_path), candidate)
    if not (candidate / "assignment.toml").is_file():
        known = known_assignments()
        raise UsageError(
            f"unknown assignment {str(name_or_path)!r}",
            f"use one of: {', '.join(known) or '(none)'} or a path to a reference directory",
        )
    return load_config(candidate)
