"""Running a course (issue 16): the roster, TA overrides with their history, the LMS
gradebooks and the release of feedback, on an OUT written by the grader's own writers.

The end-to-end run (a real grading, then `grader override`, `export` and `release` through
the CLI) is tests/test_cli.py::test_a_course_on_the_graded_class.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import pytest

import grader.report
from grader import course
from grader.errors import GraderError, UsageError
from grader.pipeline import refresh, write_class, write_student
from grader.report.results import CheckResult, SubmissionResult, score

SETTINGS = {
    "title": "Digits", "parts": {"preprocessing": "Preprocessing", "mlp": "Dense network"},
    "grader_version": "test",
}  # fmt: skip


def _result(sid: str, points: tuple[float, float, float]) -> SubmissionResult:
    checks = (
        CheckResult("test_scale", "scales to [0, 1]", "preprocessing", 4, points[0]),
        CheckResult("test_layers", "MLP layer sequence", "mlp", 5, points[1]),
        CheckResult("test_secret", "secret hidden check", "mlp", 3, points[2], "hidden",
                    feedback="the hidden reason"),  # fmt: skip
    )
    return SubmissionResult(
        id=sid, assignment="digits", status="ok", checks=checks, settings=SETTINGS,
        content_hash=sid * 4, graded_at="2026-12-01T10:00:00+00:00",
    )  # fmt: skip


@pytest.fixture
def out(tmp_path) -> Path:
    """OUT of a graded class of three, written by the pipeline's writers."""
    out = tmp_path / "out"
    results = [_result("alice", (4, 5, 3)), _result("bob", (4, 0, 0)), _result("carol", (0, 0, 0))]
    for r in results:
        write_student(out, r, {"k": 1}, grader.report)
        course.record_history(out, r)
    write_class(out, results, grader.report)
    (tmp_path / "roster.csv").write_text(
        "id,name,email,section,sis_user_id\n"
        "alice,Alice Liddell,alice@uni.edu,A,S001\n"
        "bob,Bob Dylan,bob@uni.edu,B,S002\n"
        "dave,Dave Brubeck,dave@uni.edu,A,S004\n"
    )
    course.keep_roster(out, tmp_path / "roster.csv")
    return out


@pytest.mark.parametrize(
    "text, needle",
    [
        ("", "is empty"),
        ("name,email\nAlice,a@x\n", "no id column"),
        ("id,name\nalice,A\nalice,B\n", "listed twice"),
        ("id,name\n,A\n", "line 2: no id"),
        ("id,name\nalice,A,extra\n", "more cells than columns"),
        ("id,id\nalice,alice\n", "repeats a column"),
    ],
)
def test_a_bad_roster_is_refused_in_one_line(tmp_path, text, needle):
    path = tmp_path / "roster.csv"
    path.write_text(text)
    with pytest.raises(UsageError, match=needle):
        course.load_roster(path)


def test_the_roster_maps_ids_and_lists_missing_and_unknown(out):
    roster = course.roster_of(out)
    assert roster["alice"].extra == {"sis_user_id": "S001"}  # extra columns kept
    matched = course.match(roster, ["alice", "bob", "carol"])
    assert {sid: s.name for sid, s in matched.students.items()} == {
        "alice": "Alice Liddell", "bob": "Bob Dylan"}  # fmt: skip
    assert [s.id for s in matched.missing] == ["dave"]
    assert matched.unknown == ("carol",)


def test_the_canvas_gradebook_follows_canvas_import_columns(out):
    rows = list(csv.reader(io.StringIO(course.gradebook(out, "canvas"))))
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Digits"]
    assert rows[1] == ["Points Possible", "", "", "", "", "12"]
    by_name = {row[0]: row for row in rows[2:]}
    assert by_name["Alice Liddell"] == ["Alice Liddell", "", "S001", "alice@uni.edu", "A", "12"]
    assert by_name["Bob Dylan"][5] == "4"
    assert by_name["Dave Brubeck"][5] == "0"  # on the roster, no submission
    assert by_name["carol"][2] == "carol"  # not on the roster: listed by id
    assert len(rows) == 2 + 4


