"""Tests of grader/report/: golden pages, escaping, redaction, missing data, CSP and speed.

The fixture results under tests/goldens/results/ come from grading four real submissions
with the `quick` budget (the reference solution, the untouched stubs, a half-wrong solution
and a hostile one), trimmed to three misclassified digits per model. Rewrite the golden
pages with `pytest tests/test_report.py --update-goldens` and review the diff.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import re
import statistics
import time
from html.parser import HTMLParser
from pathlib import Path

import pytest

import grader.report
from grader.report import charts
from grader.report.results import (
    CheckResult,
    LayerInfo,
    LayerRow,
    Misclassified,
    ModelReport,
    SubmissionResult,
    from_dict,
    summarize,
)
from grader.report.views import trim_output

GOLDENS = Path(__file__).resolve().parent / "goldens"
FIXTURES = ("alice", "bob", "carol", "mallory")
PROBES = ("<script>alert(1)</script>", '"><img src=x onerror=alert(1)>')


def load(name: str) -> SubmissionResult:
    return from_dict(json.loads((GOLDENS / "results" / f"{name}.json").read_text()))


@pytest.fixture(scope="module")
def results() -> dict[str, SubmissionResult]:
    return {name: load(name) for name in FIXTURES}


@pytest.fixture
def update_goldens(request) -> bool:
    return request.config.getoption("--update-goldens")


def check_golden(path: Path, text: str, update: bool) -> None:
    if update:
        path.write_text(text)
        return
    assert path.exists(), f"{path.name} is missing: run pytest with --update-goldens"
    expected = path.read_text()
    assert text == expected, f"{path.name} changed: review, then rerun with --update-goldens"


class Tags(HTMLParser):
    """Every start tag with its attributes, and the text of <script> and <style> elements."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.raw: dict[str, list[str]] = {"script": [], "style": []}
        self._in: str | None = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in = tag if tag in self.raw else None

    def handle_data(self, data):
        if self._in:
            self.raw[self._in].append(data)

    def handle_endtag(self, tag):
        self._in = None


def assert_inert(html: str, scripts: int) -> Tags:
    """Only our own tags: no handlers, no external URLs, exactly `scripts` scripts."""
    parsed = Tags(html)
    assert sum(1 for tag, _ in parsed.tags if tag == "script") == scripts
    for tag, attrs in parsed.tags:
        assert not [a for a in attrs if a.startswith("on")], (tag, attrs)
        for a in ("src", "href"):
            value = attrs.get(a) or ""
            assert not re.match(r"\s*(https?:|//|javascript:)", value, re.I), (tag, attrs)
        if tag == "img":
            assert attrs["src"].startswith("data:image/png;base64,"), attrs
    return parsed


@pytest.mark.parametrize("name", ["carol", "mallory", "bob"], ids=str)
def test_student_report_golden(results, update_goldens, name):
    """Is the student report exactly as reviewed (half-wrong, hostile, not attempted)?"""
    check_golden(
        GOLDENS / f"student-{name}.html", grader.report.student(results[name]), update_goldens
    )


def test_dashboard_golden(results, update_goldens):
    """Is the class dashboard exactly as reviewed?"""
    everyone = list(results.values())
    check_golden(
        GOLDENS / "dashboard.html",
        grader.report.dashboard(everyone, summarize(everyone)),
        update_goldens,
    )


def test_public_api_is_what_the_pipeline_calls():
    """Does grader.report expose exactly student(), dashboard() and similarity(), the three
    pages the pipeline writes?"""
    assert sorted(grader.report.__all__) == ["dashboard", "similarity", "student"]
    assert all(callable(getattr(grader.report, name)) for name in grader.report.__all__)


