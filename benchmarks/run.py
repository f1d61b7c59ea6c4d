"""The grader's own cost, measured: run the benchmarks and print a table (see README.md).

(a) reference: the bare script (benchmarks/bare_reference.py: the reference's phase-1 work
    in one fresh process) vs `grader grade` on the reference alone, fresh OUT every time,
    with the reference cache cold (the reference's own run included) and warm (reused).
(b) class: a generated class of varied submissions (benchmarks/classroom.py), warm cache:
    wall time, phase split, CPU time, vs N x the bare reference and vs the bare sum (the
    bare script on every submission's own code, one after the other).
(c) workers: the same class with --workers 1 and --workers 2.
(d) cold class: the same class with --workers 2 and a cold cache (the reference trains beside
    the students), against (b)'s warm grading, interleaved with it.

Wall times are medians over --repeats; CPU is user+sys of the whole process tree (the
sandboxes and the phase-2 session included), which the machine's other load disturbs less.

Usage:
    python benchmarks/run.py [--repeats 5] [--budget bundled] [--class-size 30] [--only a,b,c,d]
    python benchmarks/run.py --budget tiny --repeats 1 --class-size 3   # a smoke run
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
REFERENCE = REPO / "reference" / "mnist"
PYTHON = sys.executable
GRADER = str(Path(sys.executable).with_name("grader"))
MODULES = ("preprocessing", "models", "training")
TINY = """
[budget.tiny]
train_samples = 200
mlp = { epochs = 1, batch_size = 100, validation_split = 0.0 }
cnn = { epochs = 1, batch_size = 100, validation_split = 0.0 }
"""

sys.path.insert(0, str(HERE))
from classroom import make_class  # noqa: E402


def timed(argv: list[str], env: dict | None = None, check: bool = True) -> dict:
    """Run a command to completion; its wall time, the CPU of its whole tree, its last
    stdout line parsed as JSON (if any), and the 1-minute load average around it."""
    load = os.getloadavg()[0]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    proc = subprocess.run(argv, capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, stdin=subprocess.DEVNULL)  # fmt: skip
    wall = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0 and check:
        raise SystemExit(f"benchmark command failed ({proc.returncode}): {' '.join(argv)}\n"
                         f"{proc.stderr[-2000:]}")  # fmt: skip
    lines = proc.stdout.strip().splitlines()
    try:
        data = json.loads(lines[-1]) if lines else {}
    except ValueError:
        data = {}
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall": round(wall, 3), "cpu": round(cpu, 3), "load": round(load, 2), "out": data,
            "exit": proc.returncode}  # fmt: skip


class Bench:
    def __init__(self, args: argparse.Namespace, root: Path) -> None:
        self.args, self.root = args, root
        self.assignment = self._assignment()
        self.warm_cache = root / "cache-warm"
        self.counter = 0

    def _assignment(self) -> Path:
        """The reference, plus a `tiny` budget when asked for (a copy: the repo is untouched)."""
        if self.args.budget != "tiny":
            return REFERENCE
        copy = self.root / "assignment" / "mnist"
        shutil.copytree(REFERENCE, copy, ignore=shutil.ignore_patterns("__pycache__"))
        with open(copy / "assignment.toml", "a") as f:
            f.write(TINY)
        return copy

    def fresh(self, name: str) -> Path:
        self.counter += 1
        return self.root / f"{self.counter:03d}-{name}"

    def bare(self, code: Path = REFERENCE) -> dict:
        """The bare script; a student's code may end it (os._exit in train): not an error."""
        return timed(
            [
                PYTHON,
                str(HERE / "bare_reference.py"),
                "--code",
                str(code),
                "--assignment",
                str(self.assignment),
                "--budget",
                self.args.budget,
            ],
            check=code == REFERENCE,
        )

    def grader_cli(self, subs: Path, cache: Path) -> dict:
        if self.args.variant:  # a variant of the grader: only the driver can make it
            return self.driver(subs, cache)
        return timed([GRADER, "grade", str(subs), "--out", str(self.fresh("out")),
                      "--assignment", str(self.assignment), "--budget", self.args.budget],
                     {"KERAS_GRADER_CACHE": str(cache)})  # fmt: skip

    def driver(self, subs: Path, cache: Path, *extra: str) -> dict:
        return timed([PYTHON, str(HERE / "grade_driver.py"), str(subs), str(self.fresh("out")),
                      "--assignment", str(self.assignment), "--budget", self.args.budget,
                      *self.args.variant.split(), *extra],
                     {"KERAS_GRADER_CACHE": str(cache)})  # fmt: skip

    def reference_only(self) -> Path:
        subs = self.root / "reference-only"
        (subs / "reference").mkdir(parents=True, exist_ok=True)
        for name in MODULES:
            shutil.copyfile(REFERENCE / f"{name}.py", subs / "reference" / f"{name}.py")
        return subs


