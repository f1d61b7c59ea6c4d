"""The adversarial corpus: hostile submissions through phase 1, each with its exact outcome.

Every case in tests/corpus/ runs with full isolation (namespaces, chroot, an unprivileged uid,
rlimits) against ONE reference run for the module. For each case the tests assert: the status
and the key words of its explanation or of the failing call's record in the manifest; that
nothing was written outside its job directory (canary folders, the work directory, the output
directory, the repository, /tmp, /var/tmp, /dev/shm); that no process of the run's uid is left;
and that nothing usable for points comes out (artifacts refused by grader.check.artifacts, a status
that is not ok, or the call recorded as failed). Submissions the loader must refuse (zips,
broken notebooks) end as `sandbox_error` before any sandbox starts.

The cases run two at a time (the fork bomb alone, last) under a tiny training budget; about
two minutes on 2 cores. Beside the corpus: the sandbox's view names no host path (host_facts),
the grader is absent from the sandbox's Python in the editable layout and with a wheel install
(a venv built for real), and printing or filling /job/out without end is bounded. The
cgroups (memory, tasks, CPU of the whole sandbox) have their own tests: tests/test_cgroups.py.
Without root and namespaces the sandboxed cases are skipped: the network case must never run
with limited isolation.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import hashlib
import io
import json
import os
import re
import stat
import subprocess
import threading
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from conftest import full_only, selected_cases
from mnist import load_mnist
from treewalk import iter_files, scan

from grader.check.artifacts import ArtifactError, Artifacts
from grader.config import TrainSpec, find_assignment
from grader.run import local as phase1
from grader.run.sandbox import SANDBOX_UID_BASE, isolation_level

REPO = Path(__file__).resolve().parent.parent
DATA_DIR = REPO / "reference" / "mnist" / "data"
"""The assignment's data, held-out labels included: no sandbox may read any of it."""
CORPUS = Path(__file__).resolve().parent / "corpus"
SANDBOX_UIDS = range(SANDBOX_UID_BASE, SANDBOX_UID_BASE + 4000)
FULL, WHY_NOT_FULL = isolation_level()
needs_full = pytest.mark.skipif(
    FULL != "full", reason=f"full isolation unavailable here ({WHY_NOT_FULL})"
)
BASE_WALL = 120
"""Wall-clock limit of every case that does not set its own: a hang fails fast."""


@dataclass(frozen=True)
class Case:
    """One corpus submission, the limits it runs under and its exact expected outcome."""

    source: str
    """Path under tests/corpus/ (a `.py`, an `.ipynb` or a folder of modules)."""
    limits: dict = field(default_factory=dict)
    """Overrides of the assignment's limits (wall_seconds is BASE_WALL unless set)."""
    status: str = "ok"
    detail: tuple[str, ...] = ()
    """Words the one-line detail must contain (an ok run has an empty detail)."""
    calls: dict = field(default_factory=dict)
    """call -> (status, exception type or None, words of the message) in the manifest."""
    stdout: tuple[str, ...] = ()
    """Lines the run's captured stdout must contain."""
    stderr: tuple[str, ...] = ()
    finished: bool | None = None
    """Whether the manifest says the runner finished (default: the status is ok)."""
    copied: bool = True
    """Whether the run's output (its manifest) comes back to the host at all."""


