"""The check server (grader/check/server.py): phase 2 one student at a time in a long-lived
trusted process, as the Dask workers run it (issue 18, item 2).

Its results must be the pytest session's, check by check; it keeps its state between
sessions (the second student's checks do not import TensorFlow or rebuild the reference
again); and if it dies on a student, the caller is told (`ServerDied`) and the next call gets
a fresh server.
"""

from __future__ import annotations

import json
import shutil
import threading
import time
from pathlib import Path

import pytest
from mnist import MNIST

from grader.check.server import CheckServer, ServerDied
from grader.check.session import check_in_server
from grader.pipeline import GradeRequest, grade
from grader.run.local import RunRecord

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "reference" / "mnist"


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> Path:
    """A class of two graded locally (one pytest session): the reference's code, and a copy
    whose MLP has 256 units."""
    root = tmp_path_factory.mktemp("server")
    klass = root / "class"
    for sid in ("ada", "bob"):
        (klass / sid).mkdir(parents=True)
        for module in MNIST.modules:
            shutil.copyfile(REFERENCE / f"{module}.py", klass / sid / f"{module}.py")
    models = klass / "bob" / "models.py"
    models.write_text(models.read_text().replace("layers.Dense(512,", "layers.Dense(256,", 1))
    out = root / "OUT"
    grade(GradeRequest(sorted(klass.iterdir()), out, "mnist", budget="quick", reports=False))
    return out


def _record(out: Path, sid: str) -> RunRecord:
    data = json.loads((out / ".work" / "runs" / sid / "record.json").read_text())
    data.pop("reference")
    return RunRecord(**{**data, "out_dir": Path(data["out_dir"]), "notes": tuple(data["notes"])})


def _reference(out: Path) -> dict:
    plan = json.loads((out / ".work" / "phase2" / "phase2-plan.json").read_text())
    return plan["reference"]


def _without_seconds(checked: dict) -> dict:
    return {
        "checks": [{k: v for k, v in c.items() if k != "seconds"} for c in checked["checks"]],
        "models": checked["models"],
    }


def test_the_server_gives_the_sessions_results_and_keeps_its_state(graded, tmp_path):
    session = json.loads((graded / ".work" / "phase2" / "phase2-results.json").read_text())
    server = CheckServer(tmp_path / "server", {"PYTHONHASHSEED": str(MNIST.seed)})
    try:
        seconds = []
        for i, sid in enumerate(["ada", "bob", "ada", "bob"]):
            started = time.monotonic()
            got = check_in_server(server, MNIST.root, "quick", "bundled", _reference(graded),
                                  _record(graded, sid), tmp_path / f"w{i}")  # fmt: skip
            seconds.append(time.monotonic() - started)
            assert _without_seconds(got) == _without_seconds(session["submissions"][sid]), sid
        pid = server._proc.pid  # noqa: SLF001
    finally:
        server.close()
    scores = {sid: sum(c["score"] for c in session["submissions"][sid]["checks"]) for sid in
              ("ada", "bob")}  # fmt: skip
    assert scores["ada"] > scores["bob"]  # the comparison above is not vacuous
    # One process served all four; after the first (TensorFlow's import, the reference's
    # rebuild), a student costs a fraction of it.
    assert pid and max(seconds[1:]) < seconds[0] / 2, seconds


def test_a_server_that_dies_on_a_student_is_replaced(graded, tmp_path):
    server = CheckServer(tmp_path / "server", {"PYTHONHASHSEED": str(MNIST.seed)})
    plan = tmp_path / "w0" / "phase2-plan.json"

    def kill_when_checking():
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            proc = server._proc  # noqa: SLF001
            if proc is not None and plan.exists():
                time.sleep(0.3)  # inside the session now
                proc.kill()
                return
            time.sleep(0.01)

    killer = threading.Thread(target=kill_when_checking, daemon=True)
    killer.start()
    try:
        with pytest.raises(ServerDied, match="the check process died"):
            check_in_server(server, MNIST.root, "quick", "bundled", _reference(graded),
                            _record(graded, "ada"), tmp_path / "w0")  # fmt: skip
        killer.join()
        got = check_in_server(server, MNIST.root, "quick", "bundled", _reference(graded),
                              _record(graded, "ada"), tmp_path / "w1")  # fmt: skip
    finally:
        server.close()
    session = json.loads((graded / ".work" / "phase2" / "phase2-results.json").read_text())
    assert _without_seconds(got) == _without_seconds(session["submissions"]["ada"])
