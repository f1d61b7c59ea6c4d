"""Phase 1 on a Dask distributed cluster: the same sandboxed runs, on other machines.

`grader grade --scheduler tcp://host:8786` hands every pending submission to a Dask worker,
which runs `grader.run.local.run_student` (the same sandbox as a local run) in a temporary
directory of its own. Nothing assumes a shared file system:

- the shared inputs (`inputs.npz`: images and training labels, no reference model; written
  by the reference's run on the grading machine) are compressed and scattered once to every worker
  (`broadcast=True`); each worker process writes them to its local directory once;
- a submission travels as its bytes (a file as is, a directory as a zip of its regular files);
- the worker returns the `RunRecord` and the job's `out/` directory packed as a zip, which the
  grading machine unpacks, with the rules of untrusted archives, into `runs/<id>/job/out`:
  phase 2 then reads local artifacts, exactly as after a local run.

Robustness: every task's key is derived from the submission id, its content hash and
everything else its result depends on (shared inputs, budget, limits, grader code); a worker
lost in the middle of a task makes the scheduler run it again elsewhere (up to Dask's
`distributed.scheduler.allowed-failures`), a task that raises is retried (`RETRIES`), tasks
cancelled because the scattered inputs were lost are resubmitted with fresh inputs, and each
submission yields exactly one record: a task that ran twice changes nothing, since a worker
only ever writes into its own temporary directory. Whatever still fails becomes that
submission's `sandbox_error`, never the batch's.

This module imports `distributed` only inside `run_on_cluster` and on the workers: a local run
never imports Dask.
"""

from __future__ import annotations

import collections
import dataclasses
import hashlib
import importlib.metadata
import io
import json
import logging
import os
import platform
import shutil
import socket
import stat
import tempfile
import threading
import time
import uuid
import zipfile
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from grader import __version__
from grader.config import AssignmentConfig, Budget
from grader.errors import GraderError
from grader.fileio import link_or_copy
from grader.machine import cpu_features
from grader.run.local import ReferenceFailed, RunRecord, run_dir
from grader.unzip import UnsafeArchive, extract

log = logging.getLogger(__name__)

SHARED_FILES = ("inputs.npz",)
"""What the reference's run leaves in `work/` for every student's run."""
RETRIES = 2
"""Reruns of a task that raised (a worker's disk, a version mismatch); lost workers are
handled by the scheduler itself, see `distributed.scheduler.allowed-failures`."""
RESUBMITS = 3
"""Resubmissions of a task cancelled under us (scattered inputs lost, scheduler restarted)."""
CONNECT_TIMEOUT = 30
"""Seconds to reach the scheduler."""
WORKER_WAIT = 120
"""Seconds to wait for a first worker to join."""
MAX_ARTIFACT_FILES = 10_000
"""Entries of a returned artifact archive (a run writes a few dozen)."""
MAX_DEPTH = 16
"""Folder depth of an archive entry."""
CODE_FOLDERS = ("", "run", "check", "report")
"""Where the grader modules a run's or a check's outcome depends on live (every `.py` of
these package folders): workers must run the same, since phase 1 and phase 2 run there."""
MATERIALS_BYTES = 8 << 30
"""At most this much of the assignment's folder and of the reference's artifacts travels."""
SLOT = "sandbox"
"""The Dask resource a run task takes (`dask worker --resources sandbox=N`): a worker with
one thread more than its sandbox slots checks students on the spare thread while its
sandboxes train (phase 2 then costs no slot time)."""
_PACKED = "<artifacts>"


# ---- archives ---------------------------------------------------------------------------


