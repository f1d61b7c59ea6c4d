"""Do the grader's fast measurements of a trained model agree with Keras's own?

Phase 2 calls rebuilt models eagerly (`grader.check.checking.infer`) and measures the evaluate
cross-check from that forward pass, falling back to `compile` + `evaluate` only where the
two could differ. These tests hold the fast path to what `predict` and `evaluate` say, on
the reference's trained models (the `quick` budget, from the reference cache).
"""

from __future__ import annotations

import json
import re
import shutil

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from grader.check import checking  # noqa: E402
from grader.check.checking import CheckFailure, RunView, infer  # noqa: E402
from grader.check.keras_checks import _quick_evaluate, check_evaluate, check_save_load  # noqa: E402


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> RunView:
    from mnist import dataset_label, load_mnist

    from grader.config import find_assignment
    from grader.run.local import run_reference

    config = find_assignment("mnist")
    record = run_reference(
        config,
        load_mnist("bundled"),
        config.budget("quick"),
        dataset_label("bundled"),
        tmp_path_factory.mktemp("work"),
    )
    return RunView(
        id="reference", status=record.status, detail="", out_dir=record.out_dir, plan=config.plan
    )


@pytest.mark.full  # 20 s (two reference runs rebuilt); the gate's checks use infer throughout
@pytest.mark.parametrize("kind", ["mlp", "cnn"])
def test_infer_matches_predict(reference, kind):
    """Does the eager call give predict's outputs (to float rounding) and the same classes,
    over several batches and a ragged last one?"""
    model = reference.model(kind, "trained")
    x = reference.test_inputs(kind)[:600]
    fast = infer(model, x, batch_size=256)
    slow = np.asarray(model.predict(x, verbose=0, batch_size=256))
    assert fast.shape == slow.shape == (600, 10)
    assert np.abs(fast - slow).max() < 1e-5
    assert (fast.argmax(axis=1) == slow.argmax(axis=1)).all()


def test_infer_casts_like_predict(reference):
    """Are float64 and uint8 inputs (unscaled pixels) cast to float32 as predict casts them?"""
    model = reference.model("mlp", "trained")
    x = reference.test_inputs("mlp")[:40]
    assert np.array_equal(infer(model, x.astype(np.float64)), infer(model, x))
    pixels = (x * 255).round().astype(np.uint8)
    slow = np.asarray(model.predict(pixels, verbose=0))
    assert np.abs(infer(model, pixels) - slow).max() < 1e-5


def test_infer_wrong_shape_raises(reference):
    """Does a model fed the wrong shape raise (the check turns it into feedback)?"""
    model = reference.model("mlp", "trained")
    with pytest.raises(ValueError):
        infer(model, reference.test_inputs("cnn")[:8])


@pytest.mark.parametrize("kind", ["mlp", "cnn"])
def test_quick_evaluate_matches_keras(reference, kind):
    """Is the eager (loss, accuracy) the one Keras's evaluate reports for the same model?"""
    facts = reference.model_facts(kind)
    data = reference.artifacts.arrays(facts["eval_data"])
    model = reference.model(kind, "trained")
    loss_fn = keras.losses.CategoricalCrossentropy()
    quick_loss, quick_acc = _quick_evaluate(model, data["x"], data["y"], loss_fn)
    model.compile(optimizer="sgd", loss="categorical_crossentropy", metrics=["accuracy"])
    loss, accuracy = model.evaluate(data["x"], data["y"], verbose=0)
    assert quick_acc == pytest.approx(accuracy, abs=0.5 / len(data["y"]))
    assert quick_loss == pytest.approx(loss, rel=1e-4, abs=1e-5)


def test_quick_evaluate_defers_to_keras(reference):
    """Labels that are not one-hot: no fast answer, so Keras's evaluate decides."""
    facts = reference.model_facts("mlp")
    data = reference.artifacts.arrays(facts["eval_data"])
    model = reference.model("mlp", "trained")
    labels = data["y"].argmax(axis=1)
    loss_fn = keras.losses.CategoricalCrossentropy()
    assert _quick_evaluate(model, data["x"], labels, loss_fn) is None


# ---- the checks built on them, on a copy of the reference's run with one thing changed ----
def _edited_run(reference: RunView, tmp_path, edit) -> RunView:
    """A copy of the reference's artifacts, with `edit(out_dir, manifest)` applied."""
    out = tmp_path / "out"
    shutil.copytree(reference.out_dir, out)
    manifest = json.loads((out / "manifest.json").read_text())
    edit(out, manifest)
    (out / "manifest.json").write_text(json.dumps(manifest))
    return RunView(id="student", status="ok", detail="", out_dir=out, plan=reference.plan)


def _with_evaluate(reference, tmp_path, transform) -> RunView:
    def edit(out, manifest):
        record = manifest["calls"]["evaluate:mlp"]
        record["result"] = transform(*record["result"])

    return _edited_run(reference, tmp_path, edit)


def test_evaluate_check_passes_true_numbers(reference, tmp_path):
    """The numbers the reference's evaluate() returned pass (the fast path agrees)."""
    check_evaluate(_with_evaluate(reference, tmp_path, lambda loss, acc: [loss, acc]), "mlp")


@pytest.mark.parametrize(
    ("transform", "message"),
    [
        (lambda loss, acc: [acc, loss], "returned (accuracy, loss)"),
        (lambda loss, acc: [loss, acc - 0.1], "evaluate() says accuracy"),
        (lambda loss, acc: [loss * 2 + 0.1, acc], "evaluate() says loss"),
        (lambda loss, acc: [loss], "two numbers"),
    ],
    ids=["swapped", "accuracy-off", "loss-off", "one-number"],
)
def test_evaluate_check_fails_wrong_numbers(reference, tmp_path, transform, message):
    """Wrong numbers fail with the reason, after Keras's own evaluate confirmed them wrong."""
    with pytest.raises(CheckFailure, match=re.escape(message)):
        check_evaluate(_with_evaluate(reference, tmp_path, transform), "mlp")


def test_save_load_check_explains_unusable_inputs(reference, tmp_path, monkeypatch):
    """Test inputs the trained MLP cannot take (CNN-shaped): a failed check with the reason,
    not an error of the grader."""

    def edit(out, manifest):
        facts = manifest["models"]
        shutil.copyfile(out / facts["cnn"]["test_inputs"], out / facts["mlp"]["test_inputs"])

    student = _edited_run(reference, tmp_path, edit)
    monkeypatch.setattr(checking, "EXAMPLES", "images")  # as the session sets it for MNIST
    with pytest.raises(CheckFailure, match="cannot predict your preprocessed test images"):
        check_save_load(student, "mlp")
    check_save_load(_edited_run(reference, tmp_path / "same", lambda out, m: None), "cnn")
