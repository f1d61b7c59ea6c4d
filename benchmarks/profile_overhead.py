"""Where the grader's own time goes, on the reference alone (warm reference cache).

1. One sandboxed run, timed from the inside: instrumented copies of grader/run/sandbox_init.py
   and grader/run/runner.py (this process points grader.run.sandbox at them; the repo is
   untouched) print
   timestamps (init start, root built, runner started, TensorFlow imported, runner done,
   artifacts copied out) and the time spent writing artifacts (model configs and weights,
   arrays, the manifest after every call, each with fsync), beside the student calls.
2. Phase 2 alone on that run (one pytest session), and `import tensorflow` on the host.
3. The HTML reports of that result.
4. Whole `grade()` runs (benchmarks/grade_driver.py, fresh OUT) of the reference alone, as
   the grader is and with one change at a time: oneDNN off in the sandbox, phase 2 after
   phase 1 instead of alongside, limited isolation; median of --repeats.

Usage: python benchmarks/profile_overhead.py [--budget bundled] [--repeats 3] [--skip-variants]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
from run import MODULES, REFERENCE, TINY, timed  # noqa: E402

MARK = "@@T"

INIT_PATCHES = [
    ("    started = time.monotonic()\n",
     f"    started = time.monotonic()\n    print('{MARK} init_start', time.time(), flush=True)\n"),
    ("        proc = start_runner(cfg)\n",
     f"        print('{MARK} root_built', time.time(), flush=True)\n"
     "        proc = start_runner(cfg)\n"),
    ("    report.update(supervise(cfg, proc))\n",
     f"    report.update(supervise(cfg, proc))\n    print('{MARK} runner_done', time.time(), "
     "flush=True)\n"),
    ("    tmp = cfg[\"report\"] + \".tmp\"\n",
     f"    print('{MARK} copied_out', time.time(), flush=True)\n"
     "    tmp = cfg[\"report\"] + \".tmp\"\n"),
]  # fmt: skip

RUNNER_PATCHES = [
    ("import json\n",
     f"import json\nimport sys as _s, time as _t\n_s.stderr.write('{MARK} runner_start %r\\n' "
     "% _t.time())\n"),
    ("        seed, threads = self.plan[\"seed\"], self.plan[\"threads\"]\n",
     f"        _s.stderr.write('{MARK} tf_imported %r\\n' % _t.time())\n"
     "        seed, threads = self.plan[\"seed\"], self.plan[\"threads\"]\n"),
    ("    Runner(plan).run()\n",
     "    Runner(plan).run()\n    _report_timers()\n"),
]  # fmt: skip

RUNNER_TIMERS = f'''

_TIMERS = {{}}


def _timed(name, fn):
    import functools

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        start = _t.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            _TIMERS[name] = _TIMERS.get(name, 0.0) + _t.perf_counter() - start

    return wrapper


for _name in ("flush", "save_model", "save_arrays", "compile_facts", "describe_array"):
    setattr(Runner, _name, _timed(_name, getattr(Runner, _name)))
_write_bytes = _timed("write_bytes", _write_bytes)


def _report_timers():
    _s.stderr.write("{MARK} timers " + json.dumps(_TIMERS) + "\\n")
    _s.stderr.write("{MARK} runner_end %r\\n" % _t.time())
'''


def instrumented(source: Path, patches: list[tuple[str, str]], dest: Path, extra: str = ""):
    text = source.read_text()
    for old, new in patches:
        if old not in text:
            raise SystemExit(f"profile: cannot instrument {source.name}: {old!r} not found")
        text = text.replace(old, new, 1)
    if extra:
        marker = '\nif __name__ == "__main__":'
        text = text.replace(marker, extra + marker, 1)
    dest.write_text(text)
    dest.chmod(0o644)
    return dest


def marks(text: str) -> dict:
    found = {}
    for line in text.splitlines():
        if line.startswith(MARK):
            _, name, value = line.split(" ", 2)
            found[name] = json.loads(value) if name == "timers" else float(value)
    return found


def sandbox_breakdown(config, budget, work: Path, root: Path) -> dict:
    import grader.run.sandbox as sandbox
    from grader.run.local import run_dir, run_student

    folder = root / "instrumented"
    folder.mkdir()
    folder.chmod(0o755)
    saved = sandbox.INIT, sandbox.RUNNER
    sandbox.INIT = instrumented(sandbox.INIT, INIT_PATCHES, folder / "sandbox_init.py")
    sandbox.RUNNER = instrumented(sandbox.RUNNER, RUNNER_PATCHES, folder / "runner.py",
                                  RUNNER_TIMERS)  # fmt: skip
    subs = root / "subs" / "reference"
    subs.mkdir(parents=True)
    for name in MODULES:
        shutil.copyfile(REFERENCE / f"{name}.py", subs / f"{name}.py")
    try:
        start = time.time()
        record = run_student(subs, "reference", config, budget, work)
        end = time.time()
    finally:
        sandbox.INIT, sandbox.RUNNER = saved
    job = run_dir(work, "reference") / "job"
    points = {**marks((job / "sandbox.log").read_text()), **marks(record.stderr)}
    manifest = json.loads((job / "out" / "manifest.json").read_text())
    calls = {k: v.get("duration") or 0.0 for k, v in manifest["calls"].items()}
    timers = points.pop("timers", {})
    t = {k: v - start for k, v in points.items()}
    steps = {
        "host: prepare + plan, until init starts": t["init_start"],
        "init: namespaces, minimal root (mounts)": t["root_built"] - t["init_start"],
        "runner: exec chain + python start": t["runner_start"] - t["root_built"],
        "runner: numpy, inputs, import tensorflow+keras": t["tf_imported"] - t["runner_start"],
        "runner: student calls (train, evaluate, ...)": sum(calls.values()),
        "runner: artifacts (write_bytes incl. fsync, get_config/weights)":
            timers.get("save_model", 0) + timers.get("save_arrays", 0)
            + timers.get("flush", 0) + timers.get("compile_facts", 0),
        "runner: rest (seeding, fallbacks, glue)":
            (t["runner_end"] - t["tf_imported"]) - sum(calls.values())
            - timers.get("save_model", 0) - timers.get("save_arrays", 0)
            - timers.get("flush", 0) - timers.get("compile_facts", 0),
        "runner exit + init supervision": t["runner_done"] - t["runner_end"],
        "init: copy artifacts out": t["copied_out"] - t["runner_done"],
        "host: report, classify": end - start - t["copied_out"],
    }  # fmt: skip
    return {
        "total": round(end - start, 3),
        "steps": {k: round(v, 3) for k, v in steps.items()},
        "timers": {k: round(v, 3) for k, v in timers.items()},
        "calls": {k: round(v, 3) for k, v in calls.items() if v > 0.05},
        "record": record,
    }


def phase2_alone(config, budget_name: str, reference, record, work: Path, copies: int) -> dict:
    """One session on the run, then one on `copies` copies of it: the slope is phase 2's
    cost per submission, the rest its fixed cost (TensorFlow, data, the reference)."""
    import dataclasses

    from grader.check.session import run_checks

    start = time.monotonic()
    checked = run_checks(config, budget_name, "bundled", reference, [record], work / "p2")
    session = time.monotonic() - start
    many = [dataclasses.replace(record, id=f"copy{i:03d}") for i in range(copies)]
    start = time.monotonic()
    run_checks(config, budget_name, "bundled", reference, many, work / "p2-many")
    session_many = time.monotonic() - start
    per = (session_many - session) / (copies - 1)
    tf = timed([sys.executable, "-c", "import tensorflow, keras"])
    return {
        "session": round(session, 3),
        f"session_{copies}": round(session_many, 3),
        "per_submission": round(per, 3),
        "fixed": round(session - per, 3),
        "import_tensorflow_host": tf["wall"],
        "checks": len(checked["submissions"].get("reference", {}).get("checks", [])),
    }


def reports(config, record, checked_session: dict, work: Path) -> dict:
    """Render one student report and the dashboard from a result built like the pipeline's."""
    import grader.report as render
    from grader.pipeline import assemble
    from grader.report.results import summarize

    started = time.monotonic()
    result = assemble(record, checked_session, config, {}, 0.0, "now")
    html = render.student(result)
    student = time.monotonic() - started
    started = time.monotonic()
    render.dashboard([result], summarize([result]))
    return {"student_report": round(student, 3), "dashboard": round(time.monotonic() - started, 3),
            "student_report_kib": len(html) >> 10}  # fmt: skip