def pack_tree(root: Path, max_bytes: int, *, level: int = 1, skip: tuple[str, ...] = ()) -> bytes:
    """Zip the regular files under `root` (no symlinks, devices or fifos; at most `max_bytes`;
    no folder named in `skip`).

    Files that would take the archive past `max_bytes` are left out, as the sandbox's own
    copy-out does: the trusted reader then reports them missing.
    """
    buf = io.BytesIO()
    left = max_bytes
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as zf:
        for folder, dirs, files in os.walk(root):
            dirs[:] = sorted(
                d for d in dirs if d not in skip and not os.path.islink(os.path.join(folder, d))
            )
            rel = Path(folder).relative_to(root)
            for name in sorted(files):
                flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK  # a fifo must not block us
                try:
                    fd = os.open(os.path.join(folder, name), flags)
                except OSError:
                    continue  # a symlink (ELOOP), or gone
                with os.fdopen(fd, "rb") as f:
                    info = os.fstat(f.fileno())
                    if not stat.S_ISREG(info.st_mode):
                        continue
                    size = min(left, info.st_size)
                    data = f.read(size + 1)
                if len(data) > size:
                    continue  # too big, or still growing: left out whole, never cut
                left -= len(data)
                info = zipfile.ZipInfo((rel / name).as_posix(), date_time=(1980, 1, 1, 0, 0, 0))
                info.external_attr = (stat.S_IFREG | 0o644) << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                zf.writestr(info, data, compresslevel=level)
    return buf.getvalue()


def unpack_archive(data: bytes, dest: Path, *, max_bytes: int, max_files: int) -> None:
    """Extract a zip into `dest` (created; must not exist) under grader/unzip.py's rules,
    with at most `max_files` files and `max_bytes` once inflated.

    Raises:
        UnsafeArchive: the first refused entry, and why. `dest` may hold a partial tree then.
    """
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise UnsafeArchive(f"not a readable zip file: {exc}") from None
    dest.mkdir(parents=True)

    def limit(count: int, total: int, name: str) -> None:
        if count > max_files:
            raise UnsafeArchive(f"more than {max_files} files")
        if total > max_bytes:
            raise UnsafeArchive(f"{name!r}: more than {max_bytes} bytes in all")

    try:
        with zf:
            extract(zf, dest, limit=limit, max_depth=MAX_DEPTH, label="entry")
    except UnsafeArchive:
        raise
    except (OSError, zipfile.BadZipFile, zlib.error, EOFError, RuntimeError) as exc:
        raise UnsafeArchive(f"the archive cannot be extracted: {exc}") from None


# ---- what travels ------------------------------------------------------------------------


@dataclass(frozen=True)
class SharedInputs:
    """The reference's outputs every run needs, zlib-compressed, scattered once per cluster."""

    digest: str
    """sha256 over the files' names and (uncompressed) bytes."""
    files: Mapping[str, bytes]
    """File name -> compressed bytes."""


@dataclass(frozen=True)
class RemoteJob:
    """One submission's run, as a worker gets it."""

    sid: str
    name: str
    """The entry's name (`alice.ipynb`, `bob`), so the worker sees the same kind of source."""
    is_dir: bool
    data: bytes
    """A file's bytes, or a directory's regular files as a zip."""
    config: AssignmentConfig
    budget: Budget
    isolation: str | None
    expected: Mapping[str, str]
    """The grading machine's `environment_facts()`: a worker that differs refuses the job."""


@dataclass(frozen=True)
class RemoteResult:
    """What a worker returns: the run's record, its artifacts, and where it ran."""

    record: Mapping
    artifacts: bytes | None
    worker: str
    host: str


@dataclass(frozen=True)
class CheckRequest:
    """The settings of a student's phase 2 on a worker (`check_remote`)."""

    budget_name: str
    data_source: str
    """`bundled`, or `data.npz` (the grading machine's data, shipped in the materials)."""
    visibility: str
    seed: int
    artifact_bytes: int
    """The most a run's artifacts may unpack to (`limits.job_size_mib`, as `receive` allows)."""
    expected: Mapping[str, str]
    """The grading machine's `environment_facts()`: a worker that differs refuses the check."""


@dataclass(frozen=True)
class CheckShared:
    """The check materials, zlib-compressed zips, scattered once the reference has ended: the
    assignment's folder (settings, checks, data), the reference's artifacts and, for data other
    than the bundled file, the data as an .npz."""

    digest: str
    files: Mapping[str, bytes]


@dataclass
class ClusterChecks:
    """Phase 2 on the workers (the grading machine's side): the session's settings, how to
    get the reference's record (a call that blocks until its run has ended, and raises if it
    failed), and the results the workers return, by student (`results`)."""

    budget_name: str
    data_source: str
    visibility: str
    reference: Callable[[], RunRecord]
    results: dict = field(default_factory=dict)


