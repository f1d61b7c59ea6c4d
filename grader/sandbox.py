"""Phase 1: run the runner on one submission inside the sandbox, and say how it ended.

The heavy lifting happens in `sandbox_init.py` (PID 1 of the new namespaces). This module
decides the isolation level, writes the job's plan, starts the init under `unshare`, waits
with a backstop timeout and turns what happened into one of the submission statuses:
ok | crash | timeout | memory | output_limit | sandbox_error, with a one-line explanation.
"""

from __future__ import annotations

import ctypes
import fcntl
import functools
import itertools
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

from grader.config import Budget, Limits
from grader.machine import ISA_ENV

HERE = Path(__file__).resolve().parent
RUNNER = HERE / "runner.py"
INIT = HERE / "sandbox_init.py"
UNSHARE = (
    "unshare", "--mount", "--net", "--pid", "--ipc", "--uts",
    "--fork", "--kill-child", "--mount-proc",
)  # fmt: skip
SANDBOX_UID_BASE = 61000
BACKSTOP_SECONDS = 60
"""Extra wall-clock time the init gets to clean up and copy out before we kill it."""

_uid_counter = itertools.count()
_uid_lock = threading.Lock()


@dataclass(frozen=True)
class RunOutcome:
    """How a sandboxed run ended (the artifacts are in the job's `out/`)."""

    status: str
    """ok | crash | timeout | memory | output_limit | sandbox_error."""
    detail: str
    """One human line; empty for ok."""
    isolation: str
    """`full` or `limited`."""
    duration: float
    stdout: str = ""
    stderr: str = ""
    out_dir: Path = Path(".")


@functools.cache
def isolation_level() -> tuple[str, str]:
    """(`full` | `limited`, why): full needs root, util-linux unshare and namespaces."""
    if os.geteuid() != 0:
        return "limited", "not running as root: no namespaces or uid switch"
    for tool in ("unshare", "setpriv", "prlimit", "chroot", "mount"):
        if shutil.which(tool) is None:
            return "limited", f"{tool} (util-linux/coreutils) not found"
    probe = subprocess.run(
        [*UNSHARE, "true"], capture_output=True, text=True, stdin=subprocess.DEVNULL
    )
    if probe.returncode != 0:
        return "limited", f"unshare failed: {probe.stderr.strip()[:200]}"
    return "full", "namespaces, chroot, unprivileged uid, rlimits"


def python_paths() -> list[str]:
    """Directories the sandboxed interpreter needs: the base Python and the venv."""
    paths = {os.path.realpath(sys.base_prefix), os.path.realpath(sys.prefix)}
    return sorted(paths)


def _die_with_parent() -> None:
    # If the grader is killed (even SIGKILL), unshare dies, and with it the namespace.
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


UID_LOCKS = Path(os.environ.get("KERAS_GRADER_UID_LOCKS", "/tmp/keras-grader-uids"))
UID_RANGE = 4000