def variants(args, assignment: Path, root: Path, cache: Path) -> dict:
    subs = root / "subs"
    out = {}
    names = {
        "as is": [],
        "oneDNN off in the sandbox": ["--onednn", "off"],
        "phase 2 after phase 1": ["--no-overlap"],
        "limited isolation": ["--isolation", "limited"],
        "no HTML reports": ["--no-reports"],
    }
    bare = [sys.executable, str(HERE / "bare_reference.py"), "--assignment", str(assignment),
            "--budget", args.budget]  # fmt: skip
    rows: dict[str, list] = {name: [] for name in [*names, "bare script"]}
    for i in range(args.repeats):
        for name, extra in names.items():  # interleaved: the machine's load hits all alike
            print(f"variant {name!r} {i + 1}/{args.repeats}", file=sys.stderr, flush=True)
            rows[name].append(timed(
                [sys.executable, str(HERE / "grade_driver.py"), str(subs),
                 str(root / f"out-{len(rows[name])}-{name.replace(' ', '_')}"),
                 "--assignment", str(assignment), "--budget", args.budget, *extra],
                {"KERAS_GRADER_CACHE": str(cache)}))  # fmt: skip
        rows["bare script"].append(timed(bare))
    for name, runs in rows.items():
        out[name] = {
            "wall": round(statistics.median(r["wall"] for r in runs), 2),
            "cpu": round(statistics.median(r["cpu"] for r in runs), 2),
            "phases": runs[0]["out"].get("phases"),
            "load": [r["load"] for r in runs],
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", default="bundled")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-variants", action="store_true")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="keras-grader-profile-"))
    cache = root / "cache"
    os.environ["KERAS_GRADER_CACHE"] = str(cache)
    try:
        from grader.config import load_config
        from grader.data import dataset_label, load_data
        from grader.run.local import run_reference

        assignment = REFERENCE
        if args.budget == "tiny":
            assignment = root / "assignment" / "mnist"
            shutil.copytree(REFERENCE, assignment, ignore=shutil.ignore_patterns("__pycache__"))
            with open(assignment / "assignment.toml", "a") as f:
                f.write(TINY)
        config = load_config(assignment)
        budget = config.budget(args.budget)
        work = root / "work"
        reference = run_reference(config, load_data(config, "bundled"), budget,
                                  dataset_label(config, "bundled"), work)  # fmt: skip
        result: dict = {"budget": args.budget}
        sandbox = sandbox_breakdown(config, budget, work, root)
        record = sandbox.pop("record")
        result["sandbox"] = sandbox
        result["phase2"] = phase2_alone(config, args.budget, reference, record, work, 9)
        session = json.loads((work / "p2" / "session-0000" / "phase2-results.json").read_text())
        result["reports"] = reports(config, record, session["submissions"]["reference"], work)
        if not args.skip_variants:
            result["variants"] = variants(args, assignment, root, cache)
        print(json.dumps(result, indent=1))
        if args.json:
            args.json.write_text(json.dumps(result, indent=1))
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
