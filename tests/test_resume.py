"""Resume: "Killing the process with SIGKILL at any moment and re-running yields the same final
outputs as an uninterrupted run, with no half-written file ever visible."

A small class is graded once without interruption (OUT_A). Then `grader grade` is started into
OUT_B and SIGKILLed (its whole process group) at start-up, during phase 1, during phase 2, while
the per-student files are written and while the class files are written; after every kill no
process of it survives and no file in OUT_B is half-written. A last run completes, and OUT_B
must hold the same files as OUT_A with the same contents once timings, dates and paths are
masked. Reruns keep unchanged students, regrade a changed one, and `--force` regrades all.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest

from grader.run.submission import OUT_MARKER

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "reference" / "mnist"
STUBS = ROOT / "assignments" / "mnist"
MODULES = ("preprocessing", "models", "training")
GRADER = Path(sys.executable).with_name("grader")
IDS = ["alice", "bob", "crash", "zero"]
WORK = ".work"
TEMP = re.compile(r"\..+\.[^.]+\.tmp")
"""What atomic_write's temporary files are called: `.<final name>.<random>.tmp`."""
VOLATILE_KEYS = {"timings", "execution_time", "graded_at", "seconds"}
ATTEMPT_SECONDS = 600


def make_class(root: Path) -> Path:
    """alice: the reference; bob: the stub models; zero: all stubs; crash: exits at import."""
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


class Grading:
    """`grader grade` in its own process group, its output collected line by line."""

    def __init__(self, submissions: Path, out: Path, env: dict, *extra: str) -> None:
        self.out = out
        self.lines: list[str] = []
        self.proc = subprocess.Popen(
            [str(GRADER), "grade", str(submissions), "--out", str(out), "--budget", "quick",
             *extra],
            env=env,
            cwd=out.parent,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )  # fmt: skip
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    def saw(self, pattern: str) -> bool:
        return any(re.search(pattern, line) for line in list(self.lines))

    def kill_when(self, trigger: Callable[[], bool], what: str, strict: bool = True) -> bool:
        """SIGKILL the process group as soon as `trigger()` holds; False if it finished first."""
        deadline = time.monotonic() + ATTEMPT_SECONDS
        while time.monotonic() < deadline:
            if trigger():
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
                self.reader.join(10)
                return True
            if self.proc.poll() is not None:
                self.reader.join(10)
                ended = f"grader ended (exit {self.proc.returncode}) before {what}"
                assert not strict, f"{ended}:\n{self.text[-3000:]}"
                return False
            time.sleep(0.002)
        os.killpg(self.proc.pid, signal.SIGKILL)
        pytest.fail(f"{what} never came within {ATTEMPT_SECONDS} s:\n{self.text[-3000:]}")

    def finish(self) -> str:
        try:
            self.proc.wait(ATTEMPT_SECONDS)
        finally:
            if self.proc.poll() is None:
                os.killpg(self.proc.pid, signal.SIGKILL)
        self.reader.join(10)
        assert self.proc.returncode == 0, self.text[-3000:]
        return self.text


def new_file_in(*folders: Path) -> Callable[[], bool]:
    """A trigger: a file (temporary ones included) was created in one of `folders` since now."""

    def snapshot() -> set[tuple[str, int]]:
        found = set()
        for folder in folders:
            try:
                with os.scandir(folder) as entries:
                    for entry in entries:
                        if entry.is_file(follow_symlinks=False):
                            found.add((entry.path, entry.inode()))
            except FileNotFoundError:
                pass
        return found

    before = snapshot()
    return lambda: bool(snapshot() - before)


def outputs(out: Path) -> list[Path]:
    """Every file of OUT outside the work directory."""
    return sorted(p for p in out.rglob("*") if p.is_file() and WORK not in p.relative_to(out).parts)