def shared_inputs(work: Path) -> SharedInputs:
    """Read and compress the reference's shared outputs from `work` (see `SHARED_FILES`)."""
    digest = hashlib.sha256()
    files = {}
    for name in SHARED_FILES:
        raw = (work / name).read_bytes()
        digest.update(name.encode() + b"\0" + hashlib.sha256(raw).digest())
        files[name] = zlib.compress(raw, 1)
    return SharedInputs(digest.hexdigest(), files)


def submission_payload(source: Path) -> tuple[bool, bytes]:
    """(is_dir, bytes): a file's bytes, or a directory's regular files zipped.

    Folders a local run ignores (`__pycache__`, `.git`, `.ipynb_checkpoints`) stay home; the
    submission was validated on the grading machine first (`prepare`), with the same limits.
    """
    if not source.is_dir():
        return False, source.read_bytes()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        for folder, dirs, files in os.walk(source):
            dirs[:] = sorted(
                d for d in dirs if d not in ("__pycache__", ".git", ".ipynb_checkpoints")
                and not os.path.islink(os.path.join(folder, d))
            )  # fmt: skip
            rel = Path(folder).relative_to(source)
            for name in sorted(files):
                path = Path(folder) / name
                if path.is_symlink() or not path.is_file():
                    continue
                info = zipfile.ZipInfo((rel / name).as_posix(), date_time=(1980, 1, 1, 0, 0, 0))
                info.external_attr = (stat.S_IFREG | 0o644) << 16
                zf.writestr(info, path.read_bytes(), compress_type=zipfile.ZIP_DEFLATED)
    return True, buf.getvalue()


def environment_facts() -> dict[str, str]:
    """What must match between the grading machine and every worker for identical results."""
    code = hashlib.sha256()
    here = Path(__file__).resolve().parent.parent  # the package
    for folder in CODE_FOLDERS:
        for path in sorted((here / folder).glob("*.py")):
            name = path.relative_to(here).as_posix()
            code.update(name.encode() + b"\0" + path.read_bytes())
    return {
        "python": platform.python_version(),
        "grader": __version__,
        "grader_code": code.hexdigest()[:16],
        "numpy": _dist_version("numpy"),
        "keras": _dist_version("keras"),
        "tensorflow": _dist_version("tensorflow", "tensorflow-cpu"),
    }


def _dist_version(*names: str) -> str:
    for name in names:
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return "missing"


def task_key(sid: str, content_hash: str, context: str) -> str:
    """The task's Dask key: the submission id plus a hash of its content and of `context`
    (shared inputs, budget, limits, seed, isolation, grader code), so that equal keys mean
    equal results, even on a scheduler that several grading runs share."""
    digest = hashlib.sha256(f"{content_hash}\0{context}".encode()).hexdigest()[:20]
    return f"keras-grader-run-{sid}-{digest}"


def _context(shared: SharedInputs, config: AssignmentConfig, budget: Budget, isolation,
             facts: Mapping[str, str]) -> str:  # fmt: skip
    settings = (shared.digest, repr(budget), repr(config.limits), config.seed, config.threads,
                isolation, sorted(facts.items()), repr(config.plan))  # fmt: skip
    return hashlib.sha256(repr(settings).encode()).hexdigest()


# ---- the worker's side -------------------------------------------------------------------

_inputs_lock = threading.Lock()
_inputs_dirs: dict[str, Path] = {}
_facts: dict[str, str] = {}


def run_remote(job: RemoteJob, shared: SharedInputs) -> RemoteResult:
    """Run one submission on this worker: `run_student` in a temporary work directory.

    Raises (so that Dask retries it) only for the worker's own trouble: a grader or library
    version different from the grading machine's, a full disk.
    """
    from grader.run.local import run_student

    _same_environment(job.expected)
    base, address = _worker_place()
    inputs = _materialize(shared, base)
    tmp = Path(tempfile.mkdtemp(prefix="keras-grader-job-", dir=base))
    try:
        source = tmp / "src" / job.name
        source.parent.mkdir()
        if job.is_dir:
            from grader.run.submission import MAX_FILES, MAX_TOTAL_BYTES

            unpack_archive(job.data, source, max_bytes=MAX_TOTAL_BYTES, max_files=MAX_FILES)
        else:
            source.write_bytes(job.data)
        work = tmp / "work"
        work.mkdir()
        for name in SHARED_FILES:
            link_or_copy(inputs / name, work / name)
        record = run_student(source, job.sid, job.config, job.budget, work, job.isolation)
        data = record.to_json()
        artifacts = None
        out = record.out_dir
        if out is not None and out.is_absolute() and out.is_relative_to(work) and out.is_dir():
            artifacts = pack_tree(out, job.config.limits.job_size_mib << 20)
            data["out_dir"] = _PACKED
        data["notes"] = list(record.notes)
        return RemoteResult(data, artifacts, address, socket.gethostname())
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


