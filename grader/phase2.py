"""Phase 2: one pytest session over all submissions' artifacts (TRUSTED; no student code).

The session runs in a subprocess of its own so that TensorFlow is imported once for the
whole class, a crash in it cannot take the grader down, and checks run exactly as an
instructor runs them with plain pytest.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from grader.config import AssignmentConfig
from grader.errors import GraderError
from grader.phase1 import RunRecord

SESSION_SIZE = 200
"""Submissions per pytest session: one session keeps each student's rebuilt models and
predictions alive across their checks, so a MOOC-sized class is checked in slices."""


def run_checks(
    config: AssignmentConfig,
    budget_name: str,
    data_source: str,
    reference: RunRecord,
    records: list[RunRecord],
    work: Path,
    visibility: str = "all",
) -> dict:
    """Grade every record's artifacts; returns {"submissions": {id: {...}}, "reference": {...}}.

    Runs one pytest session per SESSION_SIZE submissions (one for a course section).

    Raises:
        GraderError: the checks themselves are broken (bad declarations, import errors) or
            the session could not run.
    """
    merged: dict = {"submissions": {}, "reference": {}}
    for start in range(0, max(1, len(records)), SESSION_SIZE):
        chunk = records[start : start + SESSION_SIZE]
        part = _session(
            config, budget_name, data_source, reference, chunk,
            work / f"session-{start // SESSION_SIZE:04d}", visibility,
        )  # fmt: skip
        merged["submissions"].update(part.get("submissions", {}))
        merged["reference"] = part.get("reference", {})
    return merged


def _session(
    config: AssignmentConfig,
    budget_name: str,
    data_source: str,
    reference: RunRecord,
    records: list[RunRecord],
    work: Path,
    visibility: str = "all",
) -> dict:
    """One pytest session over `records` (see run_checks)."""
    work.mkdir(parents=True, exist_ok=True)
    results_path = work / "phase2-results.json"
    results_path.unlink(missing_ok=True)
    plan = {
        "assignment": str(config.root),
        "budget": budget_name,
        "data": data_source,
        "visibility": visibility,
        "results": str(results_path),
        "reference": _entry(reference),
        "submissions": [_entry(r) for r in records],
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
    log = work / "phase2.log"
    with open(log, "wb") as out:
        proc = subprocess.run(
            argv, stdout=out, stderr=subprocess.STDOUT, env=env, stdin=subprocess.DEVNULL
        )
    try:
        results = json.loads(results_path.read_text())
    except (OSError, ValueError):
        tail = log.read_text(errors="replace").strip().splitlines()[-5:]
        raise GraderError(
            f"the checks could not run (pytest exit {proc.returncode}): {' | '.join(tail)}",
            f"see {log}",
        ) from None
    errors = results.get("collection_errors") or []
    if errors or proc.returncode not in (0, 1):
        first = errors[0] if errors else f"pytest exit code {proc.returncode}"
        raise GraderError(f"the checks in {config.checks_dir} are broken: {first}", f"see {log}")
    return results


def _entry(record: RunRecord) -> dict:
    return {
        "id": record.id,
        "status": record.status,
        "detail": record.detail,
        "out_dir": str(record.out_dir) if record.out_dir else None,
        "notes": list(record.notes),
    }
