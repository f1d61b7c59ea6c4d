"""Does phase 1 on a Dask cluster give the same results as a local run, safely and robustly?

The cluster is a `LocalCluster(n_workers=2, threads_per_worker=1, processes=True)`: real worker
processes (with nannies) on this machine, talking TCP, sharing nothing with the grader but what
`grader.run.cluster` ships. Submissions are graded with the `quick` budget; the reference's run
comes from the reference cache (~/.cache/keras-grader, or KERAS_GRADER_CACHE).
About a minute on 2 cores.
"""

from __future__ import annotations

import io
import json
import logging
import os
import signal
import stat
import subprocess
import sys
import textwrap
import threading
import time
import warnings
import zipfile
from pathlib import Path

import pytest

from grader.errors import GraderError
from grader.run import cluster as gd
from grader.run.local import run_dir

REPO = Path(__file__).resolve().parent.parent
REFERENCE = REPO / "reference" / "mnist"
STUBS = REPO / "assignments" / "mnist"
MODULES = ("preprocessing", "models", "training")


# ---- archives: the rules of untrusted zips ---------------------------------------------------


def _zip(*entries: tuple[str, bytes, int]) -> bytes:
    """A zip with entries (name, data, unix mode incl. file type)."""
    buf = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(buf, "w") as zf:
        warnings.simplefilter("ignore")  # the duplicate entry is on purpose
        for name, data, mode in entries:
            info = zipfile.ZipInfo(name)
            info.external_attr = mode << 16
            zf.writestr(info, data)
    return buf.getvalue()


REG = stat.S_IFREG | 0o644
UNSAFE = {
    "absolute": _zip(("/etc/evil", b"x", REG)),
    "dotdot": _zip(("arrays/../../evil", b"x", REG)),
    "backslash": _zip(("..\\evil", b"x", REG)),
    "drive": _zip(("C:/evil", b"x", REG)),
    "symlink": _zip(("manifest.json", b"/etc/passwd", stat.S_IFLNK | 0o777)),
    "fifo": _zip(("pipe", b"", stat.S_IFIFO | 0o644)),
    "duplicate": _zip(("a.json", b"1", REG), ("a.json", b"2", REG)),
    "too_deep": _zip(("/".join(["d"] * 20) + "/f", b"x", REG)),
    "too_big": _zip(("big.npy", b"\0" * 5000, REG)),
    "too_many": _zip(*((f"f{i}", b"", REG) for i in range(12))),
    "not_a_zip": b"PK\x03\x04 certainly not a zip",
}


