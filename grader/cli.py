"""The `grader` command: grade a class, check your own work, generate the assignment, demo,
and Gradescope.

Exit codes: 0 when grading completed (whatever the students scored), 2 on usage errors,
1 when the grader itself could not run. Errors are one line plus a hint; `--debug` shows the
traceback.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import sys
import tempfile
import threading
from pathlib import Path

import click

from grader import __version__
from grader.errors import EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_USAGE, GraderError, UsageError

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples"
"""Sample submissions per assignment: examples/<assignment>/submissions/."""


class _Group(click.Group):
    """Shows GraderError as one line plus a hint, with its exit code (1; a usage error 2;
    a traceback with --debug)."""

    def invoke(self, ctx: click.Context):
        if threading.current_thread() is threading.main_thread():
            # Ctrl-C stops a grading even where SIGINT was ignored when the grader started (a
            # background job of a script inherits SIG_IGN, and Python then keeps it), and a
            # batch system's SIGTERM is a Ctrl-C.
            signal.signal(signal.SIGINT, signal.default_int_handler)
            signal.signal(signal.SIGTERM, _interrupt)
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            click.secho(
                "interrupted: the sandboxes were stopped; every run that had finished is kept "
                "(run the same command again to resume)", err=True, fg="yellow",
            )  # fmt: skip
            ctx.exit(EXIT_INTERRUPTED)
        except GraderError as exc:
            if ctx.obj and ctx.obj.get("debug"):
                raise
            from grader.progress import printable  # a message may quote a student's file name

            click.secho(f"error: {printable(exc.message)}", err=True, fg="red")
            if exc.hint:
                click.echo(f"hint: {printable(exc.hint)}", err=True)
            ctx.exit(exc.exit_code)


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="keras-grader")
@click.option("--debug", is_flag=True, help="Show tracebacks of the grader's own errors.")
@click.pass_context
def main(ctx: click.Context, debug: bool) -> None:
    """keras-grader: sandboxed, Keras-aware grading of deep-learning assignments.

    \b
    Examples:
      grader demo                               grade the sample class, open out/demo/index.html
      grader grade submissions/ --out out/      grade a whole class
      grader check my_work.ipynb                check your own work before submitting
    """
    ctx.obj = {"debug": debug}


def _data_option(f):
    return click.option(
        "--data",
        default="bundled",
        show_default=True,
        metavar="bundled|keras|PATH",
        help="Data source: the bundled sample, keras.datasets (internet), or an .npz.",
    )(f)


def _assignment_option(f):
    return click.option(
        "--assignment",
        default=_default_assignment,
        show_default="the course's first assignment, or the one installed check kit",
        help="Assignment name under reference/ (or of an installed check kit), or a "
        "reference directory.",
    )(f)


def _default_assignment(default="mnist") -> str:
    from grader.config import default_assignment

    return default_assignment(default)


@main.command()
@click.argument("submissions", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Output directory (reports, results.json, grades.csv, junit.xml).")  # fmt: skip
@_assignment_option
@_data_option
@click.option("--budget", default=None, help="Training budget name (default: the data's).")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Parallel sandboxed runs (default: one per two cores, at least 2).")  # fmt: skip
@click.option("--force", is_flag=True, help="Regrade everyone, even unchanged submissions.")
@click.option("--scheduler", default=None, metavar="ADDRESS",
              help="Run phase 1 on a Dask cluster (e.g. tcp://host:8786).")  # fmt: skip
@click.option("--isolation", type=click.Choice(["full", "limited"]), default=None,
              help="Force a sandbox level (default: the best this machine allows).")  # fmt: skip
@click.option("--roster", default=None, type=click.Path(dir_okay=False, path_type=Path),
              help="The class list, a CSV with id,name,email,section (kept in OUT).")  # fmt: skip
@click.option("--times", default=None, type=click.Path(dir_okay=False, path_type=Path),
              help="Submission times for the late policy: a CSV with id,submitted_at.")  # fmt: skip
@click.option("--late", default=None, type=click.Path(dir_okay=False, path_type=Path),
              help="A late policy ([late] table) in place of the assignment's.")  # fmt: skip
def grade(submissions, out, assignment, data, budget, workers, force, scheduler, isolation,
          roster, times, late):  # fmt: skip
    """Grade every submission in SUBMISSIONS (one entry per student).

    An entry is a folder, a .py, a .ipynb or a .zip; its name without extension is the
    student's id. A rerun on the same OUT skips unchanged submissions.

    \b
    Example:
      grader grade submissions/ --out out/ --workers 2
    """
    from grader.config import load_late
    from grader.course import load_roster, read_times
    from grader.pipeline import GradeRequest, entries_of

    entries = entries_of(submissions)
    if not entries:
        raise UsageError(
            f"no submissions in {submissions}", "expected folders, .py, .ipynb or .zip files"
        )
    request = GradeRequest(
        submissions=entries, out=out, assignment=assignment, data=data, budget=budget,
        workers=workers, force=force, scheduler=scheduler, isolation=isolation, roster=roster,
        times=read_times(times) if times is not None else None,
        late=load_late(late) if late is not None else None,
    )  # fmt: skip
    if roster is not None:
        load_roster(roster)  # a bad roster is refused before any work
    _run_and_summarize(request)


def _graded_out(out: Path) -> Path:
    if not (out / "grades.csv").is_file():
        raise UsageError(f"{out} holds no grading", "give the --out folder of a grader grade run")
    return out


@main.command()
@click.argument("out", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["canvas", "moodle", "csv"]), default="csv",
              show_default=True, help="The gradebook's import format.")  # fmt: skip
@click.option("--roster", default=None, type=click.Path(dir_okay=False, path_type=Path),
              help="The class list (default: the one given to grader grade).")  # fmt: skip
@click.option("--to", "dest", default=None, type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write it (default: OUT/gradebook-FORMAT.csv).")  # fmt: skip
def export(out, fmt, roster, dest):
    """Write the class's gradebook for an LMS: Canvas's or Moodle's import CSV, or a CSV
    with one column per part. Overrides count; the roster's missing students score 0.

    \b
    Example:
      grader export out/ --format canvas
    """
    from grader.course import gradebook, load_roster
    from grader.report.exports import atomic_write

    out = _graded_out(out)
    text = gradebook(out, fmt, load_roster(roster) if roster else None)
    dest = dest or out / f"gradebook-{fmt}.csv"
    atomic_write(dest, text)
    click.echo(f"wrote {dest} ({len(text.splitlines()) - 1} rows)")


@main.command()
@click.argument("out", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("student")
@click.argument("check")
@click.argument("points", type=float, required=False)
@click.option("--reason", required=True, help="Why (shown to the student and in exports).")
@click.option("--by", default=None, help="Who gives the points (default: your user name).")
@click.option("--remove", is_flag=True, help="Remove the override in force on this check.")
def override(out, student, check, points, reason, by, remove):
    """Give POINTS for one CHECK (its title) of STUDENT by hand, with a reason.

    Overrides are kept in OUT/overrides.jsonl (who, when, why), survive reruns and --force,
    and show in the report, the dashboard and the exports. The reports are written again.

    \b
    Example:
      grader override out/ alice "Output layer" 3 --reason "the same layer, spelled otherwise"
      grader override out/ alice "Output layer" --remove --reason "given by mistake"
    """
    import grader.report
    from grader.course import add_override
    from grader.pipeline import refresh

    out = _graded_out(out)
    if remove == (points is not None):
        raise UsageError("give POINTS, or --remove", "one of them: set or remove an override")
    done = add_override(out, student, check, None if remove else points, reason, by)
    refresh(out, grader.report, only_stale=True)
    if done is None:
        click.echo(f"removed the override of {student}'s {check!r}; reports written again")
    else:
        click.echo(f"{student}: {done.check!r} = {done.points:g} (by {done.by}: {done.reason}); "
                   "reports written again")  # fmt: skip


@main.command()
@click.argument("out", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--to", "dest", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Where to write one folder per student.")  # fmt: skip
@click.option("--only-changed", is_flag=True,
              help="Only students whose grade changed since the last release.")  # fmt: skip
def release(out, dest, only_changed):
    """Write each student's feedback to hand back: a folder per student (named by the
    roster's email, else the id) with report.html and results.json, plus manifest.json.

    \b
    Example:
      grader release out/ --to feedback/ --only-changed
    """
    from grader.course import release as do_release

    manifest = do_release(_graded_out(out), dest, only_changed)
    click.echo(f"released {len(manifest['students'])} students into {dest}")


def _run_and_summarize(request) -> object:
    import grader.report
    from grader.pipeline import grade as run_grade
    from grader.progress import for_terminal
    from grader.report.summary import print_summary

    progress = for_terminal()
    try:
        outcome = run_grade(request, progress, render=grader.report)
    finally:
        progress.close()
    print_summary(dataclasses.replace(outcome, results=tuple(map(_shown, outcome.results))))
    return outcome


def _shown(result):
    """A result safe to print on a terminal: what a submission can put in its id, its status
    detail or its feedback (escape sequences, line breaks) is shown escaped, never run."""
    from grader.progress import printable

    checks = tuple(
        dataclasses.replace(
            c, title=printable(c.title), feedback=printable(c.feedback, newlines=True)
        )
        for c in result.checks
    )
    return dataclasses.replace(
        result, id=printable(result.id), status_detail=printable(result.status_detail),
        checks=checks,
    )  # fmt: skip


@main.command()
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option("--out", default=None, type=click.Path(file_okay=False, path_type=Path),
              help="Where to write the report (default: a folder in your cache, printed; "
                   "never inside PATH).")  # fmt: skip
@_assignment_option
@_data_option
@click.option("--budget", default="quick", show_default=True, help="Training budget name.")
def check(path, out, assignment, data, budget):
    """Check your own work (visible checks only, short training) before submitting.

    PATH is what you will hand in: the folder with your modules, a single .py, your
    notebook, or a .zip.

    \b
    Example:
      grader check notebook.ipynb
    """
    import grader.report
    from grader.pipeline import GradeRequest, default_check_out, refuse_out_inside
    from grader.pipeline import grade as run_grade
    from grader.progress import for_terminal, printable
    from grader.report.summary import print_check
    from grader.run.submission import SUFFIXES

    path = Path(os.path.abspath(path))  # `grader check .` is checked under its folder's name
    if path.is_dir() and not any(
        p.suffix in SUFFIXES for p in path.iterdir() if not p.name.startswith(".")
    ):
        raise UsageError(
            f"nothing to grade in {printable(path)}: no .py, .ipynb or .zip file in it",
            "run grader check in the folder with your modules or notebook, or pass the file",
        )
    if out is None:
        out = default_check_out(path)
    refuse_out_inside(out, [path])  # before any work (grade() would refuse it too)
    request = GradeRequest(
        submissions=[path], out=out, assignment=assignment, data=data, budget=budget,
        visibility="visible", force=True,
    )  # fmt: skip
    click.echo(f"checking {printable(path)} (visible checks, budget {budget!r}) ...")
    click.echo(f"report folder: {printable(out)}")
    progress = for_terminal()  # the reference (first time), the run, the checks
    try:
        outcome = run_grade(request, progress, render=grader.report)
    finally:
        progress.close()
    print_check(_shown(outcome.results[0]), out)


@main.command()
@click.argument("assignment", metavar="ASSIGNMENT")
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Where to write the kit (a wheel, its README and kit.json).")  # fmt: skip
@click.option("--isolation", type=click.Choice(["full", "limited"]), default=None,
              help="Force a sandbox level for the reference's run.")  # fmt: skip
def kit(assignment, out, isolation):
    """Build the check kit students install to run `grader check` without the solution.

    The kit is one wheel: the grader, the visible checks, the data of a check (training rows
    only) and the expected values of the reference's run under the quick budget. It holds no
    solution source, no trained weights, no hidden check and no test label.

    \b
    Example:
      grader kit NAME --out kits/NAME
      pip install kits/NAME/keras_grader-*.whl      # in the student's fresh venv
    """
    from grader.kit import build_kit
    from grader.progress import for_terminal, printable

    progress = for_terminal()
    try:
        built = build_kit(assignment, out, isolation, progress)
    finally:
        progress.close()
    click.echo(f"kit of {built.name}: {printable(built.wheel)}")
    click.echo(f"  {len(built.files)} files; hidden checks left out: {len(built.hidden)}")
    metrics = ", ".join(f"{k} {v:.4g}" for k, v in built.metrics.items())
    click.echo(f"  reference metric on the held-out training rows: {metrics}")
    click.echo(f"  students: pip install {built.wheel.name}, then grader check PATH")


@main.command()
@click.argument("name", required=False, metavar="[NAME]")
@_assignment_option
@click.option(
    "--dest",
    default=None,
    type=click.Path(file_okay=False, path_type=Path),
    help="Where to write the student material (default: assignments/<name>).",
)
@click.option("--no-runs", is_flag=True,
              help="Validate without running the reference (static checks: fast).")  # fmt: skip
@click.pass_context
def assign(ctx, name, assignment, dest, no_runs):
    """Validate the assignment NAME (or --assignment), then generate the student stubs and
    notebook from its reference solution.

    Validation refuses, one line per problem, solution markers that do not balance, checks
    whose points do not add up to total_points, plan functions the solution lacks and missing
    data; unless --no-runs, also a reference that does not get full marks under every budget
    or whose metric spreads over three seeds wider than the grading margin (slow: it trains).

    \b
    Example:
      grader assign NAME --no-runs
    """
    from grader.authoring.assign import generate_assignment
    from grader.authoring.validate import reference_dir, validate
    from grader.config import load_config
    from grader.progress import printable

    given = ctx.get_parameter_source("assignment") == click.core.ParameterSource.COMMANDLINE
    if name and given and name != assignment:
        raise click.UsageError(f"two assignments given: {name!r} and --assignment {assignment!r}")
    root = reference_dir(name or assignment)
    problems = validate(root, runs=not no_runs, say=lambda line: click.echo(printable(line)))
    if problems:
        for problem in problems:
            click.secho(f"error: {printable(problem)}", err=True, fg="red")
        click.echo(
            f"hint: {len(problems)} problem(s): fix them, then run grader assign again "
            "(docs/authoring.md)", err=True,
        )  # fmt: skip
        ctx.exit(EXIT_FAILURE)
    config = load_config(root)
    dest = dest or REPO / "assignments" / config.name
    written = generate_assignment(config.root, dest)
    for path in written:
        click.echo(f"wrote {path}")


@main.command()
@click.argument("name")
@click.option("--like", default=None, metavar="ASSIGNMENT",
              help="Start from a copy of this assignment (without its data file).")  # fmt: skip
@click.option("--root", default=None, type=click.Path(file_okay=False, path_type=Path),
              help="The folder to create NAME in (default: reference/).")  # fmt: skip
@click.pass_context
def new(ctx, name, like, root):
    """Start a new assignment, reference/NAME/: a small complete example (solution with
    markers, commented assignment.toml, one check of each kind, notebook.toml, READMEs) or,
    with --like, a copy of another assignment; either way without its data file.

    \b
    Examples:
      grader new lab3
      grader new lab3 --like ASSIGNMENT
    """
    from grader.authoring.scaffold import create, next_steps, plan_new
    from grader.authoring.validate import display_path
    from grader.progress import printable

    try:
        request = plan_new(name, root or REPO / "reference", like)
    except GraderError as exc:  # a usage error: one line and a hint, exit 2
        click.secho(f"error: {printable(exc.message)}", err=True, fg="red")
        click.echo(f"hint: {printable(exc.hint)}", err=True)
        ctx.exit(EXIT_USAGE)
    made = create(request)
    for line in next_steps(made, display_path):
        click.echo(printable(line))


@main.command()
@click.option(
    "--out",
    default=Path("out/demo"),
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Output directory.",
)
@click.option("--workers", type=click.IntRange(min=1), default=None, help="Parallel runs.")
@click.option("--force", is_flag=True, help="Regrade even if the outputs are up to date.")
def demo(out, workers, force):
    """Grade every assignment's sample class (examples/<assignment>/submissions/) on its
    bundled data, each into OUT/<assignment>/ with its own dashboard.

    \b
    Example:
      grader demo && xdg-open out/demo/*/index.html
    """
    from grader.pipeline import GradeRequest, entries_of

    names = sorted(
        p.parent.name
        for p in (REPO / "reference").glob("*/assignment.toml")
        if (EXAMPLES / p.parent.name / "submissions").is_dir()
    )
    if not names:
        raise GraderError("no sample submissions", f"expected {EXAMPLES}/<assignment>/submissions")
    from grader.config import find_assignment
    from grader.report import render
    from grader.report.exports import atomic_write
    from grader.report.results import max_score, score

    listed = []
    for name in names:
        click.echo(f"== {name}: examples/{name}/submissions")
        request = GradeRequest(
            submissions=entries_of(EXAMPLES / name / "submissions"), out=Path(out) / name,
            assignment=name, workers=workers, force=force, **_demo_course(EXAMPLES / name),
        )  # fmt: skip
        outcome = _run_and_summarize(request)  # ends with the dashboard's path
        _demo_overrides(EXAMPLES / name / "course", Path(out) / name)
        config = find_assignment(name)
        results = outcome.results
        listed.append({
            "name": name, "title": config.title,
            "tasks": ", ".join(sorted({m.task for m in config.plan.models})),
            "students": len(results),
            "mean": sum(map(score, results)) / len(results) if results else 0.0,
            "max": max(map(max_score, results), default=0.0),
        })  # fmt: skip
    index = Path(out) / "index.html"
    atomic_write(index, render.index(listed))
    click.echo(f"every assignment's dashboard: {index}")


