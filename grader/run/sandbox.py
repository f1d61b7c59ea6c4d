"""Phase 1: run the runner on one submission inside the sandbox, and say how it ended.

The heavy lifting happens in `sandbox_init.py` (PID 1 of the new namespaces). This module
decides the isolation level, builds (once) the Python image the sandbox runs, puts each run in
a cgroup of its own (memory, pids and CPU of the whole sandbox), writes the job's plan, starts
the init under `unshare` with a command line that names no host path, waits with a backstop
timeout, removes the cgroup, and turns what happened into one of the submission statuses:
ok | crash | timeout | memory | output_limit | sandbox_error, with a one-line explanation.
docs/threat-model.md says what each wall stops.
"""

from __future__ import annotations

import csv
import errno
import fcntl
import functools
import hashlib
import io
import itertools
import json
import os
import platform
import re
import shutil
import signal
import site
import subprocess
import sys
import sysconfig
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from grader.config import Budget, Limits
from grader.machine import ISA_ENV
from grader.processes import die_with_parent

HERE = Path(__file__).resolve().parent
RUNNER = HERE / "runner.py"
INIT = HERE / "sandbox_init.py"
PACKAGE_DIR = HERE.parent
"""The whole grader package: nothing of it is visible in a sandbox."""
CHECKOUT = PACKAGE_DIR.parent if (PACKAGE_DIR.parent / "pyproject.toml").is_file() else None
"""The source checkout the grader runs from (an editable install), or None (a wheel)."""
UNSHARE = (
    "unshare", "--mount", "--net", "--pid", "--ipc", "--uts", "--cgroup",
    "--fork", "--kill-child", "--mount-proc",
)  # fmt: skip
SANDBOX_UID_BASE = 61000
BACKSTOP_SECONDS = 60
"""Extra wall-clock time the init gets to clean up and copy out before we kill it."""
INIT_ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C"}
"""The whole environment of the init under full isolation (nothing of the grader's)."""

_uid_counter = itertools.count()
_uid_lock = threading.Lock()
_live: set[subprocess.Popen] = set()
"""The sandboxes this process runs now (their `unshare`, or the init under limited isolation)."""
_live_lock = threading.Lock()
_stopping = threading.Event()
INTERRUPTED = "interrupted: the grading was stopped (Ctrl-C or SIGTERM) before this run ended"


def stop_all_runs() -> int:
    """Kill every sandbox this process runs now and start no more (Ctrl-C, SIGTERM); the
    number killed. Killing `unshare --kill-child` takes its init, and with it the whole pid
    namespace. The interrupted runs end as `sandbox_error` "interrupted", which the grader
    never stores, so a rerun runs them again."""
    with _live_lock:
        _stopping.set()
        procs = list(_live)
    for proc in procs:
        try:
            proc.kill()
        except OSError:
            pass
    return len(procs)


def allow_runs() -> None:
    """Undo `stop_all_runs` (for a process that grades again after an interrupt)."""
    _stopping.clear()


@dataclass(frozen=True)
class RunOutcome:
    """How a sandboxed run ended (the artifacts are in the job's `out/`)."""

    status: str
    """ok | crash | timeout | memory | output_limit | sandbox_error."""
    detail: str
    """One human line; empty for ok (unless something worth knowing happened: output cut)."""
    isolation: str
    """`full` or `limited`."""
    duration: float
    stdout: str = ""
    stderr: str = ""
    out_dir: Path = Path(".")
    resources: dict = field(default_factory=dict)
    """What the run's cgroup measured (`cgroup`: version and directories, `memory_peak`,
    `oom_kills`, `pids_peak`, `pids_denied`, `cpu_seconds`, `removed`), empty without one."""


@functools.cache
def isolation_level() -> tuple[str, str]:
    """(`full` | `limited`, why): full needs root, util-linux unshare and namespaces.

    The why of `full` also says whether runs get a cgroup (memory, pids and CPU limits of
    the whole sandbox) or, where none can be used, that memory is limited per process only.
    """
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
    cgroups = cgroup_support()
    walls = "namespaces, chroot, unprivileged uid, rlimits"
    if cgroups.version is None:
        return "full", f"{walls}; {NO_CGROUP}: {cgroups.why}"
    return "full", f"{walls}, {cgroups.why}"


# ---- the Python image -----------------------------------------------------------------------
# What student code needs of Python, and nothing of the grader: the base interpreter, its
# standard library and shared library, and site-packages minus the grader's package, data and
# install records (wheel: site-packages/grader/; editable: a .pth and a finder pointing at the
# checkout). Built once per state of the venv as a tree of hard links (no data copied) in a
# root-only directory, and bound read-only at /opt/python: a bind mount shows its source path
# in /proc/self/mountinfo, and the image's path names neither the checkout nor the venv.

PACKAGE = "grader"
DISTRIBUTION = "keras_grader"
PYTHON_MOUNT = "/opt/python"
IMAGE_FORMAT = 1
IMAGE_MAX_DEPTH = 64
IMAGE_MAX_ENTRIES = 2_000_000
IMAGE_KEEP_SECONDS = 7 * 86400
"""An image no grader process has used for a week is removed when another one is built."""


class ImageError(Exception):
    """The Python image could not be built (-> status sandbox_error, with the reason)."""


def python_images_dir() -> Path:
    """Where images are kept: `KERAS_GRADER_PYTHON_IMAGES`, else /var/cache/keras-grader/python.

    Hard links need the same file system as the interpreter and the venv; elsewhere the
    files are copied (once)."""
    return Path(os.environ.get("KERAS_GRADER_PYTHON_IMAGES") or "/var/cache/keras-grader/python")


