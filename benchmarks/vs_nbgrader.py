"""keras-grader vs nbgrader on the same notebooks: both wall times and their ratio.

Method (benchmarks/README.md has the figures):
- One nbgrader course is built in a fresh work folder (its notebooks: nbgrader_course.py).
  Its source notebook `mnist.ipynb` has a
  locked set-up cell (imports; the bundled 5,000 digits, 4,000 train / 1,000 test, exactly as
  `grader.data` splits them, read from an `.npz` in the assignment folder: no internet), three
  solution cells (preprocessing, models, training: the reference solution, whose
  `# BEGIN SOLUTION` markers nbgrader understands) and eight locked, autograded test cells
  worth 100 points. The tests check what keras-grader's checks check, in nbgrader's way:
  preprocessing shapes, dtypes and values, one-hot rows, layer types, parameter counts and
  compile settings of both models, then train each model with the grading budget of
  `reference/mnist/assignment.toml` (the same train_samples, epochs, batch sizes and
  validation split as `grader grade --budget`), a minimum test accuracy on the 1,000 test
  images (bundled: the floors of reference/mnist/README.md), and a save/load round trip.
- `nbgrader generate_assignment` releases it; N students fill in the solution cells (half of
  them with the reference's code, half with a second spelling, as the example notebook writes
  it), and every other student adds an exploratory cell that trains a model for 10 epochs on
  the training images (`--explore mlp|cnn`), as students do before handing in. Those N
  notebooks go to `submitted/<student>/mnist/mnist.ipynb`, and the very same files to a
  folder of `<student>.ipynb` for `grader grade`, which ignores top-level statements such as
  the exploratory cell (and the test cells); nbgrader runs every cell.
- Untimed: the nbgrader venv (created once, reused), the course, and one TensorFlow import
  (both tools train in the same interpreter: neither pays for the other's cold page cache).
- Timed, one after the other, in this run, with `time.monotonic()` around each command:
  `nbgrader autograde mnist`, then `grader grade SUBMISSIONS --budget B` with an empty
  `KERAS_GRADER_CACHE` (cold: the grader also trains the reference, to derive its expected
  values). Each tool as it comes: nbgrader executes the notebooks one at a time; the grader
  runs its default number of sandboxes (2 on 2 cores).
- Both must give every student full marks (nbgrader: `nbgrader export`; the grader:
  `grades.csv`), else the failing cells or checks are listed and the exit status is 1.

nbgrader runs in a venv of its own (`nbgrader==0.9.*`, default
`~/.cache/keras-grader-bench/nbgrader-venv`). Its notebooks run on a Jupyter kernel whose
Python is this interpreter (the project's venv: ipykernel is in its `dev` extra), declared in
the work folder (`JUPYTER_PATH`): both tools train with the very same TensorFlow and Keras.

Usage:
    python benchmarks/vs_nbgrader.py [--n 10] [--budget bundled|quick] [--explore mlp|cnn]
                                     [--keep DIR] [--json FILE] [--nbgrader-venv DIR]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from importlib.metadata import PackageNotFoundError, version
from importlib.util import find_spec
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
PYTHON = sys.executable
GRADER = str(Path(sys.executable).with_name("grader"))
NBGRADER = "nbgrader==0.9.*"
DEFAULT_VENV = Path.home() / ".cache" / "keras-grader-bench" / "nbgrader-venv"

sys.path.insert(0, str(HERE))
from nbgrader_course import (  # noqa: E402
    ASSIGNMENT,
    DATA_FILE,
    EXPLORE,
    FLOORS,
    FULL_MARKS,
    KERNEL,
    source_notebook,
    student_notebook,
    students,
)

# ---- nbgrader: its venv, the kernel, the course --------------------------------------------


def nbgrader_venv(venv: Path) -> Path:
    """The `nbgrader` command of a venv of its own, created (and nbgrader installed) if
    needed."""
    exe = venv / "bin" / "nbgrader"
    if exe.is_file() and _nbgrader_version(venv).startswith("0.9."):
        return exe
    print(f"installing {NBGRADER} into {venv} (once) ...", file=sys.stderr, flush=True)
    venv.parent.mkdir(parents=True, exist_ok=True)
    for argv in (
        [PYTHON, "-m", "venv", "--clear", str(venv)],
        [
            str(venv / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            NBGRADER,
        ],
    ):
        proc = subprocess.run(argv, capture_output=True, text=True)
        if proc.returncode != 0:
            raise SystemExit(
                f"error: could not set up nbgrader's venv ({' '.join(argv)}):\n"
                f"{proc.stderr[-2000:]}\nhint: pip needs PyPI (or a mirror); or "
                "pass --nbgrader-venv to a venv that has nbgrader 0.9"
            )
    return exe


def _nbgrader_version(venv: Path) -> str:
    proc = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-c",
            "from importlib.metadata import version; print(version('nbgrader'))",
        ],
        capture_output=True,
        text=True,
    )
    return proc.stdout.strip() if proc.returncode == 0 else ""


def write_kernel(jupyter: Path) -> None:
    """Declare the kernel the notebooks run on: this interpreter (the project's venv)."""
    if find_spec("ipykernel") is None:
        raise SystemExit(
            f"error: {PYTHON} has no ipykernel, so nbgrader cannot run notebooks "
            "on it\nhint: pip install -e '.[dev]' (the dev extra has ipykernel)"
        )
    spec = jupyter / "kernels" / KERNEL
    spec.mkdir(parents=True, exist_ok=True)
    (spec / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [PYTHON, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": "Python 3 (keras-grader venv)",
                "language": "python",
            },
            indent=1,
        )
    )