_servers: dict[str, object] = {}
_materials_dirs: dict[str, Path] = {}


def check_remote(
    result: RemoteResult, request: CheckRequest, materials: CheckShared
) -> Mapping | None:
    """Phase 2 of one student on this worker, right after their run (`run_remote`'s
    `result`, which Dask keeps on the worker that made it): their artifacts are unpacked
    here and checked in this worker process's check server (a trusted process, never the
    sandbox). Returns `{"checked", "worker", "seconds"}`, or None when the check server died on
    them (the grading machine then checks them itself).

    Raises (so that Dask retries it elsewhere) only for this worker's own trouble.
    """
    from grader.check.server import CheckServer, ServerDied
    from grader.check.session import check_in_server

    _same_environment(request.expected)
    base, address = _worker_place()
    folder = _materialize_checks(materials, base)
    with _inputs_lock:
        server = _servers.get(materials.digest)
        if server is None:  # a new grading: the old server has another's checks imported
            for old in _servers.values():
                old.close()
            _servers.clear()
            seed = {"PYTHONHASHSEED": str(request.seed)}
            server = _servers[materials.digest] = CheckServer(base / "keras-grader-checks", seed)
    tmp = Path(tempfile.mkdtemp(prefix="keras-grader-check-", dir=base))
    try:
        data = dict(result.record)
        out_dir = None
        if result.artifacts is not None and data.get("out_dir") == _PACKED:
            out_dir = tmp / "out"
            unpack_archive(result.artifacts, out_dir, max_bytes=request.artifact_bytes,
                           max_files=MAX_ARTIFACT_FILES)  # fmt: skip
        fields = {f.name for f in dataclasses.fields(RunRecord)}
        kept = {k: v for k, v in data.items() if k in fields}
        record = RunRecord(**{**kept, "out_dir": out_dir, "notes": tuple(data.get("notes", ()))})
        reference = json.loads((folder / "reference.json").read_text())
        reference["out_dir"] = str(folder / "reference")
        source = request.data_source
        source = source if source == "bundled" else str(folder / source)
        started = time.monotonic()
        try:
            checked = check_in_server(
                server, folder / "assignment", request.budget_name, source, reference, record,
                tmp / "phase2", request.visibility,
            )  # fmt: skip
        except (ServerDied, GraderError) as exc:
            log.warning("%s: not checked on %s: %s", record.id, address, exc)
            return None
        return {"checked": checked, "worker": address, "seconds": time.monotonic() - started}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _materialize_checks(shared: CheckShared, base: Path) -> Path:
    """The check materials on this worker's disk, unpacked once per worker process."""
    with _inputs_lock:
        folder = _materials_dirs.get(shared.digest)
        if folder is not None and folder.is_dir():
            return folder
        folder = base / f"keras-grader-checks-{shared.digest[:24]}"
        if folder.exists():
            shutil.rmtree(folder)
        staging = Path(tempfile.mkdtemp(prefix=".checks.", dir=base))
        for name, packed in shared.files.items():
            raw = zlib.decompress(packed)
            if name.endswith(".zip"):
                unpack_archive(raw, staging / name[:-4], max_bytes=MATERIALS_BYTES,
                               max_files=MAX_ARTIFACT_FILES)  # fmt: skip
            else:
                (staging / name).write_bytes(raw)
        staging.chmod(0o700)  # held-out labels: never readable by a sandbox's user
        os.rename(staging, folder)
        _materials_dirs[shared.digest] = folder
        return folder