@dataclass(frozen=True)
class PythonSources:
    """The host's parts of the interpreter the grader runs on."""

    version: str
    """`3.11`."""
    executable: str
    """Real path of the base interpreter (not the venv's link to it)."""
    stdlib: str
    site_dirs: tuple[str, ...]
    """site-packages folders in sys.path order (the venv's; the system's if it has them)."""
    libpython: str | None
    """The shared libpython the executable links to (by its soname), if it is built so."""


def python_sources() -> PythonSources:
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    executable = os.path.realpath(getattr(sys, "_base_executable", None) or sys.executable)
    stdlib = os.path.realpath(sysconfig.get_path("stdlib"))
    site_dirs: list[str] = []
    # The interpreter's site dirs, then a site-packages folder that a .pth line of one of
    # them adds (a venv layered on another one's packages, as the check kit's test does);
    # not PYTHONPATH's or the user's site, which would widen what student code may import.
    extra = _pth_site_dirs(site.getsitepackages())
    for path in [*site.getsitepackages(), *extra]:
        real = os.path.realpath(path)
        if os.path.isdir(real) and real not in site_dirs and real != stdlib:
            site_dirs.append(real)
    libpython = None
    if sysconfig.get_config_var("Py_ENABLE_SHARED"):
        name = sysconfig.get_config_var("INSTSONAME") or sysconfig.get_config_var("LDLIBRARY")
        candidate = os.path.join(sysconfig.get_config_var("LIBDIR") or "", name or "")
        if name and os.path.isfile(candidate):
            libpython = os.path.abspath(candidate)
    return PythonSources(version, executable, stdlib, tuple(site_dirs), libpython)


def _pth_site_dirs(site_dirs) -> list[str]:
    """site-packages folders named by a plain path line of a .pth file in `site_dirs`."""
    found = []
    for site_dir in site_dirs:
        try:
            names = sorted(n for n in os.listdir(site_dir) if n.endswith(".pth"))
        except OSError:
            continue
        for name in names:
            try:
                with open(os.path.join(site_dir, name), encoding="utf-8", errors="replace") as f:
                    lines = f.read(1 << 16).splitlines()
            except OSError:
                continue
            for line in lines:
                line = line.strip()
                if not line or line.startswith(("#", "import")):
                    continue
                path = os.path.join(site_dir, line)
                if os.path.basename(path.rstrip(os.sep)) in ("site-packages", "dist-packages"):
                    found.append(path)
    return found


def _dist_name(name: str) -> str | None:
    """`keras_grader` for `keras_grader-0.1.0.dist-info`, `keras-grader.egg-link`, ..."""
    lower = name.lower()
    for suffix in (".dist-info", ".egg-info"):
        if lower.endswith(suffix):
            return re.sub(r"[-_.]+", "_", lower[: -len(suffix)].split("-")[0])
    if lower.endswith(".egg-link"):
        return re.sub(r"[-_.]+", "_", lower[: -len(".egg-link")])
    return None


def _recorded(site_dir: str, meta: str) -> set[str]:
    """Top-level names a distribution's install record lists (RECORD, installed-files.txt),
    and its files in the top-level `__pycache__/`."""
    names = set()
    for record, base in (("RECORD", ""), ("installed-files.txt", meta)):
        try:
            with open(os.path.join(site_dir, meta, record), encoding="utf-8") as f:
                text = f.read(16 << 20)
        except (OSError, UnicodeDecodeError):
            continue
        for row in csv.reader(io.StringIO(text)):
            if not row or not row[0]:
                continue
            rel = os.path.normpath(os.path.join(base, row[0]))
            if not os.path.isabs(rel) and not rel.startswith(".."):
                parts = rel.split(os.sep)
                # A shared cache folder stays; only the distribution's own files in it go.
                names.add(rel if parts[0] == "__pycache__" else parts[0])
    return names


def _leads_to_grader(path: str) -> bool:
    real = os.path.realpath(path)
    return any(
        real == own or real.startswith(own + os.sep)
        for own in [str(PACKAGE_DIR)] + ([str(CHECKOUT)] if CHECKOUT else [])
    ) and not real.startswith(sys.prefix + os.sep)


def grader_entries(site_dir: str) -> list[str]:
    """Top-level names in site_dir that belong to the grader, whatever the install layout:
    the package (`grader/`), its distribution's metadata and everything its install record
    lists (a wheel's files, an editable install's .pth and finder), and any .pth line,
    .egg-link or symbolic link that leads to the package or the checkout."""
    names: set[str] = set()
    with os.scandir(site_dir) as it:
        entries = list(it)
    for entry in entries:
        name, lower = entry.name, entry.name.lower()
        if name in (PACKAGE, f"{PACKAGE}.py"):
            names.add(name)
        elif _dist_name(name) == DISTRIBUTION:
            names.add(name)
            if entry.is_dir(follow_symlinks=False):
                names |= _recorded(site_dir, name)
        elif lower.startswith("__editable__") and DISTRIBUTION in re.sub(r"[-.]", "_", lower):
            names.add(name)
        elif lower.endswith((".pth", ".egg-link")):
            try:
                with open(entry.path, encoding="utf-8", errors="replace") as f:
                    lines = f.read(1 << 20).splitlines()
            except OSError:
                continue
            if str(PACKAGE_DIR) in "\n".join(lines) or any(
                line.strip()
                and not line.startswith(("#", "import"))
                and _leads_to_grader(os.path.join(site_dir, line.strip()))
                for line in lines
            ):
                names.add(name)
        if entry.is_symlink() and _leads_to_grader(entry.path):
            names.add(name)
    return sorted(names)