def test_the_moodle_and_generic_gradebooks(out):
    moodle = list(csv.DictReader(io.StringIO(course.gradebook(out, "moodle"))))
    assert list(moodle[0]) == ["Email address", "ID number", "Full name", "Digits", "Feedback"]
    bob = next(r for r in moodle if r["Email address"] == "bob@uni.edu")
    assert bob["Digits"] == "4" and "MLP layer sequence: 0/5" in bob["Feedback"]
    assert "secret" not in bob["Feedback"]  # hidden checks are not described
    plain = list(csv.DictReader(io.StringIO(course.gradebook(out, "csv"))))
    assert "Preprocessing (preprocessing)" in plain[0] and "Dense network (mlp)" in plain[0]
    alice = next(r for r in plain if r["id"] == "alice")
    assert (alice["Preprocessing (preprocessing)"], alice["Dense network (mlp)"]) == ("4", "8")
    dave = next(r for r in plain if r["id"] == "dave")
    assert dave["status"] == "missing" and dave["score"] == "0"
    with pytest.raises(UsageError, match="unknown format"):
        course.gradebook(out, "blackboard")


def test_an_override_shows_everywhere_and_survives_until_removed(out):
    done = course.add_override(out, "bob", "mlp layer  SEQUENCE", 4, "Dense(512) written as "
                               "Dense(units=512)", by="ta-jo")  # fmt: skip
    assert (done.check, done.points, done.by) == ("MLP layer sequence", 4.0, "ta-jo")
    refresh(out, grader.report)
    results = json.loads((out / "bob" / "results.json").read_text())
    assert results["score"] == 8
    layer = next(t for t in results["tests"] if t["name"] == "MLP layer sequence")
    assert layer["score"] == 4 and "Overridden by ta-jo" in layer["output"]
    assert "the grader gave 0/5" in layer["output"]
    assert "Overridden by ta-jo" in (out / "bob" / "report.html").read_text()
    assert "bob,8" in (out / "grades.csv").read_text().replace(".0", "")
    assert "override" in (out / "index.html").read_text()
    # The stored result is the grader's own: the override is applied on top of it.
    assert score(course.load_result(out, "bob")) == 4
    # Removing it restores the grader's score; the log keeps both events.
    course.add_override(out, "bob", "MLP layer sequence", None, "wrong student", by="ta-jo")
    refresh(out, grader.report)
    assert json.loads((out / "bob" / "results.json").read_text())["score"] == 4
    events = [json.loads(x) for x in (out / course.OVERRIDES).read_text().splitlines()]
    assert [e["op"] for e in events] == ["set", "remove"]
    assert all(e["by"] == "ta-jo" and e["at"] for e in events)


@pytest.mark.parametrize(
    "student, check, points, reason, needle",
    [
        ("nobody", "MLP layer sequence", 1, "r", "no graded student"),
        ("bob", "no such check", 1, "r", "no check"),
        ("bob", "MLP layer sequence", 6, "r", "do not fit"),
        ("bob", "MLP layer sequence", -1, "r", "do not fit"),
        ("bob", "MLP layer sequence", 1, "  ", "needs a reason"),
        ("bob", "MLP layer sequence", None, "r", "no override"),
    ],
)
def test_bad_overrides_are_refused(out, student, check, points, reason, needle):
    with pytest.raises(UsageError, match=needle):
        course.add_override(out, student, check, points, reason)
    assert not (out / course.OVERRIDES).exists()


def test_history_is_appended_and_the_dashboard_flags_changes(out):
    course.record_history(out, _result("bob", (4, 5, 0)))  # bob graded again, better
    assert course.changed(out) == {"bob": (4.0, 9.0)}
    assert [e["score"] for e in course.history(out)["bob"]] == [4.0, 9.0]
    write_class(out, course.load_results(out), grader.report)
    page = (out / "index.html").read_text()
    assert "changed" in page and "Dave Brubeck" in page and "no submission" in page
    assert 'id="matrix"' in page and page.count('data-status="ok"') == 3
    assert "Alice Liddell" in page and "(not on the roster)" in page


