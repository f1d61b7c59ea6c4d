"""Phase 2: one pytest session over all submissions' artifacts (TRUSTED; no student code).

The session runs in a subprocess of its own so that TensorFlow is imported once for the
whole class, a crash in it cannot take the grader down, and checks run exactly as an
instructor runs them with plain pytest.

It can start before phase 1 ends (`start_session` with `pending` submissions): it imports
TensorFlow, loads the data and rebuilds the reference while the sandboxes train, then checks
each student as soon as their phase-1 record appears, so only the last student's checks
add to the wall time.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from grader.config import AssignmentConfig
from grader.errors import GraderError
from grader.processes import die_with_parent
from grader.run.local import RunRecord

SESSION_SIZE = 200
"""Submissions per pytest session: one session keeps each student's rebuilt models and
predictions alive across their checks, so a MOOC-sized class is checked in slices."""
DONE_MARKER = "phase1.done"
"""Written when phase 1 has finished: a record still missing then will never come."""


CHECK_SECONDS = {"check": 60, "student": 180}
"""The longest one check, and all of one student's checks, may take in phase 2 (seconds)."""
MAX_RESTARTS = 20
"""Sessions started again after a crash, at most (each one skips the student it died on)."""


class Session:
    """A running pytest session; `wait()` returns its results.

    If the session process dies (a model that exhausts the memory, a crash in a native
    library), the students it had finished are kept from its journal, the one it was checking
    gets every check failed with the reason, and a new session checks the rest.
    """

    def __init__(self, proc: subprocess.Popen, work: Path, checks_dir: Path, log) -> None:
        self.proc, self.work, self.checks_dir, self._log = proc, work, checks_dir, log
        self.restart = None  # set by start_session: starts a session over other entries

    def phase1_finished(self) -> None:
        """Tell the session that every pending record that will ever appear has appeared."""
        (self.work / DONE_MARKER).write_text("done\n")

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait()
        self._log.close()

    def wait(self) -> dict:
        """Wait for the session; its results, or GraderError when the checks are broken."""
        code = self.proc.wait()
        self._log.close()
        log = self.work / "phase2.log"
        try:
            results = json.loads((self.work / "phase2-results.json").read_text())
        except (OSError, ValueError):
            recovered = self._recover(code)
            if recovered is not None:
                return recovered
            tail = log.read_text(errors="replace").strip().splitlines()[-5:]
            raise GraderError(
                f"the checks could not run (pytest exit {code}): {' | '.join(tail)}",
                f"see {log}",
            ) from None
        errors = results.get("collection_errors") or []
        if errors or code not in (0, 1):
            first = errors[0] if errors else f"pytest exit code {code}"
            raise GraderError(f"the checks in {self.checks_dir} are broken: {first}", f"see {log}")
        return results

    def _recover(self, code: int) -> dict | None:
        """After a crash: the finished students from the journal, the one being checked
        failed with the reason, and a new session for the rest (None: nothing to recover,
        the checks themselves are broken)."""
        declarations, done = read_journal(self.work / "phase2-journal.jsonl")
        plan = json.loads((self.work / "phase2-plan.json").read_text())
        if declarations is None or self.restart is None:
            return None
        order = [entry["id"] for entry in plan["submissions"]]
        left = [sid for sid in order if sid not in done]
        if not left:
            return None
        crashed, rest = left[0], left[1:]
        why = (
            f"not checked: the grader's check process died while checking this submission "
            f"({_exit_reason(code)}), most likely its model exhausted the memory or a "
            "library crashed on it; the other students were checked without it. Tell your "
            "instructor."
        )
        merged = {"submissions": dict(done), "reference": {}}
        merged["submissions"][crashed] = {
            "checks": [{**d, "score": 0.0, "feedback": why, "table": []} for d in declarations],
            "models": [],
            "status": "check_error",
            "detail": why,
        }
        if rest and self.restart is not None:
            entries = {e["id"]: e for e in plan["submissions"]}
            follow = self.restart([entries[sid] for sid in rest])
            part = follow.wait()
            merged["submissions"].update(part.get("submissions", {}))
            merged["reference"] = part.get("reference", {})
        return merged