def _walk_dirs(root: str, skip_top: set[str]):
    """(relative path, lstat) of root and every folder under it: iterative, bounded, no links
    followed, `skip_top` names left out at the top."""
    queue = deque([("", 0)])
    count = 0
    while queue:
        rel, depth = queue.popleft()
        path = os.path.join(root, rel) if rel else root
        yield rel, os.lstat(path)
        with os.scandir(path) as it:
            for entry in it:
                count += 1
                if count > IMAGE_MAX_ENTRIES:
                    raise ImageError(f"more than {IMAGE_MAX_ENTRIES:,} entries under {root}")
                if not rel and entry.name in skip_top:
                    continue
                if entry.is_dir(follow_symlinks=False):
                    if depth + 1 > IMAGE_MAX_DEPTH:
                        raise ImageError(f"folders nested deeper than {IMAGE_MAX_DEPTH} in {root}")
                    queue.append((os.path.join(rel, entry.name) if rel else entry.name, depth + 1))


STDLIB_SKIP = {"site-packages", "dist-packages"}


def _image_key(src: PythonSources, excluded: dict[str, list[str]]) -> str:
    """Changes whenever a file is added, removed or replaced in any source tree (a folder's
    mtime changes then); a file changed in place is the same inode, seen by the links."""
    digest = hashlib.sha256()
    digest.update(repr((IMAGE_FORMAT, sys.version, src, sorted(excluded.items()))).encode())
    for path in (src.executable, src.libpython):
        if path:
            st = os.stat(path)
            digest.update(repr((path, st.st_ino, st.st_mtime_ns, st.st_size)).encode())
    for root, skip in [(src.stdlib, STDLIB_SKIP)] + [(d, set(excluded[d])) for d in src.site_dirs]:
        for rel, st in _walk_dirs(root, skip):
            if os.path.basename(rel) != "__pycache__":  # caches come and go: not a change
                digest.update(f"{root}\0{rel}\0{st.st_ino}\0{st.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:32]


def _link(source: str, target: str) -> None:
    try:
        os.link(source, target)
    except OSError as exc:
        if exc.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.EACCES):
            raise
        shutil.copy2(source, target)  # another file system: a copy (mtime kept, for .pyc)


def _copy_tree(source: str, target: str, skip: set[str], mapping: list[tuple[str, str]]):
    """Mirror source into target with hard links (folders 0755, links re-pointed from host
    paths to their place in the image, other file types left out), leaving out the relative
    paths `skip`; merges into an existing target, the first of a name winning (sys.path
    order)."""
    os.makedirs(target, mode=0o755, exist_ok=True)
    queue = deque([("", 0)])
    count = 0
    while queue:
        rel, depth = queue.popleft()
        with os.scandir(os.path.join(source, rel) if rel else source) as it:
            entries = list(it)
        for entry in entries:
            count += 1
            if count > IMAGE_MAX_ENTRIES:
                raise ImageError(f"more than {IMAGE_MAX_ENTRIES:,} entries under {source}")
            child = os.path.join(rel, entry.name) if rel else entry.name
            if child in skip:
                continue
            dest = os.path.join(target, child)
            if os.path.lexists(dest):
                continue
            if entry.is_symlink():
                link = os.readlink(entry.path)
                for host, inside in mapping:
                    if link == host or link.startswith(host + os.sep):
                        link = inside + link[len(host) :]
                        break
                os.symlink(link, dest)
            elif entry.is_dir(follow_symlinks=False):
                if depth + 1 > IMAGE_MAX_DEPTH:
                    raise ImageError(f"folders nested deeper than {IMAGE_MAX_DEPTH} in {source}")
                os.mkdir(dest, 0o755)
                queue.append((child, depth + 1))
            elif entry.is_file(follow_symlinks=False):
                _link(entry.path, dest)


def _build_image(dest: str, src: PythonSources, excluded: dict[str, list[str]]) -> None:
    """The image's layout (as the sandbox sees it, under /opt/python):

    base/bin/pythonX.Y          the interpreter (python3, python: links to it)
    base/lib/libpythonX.Y.so.*  when the interpreter is built shared (LD_LIBRARY_PATH)
    base/lib/pythonX.Y/         the standard library, without its site-packages
    venv/pyvenv.cfg             home = /opt/python/base/bin
    venv/bin/python             -> /opt/python/base/bin/pythonX.Y
    venv/lib/pythonX.Y/site-packages/   every site dir, merged, minus the grader
    """
    exe = f"python{src.version}"
    base, venv = os.path.join(dest, "base"), os.path.join(dest, "venv")
    site_target = os.path.join(venv, "lib", exe, "site-packages")
    mapping = [(src.stdlib, f"{PYTHON_MOUNT}/base/lib/{exe}")]
    mapping += [(d, f"{PYTHON_MOUNT}/venv/lib/{exe}/site-packages") for d in src.site_dirs]
    for folder in (f"{base}/bin", f"{base}/lib", f"{venv}/bin", site_target):
        os.makedirs(folder, mode=0o755, exist_ok=True)
    _link(src.executable, f"{base}/bin/{exe}")
    for alias in ("python3", "python"):
        os.symlink(exe, f"{base}/bin/{alias}")
    if src.libpython:
        _link(os.path.realpath(src.libpython), f"{base}/lib/{os.path.basename(src.libpython)}")
    _copy_tree(src.stdlib, f"{base}/lib/{exe}", STDLIB_SKIP, mapping)
    for site_dir in src.site_dirs:
        _copy_tree(site_dir, site_target, set(excluded[site_dir]), mapping)
    os.symlink(f"{PYTHON_MOUNT}/base/bin/{exe}", f"{venv}/bin/{exe}")
    for alias in ("python3", "python"):
        os.symlink(exe, f"{venv}/bin/{alias}")
    with open(f"{venv}/pyvenv.cfg", "w", encoding="utf-8") as f:
        f.write(
            f"home = {PYTHON_MOUNT}/base/bin\ninclude-system-site-packages = false\n"
            f"version = {platform.python_version()}\n"
        )
    os.chmod(dest, 0o755)


