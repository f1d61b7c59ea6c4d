"""Do the reports work in a real browser? Headless Chromium loads them from file://.

The pages are rendered from the fixture results of tests/goldens/results/ (plus a hostile
copy whose id is an XSS probe); full-page screenshots go to test-artifacts/screenshots/.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

import grader.report
from grader.report.results import from_dict, summarize

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--headless=new",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
REPO = Path(__file__).resolve().parent.parent
SCREENSHOTS = REPO / "test-artifacts" / "screenshots"
RESULTS = Path(__file__).resolve().parent / "goldens" / "results"
PROBES = ("<script>alert(1)</script>", '"><img src=x onerror=alert(1)>')
PROBE_ID = "<b>bold" + PROBES[1]  # also a valid directory name: no slash in it
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is not installed"),
]


@pytest.fixture(scope="session")
def site(tmp_path_factory) -> Path:
    """The dashboard and every student report, written as the pipeline lays them out."""
    out = tmp_path_factory.mktemp("site")
    results = [from_dict(json.loads(p.read_text())) for p in sorted(RESULTS.glob("*.json"))]
    mallory = next(r for r in results if r.id == "mallory")
    results.append(dataclasses.replace(mallory, id=PROBE_ID))
    for r in results:
        (out / r.id).mkdir()
        (out / r.id / "report.html").write_text(grader.report.student(r))
    (out / "index.html").write_text(grader.report.dashboard(results, summarize(results)))
    for kind in ("binary", "regression"):  # one page each: another assignment's class
        result = from_dict(json.loads((RESULTS.parent / "kinds" / f"{kind}.json").read_text()))
        (out / kind).mkdir()
        (out / kind / "report.html").write_text(grader.report.student(result))
    _course_dashboard(out, results)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return out


def _course_dashboard(out: Path, results) -> None:
    """course.html: the dashboard of a course (grader/course.py): a roster whose names
    include a probe, one student missing, one similar pair, one override."""
    from grader import course

    (out / "roster.csv").write_text(
        "id,name,email,section\nalice,Alice L,alice@x.edu,A\n"
        f'carol,"{PROBES[0]}",carol@x.edu,B\ndora,Dora Absent,dora@x.edu,B\n'
    )
    (out / course.SIMILARITY).write_text(json.dumps({
        "compared": 2, "seconds": 0.1, "flag": 0.7,
        "pairs": [{"a": "alice", "b": "carol", "score": 0.93, "shared": 40}],
    }))  # fmt: skip
    results = [*results, dataclasses.replace(results[0], id="erin", status="crash")]
    view = course.class_view(out, results)
    page = grader.report.render.dashboard(results, summarize(results), view)
    (out / "course.html").write_text(page)


@pytest.fixture(scope="session")
def browser():
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()


class Watched:
    """A page with everything that went wrong on it: console errors, page errors, dialogs."""

    def __init__(self, browser, viewport: dict):
        self.page = browser.new_page(viewport=viewport)
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.page.on(
            "console",
            lambda m: self.errors.append(f"console: {m.text}") if m.type == "error" else None,
        )
        self.page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))
        self.page.on("dialog", self._dialog)
        self.page.on("request", self._request)

    def _dialog(self, dialog) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def _request(self, request) -> None:
        if not request.url.startswith(("file:", "data:")):
            self.errors.append(f"network request: {request.url}")

    def open(self, path: Path) -> Watched:
        self.page.goto(path.as_uri())
        self.page.wait_for_load_state("load")
        return self

    def shot(self, name: str) -> None:
        self.page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)

    def assert_clean(self) -> None:
        assert self.errors == [] and self.dialogs == []
        self.page.close()


@pytest.fixture
def open_page(browser, site):
    pages: list[Watched] = []

    def opener(relative: str, viewport: dict = DESKTOP) -> Watched:
        watched = Watched(browser, viewport).open(site / relative)
        pages.append(watched)
        return watched

    yield opener
    for watched in pages:
        if not watched.page.is_closed():
            watched.page.close()


def test_student_report_shows_score_checks_charts_matrix_and_digits(open_page):
    """Does a full report load cleanly with all its parts, images decoded?"""
    w = open_page("carol/report.html")
    page = w.page
    assert page.inner_text("#student") == "carol"
    assert page.inner_text("#score").replace("\n", " ") == "61 / 100 points"
    assert page.locator("table.checks").count() == 4
    checks = json.loads((RESULTS / "carol.json").read_text())["checks"]
    assert page.locator("table.checks tbody tr").count() == len(checks)
    assert page.locator("tr.hidden-check").first.inner_text().startswith("hidden check: 2 points")
    assert page.locator(".chart svg polyline").count() >= 6  # 4 charts, 2 with validation
    assert page.locator(".chart svg").count() == 4
    assert page.locator("table.cm").count() == 2
    assert page.locator("table.cm").first.locator("tbody td:not(.recall)").count() == 100
    assert page.locator("tr.divergence").count() == 2
    widths = page.eval_on_selector_all(".digits img", "imgs => imgs.map(i => i.naturalWidth)")
    assert len(widths) == 6 and all(w > 0 for w in widths)
    w.shot("student-carol")
    w.assert_clean()


@pytest.mark.parametrize("name", ["alice", "bob", "mallory"], ids=str)
def test_other_reports_load_cleanly(open_page, name):
    """Do the full-marks, not-attempted and hostile reports load without any error?"""
    w = open_page(f"{name}/report.html")
    assert w.page.inner_text("#student") == name
    if name == "bob":
        assert w.page.locator(".model .missing").count() == 2  # one per model: nothing built
    w.shot(f"student-{name}")
    w.assert_clean()


def test_dashboard_sorts_students_by_score(open_page):
    """Does clicking the score heading sort the rows ascending, then descending?"""
    w = open_page("index.html")
    page = w.page

    def column(index: int) -> list[str]:
        return page.eval_on_selector_all(
            "#students tbody tr", f"rows => rows.map(r => r.cells[{index}].textContent.trim())"
        )

    before = column(0)
    page.click("#students thead th:nth-child(2) button")
    scores = [float(s) for s in column(1)]
    assert scores == sorted(scores) and column(0) != before
    assert page.get_attribute("#students thead th:nth-child(2)", "aria-sort") == "ascending"
    page.click("#students thead th:nth-child(2) button")
    assert [float(s) for s in column(1)] == sorted(scores, reverse=True)
    assert column(0)[0] == "alice"
    assert page.locator("svg.histogram rect.hbar").count() == 10
    checks = json.loads((RESULTS / "carol.json").read_text())["checks"]
    assert page.locator("#rates tbody tr").count() == len(checks)
    w.shot("dashboard")
    w.assert_clean()


PROBE_PAGES = {
    "mallory/report.html": PROBES,  # in stdout, stderr and exception messages
    f"{PROBE_ID}/report.html": (PROBE_ID,),  # in the id
    "index.html": (PROBE_ID,),
}


@pytest.mark.parametrize("path", list(PROBE_PAGES), ids=["mallory", "probe-id", "dashboard"])
def test_xss_probes_stay_text(open_page, path):
    """Are the probes shown as text, with no dialog, no injected element and no CSP error?"""
    w = open_page(path)
    page = w.page
    text = page.inner_text("body")
    for probe in PROBE_PAGES[path]:
        assert probe in text
    assert page.locator("img[src='x'], b").count() == 0
    assert page.locator("script").count() == (1 if path == "index.html" else 0)
    if path.startswith(PROBE_ID):
        w.shot("student-xss-probe")
    w.assert_clean()


def test_dashboard_link_opens_the_students_report(open_page):
    """Does the (URL-encoded) link of an id full of markup open that student's report?"""
    w = open_page("index.html")
    w.page.get_by_role("link", name=PROBE_ID).click()
    w.page.wait_for_load_state("load")
    assert w.page.url.endswith("/report.html")
    assert w.page.inner_text("#student") == PROBE_ID
    w.assert_clean()


