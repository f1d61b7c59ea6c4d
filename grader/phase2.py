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

import ctypes
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from grader.config import AssignmentConfig
from grader.errors import GraderError
from grader.phase1 import RunRecord

SESSION_SIZE = 200
"""Submissions per pytest session: one session keeps each student's rebuilt models and
predictions alive across their checks, so a MOOC-sized class is checked in slices."""
DONE_MARKER = "phase1.done"
"""Written when phase 1 has finished: a record still missing then will never come."""


class Session:
    """A running pytest session; `wait()` returns its results."""

    def __init__(self, proc: subprocess.Popen, work: Path, checks_dir: Path, log) -> None:
        self.proc, self.work, self.checks_dir, self._log = proc, work, checks_dir, log

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


def _die_with_parent() -> None:
    ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG: never outlive the grader


def start_session(
    config: AssignmentConfig,
    budget_name: str,
    data_source: str,
    reference: RunRecord,
    work: Path,
    records: list[RunRecord] = (),
    pending: dict[str, Path] | None = None,
    visibility: str = "all",
) -> Session:
    """Start a pytest session over finished `records` and `pending` ones (id -> the record
    file phase 1 will write); call `phase1_finished()` once phase 1 is over."""
    work.mkdir(parents=True, exist_ok=True)
    for name in ("phase2-results.json", DONE_MARKER):
        (work / name).unlink(missing_ok=True)
    entries = [_entry(r) for r in records]
    entries += [{"id": sid, "record": str(path)} for sid, path in (pending or {}).items()]
    plan = {
        "assignment": str(config.root),
        "budget": budget_name,
        "data": data_source,
        "visibility": visibility,
        "results": str(work / "phase2-results.json"),
        "phase1_done": str(work / DONE_MARKER),
        "reference": _entry(reference),
        "submissions": entries,
        "exit_fast": True,
    }
    plan_path = work / "phase2-plan.json"
    plan_path.write_text(json.dumps(plan, indent=1))
    ini = work / "pytest.ini"
    ini.write_text("[pytest]\n")
    argv = [
        sys.executable, "-m", "pytest", str(config.checks_dir),
        "-c", str(ini), "--rootdir", str(config.checks_dir),
        "-p", "grader.plugin", "--grader-plan", str(plan_path),
        "-p", "no:cacheprovider", "-q", "--no-header", "-rN", "--tb=no",
        "-W", "ignore::DeprecationWarning", "-W", "ignore::UserWarning",
    ]  # fmt: skip
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONHASHSEED": str(config.seed)}
    env.pop("PYTEST_ADDOPTS", None)
    log = open(work / "phase2.log", "wb")  # noqa: SIM115 - closed by Session
    proc = subprocess.Popen(
        argv,
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
        stdin=subprocess.DEVNULL,
        preexec_fn=_die_with_parent,
    )
    if not pending:
        (work / DONE_MARKER).write_text("done\n")
    return Session(proc, work, config.checks_dir, log)


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


def _entry(record: RunRecord) -> dict:
    return {
        "id": record.id,
        "status": record.status,
        "detail": record.detail,
        "out_dir": str(record.out_dir) if record.out_dir else None,
        "notes": list(record.notes),
        "sources": record.sources,
    }