@dataclass(frozen=True)
class PythonImage:
    """The Python the sandbox runs: a host folder bound read-only at /opt/python."""

    directory: Path
    python: str
    """The runner's interpreter, as the sandbox sees it."""
    env: dict
    """What the runner's environment needs for it (LD_LIBRARY_PATH for a shared libpython)."""
    excluded: dict
    """site dir -> the grader's entries left out of it."""


@functools.cache
def _cached_image() -> PythonImage:
    src = python_sources()
    excluded = {d: grader_entries(d) for d in src.site_dirs}
    key = _image_key(src, excluded)
    images = python_images_dir()
    final = images / key
    if not final.is_dir():
        images.mkdir(mode=0o700, parents=True, exist_ok=True)
        tmp = images / f".{key}.{os.getpid()}.{threading.get_ident()}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        try:
            _build_image(str(tmp), src, excluded)
            os.rename(tmp, final)
        except OSError as exc:
            if not final.is_dir():  # not a race lost to another grader process
                raise ImageError(
                    f"could not build the sandbox's Python in {images}: {exc}"
                ) from exc
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        _prune_images(images, keep=final.name)
    os.utime(final)  # in use: not pruned for a week
    env = {"LD_LIBRARY_PATH": f"{PYTHON_MOUNT}/base/lib"} if src.libpython else {}
    return PythonImage(final, f"{PYTHON_MOUNT}/venv/bin/python", env, excluded)


def _prune_images(images: Path, keep: str) -> None:
    now = time.time()
    for entry in os.scandir(images):
        try:
            old = now - entry.stat(follow_symlinks=False).st_mtime > IMAGE_KEEP_SECONDS
        except OSError:
            continue
        if entry.name != keep and old and entry.is_dir(follow_symlinks=False):
            shutil.rmtree(entry.path, ignore_errors=True)


_image_lock = threading.Lock()


def python_image() -> PythonImage:
    """The image for this interpreter and venv as they are now (built on first use)."""
    with _image_lock:
        image = _cached_image()
        if not image.directory.is_dir():  # pruned by another grader process meanwhile
            _cached_image.cache_clear()
            image = _cached_image()
        return image


# ---- cgroups ------------------------------------------------------------------------------
# Each full-isolation run gets a cgroup of its own, under the grader's own cgroup (so whatever
# accounts for the grader still sees it): memory of the whole sandbox (every process, and the
# files it writes in its tmpfs), its tasks, and its CPU (an equal weight per sandbox, so eight
# busy loops get one sandbox's share and not eight, and a quota). cgroup v2 where it offers
# the memory, pids and cpu controllers, else the v1 hierarchies of each.

CONTROLLERS = ("memory", "pids", "cpu")
CGROUP_PREFIX = "keras-grader-"
NO_CGROUP = "no cgroup: memory limited per process only, CPU not shared fairly"
NPROC_MARGIN = 64
"""RLIMIT_NPROC above the cgroup's task limit: the cgroup is the limit that holds."""
CPU_PERIOD_US = 100_000


@dataclass(frozen=True)
class CgroupSupport:
    """Which cgroups runs get: `version` v2, v1 or None (then `why` says why not)."""

    version: str | None
    parents: tuple[tuple[str, str], ...]
    """(controller, folder runs' cgroups are created in); v2: one pair, controller ''."""
    why: str


def _unescape(field_text: str) -> str:
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field_text)


def _cgroup_mounts() -> list[tuple[str, str, str, set[str]]]:
    """(root, mount point, fs type, super options) of each cgroup mount of this namespace."""
    mounts = []
    with open("/proc/self/mountinfo", encoding="utf-8") as f:
        for line in f:
            left, _, right = line.partition(" - ")
            fields, rest = left.split(), right.split()
            if len(fields) >= 5 and len(rest) >= 3 and rest[0] in ("cgroup", "cgroup2"):
                options = set(rest[2].split(","))
                mounts.append((_unescape(fields[3]), _unescape(fields[4]), rest[0], options))
    return mounts


def _own_cgroups() -> dict[str, str]:
    """controller -> this process's cgroup path in that hierarchy ('' for v2)."""
    own = {}
    with open("/proc/self/cgroup", encoding="utf-8") as f:
        for line in f:
            parts = line.rstrip("\n").split(":", 2)
            if len(parts) == 3:
                for name in parts[1].split(",") if parts[1] else [""]:
                    own[name] = parts[2]
    return own


def _folder(root: str, mountpoint: str, path: str | None) -> str | None:
    if path is None:
        return None
    if root == "/":
        return os.path.normpath(mountpoint + path)
    if path == root or path.startswith(root + "/"):
        return os.path.normpath(mountpoint + path[len(root) :])
    return None


