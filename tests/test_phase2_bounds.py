"""Phase 2 is bounded: a model's cost is read from its config and refused above a multiple
of the reference's before anything is built, and a check session that dies on one student
costs only that student (issue 12, item 6)."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest

keras = pytest.importorskip("keras")
from keras import layers  # noqa: E402

from grader.check import artifacts  # noqa: E402
from grader.check.model_budget import Budget, TooCostly, estimate  # noqa: E402
from grader.pipeline import GradeRequest, grade  # noqa: E402
from grader.report.results import score  # noqa: E402

REFERENCE = Path(__file__).resolve().parent.parent / "reference" / "mnist"
KNOWN = Path(__file__).resolve().parent / "known_answers"


def config_of(model) -> dict:
    return json.loads(json.dumps(keras.saving.serialize_keras_object(model)))


@pytest.mark.parametrize(
    "build",
    [
        lambda: keras.Sequential([keras.Input((784,)), layers.Dense(512, activation="relu"),
                                  layers.Dropout(0.2), layers.Dense(10)]),
        lambda: keras.Sequential([keras.Input((28, 28, 1)), layers.Conv2D(32, 3),
                                  layers.MaxPooling2D(2), layers.Conv2D(64, (5, 3), strides=2,
                                  padding="same"), layers.BatchNormalization(), layers.Flatten(),
                                  layers.Dense(10)]),
        lambda: keras.Sequential([keras.Input((28, 28)), layers.Flatten(), layers.Dense(128),
                                  layers.LayerNormalization(), layers.Dense(10, use_bias=False)]),
        lambda: keras.Sequential([layers.Dense(64, input_shape=(784,)), layers.Dense(10)]),
    ],
    ids=["mlp-dropout", "cnn-strided-bn", "flatten-layernorm", "input-shape-kwarg"],
)  # fmt: skip
def test_estimated_parameters_are_exact(build):
    """Does the estimate from the config alone give Keras's own parameter count?"""
    model = build()
    assert estimate(config_of(model)).params == model.count_params()


def test_a_costly_model_is_refused_before_it_is_built(tmp_path):
    """Is a stack of ten Conv2D(256) (50 KB of zero weights on disk would do) refused from its
    config, in well under a second, with the reason?"""
    reference = keras.Sequential(
        [keras.Input((28, 28, 1)), layers.Conv2D(32, 3, padding="same"), layers.Flatten(),
         layers.Dense(10)]
    )  # fmt: skip
    budget = Budget.relative_to(estimate(config_of(reference)))
    costly = config_of(
        keras.Sequential([keras.Input((28, 28, 1))]
                         + [layers.Conv2D(256, 3, padding="same") for _ in range(10)])
    )  # fmt: skip
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "m.json").write_text(json.dumps(costly))
    started = time.monotonic()
    with pytest.raises(TooCostly, match="parameters; the grader checks models of at most"):
        budget.check(estimate(costly))
    with pytest.raises(artifacts.ArtifactError, match="the grader checks models of at most"):
        artifacts.rebuild_model(
            tmp_path, {"config": "models/m.json", "weights": "models/none.npz"}, budget
        )
    assert time.monotonic() - started < 1.0  # nothing was allocated


CRASH_CHECK = '''
import os
import signal

import pytest


@pytest.mark.check(points=1, title="Crash probe (test only)")
def test_crash_probe(student):
    """Kills the whole check session on one student, as an out-of-memory kill would."""
    if student.id == "victim":
        os.kill(os.getpid(), signal.SIGKILL)
'''


@pytest.mark.slow
def test_a_session_that_dies_costs_only_the_student_it_died_on(tmp_path):
    """Does a check session killed while checking one student keep the students before it,
    give that one a clear reason, and check the students after it in a new session?"""
    assignment = tmp_path / "crashy"
    shutil.copytree(REFERENCE, assignment)
    training = assignment / "checks" / "test_training.py"
    training.write_text(training.read_text() + CRASH_CHECK)
    submissions = tmp_path / "class"
    submissions.mkdir()
    for sid in ("alice", "victim", "zoe"):
        shutil.copytree(KNOWN / "reference_copy", submissions / sid)
    outcome = grade(
        GradeRequest(
            submissions=sorted(submissions.iterdir()), out=tmp_path / "out", budget="quick",
            workers=2, assignment=str(assignment),
        )
    )  # fmt: skip
    results = {r.id: r for r in outcome.results}
    assert score(results["alice"]) == score(results["zoe"]) == 101
    victim = results["victim"]
    assert score(victim) == 0
    assert all("the grader's check process died while checking this submission" in c.feedback
               and "killed by SIGKILL" in c.feedback for c in victim.checks)  # fmt: skip
    assert len(victim.checks) == len(results["alice"].checks) == 23
