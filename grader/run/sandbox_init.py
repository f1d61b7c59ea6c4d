"""The sandbox's init: trusted, standard library only, run by grader/run/sandbox.py.

With full isolation it is PID 1 of fresh mount, pid, net, ipc, uts and cgroup namespaces,
still root, already inside the run's own cgroup (memory, pids, CPU: grader/run/sandbox.py puts it
there before it starts). It builds a minimal root file system: system libraries; the Python
image (the interpreter, its standard library and site-packages WITHOUT the grader, bound at
/opt/python); copies of the runner, the plan, the inputs and the student's code in small
read-only tmpfs mounts (/sandbox, /submission); a size-capped tmpfs as the only writable place
(/job); a /proc of the new pid namespace that shows other users' processes to nobody. Every
path the student can see is neutral: no host path of the checkout, the output directory or the
student's id appears in a mount, a command line or a file name. Then it starts the runner
chrooted there under rlimits as an unprivileged uid with no capabilities and
`--no-new-privs`. It reads the runner's output (the first and last part of each stream are
kept, the middle dropped), enforces the wall clock, kills every process of the namespace when
the runner is done, copies the artifacts (regular files only, within entry, depth and byte
limits) back to the host job directory and writes `sandbox.json`.

With limited isolation (not root, no namespaces) it does the same supervision with rlimits,
a process group and a timeout, and no file-system or network isolation.

Usage: python -I sandbox_init.py CONFIG.json (grader/run/sandbox.py passes this file and the
config as inherited descriptors, `python -I /dev/fd/3 /dev/fd/4`, so that no host path shows
in the init's command line).
"""

from __future__ import annotations

import ctypes
import json
import os
import resource
import selectors
import shutil
import signal
import stat
import subprocess
import sys
import time
from collections import deque

SETUP_FAILED = 97
"""Exit code when the sandbox itself could not be built (-> status sandbox_error)."""

SYSTEM_DIRS = ("usr", "lib", "lib32", "lib64", "libx32", "bin", "sbin")
ETC_FILES = (
    "ld.so.cache",
    "ld.so.conf",
    "passwd",
    "group",
    "nsswitch.conf",
    "localtime",
    "hosts",
    "host.conf",
    "resolv.conf",
)
DEVICES = ("null", "zero", "random", "urandom", "full")
CPU_GRACE_SECONDS = 5
"""Hard CPU limit above the soft one: the kernel sends SIGXCPU (-> status timeout) at the soft
limit; with both equal it sends SIGKILL first, and the run would look like a crash."""
PYTHON_MOUNT = "/opt/python"
"""Where the Python image (grader/run/sandbox.py: `python_image`) is bound, read-only."""
STAGE_MAX_ENTRIES = 1_000
STAGE_MAX_DEPTH = 16
"""Bounds of the copy of the student's code into /submission (the grader prepared it: at most
200 files, 8 levels; these only keep a surprise from costing unbounded time)."""


def sh(*args: str) -> None:
    subprocess.run(args, check=True, stdin=subprocess.DEVNULL, capture_output=True)


