"""Points come only from facts the trusted side derives itself (issue 12, items 2 and 3).

`forged_manifest` trains with adam, no metric, three times the epochs, saves nothing, and
rewrites the runner's in-memory manifest from inside train()/save() so that every reported
fact looks right: the compile settings come from the Keras model file saved after the
build, the step count from the optimizer state saved with the trained weights, and the saved
file is opened by the grader, so each lie is ignored. `reference_thief` searches everything
the sandbox shows for the reference's models and preprocessed images: none are there.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("keras")

from grader.pipeline import GradeRequest, grade  # noqa: E402

HOSTILE = Path(__file__).resolve().parent / "hostile"


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    outcome = grade(
        GradeRequest(
            assignment="mnist",
            submissions=[HOSTILE / "forged_manifest", HOSTILE / "reference_thief"],
            out=tmp_path_factory.mktemp("hostile"), budget="quick", workers=2,
        )
    )  # fmt: skip
    return {r.id: {c.name: c for c in r.checks} for r in outcome.results}


@pytest.mark.slow
def test_a_forged_manifest_earns_nothing(results):
    checks = results["forged_manifest"]
    for kind in ("mlp", "cnn"):
        compile_check = checks[f"test_{kind}_compile"]
        assert not compile_check.passed
        assert "optimizer is Adam; expected RMSprop" in compile_check.feedback
        assert "no accuracy metric" in compile_check.feedback
    budget = checks["test_train_honours_budget"]
    assert not budget.passed and "trained for 9 epochs" in budget.feedback
    save = checks["test_save_load_roundtrip"]
    assert not save.passed
    assert "wrote nothing at the path" in save.feedback or "wrote no Keras model" in save.feedback


@pytest.mark.slow
def test_the_sandbox_shows_no_reference_output(results):
    checks = results["reference_thief"]
    for name in ("test_flatten_and_scale", "test_reshape_for_cnn"):
        assert not checks[name].passed
        assert "is nowhere to be seen" in checks[name].feedback
    for name in ("test_mlp_layers", "test_cnn_layers"):
        assert not checks[name].passed
        assert "no reference model to steal; found only: []" in checks[name].feedback
    assert checks["test_one_hot"].passed
