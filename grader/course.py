"""Running a course on a grading's OUT: the roster, TA overrides, the grading history, LMS
gradebooks and the release of feedback to students.

Everything here reads and writes files under OUT beside the grading's own:
- `roster.csv`: the class list (`grader grade --roster`, or `grader export --roster`), with
  the columns id, name, email, section (extra columns kept);
- `overrides.jsonl`: the TAs' overrides, an append-only log of `set` and `remove` events (who,
  when, why). Never touched by a grading: overrides survive reruns and `--force`, and are
  applied whenever results are written (`apply_overrides`);
- `history.jsonl`: one line per grading of a student (content hash, score, grader version),
  appended, never rewritten;
- `releases/`: what was released to students, for `--only-changed`.

The results stored for resume (`<id>/details.json`) stay the grader's own: an override is
applied on top of them, so removing it restores the automatic score.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime
import getpass
import hashlib
import io
import json
import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from grader.errors import GraderError, UsageError
from grader.report.exports import _csv_safe, atomic_write, gradescope_results
from grader.report.results import (
    Adjustment,
    CheckResult,
    SubmissionResult,
    from_dict,
    max_score,
    part_scores,
    redact_hidden,
    score,
)

ROSTER = "roster.csv"
SIMILARITY = "similarity.json"
OVERRIDES = "overrides.jsonl"
HISTORY = "history.jsonl"
TIMES = "times.json"
CLASS = "class.json"
LATE = "late.json"
RELEASES = "releases"
ROSTER_COLUMNS = ("id", "name", "email", "section")
FORMATS = ("canvas", "moodle", "csv")
MAX_REASON = 500


# ---- the roster ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Student:
    """One row of the roster."""

    id: str
    name: str = ""
    email: str = ""
    section: str = ""
    extra: Mapping[str, str] = field(default_factory=dict)
    """The roster's other columns, kept as they are (e.g. `sis_user_id`, `canvas_id`)."""

    @property
    def shown(self) -> str:
        return self.name or self.id


def load_roster(path: Path) -> dict[str, Student]:
    """Read a roster CSV (header: id, name, email, section, any others); one-line errors."""
    path = Path(path)
    hint = "a CSV with a header row: id,name,email,section (other columns are kept)"
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise UsageError(f"no roster at {path}", hint) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read the roster {path}: {exc}", hint) from None
    try:
        rows = list(csv.reader(io.StringIO(text)))
    except csv.Error as exc:
        raise UsageError(f"the roster {path} is not a readable CSV: {exc}", hint) from None
    if not rows:
        raise UsageError(f"the roster {path} is empty", hint)
    header = [h.strip().lower() for h in rows[0]]
    if "id" not in header:
        raise UsageError(f"the roster {path} has no id column (header: {rows[0]})", hint)
    if len(set(header)) != len(header):
        raise UsageError(f"the roster {path} repeats a column name", hint)
    roster: dict[str, Student] = {}
    for number, row in enumerate(rows[1:], 2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) > len(header):
            raise UsageError(f"{path}, line {number}: more cells than columns", hint)
        values = dict(zip(header, [c.strip() for c in row], strict=False))
        sid = values.get("id", "")
        if not sid:
            raise UsageError(f"{path}, line {number}: no id", hint)
        if sid in roster:
            raise UsageError(f"{path}, line {number}: the id {sid!r} is listed twice", hint)
        extra = {k: v for k, v in values.items() if k not in ROSTER_COLUMNS}
        roster[sid] = Student(
            sid, values.get("name", ""), values.get("email", ""), values.get("section", ""), extra
        )
    return roster


def keep_roster(out: Path, roster_path: Path) -> None:
    """Validate the roster and keep a copy in OUT (exports, the dashboard and release use it)."""
    load_roster(roster_path)
    atomic_write(Path(out) / ROSTER, Path(roster_path).read_bytes())


def roster_of(out: Path) -> dict[str, Student]:
    """OUT's roster, or {} when the grading had none."""
    path = Path(out) / ROSTER
    return load_roster(path) if path.is_file() else {}


@dataclass(frozen=True)
class Matched:
    """A class's results laid over its roster."""

    students: dict[str, Student]
    """Submission id -> roster entry."""
    missing: tuple[Student, ...]
    """On the roster, with no submission."""
    unknown: tuple[str, ...]
    """Submission ids that match no one on the roster."""