def hostile() -> SubmissionResult:
    """A result with a probe in every student-controlled field."""
    a, b = PROBES
    row = LayerRow(
        1,
        LayerInfo("Dense(512, relu)", "(512,)", 401920),
        LayerInfo(f"Dense({a})", f"({b})", 7),
        matches=False,
        first_divergence=True,
    )
    return SubmissionResult(
        id=f"{a}{b}&amp;",
        assignment="mnist",
        status="crash",
        status_detail=f"the submission crashed: {a}",
        checks=(
            CheckResult(
                "test_mlp_layers",
                "MLP layer sequence",
                "mlp",
                5,
                0,
                feedback=f"build_mlp() raised ValueError: {a}\n{b}",
                table=(row,),
            ),
        ),
        models=(
            ModelReport(
                "mlp",
                history={f"val_{a}": [0.1, 0.2], a: [0.3, 0.4], b: [float("nan"), 1.0]},
                confusion=tuple(tuple(3 if i == j else 0 for j in range(10)) for i in range(10)),
                misclassified=(Misclassified(0, 1, 2, f'AAAA"{b}'),),
                layers=(row,),
            ),
        ),
        stdout=f"{a}\n{b}\n",
        stderr=f"Traceback: {b}",
        settings={
            "title": a, "dataset": b, "versions": {a: b}, "notes": [a], "noun": a, "images": True,
            "parts": {"mlp": b}, "model_titles": {"mlp": a},
        },  # fmt: skip
        timings={"run": 1.0},
        graded_at=b,
    )


def test_student_derived_text_is_escaped():
    """Do probes in ids, output, feedback, layers and metric names stay text, never tags?"""
    html = grader.report.student(hostile())
    for probe in PROBES:
        assert probe not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in html
    assert "&amp;amp;" in html  # an entity in an id is shown as typed, not decoded
    parsed = assert_inert(html, scripts=0)
    srcs = [attrs["src"] for tag, attrs in parsed.tags if tag == "img"]
    assert srcs == ['data:image/png;base64,AAAA"' + PROBES[1]]  # stayed inside the attribute


def test_dashboard_escapes_ids_and_links_to_reports():
    """Are ids escaped on the dashboard, and each link one URL-encoded path segment?"""
    odd = dataclasses.replace(hostile(), id='a b/../c?#%"<x>')
    everyone = [hostile(), odd]
    html = grader.report.dashboard(everyone, summarize(everyone))
    for probe in PROBES:
        assert probe not in html
    parsed = assert_inert(html, scripts=1)
    hrefs = [attrs["href"] for tag, attrs in parsed.tags if tag == "a"]
    assert "a%20b%2F..%2Fc%3F%23%25%22%3Cx%3E/report.html" in hrefs
    assert all(h.endswith("/report.html") and h.count("/") == 1 for h in hrefs)


@pytest.mark.parametrize("page", ["student", "dashboard"], ids=str)
def test_content_security_policy_allows_only_the_inline_style_and_script(results, page):
    """Does the CSP forbid network loads and allow exactly our inline style and script?"""
    everyone = list(results.values())
    html = (
        grader.report.student(results["carol"])
        if page == "student"
        else grader.report.dashboard(everyone, summarize(everyone))
    )
    parsed = Tags(html)
    metas = [a for t, a in parsed.tags if t == "meta" and a.get("http-equiv")]
    assert len(metas) == 1 and html.index("Content-Security-Policy") < html.index("<style>")
    policy = dict(
        (d.split()[0], d.split()[1:]) for d in metas[0]["content"].split(";") if d.strip()
    )
    assert policy["default-src"] == ["'none'"] and policy["img-src"] == ["data:"]

    def source(text: str) -> str:
        return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"

    assert policy["style-src"] == [source("".join(parsed.raw["style"]))]
    scripts = "".join(parsed.raw["script"])
    assert policy["script-src"] == ([source(scripts)] if page == "dashboard" else ["'none'"])


