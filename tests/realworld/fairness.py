"""Is the grader fair to the real-world corpus? Compare a grading run with expected.json.

A case is FAIR when every check in its `fair_failed` list failed, and every check that failed
is in `fair_failed` or `may_fail`. A check failed when it scored less than its maximum (partial
credit counts as failed). A case with no results.json is unfair.

Usage:
    python tests/realworld/fairness.py OUT            # OUT/<id>/results.json from `grader grade`
    python tests/realworld/fairness.py stage DEST     # copy only the cases into DEST, to grade
    python tests/realworld/fairness.py OUT --json     # the comparison as JSON

Grading the corpus (README.md, expected.json and this script are not submissions, hence the
staging step):
    python tests/realworld/fairness.py stage /tmp/realworld-class
    KERAS_GRADER_CACHE=/tmp/kg-cache grader grade /tmp/realworld-class \\
        --out /tmp/realworld-out --budget quick --workers 2
    python tests/realworld/fairness.py /tmp/realworld-out
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
CHECKS_DIR = HERE.parents[1] / "reference" / "mnist" / "checks"


def load_expected(path: Path) -> dict[str, dict]:
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def case_entry(case_id: str) -> Path:
    """The case as handed in: a folder, or a .zip next to the other cases."""
    folder = HERE / case_id
    return folder if folder.is_dir() else HERE / f"{case_id}.zip"


def stage(expected: dict[str, dict], dest: Path) -> None:
    """Copy every case (regular files only, no symlinks) into a fresh class directory."""
    dest.mkdir(parents=True, exist_ok=True)
    for case_id in sorted(expected):
        source = case_entry(case_id)
        target = dest / source.name
        if target.exists():
            shutil.rmtree(target) if target.is_dir() else target.unlink()
        if source.is_dir():
            shutil.copytree(
                source,
                target,
                symlinks=False,
                ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"),
            )
        else:
            shutil.copyfile(source, target)
    print(f"staged {len(expected)} cases in {dest}")


def _titles_to_names() -> dict[str, str]:
    """Check title -> check function name, read from the reference's check modules."""
    mapping = {}
    pattern = re.compile(
        r'@pytest\.mark\.check\([^)]*title="([^"]+)"[^)]*\)\s*\ndef (test_\w+)', re.S
    )
    for module in sorted(CHECKS_DIR.glob("test_*.py")):
        for title, name in pattern.findall(module.read_text(encoding="utf-8")):
            mapping[title] = name
    return mapping


def check_outcomes(results: dict, titles: dict[str, str]) -> dict[str, tuple[bool, str]]:
    """check name -> (failed, first line of its feedback) from a Gradescope results.json."""
    outcomes = {}
    for test in results.get("tests", []):
        name = next((t for t in test.get("tags", []) if str(t).startswith("test_")), None)
        name = name or titles.get(test.get("name", ""), test.get("name", "?"))
        score, max_score = test.get("score", 0) or 0, test.get("max_score", 0) or 0
        failed = score < max_score - 1e-9 or test.get("status") == "failed"
        first_line = next(
            (ln.strip() for ln in str(test.get("output") or "").splitlines() if ln.strip()), ""
        )
        outcomes[name] = (failed, first_line)
    return outcomes


def compare(out: Path, expected: dict[str, dict]) -> list[dict]:
    titles = _titles_to_names()
    rows = []
    for case_id, exp in sorted(expected.items()):
        fair_failed, may_fail = set(exp.get("fair_failed", [])), set(exp.get("may_fail", []))
        path = out / case_id / "results.json"
        row = {
            "case": case_id,
            "group": exp.get("group", "?"),
            "fair": False,
            "status": "no results",
            "not_failed": [],
            "unexpected": [],
        }
        if path.is_file():
            results = json.loads(path.read_text(encoding="utf-8"))
            row["status"] = (results.get("extra_data") or {}).get("submission_status", "?")
            row["score"] = results.get("score")
            outcomes = check_outcomes(results, titles)
            failed = {name for name, (bad, _) in outcomes.items() if bad}
            row["not_failed"] = sorted(fair_failed - failed)
            row["unexpected"] = [
                {"check": name, "feedback": outcomes[name][1]}
                for name in sorted(failed - fair_failed - may_fail)
            ]
            row["fair"] = not row["not_failed"] and not row["unexpected"]
        rows.append(row)
    return rows


def print_table(rows: list[dict]) -> None:
    width = max(len(r["case"]) for r in rows)
    print(f"{'case':<{width}}  grp  fair    score  status")
    for r in rows:
        score = r.get("score")
        score_text = f"{score:6.1f}" if isinstance(score, int | float) else "     -"
        verdict = "FAIR" if r["fair"] else "UNFAIR"
        print(f"{r['case']:<{width}}  {r['group']:<3}  {verdict:<6} {score_text}  {r['status']}")
        for name in r["not_failed"]:
            print(f"{'':<{width}}    should have failed but passed: {name}")
        for u in r["unexpected"]:
            print(f"{'':<{width}}    unfairly failed: {u['check']}: {u['feedback'][:150]}")
    fair = sum(r["fair"] for r in rows)
    for group in sorted({r["group"] for r in rows}):
        part = [r for r in rows if r["group"] == group]
        print(f"group {group}: fair {sum(r['fair'] for r in part)}/{len(part)}")
    print(f"fair: {fair}/{len(rows)}")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", help="OUT directory of `grader grade`, or `stage`")
    parser.add_argument("dest", nargs="?", help="with `stage`: the class directory to fill")
    parser.add_argument("--expected", default=str(HERE / "expected.json"))
    parser.add_argument("--json", action="store_true", help="print the comparison as JSON")
    args = parser.parse_args(argv)
    expected = load_expected(Path(args.expected))
    if args.out == "stage":
        if not args.dest:
            parser.error("stage needs a destination directory")
        stage(expected, Path(args.dest))
        return 0
    rows = compare(Path(args.out), expected)
    if args.json:
        print(json.dumps(rows, indent=1))
    else:
        print_table(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
