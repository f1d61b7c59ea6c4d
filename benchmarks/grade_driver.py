"""Grade a class the way `grader grade` does, and print what the benchmarks need as JSON.

Same call as the CLI (`grader.pipeline.grade` with the HTML reports), plus the phase split
(`GradeOutcome.phase_seconds`) and per-submission outcomes. For profiling it can also run
variants of the grader without editing it (each is a monkeypatch of this process only):

  --onednn on|off     the sandbox's TensorFlow with or without oneDNN (the sandbox turns
                      it on); runs a patched copy of grader/run/sandbox_init.py
  --no-overlap        phase 2 after phase 1, not alongside it
  --isolation limited rlimits only: no namespaces, chroot or uid switch

Usage: python benchmarks/grade_driver.py SUBMISSIONS OUT [--budget B] [--workers N] ...
"""

from __future__ import annotations

import time

STARTED = time.monotonic()

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

ONEDNN = re.compile(r'"TF_ENABLE_ONEDNN_OPTS": "[01]",')


def patch_onednn(setting: str) -> None:
    """Point grader.run.sandbox at a copy of sandbox_init.py whose child env sets oneDNN."""
    import grader.run.sandbox as sandbox

    source = Path(sandbox.INIT).read_text()
    wanted = f'"TF_ENABLE_ONEDNN_OPTS": "{1 if setting == "on" else 0}",'
    source, found = ONEDNN.subn(wanted, source)
    if found != 1:
        raise SystemExit("grade_driver: cannot find the oneDNN setting in sandbox_init.py")
    folder = Path(tempfile.mkdtemp(prefix="grade-driver-"))
    copy = folder / "sandbox_init.py"
    copy.write_text(source)
    copy.chmod(0o644)
    folder.chmod(0o755)
    sandbox.INIT = copy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("submissions", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--assignment", default="mnist")
    parser.add_argument("--budget", default=None)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--isolation", choices=("full", "limited"), default=None)
    parser.add_argument("--scheduler", default=None)
    parser.add_argument("--onednn", choices=("on", "off"), default=None)
    parser.add_argument("--no-overlap", action="store_true")
    parser.add_argument("--no-reports", action="store_true")
    args = parser.parse_args()

    import grader.pipeline as pipeline
    from grader.report.results import score

    if args.onednn:
        patch_onednn(args.onednn)
    if args.no_overlap:
        pipeline.SESSION_SIZE = 0
    render = None
    if not args.no_reports:
        import grader.report as render
    request = pipeline.GradeRequest(
        submissions=pipeline.entries_of(args.submissions), out=args.out,
        assignment=args.assignment, budget=args.budget, workers=args.workers,
        isolation=args.isolation, scheduler=args.scheduler,
    )  # fmt: skip
    started = time.monotonic()
    outcome = pipeline.grade(request, render=render)
    print(json.dumps({
        "startup": round(started - STARTED, 3),
        "grade": round(time.monotonic() - started, 3),
        "phases": {k: round(v, 3) for k, v in outcome.phase_seconds.items()},
        "graded": len(outcome.graded),
        "runs": {r.id: {"status": r.status, "score": score(r),
                        "run": r.timings.get("run")} for r in outcome.results},
    }), flush=True)  # fmt: skip
    os._exit(0)


if __name__ == "__main__":
    main()