def _claim_uid() -> tuple[int, int]:
    """A uid no other run holds (on this machine, across grader processes), and its lock.

    Each run gets a uid of its own, so one run's process limit never counts another's and
    no run can signal another's processes. The claim is an exclusive flock on a file per
    uid, held (fd open) until the run ends: `os.close(fd)` releases it.
    """
    UID_LOCKS.mkdir(mode=0o700, parents=True, exist_ok=True)
    with _uid_lock:
        start = (os.getpid() * 131 + next(_uid_counter)) % UID_RANGE
    for step in range(UID_RANGE):
        uid = SANDBOX_UID_BASE + (start + step) % UID_RANGE
        fd = os.open(UID_LOCKS / f"{uid}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        return uid, fd
    raise RuntimeError(f"all {UID_RANGE} sandbox uids are in use")


def run_job(
    *,
    job_dir: Path,
    submission_dir: Path,
    modules: dict[str, str],
    inputs: Path,
    fallback_models: dict[str, Path],
    budget: Budget,
    limits: Limits,
    seed: int,
    threads: int,
    save_full: bool = False,
    isolation: str | None = None,
    environment: tuple[str, ...] = (),
) -> RunOutcome:
    """Run the runner on one prepared submission; never raises for anything the student did.

    Args:
        job_dir: fresh directory for this run (plan, logs, and `out/` with the artifacts).
        submission_dir: the normalised submission (mounted read-only).
        modules: contract module -> module name to import.
        inputs: the shared `.npz` of inputs (training split, test images, fallbacks).
        fallback_models: reference model specs by kind (`mlp`, `cnn`), JSON files.
        budget: the training budget.
        limits: resource limits.
        seed: seed for Python, NumPy and Keras.
        threads: TensorFlow intra-op threads.
        save_full: keep whole training-set outputs (the reference's run: students' fallbacks).
        isolation: force `full` or `limited`; default: the best this machine allows.
    """
    level, why = isolation_level()
    if isolation == "limited" or (isolation is None and level == "limited"):
        level = "limited"
    elif isolation == "full" and level != "full":
        return RunOutcome("sandbox_error", f"full isolation unavailable: {why}", level, 0.0)
    # The sandbox chroots and bind-mounts these: relative paths (`--out out/`) would not resolve.
    job_dir, submission_dir = Path(job_dir).absolute(), Path(submission_dir).absolute()
    inputs = Path(inputs).absolute()
    fallback_models = {kind: Path(p).absolute() for kind, p in fallback_models.items()}
    if job_dir.exists():
        shutil.rmtree(job_dir)
    out_dir = job_dir / "out"
    work = job_dir / "work"
    out_dir.mkdir(parents=True)
    work.mkdir()
    full = level == "full"
    plan = {
        "submission": "/submission" if full else str(submission_dir),
        "modules": modules,
        "inputs": "/sandbox/inputs.npz" if full else str(inputs),
        "out": "/job/out" if full else str(out_dir),
        "workdir": "/job/work" if full else str(work),
        "seed": seed,
        "threads": threads,
        "save_full": save_full,
        "environment": list(environment),
        "budget": {
            "train_samples": budget.train_samples,
            "mlp": vars(budget.mlp),
            "cnn": vars(budget.cnn),
        },
        "fallback_models": {
            kind: (f"/sandbox/fallback_{kind}.json" if full else str(path))
            for kind, path in fallback_models.items()
        },
    }
    plan_path = job_dir / "plan.json"
    plan_path.write_text(json.dumps(plan, indent=1))
    uid, uid_lock = _claim_uid()
    cfg = {
        "isolation": level,
        "root": str(job_dir / "root"),
        "uid": uid,
        "python": sys.executable,
        "python_paths": python_paths(),
        "runner": str(RUNNER),
        "plan": str(plan_path),
        "inputs": str(inputs),
        "fallback_models": {k: str(v) for k, v in fallback_models.items()},
        "submission": str(submission_dir),
        "workdir": str(work),
        "host_out": str(out_dir),
        "report": str(job_dir / "sandbox.json"),
        "seed": seed,
        "threads": threads,
        "onednn_max_cpu_isa": os.environ.get(ISA_ENV) or None,
        "job_size_mib": limits.job_size_mib,
        "limits": {
            "memory_mib": limits.memory_mib,
            "cpu_seconds": limits.cpu_seconds,
            "file_size_mib": limits.file_size_mib,
            "open_files": limits.open_files,
            "processes": limits.processes,
            "wall_seconds": limits.wall_seconds,
            "output_keep_kib": limits.output_keep_kib,
            "output_limit_mib": limits.output_limit_mib,
            "job_size_mib": limits.job_size_mib,
        },
    }
    cfg_path = job_dir / "sandbox-config.json"
    cfg_path.write_text(json.dumps(cfg, indent=1))
    if not full:
        for path in (work, out_dir):
            path.chmod(0o777)
    argv = [sys.executable, "-I", str(INIT), str(cfg_path)]
    if full:
        argv = [*UNSHARE, *argv]
    log_path = job_dir / "sandbox.log"
    try:
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                preexec_fn=_die_with_parent,
            )
            try:
                code = proc.wait(timeout=limits.wall_seconds + BACKSTOP_SECONDS)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                code = None
    finally:
        os.close(uid_lock)
    report = _read_report(job_dir / "sandbox.json")
    if full and (job_dir / "root").exists():
        shutil.rmtree(job_dir / "root", ignore_errors=True)  # only mount points, now empty
    return classify(code, report, log_path, out_dir, limits, level)