def match(roster: Mapping[str, Student], ids: Sequence[str]) -> Matched:
    """Submission ids to students: the roster's id as the submission's name, or made into
    the same safe id the grader makes of a file name. Never by email: a student could name a
    submission after another's address."""
    from grader.run.submission import safe_id

    by_id: dict[str, Student] = {s.id: s for s in roster.values()}
    for student in roster.values():  # the id the grader makes of a file named like the roster's
        by_id.setdefault(safe_id(student.id)[0], student)
    matched = {sid: by_id[sid] for sid in ids if sid in by_id}
    if not roster:
        return Matched({}, (), ())
    seen = {s.id for s in matched.values()}
    missing = tuple(s for s in roster.values() if s.id not in seen)
    unknown = tuple(sid for sid in ids if sid not in matched)
    return Matched(matched, missing, unknown)


# ---- overrides -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Override:
    """A TA's points for one check of one student."""

    student: str
    check: str
    """The check's title (or its function name)."""
    points: float
    reason: str
    by: str
    at: str


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")


def _who() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _events(out: Path) -> list[dict]:
    path = Path(out) / OVERRIDES
    events = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError) as exc:
        raise GraderError(f"cannot read {path}: {exc}", "it must be the override log") from None
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            event = json.loads(line)
            if not isinstance(event, dict) or event.get("op") not in ("set", "remove"):
                raise ValueError("not an override event")
            if event["op"] == "set":
                points = event.get("points")
                if isinstance(points, bool) or not isinstance(points, int | float):
                    raise ValueError(f"points {points!r} is not a number")
                if not math.isfinite(points):
                    raise ValueError(f"points {points!r} is not finite")
        except ValueError as exc:
            raise GraderError(
                f"{path}, line {number}: {exc}", "fix or remove that line (the log is plain JSON)"
            ) from None
        events.append(event)
    return events


def overrides(out: Path) -> dict[str, dict[str, Override]]:
    """The overrides in force: student -> check -> the last `set` not removed since."""
    active: dict[str, dict[str, Override]] = {}
    for event in _events(out):
        student, check = str(event.get("student")), str(event.get("check"))
        if event["op"] == "remove":
            active.get(student, {}).pop(check, None)
        else:
            active.setdefault(student, {})[check] = Override(
                student, check, float(event["points"]), str(event.get("reason", "")),
                str(event.get("by", "")), str(event.get("at", "")),
            )  # fmt: skip
    return active


def add_override(
    out: Path, student: str, check: str, points: float | None, reason: str, by: str | None = None
) -> Override | None:
    """Append a `set` (points given) or a `remove` (points None) to OUT's override log, after
    checking that the student and the check exist and the points fit the check."""
    out = Path(out)
    result = load_result(out, student)
    target = find_check(result, check)
    reason = " ".join(str(reason).split())[:MAX_REASON]
    if not reason:
        raise UsageError("an override needs a reason", 'add --reason "..." (it is shown)')
    if points is not None and not 0 <= points <= target.max_score:
        raise UsageError(
            f"{points:g} points do not fit {target.title!r} (0 to {target.max_score:g})",
            "give points between 0 and the check's maximum",
        )
    if points is None and target.title not in overrides(out).get(result.id, {}):
        raise UsageError(
            f"{result.id} has no override on {target.title!r} to remove",
            "grader override OUT STUDENT CHECK POINTS --reason ... sets one",
        )
    event = {
        "op": "set" if points is not None else "remove", "student": result.id,
        "check": target.title, "reason": reason, "by": by or _who(), "at": _now(),
    }  # fmt: skip
    if points is not None:
        event["points"] = points
    with open(out / OVERRIDES, "a", encoding="utf-8") as f:
        f.write(json.dumps(event) + "\n")
        f.flush()
        os.fsync(f.fileno())
    return overrides(out).get(result.id, {}).get(target.title)


def find_check(result: SubmissionResult, check: str) -> CheckResult:
    """A check of the result by its title or function name (case and spaces ignored)."""
    wanted = " ".join(check.split()).casefold()
    for c in result.checks:
        if wanted in (" ".join(c.title.split()).casefold(), c.name.casefold()):
            return c
    titles = "; ".join(c.title for c in result.checks[:6])
    raise UsageError(
        f"{result.id} has no check {check!r}",
        f"use a check's title as the report shows it (e.g. {titles})",
    )


