"""Each sandbox in a cgroup of its own, for real: memory of the whole sandbox, its tasks, its CPU
(an equal weight per sandbox and a quota), and the cgroup gone after every run.

The sandboxed tests run real submissions through grader.run.sandbox.run_job with full isolation,
against the reference's inputs (run once, cached like tests/test_adversarial.py's). They are
skipped, with the reason, only where full isolation or cgroups cannot be had. The last tests
check the cgroup v2 files and the classification without a sandbox (this machine's memory,
pids and cpu controllers are v1: its cgroup2 mount offers hugetlb only).
"""

from __future__ import annotations

import dataclasses
import os
import re
import textwrap
import threading
import time
from pathlib import Path

import pytest
from mnist import load_mnist, prepare

from grader.config import Limits, TrainSpec, find_assignment
from grader.run import local as phase1
from grader.run import sandbox

FULL, WHY_NOT_FULL = sandbox.isolation_level()
SUPPORT = sandbox.cgroup_support() if hasattr(sandbox, "cgroup_support") else None
needs_cgroups = pytest.mark.skipif(
    FULL != "full" or (SUPPORT is not None and SUPPORT.version is None),
    reason=f"full isolation with cgroups unavailable here ({WHY_NOT_FULL})",
)
MIB = 1 << 20


def limits(**wanted) -> Limits:
    """Limits with these settings (any this grader does not know are left out, so that the
    tests fail on what the sandbox does, not on a missing setting)."""
    known = {k: v for k, v in wanted.items() if k in Limits.__dataclass_fields__}
    return Limits(**{"wall_seconds": 120, **known})


class Sandbox:
    """The reference's inputs and fallbacks once, then any number of submissions run."""

    def __init__(self, base: Path) -> None:
        config = find_assignment("mnist")
        self.base = base
        self.work = base / "work"
        self.budget = dataclasses.replace(
            config.budget("quick"),
            name="adversarial",
            train_samples=300,
            models={
                "mlp": TrainSpec(epochs=1, batch_size=100, validation_split=0.2),
                "cnn": TrainSpec(epochs=1, batch_size=100),
            },
        )
        reference = phase1.run_reference(
            config, load_mnist("bundled"), self.budget, "bundled", self.work, isolation="full"
        )
        assert reference.status == "ok", reference.detail
        self.count = 0
        self.lock = threading.Lock()
        self.outcomes: list[sandbox.RunOutcome] = []

    def run(self, code: str, **wanted) -> sandbox.RunOutcome:
        with self.lock:
            self.count += 1
            folder = self.base / f"run{self.count}"
        folder.mkdir()
        (folder / "submission.py").write_text(textwrap.dedent(code))
        prepared = prepare(folder / "submission.py", folder / "code")
        outcome = sandbox.run_job(
            job_dir=folder / "job",
            submission_dir=prepared.directory,
            modules=prepared.modules,
            inputs=self.work / "inputs.npz",
            plan=find_assignment("mnist").plan_json(),
            budget=self.budget,
            limits=limits(**wanted),
            seed=1234,
            threads=1,
            isolation="full",
        )
        self.outcomes.append(outcome)
        return outcome


@pytest.fixture(scope="module")
def box(tmp_path_factory) -> Sandbox:
    if FULL != "full":
        pytest.skip(f"full isolation unavailable here ({WHY_NOT_FULL})")
    return Sandbox(tmp_path_factory.mktemp("cgroups"))


def _gone(outcome: sandbox.RunOutcome) -> None:
    """The run's cgroup folders are gone, and nothing of its uid's cgroups is left."""
    folders = outcome.resources["cgroup"]["folders"]
    assert folders, "no cgroup was made"
    assert outcome.resources["removed"] is True
    for folder in folders:
        assert not os.path.exists(folder), folder


def _value(stdout: str, tag: str) -> str:
    return next(line.split(" ", 1)[1] for line in stdout.splitlines() if line.startswith(tag))