def _read_report(path: Path) -> dict | None:
    try:
        with open(path, "rb") as f:
            data = json.loads(f.read(4 << 20))
        return data if isinstance(data, dict) else None
    except (OSError, ValueError):
        return None


def _manifest(out_dir: Path) -> dict:
    from grader.artifacts import read_manifest  # local: keeps this module light

    try:
        return read_manifest(out_dir)
    except Exception:  # noqa: BLE001 - any malformed manifest: nothing to say from it
        return {}


MEMORY_SIGNS = ("MemoryError", "std::bad_alloc", "Cannot allocate memory", "OOM when allocating")


def classify(
    code: int | None,
    report: dict | None,
    log_path: Path,
    out_dir: Path,
    limits: Limits,
    level: str,
) -> RunOutcome:
    """Turn the init's exit and report into a status with a one-line explanation."""
    if report is None:
        log = log_path.read_text(errors="replace").strip().splitlines() if log_path.exists() else []
        last = log[-1] if log else f"init exited with {code}"
        return RunOutcome("sandbox_error", f"the sandbox failed: {last[:300]}", level, 0.0)
    stdout, stderr = str(report.get("stdout", "")), str(report.get("stderr", ""))
    setup_tool = re.match(r"\s*(/usr/s?bin/)?(chroot|setpriv|prlimit|env): ", stderr)
    if report.get("exit_code") in (125, 126, 127) and setup_tool:
        # The sandbox's own tools failed before any student code ran: not the student's crash.
        first = stderr.strip().splitlines()[0][:300]
        return RunOutcome("sandbox_error", f"the sandbox failed: {first}", level, 0.0)
    duration = float(report.get("duration", 0.0))
    manifest = _manifest(out_dir)
    calls = manifest.get("calls", {}) if isinstance(manifest.get("calls"), dict) else {}
    current = manifest.get("current")
    during = f" (while running {current})" if isinstance(current, str) else ""

    def outcome(status: str, detail: str) -> RunOutcome:
        return RunOutcome(status, detail, level, duration, stdout, stderr, out_dir)

    reason = report.get("reason")
    sig = report.get("signal")
    gib = limits.memory_mib / 1024
    if reason == "timeout":
        return outcome(
            "timeout",
            f"killed after {limits.wall_seconds:g} s wall-clock{during}: an infinite loop?",
        )
    if reason == "output_limit":
        return outcome(
            "output_limit",
            f"printed more than {limits.output_limit_mib} MiB{during}: stopped (print less)",
        )
    if sig == signal.SIGXCPU:
        return outcome("timeout", f"used more than {limits.cpu_seconds} CPU seconds{during}")
    oom_call = next(
        (
            name
            for name, c in calls.items()
            if isinstance(c, dict) and c.get("exc_type") == "MemoryError"
        ),
        None,
    )
    if oom_call or any(s in stderr for s in MEMORY_SIGNS):
        where = f" in {oom_call}" if oom_call else during
        return outcome("memory", f"ran out of memory{where} (limit {gib:g} GiB)")
    if "No space left on device" in stderr:
        return outcome(
            "crash",
            f"the job directory filled up (limit {limits.job_size_mib} MiB){during}: "
            "write less (no datasets or many saved models)",
        )
    if sig is not None:
        name = signal.Signals(sig).name if sig in iter(signal.Signals) else str(sig)
        return outcome("crash", f"killed by {name}{during}")
    exit_code = report.get("exit_code")
    if exit_code != 0:
        return outcome("crash", f"exited with code {exit_code}{during} before finishing")
    if manifest.get("finished") is not True:
        return outcome(
            "crash", f"exited before finishing{during}: os._exit() or a hard crash in student code?"
        )
    return outcome("ok", "")
