"""A cold grading of a class of one (the reference's code), two grader checkouts interleaved.

Each run gets a fresh `KERAS_GRADER_CACHE`, so it includes the reference's own run; the two
checkouts are imported through PYTHONPATH with this venv's packages. Prints each run and the
medians of wall and CPU (user+sys of the process tree).

    git worktree add /tmp/before 92d6c4f
    .venv/bin/python benchmarks/cold_before_after.py --before /tmp/before --after . --repeats 3
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
GRADER = str(Path(sys.executable).with_name("grader"))
MODULES = ("preprocessing", "models", "training")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", type=Path, required=True, help="a checkout of the grader")
    parser.add_argument("--after", type=Path, required=True, help="another checkout")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    root = Path(tempfile.mkdtemp(prefix="cold-before-after-"))
    subs = root / "class" / "reference"
    subs.mkdir(parents=True)
    for module in MODULES:
        shutil.copyfile(HERE.parent / "reference" / "mnist" / f"{module}.py", subs / f"{module}.py")
    rows: dict[str, list] = {"before": [], "after": []}
    try:
        for i in range(args.repeats):
            for name, tree in (("before", args.before), ("after", args.after)):
                env = {**os.environ, "PYTHONPATH": str(tree.resolve()),
                       "KERAS_GRADER_CACHE": str(root / f"cache-{name}-{i}")}  # fmt: skip
                r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
                started = time.monotonic()
                subprocess.run([GRADER, "grade", str(root / "class"), "--out",
                                str(root / f"out-{name}-{i}"), "--assignment", "mnist"],
                               env=env, check=True, capture_output=True)  # fmt: skip
                wall = time.monotonic() - started
                r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
                cpu = r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime
                rows[name].append({"wall": round(wall, 2), "cpu": round(cpu, 2)})
                print(name, i + 1, rows[name][-1], flush=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    medians = {name: {m: statistics.median(r[m] for r in runs) for m in ("wall", "cpu")}
               for name, runs in rows.items()}  # fmt: skip
    print(json.dumps({"rows": rows, "median": medians}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
