"""What checks are written with: failure and partial credit, and views of a run's artifacts.

A check is a plain pytest function (see reference/<name>/checks/). It gets a `student` and a
`reference` (both `RunView`s) and fails with `fail(...)` (or a plain `assert`), or gives part
of its points with `partial(...)`. Views never run student code: they read artifacts, and
rebuild models only through the allowlist of grader/check/artifacts.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np

from grader.check.artifacts import ArtifactError, Artifacts
from grader.check.feedback import explain_call
from grader.config import Plan
from grader.report.results import LayerRow


class CheckFailure(AssertionError):
    """A check failed; `message` says what was expected and what the submission did."""

    def __init__(self, message: str, table: tuple[LayerRow, ...] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.table = table


class Partial(Exception):
    """Part of a check's points: `fraction` in (0, 1), with the reason."""

    def __init__(self, fraction: float, message: str) -> None:
        super().__init__(message)
        self.fraction = max(0.0, min(1.0, float(fraction)))
        self.message = message


_notes: list[str] = []


def note(message: str) -> None:
    """Add a remark to the current check's feedback, shown even when it passes."""
    if message not in _notes:
        _notes.append(message)


def take_notes() -> list[str]:
    """The current check's remarks, clearing them (the plugin calls this once per check)."""
    notes = list(_notes)
    _notes.clear()
    return notes


def fail(message: str, table: tuple[LayerRow, ...] = ()) -> None:
    """Fail the check with feedback (and optionally a layer-by-layer table)."""
    raise CheckFailure(message, table)


def partial(fraction: float, message: str) -> None:
    """End the check with `fraction` of its points (0 fails it, 1 passes it)."""
    if fraction >= 1.0:
        return
    if fraction <= 0.0:
        raise CheckFailure(message)
    raise Partial(fraction, message)


@dataclass
class RunView:
    """One run (a student's or the reference's) as checks see it."""

    id: str
    status: str
    detail: str
    out_dir: Path | None
    notes: tuple[str, ...] = ()
    sources: dict = field(default_factory=dict)
    """How module files map to the student's files and notebook cells (for tracebacks)."""
    plan: Plan | None = None
    """The assignment's plan (which function builds which model)."""
    expected: dict = field(default_factory=dict)
    """A check kit's reference only: what the instructor's grader measured of the trained
    reference when it built the kit, which has no trained model to measure:
    `{"predictions": {model: .npy path}, "steps": {model: optimizer steps}}`."""

    def builder(self, kind: str) -> str:
        """The contract function that builds model `kind`."""
        if self.plan is None:
            raise LookupError("this view has no assignment plan")
        return self.plan.model(kind).builder

    def task(self, kind: str):
        """The task kind of model `kind` (grader/check/tasks.py)."""
        from grader.check.tasks import task

        return task(self.plan.model(kind).task if self.plan is not None else "multiclass")

    @cached_property
    def artifacts(self) -> Artifacts | None:
        return Artifacts(self.out_dir) if self.out_dir is not None else None

    @cached_property
    def _predictions(self) -> dict:
        return {}

    def call(self, name: str) -> dict:
        """The manifest's record of one call ({} if the run never reached it)."""
        if self.artifacts is None:
            return {}
        return self.artifacts.call(name)

    def require(self, name: str) -> dict:
        """The call's record if it succeeded; otherwise fail with an explanation."""
        record = self.call(name)
        if record.get("status") == "ok":
            return record
        if self.status == "sandbox_error" and self.artifacts is None:
            fail(f"not graded: {self.detail}")
        message = explain_call(name, record, self.status, self.detail, self.sources)
        module = record.get("import_failed")
        if module:
            message += "\n" + explain_call(
                f"import:{module}", self.call(f"import:{module}"), sources=self.sources
            )
        fail(message)
        raise AssertionError("unreachable")  # pragma: no cover

    def output(self, name: str) -> tuple[dict, np.ndarray | None]:
        """(description, array) of what a call returned; fails if the call failed."""
        self.require(name)
        info = self.artifacts.result(name)
        if not info.get("convertible"):
            return info, None
        try:
            return info, self.artifacts.array(name)
        except ArtifactError as exc:
            fail(f"the grader could not read what {name.split(':')[0]}() returned: {exc}")
            raise

    def model(self, kind: str, which: str = "untrained"):
        """The rebuilt model; fails with the reason when there is none or it is refused."""
        builder = self.builder(kind)
        if which == "untrained":
            self.require(builder)
        if self.artifacts is None:
            fail(f"not graded: {self.detail}")
        try:
            return self.artifacts.model(kind, which)
        except ArtifactError as exc:
            if which == "trained" and not self.model_facts(kind).get("trained"):
                # Nothing was saved after training: say why in terms of their train().
                self.require(f"train:{kind}")
            fail(f"the grader could not rebuild your {kind.upper()} ({which}): {exc}")
            raise

    def keras_file(self, kind: str, stage: str):
        """The Keras model file the sandbox saved at `stage` (`built`, `trained`, `saved`),
        read on this side (grader/check/keras_file.py); fails with the reason when there is none."""
        from grader.check.keras_file import read_keras_file

        key = f"_keras_{kind}_{stage}"
        if key not in self.__dict__:
            facts = self.model_facts(kind).get(f"{stage}_file")
            try:
                if not isinstance(facts, dict) or "file" not in facts:
                    reason = facts.get("error") if isinstance(facts, dict) else None
                    raise ArtifactError(str(reason or "no such file was written"))
                self.__dict__[key] = read_keras_file(self.out_dir, facts["file"])
            except ArtifactError as exc:
                self.__dict__[key] = exc
        value = self.__dict__[key]
        if isinstance(value, ArtifactError):
            raise value
        return value

    def release(self) -> None:
        """Forget rebuilt models and predictions (this student is done)."""
        for key in [k for k in self.__dict__ if k.startswith("_keras_")]:
            del self.__dict__[key]
        self.__dict__.pop("_predictions", None)
        if self.artifacts is not None:
            self.artifacts.release()

    def model_facts(self, kind: str) -> dict:
        return self.artifacts.model_facts(kind) if self.artifacts else {}

    def test_inputs(self, kind: str) -> np.ndarray:
        facts = self.model_facts(kind)
        try:
            return self.artifacts.arrays(facts.get("test_inputs", ""))["x"]
        except (ArtifactError, KeyError):
            fail(f"the run did not get as far as predicting the test {EXAMPLES} with the {kind}")
            raise

    def predictions(self, kind: str) -> np.ndarray:
        """Trusted predictions: the rebuilt trained model on the run's own test inputs."""
        stored = self.expected.get("predictions", {}).get(kind)
        if kind not in self._predictions and stored:
            self._predictions[kind] = np.load(stored, allow_pickle=False)
        if kind not in self._predictions:
            model = self.model(kind, "trained")
            x = self.test_inputs(kind)
            try:
                self._predictions[kind] = infer(model, x)
            except Exception as exc:  # noqa: BLE001 - wrong input shape and the like
                fail(
                    f"your trained {kind.upper()} cannot predict your preprocessed test "
                    f"{EXAMPLES}: {type(exc).__name__}: {str(exc)[:300]}"
                )
        return self._predictions[kind]

    def accuracy(self, kind: str, labels: np.ndarray) -> float:
        preds = self.predictions(kind)
        if preds.ndim != 2 or preds.shape[0] != len(labels):
            fail(f"the {kind.upper()} predicts {preds.shape}, not one row per test image")
        return float(np.mean(preds.argmax(axis=1) == labels))

    def metric(self, kind: str, targets: np.ndarray) -> float:
        """The model's test metric by its task kind (accuracy, or MAE for regression)."""
        task = self.task(kind)
        if task.name == "multiclass":
            return self.accuracy(kind, targets)
        preds = self.predictions(kind)
        if np.issubdtype(preds.dtype, np.floating) and not np.isfinite(preds).all():
            fail(f"the {kind.upper()}'s predictions are NaN or infinite.")
        if not task.fits(preds, len(targets)):
            fail(
                f"the {kind.upper()} predicts {preds.shape}; a {task.name} model predicts one "
                f"value per example, ({len(targets)}, 1): its output is {task.output}."
            )
        return task.measure(preds, targets)