def apply_overrides(
    result: SubmissionResult, active: Mapping[str, Mapping[str, Override]]
) -> SubmissionResult:
    """The result with the TA's points in place of the grader's, each with who, when, why
    and the automatic score in its feedback."""
    mine = active.get(result.id) or {}
    if not mine:
        return result
    checks = []
    for c in result.checks:
        o = mine.get(c.title)
        if o is None:
            checks.append(c)
            continue
        note = (
            f"Overridden by {o.by} on {o.at[:10]}: {o.reason} "
            f"(the grader gave {c.score:g}/{c.max_score:g})"
        )
        points = min(max(o.points, 0.0), c.max_score)
        checks.append(dataclasses.replace(
            c, score=points, feedback="\n".join(x for x in (note, c.feedback) if x),
        ))  # fmt: skip
    settings = {**result.settings, "overrides": [dataclasses.asdict(o) for o in mine.values()]}
    return dataclasses.replace(result, checks=tuple(checks), settings=settings)


# ---- submission times and the late policy --------------------------------------------------
def read_times(path: Path) -> dict[str, tuple[str, str]]:
    """`--times times.csv` (columns id, submitted_at in ISO 8601 with a time zone):
    id -> (time, source)."""
    hint = "a CSV with a header row: id,submitted_at (e.g. 2026-12-08T23:59:00+00:00)"
    try:
        rows = list(csv.DictReader(io.StringIO(Path(path).read_text(encoding="utf-8-sig"))))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise UsageError(f"cannot read the times {path}: {exc}", hint) from None
    times = {}
    for number, row in enumerate(rows, 2):
        sid, at = (row.get("id") or "").strip(), (row.get("submitted_at") or "").strip()
        if not sid or not at:
            raise UsageError(f"{path}, line {number}: needs an id and a submitted_at", hint)
        moment = _parse_time(at, f"{path}, line {number}", hint)
        times[sid] = (moment.isoformat(), "times.csv")
    return times


def gradescope_times(metadata: Path, sid: str) -> dict[str, tuple[str, str]] | None:
    """The submission's time from Gradescope's `submission_metadata.json` (its `created_at`),
    or None where there is no such file (grading outside Gradescope)."""
    if not Path(metadata).is_file():
        return None
    try:
        raw = json.loads(Path(metadata).read_text())["created_at"]
        created = datetime.datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
        if created.tzinfo is None:
            raise ValueError(f"{raw!r} has no time zone")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise GraderError(
            f"{metadata}: no usable created_at ({exc})",
            "Gradescope writes it; pass --metadata to another file",
        ) from None
    return {sid: (created.isoformat(), "gradescope")}


def _parse_time(text: str, where: str, hint: str) -> datetime.datetime:
    try:
        moment = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"{where}: {text!r} is not an ISO 8601 time", hint) from None
    if moment.tzinfo is None:
        raise UsageError(f"{where}: {text!r} has no time zone", hint)
    return moment


def record_times(
    out: Path, entries: Mapping[str, Path], given: Mapping[str, tuple[str, str]] | None
) -> list[str]:
    """Keep each submission's time in OUT/times.json: the given ones (times.csv, Gradescope's
    metadata), else the newest modification time of its files, which a copy resets (said in
    the returned warning). A time once given is not replaced by a file time."""
    path = Path(out) / TIMES
    try:
        kept = json.loads(path.read_text())
    except (OSError, ValueError):
        kept = {}
    guessed = []
    for sid, source in entries.items():
        if given and sid in given:
            kept[sid] = list(given[sid])
        elif sid not in kept or kept[sid][1] == "file time":
            kept[sid] = [_file_time(Path(source)), "file time"]
            guessed.append(sid)
    atomic_write(path, json.dumps(kept, indent=1, sort_keys=True))
    if not guessed:
        return []
    return [
        f"late policy: no submission time given for {len(guessed)} submission(s); their files' "
        "modification times were used (a copy or an unzip resets them: give --times)"
    ]


def _file_time(path: Path) -> str:
    try:
        files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
        newest = max((p.stat().st_mtime for p in files), default=path.stat().st_mtime)
    except OSError:
        newest = 0.0
    return datetime.datetime.fromtimestamp(newest, datetime.UTC).isoformat(timespec="seconds")


