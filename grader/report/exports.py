"""Exports: Gradescope `results.json`, the CSV gradebook, JUnit XML; all written atomically.

Every file is written to a temporary file in the same directory, fsynced, then renamed over
the target: a reader (or a grader killed half-way) never sees half a file.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
import unicodedata
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path

from grader.report.results import SubmissionResult, max_score, score


def atomic_write(path: Path, data: str | bytes) -> None:
    """Write `data` to `path` so that it is either wholly there or not at all."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # A lone surrogate (a student's file name that was not UTF-8) becomes "?", not a crash.
    raw = data.encode("utf-8", errors="replace") if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(raw)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def gradescope_results(result: SubmissionResult) -> dict:
    """The result in Gradescope's results.json schema, with our facts in `extra_data`."""
    output = [f"Submission status: {result.status}" + (
        f", but {result.attempt}" if result.attempt else "") + (
        f" ({result.status_detail})" if result.status_detail else "")]  # fmt: skip
    output.append(f"Isolation: {result.isolation}")
    for model in result.models:
        if model.task == "regression" and model.test_metric is not None:
            ref = model.reference_metric
            ref_text = f" (reference {ref:.4g})" if ref is not None else ""
            output.append(
                f"{model.name.upper()} test mean absolute error: {model.test_metric:.4g}{ref_text}"
            )
        elif model.test_accuracy is not None:
            ref = model.reference_accuracy
            ref_text = f" (reference {ref:.2%})" if ref is not None else ""
            output.append(
                f"{model.name.upper()} test accuracy: {model.test_accuracy:.2%}{ref_text}"
            )
    tests = []
    ordered = _ordered(result.checks)
    for number, (check, text) in enumerate(zip(ordered, said_once(ordered), strict=True), 1):
        tests.append(
            {
                "name": check.title,
                "number": str(number),
                "score": check.score,
                "max_score": check.max_score,
                "status": "passed" if check.passed else "failed",
                "output": text,
                "visibility": check.visibility,
                "tags": [check.part, check.name],
            }
        )
    for adjustment in result.adjustments:  # a line of its own, never inside a check
        label = "Late penalty" if adjustment.kind == "late" else adjustment.kind
        output.append(f"{label}: {adjustment.points:g} points ({adjustment.reason})")
        tests.append({
            "name": label, "number": str(len(tests) + 1), "score": adjustment.points,
            "max_score": 0, "status": "failed", "output": adjustment.reason,
            "visibility": "visible", "tags": ["adjustment", adjustment.kind],
        })  # fmt: skip
    extra = dict(result.settings)
    extra.update(
        {
            "submission_id": result.id,
            "assignment": result.assignment,
            "submission_status": result.status,
            "status_detail": result.status_detail,
            "attempt": result.attempt,
            "isolation": result.isolation,
            "content_hash": result.content_hash,
            "accuracies": {
                m.name: {"student": m.test_accuracy, "reference": m.reference_accuracy}
                for m in result.models
            },
            "metrics": {
                m.name: {
                    "task": m.task,
                    "metric": m.metric,
                    "student": m.test_metric,
                    "reference": m.reference_metric,
                }
                for m in result.models
            },  # fmt: skip
            "timings": dict(result.timings),
            "graded_at": result.graded_at,
        }
    )
    return {
        "score": score(result),
        "max_score": max_score(result),
        "execution_time": round(sum(result.timings.values()), 3),
        "output": "\n".join(output),
        "output_format": "text",
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": tests,
        "extra_data": extra,
    }


def said_once(checks) -> list[str]:
    """Each check's feedback, with what an earlier visible check already says (the same
    failure, or the same import error behind it) replaced by a pointer to that check: a module
    that fails to import is explained once, not under all 22 checks that depend on it."""
    seen: dict[str, int] = {}
    outputs = []
    for number, check in enumerate(checks, start=1):
        text = check.feedback
        if text and text in seen:
            first = seen[text]
            text = f"Same cause as check {first} ({checks[first - 1].title}): see there."
        elif text:
            head, sep, block = text.partition("\nimporting ")
            if sep and ("importing " + block) in seen:
                first = seen["importing " + block]
                module = block.split(" ", 1)[0]
                text = (
                    f"{head}\nimporting {module} failed: the error is shown under check "
                    f"{first} ({checks[first - 1].title})."
                )
            if check.visibility == "visible":
                seen.setdefault(check.feedback, number)
                if sep:
                    seen.setdefault("importing " + block, number)
        outputs.append(text)
    return outputs


