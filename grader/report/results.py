"""Grading results: frozen plain data, and pure functions that score them.

Nothing here prints, renders or writes files: exports and reports take these values.
"""

from __future__ import annotations

import dataclasses
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

PHASE1_STATUSES = ("ok", "crash", "timeout", "memory", "output_limit", "sandbox_error")
"""How a submission's sandboxed run ended. None of them can ever turn into points."""

"""The parts of the assignment, in report order."""


@dataclass(frozen=True)
class LayerInfo:
    """One layer (or a layer merged with the activation that follows it)."""

    kind: str
    """Canonical description, e.g. `Dense(512, relu)` or `Conv2D(32, 3x3, same, relu)`."""
    output_shape: str
    """Output shape without the batch axis, e.g. `(14, 14, 32)`."""
    params: int
    """Number of parameters (weights and biases)."""
    layer_type: str = ""
    """The Keras layer class (`Dense`, `Conv2D`, ...; `Activation` for a lone activation)."""
    activation: str = ""
    """The step's activation after merging (`relu`, `softmax`; empty for none)."""


@dataclass(frozen=True)
class LayerRow:
    """One row of a layer-by-layer comparison of reference and student."""

    position: int
    """1-based position in the canonical layer sequence."""
    expected: LayerInfo | None
    """The reference's layer, or None when the student has more layers."""
    actual: LayerInfo | None
    """The student's layer, or None when the student has fewer layers."""
    matches: bool
    """Whether the two agree on the compared attributes."""
    first_divergence: bool = False
    """True on the first row that does not match."""


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check for one submission."""

    name: str
    """The check's function name, e.g. `test_mlp_output_shapes`."""
    title: str
    """Short human title from the check's marker."""
    part: str
    """Which part of the assignment it grades (`AssignmentConfig.parts`)."""
    max_score: float
    """Points available."""
    score: float
    """Points earned (0 <= score <= max_score)."""
    visibility: str = "visible"
    """`visible` or `hidden`: hidden checks count, but students never see their details."""
    feedback: str = ""
    """What was expected and what the submission did, in plain words. Empty when passed."""
    table: tuple[LayerRow, ...] = ()
    """Layer-by-layer comparison, for architecture checks."""
    seconds: float = 0.0
    """How long the check ran in phase 2 (junit.xml's per-case time)."""

    @property
    def passed(self) -> bool:
        """Full marks."""
        return self.score >= self.max_score


@dataclass(frozen=True)
class ModelReport:
    """What the report shows of one trained model (one of the student's models)."""

    name: str
    """The model's name in the assignment's plan."""
    history: Mapping[str, Sequence[float]] = field(default_factory=dict)
    """Keras History: metric name -> one value per epoch."""
    test_accuracy: float | None = None
    """The student's pipeline on the held-out test set, computed by the trusted side."""
    reference_accuracy: float | None = None
    """The reference's test accuracy under the same budget."""
    confusion: tuple[tuple[int, ...], ...] = ()
    """Confusion matrix on the held-out test set: rows true class, columns predicted."""
    misclassified: tuple[Misclassified, ...] = ()
    """A few wrongly classified test examples (pictures only)."""
    layers: tuple[LayerRow, ...] = ()
    """Reference vs student, layer by layer."""
    task: str = "multiclass"
    """The model's task kind (grader/check/tasks.py)."""
    metric: str = "accuracy"
    """The test metric's name: `accuracy`, or `mean absolute error` for a regression."""
    test_metric: float | None = None
    """The student's pipeline's test metric (the accuracy again, or the MAE)."""
    reference_metric: float | None = None
    """The reference's, under the same budget."""
    rates: Mapping[str, float | None] = field(default_factory=dict)
    """Binary: precision and recall of class 1 (None where undefined)."""
    errors: Mapping[str, float | None] = field(default_factory=dict)
    """Regression: `mae`, `rmse` of the student's model and `reference_mae`, `reference_rmse`."""
    points: tuple[tuple[float, float], ...] = ()
    """Regression: (true, predicted) for up to MAX_POINTS test examples."""
    residuals: tuple[float, ...] = ()
    """Regression: predicted minus true, for every test example."""