def median(rows: list[dict], key: str) -> float:
    return round(statistics.median(r[key] for r in rows), 2)


def bench_reference(b: Bench, results: dict) -> None:
    subs = b.reference_only()
    rows: dict[str, list] = {"bare": [], "cold": [], "warm": []}
    for i in range(b.args.repeats):
        print(f"(a) repeat {i + 1}/{b.args.repeats}", file=sys.stderr, flush=True)
        rows["bare"].append(b.bare())
        # The first cold run fills the cache that every warm run then uses.
        rows["cold"].append(b.grader_cli(subs, b.warm_cache if i == 0 else b.fresh("cache")))
        rows["warm"].append(b.grader_cli(subs, b.warm_cache))
    bare = median(rows["bare"], "wall")
    results["a"] = {
        "rows": rows,
        "bare": bare,
        "bare_cpu": median(rows["bare"], "cpu"),
        "cold": median(rows["cold"], "wall"),
        "cold_cpu": median(rows["cold"], "cpu"),
        "warm": median(rows["warm"], "wall"),
        "warm_cpu": median(rows["warm"], "cpu"),
        "ratio_cold": round(median(rows["cold"], "wall") / bare, 3),
        "ratio_warm": round(median(rows["warm"], "wall") / bare, 3),
        "ratio_warm_cpu": round(median(rows["warm"], "cpu") / median(rows["bare"], "cpu"), 3),
    }


def bench_class(b: Bench, results: dict, parts: set[str]) -> None:
    subs = b.root / "class"
    if not subs.exists():
        make_class(subs, b.args.class_size)
    if "a" not in results:
        b.driver(b.reference_only(), b.warm_cache)  # warms the reference cache (not timed)
    out: dict = {"size": b.args.class_size}
    runs2, runs1, cold = [], [], []
    for i in range(b.args.class_repeats):
        print(f"(b/c) class repeat {i + 1}/{b.args.class_repeats}", file=sys.stderr, flush=True)
        runs2.append(b.driver(subs, b.warm_cache, "--workers", "2"))
        if "c" in parts:
            runs1.append(b.driver(subs, b.warm_cache, "--workers", "1"))
        if "d" in parts:
            cold.append(b.driver(subs, b.fresh("cache"), "--workers", "2"))
    if cold:
        out["cold"] = {"wall": median(cold, "wall"), "cpu": median(cold, "cpu"),
                       "phases": cold[0]["out"].get("phases"), "rows": cold}  # fmt: skip
    out["workers2"] = {"wall": median(runs2, "wall"), "cpu": median(runs2, "cpu"),
                       "phases": runs2[0]["out"].get("phases"), "rows": runs2}  # fmt: skip
    if runs1:
        out["workers1"] = {"wall": median(runs1, "wall"), "cpu": median(runs1, "cpu"),
                           "phases": runs1[0]["out"].get("phases"), "rows": runs1}  # fmt: skip
    statuses: dict[str, int] = {}
    for run in runs2[0]["out"].get("runs", {}).values():
        statuses[run["status"]] = statuses.get(run["status"], 0) + 1
    out["statuses"] = statuses
    if "a" in results:
        out["n_bare"] = round(b.args.class_size * results["a"]["bare"], 2)
        out["n_bare_cpu"] = round(b.args.class_size * results["a"]["bare_cpu"], 2)
    results["b"] = out
    save(b.args.json, results)
    if b.args.bare_sum:
        out["bare_sum"] = bare_sum(b, subs)


def bare_sum(b: Bench, subs: Path) -> dict:
    """The bare script on every submission's own code (as the grader's loader normalises
    it; refused ones cost nothing), one after the other."""
    sys.path.insert(0, str(REPO))
    from grader.config import find_assignment
    from grader.pipeline import entries_of
    from grader.run.submission import SubmissionError, prepare

    contract = find_assignment("mnist").modules

    wall = cpu = 0.0
    for entry in entries_of(subs):
        code = Path(tempfile.mkdtemp(dir=b.root)) / "code"
        try:
            prepare(entry, code, contract)
        except SubmissionError:
            continue
        row = b.bare(code)
        wall, cpu = wall + row["wall"], cpu + row["cpu"]
    return {"wall": round(wall, 2), "cpu": round(cpu, 2)}