def check_shared(config: AssignmentConfig, data_source: str, reference: RunRecord) -> CheckShared:
    """The check materials (`CheckShared`) of this grading."""
    from grader.check.session import plan_entry
    from grader.data import load_data

    files = {
        "assignment.zip": pack_tree(config.root, MATERIALS_BYTES, skip=("__pycache__",)),
        "reference.zip": pack_tree(Path(reference.out_dir), MATERIALS_BYTES),
        "reference.json": json.dumps(plan_entry(reference)).encode(),
    }
    if data_source != "bundled":
        (x_train, y_train), (x_test, y_test) = load_data(config, data_source)
        buf = io.BytesIO()
        np.savez(buf, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
        files["data.npz"] = buf.getvalue()
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + hashlib.sha256(files[name]).digest())
    return CheckShared(digest.hexdigest(), {n: zlib.compress(b, 1) for n, b in files.items()})


def _same_environment(expected: Mapping[str, str]) -> None:
    """Raise (Dask then retries elsewhere) if this worker differs from the grading machine."""
    if not _facts:
        _facts.update(environment_facts())
    differs = {k: (v, _facts.get(k)) for k, v in expected.items() if _facts.get(k) != v}
    if differs:
        raise RuntimeError(f"this worker's environment differs from the grader's: {differs}")


def _worker_place() -> tuple[Path, str]:
    """This worker's local directory and address (a temp dir when not on a Dask worker)."""
    try:
        from distributed import get_worker

        worker = get_worker()
        return Path(worker.local_directory), str(worker.address)
    except (ImportError, ValueError):
        return Path(tempfile.gettempdir()), f"local:{os.getpid()}"


def _materialize(shared: SharedInputs, base: Path) -> Path:
    """Write the shared inputs to this worker's disk once (per worker process and digest)."""
    with _inputs_lock:
        folder = _inputs_dirs.get(shared.digest)
        if folder is not None and all((folder / n).is_file() for n in SHARED_FILES):
            return folder
        folder = base / f"keras-grader-inputs-{shared.digest[:24]}"
        folder.mkdir(parents=True, exist_ok=True)
        folder.chmod(0o755)
        for name, packed in shared.files.items():
            tmp = folder / f".{name}.{os.getpid()}.tmp"
            tmp.write_bytes(zlib.decompress(packed))
            tmp.chmod(0o644)
            os.replace(tmp, folder / name)
        _inputs_dirs[shared.digest] = folder
        return folder


# ---- the grading machine's side ----------------------------------------------------------


