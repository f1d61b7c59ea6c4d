"""Terminal summaries: the class table after `grader grade`, a student's checks after
`grader check`. Plain data in, text out (rich draws colour only on a terminal)."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table

from grader.report.results import (
    ATTEMPTS,
    SubmissionResult,
    max_score,
    redact_hidden,
    score,
    summarize,
)
from grader.run.submission import FORM_NOTE

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
    for label in ATTEMPTS:
        count = sum(r.attempt == label for r in results)
        if count:
            table.add_row(f"ok, but {label}", str(count))
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
    """A student's own view: each visible check with its points; for each one that lost
    points, the first line of its feedback and its hint (the fix: the Keras 3 spelling, the
    expected shape). A cause already shown is folded into "same cause as above", and a run
    that did not happen is explained once, above the checks."""
    console = console or _console()
    for note in result.settings.get("notes", ()):
        if str(note).startswith(FORM_NOTE):  # which of the folder's forms was graded
            console.print(str(note), markup=False)
    shown: set[str] = set()
    if result.status != "ok":
        line = f"run status: {result.status}: {result.status_detail}"
        console.print(line, markup=False)
        shown.add(result.status_detail.strip())
    elif result.attempt:
        text = ATTEMPTS.get(result.attempt, "")
        console.print(f"run status: ok, but {result.attempt}: {text}", markup=False)
    for check in (redact_hidden(c) for c in result.checks):
        mark = "PASS" if check.passed else ("PART" if check.score > 0 else "FAIL")
        style = {"PASS": "green", "PART": "yellow", "FAIL": "red"}[mark]
        console.print(
            f"[{style}]{mark}[/] {check.score:g}/{check.max_score:g}  ", end="", highlight=False
        )
        console.print(check.title, markup=False)
        for line in _terminal_lines(check, shown):
            console.print(f"      {line}", markup=False)
    console.print(
        f"score on the visible checks: {score(result):g} / {max_score(result):g} "
        "(hidden checks and the full training budget count in the final grade)",
        markup=False,
    )
    console.print(f"report: {Path(out, result.id, 'report.html')}", markup=False)


SAME_CAUSE = "same cause as above"


def _terminal_lines(check, shown: set[str]) -> list[str]:
    """What the terminal shows under one check: nothing when it passed in full; else its
    first line and hint lines, each at most once per student (`shown`)."""
    lines = [ln.strip() for ln in check.feedback.splitlines() if ln.strip()]
    if check.passed or not lines:
        return []
    if lines[0].lower().startswith("same cause as check"):
        return [SAME_CAUSE]
    picked = [lines[0]] + [ln for ln in lines[1:] if ln.lower().startswith("hint:")]
    picked += [ln for ln in lines[1:FEEDBACK_LINES] if ln not in picked and _is_expectation(ln)]
    fresh = []
    for line in picked:
        key = line.removeprefix("not graded: ").strip()
        if key in shown:
            if SAME_CAUSE not in fresh:
                fresh.append(SAME_CAUSE)
            continue
        shown.add(key)
        fresh.append(line)
    if len(lines) > len(picked) and fresh != [SAME_CAUSE]:
        fresh.append("(more in the report)")
    return fresh


def _is_expectation(line: str) -> bool:
    """A line that says what was expected (`expected ...`, `expected vs yours`)."""
    low = line.lower()
    return low.startswith(("expected", "the grader expects", "the grader called"))
