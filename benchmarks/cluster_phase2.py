"""What phase 2 on the workers adds to a cluster grading's wall time (issue 18, item 2).

A local Dask cluster of real worker processes grades a generated class (classroom.py) twice,
interleaved, with the reference cached (as in any grading but a course's first):

- `workers`: as `grader grade --scheduler` does: each student's checks run on a worker right
  after their run (the workers declare `sandbox` slots and one thread more, the layout
  docs/distributed.md recommends, so checks use the spare thread while the sandboxes train);
- `phase 1 only`: the same runs with no check task (the cluster's phase 1 alone; the grading
  machine checks everyone afterwards, which is not counted).

Phase 2's share is `workers` wall / `phase 1 only` wall - 1. It also prints what one check
task costs on a worker (the check server's time per student, from the results' timings) and
the per-student run time: the figures of the sizing in README.md and docs/distributed.md.

    .venv/bin/python benchmarks/cluster_phase2.py [--size 12] [--budget bundled] [--repeats 2]
        [--slots 1] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))


def grade_once(subs: Path, out: Path, scheduler: str, budget: str, with_checks: bool) -> dict:
    from grader.pipeline import GradeRequest, entries_of, grade
    from grader.report.results import score
    from grader.run import cluster

    original = cluster.ClusterChecks
    if not with_checks:  # the pipeline then runs phase 1 alone on the cluster
        cluster.ClusterChecks = lambda *args, **kwargs: None
    try:
        started = time.monotonic()
        outcome = grade(GradeRequest(entries_of(subs), out, "mnist", budget=budget,
                                     scheduler=scheduler, reports=False))  # fmt: skip
        wall = time.monotonic() - started
    finally:
        cluster.ClusterChecks = original
    runs = [r.timings.get("run", 0.0) for r in outcome.results]
    return {
        "wall": round(wall, 2),
        "cluster_wall": round(outcome.phase_seconds["run"], 2),
        "phases": {k: round(v, 2) for k, v in outcome.phase_seconds.items()},
        "run_mean": round(statistics.mean(runs), 2),
        "scores": {r.id: score(r) for r in outcome.results},
    }


class CheckTimes(logging.Handler):
    """The check tasks' times on the workers, from the grader's log lines."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.seconds: list[float] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if ": checked on " in message and message.endswith(" s)"):
            self.seconds.append(float(message.rsplit("(", 1)[1].split()[0]))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=12)
    parser.add_argument("--budget", default="bundled")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--slots", type=int, default=1, help="sandbox slots (2 cores each)")
    parser.add_argument("--json", help="write the figures here")
    args = parser.parse_args(argv)
    import distributed
    from classroom import make_class

    root = Path(tempfile.mkdtemp(prefix="keras-grader-cluster-"))
    os.environ.setdefault("KERAS_GRADER_CACHE", str(root / "cache"))
    subs = root / "class"
    make_class(subs, args.size)
    rows: dict[str, list] = {"workers": [], "phase1": []}
    times = CheckTimes()
    logger = logging.getLogger("grader.run.cluster")
    logger.setLevel(logging.INFO)
    logger.addHandler(times)
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=args.slots + 1, resources={"sandbox": args.slots},
        processes=True, dashboard_address=None, silence_logs=logging.ERROR,
    ) as cluster:  # fmt: skip
        address = cluster.scheduler_address
        grade_once(subs, root / "warm-up", address, args.budget, True)  # the reference, cached
        times.seconds.clear()  # the first check on a worker starts its check server
        for i in range(args.repeats):
            print(f"repeat {i + 1}/{args.repeats}", file=sys.stderr, flush=True)
            rows["workers"].append(grade_once(subs, root / f"w{i}", address, args.budget, True))
            rows["phase1"].append(grade_once(subs, root / f"p{i}", address, args.budget, False))
        per_check = times.seconds
    med = statistics.median
    with_checks = med(r["wall"] for r in rows["workers"])
    phase1 = med(r["cluster_wall"] for r in rows["phase1"])
    figures = {
        "size": args.size, "budget": args.budget, "slots": args.slots, "repeats": args.repeats,
        "wall_with_checks_on_workers": with_checks,
        "cluster_wall_phase1_only": phase1,
        "phase2_share": round(with_checks / phase1 - 1, 4),
        "run_mean_per_student": med(r["run_mean"] for r in rows["workers"]),
        "check_per_student_median": round(med(per_check), 3),
        "check_per_student_mean": round(statistics.mean(per_check), 3),
        "same_scores": all(r["scores"] == rows["phase1"][0]["scores"]
                           for r in rows["workers"] + rows["phase1"]),
        "rows": rows,
    }  # fmt: skip
    for key, value in figures.items():
        if key != "rows":
            print(f"{key:30} {value}")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
