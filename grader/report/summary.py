"""Terminal summaries: the class table after `grader grade`, a student's checks after
`grader check`. Plain data in, text out (rich draws colour only on a terminal)."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table

from grader.report.results import SubmissionResult, max_score, redact_hidden, score, summarize

FEEDBACK_LINES = 3


def _console() -> Console:
    return Console(highlight=False, soft_wrap=True)


def print_summary(outcome, console: Console | None = None) -> None:
    """Class summary: counts, mean and median, failures with their reasons, output paths."""
    console = console or _console()
    results = outcome.results
    summary = summarize(results)
    table = Table(title="keras-grader summary", show_header=False)
    table.add_column("what")
    table.add_column("value")
    table.add_row("students", str(summary.students))
    table.add_row("graded now / kept", f"{len(outcome.graded)} / {len(outcome.skipped)}")
    table.add_row("mean score", f"{summary.mean:g} / {summary.max_score:g}")
    table.add_row("median score", f"{summary.median:g} / {summary.max_score:g}")
    for status, count in summary.by_status.items():
        if count and status != "ok":
            table.add_row(status.replace("_", " "), str(count))
    table.add_row("wall time", f"{outcome.wall_seconds:.1f} s")
    phases = ", ".join(f"{k} {v:.1f} s" for k, v in outcome.phase_seconds.items())
    table.add_row("phases", phases or "-")
    table.add_row("outputs", str(Path(outcome.out).resolve()))
    console.print(table)
    failures = [r for r in results if r.status != "ok"]
    if failures:
        console.print(f"{len(failures)} submission(s) did not run cleanly:", style="bold")
        for r in failures:
            console.print(f"  {r.id}: {r.status}: {r.status_detail}", markup=False)
    console.print(f"class dashboard: {Path(outcome.out, 'index.html').resolve()}", markup=False)
    console.print(f"grades: {Path(outcome.out, 'grades.csv').resolve()}", markup=False)


def print_check(result: SubmissionResult, out: Path, console: Console | None = None) -> None:
    """A student's own view: each visible check with points and the start of its feedback."""
    console = console or _console()
    if result.status != "ok":
        console.print(f"run status: {result.status}: {result.status_detail}", markup=False)
    for check in (redact_hidden(c) for c in result.checks):
        mark = "PASS" if check.passed else ("PART" if check.score > 0 else "FAIL")
        style = {"PASS": "green", "PART": "yellow", "FAIL": "red"}[mark]
        console.print(
            f"[{style}]{mark}[/] {check.score:g}/{check.max_score:g}  ", end="", highlight=False
        )
        console.print(check.title, markup=False)
        lines = [ln for ln in check.feedback.splitlines() if ln.strip()]
        for line in lines[:FEEDBACK_LINES]:
            console.print(f"      {line}", markup=False)
        if len(lines) > FEEDBACK_LINES:
            console.print("      ... (see the report)", markup=False)
    console.print(
        f"score on the visible checks: {score(result):g} / {max_score(result):g} "
        "(hidden checks and the full training budget count in the final grade)",
        markup=False,
    )
    console.print(f"report: {Path(out, result.id, 'report.html')}", markup=False)
