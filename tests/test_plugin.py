"""Does the grading plugin validate, parametrize, run and record checks as phase 2 needs?

Each test writes tiny check modules and a phase-2 plan (the format grader/check/session.py writes)
into pytester's directory and runs pytest in a subprocess with `-p grader.check.plugin`, exactly as
phase 2 does. Sessions whose checks take `student` load the grading data (and TensorFlow):
a few seconds each.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

REFERENCE = Path(__file__).resolve().parent.parent / "reference" / "mnist"


def write_plan(
    pytester: pytest.Pytester, submissions: dict[str, Path | None] | None = None,
    visibility: str = "all", **extra,
) -> Path:  # fmt: skip
    """A phase-2 plan over `submissions` (id -> out_dir), with a reference that has no run."""
    plan = {
        "assignment": str(REFERENCE),
        "budget": "quick",
        "data": "bundled",
        "visibility": visibility,
        "results": str(pytester.path / "results.json"),
        "reference": {"id": "reference", "status": "ok", "detail": "", "out_dir": None},
        "submissions": [
            {"id": sid, "status": "ok", "detail": "", "out_dir": str(d) if d else None}
            for sid, d in (submissions or {}).items()
        ],
        **extra,
    }
    path = pytester.path / "plan.json"
    path.write_text(json.dumps(plan))
    return path


def run_checks(pytester: pytest.Pytester, plan: Path, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess(
        "-p", "grader.check.plugin", "--grader-plan", str(plan), "-p", "no:cacheprovider", *args,
        timeout=300,
    )  # fmt: skip


def read_results(pytester: pytest.Pytester) -> dict:
    return json.loads((pytester.path / "results.json").read_text())


def checks_of(results: dict, sid: str) -> dict[str, dict]:
    return {c["name"]: c for c in results["submissions"][sid]["checks"]}


# ---- declarations: validated when collected -------------------------------------------------
BAD_DECLARATIONS = {
    "unknown-keyword": (
        '@pytest.mark.check(points=1, title="t", weight=2)',
        "unknown keyword 'weight'",
    ),
    "missing-points": ('@pytest.mark.check(title="t")', "has no points="),
    "negative-points": ('@pytest.mark.check(points=-1, title="t")', "points=-1 must be a number"),
    "bool-points": ('@pytest.mark.check(points=True, title="t")', "points=True must be a number"),
    "string-points": ('@pytest.mark.check(points="3", title="t")', "points='3' must be a number"),
    "missing-title": ("@pytest.mark.check(points=1)", "needs a title= string"),
    "blank-title": ('@pytest.mark.check(points=1, title="  ")', "needs a title= string"),
    "bad-visibility": (
        '@pytest.mark.check(points=1, title="t", visibility="secret")',
        "visibility='secret' must be 'visible' or 'hidden'",
    ),
    "bad-part": (
        '@pytest.mark.check(points=1, title="t", part="nonsense")',
        "part='nonsense' must be one of",
    ),
    "positional-args": ('@pytest.mark.check(3, "t")', "takes keywords only"),
    "two-markers": (
        '@pytest.mark.check(points=1, title="t")\n@pytest.mark.check(points=2, title="u")',
        "more than one @pytest.mark.check",
    ),
    "no-marker": ("", "no @pytest.mark.check"),
}


@pytest.mark.parametrize(
    ("decorator", "problem"), BAD_DECLARATIONS.values(), ids=BAD_DECLARATIONS.keys()
)
def test_bad_declaration_is_a_collection_error(pytester, decorator, problem):
    """Is a bad @pytest.mark.check a collection error naming the check and the problem?"""
    pytester.makepyfile(
        test_mlp=f"import pytest\n\n{decorator}\ndef test_bad(student):\n    pass\n"
    )
    result = run_checks(pytester, write_plan(pytester))
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([f"*CheckDeclarationError: test_mlp::test_bad: *{problem}*"])
    errors = read_results(pytester)["collection_errors"]
    assert len(errors) == 1
    assert "test_mlp::test_bad" in errors[0] and problem in errors[0]


def test_duplicate_title_across_modules(pytester):
    """Is a title used by checks in two modules a collection error naming both checks?"""
    pytester.makepyfile(
        test_mlp="""
            import pytest

            @pytest.mark.check(points=1, title="Same title")
            def test_first(student):
                pass
        """,
        test_cnn="""
            import pytest

            @pytest.mark.check(points=1, title="Same title")
            def test_second(student):
                pass
        """,
    )
    result = run_checks(pytester, write_plan(pytester))
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*duplicate title 'Same title' (also used by test_*::test_*)*"])
    (error,) = read_results(pytester)["collection_errors"]
    assert "test_cnn::test_second" in error and "test_mlp::test_first" in error


def test_valid_declarations_collect_cleanly(pytester):
    """Do valid declarations (every keyword, default part from the module name) collect?"""
    pytester.makepyfile(
        test_training="""
            import pytest

            @pytest.mark.check(points=0, title="Zero points are allowed")
            def test_zero(student):
                pass

            @pytest.mark.check(points=2.5, title="All keywords", visibility="hidden", part="mlp")
            def test_all(student):
                pass
        """
    )
    result = run_checks(pytester, write_plan(pytester), "--collect-only", "-q")
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(["*2 tests collected*"])
    assert read_results(pytester)["collection_errors"] == []


# ---- running and recording -------------------------------------------------------------------
OUTCOMES = '''
import pytest
from grader.check.checking import fail, note, partial


@pytest.fixture
def broken():
    raise RuntimeError("fixture exploded")


@pytest.mark.check(points=2, title="A check with a bug")
def test_bug(student):
    """The check itself is wrong: it indexes a dict with a key that is not there."""
    return {}["no such key"]


@pytest.mark.check(points=2, title="Needs a call that never happened")
def test_missing_call(student):
    student.require("flatten_and_scale")


@pytest.mark.check(points=2, title="Needs a file that is not there")
def test_missing_file(student):
    student.artifacts.arrays("arrays/flatten_and_scale.npz")


@pytest.mark.check(points=2, title="A broken fixture")
def test_broken_fixture(student, broken):
    pass


@pytest.mark.check(points=2, title="A skipped check")
def test_skipped(student):
    pytest.skip("not today")


@pytest.mark.check(points=2, title="A plain assert")
def test_plain_assert(student):
    assert 1 + 1 == 3, "arithmetic is broken"


@pytest.mark.check(points=3, title="Runs after the broken ones")
def test_after(student):
    pass


@pytest.mark.check(points=4, title="Half way")
def test_half(student):
    partial(0.5, "half of the layers are right")


@pytest.mark.check(points=1, title="A remark on a pass")
def test_note_pass(student):
    note("consider keras.Input(shape=(784,))")


@pytest.mark.check(points=1, title="A remark on a failure")
def test_note_fail(student):
    note("a remark before failing")
    fail("the model is wrong")


@pytest.mark.check(points=1, title="No remark of its own")
def test_no_note(student):
    pass
'''


_SESSIONS: dict[str, tuple[pytest.RunResult, dict]] = {}
"""The OUTCOMES session, run once for the tests that read it (each session imports
TensorFlow: about 10 s)."""


@pytest.fixture
def outcomes(pytester, tmp_path) -> tuple[pytest.RunResult, dict]:
    """One session over OUTCOMES for alice and bob, whose runs left no artifacts at all
    (run by the first test that asks; the others read the same outcome)."""
    if "outcomes" not in _SESSIONS:
        pytester.makepyfile(test_preprocessing=OUTCOMES)
        empty = {sid: tmp_path / sid for sid in ("alice", "bob")}
        for folder in empty.values():
            folder.mkdir()
        result = run_checks(pytester, write_plan(pytester, empty), "-v", "-rN")
        _SESSIONS["outcomes"] = (result, read_results(pytester))
    return _SESSIONS["outcomes"]


def test_checks_are_parametrized_per_submission(outcomes):
    """Does every check run once per submission, with the submission's id as the test id?"""
    result, results = outcomes
    result.stdout.fnmatch_lines_random(
        ["*::test_after[[]alice[]] PASSED*", "*::test_after[[]bob[]] PASSED*"]
    )
    for sid in ("alice", "bob"):
        assert len(results["submissions"][sid]["checks"]) == 11