# ---- memory of the whole sandbox ----------------------------------------------------------

THREE_ALLOCATIONS = """
    import subprocess, sys

    HOLD = "import time; data = b'x' * ({mib} << 20); print('HELD', flush=True); time.sleep(8)"
    children = [subprocess.Popen([sys.executable, "-c", HOLD]) for _ in range(3)]
    print("EXITS", [child.wait() for child in children])
"""


@needs_cgroups
def test_processes_together_over_the_sandbox_limit_end_as_memory(box):
    """Three processes of 700 MiB each, each well under the per-process limit (6 GiB): do
    they together hit the sandbox's 1.5 GiB and end the run as `memory`, with the reason?"""
    outcome = box.run(THREE_ALLOCATIONS.format(mib=700), sandbox_memory_mib=1536)
    assert outcome.status == "memory", f"{outcome.status}: {outcome.detail}"
    assert "the sandbox's processes together reached its 1.5 GiB limit" in outcome.detail
    assert "the kernel stopped" in outcome.detail
    assert outcome.resources["oom_kills"] >= 1
    assert outcome.resources["memory_peak"] <= 1536 * MIB
    print(f"memory: {outcome.detail}; peak {outcome.resources['memory_peak'] / MIB:.0f} MiB")
    _gone(outcome)


@needs_cgroups
@pytest.mark.full  # the gate keeps the over-the-limit case
def test_processes_together_under_the_sandbox_limit_run_normally(box):
    """The same three processes at 200 MiB each (600 MiB in all): an ordinary `ok` run?"""
    outcome = box.run(THREE_ALLOCATIONS.format(mib=200), sandbox_memory_mib=1536)
    assert (outcome.status, outcome.detail) == ("ok", "")
    assert _value(outcome.stdout, "EXITS") == "[0, 0, 0]"
    assert 600 * MIB < outcome.resources["memory_peak"] <= 1536 * MIB
    _gone(outcome)


# ---- tasks ------------------------------------------------------------------------------

FORK_LOOP = """
    import os, signal, time

    children = []
    while True:
        try:
            pid = os.fork()
        except OSError as exc:
            print("REFUSED", type(exc).__name__, flush=True)
            break
        if pid == 0:
            time.sleep(60)
            os._exit(0)
        children.append(pid)
    print("FORKED", len(children), flush=True)
    for pid in children:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
"""


@needs_cgroups
def test_fork_loop_is_capped_by_the_sandbox_task_limit(box):
    """Does a fork loop stop at the cgroup's task limit (300 here), the kernel refusing the
    next fork, and does the run then go on and finish normally?"""
    outcome = box.run(FORK_LOOP, processes=300)
    assert (outcome.status, outcome.detail) == ("ok", "")
    assert _value(outcome.stdout, "REFUSED") == "BlockingIOError"  # EAGAIN
    forked = int(_value(outcome.stdout, "FORKED"))
    assert 100 < forked < 300
    r = outcome.resources
    print(f"tasks: {forked} forks, peak {r['pids_peak']} tasks, {r['pids_denied']} refused")
    assert outcome.resources["pids_denied"] >= 1  # refused by the cgroup, not by the rlimit
    assert outcome.resources["pids_peak"] <= 300
    _gone(outcome)


# ---- CPU --------------------------------------------------------------------------------

HONEST = """
    total = 0
    for i in range(8_000_000):
        total += i
"""
NEIGHBOUR = """
    import os, time

    end = time.monotonic() + {seconds}
    for _ in range(16):
        if os.fork() == 0:
            while time.monotonic() < end:
                pass
            os._exit(0)
    while time.monotonic() < end:
        pass
    for _ in range(16):
        os.wait()
"""