def nbgrader_env(work: Path, nbgrader: Path) -> dict:
    """nbgrader's environment: its venv activated (it runs `alembic` from PATH), our kernel,
    and no user-wide Jupyter or IPython configuration."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env.update(
        PATH=f"{nbgrader.parent}{os.pathsep}{env.get('PATH', '')}",
        VIRTUAL_ENV=str(nbgrader.parent.parent),
        JUPYTER_PATH=str(work / "jupyter"),
        JUPYTER_CONFIG_DIR=str(work / "jupyter-config"),
        JUPYTER_DATA_DIR=str(work / "jupyter-data"),
        JUPYTER_RUNTIME_DIR=str(work / "jupyter-runtime"),
        IPYTHONDIR=str(work / "ipython"),
    )
    return env


def write_data(path: Path) -> None:
    """The bundled split exactly as the grader makes it, as keras's four arrays."""
    import numpy as np

    sys.path.insert(0, str(REPO))
    from grader.config import find_assignment
    from grader.data import load_data

    (x_train, y_train), (x_test, y_test) = load_data(find_assignment(ASSIGNMENT), "bundled")
    np.savez(path, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)


def build(work: Path, args: argparse.Namespace, nbgrader: Path, env: dict) -> list[str]:
    """The nbgrader course (released, N submitted) and the grader's folder of the same
    notebooks; returns the student ids."""
    course, subs = work / "course", work / "submissions"
    source = course / "source" / ASSIGNMENT
    (work / "logs").mkdir(exist_ok=True)
    source.mkdir(parents=True)
    subs.mkdir()
    (course / "nbgrader_config.py").write_text(
        "c = get_config()  # noqa: F821\n"
        f"c.CourseDirectory.course_id = {KERNEL!r}\n"
        f"c.Execute.kernel_name = {KERNEL!r}\n"
        "c.Execute.timeout = 3600  # per cell: training cells take minutes on a busy machine\n"
    )
    write_data(source / DATA_FILE)
    (source / f"{ASSIGNMENT}.ipynb").write_text(json.dumps(source_notebook(args.budget), indent=1))
    run(
        [str(nbgrader), "generate_assignment", ASSIGNMENT],
        course,
        env,
        work / "logs" / "generate_assignment.log",
    )
    released = json.loads((course / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_text())
    ids = []
    for sid, spelling, explores in students(args.n):
        nb = json.dumps(
            student_notebook(released, spelling, args.explore if explores else None), indent=1
        )
        folder = course / "submitted" / sid / ASSIGNMENT
        folder.mkdir(parents=True)
        (folder / f"{ASSIGNMENT}.ipynb").write_text(nb)
        (subs / f"{sid}.ipynb").write_text(nb)
        ids.append(sid)
    return ids


# ---- running and reading the results -------------------------------------------------------


def run(argv: list[str], cwd: Path, env: dict | None, log: Path, check: bool = True) -> dict:
    """Run a command to completion, its output to `log`; its wall time (monotonic), the CPU
    time of its process tree, its exit status and the 1-minute load average before it.
    A failure ends the benchmark if `check`."""
    load = os.getloadavg()[0]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    with open(log, "w") as out:
        proc = subprocess.run(
            argv, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
    wall = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if check and proc.returncode != 0:
        tail = log.read_text(errors="replace")[-3000:]
        raise SystemExit(
            f"error: {' '.join(argv)} failed ({proc.returncode}); its log, {log}, ends:\n{tail}"
        )
    return {
        "wall": round(wall, 2),
        "cpu": round(cpu, 2),
        "load": round(load, 2),
        "exit": proc.returncode,
    }


def nbgrader_scores(course: Path, nbgrader: Path, env: dict) -> dict[str, dict]:
    """Each student's score and maximum, from `nbgrader export` (its gradebook as CSV)."""
    out = course / "grades.csv"
    run(
        [str(nbgrader), "export", "--to", str(out)],
        course,
        env,
        course.parent / "logs" / "export.log",
    )
    with open(out, newline="") as f:
        return {
            row["student_id"]: {
                "score": _float(row["score"]),
                "max_score": _float(row["max_score"]),
            }
            for row in csv.DictReader(f)
            if row["assignment"] == ASSIGNMENT
        }


def nbgrader_failures(course: Path, sid: str) -> list[str]:
    """The autograded test cells of a student's notebook that raised, with the error."""
    path = course / "autograded" / sid / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    if not path.is_file():
        return ["no autograded notebook (see nbgrader's log)"]
    failed = []
    for cell in json.loads(path.read_text())["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                where = meta.get("grade_id") or "an unmarked cell"
                failed.append(f"{where}: {output.get('ename')}: {output.get('evalue', '')[:200]}")
    return failed


def grader_scores(out: Path) -> dict[str, dict]:
    """Each student's score, maximum and status, from the grader's `grades.csv`."""
    path = out / "grades.csv"
    if not path.is_file():
        return {}
    with open(path, newline="") as f:
        return {
            row["id"]: {
                "score": _float(row["score"]),
                "max_score": _float(row["max_score"]),
                "status": row["status"],
            }
            for row in csv.DictReader(f)
        }


def grader_failures(out: Path, sid: str) -> list[str]:
    """The checks of a student's results.json that lost points, with their first line."""
    path = out / sid / "results.json"
    if not path.is_file():
        return ["no results.json (see the grader's log)"]
    return [
        f"{t['name']}: {((t.get('output') or '').strip().splitlines() or [''])[0][:200]}"
        for t in json.loads(path.read_text()).get("tests", [])
        if t.get("score", 0) < t.get("max_score", 0)
    ]


def _float(text: str) -> float:
    try:
        return float(text)
    except ValueError:  # an empty cell: no score
        return float("nan")


def full_marks(scores: dict[str, dict], ids: list[str]) -> bool:
    return set(scores) == set(ids) and all(
        s["score"] == s["max_score"] == FULL_MARKS for s in scores.values()
    )


def versions(venv: Path) -> dict:
    facts = {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "kernel": platform.release(),
        "nbgrader": _nbgrader_version(venv),
    }
    commit = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    )
    facts["keras-grader commit"] = commit.stdout.strip() or "-"
    for dist in ("tensorflow-cpu", "keras", "numpy", "keras-grader"):
        try:
            facts[dist] = version(dist)
        except PackageNotFoundError:
            facts[dist] = "-"
    try:
        facts["cpu"] = next(
            line.split(":", 1)[1].strip()
            for line in open("/proc/cpuinfo")
            if line.startswith("model name")
        )
    except (OSError, StopIteration):
        pass
    return facts


def table(results: dict) -> str:
    nb, kg = results["nbgrader"], results["keras_grader"]
    rows = [
        "| tool | wall (s) | CPU (s) | students | all full marks | load before |",
        "|---|---:|---:|---:|---|---:|",
    ]
    for name, r in (
        (f"nbgrader {results['versions']['nbgrader']} `autograde`", nb),
        ("keras-grader `grade`, cold cache", kg),
    ):
        rows.append(
            f"| {name} | {r['wall']} | {r['cpu']} | {len(r['scores'])} | "
            f"{'yes' if r['full_marks'] else 'NO'} | {r['load']} |"
        )
    rows.append("")
    rows.append(
        f"nbgrader / keras-grader wall time: **{results['ratio']}x** "
        f"({results['n']} notebooks, budget {results['budget']}, "
        f"{results['exploring']} with a 10-epoch {results['explore']} cell)"
    )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10, help="notebooks (students); default 10")
    parser.add_argument(
        "--budget",
        default="bundled",
        choices=sorted(FLOORS),
        help="training budget of both tools (quick: a smoke run)",
    )
    parser.add_argument(
        "--explore",
        default="mlp",
        choices=sorted(EXPLORE),
        help="the model the exploratory 10-epoch cell trains",
    )
    parser.add_argument(
        "--keep",
        type=Path,
        default=None,
        help="work in this new directory and keep it (default: a temp dir)",
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    parser.add_argument(
        "--nbgrader-venv",
        type=Path,
        default=DEFAULT_VENV,
        help=f"nbgrader's own venv, made if missing (default {DEFAULT_VENV})",
    )
    args = parser.parse_args(argv)
    args.argv = sys.argv[1:] if argv is None else list(argv)
    if args.n < 1:
        parser.error("--n must be at least 1")
    if args.keep is not None and args.keep.exists() and any(args.keep.iterdir()):
        parser.error(f"--keep {args.keep} is not empty: give a new folder (every run is cold)")
    work = (args.keep or Path(tempfile.mkdtemp(prefix="vs-nbgrader-"))).resolve()
    work.mkdir(parents=True, exist_ok=True)
    try:
        return measure(args, work)
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


def measure(args: argparse.Namespace, work: Path) -> int:
    nbgrader = nbgrader_venv(args.nbgrader_venv)
    write_kernel(work / "jupyter")
    env = nbgrader_env(work, nbgrader)
    ids = build(work, args, nbgrader, env)
    course, subs, out = work / "course", work / "submissions", work / "grader-out"
    cache = work / "grader-cache"
    cache.mkdir()
    # Untimed: TensorFlow into the page cache (one interpreter for both tools' training).
    run([PYTHON, "-c", "import tensorflow, keras"], work, None, work / "logs" / "warm-up.log")
    results: dict = {
        "versions": versions(args.nbgrader_venv),
        "n": args.n,
        "budget": args.budget,
        "explore": args.explore,
        "exploring": sum(e for _, _, e in students(args.n)),
        "started": time.strftime("%F %T"),
        "command": " ".join(["python", "benchmarks/vs_nbgrader.py", *args.argv]),
        "work": str(work),
    }
    print(f"nbgrader autograde: {args.n} notebooks ...", file=sys.stderr, flush=True)
    nb = run(
        [str(nbgrader), "autograde", ASSIGNMENT],
        course,
        env,
        work / "logs" / "nbgrader-autograde.log",
        check=False,
    )
    nb["scores"] = nbgrader_scores(course, nbgrader, env)
    nb["full_marks"] = full_marks(nb["scores"], ids)
    print(f"grader grade: {args.n} notebooks, cold cache ...", file=sys.stderr, flush=True)
    kg = run(
        [
            GRADER,
            "grade",
            str(subs),
            "--out",
            str(out),
            "--assignment",
            ASSIGNMENT,
            "--budget",
            args.budget,
        ],
        work,
        {**os.environ, "KERAS_GRADER_CACHE": str(cache)},
        work / "logs" / "grader-grade.log",
        check=False,
    )
    kg["scores"] = grader_scores(out)
    kg["full_marks"] = full_marks(kg["scores"], ids)
    results.update(nbgrader=nb, keras_grader=kg, ratio=round(nb["wall"] / kg["wall"], 2))
    results["table"] = table(results)
    print(results["table"])
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=1))
    problems = []
    for tool, r, failures, folder in (
        ("nbgrader", nb, nbgrader_failures, course),
        ("keras-grader", kg, grader_failures, out),
    ):
        if r["exit"] != 0:
            problems.append(f"{tool} exited with {r['exit']} (its log is in {work}/logs)")
        for sid in ids:
            s = r["scores"].get(sid)
            if s is None or s["score"] != FULL_MARKS or s["max_score"] != FULL_MARKS:
                got = "no score" if s is None else f"{s['score']:g}/{s['max_score']:g}"
                problems.append(f"{tool}: {sid} got {got}: " + "; ".join(failures(folder, sid)))
    if problems:
        print(
            "error: not every student got full marks in both tools, so the times do not "
            "compare the same work:\n  " + "\n  ".join(problems),
            file=sys.stderr,
        )
        if args.keep is None:
            print("hint: rerun with --keep DIR to look at the notebooks and logs", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
