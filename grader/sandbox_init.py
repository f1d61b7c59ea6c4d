"""The sandbox's init: trusted, standard library only, run by grader/sandbox.py.

With full isolation it is PID 1 of fresh mount, pid, net, ipc and uts namespaces, still root:
it builds a minimal root file system (system libraries, the interpreter, the venv, the
runner, the inputs and the student's code read-only; a size-capped tmpfs as the only writable
place), then starts the runner chrooted there under rlimits as an unprivileged uid with no
capabilities and `--no-new-privs`. It reads the runner's output with a byte cap, enforces the
wall clock, kills every process of the namespace when the runner is done, copies the
artifacts (regular files only) back to the host job directory and writes `sandbox.json`.

With limited isolation (not root, no namespaces) it does the same supervision with rlimits,
a process group and a timeout, and no file-system or network isolation.

Usage: python -I sandbox_init.py CONFIG.json
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
    os.makedirs(f"{root}/dev/shm", exist_ok=True)
    sh("mount", "-t", "tmpfs", "-o", "size=64m,mode=1777,nosuid,nodev", "tmpfs", f"{root}/dev/shm")
    os.makedirs(f"{root}/proc", exist_ok=True)
    sh("mount", "-t", "proc", "-o", "nosuid,nodev,noexec", "proc", f"{root}/proc")
    os.makedirs(f"{root}/job", exist_ok=True)
    size = f"size={cfg['limits']['job_size_mib']}m,mode=0755,uid={uid},gid={uid},nosuid,nodev"
    sh("mount", "-t", "tmpfs", "-o", size, "tmpfs", f"{root}/job")
    for sub in ("out", "work", "tmp"):
        os.makedirs(f"{root}/job/{sub}")
        os.chown(f"{root}/job/{sub}", uid, uid)
    bind(f"{root}/job/tmp", f"{root}/tmp", read_only=False)
    # Exactly the interpreter and the venv, at their own paths (pyenv's lives under /root,
    # mode 700 on the host, which the unprivileged uid could not traverse). Bound after /tmp,
    # so a checkout under /tmp is not hidden by the private /tmp.
    for path in cfg["python_paths"]:
        bind(path, f"{root}{path}")
    bind(cfg["runner"], f"{root}/sandbox/runner.py")
    bind(cfg["plan"], f"{root}/sandbox/plan.json")
    bind(cfg["inputs"], f"{root}/sandbox/inputs.npz")
    for kind, path in cfg.get("fallback_models", {}).items():
        bind(path, f"{root}/sandbox/fallback_{kind}.json")
    bind(cfg["submission"], f"{root}/submission")
    sh("mount", "-o", "remount,ro", root)
    return root


def limits_args(cfg: dict) -> list[str]:
    lim = cfg["limits"]
    return [
        f"--as={lim['memory_mib'] << 20}",
        f"--cpu={lim['cpu_seconds']}:{lim['cpu_seconds'] + CPU_GRACE_SECONDS}",
        f"--fsize={lim['file_size_mib'] << 20}",
        f"--nofile={lim['open_files']}",
        f"--nproc={lim['processes']}",
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
        # threads) and 1.5x faster than TensorFlow's own for the CNN (benchmarks/README.md).
        "TF_ENABLE_ONEDNN_OPTS": "1",
        "OMP_NUM_THREADS": str(cfg["threads"]),
        "CUDA_VISIBLE_DEVICES": "",
        "MPLBACKEND": "Agg",
    }
    if cfg.get("onednn_max_cpu_isa"):  # the grader's cap on oneDNN's kernels (tests/README.md)
        env["ONEDNN_MAX_CPU_ISA"] = str(cfg["onednn_max_cpu_isa"])
    return env


def start_runner(cfg: dict) -> subprocess.Popen:
    python = cfg["python"]
    if cfg["isolation"] == "full":
        uid = str(cfg["uid"])
        argv = [
            "chroot", cfg["root"],
            "/usr/bin/prlimit", *limits_args(cfg), "--",
            "/usr/bin/setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
            "--no-new-privs", "--inh-caps=-all", "--bounding-set=-all", "--",
            "/usr/bin/env", "-i", *(f"{k}={v}" for k, v in
                                    child_env(cfg, "/job/work", "/tmp").items()),
            python, "-I", "/sandbox/runner.py", "/sandbox/plan.json",
        ]  # fmt: skip
        return subprocess.Popen(
            argv, cwd="/", stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE
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


def supervise(cfg: dict, proc: subprocess.Popen) -> dict:
    """Collect capped output and enforce the wall clock and the output limit."""
    keep = cfg["limits"]["output_keep_kib"] << 10
    hard = cfg["limits"]["output_limit_mib"] << 20
    deadline = time.monotonic() + cfg["limits"]["wall_seconds"]
    kept = {"stdout": bytearray(), "stderr": bytearray()}
    seen = {"stdout": 0, "stderr": 0}
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
            seen[key.data] += len(chunk)
            room = keep - len(kept[key.data])
            if room > 0:
                kept[key.data] += chunk[:room]
        if seen["stdout"] + seen["stderr"] > hard:
            reason = "output_limit"
            break
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
    return {
        "exit_code": code if code is not None and code >= 0 else None,
        "signal": -code if code is not None and code < 0 else None,
        "reason": reason,
        "stdout": kept["stdout"].decode("utf-8", "replace"),
        "stderr": kept["stderr"].decode("utf-8", "replace"),
        "stdout_bytes": seen["stdout"],
        "stderr_bytes": seen["stderr"],
    }


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


def copy_out(source: str, dest: str, budget: int) -> list[str]:
    """Copy regular files (no symlinks, no devices) from the sandbox's out dir to the host."""
    skipped = []
    for root, dirs, files in os.walk(source):
        rel = os.path.relpath(root, source)
        target_dir = os.path.normpath(os.path.join(dest, rel))
        os.makedirs(target_dir, exist_ok=True)
        for name in list(dirs):
            if os.path.islink(os.path.join(root, name)):
                dirs.remove(name)
                skipped.append(os.path.join(rel, name))
        for name in files:
            src = os.path.join(root, name)
            try:
                fd = os.open(src, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
            except OSError:
                skipped.append(os.path.join(rel, name))
                continue
            with os.fdopen(fd, "rb") as f:
                if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                    skipped.append(os.path.join(rel, name))
                    continue
                data = f.read(budget + 1)
            if len(data) > budget:
                skipped.append(os.path.join(rel, name))
                continue
            budget -= len(data)
            with open(os.path.join(target_dir, name), "wb") as out:
                out.write(data)
    return skipped


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
        out_dir = f"{cfg['root']}/job/out"
        report["skipped_files"] = copy_out(
            out_dir, cfg["host_out"], cfg["limits"]["job_size_mib"] << 20
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