def test_release_writes_one_folder_per_student_without_hidden_details(out, tmp_path):
    manifest = course.release(out, tmp_path / "feedback")
    folders = sorted(p.name for p in (tmp_path / "feedback").iterdir() if p.is_dir())
    assert folders == ["alice@uni.edu", "bob@uni.edu", "carol"]
    assert [s["folder"] for s in manifest["students"]] == ["alice@uni.edu", "bob@uni.edu", "carol"]
    released = (tmp_path / "feedback" / "bob@uni.edu" / "results.json").read_text()
    assert "the hidden reason" not in released and "secret hidden check" not in released
    assert "hidden check" in released
    report = (tmp_path / "feedback" / "bob@uni.edu" / "report.html").read_text()
    assert "the hidden reason" not in report
    # Nothing changed: an --only-changed release is empty; after an override, only bob.
    again = course.release(out, tmp_path / "again", only_changed=True)
    assert again["students"] == []
    course.add_override(out, "bob", "MLP layer sequence", 5, "regraded by hand", by="ta")
    again = course.release(out, tmp_path / "again2", only_changed=True)
    assert [s["id"] for s in again["students"]] == ["bob"]
    with pytest.raises(UsageError, match="outside OUT"):
        course.release(out, out / "feedback")


POLICY = {"due": "2026-12-08T23:59:00+00:00", "grace_minutes": 15, "penalty_per_day": 10,
          "max_penalty": 30, "cutoff": "2026-12-15T23:59:00+00:00"}  # fmt: skip


@pytest.mark.parametrize(
    "submitted, points",
    [
        ("2026-12-08T12:00:00+00:00", None),  # on time
        ("2026-12-09T00:10:00+00:00", None),  # within the grace period
        ("2026-12-09T00:20:00+00:00", -10.0),  # a started day: 10%
        ("2026-12-09T01:00:00+01:00", None),  # 00:00 UTC: the time zone counts
        ("2026-12-10T12:00:00+00:00", -20.0),  # two started days
        ("2026-12-14T12:00:00+00:00", -30.0),  # six days: the 30% cap
        ("2026-12-16T00:00:00+00:00", -100.0),  # after the cutoff: no credit
    ],
)
def test_the_late_policy(submitted, points):
    penalty = course.late_penalty(POLICY, submitted, 100)
    assert (penalty.points if penalty else None) == points
    if penalty:
        assert penalty.kind == "late" and "late" in penalty.reason


def test_a_late_penalty_is_a_line_of_its_own(out, tmp_path):
    """Is the penalty taken from the total but shown apart: in results.json (a test entry
    and the output), the report's banner, the dashboard's flag and the gradebooks?"""
    course.keep_late(out, POLICY)
    times = tmp_path / "times.csv"
    times.write_text("id,submitted_at\nalice,2026-12-10T12:00:00Z\nbob,2026-12-08T10:00:00Z\n")
    warnings = course.record_times(out, {"alice": out, "bob": out, "carol": out},
                                   course.read_times(times))  # fmt: skip
    assert len(warnings) == 1 and "1 submission(s)" in warnings[0]  # carol: file time
    assert course.times_of(out)["alice"] == ("2026-12-10T12:00:00+00:00", "times.csv")
    refresh(out, grader.report)
    results = json.loads((out / "alice" / "results.json").read_text())
    assert results["score"] == 12 - 2.4  # 20% of 12
    entry = results["tests"][-1]
    assert entry["name"] == "Late penalty" and entry["score"] == -2.4 and entry["max_score"] == 0
    assert all(t["score"] == t["max_score"] for t in results["tests"][:-1])  # checks untouched
    assert "Late penalty: -2.4 points" in results["output"]
    assert 'id="adjustments"' in (out / "alice" / "report.html").read_text()
    assert 'class="status bad late"' in (out / "index.html").read_text()
    plain = list(csv.DictReader(io.StringIO(course.gradebook(out, "csv"))))
    alice = next(r for r in plain if r["id"] == "alice")
    assert (alice["score"], alice["late_penalty"]) == ("9.6", "-2.4")
    assert score(course.load_result(out, "alice")) == 12  # stored as graded


