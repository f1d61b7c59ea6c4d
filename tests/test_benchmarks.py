"""Do the benchmarks (benchmarks/, not timed tests) still run end to end?

A smoke run with a tiny budget (200 training images, one epoch): every measurement of
benchmarks/run.py once, on a class of three, plus the class generator's promised mix. It
checks that the numbers exist and the gradings succeeded, not what they are.
About a minute on 2 cores.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

from classroom import BROKEN, VARIATIONS, make_class  # noqa: E402


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
