"""The one Jinja2 environment of the reports, and the one function that renders with it."""

from __future__ import annotations

import base64
import functools
import hashlib
from collections.abc import Sequence
from urllib.parse import quote

import jinja2

from grader.report.results import ClassSummary, SubmissionResult
from grader.report.views import dashboard_context, student_context


def csp_hash(text: str) -> str:
    """The Content-Security-Policy source (without quotes) allowing exactly this inline text."""
    digest = hashlib.sha256(str(text).encode("utf-8")).digest()
    return "sha256-" + base64.b64encode(digest).decode("ascii")


def points(value: float | None) -> str:
    """Points or seconds without trailing zeros: 4, 2.5, 0.33."""
    if value is None:
        return "—"
    return f"{value:.2f}".rstrip("0").rstrip(".")


def path_segment(value: str) -> str:
    """A submission id as one URL path segment (`/`, `?`, `#`, `%` and spaces encoded)."""
    return quote(str(value), safe="")


@functools.cache
def environment() -> jinja2.Environment:
    """The reports' environment: package templates, autoescape everywhere, strict undefined."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("grader.report", "templates"),
        autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(csp_hash=csp_hash, points=points, path_segment=path_segment)
    return env


def render(template: str, **context: object) -> str:
    """Render one template of grader/report/templates/ to a complete document."""
    return environment().get_template(template).render(**context)


def student(result: SubmissionResult) -> str:
    """A student's report: score, checks, architecture, curves, confusion matrix, mistakes.

    Args:
        result: the graded submission; hidden checks are shown as their points only.

    Returns:
        A self-contained HTML document (inline CSS, SVG and PNG; no script, no network).
    """
    return render("student.html", script=None, **student_context(result))


def dashboard(
    results: Sequence[SubmissionResult], summary: ClassSummary, course: dict | None = None
) -> str:
    """The class dashboard: distribution, pass rates, statuses, sortable student table.

    Args:
        results: every graded submission, in display order.
        summary: `grader.report.results.summarize(results)`.
        course: `grader.course.class_view` (roster names, missing students, changes,
            overrides, the student x check matrix), if the grading has one.

    Returns:
        A self-contained HTML document linking each student to `<id>/report.html`.
    """
    context = dashboard_context(results, summary)
    return render("dashboard.html", script="sort.js", course={**NO_COURSE, **(course or {})},
                  **context)  # fmt: skip


NO_COURSE = {
    "roster": False, "names": {}, "sections": {}, "missing": [], "unknown": [], "changed": {},
    "columns": [], "rows": [], "parts": [], "statuses": [], "similarity": False, "similar": [],
    "similar_ids": [],
}  # fmt: skip
"""The dashboard of a grading with no course files (`grader.course.class_view`'s keys)."""


def similarity(context: dict) -> str:
    """The similarity page: the class's pairs ranked, the flagged ones side by side
    (`grader.similarity.page_context`). Student code is escaped like any other text."""
    return render("similarity.html", script=None, **context)


def index(assignments: Sequence[dict]) -> str:
    """A page linking several assignments' dashboards (`<name>/index.html`).

    Args:
        assignments: one dict each: name, title, tasks, students, mean, max.
    """
    return render("index.html", script=None, assignments=list(assignments))