def run_on_cluster(
    scheduler,
    todo: Mapping[str, Path],
    config: AssignmentConfig,
    budget: Budget,
    work: Path,
    isolation: str | None = None,
    checks: ClusterChecks | None = None,
) -> Iterator[tuple[str, RunRecord]]:
    """Run phase 1 of every submission in `todo` on the Dask cluster at `scheduler`, and with
    `checks` their phase 2 too, each student's right after their run, on the same worker.

    Args:
        scheduler: the scheduler's address (`tcp://host:8786`), or a `distributed.Client`.
        todo: submission id -> what the student handed in (on this machine).
        config: the assignment's settings.
        budget: the training budget.
        work: OUT's work directory, holding the reference's shared inputs (`SHARED_FILES`);
            each submission's artifacts are unpacked into `run_dir(work, id)/job/out`.
        isolation: force `full` or `limited` sandboxing on the workers; default: each
            worker's best (the level is recorded in every result).
        checks: phase 2 on the workers: their results go to `checks.results` (a student
            missing there, as when a worker's check process died on them, is for the grading
            machine to check).

    Yields:
        (id, RunRecord) once per submission, as runs finish, with `out_dir` local.

    Raises:
        GraderError: `distributed` is not installed, the scheduler cannot be reached, no
            worker joined, or the workers differ from this machine (versions, grader code,
            isolation).
    """
    if not todo:
        return
    try:
        import distributed
    except ImportError:
        raise GraderError(
            "--scheduler needs Dask's `distributed` package",
            "pip install -e '.[dask]' (on this machine and on every worker)",
        ) from None
    client, owned = _connect(distributed, scheduler)
    pending: dict = {}  # future -> (kind, sid)
    stop = threading.Event()
    materials = None
    try:
        facts = environment_facts()
        _check_workers(client, facts, isolation)
        shared_data = shared_inputs(work)
        context = _context(shared_data, config, budget, isolation, facts)
        portable = config
        jobs: dict[str, tuple[RemoteJob, str]] = {}
        for sid, path in todo.items():
            chash, refused = _validate(Path(path), sid, work, config.contract)
            if refused is not None:
                yield sid, refused
                continue
            is_dir, data = submission_payload(Path(path))
            job = RemoteJob(sid, Path(path).name, is_dir, data, portable, budget, isolation, facts)
            jobs[sid] = (job, chash)
        if not jobs:
            return
        if checks is not None:
            request = CheckRequest(
                checks.budget_name, "bundled" if checks.data_source == "bundled" else "data.npz",
                checks.visibility, config.seed, config.limits.job_size_mib << 20, facts,
            )  # fmt: skip
            materials = _Materials(client, config, checks, stop)
        shared = client.scatter(shared_data, broadcast=True, hash=False)
        attempts = collections.Counter()
        slots = _sandbox_slots(client)
        runs: dict[str, object] = {}  # sid -> its run's future, kept until it is checked
        parked: list[str] = []  # runs that ended before the check materials were ready

        def submit(sid: str):
            job, chash = jobs[sid]
            key = task_key(sid, chash, context)
            if attempts[sid]:
                key = f"{key}-again{attempts[sid]}"
            future = client.submit(run_remote, job, shared, key=key, retries=RETRIES,
                                   resources={SLOT: 1} if slots else None)  # fmt: skip
            pending[future] = ("run", sid)
            return future

        def submit_check(sid: str):
            future = client.submit(
                check_remote, runs[sid], request, materials.future,
                key=f"keras-grader-check-{sid}-{uuid.uuid4().hex[:12]}", retries=RETRIES,
            )  # fmt: skip
            pending[future] = ("check", sid)
            return future

        queue = distributed.as_completed([submit(sid) for sid in jobs], loop=client.loop)
        done: set[str] = set()
        while True:
            for future in queue:
                if stop.is_set():
                    return  # the reference failed: the caller says so; the rest is cancelled
                kind, sid = pending.pop(future)
                if kind == "check":
                    outcome = _checked(future, sid, distributed, materials)
                    if outcome == "again":
                        queue.add(submit_check(sid))
                    else:
                        if outcome is not None:
                            checks.results[sid] = outcome["checked"]
                            log.info("%s: checked on %s (%.2f s)", sid, outcome["worker"],
                                     outcome.get("seconds", 0.0))  # fmt: skip
                        runs.pop(sid, None)
                    continue
                if sid in done:
                    continue
                try:
                    result = future.result()
                except distributed.CancelledError as exc:
                    if attempts[sid] < RESUBMITS:
                        attempts[sid] += 1
                        if shared.status != "finished":
                            log.warning("the shared inputs were lost: scattering them again")
                            shared = client.scatter(shared_data, broadcast=True, hash=False)
                        log.warning("%s: task cancelled (%s), submitting it again", sid, exc)
                        queue.add(submit(sid))
                        continue
                    record = _failed(sid, jobs[sid][1], f"the task was cancelled: {exc}")
                except Exception as exc:  # noqa: BLE001 - one bad submission never sinks the batch
                    record = _failed(sid, jobs[sid][1], f"{type(exc).__name__}: {exc}")
                else:
                    record = receive(result, sid, jobs[sid][1], work, config)
                    log.info("%s: %s on %s (%s)", sid, record.status, result.worker, result.host)
                    # Phase 2 on the worker that holds its result, unless this machine refused
                    # the run's artifacts (the local session then checks what it kept).
                    if materials is not None and (result.artifacts is None or record.out_dir):
                        runs[sid] = future
                        if materials.ready():
                            queue.add(submit_check(sid))
                        else:
                            parked.append(sid)
                done.add(sid)
                del future
                yield sid, record
            if not parked or not materials.wait():
                return  # without materials, the grading machine checks the parked ones
            queue = distributed.as_completed([submit_check(sid) for sid in parked],
                                             loop=client.loop)  # fmt: skip
            parked.clear()
    finally:
        stop.set()
        if pending:
            client.cancel(list(pending))
        if owned:
            client.close()


