"""Grading a class: phase 1 (sandbox, in parallel), phase 2 (one pytest session), phase 3
(results, exports and reports), with resume.

Every per-student output is written atomically, and a rerun on the same OUT skips students
whose submission, assignment, data, budget and grader version are unchanged: killing the
grader at any moment loses at most the work in flight.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import datetime
import hashlib
import json
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from grader import __version__, course
from grader.check.artifacts import ArtifactError, read_manifest
from grader.check.session import SESSION_SIZE, run_checks, start_session
from grader.config import AssignmentConfig, find_assignment
from grader.data import budget_name, dataset_label, grading_split
from grader.errors import GraderError, UsageError
from grader.machine import cpu_family
from grader.progress import Progress, Quiet, printable
from grader.report.exports import (
    atomic_write,
    grades_csv,
    gradescope_results,
    junit_xml,
    write_json,
)
from grader.report.results import (
    SubmissionResult,
    attempt_of,
    from_dict,
    summarize,
    to_dict,
)
from grader.run.local import (
    ReferenceBeside,
    ReferenceFailed,
    RunRecord,
    cache_dir,
    reference_cached,
    reference_inputs,
    run_dir,
    run_reference,
    run_student,
)
from grader.run.sandbox import INTERRUPTED, allow_runs, stop_all_runs
from grader.run.submission import (
    OUT_MARKER,
    assign_ids,
    content_hash_or_empty,
    discover,
    safe_id,
    submission_id,
)

WORK = ".work"
"""OUT's subdirectory for jobs, artifacts and the reference's run."""


@dataclass(frozen=True)
class GradeRequest:
    """What to grade, where, and how."""

    submissions: Sequence[Path]
    """The submissions (one entry per student)."""
    out: Path
    """Output directory."""
    assignment: str
    """A name under reference/, or a reference directory."""
    data: str = "bundled"
    """`bundled`, `keras` or a path to an .npz."""
    budget: str | None = None
    """Training budget name; default: the data source's."""
    workers: int | None = None
    """Parallel sandboxed runs; default: default_workers()."""
    force: bool = False
    """Regrade everyone, even unchanged submissions."""
    visibility: str = "all"
    """`all`, or `visible` to run (and show) visible checks only."""
    isolation: str | None = None
    """Force `full` or `limited` sandboxing; default: the best available."""
    scheduler: str | None = None
    """Dask scheduler address for phase 1; None runs it locally."""
    reports: bool = True
    """Render the HTML reports."""
    names: Sequence[str] | None = None
    """The entries' names, one per submission, that their ids are made from (default: each
    submission's file name without its suffix); `grader gradescope` grades its upload as
    `student`. Every name is made into a safe, distinct id (`submission.assign_ids`)."""
    roster: Path | None = None
    """The class list (grader/course.py): kept in OUT for the dashboard, exports and release."""
    late: object | None = None
    """A late policy (`config.Late`) for this grading, in place of the assignment's."""
    times: Mapping[str, tuple[str, str]] | None = None
    """Submission times for the late policy: id -> (ISO time, source), from `--times` or
    Gradescope's metadata; without one, a submission's file times (with a warning)."""


@dataclass(frozen=True)
class GradeOutcome:
    """What a grading run produced."""

    results: tuple[SubmissionResult, ...]
    """As shown (OUT's course rules applied: late policy, overrides)."""
    graded: tuple[str, ...]
    skipped: tuple[str, ...]
    out: Path
    wall_seconds: float
    phase_seconds: dict[str, float] = field(default_factory=dict)