@pytest.mark.parametrize(
    "table, needle",
    [
        ('due = "tomorrow"', "not an ISO 8601 time"),
        ('due = "2026-12-08T23:59:00"', "needs a time zone"),
        ('due = 2026-12-08T23:59:00Z\npenalty_per_day = 150', "percent"),
        ('due = 2026-12-08T23:59:00Z\nlate_days = 2', "unknown key 'late_days'"),
        ('due = 2026-12-08T23:59:00Z\ngrace_minutes = inf', "0 to a year"),
        ('due = 2026-12-08T23:59:00Z\ncutoff = 2026-12-01T00:00:00Z', "not be before due"),
    ],
)
def test_a_bad_late_policy_is_refused(tmp_path, table, needle):
    from grader.config import find_assignment, load_config
    from grader.errors import GraderError

    root = tmp_path / "mnist"
    shutil.copytree(find_assignment("mnist").root, root)
    with open(root / "assignment.toml", "a") as f:
        f.write(f"\n[late]\n{table}\n")
    with pytest.raises(GraderError, match=needle):
        load_config(root)


def test_a_late_policy_is_read(tmp_path):
    from grader.config import find_assignment, load_config

    root = tmp_path / "mnist"
    shutil.copytree(find_assignment("mnist").root, root)
    with open(root / "assignment.toml", "a") as f:
        f.write("\n[late]\ndue = 2026-12-08T23:59:00Z\npenalty_per_day = 10\n")
    late = load_config(root).late
    assert late.due == "2026-12-08T23:59:00+00:00" and late.penalty_per_day == 10


def test_gradescope_metadata_gives_the_time(tmp_path):
    path = tmp_path / "submission_metadata.json"
    assert course.gradescope_times(path, "student") is None  # not on Gradescope
    path.write_text(json.dumps({"created_at": "2026-11-22T10:00:00.123-08:00", "id": 7}))
    assert course.gradescope_times(path, "student") == {
        "student": ("2026-11-22T10:00:00.123000-08:00", "gradescope")}  # fmt: skip
    for bad in ({}, {"created_at": "yesterday"}, {"created_at": "2026-11-22T10:00:00"}):
        path.write_text(json.dumps(bad))
        with pytest.raises(GraderError, match="no usable created_at"):
            course.gradescope_times(path, "student")


def test_course_files_are_no_student_id_and_release_deletes_nothing_of_its_own(out, tmp_path):
    from grader.run.submission import safe_id

    for name in ("overrides.jsonl", "history.jsonl", "late.json", "similarity.html",
                 "roster.csv", "manifest.json", "class.json"):  # fmt: skip
        assert safe_id(name)[0] == name + "_"
    feedback = tmp_path / "feedback"
    (feedback / "alice@uni.edu").mkdir(parents=True)
    (feedback / "alice@uni.edu" / "mine.txt").write_text("kept")
    course.release(out, feedback)
    assert (feedback / "alice@uni.edu" / "mine.txt").read_text() == "kept"
    with pytest.raises(UsageError, match="OUT outside --to"):
        course.release(out, out.parent)
    (tmp_path / "file").write_text("x")
    with pytest.raises(UsageError, match="is a file"):
        course.release(out, tmp_path / "file")


def test_a_submission_named_after_an_email_is_not_that_student(out):
    roster = course.roster_of(out)
    matched = course.match(roster, ["alice", "bob@uni.edu"])
    assert "bob@uni.edu" not in matched.students and matched.unknown == ("bob@uni.edu",)


def test_a_broken_override_log_is_one_line(out):
    (out / course.OVERRIDES).write_text('{"op": "set", "student": "bob", "check": "x"}\n')
    with pytest.raises(GraderError, match="line 1: points None is not a number"):
        course.overrides(out)