def _sandbox_slots(client) -> int:
    """The workers' `SLOT` resources in all (0: none declares any, so every task takes a
    thread of its own and checks wait for a thread like runs)."""
    workers = client.scheduler_info().get("workers", {})
    return int(sum(w.get("resources", {}).get(SLOT, 0) for w in workers.values()))


def _checked(future, sid: str, distributed, materials) -> Mapping | str | None:
    """A check task's outcome: its result, "again" (the materials were lost with a worker:
    scattered again), or None (the grading machine checks that student)."""
    try:
        return future.result()
    except distributed.CancelledError:
        if materials.refresh():
            return "again"
        log.warning("%s: not checked on the cluster (the check materials were lost)", sid)
    except Exception as exc:  # noqa: BLE001 - the grading machine checks them instead
        log.warning("%s: not checked on the cluster: %s: %s", sid, type(exc).__name__, exc)
    return None


class _Materials:
    """The check materials (grading machine's side): scattered to every worker once the
    reference's run has ended (from a thread of its own), and again if they were lost."""

    AGAIN = 3
    """Scatters after a loss, at most."""

    def __init__(self, client, config, checks: ClusterChecks, stop: threading.Event) -> None:
        self.client, self.config, self.checks, self.stop = client, config, checks, stop
        self.shared: CheckShared | None = None
        self.future = None
        self.lost = 0
        self._done = threading.Event()
        self._lock = threading.Lock()
        threading.Thread(target=self._publish, name="keras-grader-materials", daemon=True).start()

    def _publish(self) -> None:
        try:
            record = self.checks.reference()
            if not self.stop.is_set():
                self.shared = check_shared(self.config, self.checks.data_source, record)
                with self._lock:
                    self.future = self.client.scatter(self.shared, broadcast=True, hash=False)
        except ReferenceFailed:
            self.stop.set()  # the caller reports it; the runs still going are cancelled
        except BaseException as exc:  # noqa: BLE001 - the grading machine checks everyone
            log.warning("phase 2 stays on this machine: %s", repr(exc))
        finally:
            self._done.set()

    def ready(self) -> bool:
        return self._done.is_set() and self.future is not None

    def wait(self) -> bool:
        """Wait until the materials are scattered (True) or cannot be (False)."""
        self._done.wait()
        return self.future is not None

    def refresh(self) -> bool:
        """Scatter the materials again after a loss; False once that was tried too often."""
        with self._lock:
            if self.future is not None and self.future.status == "finished":
                return True
            if self.shared is None or self.lost >= self.AGAIN:
                return False
            self.lost += 1
            log.warning("the check materials were lost: scattering them again")
            try:
                self.future = self.client.scatter(self.shared, broadcast=True, hash=False)
            except Exception as exc:  # noqa: BLE001 - the grading machine checks them
                log.warning("the check materials could not be scattered again: %s", exc)
                return False
            return True


