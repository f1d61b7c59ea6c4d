"""What the templates show: results turned into plain values (numbers, strings, lists).

Hidden checks are redacted here, before any template sees them: a student's report cannot
leak what it was never given.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence

from grader.machine import cpu_label
from grader.report import charts
from grader.report.results import (
    ATTEMPTS,
    PHASE1_STATUSES,
    CheckResult,
    ClassSummary,
    LayerRow,
    ModelReport,
    SubmissionResult,
    max_score,
    part_scores,
    redact_hidden,
    score,
)


def _titles(settings: Mapping[str, object], key: str) -> dict[str, str]:
    """The assignment's titles of parts or models (results' settings), in its order."""
    table = settings.get(key)
    if not isinstance(table, Mapping):
        return {}
    return {str(k): str(v) for k, v in table.items()}


STATUS_TEXT = {
    "ok": "ran to completion",
    "crash": "crashed",
    "timeout": "stopped: took too long",
    "memory": "stopped: ran out of memory",
    "output_limit": "stopped: left too many or too deeply nested files in its output",
    "sandbox_error": "could not be run by the grader",
}
OUTPUT_HEAD, OUTPUT_TAIL, OUTPUT_WIDTH = 40, 160, 400
"""Captured output shown: first and last lines kept, and the longest line shown."""


def state(earned: float, available: float) -> str:
    """`passed` (full marks), `partial` or `failed` (nothing)."""
    if earned >= available:
        return "passed"
    return "partial" if earned > 0 else "failed"


def percent(earned: float, available: float) -> float:
    """Share of the points, 0..100, one decimal."""
    return round(100 * earned / available, 1) if available > 0 else 0.0


def graded_at(value: str) -> str:
    """An ISO 8601 time as `YYYY-MM-DD HH:MM UTC`; the text as is if it does not parse."""
    try:
        moment = datetime.datetime.fromisoformat(value)
    except ValueError:
        return value or "unknown"
    if moment.tzinfo is not None:
        moment = moment.astimezone(datetime.UTC)
    return moment.strftime("%Y-%m-%d %H:%M") + (" UTC" if moment.tzinfo else "")


def trim_output(text: str) -> dict:
    """Captured output cut to its first and last lines, each line cut to a readable width."""
    lines = [
        line if len(line) <= OUTPUT_WIDTH else line[:OUTPUT_WIDTH] + " …"
        for line in text.rstrip().splitlines()
    ]
    omitted = max(0, len(lines) - OUTPUT_HEAD - OUTPUT_TAIL)
    if not omitted:
        return {"head": "\n".join(lines), "omitted": 0, "tail": ""}
    return {
        "head": "\n".join(lines[:OUTPUT_HEAD]),
        "omitted": omitted,
        "tail": "\n".join(lines[-OUTPUT_TAIL:]),
    }


def settings_view(settings: Mapping[str, object]) -> dict:
    """Grading settings as display strings; missing keys show as `unknown`."""
    budget = settings.get("budget") if isinstance(settings.get("budget"), Mapping) else {}
    models = []
    order = list(_titles(settings, "model_titles"))  # the plan's order
    kinds = sorted(budget, key=lambda k: order.index(k) if k in order else len(order))
    for kind in kinds:
        b = budget[kind]
        if isinstance(b, Mapping) and b:
            split = b.get("validation_split") or 0
            models.append(
                f"{kind.upper()}: {b.get('epochs', '?')} epochs, batch {b.get('batch_size', '?')}"
                + (f", {percent(float(split), 1):g}% validation" if split else "")
            )
    samples = budget.get("train_samples")
    versions = settings.get("versions") if isinstance(settings.get("versions"), Mapping) else {}
    return {
        "title": str(settings.get("title") or ""),
        "grader_version": str(settings.get("grader_version") or "unknown"),
        "dataset": str(settings.get("dataset") or "unknown"),
        "budget": str(budget.get("name") or "unknown"),
        "train_samples": f"{samples:,}" if isinstance(samples, int) else "unknown",
        "models": models,
        "seed": str(settings.get("seed", "unknown")),
        "threads": str(settings.get("threads", "unknown")),
        "accuracy_margin": str(settings.get("accuracy_margin", "unknown")),
        "visibility": str(settings.get("visibility") or "all"),
        "versions": [(str(k), str(v)) for k, v in versions.items()],
        "cpu": cpu_label(cpu) if isinstance(cpu := settings.get("cpu"), Mapping) else "",
        "notes": [str(n) for n in settings.get("notes") or ()],
        "noun": str(settings.get("noun") or "example"),
        "images": bool(settings.get("images", False)),
        "examples": "images" if settings.get("images", False) else "examples",
    }


def _check_view(check: CheckResult) -> dict:
    hidden = check.visibility == "hidden"
    shown = redact_hidden(check)
    return {
        "title": shown.title,
        "hidden": hidden,
        "score": shown.score,
        "max_score": shown.max_score,
        "state": "hidden" if hidden else state(shown.score, shown.max_score),
        "feedback": shown.feedback,
    }


def _layers_view(rows: Sequence[LayerRow]) -> dict | None:
    if not rows:
        return None
    return {
        "rows": rows,
        "expected_params": sum(r.expected.params for r in rows if r.expected),
        "actual_params": sum(r.actual.params for r in rows if r.actual),
        "matches": all(r.matches for r in rows),
    }


def _confusion_view(matrix: Sequence[Sequence[int]]) -> dict | None:
    if not matrix:
        return None
    rows = []
    for true, counts in enumerate(matrix):
        total = sum(counts)
        cells = [
            {"count": n, "diag": true == p, "level": charts.heat_level(n, total)}
            for p, n in enumerate(counts)
        ]
        rows.append(
            {
                "label": true,
                "cells": cells,
                "total": total,
                "recall": percent(counts[true], total) if total else None,
            }
        )
    correct = sum(matrix[i][i] for i in range(len(matrix)))
    total = sum(sum(r) for r in matrix)
    return {"rows": rows, "classes": len(matrix), "correct": correct, "total": total}


def _model_view(model: ModelReport, checks: Sequence[CheckResult], titles: dict) -> dict:
    fallback = next((c.table for c in checks if c.part == model.name and c.table), ())
    return {
        "name": model.name,
        "title": titles.get(model.name, model.name),
        "test_accuracy": model.test_accuracy,
        "reference_accuracy": model.reference_accuracy,
        "charts": [
            (metric, chart)
            for metric, series in charts.metric_groups(model.history)
            if (chart := charts.line_chart(series)) is not None
        ],
        "layers": _layers_view(model.layers or fallback),
        "confusion": _confusion_view(model.confusion),
        "misclassified": model.misclassified,
        "task": model.task,
        "metric": model.metric,
        "test_metric": model.test_metric,
        "reference_metric": model.reference_metric,
        "rates": {k: (percent(v, 1) if v is not None else None) for k, v in model.rates.items()},
        "errors": dict(model.errors),
        "scatter": charts.scatter(model.points) if model.points else None,
        "residuals": charts.residual_histogram(model.residuals) if model.residuals else None,
    }


def student_context(result: SubmissionResult) -> dict:
    """Everything the student report shows; hidden checks reduced to their points."""
    earned, available = score(result), max_score(result)
    shown_checks = [redact_hidden(c) for c in result.checks]
    checks_by_part: dict[str, list[dict]] = {}
    for check in result.checks:
        views = checks_by_part.setdefault(check.part, [])
        view = _check_view(check)
        # A crash fails every check of a part with one message: say it once.
        view["same_as_above"] = bool(
            view["feedback"] and views and views[-1]["feedback"] == view["feedback"]
        )
        views.append(view)
    part_titles = _titles(result.settings, "parts")
    model_titles = _titles(result.settings, "model_titles")
    parts = [
        {
            "key": part,
            "title": part_titles.get(part, part),
            "earned": e,
            "available": a,
            "percent": percent(e, a),
            "state": state(e, a),
            "checks": checks_by_part.get(part, []),
        }
        for part, (e, a) in part_scores(result).items()
    ]
    order = {name: i for i, name in enumerate(model_titles)}
    models = sorted(result.models, key=lambda m: (order.get(m.name, 99), m.name))
    return {
        "r": result,
        "status_text": STATUS_TEXT.get(result.status, result.status),
        "attempt_text": ATTEMPTS.get(result.attempt, result.attempt),
        "earned": earned,
        "available": available,
        "percent": percent(earned, available),
        "total_state": state(earned, available) if available > 0 else "failed",
        "parts": parts,
        "models": [_model_view(m, shown_checks, model_titles) for m in models],
        "stdout": trim_output(result.stdout),
        "stderr": trim_output(result.stderr),
        "settings": settings_view(result.settings),
        "graded_at": graded_at(result.graded_at),
    }


def dashboard_context(results: Sequence[SubmissionResult], summary: ClassSummary) -> dict:
    """Everything the class dashboard shows (instructors see hidden checks' titles)."""
    titles: dict[str, CheckResult] = {}
    for r in results:
        for c in r.checks:
            titles.setdefault(c.name, c)
    part_titles = _titles(results[0].settings, "parts") if results else {}
    rank = {p: i for i, p in enumerate(part_titles)}
    rates = [
        {
            "title": titles[name].title if name in titles else name,
            "part": titles[name].part if name in titles else "",
            "hidden": name in titles and titles[name].visibility == "hidden",
            "percent": percent(rate, 1),
            "state": "failed" if rate < 0.5 else "partial" if rate < 0.8 else "passed",
        }
        for name, rate in summary.pass_rates.items()
    ]
    rates.sort(key=lambda x: (x["percent"], rank.get(x["part"], 99), x["title"]))
    for rate in rates:
        rate["part"] = part_titles.get(rate["part"], rate["part"])
    students = [
        {
            "id": r.id,
            "score": score(r),
            "max_score": max_score(r),
            "percent": percent(score(r), max_score(r)),
            "status": r.status,
            "status_text": ATTEMPTS.get(r.attempt) or STATUS_TEXT.get(r.status, r.status),
            "attempt": r.attempt,
            "run": r.timings.get("run"),
        }
        for r in results
    ]
    statuses = list(PHASE1_STATUSES) + sorted(set(summary.by_status) - set(PHASE1_STATUSES))
    times = sorted(r.graded_at for r in results if r.graded_at)
    isolation: dict[str, int] = {}
    for r in results:
        isolation[r.isolation] = isolation.get(r.isolation, 0) + 1
    return {
        "summary": summary,
        "students": students,
        "histogram": charts.histogram([s["score"] for s in students], summary.max_score),
        "rates": rates,
        "statuses": [(s, STATUS_TEXT.get(s, s), summary.by_status.get(s, 0)) for s in statuses],
        "attempts": [
            (label, text, sum(r.attempt == label for r in results))
            for label, text in ATTEMPTS.items()
        ],
        "settings": settings_view(results[0].settings if results else {}),
        "isolation": sorted(isolation.items()),
        "graded_from": graded_at(times[0]) if times else "unknown",
        "graded_to": graded_at(times[-1]) if times else "unknown",
        "title": str(results[0].settings.get("title") or "") if results else "",
    }