def times_of(out: Path) -> dict[str, tuple[str, str]]:
    try:
        return {k: (v[0], v[1]) for k, v in json.loads((Path(out) / TIMES).read_text()).items()}
    except (OSError, ValueError, TypeError, IndexError, AttributeError):
        return {}


def late_penalty(policy: Mapping, submitted: str, available: float) -> Adjustment | None:
    """The late policy (`[late]` of assignment.toml, as results' settings keep it) applied to
    one submission time: None when on time (or within the grace period)."""
    if not policy or not policy.get("due"):
        return None
    at = datetime.datetime.fromisoformat(submitted)
    due = datetime.datetime.fromisoformat(policy["due"])
    grace = datetime.timedelta(minutes=float(policy.get("grace_minutes", 0)))
    if at <= due + grace:
        return None
    late = at - due
    days = math.ceil(late.total_seconds() / 86400)
    cutoff = policy.get("cutoff")
    if cutoff and at > datetime.datetime.fromisoformat(cutoff):
        percent, why = 100.0, f"after the cutoff {cutoff}: no credit"
    else:
        per_day, cap = float(policy["penalty_per_day"]), float(policy.get("max_penalty", 100))
        percent = min(cap, days * per_day)
        why = f"{percent:g}% of {available:g} points ({per_day:g}% per day, at most {cap:g}%)"
    hours = late.total_seconds() / 3600
    shown = f"{hours:.1f} h" if hours < 48 else f"{late.days} days {late.seconds // 3600} h"
    points = -round(available * percent / 100, 4)
    return Adjustment("late", points, f"submitted {at.isoformat()}, {shown} late: {why}")


def keep_late(out: Path, policy: Mapping) -> None:
    """The late policy for every student of OUT (the kept ones too: a new due date applies
    to all). It stays until another replaces it: a rerun without `--late` keeps it."""
    atomic_write(Path(out) / LATE, json.dumps(dict(policy), indent=1))


def late_of(out: Path) -> dict | None:
    try:
        policy = json.loads((Path(out) / LATE).read_text())
        return policy if isinstance(policy, dict) and policy.get("due") else None
    except (OSError, ValueError):
        return None


@dataclass(frozen=True)
class State:
    """OUT's course files, read once: what turns a stored result into the one shown."""

    overrides: dict
    times: dict
    late: dict | None = None

    @classmethod
    def load(cls, out: Path) -> State:
        return cls(overrides(out), times_of(out), late_of(out))

    def key(self, sid: str) -> str:
        """What this student's shown result depends on besides their grading."""
        mine = {k: dataclasses.asdict(o) for k, o in sorted(self.overrides.get(sid, {}).items())}
        facts = [mine, self.times.get(sid) if self.late else None, self.late]
        return hashlib.sha256(json.dumps(facts, sort_keys=True).encode()).hexdigest()[:16]

    def apply(self, result: SubmissionResult) -> SubmissionResult:
        """The stored (graded) result with the late policy and the overrides applied."""
        shown = apply_overrides(result, self.overrides)
        policy = self.late
        submitted = self.times.get(result.id)
        if policy and submitted:
            penalty = late_penalty(policy, submitted[0], max_score(result))
            earned = sum(c.score for c in shown.checks)
            if penalty is not None and -penalty.points > earned:  # never below 0 points
                penalty = dataclasses.replace(penalty, points=-round(earned, 4))
            note = {"submitted_at": submitted[0], "time_source": submitted[1]}
            shown = dataclasses.replace(
                shown, adjustments=(penalty,) if penalty else (),
                settings={**shown.settings, **note},
            )  # fmt: skip
        return shown


# ---- results and history -------------------------------------------------------------------
def load_result(out: Path, student: str) -> SubmissionResult:
    path = Path(out) / student / "details.json"
    try:
        return from_dict(json.loads(path.read_text())["result"])
    except FileNotFoundError:
        raise UsageError(
            f"no graded student {student!r} in {out}",
            "use an id from the dashboard (the submission's name)",
        ) from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise GraderError(f"{path} cannot be read: {exc}", "grade that student again") from None