def _connect(distributed, scheduler):
    if isinstance(scheduler, distributed.Client):
        return scheduler, False
    try:
        client = distributed.Client(scheduler, timeout=CONNECT_TIMEOUT, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise GraderError(
            f"cannot reach the Dask scheduler at {scheduler}: {exc}",
            "start one with `dask scheduler` and pass its address (tcp://host:8786)",
        ) from None
    try:
        client.wait_for_workers(1, timeout=WORKER_WAIT)
    except (TimeoutError, OSError):
        client.close()
        raise GraderError(
            f"no Dask worker joined the scheduler at {scheduler} within {WORKER_WAIT} s",
            f"start workers with `dask worker {scheduler} --nthreads 1`",
        ) from None
    return client, True


def _check_workers(client, facts: Mapping[str, str], isolation: str | None) -> None:
    """Refuse workers whose versions, grader code or isolation differ from what is asked."""
    found = client.run(environment_facts)
    for address, theirs in sorted(found.items()):
        for key, ours in facts.items():
            if theirs.get(key) != ours:
                raise GraderError(
                    f"worker {address} has {key} {theirs.get(key)}, this machine {ours}",
                    "install the same Python, TensorFlow, Keras, NumPy and grader commit on "
                    "every worker (pip install -e '.[dask]')",
                )
    levels = client.run(_isolation)
    limited = sorted(a for a, (level, _) in levels.items() if level != "full")
    if isolation == "full" and limited:
        why = levels[limited[0]][1]
        raise GraderError(
            f"full isolation unavailable on worker {limited[0]}: {why}",
            "run the workers as root with util-linux, or pass --isolation limited",
        )
    if limited and isolation is None:
        log.warning("workers with limited isolation only: %s", ", ".join(limited))
    ours = cpu_features()
    other = sorted(a for a, theirs in client.run(cpu_features).items() if theirs != ours)
    if other:
        log.warning(
            "workers whose CPU features differ from this machine's (%s): %s; their training "
            "may differ from a local run in the last bits", " ".join(ours), ", ".join(other),
        )  # fmt: skip


def _isolation() -> tuple[str, str]:
    from grader.run.sandbox import isolation_level

    return isolation_level()


def _validate(
    path: Path, sid: str, work: Path, contract: Mapping[str, tuple]
) -> tuple[str, RunRecord | None]:
    """The content hash, and a record if the submission is refused (as a local run would).

    Whatever goes wrong here for one submission (a refusal, or the grader failing on it) is
    that submission's `sandbox_error`, never the batch's. `sid` is a safe id
    (`submission.safe_id`): short, and fit for a file name.
    """
    from grader.run.submission import SubmissionError, content_hash, prepare

    try:
        chash = content_hash(path)
    except Exception:  # noqa: BLE001 - prepare() says what is wrong with it
        chash = ""
    try:
        scratch = Path(tempfile.mkdtemp(prefix=f".{sid}.check.", dir=work))
    except OSError as exc:
        return chash, _refused(sid, chash, f"the grader could not check it: {exc.strerror}")
    try:
        prepare(path, scratch / "code", contract)
    except SubmissionError as exc:
        return chash, _refused(sid, chash, f"submission refused: {exc}")
    except Exception as exc:  # noqa: BLE001 - one bad submission never sinks the batch
        return chash, _refused(sid, chash, f"the grader failed on this submission: {exc}")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return chash, None


def _refused(sid: str, chash: str, why: str) -> RunRecord:
    return RunRecord(sid, "sandbox_error", why[:500], "none", chash, None, 0.0)


def _failed(sid: str, chash: str, why: str) -> RunRecord:
    return RunRecord(
        sid, "sandbox_error", f"the cluster could not run this submission: {why}"[:500],
        "none", chash, None, 0.0,
    )  # fmt: skip


def receive(
    result: RemoteResult, sid: str, chash: str, work: Path, config: AssignmentConfig
) -> RunRecord:
    """Unpack a worker's result into `run_dir(work, sid)` (replacing any earlier run of that
    submission) atomically: a reader sees the old run or the new one, never half of one."""
    data = dict(result.record)
    target = run_dir(Path(work).absolute(), sid)  # absolute, as a local run's out_dir
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{sid}.incoming.", dir=target.parent))
    out_dir: Path | None = Path(data["out_dir"]) if data.get("out_dir") else None
    try:
        if result.artifacts is not None and data.get("out_dir") == _PACKED:
            try:
                unpack_archive(
                    result.artifacts, staging / "job" / "out",
                    max_bytes=config.limits.job_size_mib << 20, max_files=MAX_ARTIFACT_FILES,
                )  # fmt: skip
            except UnsafeArchive as exc:
                return RunRecord(
                    sid, "sandbox_error", f"the run's artifacts were refused: {exc}"[:500],
                    str(data.get("isolation", "none")), chash, None,
                    float(data.get("duration", 0.0)),
                )  # fmt: skip
            out_dir = target / "job" / "out"
        elif data.get("out_dir") == _PACKED:
            out_dir = None
        if target.exists():
            old = target.with_name(f".{sid}.replaced.{os.getpid()}")
            os.rename(target, old)
            os.rename(staging, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    fields = {f.name for f in dataclasses.fields(RunRecord)}
    data = {k: v for k, v in data.items() if k in fields}
    return RunRecord(**{**data, "id": sid, "content_hash": chash, "out_dir": out_dir,
                        "notes": tuple(data.get("notes", ()))})  # fmt: skip