def _write(folder: str, name: str, value: object) -> None:
    with open(os.path.join(folder, name), "w") as f:
        f.write(str(value))


def _read(folder: str, name: str) -> str:
    with open(os.path.join(folder, name)) as f:
        return f.read()


def _keyed(text: str) -> dict[str, int]:
    """`key value` lines (memory.events, pids.events, cpu.stat, oom_control) as a dict."""
    out = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].lstrip("-").isdigit():
            out[parts[0]] = int(parts[1])
    return out


V1_FILES = {
    "memory": "memory.limit_in_bytes",
    "pids": "pids.max",
    "cpu": "cpu.shares",
    "cpuacct": "cpuacct.usage",
}


def _probe(parent: str, needed: tuple[str, ...]) -> str | None:
    """None if a cgroup can be made in parent and has the files `needed`; else why not."""
    probe = os.path.join(parent, f"{CGROUP_PREFIX}probe-{os.getpid()}")
    try:
        os.mkdir(probe)
    except OSError as exc:
        return f"cannot create a cgroup in {parent}: {exc.strerror}"
    try:
        missing = [n for n in needed if not os.path.exists(os.path.join(probe, n))]
        return f"{', '.join(missing)} missing in {parent}" if missing else None
    finally:
        try:
            os.rmdir(probe)
        except OSError:
            pass


def _v2_parent(parent: str) -> str | None:
    """None if runs' cgroups can be made under parent with the three controllers; else why."""
    try:
        offered = set(_read(parent, "cgroup.controllers").split())
    except OSError as exc:
        return f"cannot read {parent}/cgroup.controllers: {exc.strerror}"
    missing = [c for c in CONTROLLERS if c not in offered]
    if missing:
        return f"{parent} offers {', '.join(sorted(offered)) or 'no controller'}, not " + (
            ", ".join(missing)
        )
    try:
        enabled = set(_read(parent, "cgroup.subtree_control").split())
        for c in CONTROLLERS:
            if c not in enabled:
                _write(parent, "cgroup.subtree_control", f"+{c}")
    except OSError as exc:
        return (
            f"cannot enable {', '.join(CONTROLLERS)} for {parent}'s children: {exc.strerror} "
            "(a cgroup holding processes cannot; set KERAS_GRADER_CGROUP to a delegated one)"
        )
    return _probe(parent, ("memory.max", "pids.max", "cpu.max"))


@functools.cache
def cgroup_support() -> CgroupSupport:
    """What this machine allows (probed once): v2 with memory, pids and cpu, else v1."""
    try:
        mounts, own = _cgroup_mounts(), _own_cgroups()
    except OSError as exc:
        return CgroupSupport(None, (), f"cannot read this process's cgroups: {exc.strerror}")
    reasons = []
    override = os.environ.get("KERAS_GRADER_CGROUP")
    for root, mountpoint, fstype, _ in mounts:
        if fstype != "cgroup2":
            continue
        candidates = [override] if override else []
        own_v2 = _folder(root, mountpoint, own.get(""))
        if own_v2:
            candidates += [own_v2, os.path.dirname(own_v2)]
        for parent in dict.fromkeys(candidates):
            why = _v2_parent(parent)
            if why is None:
                return CgroupSupport("v2", (("", parent),), f"cgroup v2 ({parent})")
            reasons.append(f"v2: {why}")
        break
    parents = {}
    for controller in (*CONTROLLERS, "cpuacct"):
        for root, mountpoint, fstype, options in mounts:
            if fstype == "cgroup" and controller in options:
                parent = _folder(root, mountpoint, own.get(controller, "/"))
                why = _probe(parent, (V1_FILES[controller],)) if parent else "not in its mount"
                if why is None:
                    parents[controller] = parent
                elif controller != "cpuacct":
                    reasons.append(f"v1 {controller}: {why}")
                break
        else:
            if controller != "cpuacct" and not any(f == "cgroup2" for _, _, f, _ in mounts):
                reasons.append(f"v1 {controller}: not mounted")
    missing = [c for c in CONTROLLERS if c not in parents]
    if len(missing) == len(CONTROLLERS):
        return CgroupSupport(None, (), "; ".join(reasons) or "no cgroup file system mounted")
    version = f"cgroup v1 ({', '.join(c for c in CONTROLLERS if c in parents)})"
    if missing:
        version += f", without {', '.join(missing)}: " + "; ".join(reasons)
    return CgroupSupport("v1", tuple(parents.items()), version)