def read_journal(path: Path) -> tuple[list | None, dict]:
    """(check declarations, {id: results}) from a session's journal; torn lines ignored."""
    declarations, done = None, {}
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return None, {}
    for line in lines:
        try:
            entry = json.loads(line)
        except ValueError:
            continue  # the line the crash cut short
        if "declarations" in entry:
            declarations = entry["declarations"]
        elif "id" in entry:
            done[entry["id"]] = {"checks": entry.get("checks", []),
                                 "models": entry.get("models", [])}  # fmt: skip
    return declarations, done


def _exit_reason(code: int) -> str:
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"
    return f"exit code {code}"


def start_session(
    config: AssignmentConfig,
    budget_name: str,
    data_source: str,
    reference: RunRecord | Path,
    work: Path,
    records: list[RunRecord] = (),
    pending: dict[str, Path] | None = None,
    visibility: str = "all",
) -> Session:
    """Start a pytest session over finished `records` and `pending` ones (id -> the record
    file phase 1 will write); call `phase1_finished()` once phase 1 is over. `reference` is
    the reference's record, or the file its run beside the students' will write: the checks
    that need it wait for it."""
    argv = _write_plan(config.root, budget_name, data_source, reference, work, records,
                       pending, visibility, exit_fast=True)  # fmt: skip
    argv = [sys.executable, "-m", "pytest", *argv]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONHASHSEED": str(config.seed)}
    env.pop("PYTEST_ADDOPTS", None)
    log = open(work / "phase2.log", "wb")  # noqa: SIM115 - closed by Session
    proc = subprocess.Popen(
        argv,
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
        stdin=subprocess.DEVNULL,
        preexec_fn=die_with_parent,
    )
    if not pending and not isinstance(reference, Path):  # nothing more will come
        (work / DONE_MARKER).write_text("done\n")
    session = Session(proc, work, config.checks_dir, log)
    attempt = int(work.name.rsplit("-restart", 1)[1]) if "-restart" in work.name else 0

    def restart(rest: list[dict]) -> Session:
        if attempt >= MAX_RESTARTS:
            raise GraderError(f"the check session crashed {attempt} times", f"see {work}")
        base = work.name.rsplit("-restart", 1)[0]
        again = work.parent / f"{base}-restart{attempt + 1}"
        finished = [e for e in rest if "record" not in e]
        waiting = {e["id"]: Path(e["record"]) for e in rest if "record" in e}
        follow = start_session(
            config, budget_name, data_source, reference, again,
            [_record_of(e) for e in finished], waiting, visibility,
        )  # fmt: skip
        follow.phase1_finished()  # restarts happen in wait(), once phase 1 is over
        return follow

    session.restart = restart
    return session


def _write_plan(
    assignment: Path,
    budget_name: str,
    data_source: str,
    reference: RunRecord | Path | dict,
    work: Path,
    records: list[RunRecord] = (),
    pending: dict[str, Path] | None = None,
    visibility: str = "all",
    exit_fast: bool = True,
) -> list[str]:
    """Write a session's plan into `work`; pytest's arguments to run it (after `pytest`)."""
    checks_dir = Path(assignment) / "checks"  # AssignmentConfig.checks_dir
    work.mkdir(parents=True, exist_ok=True)
    for name in ("phase2-results.json", DONE_MARKER, "phase2-journal.jsonl"):
        (work / name).unlink(missing_ok=True)
    entries = [plan_entry(r) for r in records]
    entries += [{"id": sid, "record": str(path)} for sid, path in (pending or {}).items()]
    if isinstance(reference, Path):
        reference = {"id": "reference", "record": str(reference)}
    elif not isinstance(reference, dict):
        reference = plan_entry(reference)
    plan = {
        "assignment": str(assignment),
        "budget": budget_name,
        "data": data_source,
        "visibility": visibility,
        "results": str(work / "phase2-results.json"),
        "phase1_done": str(work / DONE_MARKER),
        "reference": reference,
        "submissions": entries,
        "exit_fast": exit_fast,
        "keep": not exit_fast,  # a check server keeps the data and reference between sessions
        "journal": str(work / "phase2-journal.jsonl"),
        "check_seconds": CHECK_SECONDS,
    }
    plan_path = work / "phase2-plan.json"
    plan_path.write_text(json.dumps(plan, indent=1))
    ini = work / "pytest.ini"
    ini.write_text("[pytest]\n")
    # A check server's sessions skip the plugin that collects the garbage twice at the end
    # of every session (half a second a student); a session of its own exits before that.
    quick_end = [] if exit_fast else ["-p", "no:unraisableexception"]
    return [
        str(checks_dir), "-c", str(ini), "--rootdir", str(checks_dir),
        "-p", "grader.check.plugin", "--grader-plan", str(plan_path),
        "-p", "no:cacheprovider", *quick_end, "-q", "--no-header", "-rN", "--tb=no",
        "-W", "ignore::DeprecationWarning", "-W", "ignore::UserWarning",
    ]  # fmt: skip