def assert_complete(out: Path) -> None:
    """No file under its final name is half-written; temporary files are hidden dot-files."""
    for path in outputs(out):
        if path.name == OUT_MARKER:  # "this folder is the grader's output", nothing else
            continue
        if path.name.startswith("."):
            assert TEMP.fullmatch(path.name), f"unexpected hidden file {path}"
            continue
        text = path.read_text()
        if path.suffix == ".json":
            json.loads(text)
        elif path.suffix == ".jsonl":  # the history: whole lines only
            assert text.endswith("\n"), f"{path} is cut short"
            for line in text.splitlines():
                json.loads(line)
        elif path.suffix == ".html":
            assert text.rstrip().endswith("</html>"), f"{path} is cut short"
        elif path.suffix == ".csv":
            assert text.endswith("\n"), f"{path} is cut short"
            rows = list(csv.reader(io.StringIO(text)))
            assert rows[0] == ["id", "score", "max_score", "status"]
            assert all(len(row) == 4 for row in rows), path
        elif path.suffix == ".xml":
            ET.fromstring(text)
        else:
            pytest.fail(f"unexpected output {path}")
    for sid in IDS:
        if (out / sid / "details.json").exists():  # written last: the rest must be there
            assert (out / sid / "results.json").is_file()
            assert (out / sid / "report.html").is_file()
    for record in (out / WORK).rglob("record.json"):  # what a rerun resumes from
        json.loads(record.read_text())


def processes_of(out: Path) -> dict[int, str]:
    """Running processes whose command line names OUT (sandbox inits, runners, phase 2)."""
    needle = str(out).encode()
    found = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if needle in cmdline:
            found[int(pid)] = cmdline.replace(b"\0", b" ").decode(errors="replace")[:300]
    return found


def assert_no_survivors(out: Path, seconds: float = 30) -> None:
    """No process of the killed grader (sandboxes, the phase-2 session) is still running."""
    deadline = time.monotonic() + seconds
    while True:
        alive = processes_of(out)
        if not alive:
            return
        if time.monotonic() > deadline:
            pytest.fail(f"processes outlived the killed grader: {alive}")
        time.sleep(0.1)


DATE = re.compile(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2})?( ?UTC|[+-]\d{2}:\d{2})?")
DURATION = re.compile(r"\b\d+(\.\d+)? ?(ms|us|s)(/step)?\b")
SORT_KEY_OF_DURATION = re.compile(r'data-sort="[\d.]+">(?=[\d.]+ s<)')
TF_LOG = r"[IWEF]\d{4} \d\d:\d\d:[\d.]+ +\d+ [\w.]+:\d+\]"
"""TensorFlow's C++ log lines (glog format): how many a run prints varies from run to run."""
TF_LOG_LINE = re.compile(rf"^{TF_LOG}.*\n?", re.M)
TF_LOG_LINE_IN_HTML = re.compile(rf"^{TF_LOG}[^<\n]*\n?", re.M)


def _mask_output(text: str) -> str:
    """Captured stdout/stderr: Keras step times and TensorFlow's log lines vary by run."""
    return re.sub(r"\d+", "N", DURATION.sub("T", TF_LOG_LINE.sub("", text)))


def _normalise_json(value, key: str = ""):
    if isinstance(value, dict):
        return {k: _normalise_json(v, k) for k, v in value.items() if k not in VOLATILE_KEYS}
    if isinstance(value, list):
        return [_normalise_json(v) for v in value]
    if isinstance(value, str) and key in ("stdout", "stderr"):
        return _mask_output(value)
    return value


def normalised(path: Path, out: Path):
    """A file's content with what legitimately varies between runs masked."""
    text = path.read_text()
    for root in {str(out.resolve()), str(out)}:
        text = text.replace(root, "OUT")
    if path.suffix == ".json":
        return _normalise_json(json.loads(text))
    if path.suffix == ".jsonl":  # the history: one line per grading, in the order they ended
        return sorted(json.dumps(_normalise_json(json.loads(line)), sort_keys=True)
                      for line in text.splitlines())  # fmt: skip
    if path.suffix == ".xml":
        return re.sub(r'time="[\d.]+"', 'time="T"', text)
    if path.suffix == ".html":
        text = TF_LOG_LINE_IN_HTML.sub("", text)
        text = SORT_KEY_OF_DURATION.sub('data-sort="T">', text)
        return DURATION.sub("T", DATE.sub("DATE", text))
    return text