def keep_class(out: Path, ids: Sequence[str]) -> None:
    """The ids of the latest grading: the class that exports, release and refresh work on
    (a folder left by a submission since removed is not part of it)."""
    atomic_write(Path(out) / CLASS, json.dumps(sorted(ids)))


def load_results(out: Path) -> list[SubmissionResult]:
    """Every student's stored result in OUT (as graded, before overrides): the latest
    grading's class where it was recorded."""
    try:
        members = set(json.loads((Path(out) / CLASS).read_text()))
    except (OSError, ValueError, TypeError):
        members = None
    results = []
    for path in sorted(Path(out).glob("[!.]*/details.json")):
        if members is not None and path.parent.name not in members:
            continue
        try:
            results.append(from_dict(json.loads(path.read_text())["result"]))
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return results


def record_history(out: Path, result: SubmissionResult) -> None:
    """Append one grading of one student to OUT's history (never rewritten)."""
    entry = {
        "id": result.id, "content_hash": result.content_hash, "score": score(result),
        "max_score": max_score(result), "status": result.status,
        "grader_version": result.settings.get("grader_version", ""),
        "graded_at": result.graded_at,
    }  # fmt: skip
    with open(Path(out) / HISTORY, "a", encoding="utf-8") as f:
        f.write(json.dumps(entry) + "\n")


def history(out: Path) -> dict[str, list[dict]]:
    """Each student's gradings, oldest first."""
    found: dict[str, list[dict]] = {}
    try:
        lines = (Path(out) / HISTORY).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return {}
    for line in lines:
        try:
            entry = json.loads(line)
            found.setdefault(str(entry["id"]), []).append(entry)
        except (ValueError, KeyError, TypeError):
            continue  # a torn last line of a killed grading
    return found


def changed(out: Path) -> dict[str, tuple[float, float]]:
    """Students whose score changed between their last two gradings: id -> (before, now)."""
    moved = {}
    for sid, entries in history(out).items():
        if len(entries) >= 2 and entries[-1]["score"] != entries[-2]["score"]:
            moved[sid] = (entries[-2]["score"], entries[-1]["score"])
    return moved


# ---- gradebooks ----------------------------------------------------------------------------
def gradebook(out: Path, fmt: str, roster: Mapping[str, Student] | None = None) -> str:
    """The class's grades in an LMS's import format (`canvas`, `moodle`) or as a plain CSV
    with one column per part (`csv`); overrides applied, the roster's missing students at 0."""
    if fmt not in FORMATS:
        raise UsageError(f"unknown format {fmt!r}", f"use one of: {', '.join(FORMATS)}")
    out = Path(out)
    roster = roster_of(out) if roster is None else roster
    state = State.load(out)
    results = [state.apply(r) for r in load_results(out)]
    if not results:
        raise UsageError(f"no graded students in {out}", "run grader grade --out OUT first")
    matched = match(roster, [r.id for r in results])
    title = str(results[0].settings.get("title") or results[0].assignment)
    top = max(max_score(r) for r in results)
    buffer = io.StringIO()
    writer = _SafeWriter(buffer)
    rows = [(matched.students.get(r.id), r) for r in results]
    rows += [(s, None) for s in matched.missing]
    if fmt == "canvas":
        # Canvas's gradebook import: the five identity columns, then one per assignment; the
        # optional second row gives the points possible.
        writer.writerow(["Student", "ID", "SIS User ID", "SIS Login ID", "Section", title])
        writer.writerow(["Points Possible", "", "", "", "", _num(top)])
        for student, result in rows:
            extra = student.extra if student else {}
            writer.writerow([
                student.shown if student else result.id, extra.get("canvas_id", ""),
                extra.get("sis_user_id", student.id if student else result.id),
                extra.get("sis_login_id", student.email if student else ""),
                student.section if student else "", _num(score(result) if result else 0),
            ])  # fmt: skip
    elif fmt == "moodle":
        # Moodle's grade import maps an identity column (the email address) and a grade
        # column, with an optional feedback column, chosen on its import page.
        writer.writerow(["Email address", "ID number", "Full name", title, "Feedback"])
        for student, result in rows:
            writer.writerow([
                student.email if student else "", student.id if student else result.id,
                student.shown if student else result.id,
                _num(score(result) if result else 0),
                _feedback(result) if result else "no submission",
            ])  # fmt: skip
    else:
        parts = list(dict.fromkeys(p for r in results for p in part_scores(r)))
        titles = results[0].settings.get("parts") or {}
        writer.writerow(["id", "name", "email", "section", "score", "max_score", "status",
                         *[f"{titles.get(p, p)} ({p})" for p in parts], "late_penalty",
                         "overrides"])  # fmt: skip
        for student, result in rows:
            earned = part_scores(result) if result else {}
            writer.writerow([
                result.id if result else student.id, student.name if student else "",
                student.email if student else "", student.section if student else "",
                _num(score(result)) if result else 0, _num(max_score(result) if result else top),
                result.status if result else "missing",
                *[_num(earned.get(p, (0, 0))[0]) for p in parts],
                _num(sum(a.points for a in result.adjustments)) if result else 0,
                len(result.settings.get("overrides", ())) if result else 0,
            ])  # fmt: skip
    return buffer.getvalue()