def _ordered(checks):
    """Checks in the assignment's order of parts (results keep that order), grouped."""
    first: dict[str, int] = {}
    for i, check in enumerate(checks):
        first.setdefault(check.part, i)
    return sorted(checks, key=lambda c: first[c.part])


def grades_csv(results: Sequence[SubmissionResult]) -> str:
    """`id,score,max_score,status`: one row a student, for a spreadsheet or an LMS."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")  # RFC 4180: fields with \r or \n get quoted
    writer.writerow(["id", "score", "max_score", "status"])
    for r in sorted(results, key=lambda r: r.id):
        writer.writerow([_csv_safe(r.id), f"{score(r):g}", f"{max_score(r):g}", r.status])
    return buf.getvalue()


_FORMULA = frozenset("=+-@\uff1d\uff0b\uff0d\uff20")
"""What makes a spreadsheet read a cell as a formula (with the full-width forms some locales
convert), once leading blanks are skipped."""
_CELL_BREAKS = frozenset(";,\t|\r\n")
"""Where another program may start a new cell: `;` in semicolon locales (Excel in most of
Europe reads `x;=cmd()` as two cells), `,`, tab, `|`, a line break."""


def _csv_safe(text: str) -> str:
    """A cell no spreadsheet runs as a formula: a leading `'` when the text starts with a
    formula character, also after blanks (spaces, NBSP, tabs, invisible characters) or a
    tab or carriage return; and a `'` before every formula character that would start a new
    cell in a locale that splits the row elsewhere (`x;=cmd()` -> `x;'=cmd()`)."""
    if text[:1] in ("\t", "\r") or _starts_formula(text):
        text = "'" + text
    out = []
    for i, ch in enumerate(text):
        out.append(ch)
        if ch in _CELL_BREAKS and _starts_formula(text[i + 1 :]):
            out.append("'")
    return "".join(out)


def _starts_formula(text: str) -> bool:
    for ch in text:
        if ch.isspace() or unicodedata.category(ch) in ("Cc", "Cf", "Zs"):
            continue
        return ch in _FORMULA
    return False


def junit_xml(results: Sequence[SubmissionResult]) -> str:
    """One <testsuite> per student, one <testcase> per check (hidden ones included), with
    the class's totals on <testsuites> and each check's phase-2 time on its <testcase>.

    Every attribute and text goes through `_xml_safe`: an id or feedback holding characters
    XML 1.0 forbids (control characters, lone surrogates) still gives a valid document.
    """
    checks = [c for r in results for c in r.checks]
    suites = ET.Element(
        "testsuites",
        name="keras-grader",
        tests=str(len(checks)),
        failures=str(sum(1 for c in checks if not c.passed)),
        errors="0",
        time=f"{sum(sum(r.timings.values()) for r in results):.3f}",
    )
    for r in sorted(results, key=lambda r: r.id):
        failures = sum(1 for c in r.checks if not c.passed)
        suite = _element(
            suites,
            "testsuite",
            name=r.id,
            tests=str(len(r.checks)),
            failures=str(failures),
            errors="0",
            time=f"{sum(r.timings.values()):.3f}",
        )
        props = _element(suite, "properties")
        facts = {
            "status": r.status,
            "score": f"{score(r):g}",
            "max_score": f"{max_score(r):g}",
            "isolation": r.isolation,
        }
        for key, value in facts.items():
            _element(props, "property", name=key, value=value)
        for c in _ordered(r.checks):
            case = _element(
                suite, "testcase", classname=f"{r.id}.{c.part}", name=c.name,
                time=f"{c.seconds:.3f}",
            )  # fmt: skip
            if not c.passed:
                failure = _element(
                    case, "failure", message=f"{c.score:g}/{c.max_score:g}: {c.title}"
                )
                failure.text = _xml_safe(c.feedback)
        if r.status != "ok":
            _element(suite, "system-err").text = _xml_safe(f"{r.status}: {r.status_detail}")
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"


def _element(parent: ET.Element, tag: str, **attributes: str) -> ET.Element:
    """A child element whose attribute values XML 1.0 can hold."""
    return ET.SubElement(parent, tag, {k: _xml_safe(v) for k, v in attributes.items()})


def _xml_safe(text: str) -> str:
    """Drop characters XML 1.0 cannot hold (student output may contain anything)."""
    return "".join(
        ch
        for ch in text
        if ch in "\t\n\r" or 0x20 <= ord(ch) <= 0xD7FF or 0xE000 <= ord(ch) <= 0xFFFD
    )


def write_json(path: Path, data: object) -> None:
    atomic_write(path, json.dumps(data, indent=1, ensure_ascii=False) + "\n")