def bind(source: str, target: str, *, read_only: bool = True) -> None:
    """Bind-mount source onto target (created to match), read-only unless told otherwise."""
    if os.path.isdir(source):
        os.makedirs(target, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        open(target, "a").close()
    sh("mount", "--bind", source, target)
    if read_only:
        sh("mount", "-o", "remount,bind,ro,nosuid,nodev", target)


def tmpfs(target: str, size: int, options: str = "mode=0755") -> None:
    """Mount a tmpfs of `size` bytes (rounded up to a page) on target, created if needed."""
    os.makedirs(target, exist_ok=True)
    size = max(4096, (size + 4095) // 4096 * 4096)
    sh("mount", "-t", "tmpfs", "-o", f"size={size},{options},nosuid,nodev", "tmpfs", target)


def inside(root: str, path: str) -> str | None:
    """`root + path` if it resolves (links followed) to a place under root, else None."""
    candidate = os.path.realpath(root + path)
    if candidate == root or candidate.startswith(root + os.sep):
        return candidate if os.path.lexists(candidate) else None
    return None


def staged_files(source: str) -> tuple[list[tuple[str, int]], int]:
    """Relative paths of the regular files and folders under source (folders end in /), with
    their total size: a bounded, non-recursive walk that follows no link."""
    found: list[tuple[str, int]] = []
    total = 0
    queue = deque([("", 0)])
    while queue:
        rel, depth = queue.popleft()
        with os.scandir(os.path.join(source, rel) if rel else source) as it:
            for entry in it:
                child = f"{rel}/{entry.name}" if rel else entry.name
                if len(found) >= STAGE_MAX_ENTRIES:
                    raise OSError(f"more than {STAGE_MAX_ENTRIES} entries in {source}")
                if entry.is_dir(follow_symlinks=False):
                    if depth + 1 >= STAGE_MAX_DEPTH:
                        raise OSError(f"folders nested deeper than {STAGE_MAX_DEPTH} in {source}")
                    found.append((child + "/", 0))
                    queue.append((child, depth + 1))
                elif entry.is_file(follow_symlinks=False):
                    size = entry.stat(follow_symlinks=False).st_size
                    found.append((child, size))
                    total += size
    return found, total


def stage(target: str, files: dict[str, str], trees: dict[str, str] | None = None) -> None:
    """Copy files (name -> host path) and trees (name -> host folder) into a fresh tmpfs on
    target sized to fit, then make it read-only: the sandbox sees copies at neutral paths,
    never a bind mount whose source would name a host path (in /proc/self/mountinfo)."""
    listed = {name: staged_files(path) for name, path in (trees or {}).items()}
    size = sum(os.path.getsize(path) for path in files.values())
    size += sum(total for _, total in listed.values()) + (1 << 20)
    tmpfs(target, size)
    for name, path in files.items():
        shutil.copyfile(path, os.path.join(target, name))
        os.chmod(os.path.join(target, name), 0o644)
    for name, (entries, _) in listed.items():
        base = os.path.join(target, name) if name else target
        os.makedirs(base, mode=0o755, exist_ok=True)
        for rel, _ in entries:
            dest = os.path.join(base, rel)
            if rel.endswith("/"):
                os.mkdir(dest, 0o755)
                continue
            fd = os.open(os.path.join(trees[name], rel), os.O_RDONLY | os.O_NOFOLLOW)
            with os.fdopen(fd, "rb") as src, open(dest, "wb") as out:
                shutil.copyfileobj(src, out)
            os.chmod(dest, 0o644)
    sh("mount", "-o", "remount,ro,nosuid,nodev", target)


def build_root(cfg: dict) -> str:
    """Make the minimal root file system the runner is chrooted into; return its path."""
    root = cfg["root"]
    uid = cfg["uid"]
    sh("mount", "--make-rprivate", "/")
    os.makedirs(root, exist_ok=True)
    sh("mount", "-t", "tmpfs", "-o", "size=16m,mode=0755", "tmpfs", root)
    for name in SYSTEM_DIRS:
        host = f"/{name}"
        if os.path.islink(host):
            os.symlink(os.readlink(host), f"{root}/{name}")
        elif os.path.isdir(host):
            bind(host, f"{root}/{name}")
    os.makedirs(f"{root}/etc", exist_ok=True)
    for name in ETC_FILES:
        if os.path.isfile(f"/etc/{name}"):
            bind(f"/etc/{name}", f"{root}/etc/{name}")
    os.makedirs(f"{root}/dev", exist_ok=True)
    for name in DEVICES:
        bind(f"/dev/{name}", f"{root}/dev/{name}", read_only=False)
    tmpfs(f"{root}/dev/shm", 64 << 20, "mode=1777")
    # A /proc of the new pid namespace where each user sees only its own processes: the
    # init (root, PID 1) and everything it knows are invisible to the student's uid.
    os.makedirs(f"{root}/proc", exist_ok=True)
    try:
        sh("mount", "-t", "proc", "-o", "nosuid,nodev,noexec,hidepid=invisible", "proc",
           f"{root}/proc")  # fmt: skip
    except subprocess.CalledProcessError:  # a kernel before 5.8 knows only the number
        sh("mount", "-t", "proc", "-o", "nosuid,nodev,noexec,hidepid=2", "proc", f"{root}/proc")
    size = cfg["limits"]["job_size_mib"] << 20
    tmpfs(f"{root}/job", size, f"mode=0755,uid={uid},gid={uid}")
    for sub in ("out", "work", "tmp"):
        os.makedirs(f"{root}/job/{sub}")
        os.chown(f"{root}/job/{sub}", uid, uid)
    bind(f"{root}/job/tmp", f"{root}/tmp", read_only=False)
    # Host places that must never show, should a system folder hold them (a checkout under
    # /usr/local, say): an empty read-only mount hides each one.
    for path in cfg.get("hide", []):
        target = inside(root, path)
        if target is None:
            continue
        if os.path.isdir(target):
            sh("mount", "-t", "tmpfs", "-o", "ro,size=4k,mode=0,nosuid,nodev", "tmpfs", target)
        else:
            sh("mount", "--bind", "/dev/null", target)
    # The interpreter, its standard library and site-packages without the grader: one
    # read-only image at a neutral path (hard links, so its mount names no host path).
    bind(cfg["python_image"], f"{root}{PYTHON_MOUNT}")
    files = {
        "runner.py": cfg["runner"],
        "plan.json": cfg["plan"],
        "inputs.npz": cfg["inputs"],
    }
    stage(f"{root}/sandbox", files)
    stage(f"{root}/submission", {}, {"": cfg["submission"]})
    sh("mount", "-o", "remount,ro", root)
    return root


def limits_args(cfg: dict) -> list[str]:
    lim = cfg["limits"]
    return [
        f"--as={lim['memory_mib'] << 20}",
        f"--cpu={lim['cpu_seconds']}:{lim['cpu_seconds'] + CPU_GRACE_SECONDS}",
        f"--fsize={lim['file_size_mib'] << 20}",
        f"--nofile={lim['open_files']}",
        f"--nproc={lim.get('nproc', lim['processes'])}",
        "--core=0",
    ]


def set_rlimits(cfg: dict) -> None:
    """The same limits as `limits_args`, for limited isolation (preexec in the child)."""
    lim = cfg["limits"]
    for res, value in (
        (resource.RLIMIT_AS, lim["memory_mib"] << 20),
        (resource.RLIMIT_CPU, lim["cpu_seconds"]),
        (resource.RLIMIT_FSIZE, lim["file_size_mib"] << 20),
        (resource.RLIMIT_NOFILE, lim["open_files"]),
        (resource.RLIMIT_NPROC, lim["processes"]),
        (resource.RLIMIT_CORE, 0),
    ):
        hard = value + CPU_GRACE_SECONDS if res == resource.RLIMIT_CPU else value
        try:
            resource.setrlimit(res, (value, hard))
        except (ValueError, OSError):
            pass  # cannot raise a hard limit as a normal user: the lower one holds
    os.setsid()
    # Die with the init (which dies with the grader): no run outlives a killed grader.
    ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def child_env(cfg: dict, home: str, tmp: str) -> dict:
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": home,
        "TMPDIR": tmp,
        "LANG": "C.UTF-8",
        "PYTHONHASHSEED": str(cfg["seed"]),
        "PYTHONDONTWRITEBYTECODE": "1",
        "KERAS_HOME": f"{home}/.keras",
        "KERAS_BACKEND": "tensorflow",
        "TF_CPP_MIN_LOG_LEVEL": "2",
        # oneDNN's kernels: deterministic on one machine (with op determinism and fixed
        # threads) and 1.5x faster than TensorFlow's own for a small convolutional network
        # (benchmarks/README.md).
        "TF_ENABLE_ONEDNN_OPTS": "1",
        "OMP_NUM_THREADS": str(cfg["threads"]),
        "CUDA_VISIBLE_DEVICES": "",
        "MPLBACKEND": "Agg",
    }
    if cfg.get("onednn_max_cpu_isa"):  # the grader's cap on oneDNN's kernels (tests/README.md)
        env["ONEDNN_MAX_CPU_ISA"] = str(cfg["onednn_max_cpu_isa"])
    return env


RUNNER_OOM_SCORE = 300
"""The runner's (and so every student process's) oom_score_adj: the cgroup's OOM killer picks
them before the init and `unshare` (-1000 where root may set it, 0 otherwise)."""


def _runner_oom_score() -> None:
    try:
        with open("/proc/self/oom_score_adj", "w") as f:
            f.write(str(RUNNER_OOM_SCORE))
    except OSError:
        pass


def start_runner(cfg: dict) -> subprocess.Popen:
    python = cfg["python"]
    if cfg["isolation"] == "full":
        uid = str(cfg["uid"])
        env = {**child_env(cfg, "/job/work", "/tmp"), **cfg.get("runner_env", {})}
        argv = [
            "chroot", cfg["root"],
            "/usr/bin/prlimit", *limits_args(cfg), "--",
            "/usr/bin/setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
            "--no-new-privs", "--inh-caps=-all", "--bounding-set=-all", "--",
            "/usr/bin/env", "-i", *(f"{k}={v}" for k, v in env.items()),
            cfg.get("runner_python", python), "-I", "/sandbox/runner.py", "/sandbox/plan.json",
        ]  # fmt: skip
        return subprocess.Popen(
            argv,
            cwd="/",
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            preexec_fn=_runner_oom_score,
        )
    env = child_env(cfg, cfg["workdir"], cfg["workdir"])
    return subprocess.Popen(
        [python, "-I", cfg["runner"], cfg["plan"]],
        cwd=cfg["workdir"],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=lambda: set_rlimits(cfg),
    )


class Capture:
    """One output stream as kept: its first `keep` bytes and its last `keep` bytes; whatever
    lies between is counted and dropped, so printing without end costs memory for neither
    the init nor the report, and never stops the run (the wall clock bounds it)."""

    def __init__(self, keep: int) -> None:
        self.keep = keep
        self.head = bytearray()
        self.tail = bytearray()
        self.seen = 0

    def add(self, chunk: bytes) -> None:
        self.seen += len(chunk)
        room = self.keep - len(self.head)
        if room > 0:
            self.head += chunk[:room]
            chunk = chunk[room:]
        if chunk:
            self.tail += chunk
            if len(self.tail) > self.keep:
                del self.tail[: len(self.tail) - self.keep]

    @property
    def dropped(self) -> int:
        return self.seen - len(self.head) - len(self.tail)

    def text(self, name: str) -> str:
        middle = b""
        if self.dropped:
            middle = (
                f"\n[... output truncated: {self.dropped:,} bytes of {name} dropped here; "
                f"{self.seen:,} bytes printed in all, the first and last "
                f"{self.keep >> 10} KiB kept ...]\n"
            ).encode()
        return bytes(self.head + middle + self.tail).decode("utf-8", "replace")


def supervise(cfg: dict, proc: subprocess.Popen) -> dict:
    """Collect the output (first and last part of each stream) and enforce the wall clock."""
    keep = cfg["limits"]["output_keep_kib"] << 10
    deadline = time.monotonic() + cfg["limits"]["wall_seconds"]
    streams = {"stdout": Capture(keep), "stderr": Capture(keep)}
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ, "stdout")
    sel.register(proc.stderr, selectors.EVENT_READ, "stderr")
    open_streams = 2
    reason = None
    exited_at = None
    while open_streams:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            reason = "timeout"
            break
        for key, _ in sel.select(timeout=min(remaining, 1.0)):
            chunk = os.read(key.fileobj.fileno(), 1 << 16)
            if not chunk:
                sel.unregister(key.fileobj)
                open_streams -= 1
                continue
            streams[key.data].add(chunk)
        if proc.poll() is not None:  # the runner is done; a process it left may hold the pipes
            exited_at = exited_at or time.monotonic()
            if time.monotonic() - exited_at > 2.0:
                break
    if reason:
        kill_everything(cfg, proc)
    try:
        proc.wait(timeout=max(1.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        reason = reason or "timeout"
        kill_everything(cfg, proc)
        proc.wait()
    kill_everything(cfg, proc)  # whatever the submission left running dies with it
    code = proc.returncode
    report = {
        "exit_code": code if code is not None and code >= 0 else None,
        "signal": -code if code is not None and code < 0 else None,
        "reason": reason,
    }
    for name, capture in streams.items():
        report[name] = capture.text(name)
        report[f"{name}_bytes"] = capture.seen
        report[f"{name}_dropped"] = capture.dropped
    return report


def kill_everything(cfg: dict, proc: subprocess.Popen) -> None:
    if cfg["isolation"] == "full":
        # PID 1 of the namespace: kill(-1) reaches every other process in it, and only those.
        try:
            os.kill(-1, signal.SIGKILL)
        except ProcessLookupError:
            pass
        while True:  # reap orphans re-parented to us
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
    else:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def out_problem(source: str, max_entries: int, max_depth: int) -> str | None:
    """Why the out dir is over its limits (too many entries, nested too deep), or None.

    Counts without following links and without recursion, and stops at the first excess:
    a million files or a chain of 100,000 folders costs no more than the limits."""
    where = "its output directory (/job/out)"
    count = 0
    queue = deque([(source, 1)])
    while queue:
        path, depth = queue.popleft()
        try:
            it = os.scandir(path)
        except OSError:
            continue
        with it:
            for entry in it:
                count += 1
                if count > max_entries:
                    return f"left more than {max_entries:,} files and folders in {where}"
                if depth > max_depth:
                    return f"nested folders more than {max_depth} levels deep in {where}"
                if entry.is_dir(follow_symlinks=False):
                    queue.append((entry.path, depth + 1))
    return None


def copy_out(
    source: str, dest: str, budget: int, max_entries: int = 2000, max_depth: int = 8
) -> tuple[list[str], str | None]:
    """Copy regular files (no links, no devices) from the sandbox's out dir to the host.

    Returns the skipped entries and, when the tree is over its limits (entries, depth), the
    reason, having copied nothing: a run never makes the host create 300,000 files, and no
    tree is deep enough to exhaust a recursion or a path length. Non-recursive; every process
    of the sandbox is dead by now, so nothing changes under the walk."""
    problem = out_problem(source, max_entries, max_depth)
    if problem:
        return [], problem
    skipped: list[str] = []
    queue = deque([""])
    while queue:
        rel = queue.popleft()
        here = os.path.join(source, rel) if rel else source
        target_dir = os.path.join(dest, rel) if rel else dest
        os.makedirs(target_dir, exist_ok=True)
        try:
            with os.scandir(here) as it:
                entries = list(it)
        except OSError:
            skipped.append(rel)
            continue
        for entry in entries:
            child = os.path.join(rel, entry.name) if rel else entry.name
            if entry.is_dir(follow_symlinks=False):
                queue.append(child)
                continue
            try:
                fd = os.open(entry.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
            except OSError:
                skipped.append(child)
                continue
            with os.fdopen(fd, "rb") as f:
                if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                    skipped.append(child)
                    continue
                data = f.read(budget + 1)
            if len(data) > budget:
                skipped.append(child)
                continue
            budget -= len(data)
            with open(os.path.join(target_dir, entry.name), "wb") as out:
                out.write(data)
    return skipped, None


def main(argv: list[str]) -> int:
    with open(argv[1], encoding="utf-8") as f:
        cfg = json.load(f)
    started = time.monotonic()
    report: dict = {"isolation": cfg["isolation"]}
    try:
        if cfg["isolation"] == "full":
            build_root(cfg)
        proc = start_runner(cfg)
    except (OSError, subprocess.CalledProcessError) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        msg = f"{exc} {detail.decode(errors='replace').strip()}".strip()
        print(f"sandbox setup failed: {msg}", file=sys.stderr)
        return SETUP_FAILED
    report.update(supervise(cfg, proc))
    report["duration"] = round(time.monotonic() - started, 3)
    if cfg["isolation"] == "full":
        lim = cfg["limits"]
        report["skipped_files"], report["out_limit"] = copy_out(
            f"{cfg['root']}/job/out",
            cfg["host_out"],
            lim["job_size_mib"] << 20,
            lim.get("out_entries", 2000),
            lim.get("out_depth", 8),
        )
    tmp = cfg["report"] + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(report, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, cfg["report"])
    if cfg["isolation"] != "full":
        shutil.rmtree(os.path.join(cfg["workdir"], ".keras"), ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