@dataclass(frozen=True)
class Misclassified:
    """One test picture the student's model got wrong."""

    index: int
    """Index in the held-out test split."""
    true_label: int
    predicted: int
    png_base64: str
    """The picture as a base64 PNG (for an inline data: URI)."""


@dataclass(frozen=True)
class Adjustment:
    """Points added to or taken from the checks' sum, shown on a line of its own (a late
    penalty), never hidden inside a check."""

    kind: str
    """`late`."""
    points: float
    """Negative for a penalty."""
    reason: str
    """One line: e.g. `submitted 2 days 3 h late: -20% of 100 points`."""


@dataclass(frozen=True)
class SubmissionResult:
    """Everything known about one graded submission."""

    id: str
    """The submission's id: its file or directory name without extension."""
    assignment: str
    """The assignment's name (its folder's under reference/)."""
    status: str
    """Phase-1 status, one of PHASE1_STATUSES."""
    status_detail: str = ""
    """One human line explaining a status other than ok."""
    isolation: str = "full"
    """`full` (namespaces, unprivileged uid) or `limited` (rlimits and timeout only)."""
    content_hash: str = ""
    """sha256 of the submission's files: a rerun skips unchanged submissions."""
    checks: tuple[CheckResult, ...] = ()
    models: tuple[ModelReport, ...] = ()
    stdout: str = ""
    """What the submission printed (trimmed)."""
    stderr: str = ""
    timings: Mapping[str, float] = field(default_factory=dict)
    """Seconds per phase: `run` (sandbox), `check`, `report`."""
    settings: Mapping[str, object] = field(default_factory=dict)
    """Grader version, package versions, seed, dataset, budget: shown and exported."""
    graded_at: str = ""
    """ISO 8601 time the result was produced."""
    attempt: str = ""
    """What the run shows of the student's work where a status of ok would hide it:
    `could not import` (a module of theirs failed to import), `not attempted` (every function
    of theirs that the grader called is still the stub), or empty. See ATTEMPTS."""
    adjustments: tuple[Adjustment, ...] = ()
    """Course rules applied after the checks (grader/course.py): a late penalty."""


ATTEMPTS = {
    "could not import": "a module of the submission failed to import",
    "not attempted": "every function the grader called is still the stub (NotImplementedError)",
}
"""The attempt labels, with what each means (reports, dashboard, terminal)."""


def attempt_of(calls: Mapping) -> tuple[str, str]:
    """(label, detail) of a run's calls (the manifest's `calls`: name -> record), from the
    sandbox's own account: a label only, never points. `could not import` names the modules;
    `not attempted` needs at least one stub and nothing else but skips."""
    records = {k: v for k, v in calls.items() if isinstance(v, Mapping)} if calls else {}
    broken = sorted(
        name.split(":", 1)[1]
        for name, rec in records.items()
        if name.startswith("import:") and rec.get("status") not in (None, "ok")
    )
    if broken:
        first = records[f"import:{broken[0]}"]
        why = f"{first.get('exc_type', 'error')}: {first.get('message', '')}".strip(": ")
        return "could not import", f"{', '.join(f'{m}.py' for m in broken)} ({why[:200]})"
    statuses = [
        rec.get("status") for name, rec in records.items() if not name.startswith("import:")
    ]
    if "not_implemented" in statuses and set(statuses) <= {"not_implemented", "skipped"}:
        return "not attempted", ATTEMPTS["not attempted"]
    return "", ""


def score(result: SubmissionResult) -> float:
    """Points earned over all checks (hidden ones included), with the adjustments (a late
    penalty), never below 0."""
    earned = sum(c.score for c in result.checks) + sum(a.points for a in result.adjustments)
    return round(max(0.0, earned), 4)


