"""The reference trains beside the students (issue 18, item 1).

With a cold cache, the students' runs start once the reference's stand-ins are ready (a run of
its calls alone), not after its training; the checks wait for the reference's record. A
reference that fails in training still stops the grading with the clear message, and the
students' runs that had finished are kept: the rerun, with the reference fixed, reuses them.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
from mnist import MNIST

from grader.errors import GraderError
from grader.pipeline import GradeRequest, grade
from grader.report.results import score
from grader.run.local import reference_cache, same_inputs, stand_ins

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "reference" / "mnist"
MODULES = ("preprocessing", "models", "training")


def _class(root: Path) -> Path:
    """ada: the reference's code; crash: exits at import (its run ends in a second or two)."""
    (root / "ada").mkdir(parents=True)
    for module in MODULES:
        shutil.copyfile(REFERENCE / f"{module}.py", root / "ada" / f"{module}.py")
    (root / "crash.py").write_text("import os\n\nos._exit(3)\n")
    return root


class Events:
    """A Progress that keeps its messages."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def phase(self, name, total):
        self.lines.append(f"[{name}]")

    def advance(self, message):
        self.lines.append(message)

    def info(self, message):
        self.lines.append(message)

    def close(self):
        pass


def test_students_do_not_wait_for_the_reference_and_scores_match_a_warm_run(
    tmp_path, monkeypatch
):
    monkeypatch.setenv("KERAS_GRADER_CACHE", str(tmp_path / "cache"))
    klass = _class(tmp_path / "class")
    events = Events()
    cold = grade(
        GradeRequest(sorted(klass.iterdir()), tmp_path / "cold", "mnist", budget="quick"),
        progress=events,
    )
    assert any("trains beside them" in line for line in events.lines), events.lines
    assert any(line.startswith("reference ok (") and "beside" in line for line in events.lines)
    # The student's sandbox started before the reference's run ended: its job's plan was
    # written before the reference's record was put in the cache.
    (entry,) = [p for p in reference_cache().iterdir() if (p / "record.json").exists()]
    reference_ended = (entry / "record.json").stat().st_mtime
    student_started = (tmp_path / "cold" / ".work" / "runs" / "ada" / "job" / "plan.json")
    assert student_started.stat().st_mtime < reference_ended - 3
    # The stand-ins of the calls-only run are those of the whole run.
    assert same_inputs(entry / "inputs.npz", tmp_path / "cold" / ".work" / "inputs.npz")
    values, shapes = stand_ins(MNIST)
    assert values and shapes
    # A warm grading (the reference from the cache, as before) gives the same scores.
    warm = grade(GradeRequest(sorted(klass.iterdir()), tmp_path / "warm", "mnist", budget="quick"))
    scores = {r.id: (r.status, score(r), [c.score for c in r.checks]) for r in cold.results}
    assert scores == {
        r.id: (r.status, score(r), [c.score for c in r.checks]) for r in warm.results
    }
    assert scores["ada"][1] == 100 and scores["crash"][0] == "crash"


def test_a_reference_failing_in_training_stops_the_grading_and_keeps_finished_runs(
    tmp_path, monkeypatch
):
    monkeypatch.setenv("KERAS_GRADER_CACHE", str(tmp_path / "cache"))
    broken = tmp_path / "mnist_broken"
    shutil.copytree(REFERENCE, broken, ignore=shutil.ignore_patterns("__pycache__"))
    training = (broken / "training.py").read_text()
    assert "def train(" in training
    # The MLP trains; the CNN's training fails, 20 s later: well after the crash submission
    # (which starts once the calls-only run has made the inputs) has ended.
    fails = training.replace(
        "def train(",
        "def train(model, *args, **kwargs):\n"
        "    if any('conv' in layer.name for layer in model.layers):\n"
        "        import time\n"
        "        time.sleep(20)\n"
        "        raise RuntimeError('the reference broke on purpose')\n"
        "    return _train(model, *args, **kwargs)\n\n\n"
        "def _train(",
        1,
    )
    (broken / "training.py").write_text(fails)
    klass = _class(tmp_path / "class")
    slow = klass / "slow"  # still training when the reference fails
    shutil.copytree(klass / "ada", slow)
    code = (slow / "training.py").read_text()
    (slow / "training.py").write_text(code.replace(
        "def train(",
        "def train(*args, **kwargs):\n    import time\n    time.sleep(600)\n\n\ndef _train(",
        1,
    ))  # fmt: skip
    out = tmp_path / "out"
    request = GradeRequest(sorted(klass.iterdir()), out, str(broken), budget="quick")
    started = time.monotonic()
    with pytest.raises(GraderError, match=r"the reference solution's train:cnn did not work") as e:
        grade(request)
    assert time.monotonic() - started < 300  # the slow student was stopped, not waited for
    assert "students' finished runs are kept" in str(e.value)
    runs = out / ".work" / "runs"
    stored = json.loads((runs / "crash" / "record.json").read_text())
    assert stored["status"] == "crash"
    assert not (runs / "slow" / "record.json").exists()  # stopped when the reference failed
    assert not (out / "grades.csv").exists()
    # The reference fixed: its stand-ins are the same, so the finished run is reused.
    (broken / "training.py").write_text(training)
    events = Events()
    again = grade(
        GradeRequest([klass / "ada", klass / "crash.py"], out, str(broken), budget="quick"),
        progress=events,
    )
    assert "crash: crash (run reused)" in events.lines
    assert {r.id: score(r) for r in again.results}["ada"] == 100


def test_same_inputs_compares_every_array(tmp_path):
    a, b = tmp_path / "a.npz", tmp_path / "b.npz"
    np.savez(a, x=np.arange(4), y=np.eye(2))
    np.savez(b, x=np.arange(4), y=np.eye(2))
    assert same_inputs(a, b)
    np.savez(b, x=np.arange(4), y=np.eye(2) * 1.0001)
    assert not same_inputs(a, b)
    np.savez(b, x=np.arange(4))
    assert not same_inputs(a, b)


def test_a_reference_failing_before_training_says_why_not_interrupted(tmp_path, monkeypatch):
    """Both runs of the reference (its calls alone, and the whole run beside it) fail on the
    same step; whichever fails first stops the other, and the message is the step's, never
    the other run's "interrupted"."""
    monkeypatch.setenv("KERAS_GRADER_CACHE", str(tmp_path / "cache"))
    broken = tmp_path / "mnist_broken"
    shutil.copytree(REFERENCE, broken, ignore=shutil.ignore_patterns("__pycache__"))
    code = (broken / "preprocessing.py").read_text()
    assert "def one_hot(" in code
    raising = "def one_hot(*args, **kwargs):\n    raise ValueError('broken')\n\n\n"
    code = code.replace("def one_hot(", raising + "def _one_hot(", 1)
    (broken / "preprocessing.py").write_text(code)
    klass = _class(tmp_path / "class")
    request = GradeRequest(sorted(klass.iterdir()), tmp_path / "out", str(broken), budget="quick")
    with pytest.raises(GraderError, match=r"one_hot did not work: error \(ValueError: broken") as e:
        grade(request)
    assert "interrupted" not in str(e.value)
    assert not (tmp_path / "out" / ".work" / "runs").exists()  # no student ran