def assert_same_outputs(a: Path, b: Path) -> None:
    files_a = {p.relative_to(a) for p in outputs(a) if not p.name.startswith(".")}
    files_b = {p.relative_to(b) for p in outputs(b) if not p.name.startswith(".")}
    assert files_a == files_b
    for rel in sorted(files_a):
        assert normalised(a / rel, a) == normalised(b / rel, b), f"{rel} differs"


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> dict[str, str]:
    cache = tmp_path_factory.getbasetemp() / "reference-cache"
    return {**os.environ, "KERAS_GRADER_CACHE": str(cache)}


@pytest.fixture(scope="module")
def klass(tmp_path_factory) -> Path:
    return make_class(tmp_path_factory.mktemp("resume") / "class")


@pytest.fixture(scope="module")
def uninterrupted(klass, env) -> Path:
    """OUT_A: the class graded in one go."""
    out = klass.parent / "out-a"
    Grading(klass, out, env).finish()
    assert_complete(out)
    assert sorted(p.name for p in out.iterdir() if p.is_dir() and p.name != WORK) == IDS
    return out


@pytest.mark.full  # five kills and reruns
def test_sigkill_at_any_moment_then_rerun_gives_the_same_outputs(klass, env, uninterrupted):
    """Does SIGKILL in phase 1, in phase 2 and while writing leave only whole files, and does
    a rerun then produce what an uninterrupted run does?"""
    out = klass.parent / "out-b"
    kills = [
        # start-up: the reference's cached run being linked into OUT/.work
        ("start-up", lambda g: lambda: g.saw(r"^\[reference\] "), True),
        # phase 1: one sandboxed run recorded, the others still training
        ("phase 1", lambda g: lambda: g.saw(r"^\[run\] 1/4 \w+: \w+ \(\d"), True),
        # phase 2: every run recorded (this attempt reuses the earlier ones), checks pending
        ("phase 2", lambda g: lambda: g.saw(r"^\[check\] "), True),
        # phase 3: the first per-student file (or its temporary file) is there, not the rest
        ("student files", lambda g: new_file_in(*(out / sid for sid in IDS)), True),
        # the class files (or, had every student been done, the first of them)
        ("class files", lambda g: new_file_in(out), False),
    ]
    killed_at = []
    for what, make_trigger, strict in kills:
        grading = Grading(klass, out, env)
        if grading.kill_when(make_trigger(grading), what, strict):
            killed_at.append(what)
        assert_no_survivors(out)
        assert_complete(out)
    assert killed_at[:4] == ["start-up", "phase 1", "phase 2", "student files"]

    text = Grading(klass, out, env).finish()
    assert_complete(out)
    assert_same_outputs(uninterrupted, out)
    leftovers = [p for p in outputs(out) if p.name.startswith(".") and p.name != OUT_MARKER]
    assert all(TEMP.fullmatch(p.name) for p in leftovers), leftovers
    assert "Traceback" not in text


@pytest.mark.full  # the gate resumes in the Ctrl-C test
def test_reruns_keep_unchanged_regrade_changed_and_force_all(klass, env, uninterrupted):
    """Does a rerun keep everyone (fast, untouched files), regrade only a changed submission,
    and regrade everyone with --force?"""
    submissions = klass.parent / "class-r"
    out = klass.parent / "out-r"
    shutil.copytree(klass, submissions)
    shutil.copytree(uninterrupted, out, symlinks=True)

    def inodes() -> dict[str, int]:
        return {str(p.relative_to(out)): p.stat().st_ino for p in outputs(out)}

    before = inodes()
    started = time.monotonic()
    text = Grading(submissions, out, env).finish()
    assert time.monotonic() - started < 60
    for sid in IDS:
        assert f"{sid}: unchanged since the last run, kept" in text
    assert "[run]" not in text and "[check]" not in text
    assert re.search(r"graded now / kept\W+0 / 4\b", text), text
    after = inodes()
    for sid in IDS:  # a kept student's files are not even rewritten
        for name in ("results.json", "details.json", "report.html"):
            assert after[f"{sid}/{name}"] == before[f"{sid}/{name}"]
    assert_same_outputs(uninterrupted, out)

    with open(submissions / "zero" / "models.py", "a") as f:
        f.write("\n# a late edit\n")
    text = Grading(submissions, out, env).finish()
    assert "[run] 1 to do" in text
    assert re.search(r"^\[run\] 1/1 zero: ok \(\d", text, re.M), text
    for sid in ("alice", "bob", "crash"):
        assert f"{sid}: unchanged since the last run, kept" in text
    assert re.search(r"graded now / kept\W+1 / 3\b", text), text
    regraded = inodes()
    assert regraded["zero/details.json"] != after["zero/details.json"]
    assert regraded["alice/details.json"] == after["alice/details.json"]
    details = json.loads((out / "zero" / "details.json").read_text())
    assert "a late edit" not in json.dumps(details)  # the hash changed, not the grade
    assert details["result"]["status"] == "ok"

    text = Grading(submissions, out, env, "--force").finish()
    assert "[run] 4 to do" in text
    assert "(run reused)" not in text
    assert "kept" not in text.split("keras-grader summary")[0]
    assert re.search(r"graded now / kept\W+4 / 0\b", text), text
    forced = inodes()
    for sid in IDS:
        assert forced[f"{sid}/details.json"] != regraded[f"{sid}/details.json"]
    assert_complete(out)