class RunCgroup:
    """One run's cgroup (one folder per v1 hierarchy); `destroy` always, in a finally."""

    def __init__(self, version: str, folders: dict[str, str]) -> None:
        self.version = version
        self.folders = folders
        """controller -> folder (v2: '' -> the one folder)."""

    @classmethod
    def create(cls, support: CgroupSupport, name: str, limits: Limits) -> RunCgroup:
        folders = {c: os.path.join(parent, name) for c, parent in support.parents}
        cgroup = cls(str(support.version), folders)
        cgroup.destroy()  # a previous run of this uid whose grader was killed
        for folder in dict.fromkeys(folders.values()):
            os.mkdir(folder)
        try:
            cgroup._limit(limits)
        except OSError:
            cgroup.destroy()
            raise
        return cgroup

    def _limit(self, limits: Limits) -> None:
        memory = limits.sandbox_memory_mib << 20
        quota = max(1000, int(limits.cpu_cores * CPU_PERIOD_US))
        if self.version == "v2":
            folder = self.folders[""]
            _write(folder, "memory.max", memory)
            _optional(folder, "memory.swap.max", 0)
            _write(folder, "pids.max", limits.processes)
            _write(folder, "cpu.weight", 100)
            _write(folder, "cpu.max", f"{quota} {CPU_PERIOD_US}")
            return
        if "memory" in self.folders:
            folder = self.folders["memory"]
            _write(folder, "memory.limit_in_bytes", memory)
            _optional(folder, "memory.memsw.limit_in_bytes", memory)  # no swap beyond it
            _optional(folder, "memory.swappiness", 0)
        if "pids" in self.folders:
            _write(self.folders["pids"], "pids.max", limits.processes)
        if "cpu" in self.folders:
            folder = self.folders["cpu"]
            _write(folder, "cpu.shares", 1024)
            _write(folder, "cpu.cfs_period_us", CPU_PERIOD_US)
            _write(folder, "cpu.cfs_quota_us", quota)

    @property
    def procs_files(self) -> list[str]:
        return [os.path.join(f, "cgroup.procs") for f in dict.fromkeys(self.folders.values())]

    def stats(self) -> dict:
        """What the kernel counted for the run (read before `destroy`)."""
        out: dict = {"cgroup": {"version": self.version, "folders": sorted(self.folders.values())}}

        def get(controller: str, name: str) -> str | None:
            folder = self.folders.get(controller)
            try:
                return _read(folder, name) if folder else None
            except OSError:
                return None

        v2 = self.version == "v2"
        c = "" if v2 else "memory"
        peak = get(c, "memory.peak" if v2 else "memory.max_usage_in_bytes")
        events = _keyed(get(c, "memory.events" if v2 else "memory.oom_control") or "")
        out["memory_peak"] = int(peak) if peak and peak.strip().isdigit() else None
        out["oom_kills"] = events.get("oom_kill", 0)
        c = "" if v2 else "pids"
        peak = get(c, "pids.peak")
        out["pids_peak"] = int(peak) if peak and peak.strip().isdigit() else None
        out["pids_denied"] = _keyed(get(c, "pids.events") or "").get("max", 0)
        if v2:
            usage = _keyed(get("", "cpu.stat") or "").get("usage_usec")
            out["cpu_seconds"] = usage / 1e6 if usage is not None else None
        else:
            usage = get("cpuacct", "cpuacct.usage")
            out["cpu_seconds"] = int(usage) / 1e9 if usage and usage.strip().isdigit() else None
        throttled = _keyed(get("" if v2 else "cpu", "cpu.stat") or "")
        out["cpu_throttled"] = throttled.get("nr_throttled")
        return out

    def destroy(self, timeout: float = 10.0) -> str | None:
        """Kill whatever is left in the cgroup and remove it; None, or why it is still there."""
        problems = []
        for folder in dict.fromkeys(self.folders.values()):
            deadline = time.monotonic() + timeout
            while os.path.isdir(folder):
                if os.path.exists(os.path.join(folder, "cgroup.kill")):
                    _optional(folder, "cgroup.kill", 1)
                try:
                    pids = [int(p) for p in _read(folder, "cgroup.procs").split()]
                except OSError:
                    pids = []
                for pid in pids:  # the sandbox's processes only: nothing else is in here
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except (ProcessLookupError, PermissionError):
                        pass
                try:
                    os.rmdir(folder)
                except FileNotFoundError:
                    break
                except OSError as exc:
                    if time.monotonic() > deadline:
                        problems.append(f"{folder}: {exc.strerror}")
                        break
                    time.sleep(0.05)
        return "; ".join(problems) or None


def _optional(folder: str, name: str, value: object) -> None:
    try:
        _write(folder, name, value)
    except OSError:
        pass  # an optional setting (swap, a newer kernel's file): the others hold


def _init_python() -> str:
    """The interpreter that runs the init: the base one, by its real path (the venv's link
    would name the venv, which may lie in the checkout)."""
    return os.path.realpath(getattr(sys, "_base_executable", None) or sys.executable)


def _enter_sandbox(procs_files: list[str]) -> None:
    """In the child, before `unshare` runs: die with the grader, join the run's cgroup (all
    that follows is born in it, and the cgroup namespace makes it the sandbox's /), and be
    exempt from the cgroup's OOM killer where root may say so (CAP_SYS_RESOURCE); the init
    gives the runner a raised score either way, so the kernel picks the student's first."""
    die_with_parent()  # if the grader is killed (even SIGKILL), so is the namespace
    if not procs_files:
        return
    try:
        with open("/proc/self/oom_score_adj", "w") as f:
            f.write("-1000")
    except OSError:
        pass  # a container without CAP_SYS_RESOURCE: the runner's raised score still holds
    for path in procs_files:
        with open(path, "w") as f:
            f.write("0")


UID_LOCKS = Path(os.environ.get("KERAS_GRADER_UID_LOCKS", "/tmp/keras-grader-uids"))
UID_RANGE = 4000