CASES = {
    "os_exit_at_import": Case(
        "os_exit_at_import/submission.py",
        status="crash",
        detail=("exited before finishing", "while running import:submission", "os._exit()"),
        calls={"import:submission": ("running", None, "")},
    ),
    # sys.exit() is an exception like any other: recorded, and the run goes on without the module.
    "sys_exit_at_import": Case(
        "sys_exit_at_import/submission.py",
        calls={
            "import:submission": ("error", "SystemExit", "0"),
            "flatten_and_scale": ("error", "ImportError", "flatten_and_scale()"),
            "build_mlp": ("error", "ImportError", "build_mlp()"),
            # no model of its own: nothing to train (no reference model enters a sandbox)
            "train:mlp": ("skipped", None, ""),
        },
    ),
    "infinite_loop": Case(
        "infinite_loop/submission.py",
        limits={"wall_seconds": 15},
        status="timeout",
        detail=("killed after 15 s wall-clock", "while running flatten_and_scale"),
        calls={"flatten_and_scale": ("running", None, "")},
    ),
    "infinite_loop_cpu_limit": Case(
        "infinite_loop/submission.py",
        limits={"cpu_seconds": 10, "wall_seconds": 90},
        status="timeout",
        detail=("more than 10 CPU seconds", "while running flatten_and_scale"),
        calls={"flatten_and_scale": ("running", None, "")},
    ),
    "allocate_8gib": Case(
        "allocate_8gib/submission.py",
        status="memory",
        detail=("ran out of memory in flatten_and_scale", "limit 6 GiB"),
        calls={"flatten_and_scale": ("error", "MemoryError", "8.00 GiB")},
        finished=True,  # the MemoryError was caught and recorded; the status says memory
    ),
    "fork_bomb": Case(
        "fork_bomb/submission.py",
        limits={"wall_seconds": 15},
        status="timeout",
        detail=("killed after 15 s wall-clock", "while running import:submission"),
        calls={"import:submission": ("running", None, "")},
    ),
    # Printing without end costs nothing but the wall clock: the first and last 64 KiB of the
    # output are kept, the run goes on, and the detail says so (no points lost for it alone).
    "print_100mb": Case(
        "print_100mb/submission.py",
        detail=("output truncated: printed 100.0 MiB", "first and last 64 KiB"),
        calls={"import:submission": ("ok", None, "")},
    ),
    # The output directory is bounded in entries and depth: nothing of it is copied, no
    # RecursionError in the grader (a 1,500-deep chain), no 300,000 files made on the host.
    "out_many_files": Case(
        "out_many_files/submission.py",
        status="output_limit",
        detail=("left more than 2,000 files and folders", "nothing of the run's output was kept"),
        copied=False,
    ),
    "out_deep_tree": Case(
        "out_deep_tree/submission.py",
        status="output_limit",
        detail=("nested folders more than 8 levels deep", "nothing of the run's output was kept"),
        copied=False,
    ),
    "host_facts": Case("host_facts/submission.py"),  # generated: see _host_facts_submission
    # The file-size rlimit (256 MiB) stops the write; the run itself goes on.
    "write_1gb_file": Case(
        "write_1gb_file/submission.py",
        calls={"flatten_and_scale": ("error", "OSError", "File too large")},
    ),
    # A full job file system leaves the runner unable to record anything: a crash, no points.
    "fill_job_dir": Case(
        "fill_job_dir/submission.py",
        limits={"job_size_mib": 64},
        status="crash",
        detail=("the job directory filled up (limit 64 MiB)", "while running flatten_and_scale"),
        calls={"flatten_and_scale": ("running", None, "")},
        stderr=("No space left on device",),
    ),
    "network": Case(
        "network/submission.py",
        stdout=(
            "NET 127.0.0.1:8080 OSError: [Errno 101] Network is unreachable",
            "NET 8.8.8.8:53 OSError: [Errno 101] Network is unreachable",
        ),
    ),
    "host_paths": Case("host_paths/submission.py"),  # generated: see _host_paths_submission
    "fake_results": Case(
        "fake_results/submission.py",
        stdout=(
            "WRITE ../results.json ok",  # /job/results.json: the sandbox's own tmpfs, then gone
            "WRITE ../../results.json EROFS",
            "WRITE ../../../results.json EROFS",
            "WRITE /job/../results.json EROFS",
            "WRITE /results.json EROFS",
            "WRITE /job/out/../../results.json EROFS",
            "WRITE /sandbox/results.json EROFS",
            "WRITE /submission/results.json EROFS",
        ),
    ),
    "background_process": Case("background_process/submission.py", limits={"wall_seconds": 60}),
    "lambda_layer": Case("lambda_layer/submission.py", calls={"build_mlp": ("ok", None, "")}),
    "custom_layer": Case("custom_layer/submission.py", calls={"build_mlp": ("ok", None, "")}),
    "disguised_dense": Case("disguised_dense/submission.py", calls={"build_mlp": ("ok", None, "")}),
    "one_hot_always_equal": Case(
        "one_hot_always_equal/submission.py", calls={"one_hot": ("ok", None, "")}
    ),
    "one_hot_ndarray_subclass": Case(
        "one_hot_ndarray_subclass/submission.py", calls={"one_hot": ("ok", None, "")}
    ),
    "monkeypatch_numpy": Case(
        "monkeypatch_numpy/submission.py",
        calls={"train:mlp": ("ok", None, ""), "train:cnn": ("ok", None, "")},
    ),
    "monkeypatch_builtins_os": Case(
        "monkeypatch_builtins_os/submission.py",
        calls={
            "train:mlp": ("ok", None, ""),
            "save:mlp": ("error", "PermissionError", "open() is disabled"),
            "save:cnn": ("error", "PermissionError", "open() is disabled"),
        },
    ),
    "monkeypatch_keras": Case(
        "monkeypatch_keras/submission.py",
        calls={"train:mlp": ("ok", None, ""), "evaluate:mlp": ("ok", None, "")},
    ),
    # In-process code can always forge the runner's manifest (it runs in the runner's process),
    # so the status is ok; what matters is that the trusted reader refuses every forged file.
    "forged_artifacts": Case("forged_artifacts/submission.py"),
    "missing_module": Case(
        "missing_module",
        calls={
            "import:training": ("error", "ModuleNotFoundError", "training"),
            "flatten_and_scale": ("ok", None, ""),
            "build_mlp": ("not_implemented", "NotImplementedError", ""),
            # no model of its own: nothing to train, evaluate or save
            "train:mlp": ("skipped", None, ""),
        },
    ),
    "syntax_error": Case(
        "syntax_error/submission.py",
        calls={
            "import:submission": ("error", "SyntaxError", "expected ':'"),
            "flatten_and_scale": ("error", "ImportError", "flatten_and_scale()"),
        },
    ),
}
LONG_FIRST = ("infinite_loop", "infinite_loop_cpu_limit", "monkeypatch_numpy")
ALONE_LAST = ("fork_bomb",)


@dataclass
class Outcome:
    """What one case's run left behind, as the tests need it."""

    record: phase1.RunRecord
    uid: int | None
    leftovers: list[int]
    """Pids of processes of the run's uid still alive after the run returned."""
    seconds: float

    @property
    def manifest(self) -> dict:
        return json.loads((self.record.out_dir / "manifest.json").read_text())

    @property
    def artifacts(self) -> Artifacts:
        return Artifacts(self.record.out_dir)


# ---- the host, before and after -----------------------------------------------------------


def _tree(root: Path, skip: frozenset[str] = frozenset()) -> dict[str, tuple]:
    """Every path under root (not following links) with its type, size, mtime and mode.

    The walk is bounded (tests/scan.py): a submission that built a tree deeper than the
    limit leaves an `<incomplete>` entry, which then shows as a change.
    """
    if not root.exists():
        return {}
    walked = scan(root, skip=lambda name, depth: depth == 0 and name in skip)
    found = {
        rel: (stat.S_IFMT(info.st_mode), info.st_size, info.st_mtime_ns, info.st_mode)
        for _, rel, info in walked.entries
    }
    for reason in walked.incomplete:
        found["<incomplete>"] = (reason,)
    return found


SHARED_ROOTS = [Path("/tmp"), Path("/var/tmp"), Path("/dev/shm"), REPO]
"""Where a run's plants would land outside its job: shared with every other program."""


def _planted(roots: list[Path]) -> tuple[list[str], list[str]]:
    """Paths under roots owned by a sandbox uid or named like the corpus's plants (PWNED*),
    and the reasons a scan could not finish (another program's huge or deep tree).

    Shared directories hold whatever other programs left there: the walk never recurses,
    never follows links, and stops at its limits instead of failing (tests/scan.py).
    """
    hits, incomplete = [], []
    for root in roots:
        walked = scan(root, skip=lambda name, depth: name in (".venv", ".git"))
        incomplete += walked.incomplete
        for path, _, info in walked.entries:
            if info.st_uid in SANDBOX_UIDS or os.path.basename(path).startswith("PWNED"):
                hits.append(f"{path} (uid {info.st_uid})")
    return hits, incomplete