def test_unexpected_exception_in_check_is_failed_with_reason(outcomes):
    """Is a check that raises an unexpected error recorded as failed, never passed?"""
    _, results = outcomes
    for sid in ("alice", "bob"):
        bug = checks_of(results, sid)["test_bug"]
        assert bug["score"] == 0 and bug["max_score"] == 2
        assert "could not complete this check (KeyError: 'no such key')" in bug["feedback"]
        assert "counts as failed" in bug["feedback"]


def test_missing_artifact_is_failed_with_reason(outcomes):
    """Is a check needing an artifact the run never wrote failed, saying which one?"""
    _, results = outcomes
    checks = checks_of(results, "alice")
    assert checks["test_missing_call"]["score"] == 0
    assert "flatten_and_scale() was not called" in checks["test_missing_call"]["feedback"]
    assert checks["test_missing_file"]["score"] == 0
    assert (
        "artifact arrays/flatten_and_scale.npz is missing"
        in (checks["test_missing_file"]["feedback"])
    )


def test_fixture_error_skip_and_assert_are_failed(outcomes):
    """Are a broken fixture, a skip and a failed assert all zero points, with the reason?"""
    _, results = outcomes
    checks = checks_of(results, "alice")
    fixture = checks["test_broken_fixture"]
    assert fixture["score"] == 0
    assert "RuntimeError: fixture exploded" in fixture["feedback"]
    assert checks["test_skipped"]["score"] == 0
    assert "skipped" in checks["test_skipped"]["feedback"]
    assert "not today" in checks["test_skipped"]["feedback"]
    assert checks["test_plain_assert"]["score"] == 0
    assert "arithmetic is broken" in checks["test_plain_assert"]["feedback"]