def default_workers() -> int:
    """Parallel sandboxed runs: one per two cores (each run trains with two threads),
    at least 2, since process start and TensorFlow import overlap well with training."""
    return max(2, (os.cpu_count() or 2) // 2)


def resume_key(
    chash: str, config: AssignmentConfig, data: str, budget: str, visibility: str
) -> dict:
    """What a finished result depends on: unchanged key -> the result is reused."""
    return {
        "content_hash": chash,
        "assignment": config.name,
        "grader_version": __version__,
        "dataset": data,
        "budget": budget,
        "visibility": visibility,
    }


def _load_done(out: Path, sid: str, key: dict) -> SubmissionResult | None:
    path = out / sid / "details.json"
    try:
        data = json.loads(path.read_text())
        if data.get("resume_key") != key:
            return None
        return from_dict(data["result"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def grade(
    request: GradeRequest,
    progress: Progress | None = None,
    render: Callable | None = None,
) -> GradeOutcome:
    """Grade every submission of the request; see the module docstring.

    Raises:
        GraderError: bad arguments or data, or the grader itself could not run.
    """
    progress = progress or Quiet()
    started = time.monotonic()
    allow_runs()  # an earlier grading in this process may have been interrupted
    config = find_assignment(request.assignment)
    budget_key = request.budget or budget_name(request.data)
    if config.kit is not None:
        _kit_allows(config, request, budget_key)
    budget = config.budget(budget_key)
    label = dataset_label(config, request.data, request.visibility)
    split = grading_split(config, request.data, request.visibility)
    out = Path(request.out)
    refuse_out_inside(out, request.submissions)
    try:
        out.mkdir(parents=True, exist_ok=True)
        marker = out / OUT_MARKER
        if not marker.is_file():  # says "the grader's output" to any later walk of a submission
            marker.write_text("keras-grader output folder: not part of any submission\n")
        work = out / WORK
        work.mkdir(exist_ok=True)
        probe = work / f".probe.{os.getpid()}"  # a folder that exists may still refuse writes
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise GraderError(
            f"cannot write the output folder {out}: {exc.strerror or exc}",
            "choose a folder you can write to (--out DIR)",
        ) from None
    for stale in [*out.glob(".*.tmp"), *out.glob("*/.*.tmp")]:  # left by a killed run
        stale.unlink(missing_ok=True)
    if request.roster is not None:
        course.keep_roster(out, request.roster)
    if request.late is not None:
        config = dataclasses.replace(config, late=request.late)
    # Safe ids (no class file's name, no control characters, bounded length): OUT/<id>/ is
    # a student's folder, and nothing else in OUT can be.
    entries = {e.id: e for e in assign_ids(request.submissions, request.names)}
    if config.late is not None and request.visibility == "all":  # a check has no deadline
        course.keep_late(out, config.late.to_json())
        paths = {sid: entry.path for sid, entry in entries.items()}
        for warning in course.record_times(out, paths, request.times):
            progress.info(warning)
    done: dict[str, SubmissionResult] = {}
    pending: dict[str, tuple[Path, str]] = {}
    for sid, entry in entries.items():
        chash = content_hash_or_empty(entry.path)  # a failing hash: phase 1 says why
        key = resume_key(chash, config, label, budget_key, request.visibility)
        previous = None if request.force else _load_done(out, sid, key)
        if previous is not None:
            done[sid] = previous
        else:
            pending[sid] = (entry.path, chash)
    for sid in done:
        progress.info(f"{sid}: unchanged since the last run, kept")

    phase_seconds: dict[str, float] = {}
    records: dict[str, RunRecord] = {}
    if pending:
        t0 = time.monotonic()
        progress.phase("reference", 1)
        reference, beside = _start_reference(config, split, budget, label, work, request)
        phase_seconds["reference"] = time.monotonic() - t0
        if beside is not None:
            progress.advance(
                f"reference: the students' inputs are ready "
                f"({phase_seconds['reference']:.1f} s); it trains beside them"
            )
        else:
            reused_ref = phase_seconds["reference"] < reference.duration
            progress.advance(
                f"reference {reference.status} "
                + ("(cached run reused)" if reused_ref else f"({reference.duration:.1f} s)")
            )
        reference_entry = beside.record_path if beside is not None else reference

        t0 = time.monotonic()
        progress.phase("run", len(pending))
        reused, todo = _reusable_runs(request, work, pending)
        for sid in reused:
            progress.advance(f"{sid}: {reused[sid].status} (run reused)")
        session = None
        remote = None
        if request.scheduler:  # phase 2 on the workers, each student's after their run
            from grader.run.cluster import ClusterChecks

            remote = ClusterChecks(
                budget_key, request.data, request.visibility,
                beside.result if beside is not None else (lambda: reference),
            )  # fmt: skip
        elif len(pending) <= SESSION_SIZE:
            # Phase 2 starts now: it imports TensorFlow and rebuilds the reference while the
            # sandboxes train, then checks each student as soon as their run is recorded.
            for sid in todo:
                (run_dir(work, sid) / "record.json").unlink(missing_ok=True)
            session = start_session(
                config, budget_key, request.data, reference_entry, work / "phase2",
                [reused[sid] for sid in sorted(reused)],
                {sid: run_dir(work, sid) / "record.json" for sid in todo}, request.visibility,
            )  # fmt: skip
        try:
            records = {
                **reused, **_run_all(request, config, budget, work, todo, progress, remote)
            }
            if beside is not None:
                reference = beside.result()
                progress.info(
                    f"reference {reference.status} ({reference.duration:.1f} s, beside the "
                    "students)"
                )
        except BaseException as exc:
            stop_all_runs()  # the reference's run too, if it is still going
            if session is not None:
                session.kill()
            if isinstance(exc, ReferenceFailed):
                raise GraderError(
                    str(exc), "the reference must pass before students can be graded; the "
                    "students' finished runs are kept for the rerun"
                ) from None
            raise
        if session is not None:
            session.phase1_finished()
        phase_seconds["run"] = time.monotonic() - t0

        t0 = time.monotonic()
        progress.phase("check", 1)
        if session is not None:
            try:
                checked = session.wait()
            except KeyboardInterrupt:
                session.kill()
                raise
        else:
            # Without a session alongside phase 1: every student, or on a cluster those the
            # workers did not check (refused, reused, or their worker's check process died).
            done_remotely = remote.results if remote is not None else {}
            left = [records[sid] for sid in sorted(records) if sid not in done_remotely]
            checked = {"submissions": dict(done_remotely)}
            if left:
                local = run_checks(config, budget_key, request.data, reference, left,
                                   work / "phase2", request.visibility)  # fmt: skip
                checked["submissions"].update(local["submissions"])
        phase_seconds["check"] = time.monotonic() - t0
        progress.advance(f"{len(records)} submissions checked")
        ordered = list(records.values())

        settings = _settings(config, budget, budget_key, request, label, reference, work)
        graded_at = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
        per_check = phase_seconds["check"] / max(1, len(ordered))
        for sid, record in records.items():
            key = resume_key(record.content_hash, config, label, budget_key, request.visibility)
            student = checked["submissions"].get(sid, {})
            try:  # one student's results that cannot be assembled or written sink only them
                result = assemble(
                    record, student, config, settings, per_check, graded_at, entries[sid].notes
                )
                write_student(out, result, key, render)
                course.record_history(out, result)
            except Exception as exc:  # noqa: BLE001
                result = _export_failed(record, student, config, settings, graded_at, exc)
                _write_failed(out, result)
                progress.info(f"{sid}: {result.status_detail}")
            done[sid] = result

    t0 = time.monotonic()
    state = course.State.load(out)
    for sid in set(done) - set(records):  # kept: their files follow the rules in force
        try:
            stamp = json.loads((out / sid / SHOWN_STAMP).read_text())["rules"]
        except (OSError, ValueError, KeyError, TypeError):
            stamp = None
        if stamp != state.key(sid):
            try:
                _write_shown(out, done[sid], state, render)
            except Exception as exc:  # noqa: BLE001 - their grading stands; say so
                progress.info(f"{sid}: the report could not be written again: {exc}")
    results = tuple(done[sid] for sid in sorted(done))  # as graded (write_class applies the rest)
    course.keep_class(out, list(done))
    if request.visibility == "all" and len(results) >= 2:
        try:  # a flag for a human: whatever goes wrong here never sinks the grading
            course.write_similarity(out, config, [r.id for r in results], render)
        except Exception as exc:  # noqa: BLE001
            progress.info(f"the similarity check could not run: {type(exc).__name__}: {exc}")
    write_class(out, results, render)
    phase_seconds["report"] = time.monotonic() - t0
    progress.close()
    state = course.State.load(out)
    return GradeOutcome(
        results=tuple(state.apply(r) for r in results),  # as shown: late policy, overrides
        graded=tuple(sorted(records)),
        skipped=tuple(sorted(set(done) - set(records))),
        out=out,
        wall_seconds=time.monotonic() - started,
        phase_seconds=phase_seconds,
    )


def _start_reference(
    config: AssignmentConfig, split, budget, label: str, work: Path, request: GradeRequest
) -> tuple[RunRecord | None, ReferenceBeside | None]:
    """The reference's record when it is cached (or a kit's); else (None, its run beside the
    students), once the students' inputs are ready (issue 18): they only need its stand-ins,
    from a run of its calls alone, and the checks wait for the rest.

    Raises:
        GraderError: the reference failed (the first of its two runs to fail says why).
    """
    try:
        if reference_cached(config, budget, label):
            return run_reference(config, split, budget, label, work, request.isolation), None
        beside = ReferenceBeside(config, split, budget, label, work, request.isolation)
        try:
            reference_inputs(config, split, budget, label, work, request.isolation)
        except BaseException as exc:
            stop_all_runs()  # the whole run too
            if isinstance(exc, ReferenceFailed):
                _first_failure(beside)
            raise
        return None, beside
    except ReferenceFailed as exc:
        hint = "the reference must pass before students can be graded"
        raise GraderError(str(exc), hint) from None


def _first_failure(beside: ReferenceBeside) -> None:
    """Raise the whole run's failure if it is what stopped the calls-only run (both run the
    reference: whichever failed first has the reason; the other was interrupted)."""
    try:
        beside.result()  # its sandbox was stopped: this returns at once
    except ReferenceFailed as exc:
        if INTERRUPTED not in str(exc):
            raise


def _kit_allows(config: AssignmentConfig, request: GradeRequest, budget_key: str) -> None:
    """A student's check kit runs the visible checks on its own budget, nothing else."""
    if request.visibility != "visible":
        raise UsageError(
            f"this is the student check kit of {config.name!r}: it runs the visible checks "
            "only and cannot grade",
            "use grader check PATH; grading a class needs the instructor's grader",
        )
    if budget_key != config.kit["budget"]:
        raise UsageError(
            f"this check kit was built for the {config.kit['budget']!r} budget, not {budget_key!r}",
            "leave out --budget",
        )


def _reusable_runs(request, work, pending) -> tuple[dict[str, RunRecord], dict[str, Path]]:
    """Split pending submissions into finished runs of unchanged code and runs to do."""
    reused: dict[str, RunRecord] = {}
    todo: dict[str, Path] = {}
    for sid, (path, chash) in pending.items():
        cached = None if request.force else _cached_record(work, sid, chash)
        if cached is not None:
            reused[sid] = cached
        else:
            todo[sid] = path
    return reused, todo


def _run_all(request, config, budget, work, todo, progress, remote=None) -> dict[str, RunRecord]:
    """Phase 1 (the sandbox) for every submission in `todo`, in parallel; on a cluster, with
    `remote` (`ClusterChecks`), phase 2 too."""
    records: dict[str, RunRecord] = {}
    if not todo:
        return records
    if request.scheduler:
        from grader.run.cluster import run_on_cluster  # only imported when asked for

        finished = run_on_cluster(
            request.scheduler, todo, config, budget, work, request.isolation, remote
        )
        for sid, record in finished:
            records[sid] = _store_record(work, record)
            progress.advance(f"{sid}: {record.status} ({record.duration:.1f} s)")
        return records
    workers = request.workers or default_workers()
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=workers)
    try:
        futures = {
            pool.submit(run_student, path, sid, config, budget, work, request.isolation): sid
            for sid, path in todo.items()
        }
        for future in concurrent.futures.as_completed(futures):
            sid = futures[future]
            try:
                record = future.result()
            except Exception as exc:  # noqa: BLE001 - one bad submission never sinks the batch
                record = RunRecord(
                    sid, "sandbox_error", f"the grader failed on this submission: {exc}",
                    "none", content_hash_or_empty(todo[sid]), None, 0.0,
                )  # fmt: skip
            if record.detail == INTERRUPTED:
                continue  # never stored: a rerun runs it again
            records[sid] = _store_record(work, record)
            progress.advance(f"{sid}: {record.status} ({record.duration:.1f} s)")
    except BaseException:
        # Ctrl-C or SIGTERM: what finished is stored (record.json); kill the sandboxes now
        # rather than wait for them, start no more, and let the interrupt through.
        stop_all_runs()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    return records


def _cached_record(work: Path, sid: str, chash: str) -> RunRecord | None:
    path = run_dir(work, sid) / "record.json"
    try:
        data = json.loads(path.read_text())
        if data.get("content_hash") != chash or data.get("reference") != _reference_stamp(work):
            return None
        data.pop("reference")
        out_dir = Path(data["out_dir"]) if data.get("out_dir") else None
        return RunRecord(**{**data, "out_dir": out_dir, "notes": tuple(data.get("notes", ()))})
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _reference_stamp(work: Path) -> str | None:
    try:
        return json.loads((work / "_reference" / "key.json").read_text())["key"]
    except (OSError, ValueError, KeyError):
        return None


def _store_record(work: Path, record: RunRecord) -> RunRecord:
    data = {**record.to_json(), "reference": _reference_stamp(work)}
    write_json(run_dir(work, record.id) / "record.json", data)
    return record


def _settings(config, budget, budget_key, request, label, reference, work) -> dict:
    from grader.check.artifacts import Artifacts

    try:
        versions = Artifacts(reference.out_dir).manifest.get("versions", {})
    except Exception:  # noqa: BLE001
        versions = {}
    return {
        "grader_version": __version__,
        "versions": versions,
        "cpu": cpu_family(),
        "seed": config.seed,
        "threads": config.threads,
        "title": config.title,
        "dataset": label,
        "data_source": str(request.data),
        "budget": {"name": budget_key, **budget.to_json()},
        "parts": config.part_titles,
        "model_titles": {m.name: m.title or m.name for m in config.plan.models},
        "noun": config.data.noun,
        "images": config.data.images,
        "accuracy_margin": config.grading.accuracy_margin,
        "visibility": request.visibility,
    }


def assemble(
    record: RunRecord,
    checked: dict,
    config: AssignmentConfig,
    settings: dict,
    check_seconds: float,
    graded_at: str,
    notes: Sequence[str] = (),
) -> SubmissionResult:
    """Combine a phase-1 record with its phase-2 outcomes into the final result.

    `notes` (about the entry's id) come first among the result's notes. The status detail
    is made one printable line: it is shown on terminals, in CSV-adjacent tools and logs.
    """
    rank = {p: i for i, p in enumerate(config.part_names)}
    raw = {
        "id": record.id,
        "assignment": config.name,
        "status": record.status,
        "status_detail": printable(record.detail),
        "isolation": record.isolation,
        "content_hash": record.content_hash,
        "checks": sorted(checked.get("checks", []), key=lambda c: rank.get(c["part"], 99)),
        "models": checked.get("models", []),
        "stdout": record.stdout,
        "stderr": record.stderr,
        "timings": {"run": round(record.duration, 3), "check": round(check_seconds, 3)},
        "settings": {**settings, "notes": [*notes, *record.notes]},
        "graded_at": graded_at,
        "attempt": _attempt(record),
    }
    return from_dict(raw)


def _attempt(record: RunRecord) -> str:
    """`could not import` / `not attempted` / "" from the run's manifest (a label shown
    beside the status of a run that finished; never points, so the sandbox's account will do).
    """
    if record.status != "ok" or record.out_dir is None:
        return ""
    try:
        calls = read_manifest(Path(record.out_dir)).get("calls", {})
    except (ArtifactError, OSError, AttributeError):
        return ""
    return attempt_of(calls if isinstance(calls, dict) else {})[0]


def _export_failed(record, checked, config, settings, graded_at, exc) -> SubmissionResult:
    """The result of a student whose results could not be assembled or written:
    `sandbox_error` with the reason, every check at 0 (nothing unverified earns points)."""
    why = printable(f"the grader could not write this submission's results: "
                    f"{type(exc).__name__}: {exc}")[:500]  # fmt: skip
    raw = {
        "id": record.id, "assignment": config.name, "status": "sandbox_error",
        "status_detail": why, "isolation": record.isolation,
        "content_hash": record.content_hash, "settings": dict(settings), "graded_at": graded_at,
    }  # fmt: skip
    try:
        checks = [{**c, "score": 0.0, "feedback": why, "table": []} for c in checked["checks"]]
        return from_dict({**raw, "checks": checks})
    except Exception:  # noqa: BLE001 - the checks themselves were what broke
        return from_dict(raw)


def _write_failed(out: Path, result: SubmissionResult) -> None:
    """What can still be written of a failed student: results.json, and no details.json (a
    rerun grades them again)."""
    folder = out / result.id
    try:
        (folder / "details.json").unlink(missing_ok=True)
        write_json(folder / "results.json", gradescope_results(result))
    except Exception:  # noqa: BLE001 - the class files still list them, with the reason
        pass


def write_student(out: Path, result: SubmissionResult, key: dict, render=None) -> None:
    """A student's files: Gradescope results.json, details.json (for resume), report.html.

    details.json keeps the grader's own result; the report and results.json show it with the
    course's rules applied (grader/course.py: the late policy, the TAs' overrides), so
    removing an override restores the grader's score."""
    _write_shown(out, result, course.State.load(out), render)
    # details.json last: its presence with a matching key is what makes a rerun skip this one.
    write_json(out / result.id / "details.json", {"resume_key": key, "result": to_dict(result)})


SHOWN_STAMP = "shown.json"
"""In a student's folder: which course rules their report and results.json were written
with, so that a rerun rewrites them when a rule changed (a new due date, new times), even for
a student whose grading was kept."""


def _write_shown(out: Path, result: SubmissionResult, state, render) -> None:
    shown = state.apply(result)
    folder = out / result.id
    if render is not None:
        atomic_write(folder / "report.html", render.student(shown))
    write_json(folder / "results.json", gradescope_results(shown))
    write_json(folder / SHOWN_STAMP, {"rules": state.key(result.id)})


def refresh(out: Path, render=None, only_stale: bool = False) -> list[SubmissionResult]:
    """Write the students' reports and results.json again, then the class files, from the
    stored results and the course's rules in force (after `grader override`, or a rerun with
    new times or a new late policy); nothing is graded. `only_stale`: only the students whose
    files were written under other rules."""
    stored = course.load_results(out)
    state = course.State.load(out)
    for result in stored:
        if only_stale:
            try:
                stamp = json.loads((out / result.id / SHOWN_STAMP).read_text())["rules"]
            except (OSError, ValueError, KeyError, TypeError):
                stamp = None
            if stamp == state.key(result.id):
                continue
        _write_shown(out, result, state, render)
    write_class(out, stored, render)
    return stored


def write_class(out: Path, results: Sequence[SubmissionResult], render=None) -> None:
    """Class-wide files: grades.csv, junit.xml, index.html.

    No student's folder can be called like them (`submission.RESERVED_IDS`); a folder in
    their place was left by an older grader, and is reported rather than removed.
    """
    for name in ("grades.csv", "junit.xml", "index.html"):
        if (out / name).is_dir() and not (out / name).is_symlink():
            raise GraderError(
                f"{out / name} is a folder, so the class file cannot be written there",
                "an older grader wrote a student's results there: move it out of OUT",
            )
    state = course.State.load(out)
    results = [state.apply(r) for r in results]
    atomic_write(out / "grades.csv", grades_csv(results))
    atomic_write(out / "junit.xml", junit_xml(results))
    if render is not None:
        view = course.class_view(out, results)
        atomic_write(out / "index.html", render.dashboard(results, summarize(results), view))


def refuse_out_inside(out: Path, submissions) -> None:
    """Refuse an output folder inside a submission (the next grading would copy the report
    into the submission, and the student might hand it in)."""
    target = Path(os.path.abspath(out))
    for entry in submissions:
        source = Path(os.path.abspath(entry))
        if os.path.isdir(source) and (target == source or source in target.parents):
            raise UsageError(
                f"the output folder {out} is inside the submission {entry}",
                "write it elsewhere (--out DIR outside the work you hand in; grader check "
                "writes to your cache by default)",
            )


def default_check_out(path: Path) -> Path:
    """Where `grader check PATH` writes its report by default: the user's cache, one folder
    per checked path (never inside what the student hands in)."""
    digest = hashlib.sha256(os.fsencode(os.path.abspath(path))).hexdigest()[:10]
    return cache_dir() / "check" / f"{safe_id(submission_id(Path(path)))[0]}-{digest}"


def entries_of(submissions_dir: Path) -> list[Path]:
    """The class directory's entries (one per student)."""
    return discover(Path(submissions_dir))