def _claim_uid() -> tuple[int, int]:
    """A uid no other run holds (on this machine, across grader processes), and its lock.

    Each run gets a uid of its own, so one run's process limit never counts another's and
    no run can signal another's processes. The claim is an exclusive flock on a file per
    uid, held (fd open) until the run ends: `os.close(fd)` releases it. The run's cgroup is
    named after the uid, so it is unique on the machine while the claim lasts.
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
    plan: dict,
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
        submission_dir: the normalised submission (copied, read-only, to /submission).
        modules: contract module -> module name to import.
        inputs: the shared `.npz` of inputs (training split, test images, fallbacks).
        plan: the assignment's plan, as `AssignmentConfig.plan_json()` gives it.
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
    # The sandbox chroots and stages these: relative paths (`--out out/`) would not resolve.
    job_dir, submission_dir = Path(job_dir).absolute(), Path(submission_dir).absolute()
    inputs = Path(inputs).absolute()
    if job_dir.exists():
        shutil.rmtree(job_dir)
    out_dir = job_dir / "out"
    work = job_dir / "work"
    out_dir.mkdir(parents=True)
    work.mkdir()
    full = level == "full"
    image = None
    if full:
        try:
            image = python_image()
        except (ImageError, OSError) as exc:
            return RunOutcome("sandbox_error", f"the sandbox failed: {exc}", level, 0.0)
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
        "plan": plan,
        "budget": {name: vars(spec) for name, spec in budget.models.items()},
    }
    plan_path = job_dir / "plan.json"
    plan_path.write_text(json.dumps(plan, indent=1))
    uid, uid_lock = _claim_uid()
    cgroup, notes = None, []
    try:
        if full:
            cgroup, note = _run_cgroup(uid, limits)
            notes += [note] if note else []
        cfg = _init_config(
            level, job_dir, uid, image, plan_path, inputs, submission_dir,
            work, out_dir, seed, threads, limits, cgroup,
        )  # fmt: skip
        cfg_path = job_dir / "sandbox-config.json"
        cfg_path.write_text(json.dumps(cfg, indent=1))
        if not full:
            for path in (work, out_dir):
                path.chmod(0o777)
        code = _start_init(job_dir, cfg_path, full, limits, cgroup)
    finally:
        resources = {}
        if cgroup is not None:
            resources = cgroup.stats()
            problem = cgroup.destroy()
            resources["removed"] = problem is None
            if problem:
                print(f"keras-grader: could not remove a run's cgroup: {problem}", file=sys.stderr)
        os.close(uid_lock)
    if _stopping.is_set():
        return RunOutcome("sandbox_error", INTERRUPTED, level, 0.0)
    report = _read_report(job_dir / "sandbox.json")
    if full and (job_dir / "root").exists():
        shutil.rmtree(job_dir / "root", ignore_errors=True)  # only mount points, now empty
    outcome = classify(code, report, log_path=job_dir / "sandbox.log", out_dir=out_dir,
                       limits=limits, level=level, resources=resources, notes=notes)  # fmt: skip
    return outcome


def _sweep_stale_cgroups(support: CgroupSupport) -> None:
    """Remove the cgroups of runs whose grader was killed (SIGKILL: no `finally`): those of
    uids no run holds now, and probes of processes that are gone. Once per grader process."""
    for _, parent in support.parents:
        try:
            names = [n for n in os.listdir(parent) if n.startswith(CGROUP_PREFIX)]
        except OSError:
            continue
        for name in names:
            rest = name[len(CGROUP_PREFIX) :]
            if rest.startswith("probe-") and rest[6:].isdigit():
                if not os.path.exists(f"/proc/{rest[6:]}"):
                    try:
                        os.rmdir(os.path.join(parent, name))
                    except OSError:
                        pass
                continue
            if not rest.isdigit():
                continue
            try:
                fd = os.open(UID_LOCKS / f"{rest}.lock", os.O_RDWR | os.O_CREAT, 0o600)
            except OSError:
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                RunCgroup(str(support.version), {"": os.path.join(parent, name)}).destroy(2.0)
            except OSError:
                pass  # held: a run of this uid is going on
            finally:
                os.close(fd)


_swept: set[str] = set()


def _run_cgroup(uid: int, limits: Limits) -> tuple[RunCgroup | None, str]:
    """The run's cgroup, or None and the note every result of the run then carries."""
    support = cgroup_support()
    if support.version is None:
        return None, f"{NO_CGROUP} ({support.why})"
    with _uid_lock:
        if not _swept:
            _swept.add("done")
            _sweep_stale_cgroups(support)
    try:
        return RunCgroup.create(support, f"{CGROUP_PREFIX}{uid}", limits), ""
    except OSError as exc:
        return None, f"{NO_CGROUP} (this run's could not be made: {exc})"


def _init_config(
    level: str,
    job_dir: Path,
    uid: int,
    image: PythonImage | None,
    plan_path: Path,
    inputs: Path,
    submission_dir: Path,
    work: Path,
    out_dir: Path,
    seed: int,
    threads: int,
    limits: Limits,
    cgroup: RunCgroup | None,
) -> dict:
    hide = {str(PACKAGE_DIR), str(job_dir), str(inputs.parent), str(submission_dir), str(out_dir)}
    hide |= {str(python_images_dir())} | ({str(CHECKOUT)} if CHECKOUT else set())
    pids_held = cgroup is not None and ("pids" in cgroup.folders or "" in cgroup.folders)
    return {
        "isolation": level,
        "root": str(job_dir / "root"),
        "uid": uid,
        "python": sys.executable,
        "python_image": str(image.directory) if image else None,
        "runner_python": image.python if image else sys.executable,
        "runner_env": image.env if image else {},
        "hide": sorted(hide | {os.path.realpath(p) for p in hide}),
        "runner": str(RUNNER),
        "plan": str(plan_path),
        "inputs": str(inputs),
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
            # The cgroup counts every task of the sandbox: the uid's rlimit is a backstop.
            "nproc": limits.processes + NPROC_MARGIN if pids_held else limits.processes,
            "wall_seconds": limits.wall_seconds,
            "output_keep_kib": limits.output_keep_kib,
            "job_size_mib": limits.job_size_mib,
            "out_entries": limits.out_entries,
            "out_depth": limits.out_depth,
        },
    }