def _demo_course(example: Path) -> dict:
    """A sample class's course files (examples/<name>/course/): roster, times, late policy."""
    from grader.config import load_late
    from grader.course import read_times

    course = example / "course"
    found = {}
    if (course / "roster.csv").is_file():
        found["roster"] = course / "roster.csv"
    if (course / "times.csv").is_file():
        found["times"] = read_times(course / "times.csv")
    if (course / "late.toml").is_file():
        found["late"] = load_late(course / "late.toml")
    return found


def _demo_overrides(course: Path, out: Path) -> None:
    """The sample class's TA overrides (course/overrides.csv), given as `grader override`
    gives them, once: an override already in force is left as it is."""
    import csv

    import grader.report
    from grader.course import add_override, overrides
    from grader.pipeline import refresh

    path = course / "overrides.csv"
    if not path.is_file():
        return
    for row in csv.DictReader(path.open(encoding="utf-8")):
        if row["check"] in overrides(out).get(row["student"], {}):
            continue
        done = add_override(
            out, row["student"], row["check"], float(row["points"]), row["reason"], row["by"]
        )
        click.echo(f"override: {done.student}, {done.check!r} = {done.points:g} by {done.by}")
    refresh(out, grader.report, only_stale=True)


@main.command()
@click.option("--submission", default=Path("/autograder/submission"), show_default=True,
              type=click.Path(path_type=Path), help="Gradescope's upload directory.")  # fmt: skip