@pytest.mark.parametrize("name", ["index.html", "carol/report.html"], ids=["dashboard", "carol"])
def test_pages_fit_a_phone_screen(open_page, name):
    """Is nothing wider than a 390 px phone screen (wide tables scroll inside their box)?"""
    w = open_page(name, PHONE)
    overflow = w.page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
    w.shot(f"phone-{'dashboard' if name == 'index.html' else name.split('/')[0]}")
    w.assert_clean()


def test_student_report_prints(open_page):
    """Does the print style drop the output box's scrolling and keep every section?"""
    w = open_page("carol/report.html")
    w.page.emulate_media(media="print")
    assert w.page.eval_on_selector("pre.output", "e => getComputedStyle(e).maxHeight") == "none"
    w.shot("print-carol")
    w.assert_clean()


def test_task_kind_reports_draw_what_their_kind_needs(open_page):
    """Does a regression report draw its scatter plot (dots inside the plot, the diagonal)
    and residual histogram, and a binary report its 2x2 matrix with precision and recall,
    neither with pictures, without any error?"""
    w = open_page("regression/report.html")
    page = w.page
    dots = page.locator("svg.scatter circle.dot")
    assert dots.count() == 88
    box = page.locator("svg.scatter").bounding_box()
    first = dots.first.bounding_box()
    assert box["x"] <= first["x"] <= box["x"] + box["width"]
    assert page.locator("svg.scatter line.diagonal").count() == 1
    assert page.locator("svg.histogram rect.hbar").count() == 8
    assert page.locator("table.errors tbody tr").count() == 2
    assert page.locator("table.cm").count() == 0 and page.locator(".digits img").count() == 0
    w.shot("student-regression")
    w.assert_clean()
    w = open_page("binary/report.html")
    assert w.page.locator("table.cm tbody tr").count() == 2
    assert "precision" in w.page.inner_text("#rates-classifier")
    assert w.page.locator(".digits img").count() == 0
    w.shot("student-binary")
    w.assert_clean()