class _SafeWriter:
    """csv.writer whose text cells no spreadsheet runs as a formula (ids come from students);
    numbers the gradebook made itself (`_num`) are written as they are."""

    def __init__(self, buffer: io.StringIO) -> None:
        self._writer = csv.writer(buffer, lineterminator="\n")

    def writerow(self, cells) -> None:
        guard = [isinstance(c, str) and not isinstance(c, _Number) for c in cells]
        self._writer.writerow([_csv_safe(c) if g else c for c, g in zip(cells, guard, strict=True)])


class _Number(str):
    """A number as the gradebook writes it (`12`, `9.6`, `-2.4`): never guarded as a formula."""


def _num(value: float) -> str:
    return _Number(f"{value:g}")


def _feedback(result: SubmissionResult) -> str:
    lost = [c for c in result.checks if not c.passed and c.visibility == "visible"]
    return "; ".join(f"{c.title}: {c.score:g}/{c.max_score:g}" for c in lost)[:1000] or "all passed"


# ---- release -------------------------------------------------------------------------------
def release(out: Path, to: Path, only_changed: bool = False) -> dict:
    """One folder per student under `to` (named by roster email, else id): their report.html
    and results.json with hidden checks reduced to their points, plus a manifest. With
    `only_changed`, only students whose grade differs from the last release."""
    from grader.report import render

    out, to = Path(out), Path(to)
    inside = to.resolve() == out.resolve() or out.resolve() in to.resolve().parents
    if inside or to.resolve() in out.resolve().parents:
        raise UsageError(
            "--to must lie outside OUT, and OUT outside --to", "release into a folder of its own"
        )
    if to.exists() and not to.is_dir():
        raise UsageError(f"--to {to} is a file", "give a folder (it is made if missing)")
    state = State.load(out)
    results = [state.apply(r) for r in load_results(out)]
    if not results:
        raise UsageError(f"no graded students in {out}", "run grader grade --out OUT first")
    matched = match(roster_of(out), [r.id for r in results])
    last_path = out / RELEASES / "last.json"
    try:
        last = json.loads(last_path.read_text())["scores"]
    except (OSError, ValueError, KeyError):
        last = {}
    to.mkdir(parents=True, exist_ok=True)
    released, names = [], {"manifest.json"}
    for result in results:
        if only_changed and last.get(result.id) == score(result):
            continue
        student = matched.students.get(result.id)
        name = _folder_name(student.email if student and student.email else result.id, names)
        folder = to / name  # its two files are replaced; nothing else there is deleted
        if folder.exists() and not folder.is_dir():
            raise UsageError(f"{folder} is a file", "release into an empty folder")
        shown = dataclasses.replace(result, checks=tuple(redact_hidden(c) for c in result.checks))
        atomic_write(folder / "report.html", render.student(result))
        atomic_write(folder / "results.json", json.dumps(gradescope_results(shown), indent=2))
        released.append({
            "folder": name, "id": result.id, "name": student.shown if student else "",
            "email": student.email if student else "", "score": score(result),
            "max_score": max_score(result),
        })  # fmt: skip
    manifest = {"released_at": _now(), "only_changed": only_changed, "students": released}
    atomic_write(to / "manifest.json", json.dumps(manifest, indent=2))
    scores = {**last, **{r["id"]: r["score"] for r in released}}
    atomic_write(last_path, json.dumps({"released_at": manifest["released_at"], "scores": scores}))
    return manifest