def test_session_continues_after_broken_checks(outcomes):
    """Does the session go on to the next check after a check errors?"""
    result, results = outcomes
    for sid in ("alice", "bob"):
        after = checks_of(results, sid)["test_after"]
        assert after["score"] == after["max_score"] == 3
        assert after["feedback"] == ""
    result.stdout.fnmatch_lines(["*test_no_note[[]bob[]] PASSED*"])


def test_partial_gives_half_the_points(outcomes):
    """Does partial(0.5, ...) give half the points, with its message as feedback?"""
    _, results = outcomes
    half = checks_of(results, "alice")["test_half"]
    assert (half["score"], half["max_score"]) == (2.0, 4.0)
    assert half["feedback"] == "half of the layers are right"


def test_notes_appear_in_feedback_of_their_own_check_only(outcomes):
    """Does note() text reach the feedback of its check (passed or failed), and no other?"""
    _, results = outcomes
    checks = checks_of(results, "bob")
    assert checks["test_note_pass"]["score"] == 1
    assert checks["test_note_pass"]["feedback"] == "consider keras.Input(shape=(784,))"
    assert checks["test_note_fail"]["score"] == 0
    assert checks["test_note_fail"]["feedback"] == "the model is wrong\na remark before failing"
    assert checks["test_no_note"]["feedback"] == ""


def test_results_record_the_declarations(outcomes):
    """Does each recorded check carry its title, part, points and visibility?"""
    _, results = outcomes
    bug = checks_of(results, "alice")["test_bug"]
    assert bug["title"] == "A check with a bug"
    assert bug["part"] == "preprocessing"
    assert bug["visibility"] == "visible"
    assert bug["table"] == []
    assert results["collection_errors"] == []


# ---- visibility ------------------------------------------------------------------------------
HIDDEN = """
from pathlib import Path

import pytest


@pytest.mark.check(points=1, title="Shown to students")
def test_shown(student):
    pass


@pytest.mark.check(points=1, title="Hidden from students", visibility="hidden")
def test_secret(student):
    Path(__file__).with_name("hidden-check-ran").write_text(student.id)
"""


@pytest.mark.parametrize(
    ("visibility", "hidden_runs"),
    [("visible", False), pytest.param("all", True, marks=pytest.mark.full)],
    ids=["visible", "all"],
)
def test_visible_plan_never_runs_hidden_checks(pytester, visibility, hidden_runs):
    """Does visibility="visible" deselect hidden checks so that they never run at all?"""
    pytester.makepyfile(test_mlp=HIDDEN)
    plan = write_plan(pytester, {"carol": None}, visibility=visibility)
    result = run_checks(pytester, plan, "-v")
    marker = pytester.path / "hidden-check-ran"
    checks = checks_of(read_results(pytester), "carol")
    assert marker.exists() is hidden_runs
    assert ("test_secret" in checks) is hidden_runs
    assert checks["test_shown"]["score"] == 1
    if hidden_runs:
        assert marker.read_text() == "carol"
        result.assert_outcomes(passed=2)
    else:
        result.assert_outcomes(passed=1, deselected=1)


@pytest.mark.parametrize(
    "exit_fast", [False, pytest.param(True, marks=pytest.mark.full)], ids=["teardown", "exit-fast"]
)
def test_exit_fast_keeps_exit_code_results_and_summary(pytester, tmp_path, exit_fast):
    """Does the grader's fast exit (os._exit after the last hook) keep what a normal end
    gives: pytest's exit code (1: checks failed), the results file and the summary line?
    And does it skip the interpreter's teardown (an atexit handler runs only without it)?"""
    marker = tmp_path / "teardown-ran"
    pytester.makeconftest(
        f"import atexit, pathlib\natexit.register(pathlib.Path({str(marker)!r}).touch)\n"
    )
    pytester.makepyfile(test_preprocessing=OUTCOMES)
    folder = tmp_path / "alice"
    folder.mkdir()
    plan = write_plan(pytester, {"alice": folder}, exit_fast=exit_fast)
    result = run_checks(pytester, plan, "-rN")
    assert result.ret == 1
    assert "alice" in read_results(pytester)["submissions"]
    result.stdout.re_match_lines([r".*\d+ failed.* in [\d.]+s.*"])
    assert marker.exists() is not exit_fast


def test_exit_fast_keeps_collection_error_code(pytester):
    """A broken check declaration still ends the fast-exiting session with pytest's code 2."""
    pytester.makepyfile(test_mlp="import pytest\n\n\ndef test_bad(student):\n    pass\n")
    result = run_checks(pytester, write_plan(pytester, exit_fast=True))
    assert result.ret == 2
    assert "no @pytest.mark.check" in result.stdout.str() + result.stderr.str()
