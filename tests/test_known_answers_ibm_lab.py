"""Does the grader give each known submission of the IBM lab (`reference/ibm_lab/`, the second
assignment) exactly the score and feedback it deserves?

Every case under tests/known_answers_ibm_lab/ is the lab's reference solution with ONE
realistic student mistake (or the reference itself, or the lab's own code as a student ports
it). All cases are graded in a single `grade()` call with the `quick` budget (1,000 training
images, 2 epochs, batch 32, validation split 0.1), which the grader seeds. The rules are those
of tests/test_known_answers.py: nothing pins a figure that training produced; an accuracy check
whose outcome depends on the CPU family is listed under `may_fail`, with a score range.

The lab saves its model in the legacy HDF5 format (`model.save('classification_model.h5')`), so
the save/load check requires HDF5: a model that round-trips in Keras's native `.keras` format
instead earns half of that check, with a message saying that the lab asks for `.h5`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from conftest import full_only, selected_cases

pytest.importorskip("keras")

from grader.pipeline import GradeRequest, grade  # noqa: E402
from grader.report.results import SubmissionResult, max_score, score  # noqa: E402

KNOWN_ANSWERS = Path(__file__).resolve().parent / "known_answers_ibm_lab"

PREPROCESSING = ("test_flatten_pixels", "test_flatten_pixels_test_images",
                 "test_normalize_pixels", "test_normalize_pixels_test_images",
                 "test_one_hot_encode")  # fmt: skip
MODEL = ("test_dnn_input_shape", "test_dnn_layers", "test_dnn_output_shapes",
         "test_dnn_parameters", "test_dnn_softmax_output", "test_dnn_compile")  # fmt: skip
TRAINING = ("test_train_returns_history", "test_train_honours_budget", "test_evaluate",
            "test_save_load_hdf5", "test_dnn_test_accuracy")  # fmt: skip
ALL_CHECKS = frozenset(PREPROCESSING + MODEL + TRAINING)
LAB_ASKS_FOR_H5 = "the lab asks for the HDF5 format (.h5)"


@dataclass(frozen=True)
class Expected:
    """What one case must get: total score (exact, or an inclusive range), failed checks
    (anything short of full marks) with a phrase of their feedback, and the points of checks
    that earn part of theirs."""

    score: float | tuple[float, float]
    feedback: dict[str, str] = field(default_factory=dict)
    may_fail: dict[str, str] = field(default_factory=dict)
    """Checks whose outcome depends on training: they may pass or fail (with the phrase)."""
    partial: dict[str, float] = field(default_factory=dict)
    """Checks that earn exactly these points (neither all nor none of theirs)."""

    @property
    def failed(self) -> frozenset[str]:
        return frozenset(self.feedback)


CASES: dict[str, Expected] = {
    # The reference itself: every check passes.
    "reference_copy": Expected(100),
    # The lab's own code as a student ports it: `input_shape=` on the first Dense (Keras 3
    # warns), single quotes, `scores[0], scores[1]` (NumPy floats), load_model imported from
    # keras.models: full marks, and its pipeline trains exactly like the reference's.
    "lab_port": Expected(100),
    # save() writes Keras's native format and moves it to the .h5 path it is given; load()
    # reads it back through a .keras copy. The round trip works, the format is not the lab's:
    # half of the save/load check, saying why.
    "keras_zip_renamed": Expected(
        95,
        {"test_save_load_hdf5": LAB_ASKS_FOR_H5},
        partial={"test_save_load_hdf5": 5},
    ),
    # save() and load() both use `<name>.keras` instead of the .h5 path they are given (Keras 3
    # recommends .keras): the runner keeps the file written beside the path, the round trip
    # works, the format is not the lab's: half of the save/load check, saying why.
    "keras_only": Expected(
        95,
        {"test_save_load_hdf5": LAB_ASKS_FOR_H5},
        partial={"test_save_load_hdf5": 5},
    ),
    # normalize_pixels() forgets / 255: its two checks, with the hint. Training on 0..255
    # pixels costs accuracy, too close to the partial band's edges to pin: a range.
    "no_scaling": Expected(
        (63, 93),
        {
            "test_normalize_pixels": "Divide the pixel values by 255",
            "test_normalize_pixels_test_images": "Divide the pixel values by 255",
        },
        may_fail={"test_dnn_test_accuracy": "the reference reaches"},
    ),
    # / 255 in flatten_pixels() and none in normalize_pixels(): the pipeline is the lab's, only
    # the step that scales is not. flatten_pixels()'s two checks; normalize_pixels() passes,
    # since its output is the lab's normalised pixels.
    "scaled_in_flatten": Expected(
        93,
        {
            "test_flatten_pixels": "already divides the pixels by 255",
            "test_flatten_pixels_test_images": "already divides the pixels by 255",
        },
    ),
    # Dense(128) as the second hidden layer instead of the lab's 100: output shapes and
    # parameter counts (types and activations are right); the accuracy is the model's own.
    "units_128": Expected(
        (61, 91),
        {
            "test_dnn_output_shapes": "output shape is (128,); expected (100,)",
            "test_dnn_parameters": "has 100,480 parameters; the reference's Dense(100, relu)",
        },
        may_fail={"test_dnn_test_accuracy": "the reference reaches"},
    ),
}


REPRESENTATIVE = ("reference_copy", "lab_port", "keras_only")
"""The cases CI's gate (`make test`) grades: the reference, a port of the lab's own code, and
the `.keras`-only save's clear partial (its own test reads it); `make test-all` grades every
case."""


@pytest.fixture(scope="module")
def results(request, tmp_path_factory) -> dict[str, SubmissionResult]:
    cases = [KNOWN_ANSWERS / name for name in selected_cases(request) or CASES]
    outcome = grade(
        GradeRequest(
            submissions=cases,
            out=tmp_path_factory.mktemp("known_answers_ibm_lab"),
            assignment="ibm_lab",
            budget="quick",
            workers=2,
        )
    )
    return {r.id: r for r in outcome.results}


def test_cases_on_disk_match_the_table():
    on_disk = {p.name for p in KNOWN_ANSWERS.iterdir() if p.is_dir() and p.name != "__pycache__"}
    assert on_disk == set(CASES)


def test_no_expectation_pins_a_measured_figure():
    for case, expected in CASES.items():
        for phrase in {**expected.feedback, **expected.may_fail}.values():
            assert not re.search(r"\d+\.\d+%", phrase), (case, phrase)
        if expected.may_fail:
            assert isinstance(expected.score, tuple), f"{case}: a score that training decides"


@pytest.mark.parametrize("case", full_only(list(CASES), REPRESENTATIVE), ids=list(CASES))
def test_known_answer(results, case):
    expected = CASES[case]
    result = results[case]
    assert result.status == "ok", result.status_detail
    assert result.assignment == "ibm_lab"
    checks = {c.name: c for c in result.checks}
    assert set(checks) == ALL_CHECKS
    assert max_score(result) == 100

    total = score(result)
    failed = {c.name for c in result.checks if c.score < c.max_score}

    assert expected.failed <= failed <= expected.failed | set(expected.may_fail)
    if isinstance(expected.score, tuple):
        low, high = expected.score
        assert low <= total <= high
    else:
        assert total == pytest.approx(expected.score)
    for name, phrase in {**expected.may_fail, **expected.feedback}.items():
        if name in failed:
            assert phrase in checks[name].feedback, f"{name}: {checks[name].feedback}"
    for name, points in expected.partial.items():
        assert checks[name].score == pytest.approx(points), checks[name].feedback
    for check in result.checks:  # every case attempted every function
        assert "NotImplementedError" not in check.feedback, check.name


def test_keras_only_saver_gets_half_the_save_check(results):
    """Does a save() that writes <name>.keras beside the .h5 path it was given (Keras 3's
    habit) round-trip, and earn half the check with the lab's reason?"""
    check = next(c for c in results["keras_only"].checks if c.name == "test_save_load_hdf5")
    assert check.score == pytest.approx(5)
    assert LAB_ASKS_FOR_H5 in check.feedback