@pytest.mark.parametrize("case", sorted(UNSAFE), ids=sorted(UNSAFE))
def test_unpack_refuses_unsafe_archives(tmp_path, case):
    """Is every kind of unsafe artifact archive refused, with nothing written outside dest?"""
    with pytest.raises(gd.UnsafeArchive):
        gd.unpack_archive(UNSAFE[case], tmp_path / "out", max_bytes=4096, max_files=10)
    written = {p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")}
    assert all(p == "out" or p.startswith("out/") for p in written)
    assert not any(p.is_symlink() for p in tmp_path.rglob("*"))


def test_unpack_counts_real_bytes_not_headers(tmp_path):
    """Is an entry whose header understates its size stopped at the cap all the same?"""
    data = bytearray(_zip(("a.npy", b"\0" * 100_000, REG)))
    # Forge both size fields (local header and central directory) to claim 10 bytes.
    central = data.rfind(b"PK\x01\x02")
    data[central + 24 : central + 28] = (10).to_bytes(4, "little")
    data[22:26] = (10).to_bytes(4, "little")
    with pytest.raises(gd.UnsafeArchive):
        gd.unpack_archive(bytes(data), tmp_path / "out", max_bytes=50_000, max_files=10)


def test_pack_keeps_regular_files_only(tmp_path):
    """Does packing a sandbox's out/ skip symlinks and fifos, and round-trip the rest exactly?"""
    src = tmp_path / "src"
    (src / "arrays").mkdir(parents=True)
    (src / "manifest.json").write_text('{"finished": true}')
    (src / "arrays" / "x.npz").write_bytes(os.urandom(3000))
    (src / "leak").symlink_to("/etc/passwd")
    (src / "linkdir").symlink_to("/etc", target_is_directory=True)
    os.mkfifo(src / "pipe")
    packed = gd.pack_tree(src, max_bytes=1 << 20)
    gd.unpack_archive(packed, tmp_path / "dst", max_bytes=1 << 20, max_files=10)
    got = sorted(p.relative_to(tmp_path / "dst").as_posix() for p in (tmp_path / "dst").rglob("*"))
    assert got == ["arrays", "arrays/x.npz", "manifest.json"]
    assert (tmp_path / "dst/arrays/x.npz").read_bytes() == (src / "arrays/x.npz").read_bytes()


def test_pack_leaves_out_what_exceeds_the_cap(tmp_path):
    """Are files beyond the size cap left out (reported missing later), not truncated?"""
    (tmp_path / "small").write_bytes(b"a" * 100)
    (tmp_path / "large").write_bytes(b"b" * 10_000)
    names = zipfile.ZipFile(io.BytesIO(gd.pack_tree(tmp_path, max_bytes=1000))).namelist()
    assert names == ["small"]


def test_directory_payload_round_trips_to_the_same_content_hash(tmp_path):
    """Does a directory shipped to a worker hash (and so grade) like the original?"""
    from grader.run.submission import content_hash

    src = tmp_path / "bob"
    (src / "helpers").mkdir(parents=True)
    for name in MODULES:
        (src / f"{name}.py").write_text((REFERENCE / f"{name}.py").read_text())
    (src / "helpers" / "util.py").write_text("X = 1\n")
    (src / "__pycache__").mkdir()
    (src / "__pycache__" / "junk.pyc").write_bytes(b"\0" * 10)
    is_dir, data = gd.submission_payload(src)
    assert is_dir
    gd.unpack_archive(data, tmp_path / "copy" / "bob", max_bytes=1 << 20, max_files=100)
    assert content_hash(tmp_path / "copy" / "bob") == content_hash(src)
    single = tmp_path / "carol.py"
    single.write_text("x = 1\n")
    assert gd.submission_payload(single) == (False, b"x = 1\n")


def test_task_keys_follow_content_and_context():
    """Do equal keys mean equal work, and does any change of code or settings change the key?"""
    key = gd.task_key("alice", "c0ffee", "ctx")
    assert key == gd.task_key("alice", "c0ffee", "ctx")
    assert key.startswith("keras-grader-run-alice-")
    others = {gd.task_key("bob", "c0ffee", "ctx"), gd.task_key("alice", "beef", "ctx"),
              gd.task_key("alice", "c0ffee", "ctx2")}  # fmt: skip
    assert key not in others and len(others) == 3


def test_receive_replaces_an_earlier_run_and_points_at_local_artifacts(tmp_path):
    """Does a worker's result land in work/<id>/job/out, replacing a stale run atomically?"""
    from grader.config import find_assignment

    config = find_assignment("mnist")
    stale = run_dir(tmp_path, "alice") / "job" / "out"
    stale.mkdir(parents=True)
    (stale / "old.json").write_text("{}")
    artifacts = _zip(("manifest.json", b'{"finished": true}', REG))
    record = {"id": "alice", "status": "ok", "detail": "", "isolation": "full",
              "content_hash": "remote", "out_dir": "<artifacts>", "duration": 1.5,
              "stdout": "hi", "stderr": "", "notes": ["a note"]}  # fmt: skip
    result = gd.RemoteResult(record, artifacts, "tcp://w:1", "w")
    got = gd.receive(result, "alice", "local-hash", tmp_path, config)
    assert got.out_dir == run_dir(tmp_path, "alice") / "job" / "out"
    assert sorted(p.name for p in got.out_dir.iterdir()) == ["manifest.json"]
    assert (got.status, got.content_hash, got.notes, got.stdout) == (
        "ok", "local-hash", ("a note",), "hi")  # fmt: skip
    assert [p.name for p in run_dir(tmp_path, "alice").parent.iterdir()] == ["alice"]  # no staging

    bad = gd.RemoteResult(record, UNSAFE["symlink"], "tcp://w:1", "w")
    got = gd.receive(bad, "alice", "local-hash", tmp_path, config)
    assert got.status == "sandbox_error" and got.out_dir is None
    assert "refused" in got.detail


def test_missing_distributed_is_a_clear_error(tmp_path, monkeypatch):
    """Without the dask extra, does --scheduler fail with a hint instead of a traceback?"""
    from grader.config import find_assignment

    monkeypatch.setitem(sys.modules, "distributed", None)
    config = find_assignment("mnist")
    with pytest.raises(GraderError, match="distributed") as info:
        list(gd.run_on_cluster("tcp://127.0.0.1:1", {"a": tmp_path}, config,
                               config.budget("quick"), tmp_path))  # fmt: skip
    assert "[dask]" in info.value.hint


def test_unreachable_scheduler_is_a_clear_error(tmp_path, monkeypatch):
    """Is a scheduler that does not answer reported as such, quickly?"""
    pytest.importorskip("distributed")
    from grader.config import find_assignment

    monkeypatch.setattr(gd, "CONNECT_TIMEOUT", 2)
    config = find_assignment("mnist")
    with pytest.raises(GraderError, match="cannot reach the Dask scheduler"):
        list(gd.run_on_cluster("tcp://127.0.0.1:9", {"a": tmp_path}, config,
                               config.budget("quick"), tmp_path))  # fmt: skip


# ---- a class, graded locally and on a cluster ------------------------------------------------


def _make_class(root: Path) -> Path:
    """Three submissions in three forms: the reference zipped, the stubs as a folder, and a
    partially wrong single .py (256 hidden units, labels not one-hot)."""
    subs = root / "class"
    subs.mkdir(parents=True)
    with zipfile.ZipFile(subs / "alice.zip", "w") as zf:
        for name in MODULES:
            zf.write(REFERENCE / f"{name}.py", f"alice/{name}.py")
    (subs / "bob").mkdir()
    for name in MODULES:
        (subs / "bob" / f"{name}.py").write_text((STUBS / f"{name}.py").read_text())
    code = "\n\n".join((REFERENCE / f"{name}.py").read_text() for name in MODULES)
    wrong = code.replace("layers.Dense(512,", "layers.Dense(256,")
    wrong = wrong.replace(
        'return keras.utils.to_categorical(labels, num_classes).astype("float32")',
        'return labels.astype("float32")',
    )
    assert wrong.count("256") == 1 and "to_categorical" not in wrong
    (subs / "carol.py").write_text(wrong)
    return subs


LOCAL_GRADE = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    from grader.pipeline import GradeRequest, entries_of, grade
    outcome = grade(GradeRequest(entries_of(Path(sys.argv[1])), Path(sys.argv[2]), "mnist",
                                 budget="quick", workers=2))
    print(json.dumps({"graded": list(outcome.graded),
                      "dask": sorted(m for m in sys.modules
                                     if m.split(".")[0] in ("dask", "distributed"))}))
    """
)


def _results(out: Path) -> dict:
    from grader.report.results import from_dict

    return {
        p.parent.name: from_dict(json.loads(p.read_text())["result"])
        for p in sorted(out.glob("*/details.json"))
    }


def _comparable(result) -> dict:
    """What must not depend on where phase 1 ran: status, checks, scores, feedback, models."""
    from grader.report.results import score, to_dict

    data = to_dict(result)
    for volatile in ("timings", "graded_at", "stdout", "stderr"):
        data.pop(volatile)
    for check in data["checks"]:
        check.pop("seconds")  # how long each check took in phase 2
    return {"score": score(result), **data}


@pytest.fixture(scope="module")
def classroom(tmp_path_factory) -> Path:
    return _make_class(tmp_path_factory.mktemp("distributed"))


@pytest.fixture(scope="module")
def local_run(classroom, tmp_path_factory) -> dict:
    """The class graded locally, in a fresh interpreter (which must not import Dask)."""
    out = tmp_path_factory.mktemp("local") / "OUT"
    proc = subprocess.run(
        [sys.executable, "-c", LOCAL_GRADE, str(classroom), str(out)],
        capture_output=True, text=True, timeout=600, cwd=REPO,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    facts = json.loads(proc.stdout.strip().splitlines()[-1])
    assert facts["graded"] == ["alice", "bob", "carol"]
    return {"facts": facts, "results": _results(out)}


@pytest.fixture(scope="module")
def cluster():
    """Two worker processes laid out as docs/distributed.md says: one sandbox slot (the
    `sandbox` resource) and one thread more, on which students are checked."""
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=2, resources={"sandbox": 1}, processes=True,
        dashboard_address=None, silence_logs=logging.ERROR,
    ) as cluster:  # fmt: skip
        yield cluster


@pytest.mark.full  # a second local grading
def test_a_local_grade_never_imports_dask(local_run):
    """Without --scheduler, is nothing of Dask imported (a local run pays nothing for it)?"""
    assert local_run["facts"]["dask"] == []


@pytest.mark.slow
@pytest.mark.full  # a local Dask cluster of two workers
def test_cluster_results_equal_local_results(classroom, local_run, cluster, tmp_path, caplog):
    """Does grading on a cluster give exactly the local run's scores, checks and accuracies?"""
    from grader.pipeline import GradeRequest, entries_of, grade

    caplog.set_level(logging.INFO, logger="grader.run.cluster")
    outcome = grade(GradeRequest(entries_of(classroom), tmp_path / "OUT", "mnist", budget="quick",
                                 scheduler=cluster.scheduler_address))  # fmt: skip
    assert outcome.graded == ("alice", "bob", "carol")
    # Phase 2 ran on the workers, each student's right after their run (issue 18): no check
    # session ran on this machine.
    assert sorted(_where(caplog)[1]) == ["alice", "bob", "carol"]
    assert not (tmp_path / "OUT" / ".work" / "phase2").exists()
    remote = _results(tmp_path / "OUT")
    local = local_run["results"]
    assert sorted(remote) == sorted(local)
    for sid in local:
        assert _comparable(remote[sid]) == _comparable(local[sid]), sid
    # Sanity: the three differ, so equality above is not vacuous.
    scores = {sid: _comparable(r)["score"] for sid, r in local.items()}
    assert scores["alice"] > scores["carol"] > scores["bob"] == 0
    assert all(m.test_accuracy for m in remote["alice"].models)
    for sid in local:  # artifacts are local files, under this OUT
        out_dir = run_dir(tmp_path / "OUT" / ".work", sid) / "job" / "out"
        assert (out_dir / "manifest.json").is_file()
        record = json.loads((out_dir.parent.parent / "record.json").read_text())
        assert record["out_dir"] == str(out_dir)


def test_workers_with_other_versions_are_refused(cluster, tmp_path, monkeypatch):
    """Is a cluster whose workers run other library versions refused before any work?"""
    from grader.config import find_assignment

    # Only this process sees the patch: the workers report their real versions.
    monkeypatch.setattr(gd, "_dist_version", lambda *names: "0.0.0-elsewhere")
    config = find_assignment("mnist")
    with pytest.raises(GraderError, match="numpy|keras|tensorflow"):
        list(gd.run_on_cluster(cluster.scheduler_address, {"a": tmp_path}, config,
                               config.budget("quick"), tmp_path))  # fmt: skip


# ---- a worker killed while its sandbox trains -----------------------------------------------


def _cmdline(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def _parent(pid: int) -> int:
    try:
        stat_line = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0
    return int(stat_line.rsplit(")", 1)[1].split()[1])


def _init_config(pid: int) -> str | None:
    """The sandbox init's config file, if pid is a sandbox init: it runs as
    `python -I /dev/fd/N /dev/fd/M` (no host path in its command line), M being the config."""
    argv = _cmdline(pid)
    if len(argv) < 2 or not argv[-1].startswith("/dev/fd/"):
        return None
    try:
        target = os.readlink(f"/proc/{pid}/fd/{argv[-1].rsplit('/', 1)[1]}")
    except OSError:
        return None
    return target if target.endswith(".json") else None


def _training_sandbox(worker_pids: set[int]) -> tuple[int, int, str] | None:
    """(worker pid, runner pid, submission id) of a sandbox whose runner is training now."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        runner = int(entry.name)
        argv = _cmdline(runner)
        if not any(a.endswith("runner.py") for a in argv):
            continue
        chain, pid = [], runner
        while pid > 1:
            pid = _parent(pid)
            chain.append(pid)
        worker = next((p for p in chain if p in worker_pids), None)
        init = next((p for p in chain if _init_config(p) is not None), None)
        if worker is None or init is None:
            continue
        try:  # the runner's cwd is the job's work/; its manifest is in the sibling out/
            manifest = json.loads(Path(f"/proc/{runner}/cwd/../out/manifest.json").read_text())
        except (OSError, ValueError):
            continue
        if str(manifest.get("current") or "").startswith("train:"):
            sid = Path(_init_config(init)).parent.parent.name
            return worker, runner, sid
    return None


def _where(caplog) -> tuple[dict[str, str], dict[str, str]]:
    """({id: worker that ran it}, {id: worker that checked it}) from the grader's log lines,
    each student reported at most once of each kind."""
    ran: dict[str, str] = {}
    checked: dict[str, str] = {}
    for record in caplog.records:
        message = record.getMessage()
        if record.name != "grader.run.cluster" or " on tcp://" not in message:
            continue
        sid, rest = message.split(": ", 1)
        seen = checked if rest.startswith("checked on ") else ran
        assert sid not in seen, f"{sid} reported twice: {message}"
        seen[sid] = rest.split(" on ", 1)[1].split(" ")[0]
    return ran, checked


def _grade_killing(classroom: Path, out: Path, find) -> tuple[object, dict]:
    """Grade the class on a fresh cluster of two single-slot workers while a thread SIGKILLs
    the worker `find(workers)` names ((pid, facts) or None; `workers`: {pid: (address, local
    directory)}), once. Returns the outcome and what was killed."""
    distributed = pytest.importorskip("distributed")
    from grader.pipeline import GradeRequest, entries_of, grade

    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
        silence_logs=logging.CRITICAL,
    ) as cluster, distributed.Client(cluster) as client:  # fmt: skip
        found = client.run(lambda dask_worker: (os.getpid(), dask_worker.local_directory))
        workers = {pid: (address, folder) for address, (pid, folder) in found.items()}
        killed: dict = {}

        def kill_one():
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline and not killed:
                hit = find(workers)
                if hit:
                    pid, facts = hit
                    os.kill(pid, signal.SIGKILL)
                    killed.update(address=workers[pid][0], **facts)
                    return
                time.sleep(0.01)

        killer = threading.Thread(target=kill_one, daemon=True)
        killer.start()
        outcome = grade(GradeRequest(entries_of(classroom), out, "mnist", budget="quick",
                                     scheduler=cluster.scheduler_address))  # fmt: skip
        killer.join(timeout=5)
    return outcome, killed


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:Port 8787 is already in use")  # a restarted worker
@pytest.mark.full  # a worker killed and replaced
def test_a_worker_killed_mid_training_loses_and_duplicates_nothing(
    classroom, local_run, tmp_path, caplog
):
    """When a worker dies (SIGKILL) while its sandbox trains, is that submission run again on
    another worker, its sandbox gone with the worker, and every result there exactly once?"""
    caplog.set_level(logging.INFO, logger="grader.run.cluster")

    def in_training(workers):
        found = _training_sandbox(set(workers))
        return (found[0], {"runner": found[1], "sid": found[2]}) if found else None

    outcome, killed = _grade_killing(classroom, tmp_path / "OUT", in_training)
    assert killed, "no sandbox was seen training"
    assert not Path(f"/proc/{killed['runner']}").exists(), "the sandbox outlived its worker"
    # The killed submission was finished by another worker process (a new address).
    ran, _checked = _where(caplog)
    assert sorted(ran) == ["alice", "bob", "carol"]
    assert ran[killed["sid"]] != killed["address"]
    # Nothing lost, nothing twice, and the same grades as the local run.
    assert outcome.graded == ("alice", "bob", "carol")
    rows = (tmp_path / "OUT" / "grades.csv").read_text().strip().splitlines()[1:]
    assert sorted(r.split(",")[0] for r in rows) == ["alice", "bob", "carol"]
    remote = _results(tmp_path / "OUT")
    for sid, result in local_run["results"].items():
        assert _comparable(remote[sid]) == _comparable(result), sid


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:Port 8787 is already in use")  # a restarted worker
@pytest.mark.full  # a worker killed and replaced
def test_lost_inputs_are_scattered_again(classroom, tmp_path, caplog):
    """When the only worker holding the scattered inputs dies, are they scattered again and
    the cancelled runs resubmitted, each submission still reported exactly once?"""
    distributed = pytest.importorskip("distributed")
    from mnist import dataset_label, load_mnist

    from grader.config import find_assignment
    from grader.run.local import run_reference

    caplog.set_level(logging.INFO, logger="grader.run.cluster")
    config = find_assignment("mnist")
    budget = config.budget("quick")
    work = tmp_path / "work"
    run_reference(config, load_mnist("bundled"), budget, dataset_label("bundled"), work)
    todo = {"bob": classroom / "bob", "carol": classroom / "carol.py"}
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None,
        silence_logs=logging.CRITICAL,
    ) as cluster, distributed.Client(cluster) as client:  # fmt: skip
        (pid,) = client.run(os.getpid).values()

        def descends_from_the_worker(child: int) -> bool:
            for _ in range(32):  # another grading's sandboxes on this machine are not ours
                child = _parent(child)
                if child in (0, 1):
                    return False
                if child == pid:
                    return True
            return False

        def kill_when_a_sandbox_runs():
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline:
                for entry in Path("/proc").iterdir():
                    if (
                        entry.name.isdigit()
                        and any(a.endswith("runner.py") for a in _cmdline(int(entry.name)))
                        and descends_from_the_worker(int(entry.name))
                    ):
                        os.kill(pid, signal.SIGKILL)
                        return
                time.sleep(0.02)

        killer = threading.Thread(target=kill_when_a_sandbox_runs, daemon=True)
        killer.start()
        got = list(gd.run_on_cluster(cluster.scheduler_address, todo, config, budget, work))
        killer.join(timeout=5)
    assert sorted(sid for sid, _ in got) == ["bob", "carol"]
    assert all(record.status == "ok" for _, record in got), got
    messages = [r.getMessage() for r in caplog.records if r.name == "grader.run.cluster"]
    assert any("scattering them again" in m for m in messages), messages


def _checking_on(worker_dirs: dict[int, str]) -> tuple[int, str] | None:
    """(worker pid, submission id) of a worker whose check server is checking a student now:
    phase 2's plan for one student is in one of the worker's job folders."""
    for pid, folder in worker_dirs.items():
        for plan in Path(folder).glob("keras-grader-check-*/phase2/phase2-plan.json"):
            try:
                entries = json.loads(plan.read_text())["submissions"]
            except (OSError, ValueError, KeyError):
                continue
            if entries:
                return pid, entries[0]["id"]
    return None


def _servers_of(pid: int) -> list[int]:
    """The check server processes whose parent is `pid`."""
    return [
        int(e.name) for e in Path("/proc").iterdir()
        if e.name.isdigit() and _parent(int(e.name)) == pid
        and "grader.check.server" in _cmdline(int(e.name))
    ]  # fmt: skip


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:Port 8787 is already in use")  # a restarted worker
@pytest.mark.full  # a worker killed and replaced
def test_a_worker_killed_during_phase_2_costs_only_a_rerun_of_its_student(
    classroom, local_run, tmp_path, caplog
):
    """When a worker dies (SIGKILL) while it checks a student (phase 2 on the cluster), is that
    student run and checked again on another worker, its check server gone with the worker,
    every other student kept, and every grade the local run's?"""
    caplog.set_level(logging.INFO, logger="grader.run.cluster")

    def checking(workers):
        found = _checking_on({pid: folder for pid, (_, folder) in workers.items()})
        servers = _servers_of(found[0]) if found else []
        if servers:  # its check server has started on this student
            return found[0], {"sid": found[1], "servers": servers}
        return None

    outcome, killed = _grade_killing(classroom, tmp_path / "OUT", checking)
    assert killed, "no worker was seen checking a student"
    time.sleep(1)
    assert not any(Path(f"/proc/{p}").exists() for p in killed["servers"])
    ran, checked = _where(caplog)
    assert sorted(ran) == sorted(checked) == ["alice", "bob", "carol"]
    assert checked[killed["sid"]] != killed["address"]  # checked again, elsewhere
    assert outcome.graded == ("alice", "bob", "carol")
    assert not (tmp_path / "OUT" / ".work" / "phase2").exists()  # nobody checked here
    remote = _results(tmp_path / "OUT")
    for sid, result in local_run["results"].items():
        assert _comparable(remote[sid]) == _comparable(result), sid


@pytest.mark.slow
@pytest.mark.full  # a local Dask cluster of two workers
def test_a_second_grading_with_other_checks_is_checked_on_the_workers(
    classroom, cluster, tmp_path, caplog
):
    """A worker that checked one grading's students gets another assignment's materials (its
    checks changed): is that grading's student checked on the worker too, by a check server
    that imported the new checks (not refused for the old ones' module names)?"""
    import shutil

    from grader.pipeline import GradeRequest, grade

    caplog.set_level(logging.INFO, logger="grader.run.cluster")
    other = tmp_path / "mnist_other"
    shutil.copytree(REFERENCE, other, ignore=shutil.ignore_patterns("__pycache__"))
    checks = other / "checks" / "test_mlp.py"
    checks.write_text(checks.read_text() + "\n# another grading's checks\n")
    for i, assignment in enumerate(("mnist", str(other))):
        caplog.clear()
        request = GradeRequest([classroom / "bob"], tmp_path / f"OUT{i}", assignment,
                               budget="quick", scheduler=cluster.scheduler_address)  # fmt: skip
        outcome = grade(request)
        messages = [r.getMessage() for r in caplog.records if r.name == "grader.run.cluster"]
        assert any(m.startswith("bob: checked on tcp://") for m in messages), messages
        assert outcome.graded == ("bob",)