def versions() -> dict:
    from importlib.metadata import version

    facts = {"python": platform.python_version(), "machine": platform.machine(),
             "cpus": os.cpu_count(), "kernel": platform.release()}  # fmt: skip
    for dist in ("tensorflow-cpu", "keras", "numpy", "keras-grader"):
        try:
            facts[dist] = version(dist)
        except Exception:  # noqa: BLE001
            facts[dist] = "-"
    try:
        model = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
                     if line.startswith("model name"))  # fmt: skip
        facts["cpu"] = model
    except (OSError, StopIteration):
        pass
    return facts


def table(results: dict) -> str:
    lines = ["| measurement | wall (s) | CPU (s) | vs bare |", "|---|---:|---:|---:|"]
    if "a" in results:
        a = results["a"]
        lines.append(f"| (a) bare reference script | {a['bare']} | {a['bare_cpu']} | 1 |")
        lines.append(
            f"| (a) `grader grade`, reference alone, warm cache | {a['warm']} | "
            f"{a['warm_cpu']} | **{a['ratio_warm']}** (CPU {a['ratio_warm_cpu']}) |"
        )
        lines.append(f"| (a) `grader grade`, reference alone, cold cache | {a['cold']} | "
                     f"{a['cold_cpu']} | {a['ratio_cold']} |")  # fmt: skip
    if "b" in results:
        c = results["b"]
        n = c["size"]
        w2 = c["workers2"]
        ref = c.get("n_bare")
        vs = f"{w2['wall'] / ref:.3f} of {n} x bare" if ref else "-"
        lines.append(f"| (b) class of {n}, --workers 2, warm cache | {w2['wall']} | "
                     f"{w2['cpu']} | {vs} |")  # fmt: skip
        if ref:
            lines.append(f"| (b) {n} x bare reference | {ref} | {c['n_bare_cpu']} | 1 |")
        if "bare_sum" in c:
            s = c["bare_sum"]
            lines.append(f"| (b) bare sum (bare script on each submission) | {s['wall']} | "
                         f"{s['cpu']} | class/bare sum: **{w2['wall'] / s['wall']:.3f}** "
                         f"(CPU {w2['cpu'] / s['cpu']:.3f}) |")  # fmt: skip
        if "cold" in c:
            d = c["cold"]
            lines.append(f"| (d) class of {n}, --workers 2, cold cache | {d['wall']} | "
                         f"{d['cpu']} | cold/warm: **{d['wall'] / w2['wall']:.3f}** |")  # fmt: skip
        if "workers1" in c:
            w1 = c["workers1"]
            lines.append(f"| (c) class of {n}, --workers 1 | {w1['wall']} | {w1['cpu']} | "
                         f"speed-up with 2: {w1['wall'] / w2['wall']:.2f}x |")  # fmt: skip
        lines.append("")
        lines.append(
            f"Phases of the class run (--workers 2): {w2['phases']}; statuses: {c['statuses']}"
        )
        if "workers1" in c:
            lines.append(f"Phases with --workers 1: {c['workers1']['phases']}")
        if "cold" in c:
            lines.append(f"Phases with a cold cache: {c['cold']['phases']}")
    return "\n".join(lines)


def save(path: Path | None, results: dict) -> None:
    if path is not None:
        path.write_text(json.dumps(results, indent=1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="repeats of (a); median")
    parser.add_argument("--class-repeats", type=int, default=1, help="repeats of (b) and (c)")
    parser.add_argument(
        "--budget",
        default="bundled",
        help="budget name; `tiny` adds a tiny budget to a copy of the reference",
    )
    parser.add_argument("--class-size", type=int, default=30)
    parser.add_argument("--only", default="a,b,c", help="which of a,b,c,d to run")
    parser.add_argument(
        "--no-bare-sum",
        dest="bare_sum",
        action="store_false",
        help="skip the bare script on every class member (the longest part)",
    )
    parser.add_argument(
        "--variant",
        default="",
        help="grade with benchmarks/grade_driver.py and these options (e.g. '--onednn on') "
        "instead of the grader as it is",
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    parser.add_argument(
        "--keep",
        type=Path,
        default=None,
        help="work in this directory and keep it (default: a temp dir)",
    )
    args = parser.parse_args()  # fmt: skip
    parts = set(args.only.split(","))
    root = args.keep or Path(tempfile.mkdtemp(prefix="keras-grader-bench-"))
    root.mkdir(parents=True, exist_ok=True)
    try:
        bench = Bench(args, root)
        results: dict = {"versions": versions(), "budget": args.budget, "variant": args.variant,
                         "repeats": args.repeats, "started": time.strftime("%F %T")}  # fmt: skip
        if "a" in parts:
            bench_reference(bench, results)
            save(args.json, results)  # a later failure must not lose the earlier parts
        if parts & {"b", "c", "d"}:
            bench_class(bench, results, parts)
        results["table"] = table(results)
        print(results["table"])
        save(args.json, results)
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