def test_ctrl_c_and_sigterm_stop_fast_keep_finished_runs_and_resume(klass, env):
    """A real SIGINT, then a real SIGTERM, each sent once a run has finished while others
    still run: does the grader stop within 5 s with exit 130, kill its sandboxes (nothing is
    left in its process group), keep the finished runs, and does a rerun resume them and grade
    the rest (issue 16)? (test_sigkill_... compares resumed outputs with an uninterrupted
    grading, file by file.)"""
    out = klass.parent / "out-c"
    fresh = re.compile(r"^\[run\] \d+/\d+ (\w+): \w+ \(\d")  # a run that just finished
    for sig in (signal.SIGINT, signal.SIGTERM):
        grading = Grading(klass, out, env)
        deadline = time.monotonic() + ATTEMPT_SECONDS
        while not grading.saw(fresh.pattern):
            assert grading.proc.poll() is None, f"ended before a run finished:\n{grading.text}"
            assert time.monotonic() < deadline, grading.text[-3000:]
            time.sleep(0.01)
        finished = {m.group(1) for line in list(grading.lines) if (m := fresh.match(line))}
        sent = time.monotonic()
        os.kill(grading.proc.pid, sig)
        try:
            code = grading.proc.wait(30)
        finally:
            if grading.proc.poll() is None:
                os.killpg(grading.proc.pid, signal.SIGKILL)
        stopped = time.monotonic() - sent
        grading.reader.join(10)
        assert code == 130 and stopped < 5, (sig, code, stopped, grading.text[-2000:])
        assert "interrupted: the sandboxes were stopped" in grading.text
        assert "Traceback" not in grading.text
        while True:  # every sandbox (unshare, init, runner) was in the grader's process group
            try:
                os.killpg(grading.proc.pid, 0)
            except ProcessLookupError:
                break
            assert time.monotonic() - sent < 5, f"processes outlived the {sig.name}"
            time.sleep(0.05)
        for sid in finished:
            assert (out / WORK / "runs" / sid / "record.json").is_file(), sid
        assert_complete(out)

    text = Grading(klass, out, env).finish()
    assert "(run reused)" in text
    assert_complete(out)
    rows = {row["id"]: row for row in csv.DictReader(io.StringIO((out / "grades.csv").read_text()))}
    assert sorted(rows) == IDS
    assert rows["alice"]["score"] == rows["alice"]["max_score"]  # the reference, whole
    assert rows["crash"]["status"] == "crash" and rows["zero"]["score"] == "0"


def test_sigkill_with_limited_isolation_leaves_no_student_process(tmp_path, env):
    """With limited isolation too, does killing the grader end the student's process?"""
    (tmp_path / "class").mkdir()
    (tmp_path / "class" / "sleeper.py").write_text("import time\n\ntime.sleep(300)\n")
    out = tmp_path / "out"
    grading = Grading(tmp_path / "class", out, env, "--isolation", "limited")
    try:
        running = lambda: any("runner.py" in c for c in processes_of(out).values())  # noqa: E731
        grading.kill_when(running, "the student's sandboxed run")
        assert_no_survivors(out, seconds=10)
    finally:
        for pid in processes_of(out):  # what this test started and the grader left behind
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