def test_hidden_checks_show_their_points_only(results):
    """Does a hidden check show 'hidden check: N points' and never its title or feedback?"""
    secret = CheckResult(
        "test_secret_probe",
        "secret title 7f3a",
        "mlp",
        3,
        1,
        visibility="hidden",
        feedback="secret feedback 9c2e",
        table=(
            LayerRow(
                1, LayerInfo("Secret(1)", "(1,)", 1), None, matches=False, first_divergence=True
            ),
        ),
    )
    carol = results["carol"]
    result = dataclasses.replace(carol, checks=carol.checks + (secret,))
    html = grader.report.student(result)
    hidden = [c for c in result.checks if c.visibility == "hidden"]
    assert len(hidden) == 2
    for check in hidden:
        assert check.name not in html and check.title not in html
        if check.feedback:
            assert check.feedback not in html
    assert "Secret(1)" not in html
    assert "hidden check: 2 points" in html and "hidden check: 3 points" in html
    assert re.search(r'class="num">1 / 3</td>', html)


def test_missing_data_is_shown_as_not_available(results):
    """Does a timed-out run without models, history or checks render 'not available' states?"""
    timeout = dataclasses.replace(
        results["bob"],
        status="timeout",
        status_detail="stopped after 600 s",
        checks=(),
        models=(),
        stdout="",
        stderr="",
        settings={},
        graded_at="",
    )
    html = grader.report.student(timeout)
    assert "stopped: took too long" in html and "stopped after 600 s" in html
    assert "no model results: the submission stopped: took too long." in html
    assert "(nothing)" in html and "Not available" in html
    html = grader.report.student(results["mallory"])  # curves, but no layers or predictions
    assert html.count("<svg viewBox") == 4  # loss and accuracy of both models
    assert html.count("could not be computed") == 2
    assert html.count("your model could not be built") == 2
    html = grader.report.student(results["bob"])
    assert html.count("nothing to show for this model") == 2
    nobody = grader.report.dashboard([], summarize([]))
    assert "no submission was graded" in nobody and "no scores yet" in nobody


def test_captured_output_is_trimmed():
    """Is long output cut to its first and last lines, with the count of lines left out?"""
    text = "\n".join(f"line {i}" for i in range(1000)) + "\n" + "x" * 5000
    trimmed = trim_output(text)
    assert trimmed["head"].startswith("line 0\n") and trimmed["omitted"] == 1001 - 200
    assert trimmed["tail"].endswith(" …") and len(trimmed["tail"].splitlines()[-1]) < 500
    assert trim_output("a\nb\n") == {"head": "a\nb", "omitted": 0, "tail": ""}


def test_line_chart_geometry_breaks_at_nan_and_keeps_single_epochs():
    """Are NaN epochs gaps in the line, and a one-epoch history a single point?"""
    chart = charts.line_chart({"training": [1.0, float("nan"), 0.5, 0.25]})
    (series,) = chart["series"]
    assert [len(s) for s in series["segments"]] == [1, 2] and series["missing"] == 1
    box = chart["box"]
    xs = [p[0] for p in series["points"]]
    assert xs[0] == box["x0"] and xs[-1] == box["x1"]
    ys = [p[1] for p in series["points"]]
    assert ys == sorted(ys) and all(box["y1"] <= y <= box["y0"] for y in ys)
    single = charts.line_chart({"training": [0.5]})
    assert single["series"][0]["points"][0][0] == box["mid_x"]
    assert charts.line_chart({"training": [float("nan")]}) is None


def test_histogram_counts_full_marks_in_the_last_bin():
    """Does a perfect score land in the top bin and every score in exactly one bin?"""
    h = charts.histogram([0, 9.99, 10, 55, 100, 100], 100)
    assert [b["count"] for b in h["bars"]] == [2, 1, 0, 0, 0, 1, 0, 0, 0, 2]
    assert h["bars"][-1]["range"] == "90–100" and h["xticks"][-1][1] == "100"
    assert charts.histogram([1], 0) is None


def test_metric_groups_and_ticks():
    """Are loss and accuracy charted first, each with its validation series?"""
    groups = charts.metric_groups(
        {"val_accuracy": [1], "auc": [1], "loss": [1], "accuracy": [1], "val_loss": [1]}
    )
    assert [(k, list(s)) for k, s in groups] == [
        ("loss", ["training", "validation"]),
        ("accuracy", ["training", "validation"]),
        ("auc", ["training"]),
    ]
    assert charts.nice_ticks(0.26, 0.89) == [0.2, 0.4, 0.6, 0.8, 1.0]
    assert charts.nice_ticks(0, 3, integer=True) == [0, 1, 2, 3]
    assert [charts.heat_level(n, 100) for n in (0, 1, 50, 100)] == [0, 1, 4, 8]