def max_score(result: SubmissionResult) -> float:
    """Points available over all checks."""
    return round(sum(c.max_score for c in result.checks), 4)


def part_scores(result: SubmissionResult) -> dict[str, tuple[float, float]]:
    """Per part: (earned, available), in the order of the checks (the assignment's)."""
    totals: dict[str, list[float]] = {}
    for check in result.checks:
        earned, available = totals.setdefault(check.part, [0.0, 0.0])
        totals[check.part] = [earned + check.score, available + check.max_score]
    return {p: (round(e, 4), round(a, 4)) for p, (e, a) in totals.items() if a > 0}


def visible_checks(result: SubmissionResult) -> tuple[CheckResult, ...]:
    """The checks a student may see in full."""
    return tuple(c for c in result.checks if c.visibility == "visible")


def redact_hidden(check: CheckResult) -> CheckResult:
    """A hidden check as a student may see it: its points, nothing else."""
    if check.visibility != "hidden":
        return check
    return dataclasses.replace(check, title="hidden check", feedback="", table=())


def linear_credit(value: float, full_at: float, band: float) -> float:
    """Fraction of credit: 1 at or above `full_at`, falling linearly to 0 over `band` below."""
    if value >= full_at:
        return 1.0
    if band <= 0 or value <= full_at - band:
        return 0.0
    return (value - (full_at - band)) / band


@dataclass(frozen=True)
class ClassSummary:
    """Numbers for the class dashboard and the CLI's closing table."""

    students: int
    mean: float
    median: float
    max_score: float
    by_status: Mapping[str, int]
    pass_rates: Mapping[str, float]
    """Check name -> fraction of students with full marks on it."""


def summarize(results: Sequence[SubmissionResult]) -> ClassSummary:
    """Class statistics over all results."""
    scores = [score(r) for r in results]
    by_status = {s: 0 for s in PHASE1_STATUSES}
    for r in results:
        by_status[r.status] = by_status.get(r.status, 0) + 1
    passes: dict[str, list[int]] = {}
    for r in results:
        for c in r.checks:
            passes.setdefault(c.name, []).append(1 if c.passed else 0)
    return ClassSummary(
        students=len(results),
        mean=round(statistics.fmean(scores), 2) if scores else 0.0,
        median=round(statistics.median(scores), 2) if scores else 0.0,
        max_score=max((max_score(r) for r in results), default=0.0),
        by_status=by_status,
        pass_rates={k: sum(v) / len(v) for k, v in passes.items()},
    )


def to_dict(result: SubmissionResult) -> dict:
    """Plain JSON-ready dict of a result (the inverse of from_dict)."""
    return dataclasses.asdict(result)


def _layer_row(d: Mapping) -> LayerRow:
    return LayerRow(
        position=d["position"],
        expected=LayerInfo(**d["expected"]) if d.get("expected") else None,
        actual=LayerInfo(**d["actual"]) if d.get("actual") else None,
        matches=d["matches"],
        first_divergence=d.get("first_divergence", False),
    )


def from_dict(d: Mapping) -> SubmissionResult:
    """Rebuild a result written by to_dict (raises KeyError/TypeError on a malformed dict)."""
    checks = tuple(
        CheckResult(**{**c, "table": tuple(_layer_row(r) for r in c.get("table", ()))})
        for c in d.get("checks", ())
    )
    models = tuple(
        ModelReport(
            **{
                **m,
                "confusion": tuple(tuple(row) for row in m.get("confusion", ())),
                "misclassified": tuple(Misclassified(**x) for x in m.get("misclassified", ())),
                "layers": tuple(_layer_row(r) for r in m.get("layers", ())),
                "points": tuple(tuple(p) for p in m.get("points", ())),
                "residuals": tuple(m.get("residuals", ())),
            }
        )
        for m in d.get("models", ())
    )
    adjustments = tuple(Adjustment(**a) for a in d.get("adjustments", ()))
    return SubmissionResult(**{**d, "checks": checks, "models": models, "adjustments": adjustments})