def _start_init(
    job_dir: Path, cfg_path: Path, full: bool, limits: Limits, cgroup: RunCgroup | None
) -> int | None:
    """Run the init to its end (or the backstop); its exit code, None if it had to be killed.

    Under full isolation its command line names no host path: the script and the config are
    descriptors it inherits (`python -I /dev/fd/N /dev/fd/M`), its environment is INIT_ENV.
    """
    procs_files = cgroup.procs_files if cgroup else []
    log_path = job_dir / "sandbox.log"
    fds: list[int] = []
    try:
        if full:
            fds = [os.open(INIT, os.O_RDONLY), os.open(cfg_path, os.O_RDONLY)]
            argv = [*UNSHARE, _init_python(), "-I", *(f"/dev/fd/{fd}" for fd in fds)]
            env = INIT_ENV
        else:
            argv, env = [sys.executable, "-I", str(INIT), str(cfg_path)], None
        with open(log_path, "wb") as log:
            with _live_lock:
                if _stopping.is_set():
                    log.write(b"interrupted: the grading is stopping, no sandbox started\n")
                    return None
                try:
                    proc = subprocess.Popen(
                        argv,
                        stdin=subprocess.DEVNULL,
                        stdout=log,
                        stderr=log,
                        env=env,
                        pass_fds=fds,
                        preexec_fn=functools.partial(_enter_sandbox, procs_files),
                    )
                except (OSError, subprocess.SubprocessError) as exc:
                    log.write(f"could not start the sandbox (joining its cgroup): {exc}\n".encode())
                    return None
                _live.add(proc)
            try:
                return proc.wait(timeout=limits.wall_seconds + BACKSTOP_SECONDS)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                return None
            except BaseException:  # Ctrl-C in the thread that waits: the sandbox goes too
                proc.kill()
                proc.wait()
                raise
            finally:
                with _live_lock:
                    _live.discard(proc)
    finally:
        for fd in fds:
            os.close(fd)


def _read_report(path: Path) -> dict | None:
    try:
        with open(path, "rb") as f:
            data = json.loads(f.read(4 << 20))
        return data if isinstance(data, dict) else None
    except (OSError, ValueError):
        return None


def _manifest(out_dir: Path) -> dict:
    from grader.check.artifacts import read_manifest  # local: keeps this module light

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
    resources: dict | None = None,
    notes: list[str] | tuple[str, ...] = (),
) -> RunOutcome:
    """Turn the init's exit and report, and what the cgroup counted, into a status with a
    one-line explanation (plus notes: output cut, no cgroup)."""
    resources = resources or {}
    if report is None:
        log = log_path.read_text(errors="replace").strip().splitlines() if log_path.exists() else []
        last = log[-1] if log else f"init exited with {code}"
        return RunOutcome(
            "sandbox_error", f"the sandbox failed: {last[:300]}", level, 0.0, resources=resources
        )
    stdout, stderr = str(report.get("stdout", "")), str(report.get("stderr", ""))
    setup_tool = re.match(r"\s*(/usr/s?bin/)?(chroot|setpriv|prlimit|env): ", stderr)
    if report.get("exit_code") in (125, 126, 127) and setup_tool:
        # The sandbox's own tools failed before any student code ran: not the student's crash.
        first = stderr.strip().splitlines()[0][:300]
        return RunOutcome(
            "sandbox_error", f"the sandbox failed: {first}", level, 0.0, resources=resources
        )
    duration = float(report.get("duration", 0.0))
    manifest = _manifest(out_dir)
    calls = manifest.get("calls", {}) if isinstance(manifest.get("calls"), dict) else {}
    current = manifest.get("current")
    during = f" (while running {current})" if isinstance(current, str) else ""
    dropped = sum(int(report.get(f"{s}_dropped") or 0) for s in ("stdout", "stderr"))
    printed = sum(int(report.get(f"{s}_bytes") or 0) for s in ("stdout", "stderr"))
    extra = list(notes)
    if dropped:
        extra.insert(
            0,
            f"output truncated: printed {printed / (1 << 20):.1f} MiB; the first and last "
            f"{limits.output_keep_kib} KiB of each stream are kept",
        )

    def outcome(status: str, detail: str) -> RunOutcome:
        detail = "; ".join([detail, *extra]) if detail else "; ".join(extra)
        return RunOutcome(status, detail, level, duration, stdout, stderr, out_dir, resources)

    reason = report.get("reason")
    sig = report.get("signal")
    gib = limits.memory_mib / 1024
    if report.get("out_limit"):
        return outcome(
            "output_limit",
            f"{report['out_limit']}: nothing of the run's output was kept (limits: "
            f"{limits.out_entries:,} files and folders, {limits.out_depth} levels)",
        )
    if reason == "timeout":
        return outcome(
            "timeout",
            f"killed after {limits.wall_seconds:g} s wall-clock{during}: an infinite loop?",
        )
    if sig == signal.SIGXCPU:
        return outcome("timeout", f"used more than {limits.cpu_seconds} CPU seconds{during}")
    oom_kills = int(resources.get("oom_kills") or 0)
    if oom_kills:
        total = limits.sandbox_memory_mib / 1024
        return outcome(
            "memory",
            f"ran out of memory{during}: the sandbox's processes together reached its "
            f"{total:g} GiB limit, and the kernel stopped {oom_kills} of them",
        )
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