@needs_cgroups
@pytest.mark.full  # a CPU-time measurement
def test_busy_neighbour_does_not_push_an_honest_run_into_timeout(box):
    """A sandbox spinning 17 busy loops next to an honest run: does the honest run still
    finish within a wall clock of 2.5 times its own time alone (plus 10 s)? Each sandbox
    gets the same CPU weight, so the neighbour's loops share one sandbox's part."""
    alone = box.run(HONEST)
    assert alone.status == "ok", alone.detail
    wall = round(2.5 * alone.duration + 10)
    neighbour: list[sandbox.RunOutcome] = []
    spinning = threading.Thread(
        target=lambda: neighbour.append(box.run(NEIGHBOUR.format(seconds=wall + 15)))
    )
    spinning.start()
    try:
        time.sleep(8)  # the neighbour's runner has started and its loops spin
        honest = box.run(HONEST, wall_seconds=wall)
    finally:
        spinning.join()
    print(f"honest alone {alone.duration:.1f} s, beside the neighbour {honest.duration:.1f} s")
    assert honest.status == "ok", f"{honest.status}: {honest.detail} (alone {alone.duration} s)"
    assert neighbour[0].status == "ok", neighbour[0].detail
    _gone(honest)
    _gone(neighbour[0])


QUOTA = """
    import os, time

    end = time.monotonic() + 6
    for _ in range(8):
        if os.fork() == 0:
            while time.monotonic() < end:
                pass
            os._exit(0)
    for _ in range(8):
        os.wait()
    print("CHILD_CPU", round(os.times().children_user + os.times().children_system, 2))
"""


@needs_cgroups
@pytest.mark.full  # a CPU-time measurement
def test_cpu_quota_holds(box):
    """With a quota of half a core, do eight busy loops spinning 6 s get at most 0.5 x 6 CPU
    seconds between them (with a quarter for accounting slack), the cgroup throttled?"""
    outcome = box.run(QUOTA, cpu_cores=0.5)
    assert outcome.status == "ok", outcome.detail
    used = float(_value(outcome.stdout, "CHILD_CPU"))
    print(f"8 busy loops, 6 s, quota 0.5 core: {used} CPU s")
    assert used <= 0.5 * 6 * 1.25
    assert outcome.resources["cpu_throttled"] > 0
    _gone(outcome)


# ---- cleanup ----------------------------------------------------------------------------


@needs_cgroups
@pytest.mark.full  # the gate keeps the memory and task walls
def test_cgroup_is_removed_after_a_timeout(box):
    """Is the cgroup gone even when the run was killed by its wall clock, children and all?"""
    outcome = box.run(
        """
        import subprocess
        subprocess.Popen(["sleep", "1000"])
        while True:
            pass
        """,
        wall_seconds=10,
    )
    assert outcome.status == "timeout"
    _gone(outcome)


@needs_cgroups
def test_no_cgroup_of_this_module_is_left(box):
    """Once every run of this module is over, is none of their cgroups left anywhere?"""
    assert box.outcomes
    for outcome in box.outcomes:
        _gone(outcome)
    uids = {re.search(r"keras-grader-(\d+)", f).group(1)
            for o in box.outcomes for f in o.resources["cgroup"]["folders"]}  # fmt: skip
    for _, parent in SUPPORT.parents:
        left = [n for n in os.listdir(parent) if n.removeprefix("keras-grader-") in uids]
        assert left == []


@needs_cgroups
def test_stale_cgroups_of_a_killed_grader_are_swept():
    """A grader killed with SIGKILL leaves its run's cgroup (and maybe a process in it): does
    the next grader process remove it, killing what is inside, and leave held ones alone?"""
    import subprocess

    stale = [os.path.join(parent, "keras-grader-64999") for _, parent in SUPPORT.parents]
    probe = [os.path.join(parent, "keras-grader-probe-999999999") for _, parent in SUPPORT.parents]
    for folder in dict.fromkeys(stale + probe):
        os.mkdir(folder)
    left = subprocess.Popen(["sleep", "300"])
    try:
        for folder in dict.fromkeys(stale):
            with open(os.path.join(folder, "cgroup.procs"), "w") as f:
                f.write(str(left.pid))
        sandbox._sweep_stale_cgroups(SUPPORT)
        assert left.wait(timeout=10) == -9
    finally:
        left.kill()
        left.wait()
        for folder in dict.fromkeys(stale + probe):
            if os.path.isdir(folder):
                os.rmdir(folder)
                pytest.fail(f"{folder} was left")


