"""Tests of the `grader` command: help, exit codes, error lines, and real grading end to end.

Help, version and usage errors run in-process with click's CliRunner. Grading runs `grader` as
a subprocess on a small class with the `quick` budget, the way an instructor or CI runs it
(stdout is a pipe, not a terminal). The reference's run is cached once per test session.
"""

from __future__ import annotations

import ast
import csv
import io
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner

import grader.pipeline
from grader import __version__
from grader.cli import main
from grader.machine import cpu_family
from grader.pipeline import GradeOutcome
from grader.progress import PlainProgress, RichProgress, for_terminal
from grader.report.results import CheckResult, SubmissionResult

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "reference" / "mnist"
STUBS = ROOT / "assignments" / "mnist"
MODULES = ("preprocessing", "models", "training")
GRADER = Path(sys.executable).with_name("grader")
ANSI = "\x1b["


def check_titles(visibility: str) -> list[str]:
    """Titles of the checks in reference/mnist/checks with that visibility (read, not run)."""
    titles = []
    for file in sorted((REFERENCE / "checks").glob("test_*.py")):
        for node in ast.walk(ast.parse(file.read_text())):
            if not (isinstance(node, ast.Call) and ast.unparse(node.func) == "pytest.mark.check"):
                continue
            kw = {k.arg: ast.literal_eval(k.value) for k in node.keywords}
            if kw.get("visibility", "visible") == visibility:
                titles.append(kw["title"])
    return titles


HIDDEN = check_titles("hidden")
VISIBLE = check_titles("visible")


def make_class(root: Path) -> Path:
    """alice: the reference (full marks); bob: the reference's preprocessing and training with
    the stub models (partial); zero: the stubs (runs fine, scores 0); crash: exits at import."""
    root.mkdir(parents=True)
    for sid, sources in {
        "alice": {m: REFERENCE for m in MODULES},
        "bob": {"preprocessing": REFERENCE, "models": STUBS, "training": REFERENCE},
        "zero": {m: STUBS for m in MODULES},
    }.items():
        (root / sid).mkdir()
        for module, origin in sources.items():
            shutil.copyfile(origin / f"{module}.py", root / sid / f"{module}.py")
    (root / "crash.py").write_text("import os\n\nos._exit(3)\n")
    return root


def grader_env(tmp_path_factory) -> dict[str, str]:
    """The environment of a `grader` subprocess: the reference cache shared by this session."""
    cache = tmp_path_factory.getbasetemp() / "reference-cache"
    return {**os.environ, "KERAS_GRADER_CACHE": str(cache), "COLUMNS": "120"}


def run_grader(args, env, cwd, timeout=600) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(GRADER), *map(str, args)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def assert_one_line_error(proc: subprocess.CompletedProcess, *needles: str, code: int = 1) -> None:
    """Exit `code`, stderr is exactly `error: ...` and `hint: ...`, no traceback."""
    assert proc.returncode == code, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 2, proc.stderr
    assert lines[0].startswith("error: ") and lines[1].startswith("hint: "), proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    for needle in needles:
        assert needle in lines[0]


# --- in-process: help, version, usage errors ------------------------------------------------