def check_in_server(
    server,
    assignment: Path,
    budget_name: str,
    data_source: str,
    reference: dict,
    record: RunRecord,
    work: Path,
    visibility: str = "all",
) -> dict:
    """One student's checks in a check server (grader/check/server.py): what a session's
    results hold for them (`checks`, `models`).

    Raises:
        GraderError: the checks are broken (a collection error), or the server died on this
            student (`ServerDied`): the caller decides whether to check them elsewhere.
    """
    argv = _write_plan(assignment, budget_name, data_source, reference, work, [record],
                       None, visibility, exit_fast=False)  # fmt: skip
    (work / DONE_MARKER).write_text("done\n")
    code = server.run(argv)
    try:
        results = json.loads((work / "phase2-results.json").read_text())
    except (OSError, ValueError):
        raise GraderError(f"the checks could not run (pytest exit {code})", f"see {work}") from None
    errors = results.get("collection_errors") or []
    if errors or code not in (0, 1):
        raise GraderError(f"the checks are broken: {errors[0] if errors else code}")
    return results["submissions"][record.id]


def _record_of(entry: dict) -> RunRecord:
    """A RunRecord back from a plan entry (enough for another session's plan)."""
    return RunRecord(
        id=entry["id"], status=entry.get("status", "ok"), detail=entry.get("detail", ""),
        isolation="", content_hash="",
        out_dir=Path(entry["out_dir"]) if entry.get("out_dir") else None, duration=0.0,
        notes=tuple(entry.get("notes", ())), sources=entry.get("sources") or {},
    )  # fmt: skip


def run_checks(
    config: AssignmentConfig,
    budget_name: str,
    data_source: str,
    reference: RunRecord,
    records: list[RunRecord],
    work: Path,
    visibility: str = "all",
) -> dict:
    """Grade finished records; returns {"submissions": {id: {...}}, "reference": {...}}.

    Runs one pytest session per SESSION_SIZE submissions (one for a course section).

    Raises:
        GraderError: the checks themselves are broken (bad declarations, import errors) or
            the session could not run.
    """
    merged: dict = {"submissions": {}, "reference": {}}
    for start in range(0, max(1, len(records)), SESSION_SIZE):
        chunk = list(records[start : start + SESSION_SIZE])
        session = start_session(
            config, budget_name, data_source, reference,
            work / f"session-{start // SESSION_SIZE:04d}", chunk, None, visibility,
        )  # fmt: skip
        part = session.wait()
        merged["submissions"].update(part.get("submissions", {}))
        merged["reference"] = part.get("reference", {})
    return merged


def plan_entry(record: RunRecord) -> dict:
    """A run as a session's plan lists it (the reference's, or a finished student's)."""
    return {
        "id": record.id,
        "status": record.status,
        "detail": record.detail,
        "out_dir": str(record.out_dir) if record.out_dir else None,
        "notes": list(record.notes),
        "sources": record.sources,
        "expected": record.expected,
    }