@needs_cgroups
@pytest.mark.full  # the gate keeps the memory and task walls
def test_without_cgroups_the_detail_says_so(box, monkeypatch):
    """Where no cgroup can be used, does every run say so (memory per process only)?"""
    monkeypatch.setattr(
        sandbox, "cgroup_support", lambda: sandbox.CgroupSupport(None, (), "none in this test")
    )
    outcome = box.run("x = 1\n")
    assert outcome.status == "ok"
    assert outcome.detail == (
        "no cgroup: memory limited per process only, CPU not shared fairly (none in this test)"
    )
    assert outcome.resources == {}


# ---- without a sandbox: cgroup v2 files, classification ----------------------------------


def test_cgroup_v2_limits_and_counts(tmp_path):
    """In a (simulated) cgroup v2 folder: are the limits written as the kernel wants them,
    and are OOM kills, refused forks, peaks and CPU read back?"""
    folder = tmp_path / "keras-grader-61000"
    folder.mkdir()
    cgroup = sandbox.RunCgroup("v2", {"": str(folder)})
    cgroup._limit(Limits(sandbox_memory_mib=1024, processes=300, cpu_cores=1.5))
    written = {p.name: p.read_text() for p in folder.iterdir()}
    assert written == {
        "memory.max": str(1 << 30),
        "memory.swap.max": "0",
        "pids.max": "300",
        "cpu.weight": "100",
        "cpu.max": "150000 100000",
    }
    (folder / "memory.peak").write_text(f"{900 * MIB}\n")
    (folder / "memory.events").write_text("low 0\nhigh 0\nmax 12\noom 2\noom_kill 2\n")
    (folder / "pids.peak").write_text("300\n")
    (folder / "pids.events").write_text("max 41\n")
    (folder / "cpu.stat").write_text("usage_usec 2500000\nnr_throttled 7\n")
    stats = cgroup.stats()
    assert {k: v for k, v in stats.items() if k != "cgroup"} == {
        "memory_peak": 900 * MIB,
        "oom_kills": 2,
        "pids_peak": 300,
        "pids_denied": 41,
        "cpu_seconds": 2.5,
        "cpu_throttled": 7,
    }
    assert cgroup.procs_files == [str(folder / "cgroup.procs")]


def test_mountinfo_paths_map_to_cgroup_folders():
    """Is a process's cgroup path found under its mount, whatever the mount's own root?"""
    assert sandbox._folder("/", "/sys/fs/cgroup/memory", "/a/b") == "/sys/fs/cgroup/memory/a/b"
    assert sandbox._folder("/a", "/sys/fs/cgroup", "/a/b") == "/sys/fs/cgroup/b"
    assert sandbox._folder("/x", "/sys/fs/cgroup", "/a/b") is None
    assert sandbox._unescape(r"/mnt/with\040space") == "/mnt/with space"


def test_out_of_memory_in_the_cgroup_is_status_memory(tmp_path):
    """Does an OOM kill the cgroup counted make the run `memory`, even when the runner
    itself was the process killed (SIGKILL, no MemoryError anywhere)?"""
    report = {"exit_code": None, "signal": 9, "reason": None, "stdout": "", "stderr": ""}
    outcome = sandbox.classify(
        None, report, tmp_path / "log", tmp_path, Limits(sandbox_memory_mib=2048), "full",
        resources={"oom_kills": 1},
    )  # fmt: skip
    assert outcome.status == "memory"
    assert outcome.detail == (
        "ran out of memory: the sandbox's processes together reached its 2 GiB limit, "
        "and the kernel stopped 1 of them"
    )