def _folder_name(text: str, taken: set[str]) -> str:
    name = re.sub(r"[^A-Za-z0-9@._+-]", "_", text).strip(".") or "student"
    base, n = name[:100], 2
    while name in taken:
        name = f"{base}-{n}"
        n += 1
    taken.add(name)
    return name


# ---- the dashboard's course view -----------------------------------------------------------
def class_view(out: Path, results: Sequence[SubmissionResult]) -> dict:
    """What the dashboard shows of the course (results with overrides applied): names and
    sections from the roster, missing students, submissions no one on the roster made,
    students whose score changed since their last grading, and the student x check matrix."""
    try:
        roster = roster_of(out)
    except GraderError:
        roster = {}
    matched = match(roster, [r.id for r in results])
    moved = changed(out)
    checks: dict[str, CheckResult] = {}
    for r in results:
        for c in r.checks:
            checks.setdefault(c.name, c)
    parts_titles = results[0].settings.get("parts") if results else {}
    parts_titles = parts_titles if isinstance(parts_titles, Mapping) else {}
    columns = [
        {"name": c.name, "title": c.title, "part": c.part,
         "part_title": str(parts_titles.get(c.part, c.part)), "hidden": c.visibility == "hidden"}
        for c in checks.values()
    ]  # fmt: skip
    part_list = list(dict.fromkeys((c["part"], c["part_title"]) for c in columns))
    rows = []
    for r in results:
        by_name = {c.name: c for c in r.checks}
        student = matched.students.get(r.id)
        earned = part_scores(r)
        rows.append({
            "parts": [earned.get(part) for part, _title in part_list],
            "id": r.id, "name": student.shown if student else "",
            "section": student.section if student else "",
            "status": r.attempt or r.status,
            "changed": moved.get(r.id),
            "overrides": len(r.settings.get("overrides", ()) or ()),
            "late": "; ".join(a.reason for a in r.adjustments if a.kind == "late"),
            "cells": [
                (by_name[c["name"]].score, by_name[c["name"]].max_score,
                 _cell_state(by_name[c["name"]])) if c["name"] in by_name else None
                for c in columns
            ],
        })  # fmt: skip
    try:
        similar = json.loads((Path(out) / SIMILARITY).read_text())
        flagged = [p for p in similar["pairs"] if p["score"] >= similar["flag"]]
    except (OSError, ValueError, KeyError, TypeError):
        similar, flagged = None, []
    shown = {sid: s.shown for sid, s in matched.students.items()}
    return {
        "similarity": similar is not None,
        "similar": [
            {**p, "a_name": shown.get(p["a"], p["a"]), "b_name": shown.get(p["b"], p["b"])}
            for p in flagged
        ],  # fmt: skip
        "similar_ids": sorted({p["a"] for p in flagged} | {p["b"] for p in flagged}),
        "roster": bool(roster),
        "names": {sid: s.shown for sid, s in matched.students.items()},
        "sections": {sid: s.section for sid, s in matched.students.items()},
        "missing": [
            {"id": s.id, "name": s.shown, "email": s.email, "section": s.section}
            for s in matched.missing
        ],  # fmt: skip
        "unknown": list(matched.unknown),
        "changed": moved,
        "columns": columns,
        "rows": rows,
        "parts": part_list,
        "statuses": sorted({row["status"] for row in rows}),
    }


def _cell_state(check: CheckResult) -> str:
    if check.passed:
        return "passed"
    return "partial" if check.score > 0 else "failed"


def write_similarity(out: Path, config, ids: Sequence[str], render=None) -> dict:
    """Compare the class's code (grader/similarity.py); write OUT/similarity.json and, with
    `render`, OUT/similarity.html (linked from the dashboard)."""
    from grader import similarity

    result = similarity.class_similarity(out, config, ids)
    kept = similarity.summary(result)
    if render is not None:  # the page first: the dashboard links to it once the json is there
        try:
            names = {sid: s.shown for sid, s in match(roster_of(out), list(ids)).students.items()}
        except GraderError:
            names = {}
        page = similarity.page_context(result, names, config.title)
        atomic_write(Path(out) / "similarity.html", render.similarity(page))
    atomic_write(Path(out) / SIMILARITY, json.dumps(kept, indent=1))
    return kept