@pytest.mark.parametrize("command", [None, *sorted(main.commands)], ids=lambda c: c or "grader")
def test_help_shows_an_example(command):
    """Does `--help` of the group and of every command show an example?"""
    args = [command, "--help"] if command else ["--help"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "Example" in result.output


def test_version():
    """Does `--version` print the grader's version?"""
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0
    assert __version__ in result.output


@pytest.mark.parametrize(
    "args",
    [
        ["grade", "{class}", "--out", "{tmp}/out", "--no-such-option"],
        ["grade"],
        ["grade", "{tmp}/does-not-exist", "--out", "{tmp}/out"],
        ["grade", "{class}"],
        ["grade", "{class}", "--out", "{tmp}/out", "--isolation", "none"],
        ["grade", "{class}", "--out", "{tmp}/out", "--workers", "0"],
        ["check"],
        ["check", "{tmp}/does-not-exist"],
        ["no-such-command"],
    ],
    ids=[
        "unknown-option",
        "missing-submissions",
        "nonexistent-path",
        "missing-out",
        "bad-isolation",
        "zero-workers",
        "check-missing-path",
        "check-nonexistent",
        "unknown-command",
    ],  # fmt: skip
)
def test_usage_errors_exit_2(args, tmp_path):
    """Is a wrong command line a usage error (exit 2) that writes nothing?"""
    (tmp_path / "class").mkdir()
    (tmp_path / "class" / "ann.py").write_text("")
    args = [a.format(tmp=tmp_path, **{"class": tmp_path / "class"}) for a in args]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, result.output
    assert "Usage:" in result.output
    assert not (tmp_path / "out").exists()


def test_assign_writes_the_stubs(tmp_path):
    """Does `grader assign --dest` write the student stubs, without the solution?"""
    dest = tmp_path / "student"
    result = CliRunner().invoke(main, ["assign", "--no-runs", "--dest", str(dest)])
    assert result.exit_code == 0, result.output
    for module in MODULES:
        stub = dest / f"{module}.py"
        assert f"wrote {stub}" in result.output
        text = stub.read_text()
        assert "NotImplementedError" in text
        assert "BEGIN SOLUTION" not in text
        ast.parse(text)
    assert list(dest.glob("*.ipynb")), "no notebook written"


def _result(sid: str, status: str, earned: float, detail: str = "") -> SubmissionResult:
    check = CheckResult(name="test_x", title="x", part="mlp", max_score=10, score=earned)
    return SubmissionResult(
        id=sid, assignment="mnist", status=status, status_detail=detail, checks=(check,)
    )


def test_summary_counts_failures_and_lists_their_reasons(tmp_path, monkeypatch):
    """Does `grade` show plain progress off a terminal, then a summary with the crash and
    timeout counts, mean and median, where the outputs are, and each failure's reason?"""
    (tmp_path / "class").mkdir()
    for sid in ("ann", "ben", "cat", "dan"):
        (tmp_path / "class" / f"{sid}.py").write_text("")
    out = tmp_path / "out"
    results = (
        _result("ann", "ok", 10),
        _result("ben", "ok", 4),
        _result("cat", "timeout", 0, "stopped after 600 s of wall-clock time"),
        _result("dan", "crash", 0, "exited with code 3 before finishing"),
    )

    def fake_grade(request, progress, render=None):
        assert isinstance(progress, PlainProgress)  # CliRunner's stdout is not a terminal
        assert [p.name for p in request.submissions] == ["ann.py", "ben.py", "cat.py", "dan.py"]
        assert render is not None
        progress.phase("run", 4)
        progress.advance("ann: ok (1.0 s)")
        return GradeOutcome(results, ("ann", "ben", "cat", "dan"), (), out, 12.0, {"run": 9.0})

    monkeypatch.setattr(grader.pipeline, "grade", fake_grade)
    result = CliRunner().invoke(main, ["grade", str(tmp_path / "class"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    text = result.output
    assert ANSI not in text
    assert "[run] 1/4 ann: ok (1.0 s)" in text
    assert re.search(r"students\W+4\b", text)
    assert re.search(r"mean score\W+3\.5 / 10\b", text)
    assert re.search(r"median score\W+2 / 10\b", text)
    assert re.search(r"timeout\W+1\b", text)
    assert re.search(r"crash\W+1\b", text)
    assert "2 submission(s) did not run cleanly" in text
    assert "cat: timeout: stopped after 600 s of wall-clock time" in text
    assert "dan: crash: exited with code 3 before finishing" in text
    assert str(out.resolve()) in text.replace("\n", "")


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_is_a_bar_on_a_terminal_and_lines_elsewhere():
    """Does the grader draw a live bar on a terminal, and print plain lines to a pipe?"""
    bar = for_terminal(_Terminal())
    try:
        assert isinstance(bar, RichProgress)
    finally:
        bar.close()
    stream = io.StringIO()
    plain = for_terminal(stream)
    assert isinstance(plain, PlainProgress)
    plain.phase("run", 2)
    plain.advance("ann: ok (1.0 s)")
    first, second = stream.getvalue().splitlines()
    assert first == "[run] 2 to do"
    assert re.fullmatch(r"\[run\] 1/2 ann: ok \(1\.0 s\) \(eta \d+ s\)", second), second


# --- subprocess: the grader's own errors ----------------------------------------------------


@pytest.fixture(scope="module")
def small_class(tmp_path_factory) -> Path:
    return make_class(tmp_path_factory.mktemp("cli") / "class")


@pytest.mark.parametrize(
    "args, needle",
    [
        (["grade", "{empty}", "--out", "{tmp}/out"], "no submissions"),
        (["grade", "{class}", "--out", "{tmp}/out", "--data", "{tmp}/bad.npz"], "bad.npz"),
        (["grade", "{class}", "--out", "{tmp}/out", "--assignment", "nope"], "nope"),
        (["grade", "{class}", "--out", "{tmp}/out", "--budget", "nope"], "nope"),
        (["check", "{class}/alice", "--out", "{tmp}/out", "--data", "{tmp}/bad.npz"], "bad.npz"),
        (["gradescope", "--submission", "{tmp}/none", "--results", "{tmp}/r.json"], "none"),
        (["check", "{empty}"], "nothing to grade"),
    ],
    ids=[
        "empty-submissions",
        "bad-data-file",
        "unknown-assignment",
        "unknown-budget",
        "check-bad-data",
        "gradescope-no-upload",
        "check-empty-folder",
    ],  # fmt: skip
)
def test_grader_errors_are_one_line_and_a_hint(
    args, needle, small_class, tmp_path, tmp_path_factory
):
    """Does a problem the user can fix exit with `error:` and `hint:`, and no traceback: 2 for
    a command line that names what does not exist or has nothing to grade (as click's usage
    errors), 1 for the rest?"""
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("no code here")
    (tmp_path / "bad.npz").write_bytes(b"not an npz")
    usage = {"no submissions", "nope", "nothing to grade"}
    args = [
        a.format(tmp=tmp_path, empty=tmp_path / "empty", **{"class": small_class}) for a in args
    ]
    proc = run_grader(args, grader_env(tmp_path_factory), tmp_path, timeout=120)
    assert_one_line_error(proc, needle, code=2 if needle in usage else 1)


def test_debug_shows_the_traceback(tmp_path, tmp_path_factory):
    """Does `--debug` show the traceback of a grader error instead of the one line?"""
    (tmp_path / "empty").mkdir()
    proc = run_grader(
        ["--debug", "grade", tmp_path / "empty", "--out", tmp_path / "out"],
        grader_env(tmp_path_factory),
        tmp_path,
        timeout=120,
    )
    assert proc.returncode == 1
    assert "Traceback (most recent call last)" in proc.stderr
    assert "UsageError: no submissions" in proc.stderr


# --- subprocess: grading a small class end to end -------------------------------------------


@pytest.fixture(scope="module")
def graded(small_class, tmp_path_factory):
    """`grader grade` on the small class, stdout a pipe: (process, OUT)."""
    out = small_class.parent / "out"
    proc = run_grader(
        ["grade", small_class, "--out", out, "--budget", "quick"],
        grader_env(tmp_path_factory),
        small_class.parent,
    )
    return proc, out


@pytest.fixture(scope="module")
def grades(graded) -> dict[str, dict]:
    _, out = graded
    rows = list(csv.DictReader(io.StringIO((out / "grades.csv").read_text())))
    return {row["id"]: row for row in rows}


IDS = ["alice", "bob", "crash", "zero"]


@pytest.mark.slow
def test_grading_exits_0_whatever_the_scores(graded, grades):
    """Does grading exit 0 although one student scores 0 and one crashes?"""
    proc, _ = graded
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    assert sorted(grades) == IDS
    assert float(grades["zero"]["score"]) == 0 and grades["zero"]["status"] == "ok"
    assert float(grades["crash"]["score"]) == 0 and grades["crash"]["status"] == "crash"
    assert grades["alice"]["score"] == grades["alice"]["max_score"]
    assert 0 < float(grades["bob"]["score"]) < float(grades["bob"]["max_score"])


@pytest.mark.slow
def test_grading_writes_every_output(graded):
    """Does `grade` write results.json and report.html per student, grades.csv, junit.xml and
    index.html, all complete?"""
    _, out = graded
    header = (out / "grades.csv").read_text().splitlines()[0]
    assert header == "id,score,max_score,status"
    suites = ET.parse(out / "junit.xml").getroot().findall("testsuite")
    assert sorted(s.get("name") for s in suites) == IDS
    assert (out / "index.html").read_text().rstrip().endswith("</html>")
    for sid in IDS:
        results = json.loads((out / sid / "results.json").read_text())
        assert {"score", "tests", "extra_data"} <= set(results)
        assert results["extra_data"]["budget"]["name"] == "quick"
        assert results["extra_data"]["cpu"] == cpu_family()  # what the grades were computed on
        report = (out / sid / "report.html").read_text()
        assert report.rstrip().endswith("</html>")
        for title in HIDDEN:
            assert title not in report, f"hidden check {title!r} named in {sid}'s report"


@pytest.mark.slow
def test_grading_progress_is_plain_lines_off_a_terminal(graded):
    """Without a terminal, is progress one plain line per step, with no escape codes?"""
    proc, _ = graded
    assert ANSI not in proc.stdout
    for sid in IDS:
        assert re.search(rf"^\[run\] [1-4]/4 {sid}: ", proc.stdout, re.M), proc.stdout


@pytest.mark.slow
def test_grading_summary(graded, grades):
    """Does the closing summary give the count, mean and median, the crash, where the outputs
    are, and the crash's one-line reason?"""
    proc, out = graded
    text = proc.stdout
    scores = [float(r["score"]) for r in grades.values()]
    top = float(grades["alice"]["max_score"])
    assert re.search(r"students\W+4\b", text)
    assert re.search(rf"mean score\W+{statistics.fmean(scores):g} / {top:g}\b", text), text
    assert re.search(rf"median score\W+{statistics.median(scores):g} / {top:g}\b", text), text
    assert re.search(r"crash\W+1\b", text)
    assert "1 submission(s) did not run cleanly" in text
    assert re.search(r"^\s+crash: crash: exited with code 3\b.*$", text, re.M), text
    assert str(out.resolve()) in text.replace("\n", "")
    assert str(out / "index.html") in text


@pytest.mark.slow
def test_check_shows_visible_checks_only(small_class, tmp_path_factory):
    """Does `grader check` list each visible check with its points and feedback, never name a
    hidden check, and write the student's report?"""
    assert HIDDEN, "the reference declares no hidden check: this test would prove nothing"
    out = small_class.parent / "check-out"
    proc = run_grader(
        ["check", small_class / "bob", "--out", out], grader_env(tmp_path_factory), small_class
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    text = proc.stdout
    for title in VISIBLE:
        assert re.search(rf"^(PASS|PART|FAIL) \d+(\.\d+)?/\d+(\.\d+)?\s+{re.escape(title)}$",
                         text, re.M), f"{title!r} not listed:\n{text}"  # fmt: skip
    for title in HIDDEN:
        assert title not in text
    assert re.search(r"^PASS ", text, re.M) and re.search(r"^FAIL ", text, re.M)
    # bob's models are the stubs: their failures come with indented feedback lines.
    assert re.search(r"^FAIL .*\n {6}\S", text, re.M), text
    assert "score on the visible checks:" in text
    report = out / "bob" / "report.html"
    assert f"report: {report}" in text
    html = report.read_text()
    assert html.rstrip().endswith("</html>")
    for title in HIDDEN:
        assert title not in html


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to mount a read-only file system")
def test_a_read_only_out_is_one_line_and_a_hint(small_class, tmp_path, tmp_path_factory):
    """Does an --out the grader cannot write (a read-only file system, which stops root too)
    give one line and a hint, exit 1, before any grading?"""
    mount = tmp_path / "ro"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(mount)], check=True)
    try:
        for out in (mount / "out", mount):
            proc = run_grader(["grade", small_class, "--out", out],
                              grader_env(tmp_path_factory), tmp_path, timeout=120)  # fmt: skip
            assert_one_line_error(proc, "cannot write the output folder", "Read-only file system")
    finally:
        subprocess.run(["umount", str(mount)], check=True)


@pytest.mark.slow
def test_a_course_on_the_graded_class(graded, small_class, tmp_path, tmp_path_factory):
    """Issue 16 end to end, through the CLI: a TA's override, a regrading with a roster (one
    student on it with no submission, one submission from no one on it), the history's
    "changed" flag, the Canvas gradebook, and the release of feedback."""
    _, original = graded
    klass, out = tmp_path / "class", tmp_path / "out"
    shutil.copytree(small_class, klass)
    shutil.copytree(original, out)
    env = grader_env(tmp_path_factory)
    roster = tmp_path / "roster.csv"
    roster.write_text("id,name,email,section\nalice,Alice L,alice@uni.edu,A\n"
                      "bob,Bob D,bob@uni.edu,B\nzero,Zoe Ro,zoe@uni.edu,A\n"
                      "dave,Dave B,dave@uni.edu,B\n")  # fmt: skip
    title = "MLP layer sequence"
    proc = run_grader(["override", out, "bob", title, "5", "--reason", "units=512 spelled out",
                       "--by", "ta-jo"], env, tmp_path)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    bob = json.loads((out / "bob" / "results.json").read_text())
    assert next(t for t in bob["tests"] if t["name"] == title)["score"] == 5
    # zero fixes preprocessing: only zero is graded again; the override survives the rerun.
    shutil.copyfile(REFERENCE / "preprocessing.py", klass / "zero" / "preprocessing.py")
    times, late = tmp_path / "times.csv", tmp_path / "late.toml"
    times.write_text("id,submitted_at\nalice,2026-11-20T10:00:00Z\nbob,2026-11-21T12:00:00Z\n")
    late.write_text("[late]\ndue = 2026-11-20T23:59:00Z\npenalty_per_day = 10\n")
    proc = run_grader(["grade", klass, "--out", out, "--budget", "quick", "--roster", roster,
                       "--times", times, "--late", late], env, tmp_path)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "alice: unchanged since the last run, kept" in proc.stdout
    assert "late policy: no submission time given for 2 submission(s)" in proc.stdout
    rows = {r["id"]: r for r in csv.DictReader(io.StringIO((out / "grades.csv").read_text()))}
    # bob: a day late, 10% of the maximum off his (overridden) points, on a line of its own.
    bob_now = json.loads((out / "bob" / "results.json").read_text())
    penalty = bob_now["tests"][-1]
    assert penalty["name"] == "Late penalty" and penalty["score"] == -0.1 * bob["max_score"]
    assert float(rows["bob"]["score"]) == bob["score"] + penalty["score"] == bob_now["score"]
    alice = json.loads((out / "alice" / "results.json").read_text())
    assert alice["tests"][-1]["name"] != "Late penalty"  # on time
    history = [json.loads(x) for x in (out / "history.jsonl").read_text().splitlines()]
    assert [h["id"] for h in history].count("zero") == 2 and len(history) == 5
    page = (out / "index.html").read_text()
    assert "changed" in page and "Dave B" in page and "Zoe Ro" in page and 'id="matrix"' in page
    assert "<code>crash</code>" in page  # a submission from no one on the roster
    assert 'id="similarity-link"' in page and (out / "similarity.html").is_file()
    similar = json.loads((out / "similarity.json").read_text())
    assert all(p["score"] < similar["flag"] for p in similar["pairs"])  # the template only
    proc = run_grader(["export", out, "--format", "canvas"], env, tmp_path)
    assert proc.returncode == 0, proc.stderr
    canvas = list(csv.reader(io.StringIO((out / "gradebook-canvas.csv").read_text())))
    assert canvas[0][:5] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
    assert ["Dave B", "", "dave", "dave@uni.edu", "B", "0"] in canvas
    proc = run_grader(["release", out, "--to", tmp_path / "feedback"], env, tmp_path)
    assert proc.returncode == 0 and "released 4 students" in proc.stdout, proc.stderr
    assert (tmp_path / "feedback" / "zoe@uni.edu" / "report.html").is_file()
    assert (tmp_path / "feedback" / "crash" / "results.json").is_file()
    proc = run_grader(["release", out, "--to", tmp_path / "again", "--only-changed"], env, tmp_path)
    assert proc.returncode == 0 and "released 0 students" in proc.stdout, proc.stderr
    args = ["override", out, "bob", "no such check", "1", "--reason", "x"]
    proc = run_grader(args, env, tmp_path)
    assert_one_line_error(proc, "no check", code=2)