EXAMPLES = "inputs"
"""What the assignment's examples are called in feedback (`images` where `[data] images`):
set by the check session from the assignment, before any check runs."""
INFER_BATCH = 256


def infer(model, x: np.ndarray, batch_size: int = INFER_BATCH) -> np.ndarray:
    """The model's outputs on `x`, as `model.predict(x)` gives them, but called eagerly.

    `predict` traces a `tf.function` for every model it sees, and the grader sees every model
    once: the eager call in batches is 4x (a dense network) to 1.6x (a small convolutional
    one) faster here and gives the same outputs up to float rounding (tests/test_checking.py).
    Inputs are cast to float32 as `predict`'s data adapter does.
    """
    x = np.asarray(x)
    if x.dtype.kind in "fiub":
        x = x.astype(np.float32, copy=False)
    if len(x) == 0:
        return np.asarray(model.predict(x, verbose=0))
    outputs = [
        np.asarray(model(x[i : i + batch_size], training=False))
        for i in range(0, len(x), batch_size)
    ]
    return np.concatenate(outputs)


def is_float_dtype(dtype: str) -> bool:
    return np.dtype(dtype).kind == "f"


def describe_dtype(dtype: str) -> str:
    kind = np.dtype(dtype).kind
    name = np.dtype(dtype).name
    if kind in "iu":
        return f"{name} (integers: pixel values cannot be fractions; divide by 255 as floats)"
    if kind == "b":
        return f"{name} (booleans)"
    return name


def check_array_contract(
    info: dict,
    array: np.ndarray | None,
    function: str,
    expected_shape: tuple,
    dtype_hint: str | None = None,
) -> None:
    """The checks every preprocessing output shares: exact ndarray, shape, floating dtype."""
    if not info.get("exact_ndarray"):
        kind = info.get("type", "?")
        why = info.get("why")
        subclass = " (a subclass: return a plain numpy.ndarray)" if "ndarray" in kind else ""
        extra = f" It could not even be read as an array: {why}." if why else ""
        fail(
            f"{function}() must return a numpy.ndarray; it returned a {kind}{subclass}."
            f"{extra} Use numpy operations (or np.asarray(...)) to return a plain array."
        )
    shape = tuple(info.get("shape", ()))
    if shape != tuple(expected_shape):
        fail(f"{function}() returned shape {shape}; expected {tuple(expected_shape)}.")
    dtype = info.get("dtype")
    if not dtype:
        fail(f"{function}() returned something the grader could not read as an array.")
    if not is_float_dtype(dtype):
        why = f"{np.dtype(dtype).name}: {dtype_hint}" if dtype_hint else describe_dtype(dtype)
        fail(
            f"{function}() returned dtype {why}; expected a floating dtype "
            "(float32 preferred, float64 accepted)."
        )
    if array is None:
        fail(f"{function}() returned something the grader could not read as an array.")