def test_the_course_matrix_sorts_and_filters(open_page):
    """Does the student x check matrix filter rows by status and columns by part, sort by a
    check, and show the roster's names (a probe among them as text), the missing student and
    the similar pair?"""
    w = open_page("course.html")
    page = w.page
    rows = "#matrix tbody tr"
    total = page.locator(rows).count()
    assert total == page.locator("#students tbody tr").count() > 2
    visible = lambda: page.eval_on_selector_all(rows, "rs => rs.filter(r => !r.hidden).length")  # noqa: E731
    statuses = page.eval_on_selector_all(rows, "rs => rs.map(r => r.dataset.status)")
    other = "crash"
    assert statuses.count("crash") == 1
    page.select_option("select[data-filter=status]", other)
    assert visible() == statuses.count(other) < total
    page.select_option("select[data-filter=status]", "")
    assert visible() == total
    parts = page.eval_on_selector_all(
        "select[data-filter=part] option", "os => os.map(o => o.value)"
    )
    part = parts[1]
    page.select_option("select[data-filter=part]", part)
    shown = page.eval_on_selector_all(
        "#matrix thead th[data-part]", "hs => hs.filter(h => !h.hidden).map(h => h.dataset.part)"
    )
    assert shown and set(shown) == {part}
    page.select_option("select[data-filter=part]", "")
    page.click("#matrix thead th:nth-child(2) button")
    assert page.get_attribute("#matrix thead th:nth-child(2)", "aria-sort") == "ascending"
    text = page.inner_text("body")
    assert PROBES[0] in text and "Dora Absent" in text and "Alice L" in text
    assert page.locator("#similarity-link").count() == 1 and "93%" in text
    assert page.locator("script").count() == 1
    w.shot("dashboard-course")
    w.assert_clean()