@click.option(
    "--results",
    default=Path("/autograder/results/results.json"),
    show_default=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where Gradescope reads the results.",
)
@click.option("--metadata", default=Path("/autograder/submission_metadata.json"),
              show_default=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Gradescope's submission metadata (its time, for a late policy).")  # fmt: skip
@_assignment_option
@_data_option
@click.option("--budget", default=None, help="Training budget name (default: the data's).")
def gradescope(submission, results, metadata, assignment, data, budget):
    """Grade one Gradescope submission and write Gradescope's results.json.

    The upload is graded where it lies, as the student `student`, and nothing in it is
    followed: a symbolic link (to the reference, to /etc/shadow), a fifo or a device in the
    upload is refused, and the reason is that submission's result (exit 0).

    \b
    Example (in run_autograder):
      grader gradescope --data bundled
    """
    from grader import course
    from grader.pipeline import GradeRequest
    from grader.pipeline import grade as run_grade
    from grader.report.exports import gradescope_results, write_json

    if not submission.is_dir():
        raise GraderError(f"{submission} does not exist", "Gradescope mounts the upload there")
    entry = _upload_entry(submission.resolve())  # the operator's path; the upload's not followed
    try:
        times = course.gradescope_times(metadata, "student")
    except GraderError as exc:  # only a late policy needs it: grade, and say why it is unused
        click.echo(f"warning: {exc}; no submission time for a late policy", err=True)
        times = None
    with tempfile.TemporaryDirectory(prefix="keras-grader-") as tmp:
        request = GradeRequest(
            submissions=[entry], out=Path(tmp) / "out", assignment=assignment, data=data,
            budget=budget, force=True, names=["student"], times=times,
        )  # fmt: skip
        outcome = run_grade(request, None, render=None)
        write_json(results, gradescope_results(outcome.results[0]))  # the late policy applied
    click.echo(f"wrote {results}")


def _upload_entry(upload: Path) -> Path:
    """What to grade in Gradescope's upload folder: its one notebook, .py or .zip, or its one
    folder, or else the folder itself (the three modules side by side).

    Entries are told apart with lstat, never by following them: a lone symbolic link or
    special file is what gets graded, so that `prepare` refuses it and says why.
    """
    from grader.run.submission import SUFFIXES

    with os.scandir(upload) as it:
        files = [e for e in it if not e.name.startswith(".")]
    if len(files) == 1:
        only = files[0]
        if Path(only.name).suffix in SUFFIXES or not only.is_file(follow_symlinks=False):
            return upload / only.name
    return upload


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
