"""Do the benchmarks (benchmarks/, not timed tests) still run end to end?

A smoke run with a tiny budget (200 training images, one epoch): every measurement of
benchmarks/run.py once, on a class of three, plus the class generator's promised mix. It
checks that the numbers exist and the gradings succeeded, not what they are.
About a minute on 2 cores.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

from classroom import BROKEN, VARIATIONS, make_class  # noqa: E402
from nbgrader_course import TESTS, source_notebook, student_notebook, students  # noqa: E402


def test_the_generated_class_has_the_promised_mix(tmp_path):
    """Are the 30 submissions varied copies, stubs and broken ones, in every form, and does
    the grader's loader refuse exactly the one meant to be refused?"""
    from mnist import prepare

    from grader.run.submission import SubmissionError

    entries = make_class(tmp_path / "class", 30)
    names = [p.name for p in entries]
    assert len(set(names)) == 30
    assert {p.suffix for p in entries} == {"", ".py", ".ipynb", ".zip"}
    for variation in [*VARIATIONS, *BROKEN, "stubs", "models_done"]:
        assert any(variation in n for n in names), variation
    refused = []
    for entry in entries:
        try:
            prepare(entry, tmp_path / "prepared" / entry.name)
        except SubmissionError:
            refused.append(entry.name)
    assert refused == ["s28_not_a_zip.zip"]


@pytest.mark.full  # a measurement (benchmarks/)
def test_benchmarks_smoke_run(tmp_path):
    """Does `benchmarks/run.py` measure (a) and (b) and print its table? The smallest run
    that goes through its code (tiny budget, a class of 2, one repeat; (c) is (b) again with
    --workers 1, and the bare sum is the bare script of (a) per member): about a minute, not
    the eight that measuring everything took in CI."""
    pytest.importorskip("keras")
    out = tmp_path / "bench.json"
    proc = subprocess.run(
        [sys.executable, str(BENCHMARKS / "run.py"), "--budget", "tiny", "--repeats", "1",
         "--class-size", "2", "--only", "a,b", "--no-bare-sum", "--json", str(out),
         "--keep", str(tmp_path / "work")],
        capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads(out.read_text())
    a, b = results["a"], results["b"]
    assert a["bare"] > 0 and a["warm"] > 0 and a["cold"] > 0
    assert a["rows"]["bare"][0]["out"]["predictions"]  # the bare script really predicted
    assert b["statuses"] == {"ok": 2}
    assert b["workers2"]["wall"] > 0 and "workers1" not in b and "bare_sum" not in b
    assert set(b["workers2"]["phases"]) >= {"reference", "run", "check", "report"}
    assert "| (a) bare reference script |" in proc.stdout


@pytest.mark.full  # a measurement (benchmarks/)
def test_reference_seeds_smoke_run(tmp_path):
    """Does `benchmarks/reference_seeds.py` train the reference per seed and report each run,
    the same accuracy for the same seed?"""
    pytest.importorskip("keras")
    out = tmp_path / "seeds.json"
    proc = subprocess.run(
        [sys.executable, str(BENCHMARKS / "reference_seeds.py"), "--budget", "quick",
         "--models", "mlp", "--seeds", "7", "7-8", "--json", str(out)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    runs = json.loads(out.read_text())
    assert [(r["model"], r["seed"]) for r in runs] == [("mlp", 7), ("mlp", 7), ("mlp", 8)]
    assert runs[0]["accuracy"] == runs[1]["accuracy"] > 0.5
    assert "mlp: min" in proc.stdout


@pytest.mark.parametrize("spelling", ["reference", "second"])
def test_vs_nbgrader_notebooks_give_the_grader_only_the_contract(spelling):
    """Does an exploring student's notebook of benchmarks/vs_nbgrader.py hand `grader grade`
    the contract's nine functions and none of its training runs (the exploratory cell, the
    set-up and the test cells), while nbgrader's tests carry the grading budget, 100 points?"""
    from grader.config import find_assignment
    from grader.run.submission import notebook_to_module

    config = find_assignment("mnist")
    budget = config.budgets["bundled"]
    released = source_notebook("bundled")
    tests = [c for c in released["cells"] if c["metadata"].get("nbgrader", {}).get("grade")]
    assert [c["metadata"]["nbgrader"]["grade_id"] for c in tests] == [t[0] for t in TESTS]
    assert sum(c["metadata"]["nbgrader"]["points"] for c in tests) == config.total_points
    training = {c["metadata"]["nbgrader"]["grade_id"]: c["source"] for c in tests}
    for model in ("mlp", "cnn"):
        spec = budget.models[model]
        assert f"[:{budget.train_samples}]" in training[f"test_{model}_training"]
        assert f"epochs={spec.epochs}," in training[f"test_{model}_training"]
        assert f"batch_size={spec.batch_size}," in training[f"test_{model}_training"]
        assert f"validation_split={spec.validation_split})" in training[f"test_{model}_training"]

    notebook = student_notebook(released, spelling, explore="cnn")
    assert len(notebook["cells"]) == len(released["cells"]) + 1
    notes: list[str] = []
    module = notebook_to_module(json.dumps(notebook).encode(), "s02_explore.ipynb", notes)
    tree = ast.parse(module)
    assert {n.name for n in tree.body if isinstance(n, ast.FunctionDef)} == set(config.functions)
    assert all(
        isinstance(n, ast.Import | ast.ImportFrom | ast.FunctionDef | ast.Try | ast.Assign)
        for n in tree.body
    ), module
    assert "history" not in module and "x_train" not in module and "np.load" not in module


def test_vs_nbgrader_class_is_half_exploring():
    """Does every other student of the benchmark explore, with both spellings among the clean
    and the exploring ones?"""
    class_ = students(10)
    assert len({sid for sid, _, _ in class_}) == 10
    assert sum(explores for _, _, explores in class_) == 5
    for explores in (False, True):
        assert {s for _, s, e in class_ if e == explores} == {"reference", "second"}


@pytest.mark.full  # a measurement (benchmarks/); installs nbgrader into a venv the first time
def test_vs_nbgrader_smoke_run(tmp_path):
    """Does `benchmarks/vs_nbgrader.py` build the nbgrader course, run `nbgrader autograde`
    and `grader grade` on the same three notebooks (budget quick: both spellings, one
    exploring), see full marks in both and
    print both times and their ratio? Needs PyPI the first time (nbgrader's venv, reused
    after: ~/.cache/keras-grader-bench); about 2 minutes on 2 cores."""
    pytest.importorskip("keras")
    pytest.importorskip("ipykernel")
    out = tmp_path / "vs.json"
    proc = subprocess.run(
        [sys.executable, str(BENCHMARKS / "vs_nbgrader.py"), "--n", "3", "--budget", "quick",
         "--json", str(out), "--keep", str(tmp_path / "work")],
        capture_output=True, text=True, timeout=1200,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    results = json.loads(out.read_text())
    for tool in ("nbgrader", "keras_grader"):
        assert results[tool]["full_marks"] and results[tool]["wall"] > 0
        assert sorted(results[tool]["scores"]) == ["s01_clean", "s02_explore", "s03_clean"]
    assert results["ratio"] > 0 and results["versions"]["nbgrader"].startswith("0.9.")
    assert "nbgrader / keras-grader wall time" in proc.stdout