def test_rendering_a_class_of_100_is_fast(results):
    """Do 100 student reports and the dashboard render in well under 10 s?"""
    carol = results["carol"]
    everyone = [dataclasses.replace(carol, id=f"student{i:03d}") for i in range(100)]
    summary = summarize(everyone)
    runs = []
    for _ in range(5):
        start = time.perf_counter()
        pages = [grader.report.student(r) for r in everyone]
        pages.append(grader.report.dashboard(everyone, summary))
        runs.append(time.perf_counter() - start)
    median = statistics.median(runs)
    print(f"\nrendering 100 student reports + dashboard: median {median:.3f} s of 5 runs")
    assert len(pages) == 101 and median < 10


KINDS = GOLDENS / "kinds"
"""Results of the tabular labs' reference copies under the `quick` budget: a binary model
(cancer, `dora`) and a regression (diabetes, `ellis`)."""


def load_kind(name: str) -> SubmissionResult:
    return from_dict(json.loads((KINDS / f"{name}.json").read_text()))


@pytest.mark.parametrize("kind", ["binary", "regression"])
def test_task_kind_report_golden(update_goldens, kind):
    """Is the report of a binary and of a regression model exactly as reviewed?"""
    page = grader.report.student(load_kind(kind))
    check_golden(GOLDENS / f"student-{kind}.html", page, update_goldens)


def test_binary_report_shows_a_2x2_matrix_with_precision_and_recall():
    result = load_kind("binary")
    page = grader.report.student(result)
    model = result.models[0]
    assert len(model.confusion) == 2 and all(len(row) == 2 for row in model.confusion)
    (tp_fn, fp_tn) = model.confusion[1], model.confusion[0]
    precision = tp_fn[1] / (tp_fn[1] + fp_tn[1])
    assert model.rates["precision"] == pytest.approx(precision)
    assert 'id="rates-classifier"' in page and "precision <strong>" in page
    assert page.count("<table class=\"cm\">") == 1
    assert "Misclassified" not in page and "data:image/png" not in page  # not pictures
    assert "Test accuracy of your model" in page


def test_regression_report_shows_scatter_residuals_and_errors():
    result = load_kind("regression")
    page = grader.report.student(result)
    model = result.models[0]
    assert model.test_accuracy is None and model.metric == "mean absolute error"
    assert "Confusion matrix" not in page and "Misclassified" not in page
    assert "Test mean absolute error of your model" in page and "lower is better" in page
    assert '<svg class="scatter"' in page and '<line class="diagonal"' in page
    assert page.count('<circle class="dot point"') == len(model.points) == 88
    bars = [int(n) for n in re.findall(r"predicted − true: (\d+) examples", page)]
    assert sum(bars) == len(model.residuals) == 88
    table = page[page.index('id="errors-regressor"') :]
    assert f"{model.errors['mae']:.4g}" in table
    assert f"{model.errors['reference_rmse']:.4g}" in table


def test_demo_index_links_every_dashboard():
    """Does the demo's index page link each assignment's dashboard, escaped, with its task?"""
    page = grader.report.render.index(
        [
            {"name": "cancer", "title": "Breast <cancer>", "tasks": "binary", "students": 5,
             "mean": 81.25, "max": 100.0},
            {"name": "diabetes", "title": "Diabetes", "tasks": "regression", "students": 5,
             "mean": 85.0, "max": 100.0},
        ]
    )  # fmt: skip
    assert 'href="cancer/index.html"' in page and 'href="diabetes/index.html"' in page
    assert "Breast &lt;cancer&gt;" in page and "<cancer>" not in page
    assert "81.25 / 100" in page and "regression" in page
