"""Does grading the same submissions twice give the very same grades, accuracies and feedback?

Two full grading runs (phase 1 in the sandbox, phase 2, exports) of a student who passes some
checks and fails others (`units_256`: a 256-unit MLP) into two fresh OUT directories with
force=True, on the `quick` budget: about 30 s. The reference's run comes from the shared cache
in both, so what is compared is the student's training and the checks.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from grader.pipeline import GradeRequest, grade
from grader.report.results import max_score, score

pytestmark = [pytest.mark.slow, pytest.mark.full]
"""Two gradings of a class (44 s): in the complete tier; the gate's determinism is
test_reference's (the reference's runs identical) and the known answers' exact scores."""

KNOWN = Path(__file__).resolve().parent / "known_answers"
SUBMISSIONS = (KNOWN / "units_256",)
SCHEMA = Path(__file__).resolve().parent.parent / "grader" / "schemas" / "results.schema.json"


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    """The same submissions graded twice, each time into a fresh OUT."""
    outcomes = []
    for attempt in ("first", "second"):
        out = tmp_path_factory.mktemp(attempt)
        request = GradeRequest(
            assignment="mnist", submissions=list(SUBMISSIONS), out=out, budget="quick", workers=2,
            force=True, reports=False,
        )  # fmt: skip
        outcomes.append(grade(request))
    return outcomes


def test_both_runs_graded_everyone(two_runs):
    """Did both runs grade (not reuse) every submission, and did each run finish ok?"""
    for outcome in two_runs:
        assert outcome.graded == ("units_256",)
        assert [r.status for r in outcome.results] == ["ok"]


def test_identical_scores(two_runs):
    """Are the total and per-check scores identical in both runs?"""
    first, second = two_runs
    for a, b in zip(first.results, second.results, strict=True):
        assert a.id == b.id
        assert 0 < score(a) == score(b) < max_score(a)  # some checks pass, some fail
        assert [(c.name, c.score) for c in a.checks] == [(c.name, c.score) for c in b.checks]


def test_identical_accuracies(two_runs):
    """Are the trained models' test accuracies and training curves identical in both runs?"""
    first, second = two_runs
    for a, b in zip(first.results, second.results, strict=True):
        for ma, mb in zip(a.models, b.models, strict=True):
            assert ma.name == mb.name
            assert ma.test_accuracy is not None
            assert (ma.test_accuracy, ma.reference_accuracy) == (
                mb.test_accuracy,
                mb.reference_accuracy,
            )
            assert ma.history == mb.history
            assert ma.confusion == mb.confusion
            assert ma.misclassified == mb.misclassified


def test_identical_feedback(two_runs):
    """Is every check's feedback (and layer table) word for word the same in both runs?"""
    first, second = two_runs
    for a, b in zip(first.results, second.results, strict=True):
        assert [(c.name, c.feedback, c.table) for c in a.checks] == [
            (c.name, c.feedback, c.table) for c in b.checks
        ]
    units = {c.name: c for c in first.results[0].checks}
    assert "200,960 parameters; the reference's Dense(512, relu) has 401,920" in (
        units["test_mlp_parameters"].feedback
    )


def _stable(results_json: dict) -> dict:
    """A results.json without what is allowed to change between runs: times."""
    data = json.loads(json.dumps(results_json))
    data.pop("execution_time")
    for key in ("timings", "graded_at"):
        data["extra_data"].pop(key)
    return data


def test_identical_exports(two_runs):
    """Are results.json (times aside) and grades.csv byte-for-byte the same in both runs?"""
    first, second = two_runs
    for sid in ("units_256",):
        a = json.loads((first.out / sid / "results.json").read_text())
        b = json.loads((second.out / sid / "results.json").read_text())
        assert _stable(a) == _stable(b)
    assert (first.out / "grades.csv").read_bytes() == (second.out / "grades.csv").read_bytes()


def test_real_results_json_validates(two_runs):
    """Does a results.json written by a real grading run validate against the schema?"""
    jsonschema = pytest.importorskip("jsonschema")
    validator = jsonschema.Draft202012Validator(json.loads(SCHEMA.read_text()))
    for sid in ("units_256",):
        exported = json.loads((two_runs[0].out / sid / "results.json").read_text())
        assert [e.message for e in validator.iter_errors(exported)] == []
