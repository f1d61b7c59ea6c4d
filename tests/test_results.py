"""Are results plain frozen data, scored by pure functions, and exported faithfully?"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from grader.report.exports import grades_csv, gradescope_results, junit_xml
from grader.report.results import (
    PHASE1_STATUSES,
    CheckResult,
    LayerInfo,
    LayerRow,
    Misclassified,
    ModelReport,
    SubmissionResult,
    from_dict,
    linear_credit,
    max_score,
    part_scores,
    redact_hidden,
    score,
    summarize,
    to_dict,
    visible_checks,
)

jsonschema = pytest.importorskip("jsonschema")

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "grader" / "schemas" / "results.schema.json"

ROW = LayerRow(
    1,
    LayerInfo("Dense(512, relu)", "(512,)", 401920),
    LayerInfo("Dense(256, relu)", "(256,)", 200960),
    matches=False,
    first_divergence=True,
)
ROW_MISSING = LayerRow(2, LayerInfo("Dense(10, softmax)", "(10,)", 5130), None, False)

SETTINGS = {
    "grader_version": "0.1.0",
    "versions": {"python": "3.11.7", "numpy": "2.4.6", "keras": "3.15.1", "tensorflow": "2.21.0"},
    "cpu": {
        "vendor": "AuthenticAMD",
        "model": "AMD EPYC",
        "isa": ["avx", "avx2", "fma"],
        "onednn_max_cpu_isa": None,
    },  # fmt: skip
    "seed": 1234,
    "threads": 2,
    "dataset": "bundled (5,000 MNIST digits, sha256 63818dc867dd)",
    "data_source": "bundled",
    "budget": {
        "name": "quick",
        "train_samples": 1000,
        "mlp": {"epochs": 3, "batch_size": 128, "validation_split": 0.2},
        "cnn": {"epochs": 2, "batch_size": 200, "validation_split": 0.0},
    },
    "visibility": "all",
}


def check(name, part, points, earned, visibility="visible", feedback="", table=()):
    return CheckResult(
        name=name, title=f"Title of {name}", part=part, max_score=points, score=earned,
        visibility=visibility, feedback=feedback, table=table,
    )  # fmt: skip


def result(sid="alice", checks=None, status="ok", **kwargs) -> SubmissionResult:
    if checks is None:
        checks = (
            check("test_one_hot", "preprocessing", 5, 5),
            check("test_flatten_test", "preprocessing", 2, 0, "hidden", "secret reason"),
            check("test_mlp_layers", "mlp", 5, 0, feedback="layer 1 differs", table=(ROW,)),
            check("test_mlp_test_accuracy", "training", 15, 7.5, feedback="half"),
            check("test_cnn_compile", "cnn", 3, 3),
        )
    defaults = {
        "assignment": "mnist",
        "content_hash": "ab" * 32,
        "timings": {"run": 10.25, "check": 2.5},
        "settings": SETTINGS,
        "models": (
            ModelReport("mlp", {"loss": [0.5, 0.25]}, 0.83, 0.85),
            ModelReport("cnn", {}, None, 0.757),
        ),
        "graded_at": "2026-01-01T00:00:00+00:00",
    }
    return SubmissionResult(id=sid, status=status, checks=tuple(checks), **{**defaults, **kwargs})


# ---- scoring ---------------------------------------------------------------------------------
def test_score_and_max_score_count_hidden_checks():
    """Do score() and max_score() add up every check, hidden ones included?"""
    r = result()
    assert score(r) == 5 + 0 + 0 + 7.5 + 3
    assert max_score(r) == 5 + 2 + 5 + 15 + 3


def test_scores_are_rounded_sums():
    """Are float sums rounded, so 0.1 + 0.2 points is 0.3, not 0.30000000000000004?"""
    r = result(checks=[check("a", "mlp", 0.1, 0.1), check("b", "mlp", 0.2, 0.2)])
    assert score(r) == 0.3 and max_score(r) == 0.3


def test_no_checks_scores_zero():
    """Does a submission without checks score 0 of 0?"""
    r = result(checks=[])
    assert (score(r), max_score(r), part_scores(r)) == (0, 0, {})


def test_part_scores_in_part_order():
    """Are part scores (earned, available) in the checks' order (the assignment's, as
    assemble() sorts them), with empty parts left out?"""
    r = result(
        checks=[
            check("m", "mlp", 3, 3),
            check("m2", "mlp", 1, 0.5),
            check("z", "cnn", 0, 0),
            check("t", "training", 4, 1),
            check("x", "extra", 2, 2),
        ]
    )
    scores = part_scores(r)
    assert list(scores) == ["mlp", "training", "extra"]
    assert scores == {"mlp": (3.5, 4.0), "training": (1.0, 4.0), "extra": (2.0, 2.0)}


def test_passed_means_full_marks():
    """Is a check passed only with full marks (a zero-point check always)?"""
    assert check("a", "mlp", 4, 4).passed
    assert not check("a", "mlp", 4, 3.9999).passed
    assert check("a", "mlp", 0, 0).passed


@pytest.mark.parametrize(
    ("value", "full_at", "band", "credit"),
    [
        (0.95, 0.90, 0.10, 1.0),
        (0.90, 0.90, 0.10, 1.0),
        (0.85, 0.90, 0.10, 0.5),
        (0.80, 0.90, 0.10, 0.0),
        (0.10, 0.90, 0.10, 0.0),
        (0.89, 0.90, 0.0, 0.0),
        (0.90, 0.90, 0.0, 1.0),
        (0.89, 0.90, -0.1, 0.0),
        (0.0, 0.0, 0.1, 1.0),
    ],
    ids=["above", "at-threshold", "middle-of-band", "bottom-of-band", "far-below", "no-band",
         "no-band-at-threshold", "negative-band", "zero-threshold"],
)  # fmt: skip
def test_linear_credit(value, full_at, band, credit):
    """Is credit 1 from the threshold up, falling linearly to 0 across the band below it?"""
    assert linear_credit(value, full_at, band) == pytest.approx(credit)


def test_linear_credit_stays_in_unit_interval():
    """Is linear credit always within [0, 1] and never decreasing in the value?"""
    values = [i / 100 for i in range(101)]
    credits = [linear_credit(v, 0.8, 0.07) for v in values]
    assert all(0.0 <= c <= 1.0 for c in credits)
    assert credits == sorted(credits)


def test_redact_hidden_keeps_points_only():
    """Does a hidden check keep its points but lose its title, feedback and table?"""
    hidden = check("h", "mlp", 2, 1, "hidden", "the secret test data has 17 rows", (ROW,))
    redacted = redact_hidden(hidden)
    assert (redacted.score, redacted.max_score, redacted.name) == (1, 2, "h")
    assert (redacted.title, redacted.feedback, redacted.table) == ("hidden check", "", ())
    assert hidden.feedback  # the original is untouched: results are frozen
    visible = check("v", "mlp", 2, 1, feedback="shown")
    assert redact_hidden(visible) is visible


def test_visible_checks():
    """Are only the visible checks visible?"""
    assert [c.name for c in visible_checks(result())] == [
        "test_one_hot", "test_mlp_layers", "test_mlp_test_accuracy", "test_cnn_compile",
    ]  # fmt: skip


def test_summarize_class():
    """Does summarize() give mean, median, max, every status and per-check pass rates?"""
    full = [check("a", "mlp", 10, 10), check("b", "cnn", 10, 10)]
    half = [check("a", "mlp", 10, 10), check("b", "cnn", 10, 0)]
    none = [check("a", "mlp", 10, 0), check("b", "cnn", 10, 0)]
    summary = summarize(
        [result("a", full), result("b", half), result("c", none, "timeout"),
         result("d", half, "crash")]
    )  # fmt: skip
    assert summary.students == 4
    assert summary.mean == 10.0 and summary.median == 10.0 and summary.max_score == 20
    assert set(summary.by_status) == set(PHASE1_STATUSES)
    assert summary.by_status == {
        "ok": 2, "crash": 1, "timeout": 1, "memory": 0, "output_limit": 0, "sandbox_error": 0,
    }  # fmt: skip
    assert summary.pass_rates == {"a": 0.75, "b": 0.25}


def test_summarize_nobody():
    """Does an empty class summarize to zeros instead of failing?"""
    summary = summarize([])
    assert (summary.students, summary.mean, summary.median, summary.max_score) == (0, 0, 0, 0)
    assert summary.pass_rates == {}


def test_results_are_frozen():
    """Can a result not be changed once made?"""
    r = result()
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.status = "ok"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.checks[0].score = 100  # type: ignore[misc]


# ---- serialization ---------------------------------------------------------------------------
def full_result() -> SubmissionResult:
    """A result with every field set, nested values included."""
    return result(
        checks=(
            check("test_mlp_layers", "mlp", 5, 0, "visible", "layers differ", (ROW, ROW_MISSING)),
            check("test_one_hot", "preprocessing", 5, 5),
        ),
        models=(
            ModelReport(
                name="mlp",
                history={"loss": [0.9, 0.5], "accuracy": [0.7, 0.8]},
                test_accuracy=0.81,
                reference_accuracy=0.83,
                confusion=((3, 1), (0, 4)),
                misclassified=(Misclassified(7, 1, 0, "iVBORw0KGgo="),),
                layers=(ROW, ROW_MISSING),
            ),
        ),
        status_detail="",
        isolation="limited",
        stdout="printed\n",
        stderr="warned\n",
        settings={**SETTINGS, "notes": ["a note"]},
    )


def test_to_dict_from_dict_round_trip():
    """Does from_dict(to_dict(r)) give back an equal result, nested rows and models too?"""
    original = full_result()
    assert from_dict(to_dict(original)) == original


def test_round_trip_through_json():
    """Does a result survive JSON (tuples become lists and come back as tuples)?"""
    original = full_result()
    rebuilt = from_dict(json.loads(json.dumps(to_dict(original))))
    assert rebuilt == original
    assert isinstance(rebuilt.checks[0].table[1], LayerRow)
    assert rebuilt.checks[0].table[1].actual is None
    assert rebuilt.models[0].confusion == ((3, 1), (0, 4))
    assert isinstance(rebuilt.models[0].misclassified[0], Misclassified)


@pytest.mark.parametrize(
    "damage",
    [
        lambda d: d.pop("id"),
        lambda d: d["checks"][0].pop("score"),
        lambda d: d["checks"][0].update(unknown_key=1),
        lambda d: d["checks"][0]["table"][0].pop("matches"),
    ],
    ids=["no-id", "check-without-score", "unknown-key", "row-without-matches"],
)
def test_from_dict_rejects_malformed(damage):
    """Does from_dict raise KeyError/TypeError on a malformed dict rather than guess?"""
    data = json.loads(json.dumps(to_dict(full_result())))
    damage(data)
    with pytest.raises((KeyError, TypeError)):
        from_dict(data)


# ---- Gradescope results.json -----------------------------------------------------------------
@pytest.fixture(scope="module")
def validator():
    schema = json.loads(SCHEMA_PATH.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


@pytest.mark.parametrize(
    "r",
    [result(), full_result(), result(checks=[], status="sandbox_error", models=(), content_hash="",
                                     isolation="none", status_detail="the grader failed")],
    ids=["typical", "every-field", "sandbox-error"],
)  # fmt: skip
def test_gradescope_results_validate(validator, r):
    """Does the Gradescope results.json validate against grader/schemas/results.schema.json?"""
    exported = json.loads(json.dumps(gradescope_results(r)))
    errors = [f"{list(e.path)}: {e.message}" for e in validator.iter_errors(exported)]
    assert errors == []


def test_gradescope_results_content():
    """Are score, tests (in part order, hidden ones marked) and extra_data what Gradescope needs?"""
    exported = gradescope_results(result())
    assert exported["score"] == 15.5 and exported["max_score"] == 30
    assert exported["execution_time"] == 12.75
    tests = exported["tests"]
    parts = [t["tags"][0] for t in tests]
    first = {part: parts.index(part) for part in parts}
    assert parts == sorted(parts, key=first.__getitem__)  # each part's checks together
    by_name = {t["tags"][1]: t for t in tests}
    assert by_name["test_flatten_test"]["visibility"] == "hidden"
    assert by_name["test_mlp_layers"] | {"number": "?"} == {
        "name": "Title of test_mlp_layers", "number": "?", "score": 0, "max_score": 5,
        "status": "failed", "output": "layer 1 differs", "visibility": "visible",
        "tags": ["mlp", "test_mlp_layers"],
    }  # fmt: skip
    assert by_name["test_mlp_test_accuracy"]["status"] == "failed"  # partial is not passed
    assert by_name["test_one_hot"]["status"] == "passed"
    assert [t["number"] for t in tests] == [str(i) for i in range(1, len(tests) + 1)]
    extra = exported["extra_data"]
    assert extra["accuracies"] == {
        "mlp": {"student": 0.83, "reference": 0.85},
        "cnn": {"student": None, "reference": 0.757},
    }
    assert extra["submission_status"] == "ok" and extra["content_hash"] == "ab" * 32
    assert "MLP test accuracy: 83.00% (reference 85.00%)" in exported["output"]


@pytest.mark.parametrize(
    ("damage", "where"),
    [
        (lambda d: d["tests"][0].update(status="error"), "status"),
        (lambda d: d["tests"][0].update(visibility="secret"), "visibility"),
        (lambda d: d["tests"][0].pop("max_score"), "max_score"),
        (lambda d: d["tests"][0].update(scroe=1), "scroe"),
        (lambda d: d.pop("execution_time"), "execution_time"),
        (lambda d: d["extra_data"]["versions"].pop("keras"), "keras"),
        (lambda d: d["extra_data"].pop("seed"), "seed"),
        (lambda d: d["extra_data"].pop("cpu"), "cpu"),
        (lambda d: d["extra_data"].update(submission_status="great"), "great"),
        (lambda d: d["extra_data"].update(isolation="docker"), "docker"),
        (lambda d: d["extra_data"].update(content_hash="not a hash"), "not a hash"),
        (lambda d: d["extra_data"]["accuracies"]["mlp"].update(student=83), "83"),
    ],
    ids=["test-status", "test-visibility", "test-max-score", "typo", "execution-time",
         "keras-version", "seed", "cpu", "submission-status", "isolation", "content-hash",
         "accuracy-percent"],
)  # fmt: skip
def test_schema_rejects_broken_results(validator, damage, where):
    """Does the schema catch what Gradescope or our readers would choke on?"""
    exported = json.loads(json.dumps(gradescope_results(result())))
    damage(exported)
    errors = list(validator.iter_errors(exported))
    assert errors, "the schema accepted a broken results.json"
    assert any(where in e.message or where in str(list(e.path)) for e in errors)


# ---- grades.csv ------------------------------------------------------------------------------
def test_grades_csv_format():
    """Is grades.csv `id,score,max_score,status`, one row per student sorted by id?"""
    text = grades_csv(
        [result("bob", [check("a", "mlp", 10, 2.5)], "timeout"),
         result("alice", [check("a", "mlp", 10, 10)]),
         result("carol, jr", [check("a", "mlp", 10, 0)], "crash")]
    )  # fmt: skip
    assert text.splitlines()[0] == "id,score,max_score,status"
    assert list(csv.reader(io.StringIO(text)))[1:] == [
        ["alice", "10", "10", "ok"],
        ["bob", "2.5", "10", "timeout"],
        ["carol, jr", "0", "10", "crash"],
    ]


@pytest.mark.parametrize(
    "sid",
    ["=HYPERLINK(\"http://x\")", "+1", "-1+2", "@SUM(A1)", "\tcmd",
     "\rcmd"],
    ids=["equals", "plus", "minus", "at", "tab", "carriage-return"],
)  # fmt: skip
def test_grades_csv_defuses_formulas(sid):
    """Is an id a spreadsheet would run as a formula written with a leading quote?"""
    text = grades_csv([result(sid)])
    (row,) = list(csv.reader(io.StringIO(text)))[1:]
    assert row[0] == "'" + sid


def test_grades_csv_leaves_plain_ids_alone():
    """Are ordinary ids (with inner = or -) left exactly as they are?"""
    text = grades_csv([result("anne-marie"), result("x=1")])
    assert [row[0] for row in list(csv.reader(io.StringIO(text)))[1:]] == ["anne-marie", "x=1"]


# ---- junit.xml -------------------------------------------------------------------------------
def test_junit_one_suite_per_student():
    """Does junit.xml parse, with one testsuite per student and one testcase per check?"""
    results = [result("bob", status="crash", status_detail="exit 1"), result("alice")]
    root = ET.fromstring(junit_xml(results))
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == ["alice", "bob"]
    for suite in suites:
        assert suite.get("tests") == "5" and len(suite.findall("testcase")) == 5
        assert suite.get("failures") == "3"
        props = {p.get("name"): p.get("value") for p in suite.iter("property")}
        assert props["score"] == "15.5" and props["max_score"] == "30"
    alice = suites[0]
    failure = alice.find("testcase[@name='test_mlp_layers']/failure")
    assert failure.get("message") == "0/5: Title of test_mlp_layers"
    assert failure.text == "layer 1 differs"
    assert alice.find("testcase[@name='test_one_hot']/failure") is None
    assert alice.find("testcase[@name='test_one_hot']").get("classname") == "alice.preprocessing"
    assert alice.find("system-err") is None
    assert suites[1].find("system-err").text == "crash: exit 1"


def test_junit_totals_and_times():
    """Does junit.xml carry the class's totals on <testsuites> and each check's time?"""
    timed = dataclasses.replace(check("test_one_hot", "preprocessing", 5, 0), seconds=0.25)
    results = [result("alice"), result("bob", [timed], timings={"run": 1.5, "check": 0.5})]
    root = ET.fromstring(junit_xml(results))
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("6", "4", "0")
    assert float(root.get("time")) == pytest.approx(10.25 + 2.5 + 1.5 + 0.5)
    bob = root.find("testsuite[@name='bob']")
    assert bob.find("testcase").get("time") == "0.250"
    assert bob.get("time") == "2.000"


def test_junit_survives_hostile_feedback():
    """Does junit.xml still parse when feedback holds control characters and markup?"""
    nasty = "\x00\x1b[31mred</failure><x>&amp;\ufffe\ud800 ok"
    r = result("x", [check("a", "mlp", 1, 0, feedback=nasty)])
    root = ET.fromstring(junit_xml([r]))
    text = root.find("testsuite/testcase/failure").text
    assert text == "[31mred</failure><x>&amp; ok"


def test_junit_empty_class():
    """Does an empty class give an empty, valid testsuites document?"""
    root = ET.fromstring(junit_xml([]))
    assert root.tag == "testsuites" and list(root) == []


def test_results_json_says_a_cause_once():
    """Is an import error shown once in results.json, with later checks pointing to it, and a
    hidden check never the one pointed to?"""
    trace = (
        "\nimporting preprocessing failed with ImportError: cannot import name 'np_utils'"
        '\nYour code, where it happened:\nFile "preprocessing.py", line 7, in <module>'
    )
    checks = (
        check(
            "test_flatten_test",
            "preprocessing",
            2,
            0,
            "hidden",
            "flatten_and_scale() raised ImportError" + trace,
        ),  # fmt: skip
        check("test_flatten", "preprocessing", 4, 0, feedback="flatten_and_scale() raised" + trace),
        check("test_one_hot", "preprocessing", 5, 0, feedback="one_hot() raised" + trace),
        check("test_mlp_layers", "mlp", 5, 0, feedback="build_mlp() raised ValueError: lr"),
        check("test_mlp_compile", "mlp", 3, 0, feedback="build_mlp() raised ValueError: lr"),
    )
    tests = gradescope_results(result(checks=checks))["tests"]
    outputs = [t["output"] for t in tests]
    number = {t["name"]: t["number"] for t in tests}["Title of test_mlp_layers"]
    assert sum("cannot import name 'np_utils'" in o for o in outputs) == 2  # hidden + first
    pointer = [o for o in outputs if o.startswith("one_hot() raised")][0]
    assert "importing preprocessing failed: the error is shown under check" in pointer
    assert "Title of test_flatten)" in pointer
    assert [o for o in outputs if o.startswith("Same cause as check")] == [
        f"Same cause as check {number} (Title of test_mlp_layers): see there."
    ]
    assert sum(o.startswith("build_mlp() raised ValueError") for o in outputs) == 1