def _processes_of(uid: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        match = re.search(r"^Uid:\s+(\d+)", status, re.M)
        if match and int(match.group(1)) == uid:
            pids.append(int(entry.name))
    return pids


def _sandbox_children_of(pid: int) -> list[str]:
    """Child processes of pid that belong to a sandbox (unshare, its init, the runner)."""
    kids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except (OSError, IndexError):
                continue
            if int(fields[1]) == pid and any(
                word in cmdline for word in ("unshare", "sandbox_init", "runner.py")
            ):
                kids.append(f"{entry.name}: {cmdline}")
    return kids


class Host:
    """The grader's side of the machine: where the runs must leave no trace."""

    def __init__(self, base: Path) -> None:
        self.out = base / "OUT"
        self.work = self.out / ".work"
        self.outside = base / "outside"
        self.outside.mkdir(parents=True)
        (self.outside / "secret.txt").write_text("a canary outside every job\n")
        # What the shared directories already hold (another session's or program's files,
        # say an earlier run's PWNED test file): only what appears after this counts.
        self.planted_before = set(_planted(SHARED_ROOTS)[0])
        (self.outside / "nested").mkdir()
        (self.outside / "nested" / "canary.bin").write_bytes(b"\0" * 100)
        (self.out / "alice").mkdir(parents=True)
        (self.out / "alice" / "results.json").write_text('{"score": 3}\n')

    def snapshot(self) -> dict:
        return {
            "outside": _tree(self.outside),
            "out": _tree(self.out, frozenset({".work"})),
            "work": _tree(self.work),
            "grader_data": _tree(DATA_DIR),
            "tmp_top": {p.name for p in Path("/tmp").iterdir()},
        }

    def leaks(self, before: dict, job_ids: set[str]) -> list[str]:
        """Everything that changed outside the job directories since `before`."""
        now = self.snapshot()
        problems = []
        for key in ("outside", "out", "grader_data"):
            if now[key] != before[key]:
                changed = set(now[key].items()) ^ set(before[key].items())
                problems.append(f"{key} changed: {sorted(changed)[:5]}")

        def in_a_job(key: str) -> bool:  # OUT/.work/runs/<id>/... belongs to that run
            parts = Path(key).parts
            return parts == ("runs",) or (parts[:1] == ("runs",) and parts[1] in job_ids)

        work_now = {k: v for k, v in now["work"].items() if not in_a_job(k)}
        if work_now != before["work"]:
            changed = set(work_now.items()) ^ set(before["work"].items())
            problems.append(f"work dir changed outside the jobs: {sorted(changed)[:5]}")
        new_in_tmp = now["tmp_top"] - before["tmp_top"]
        problems += [f"/tmp/{name} appeared" for name in new_in_tmp if name == "results.json"]
        planted = [p for p in iter_files(self.work) if os.path.basename(p) == "results.json"]
        planted += [str(p) for p in self.out.glob("*/results.json") if p.parent.name != "alice"]
        shared, incomplete = _planted(SHARED_ROOTS)
        for reason in incomplete:  # another program's tree: say so, never fail for it
            print(f"leak scan incomplete: {reason}")
        shared = [hit for hit in shared if hit not in self.planted_before]
        return problems + [f"{p} was planted" for p in planted + shared]


# ---- running the cases ------------------------------------------------------------------


class Runs:
    """The module's reference run and every case's run, each run once, on demand or prefetched."""

    def __init__(self, base: Path) -> None:
        cfg = find_assignment("mnist")
        self.config = dataclasses.replace(
            cfg, limits=dataclasses.replace(cfg.limits, wall_seconds=BASE_WALL)
        )
        self.budget = dataclasses.replace(
            cfg.budget("quick"),
            name="adversarial",
            train_samples=300,
            models={
                "mlp": TrainSpec(epochs=1, batch_size=100, validation_split=0.2),
                "cnn": TrainSpec(epochs=1, batch_size=100),
            },
        )
        self.host = Host(base)
        self.base = base
        self.reference = phase1.run_reference(
            self.config, load_mnist("bundled"), self.budget, "bundled", self.host.work,
            isolation="full",
        )  # fmt: skip
        with np.load(self.host.work / "inputs.npz") as data:
            self.inputs = {k: data[k] for k in data.files}
        self.before = self.host.snapshot()
        self._done: dict[str, Outcome] = {}
        self._locks = {case: threading.Lock() for case in CASES}

    def source(self, case: str) -> Path:
        if case == "host_paths":
            return self._host_paths_submission()
        if case == "host_facts":
            return self._host_facts_submission()
        return CORPUS / CASES[case].source

    def __getitem__(self, case: str) -> Outcome:
        with self._locks[case]:
            if case not in self._done:
                self._done[case] = self._run(case)
            return self._done[case]

    def prefetch(self, cases: set[str]) -> None:
        first = [c for c in LONG_FIRST if c in cases]
        rest = sorted(cases - set(first) - set(ALONE_LAST))
        with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
            list(pool.map(self.__getitem__, first + rest))
        for case in ALONE_LAST:
            if case in cases:
                self[case]

    def _run(self, case: str) -> Outcome:
        spec = CASES[case]
        config = dataclasses.replace(
            self.config, limits=dataclasses.replace(self.config.limits, **spec.limits)
        )
        started = time.monotonic()
        record = phase1.run_student(
            self.source(case), case, config, self.budget, self.host.work, isolation="full"
        )
        seconds = time.monotonic() - started
        uid, leftovers = None, []
        config_path = phase1.run_dir(self.host.work, case) / "job" / "sandbox-config.json"
        if config_path.exists():
            uid = json.loads(config_path.read_text())["uid"]
            deadline = time.monotonic() + 10
            while (leftovers := _processes_of(uid)) and time.monotonic() < deadline:
                time.sleep(0.2)
        return Outcome(record, uid, leftovers, seconds)

    def leaks(self) -> list[str]:
        """What the runs done so far left outside their jobs; scanned again only when another
        run has finished since (the scan walks /tmp, /var/tmp, /dev/shm and the checkout)."""
        done = frozenset(self._done)
        if getattr(self, "_leaks_of", (None,))[0] != done:
            self._leaks_of = (done, self.host.leaks(self.before, set(done)))
        return list(self._leaks_of[1])

    def _host_paths_submission(self) -> Path:
        """The host_paths case with this machine's absolute paths filled in."""
        folder = self.base / "generated" / "host_paths"
        target = folder / "submission.py"
        if target.exists():
            return target
        folder.mkdir(parents=True)
        text = (CORPUS / "host_paths" / "submission.py").read_text()
        reads = [str(p) for p in self.host_reads() + self.host_escapes()]
        text = text.replace("READ = []", f"READ = {reads!r}")
        text = text.replace("WRITE = []", f"WRITE = {[str(p) for p in self.host_writes()]!r}")
        text = text.replace("LIST = []", f"LIST = {[str(p) for p in self.host_lists()]!r}")
        target.write_text(text)
        return target

    def _host_facts_submission(self) -> Path:
        """The host_facts case with (name, size, sha256) of each file of reference/mnist/data."""
        folder = self.base / "generated" / "host_facts"
        target = folder / "submission.py"
        if not target.exists():
            folder.mkdir(parents=True)
            text = (CORPUS / "host_facts" / "submission.py").read_text()
            target.write_text(text.replace("DATA = []", f"DATA = {grader_data()!r}"))
        return target

    def host_reads(self) -> list[Path]:
        work = self.host.work
        return [
            REPO / "reference" / "mnist" / "models.py",
            REPO / "reference" / "mnist" / "assignment.toml",
            REPO / "reference" / "mnist" / "checks",
            REPO / "reference" / "mnist" / "data" / "mnist_5k.npz",
            REPO / "grader" / "sandbox.py",
            work / "inputs.npz",
            work / "fallback_mlp.json",
            work / "_reference" / "job" / "out" / "manifest.json",
            self.host.out / "alice" / "results.json",
            self.host.outside / "secret.txt",
            Path("/etc/shadow"),
        ]

    def host_escapes(self) -> list[Path]:
        """Through the sandbox init's /proc entries (root-owned: must not be reachable)."""
        return [
            Path("/proc/1/root") / (REPO / "reference" / "mnist" / "models.py").relative_to("/"),
            Path("/proc/1/cwd/reference/mnist/models.py"),
        ]

    def host_writes(self) -> list[Path]:
        return [
            self.host.out / "alice" / "results.json",
            self.host.out / "host_paths" / "results.json",
            self.host.work / "_reference" / "job" / "out" / "manifest.json",
            self.host.outside / "PWNED.txt",
            REPO / "reference" / "mnist" / "PWNED.py",
        ]

    def host_lists(self) -> list[Path]:
        return [REPO, self.host.out, self.host.outside, Path("/")]


def grader_data() -> list[tuple[str, int, str]]:
    """(name, size, sha256) of every file of the assignment's data (held-out labels included)."""
    return [
        (p.name, p.stat().st_size, hashlib.sha256(p.read_bytes()).hexdigest())
        for p in sorted(DATA_DIR.iterdir())
        if p.is_file()
    ]


@pytest.fixture(scope="module")
def runs(request, tmp_path_factory) -> Runs:
    if FULL != "full":
        pytest.skip(f"full isolation unavailable here ({WHY_NOT_FULL})")
    runs = Runs(tmp_path_factory.mktemp("adversarial"))
    runs.prefetch({case for case in selected_cases(request) if case in CASES})
    return runs


def _calls(outcome: Outcome) -> dict:
    return outcome.manifest["calls"]


# ---- every case ---------------------------------------------------------------------------

ALL = sorted(CASES)
REPRESENTATIVE = (
    "allocate_8gib", "background_process", "fork_bomb", "forged_artifacts", "host_paths",
    "infinite_loop", "monkeypatch_builtins_os", "network", "print_100mb", "syntax_error",
    "write_1gb_file",
)  # fmt: skip
"""The cases every hostile-corpus test covers in CI's gate (`make test`): each wall (memory,
tasks, CPU, wall clock, disk, output, network, host paths and facts, forged files, escaped
processes) at least once; `make test-all` runs every case through every test."""
EVERY = full_only(ALL, REPRESENTATIVE)


@needs_full
@pytest.mark.parametrize("case", EVERY, ids=ALL)
def test_exact_outcome(runs, case):
    """Does each corpus case end with exactly its expected status, detail and call records?"""
    spec, outcome = CASES[case], runs[case]
    record = outcome.record
    assert (record.status, record.isolation) == (spec.status, "full"), (
        f"{record.status}: {record.detail}\n{record.stderr[-1500:]}"
    )
    if spec.status == "ok" and not spec.detail:
        assert record.detail == ""
    for word in spec.detail:
        assert word in record.detail
    if not spec.copied:
        assert sorted(p.name for p in record.out_dir.iterdir()) == []
        return
    calls = _calls(outcome)
    for name, (status, exc_type, words) in spec.calls.items():
        call = calls.get(name, {})
        assert call.get("status") == status, f"{name}: {call}"
        assert call.get("exc_type") == exc_type, f"{name}: {call}"
        assert words in str(call.get("message", "")), f"{name}: {call}"
    for line in spec.stdout:
        assert line in record.stdout.splitlines()
    for words in spec.stderr:
        assert words in record.stderr
    finished = spec.status == "ok" if spec.finished is None else spec.finished
    assert outcome.manifest["finished"] is finished


@needs_full
@pytest.mark.parametrize("case", EVERY, ids=ALL)
def test_nothing_written_outside_the_job(runs, case):
    """Is the host untouched outside the job directories once the hostile runs are over?"""
    outcome = runs[case]
    assert runs.leaks() == []
    walked = scan(outcome.record.out_dir)
    assert walked.incomplete == []
    for path, _, info in walked.entries:
        mode = info.st_mode
        assert stat.S_ISREG(mode) or stat.S_ISDIR(mode), f"{path} crossed the boundary"


@needs_full
@pytest.mark.parametrize("case", EVERY, ids=ALL)
def test_no_process_of_the_run_is_left(runs, case):
    """Is every process of the run's sandbox uid gone when the run returns, the grader alive?"""
    outcome = runs[case]
    assert outcome.uid in SANDBOX_UIDS
    assert outcome.leftovers == []
    assert _processes_of(outcome.uid) == []
    assert subprocess.run(["true"], check=False).returncode == 0  # the grader can still fork


@needs_full
def test_no_child_left_behind_by_the_grader(runs):
    """Once every run has returned, does the grader itself have no child process left?"""
    assert _sandbox_children_of(os.getpid()) == []


@needs_full
def test_reference_runs_cleanly_with_full_isolation(runs):
    """Does the reference itself run cleanly through the sandbox with full isolation?"""
    ref = runs.reference
    assert (ref.status, ref.detail, ref.isolation) == ("ok", "", "full")
    artifacts = Artifacts(ref.out_dir)
    assert artifacts.manifest["finished"] is True
    assert {c["status"] for c in artifacts.manifest["calls"].values()} == {"ok"}
    assert [type(layer).__name__ for layer in artifacts.model("mlp", "trained").layers] == [
        "Dense",
        "Dense",
    ]


# ---- what each hostile case was after --------------------------------------------------


@needs_full
@pytest.mark.parametrize("case", ["infinite_loop", "fork_bomb"], ids=["loop", "fork_bomb"])
def test_wall_clock_kill_is_prompt(runs, case):
    """Is a submission that never ends killed soon after its wall-clock limit, not later?"""
    outcome = runs[case]
    assert 15 <= outcome.record.duration < 15 + 10


@needs_full
@pytest.mark.parametrize("case", ["background_process"], ids=["sleep_1000"])
def test_background_process_does_not_hold_the_run(runs, case):
    """Does a leftover process holding stdout neither stall a finished run nor time it out?"""
    outcome = runs[case]
    assert outcome.record.status == "ok"
    assert outcome.record.duration < 40  # well before its 60 s wall-clock limit


@needs_full
@pytest.mark.parametrize("case", ["host_paths"], ids=["host_paths"])
def test_host_paths_are_invisible(runs, case):
    """Are the reference, the grader's data, the work and output dirs all absent in the sandbox?"""
    lines = runs[case].record.stdout.splitlines()
    for path in runs.host_reads():
        assert f"READ {path} FileNotFoundError" in lines
    for path in runs.host_writes():
        assert f"WRITE {path} FileNotFoundError" in lines
    listed = [line.split(" ", 2) for line in lines if line.startswith("LIST ")]
    listing = {path: rest for _, path, rest in listed}
    assert listing[str(runs.host.out)] == "FileNotFoundError"
    assert listing[str(runs.host.outside)] == "FileNotFoundError"
    assert "reference" not in listing[str(REPO)] and "grader" not in listing[str(REPO)]
    assert "sandbox" in listing["/"] and "job" in listing["/"]
    assert (runs.host.out / "alice" / "results.json").read_text() == '{"score": 3}\n'


@needs_full
@pytest.mark.parametrize("case", ["host_paths"], ids=["host_paths"])
def test_host_reached_through_proc_of_init_is_refused(runs, case):
    """Is the host's file system out of reach through /proc/1/root and /proc/1/cwd?"""
    lines = runs[case].record.stdout.splitlines()
    for path in runs.host_escapes():  # PID 1 is root's: hidden (hidepid) or refused
        assert {f"READ {path} FileNotFoundError", f"READ {path} PermissionError"} & set(lines)


FACT_TAGS = ("CMDLINE", "MOUNTINFO", "CGROUP", "ENVIRON", "EXECUTABLE", "SYSPATH")


@needs_full
@pytest.mark.parametrize("case", ["host_facts"], ids=["host_facts"])
def test_sandbox_view_names_no_host_path(runs, case):
    """Do /proc/1/cmdline, every command line it can see, /proc/self/mountinfo, its cgroups,
    environment and sys.path name neither OUT, nor the student's id, nor the checkout?"""
    lines = runs[case].record.stdout.splitlines()
    facts = [line for line in lines if line.split(" ", 1)[0] in FACT_TAGS]
    forbidden = [str(runs.host.out), str(runs.host.work), case, str(REPO)]
    for line in facts:
        for word in forbidden:
            assert word not in line, f"{word!r} in {line!r}"
    # PID 1 (the init, root's) is hidden from the student's uid.
    assert [line for line in facts if line.startswith("CMDLINE /proc/1/")] == [
        "CMDLINE /proc/1/cmdline FileNotFoundError"
    ]
    assert "CMDLINE /proc/self/cmdline /opt/python/venv/bin/python -I /sandbox/runner.py " \
        "/sandbox/plan.json " in facts  # fmt: skip
    mounts = [line.split()[2:] for line in facts if line.startswith("MOUNTINFO ")]
    targets = {fields[4] for fields in mounts}
    assert {"/", "/opt/python", "/sandbox", "/submission", "/job", "/proc"} <= targets
    assert all(line.endswith(":/") for line in facts if line.startswith("CGROUP "))
    assert "EXECUTABLE /opt/python/venv/bin/python /opt/python/base/bin/python3.11" in facts


@needs_full
@pytest.mark.parametrize("case", ["host_facts"], ids=["host_facts"])
def test_grader_is_absent_from_the_sandbox(runs, case):
    """(editable install: this checkout) Can the sandbox's Python not find the grader package,
    and is no file of reference/mnist/data readable anywhere in it, by name or by content?"""
    lines = runs[case].record.stdout.splitlines()
    assert "FIND grader None" in lines
    assert "FIND keras found" in lines  # the rest of site-packages is there
    assert [line for line in lines if line.startswith("FOUND")] == []
    scanned = next(int(line.split()[1]) for line in lines if line.startswith("SCANNED"))
    assert scanned > 10_000  # the walk did cover the sandbox's file system


WHEEL_PROBE = """
import json, sys
from pathlib import Path
import grader
from grader.run import sandbox
from grader.config import Budget, Limits, TrainSpec
from grader.run.submission import prepare
args = json.loads(sys.argv[1])
work = Path(args["work"])
prepared = prepare(Path(args["source"]), work / "code", tuple(args["contract"]))
spec = TrainSpec(epochs=1, batch_size=100)
outcome = sandbox.run_job(
    job_dir=work / "job", submission_dir=prepared.directory, modules=prepared.modules,
    inputs=Path(args["inputs"]), plan=args["plan"],
    budget=Budget(train_samples=300, models={"mlp": spec, "cnn": spec}),
    limits=Limits(wall_seconds=120),
    seed=1, threads=1, isolation="full",
)
print(json.dumps({"grader": grader.__file__, "status": outcome.status,
                  "detail": outcome.detail, "stdout": outcome.stdout}))
"""


def _wheel_venv(base: Path) -> Path:
    """A venv where the grader is installed from its wheel (docs/gradescope.md), its other
    packages hard links of this venv's (no download): the wheel layout, for real."""
    import sys
    import sysconfig

    src, dist, venv = base / "src", base / "dist", base / "venv"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        (src / name).write_bytes((REPO / name).read_bytes())
    subprocess.run(["cp", "-r", str(REPO / "grader"), str(src / "grader")], check=True)
    pip = [sys.executable, "-m", "pip", "-q", "--disable-pip-version-check"]
    subprocess.run(
        [*pip, "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", str(dist),
         str(src)], check=True, capture_output=True,
    )  # fmt: skip
    wheel = next(dist.glob("keras_grader-*.whl"))
    base_python = os.path.realpath(sys._base_executable)
    subprocess.run([base_python, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = venv / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}" / "site-packages"
    ours = ("__editable__", "keras_grader", "__pycache__")
    entries = [str(p) for p in Path(sysconfig.get_path("purelib")).iterdir()
               if not p.name.startswith(ours)]  # fmt: skip
    linked = subprocess.run(["cp", "-al", *entries, str(site)], capture_output=True, text=True)
    if linked.returncode != 0:
        pytest.skip(f"cannot hard-link this venv's packages: {linked.stderr.strip()[:200]}")
    subprocess.run(
        [*pip, "install", "--no-deps", "--no-index", "--target", str(site), str(wheel)],
        check=True, capture_output=True,
    )  # fmt: skip
    assert (site / "grader" / "run" / "runner.py").is_file()
    return venv


@needs_full
@pytest.mark.full  # builds and installs a wheel
def test_grader_is_absent_from_the_sandbox_with_a_wheel_install(runs, tmp_path):
    """With the grader installed as a wheel (site-packages/grader/), can the sandbox's Python
    still not find it, and is no file of the assignment's data readable?"""
    venv = _wheel_venv(tmp_path)
    work = tmp_path / "work"
    args = {
        "work": str(work),
        "source": str(runs.source("host_facts")),
        "inputs": str(runs.host.work / "inputs.npz"),
        "plan": runs.config.plan_json(),
        "contract": list(runs.config.modules),
    }
    env = {**os.environ, "KERAS_GRADER_PYTHON_IMAGES": str(tmp_path / "images")}
    done = subprocess.run(
        [str(venv / "bin" / "python"), "-I", "-c", WHEEL_PROBE, json.dumps(args)],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["grader"].startswith(str(venv))  # the wheel's grader ran the sandbox
    assert result["status"] == "ok", result["detail"]
    lines = result["stdout"].splitlines()
    assert "FIND grader None" in lines
    assert "FIND keras found" in lines
    assert [line for line in lines if line.startswith("FOUND")] == []
    for line in lines:
        if line.split(" ", 1)[0] in FACT_TAGS:
            assert str(venv) not in line and str(REPO) not in line, line


@needs_full
def test_output_spam_keeps_the_first_and_last_part(runs):
    """Does printing 100 MiB keep the first and last 64 KiB, with a marker between them?"""
    out = runs["print_100mb"].record.stdout
    assert len(out.encode()) < 2 * (64 << 10) + 1024
    lines = out.splitlines()
    assert lines[0] == lines[-1] == "x" * 1023
    marker = next(line for line in lines if line.startswith("[... output truncated: "))
    assert "bytes of stdout dropped here; 104,857,600 bytes printed in all" in marker


@needs_full
@pytest.mark.parametrize("case", ["fake_results"], ids=["fake_results"])
def test_fake_results_never_reach_the_host(runs, case):
    """Does a results.json planted from inside the sandbox never appear on the host?"""
    outcome = runs[case]
    job = phase1.run_dir(runs.host.work, case)
    assert [p for p in iter_files(job) if os.path.basename(p) == "results.json"] == []
    assert not (runs.host.work / "results.json").exists()
    assert not (runs.host.out / "results.json").exists()
    assert not Path("/results.json").exists()
    assert outcome.record.status == "ok"


@needs_full
@pytest.mark.parametrize(
    ("case", "layer"), [("lambda_layer", "'Lambda'"), ("custom_layer", "'Doubler'")],
    ids=["lambda", "custom_layer"],
)  # fmt: skip
def test_model_with_student_code_is_refused(runs, case, layer):
    """Is a model holding a Lambda or a custom layer refused by the trusted reader, by name?"""
    artifacts = runs[case].artifacts
    for which in ("untrained", "trained"):
        with pytest.raises(ArtifactError, match="cannot rebuild safely") as err:
            artifacts.model("mlp", which)
        assert layer in str(err.value)


@needs_full
@pytest.mark.parametrize("case", ["disguised_dense"], ids=["disguised_dense"])
def test_disguised_layer_comes_back_as_genuine_keras(runs, case):
    """Does a custom layer posing as keras.layers.Dense come back only as Keras's own Dense?"""
    import keras

    model = runs[case].artifacts.model("mlp", "untrained")
    assert [type(layer) for layer in model.layers] == [keras.layers.Dense, keras.layers.Dense]
    x = np.ones((1, 784), dtype="float32")
    kernel, bias = model.layers[0].get_weights()
    expected = np.maximum(x @ kernel + bias, 0)  # no doubling: the student's call() is gone
    hidden = keras.Model(model.inputs, model.layers[0].output)
    np.testing.assert_allclose(hidden.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-5)


@needs_full
@pytest.mark.full  # the gate keeps the other forged results
def test_one_hot_always_equal_is_not_an_array(runs):
    """Is a one_hot() result equal to everything recorded as not an ndarray and not saved?"""
    outcome = runs["one_hot_always_equal"]
    for call in ("one_hot", "one_hot:train"):
        result = _calls(outcome)[call]["result"]
        assert result["type"] == "submission.AlwaysEqual"
        assert (result["exact_ndarray"], result["convertible"]) == (False, False)
        assert "file" not in result
        with pytest.raises(ArtifactError, match="returned nothing the grader could save"):
            outcome.artifacts.array(call)
    assert _calls(outcome)["train:mlp"]["status"] != "ok"


@needs_full
@pytest.mark.full  # the gate keeps the other forged results
def test_one_hot_ndarray_subclass_loses_its_tricks(runs):
    """Is an ndarray subclass recorded as such, and saved as a plain array with honest ==?"""
    outcome = runs["one_hot_ndarray_subclass"]
    result = _calls(outcome)["one_hot"]["result"]
    assert result["type"] == "submission.Sneaky"
    assert (result["exact_ndarray"], result["convertible"]) == (False, True)
    saved = outcome.artifacts.array("one_hot")
    assert type(saved) is np.ndarray
    expected = np.eye(10, dtype="float32")[runs.inputs["probe_labels"]]
    assert not (saved == expected).all()


def _expected(runs: Runs, call: str) -> np.ndarray | None:
    x = runs.inputs["x_train"][:256].astype("float32") / 255
    return {
        "flatten_and_scale": x.reshape(len(x), -1),
        "reshape_for_cnn": x[..., None],
        "one_hot": np.eye(10, dtype="float32")[runs.inputs["probe_labels"]],
        "one_hot:train": np.eye(10, dtype="float32")[runs.inputs["y_train"][:256]],
    }.get(call)


@needs_full
@pytest.mark.full  # the gate keeps the other forged artifacts
def test_monkeypatched_numpy_artifacts_are_refused(runs):
    """When numpy.savez is replaced, is every array and model the runner saved refused?"""
    outcome = runs["monkeypatch_numpy"]
    files = [c["result"]["file"] for c in _calls(outcome).values() if "file" in c.get("result", {})]
    assert len(files) >= 6
    for call, record in _calls(outcome).items():
        if "file" in record.get("result", {}):
            with pytest.raises(ArtifactError, match="not a plain .npz"):
                outcome.artifacts.array(call)
    for kind in ("mlp", "cnn"):
        for which in ("untrained", "trained"):
            with pytest.raises(ArtifactError, match="not a plain .npz"):
                outcome.artifacts.model(kind, which)


@needs_full
def test_monkeypatched_io_leaves_artifacts_correct(runs):
    """When open(), os.* and json.dumps are replaced, are the runner's artifacts still correct?"""
    outcome = runs["monkeypatch_builtins_os"]
    assert outcome.manifest["finished"] is True
    for call in ("flatten_and_scale", "reshape_for_cnn", "one_hot", "one_hot:train"):
        np.testing.assert_array_equal(outcome.artifacts.array(call), _expected(runs, call))
    for kind, first in (("mlp", "Dense"), ("cnn", "Conv2D")):
        model = outcome.artifacts.model(kind, "trained")
        assert type(model.layers[0]).__name__ == first


@needs_full
def test_faked_training_is_seen_through(runs):
    """When keras.Model.fit/evaluate only pretend, does the rebuilt model show no training?"""
    outcome = runs["monkeypatch_keras"]
    facts = outcome.manifest["models"]["mlp"]
    assert facts["history"]["accuracy"] == [1.0]  # the forged claim, recorded as such
    assert _calls(outcome)["evaluate:mlp"]["result"] == [0.0, 1.0]
    assert facts["iterations"] == 0
    untrained = outcome.artifacts.model("mlp", "untrained").get_weights()
    trained = outcome.artifacts.model("mlp", "trained")
    for before, after in zip(untrained, trained.get_weights(), strict=True):
        np.testing.assert_array_equal(before, after)
    data = outcome.artifacts.arrays(facts["eval_data"])
    predicted = trained.predict(data["x"], verbose=0).argmax(axis=1)
    assert (predicted == data["y"].argmax(axis=1)).mean() < 0.5  # chance, not the claimed 1.0


FORGED_ARRAYS = {
    "flatten_and_scale": "not a plain relative path",  # ../../inputs.npz
    "flatten_and_scale:test": "not a plain relative path",  # /etc/passwd
    "reshape_for_cnn": "is missing",  # a symlink: never copied out
    "reshape_for_cnn:test": "is missing",  # a FIFO: never copied out
    "one_hot": "Object arrays cannot be loaded",  # a pickle
    "one_hot:train": "not a plain .npz",  # a bare .npy
    "predict:mlp": "is missing",  # etc/passwd through a symlinked folder
    "predict:cnn": "inflates to more than 512 MiB",  # a decompression bomb
}
FORGED_MODELS = {
    ("mlp", "untrained"): "'Lambda'",
    ("mlp", "trained"): "not valid JSON",  # nested 100,000 deep
    ("cnn", "untrained"): "not a plain relative path",  # the reference's own model
}


@needs_full
@pytest.mark.parametrize("call", sorted(FORGED_ARRAYS), ids=sorted(FORGED_ARRAYS))
def test_forged_array_is_refused(runs, call):
    """Is each forged array artifact (path, link, FIFO, pickle, .npy, bomb) refused?"""
    with pytest.raises(ArtifactError, match=re.escape(FORGED_ARRAYS[call])):
        runs["forged_artifacts"].artifacts.array(call)


@needs_full
@pytest.mark.parametrize(
    "model", sorted(FORGED_MODELS), ids=["-".join(m) for m in sorted(FORGED_MODELS)]
)
def test_forged_model_is_refused(runs, model):
    """Is each forged model (hidden Lambda, JSON nested too deep, another job's files) refused?"""
    with pytest.raises(ArtifactError, match=re.escape(FORGED_MODELS[model])):
        runs["forged_artifacts"].artifacts.model(*model)


@needs_full
def test_missing_module_is_noted(runs):
    """Does a folder without training.py say so in the run's notes?"""
    assert "training.py is missing from the submission" in runs["missing_module"].record.notes


@needs_full
def test_a_module_that_does_not_import_is_labelled_so(runs):
    """Is a run that finished (status ok) but could not import a module labelled `could not
    import`, naming the module (issue 15: not "ok" with 0); and a run that imported everything,
    however hostile, not?"""
    from grader.report.results import attempt_of

    for name, module in (("missing_module", "training.py"), ("syntax_error", "submission.py")):
        label, detail = attempt_of(runs[name].artifacts.manifest["calls"])
        assert label == "could not import" and module in detail, (name, detail)
    assert attempt_of(runs["network"].artifacts.manifest["calls"]) == ("", "")


# ---- submissions refused before any sandbox starts ------------------------------------------


def _zip(path: Path, entries: list[tuple[zipfile.ZipInfo | str, bytes]], level=None) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as zf:
        for info, data in entries:
            zf.writestr(info, data)
    return path


def _symlink_entry(name: str, target: str) -> tuple[zipfile.ZipInfo, bytes]:
    info = zipfile.ZipInfo(name)
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    info.create_system = 3
    return (info, target.encode())


def _zip_bomb(path: Path, size: int, level: int) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as zf:
        with zf.open("submission.py", "w", force_zip64=True) as member:
            zeros = bytes(1 << 20)
            for _ in range(size >> 20):
                member.write(zeros)
    return path


def _encrypted(path: Path) -> Path:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("submission.py", "x = 1\n")
    data = bytearray(buf.getvalue())
    data[6] |= 1  # "encrypted" flag, local header
    central = data.index(b"PK\x01\x02")
    data[central + 8] |= 1  # and central directory
    path.write_bytes(bytes(data))
    return path


def _bad_crc(path: Path) -> Path:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("submission.py", "x = 1\n" * 50)
    data = bytearray(buf.getvalue())
    data[data.index(b"x = 1") + 12] = ord("y")
    path.write_bytes(bytes(data))
    return path


OK_PY = b"def one_hot(labels, num_classes=10):\n    return labels\n"
REFUSED = {
    "zip_symlink_to_passwd": (
        lambda d: _zip(d / "s.zip", [("submission.py", OK_PY), _symlink_entry("p", "/etc/passwd")]),
        "zip entry 'p' is a symbolic link",
    ),
    "zip_bomb_1gb": (lambda d: _zip_bomb(d / "b.zip", 1 << 30, 1), "more than 50 MiB in all"),
    "zip_bomb_ratio": (lambda d: _zip_bomb(d / "r.zip", 40 << 20, 9), "expands 200x: a zip bomb?"),
    "zip_dotdot": (
        lambda d: _zip(d / "dd.zip", [("submission.py", OK_PY), ("../../evil.py", OK_PY)]),
        "zip entry '../../evil.py' points outside the archive",
    ),
    "zip_absolute": (
        lambda d: _zip(d / "abs.zip", [("/tmp/PWNED-abs.py", OK_PY)]),
        "zip entry '/tmp/PWNED-abs.py' has an absolute path",
    ),
    "zip_bad_crc": (lambda d: _bad_crc(d / "crc.zip"), "cannot be extracted: Bad CRC-32"),
    "zip_encrypted": (lambda d: _encrypted(d / "enc.zip"), "cannot be extracted"),
    "zip_same_name_twice": (
        lambda d: _zip(d / "twice.zip", [("models.py", OK_PY), ("models.py", OK_PY)]),
        "cannot be extracted: File exists",
    ),
    "notebook_not_json": (
        lambda d: CORPUS / "notebook_not_json" / "notebook.ipynb",
        "notebook.ipynb is not a valid notebook (not JSON",
    ),
    "notebook_not_a_notebook": (
        lambda d: CORPUS / "notebook_not_a_notebook" / "notebook.ipynb",
        "notebook.ipynb is JSON but not a Jupyter notebook",
    ),
}


@pytest.mark.parametrize("case", sorted(REFUSED), ids=sorted(REFUSED))
def test_refused_submission(case, tmp_path):
    """Is each malicious zip or broken notebook refused as sandbox_error, with nothing extracted?"""
    import warnings

    make, words = REFUSED[case]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate name
        source = make(tmp_path)
    work = tmp_path / "work"
    record = phase1.run_student(source, case, find_assignment("mnist"), None, work)
    assert record.status == "sandbox_error"
    assert record.detail.startswith("submission refused: ")
    assert words in record.detail
    assert (record.out_dir, record.isolation) == (None, "none")
    assert len(record.content_hash) == 64
    assert sorted(p.name for p in (work / "runs").iterdir()) == [case]
    assert sorted(p.name for p in work.iterdir()) == ["runs"]
    assert not (work / "evil.py").exists() and not (tmp_path / "evil.py").exists()
    assert not Path("/tmp/PWNED-abs.py").exists()
    assert str(tmp_path) not in record.detail  # no host paths shown to the student


# ---- what of the grader the sandbox's Python leaves out ------------------------------------


def test_grader_entries_in_every_install_layout(tmp_path):
    """In a site-packages folder, is everything of the grader found, whatever the layout (a
    wheel's package and record, an editable install's .pth, finder and cached finder, a
    legacy egg-link, a .pth or a link into the checkout), and nothing else?"""
    from grader.run.sandbox import grader_entries

    site = tmp_path / "site-packages"
    (site / "numpy").mkdir(parents=True)
    (site / "grader" / "data").mkdir(parents=True)
    (site / "grader_helpers.py").write_text("")
    dist = site / "keras_grader-0.1.0.dist-info"
    dist.mkdir()
    (dist / "RECORD").write_text(
        "grader/__init__.py,sha256=x,1\ngrader_helpers.py,,\n"
        "__pycache__/grader_helpers.cpython-311.pyc,,\n../../../bin/grader,,\n"
    )
    (site / "__pycache__").mkdir()
    (site / "__pycache__" / "six.cpython-311.pyc").write_bytes(b"")
    (site / "__editable__.keras_grader-0.1.0.pth").write_text("import __editable___keras_grader")
    (site / "__editable___keras_grader_0_1_0_finder.py").write_text(f"M = '{REPO}/grader'")
    (site / "keras-grader.egg-link").write_text(f"{REPO}\n.\n")
    (site / "easy-install.pth").write_text(f"{REPO}\n")
    (site / "other.pth").write_text("/opt/elsewhere\nimport os\n")
    (site / "linked").symlink_to(REPO / "grader")
    assert grader_entries(str(site)) == sorted([
        "grader", "grader_helpers.py", "keras_grader-0.1.0.dist-info",
        "__pycache__/grader_helpers.cpython-311.pyc", "__editable__.keras_grader-0.1.0.pth",
        "__editable___keras_grader_0_1_0_finder.py", "keras-grader.egg-link",
        "easy-install.pth", "linked",
    ])  # fmt: skip
