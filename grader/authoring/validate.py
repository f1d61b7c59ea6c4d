"""What `grader assign` checks before it generates anything: is the assignment sound?

`validate` collects every problem it finds, one line each:

- static (a second, `--no-runs` does only these): the settings load; the solution markers of
  every module balance (no `# BEGIN SOLUTION` without its `# END SOLUTION`, no END without a
  BEGIN, no BEGIN inside a block) and make valid stubs; `notebook.toml` fits the solution; the
  checks' points, read from their `@pytest.mark.check(points=...)` decorators without importing
  the checks, add up to `total_points`; every function the plan calls (calls, builders,
  training) is defined in the solution module the contract puts it in; the data file is there,
  matches its sha256 and fits `[data]`;
- with runs (slow: the reference trains): a copy of the reference solution, graded like a
  student's (`grader.pipeline.grade`), gets full marks under every budget whose data is here
  (`keras` needs the download: skipped, with a note); and the reference's test metric over three
  seeds under the `quick` budget spreads less than the grading margin (accuracy: max - min at
  most `accuracy_margin`; an error, lower is better: max / min at most `error_factor`).
"""

from __future__ import annotations

import ast
import dataclasses
import hashlib
import io
import shutil
import tempfile
import time
import tokenize
from collections.abc import Callable
from pathlib import Path

from grader.authoring.assign import (
    _LOOKALIKE,
    _MARKER_LINE,
    BEGIN,
    END,
    _in_notebook_order,
    load_notebook_text,
    make_stub,
)
from grader.config import AssignmentConfig, load_config
from grader.errors import GraderError

SEED_OFFSETS = (0, 1, 2)
"""The seeds the spread is measured over: the assignment's seed plus these."""
SPREAD_BUDGET = "quick"
"""The budget the spread is measured under."""
DOWNLOAD_BUDGETS = ("keras",)
"""Budgets whose data is a download: never run by validation (offline, no failure)."""
_EPS = 1e-9


def validate(
    reference_dir: Path, runs: bool = True, say: Callable[[str], None] = print
) -> list[str]:
    """Every problem of the assignment in `reference_dir`, one line each ([] when sound).

    Args:
        reference_dir: the reference folder (`reference/<name>`).
        runs: also run the reference (full marks under every budget, spread over seeds).
        say: where progress and notes go (one line each).
    """
    root = display_path(Path(reference_dir))
    problems: list[str] = []
    try:
        config = load_config(root)
    except GraderError as exc:
        config = None
        problems.append(str(exc))
    modules, stubs_made = [], True
    for path in sorted(root.glob("*.py")):
        found = marker_problems(path)
        if not found:
            try:
                module = make_stub(path)
            except GraderError as exc:
                found = [str(exc)]
            else:
                modules += [module] if module is not None else []
        problems += found
        stubs_made = stubs_made and not found
    if stubs_made and not modules:
        problems.append(
            f"{root}: no '{BEGIN}' block in any *.py (hint: mark the code students must write "
            "with solution markers)"
        )
    if modules and stubs_made:  # the notebook's prose must fit every module's stub
        try:
            _in_notebook_order(modules, load_notebook_text(root), root)
        except GraderError as exc:
            problems.append(str(exc))
    total, found = checks_points(root / "checks")
    problems += found
    declared = config.total_points if config is not None else None
    if declared is not None and not found and abs(total - declared) > _EPS:
        problems.append(
            f"{root / 'checks'}: checks add up to {total:g} points; assignment.toml declares "
            f"total_points = {declared:g}"
        )
    if config is None:
        return problems
    blocking = plan_function_problems(config) + data_problems(config)
    problems += blocking
    if not runs:
        say("note: --no-runs: the reference was not run (full marks, spread over seeds)")
    elif blocking:
        say("note: the reference was not run: it needs its functions and its data first")
    else:
        problems += run_problems(dataclasses.replace(config, root=config.root.resolve()), say)
    return problems


def display_path(path: Path) -> Path:
    """`path` relative to the working directory when it lies inside it (shorter lines)."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve())
    except ValueError:
        return path


# ---- static ---------------------------------------------------------------------------------


def marker_problems(path: Path) -> list[str]:
    """Unbalanced solution markers of one module: a BEGIN never closed, an END without a
    BEGIN, a BEGIN inside an open block; and look-alike markers. Each names file and line."""
    try:
        source = path.read_text(encoding="utf-8")
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (OSError, UnicodeDecodeError, SyntaxError, tokenize.TokenError) as exc:
        return [f"{path}: cannot be read as Python source ({exc})"]
    lines = source.splitlines()
    problems, opened = [], None
    for token in tokens:
        if token.type != tokenize.COMMENT:
            continue
        line = token.start[0]
        match = _MARKER_LINE.fullmatch(lines[line - 1])
        if not match:
            if _LOOKALIKE.match(token.string):
                problems.append(
                    f"{path}:{line}: {token.string.strip()!r} looks like a solution marker, "
                    f"but is not (hint: write exactly '{BEGIN}' or '{END}', alone on its line)"
                )
            continue
        if match.group(1) == "BEGIN":
            if opened is not None:
                problems.append(
                    f"{path}:{line}: '{BEGIN}' inside the block opened at line {opened} "
                    f"(hint: blocks cannot nest: close the first one with '{END}')"
                )
            opened = line
        elif opened is None:
            problems.append(
                f"{path}:{line}: '{END}' without a '{BEGIN}' before it "
                "(hint: remove it or open the block it closes)"
            )
        else:
            opened = None
    if opened is not None:
        problems.append(
            f"{path}:{opened}: '{BEGIN}' is never closed (hint: close the block with '{END}')"
        )
    return problems


def checks_points(checks_dir: Path) -> tuple[float, list[str]]:
    """The points of every check in `checks_dir` (test_*.py and *_test.py, as pytest collects
    them), read from the `@pytest.mark.check(points=...)` decorators without importing a check,
    and the problems that keep them from being added up."""
    files = sorted({*checks_dir.rglob("test_*.py"), *checks_dir.rglob("*_test.py")})
    if not files:
        return 0.0, [f"{checks_dir}: no checks (test_*.py files with @pytest.mark.check)"]
    total, problems = 0.0, []
    for file in files:
        try:
            tree = ast.parse(file.read_text(encoding="utf-8"), str(file))
        except (SyntaxError, UnicodeDecodeError, OSError) as exc:
            line = getattr(exc, "lineno", None)
            problems.append(f"{file}{f':{line}' if line else ''}: not valid Python ({exc})")
            continue
        constants = _constants(tree)
        for node in ast.walk(tree):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for decorator in node.decorator_list:
                if not (
                    isinstance(decorator, ast.Call)
                    and ast.unparse(decorator.func) in ("pytest.mark.check", "mark.check")
                ):
                    continue
                points = {k.arg: k.value for k in decorator.keywords}.get("points")
                value = _number(points, constants) if points is not None else None
                if value is None:
                    shown = ast.unparse(points) if points is not None else "missing"
                    problems.append(
                        f"{file}:{decorator.lineno}: the points of {node.name}() cannot be read "
                        f"without running it (points={shown}): write a number"
                    )
                else:
                    total += value
    return total, problems


def _constants(tree: ast.Module) -> dict[str, object]:
    """Module-level `NAME = <number>` assignments (points may name one)."""
    found = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            target, value = node.target, node.value
        else:
            continue
        if isinstance(target, ast.Name):
            number = _number(value, {})
            if number is not None:
                found[target.id] = number
    return found


def _number(node: ast.AST, constants: dict[str, object]) -> float | None:
    if isinstance(node, ast.Name):
        value = constants.get(node.id)
    else:
        try:
            value = ast.literal_eval(node)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def plan_function_problems(config: AssignmentConfig) -> list[str]:
    """Functions the plan uses that the solution module of their contract module lacks."""
    plan = config.plan
    uses: dict[str, str] = {}
    for i, call in enumerate(plan.calls):
        uses.setdefault(call.function, f"plan.calls[{i}] ({call.name})")
    for i, model in enumerate(plan.models):
        uses.setdefault(model.builder, f"plan.models[{i}].builder ({model.name})")
    for key in ("train", "evaluate", "save", "load"):
        uses.setdefault(getattr(plan.training, key), f"plan.training.{key}")
    defined: dict[str, set[str] | str] = {}
    problems = []
    for function, role in uses.items():
        module = config.functions[function]
        path = display_path(config.root) / f"{module}.py"
        if module not in defined:
            try:
                tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
                defined[module] = _top_level_names(tree.body)
            except FileNotFoundError:
                defined[module] = "missing"
            except (SyntaxError, UnicodeDecodeError, OSError) as exc:
                defined[module] = f"not valid Python ({exc})"
        names = defined[module]
        if isinstance(names, str):
            problems.append(
                f"{path}: {names}, but {role} uses {function}() from it ([contract] {module})"
            )
        elif function not in names:
            problems.append(
                f"{path}: no function {function}(), which {role} calls "
                f"([contract] puts it in {module})"
            )
    return problems


def _top_level_names(body: list[ast.stmt]) -> set[str]:
    """Names a module defines at its top level: defs, classes, assignments, imports (also
    under a top-level if/try/with)."""
    names: set[str] = set()
    for node in body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                names |= {n.id for n in ast.walk(target) if isinstance(n, ast.Name)}
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, ast.If | ast.Try | ast.With):
            inner = [*node.body, *getattr(node, "orelse", []), *getattr(node, "finalbody", [])]
            for handler in getattr(node, "handlers", []):
                inner += handler.body
            names |= _top_level_names(inner)
    return names


def data_problems(config: AssignmentConfig) -> list[str]:
    """The bundled data file: there, matching its sha256, fitting `[data]`."""
    from grader.data import load_data  # NumPy only

    path = display_path(config.root) / config.data.file
    if not path.is_file():
        return [
            f"{path}: the data file is missing (hint: put an .npz with x and y there, as "
            f"{path.parent / 'README.md'} says, and its sha256 in [data] sha256)"
        ]
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != config.data.sha256:
        return [
            f"{path}: its sha256 is {digest}, [data] sha256 says {config.data.sha256} "
            "(hint: write the file's sha256 there if this is the file you mean)"
        ]
    try:
        load_data(config, "bundled")
    except GraderError as exc:
        return [str(exc)]
    return []


# ---- runs -----------------------------------------------------------------------------------


def run_problems(config: AssignmentConfig, say: Callable[[str], None] = print) -> list[str]:
    """Grade a copy of the reference under every offline budget; measure the spread of its
    metric over seeds. Slow: the reference trains (its runs are cached, as grading's are)."""
    problems = []
    with tempfile.TemporaryDirectory(prefix="grader-assign-") as tmp:
        work = Path(tmp)
        copy = work / "submissions" / "reference_copy"
        copy.mkdir(parents=True)
        for module in sorted(config.root.glob("*.py")):
            shutil.copyfile(module, copy / module.name)
        for name in config.budgets:
            if name in DOWNLOAD_BUDGETS:
                say(
                    f"note: budget {name} skipped: its data is a download (--data {name}); "
                    f"grade the reference with `grader grade --data {name}` to check it"
                )
                continue
            problems += _full_marks(config, name, copy, work / f"grade-{name}", say)
        if SPREAD_BUDGET in config.budgets:
            problems += spread_problems(config, work / "seeds", say)
    return problems


def _full_marks(config, budget: str, copy: Path, out: Path, say) -> list[str]:
    from grader.pipeline import GradeRequest, grade

    say(f"grading a copy of the reference under budget {budget} ...")
    started = time.monotonic()
    request = GradeRequest(
        submissions=[copy], out=out, assignment=str(config.root), data="bundled", budget=budget,
        force=True, reports=False,
    )  # fmt: skip
    try:
        result = grade(request, None, render=None).results[0]
    except GraderError as exc:
        return [f"under budget {budget}: {exc}"]
    problems = []
    if result.status != "ok":
        problems.append(
            f"under budget {budget}: the copy of the reference ended with status "
            f"{result.status}: {result.status_detail}"
        )
    earned = sum(c.score for c in result.checks)
    available = sum(c.max_score for c in result.checks)
    for check in result.checks:
        if check.score < check.max_score - 1e-6:
            why = (check.feedback or "").strip().splitlines()
            problems.append(
                f"under budget {budget}: {check.title!r} {check.score:.1f}/{check.max_score:g}"
                + (f" ({why[0][:200]})" if why else "")
            )
    say(f"  {earned:g}/{available:g} points ({time.monotonic() - started:.0f} s)")
    return problems


def spread_problems(config: AssignmentConfig, work: Path, say) -> list[str]:
    """The reference's test metric of each model under the quick budget, over three seeds."""
    import numpy as np

    from grader.check.checking import RunView
    from grader.check.tasks import task
    from grader.data import dataset_label, load_data
    from grader.run.local import ReferenceFailed, run_reference

    budget = config.budget(SPREAD_BUDGET)
    split = load_data(config, "bundled")
    label = dataset_label(config, "bundled")
    seeds = tuple(config.seed + offset for offset in SEED_OFFSETS)
    shown_seeds = ", ".join(map(str, seeds))
    views = []
    for seed in seeds:
        say(f"the reference under budget {SPREAD_BUDGET} with seed {seed} ...")
        seeded = dataclasses.replace(config, seed=seed)  # the seed is part of the run's cache key
        try:
            record = run_reference(seeded, split, budget, label, work / f"seed-{seed}")
        except ReferenceFailed as exc:
            return [f"under budget {SPREAD_BUDGET} with seed {seed}: {exc}"]
        views.append(
            RunView(
                id="reference",
                status=record.status,
                detail=record.detail,
                out_dir=record.out_dir,
                plan=config.plan,
            )  # fmt: skip
        )
    from grader.check.plugin import seed_trusted

    seed_trusted(config.seed, config.threads)  # as the check session measures
    numeric = config.data.numeric_targets
    targets = np.asarray(split[1][1], dtype=np.float32 if numeric else np.int64)
    grading, problems = config.grading, []
    for model in config.plan.models:
        kind = task(model.task)
        try:
            values = [view.metric(model.name, targets) for view in views]
        except Exception as exc:  # noqa: BLE001 - a check failure of the reference's own model
            problems.append(
                f"model {model.name}: the reference's test {kind.metric} could not be measured "
                f"under budget {SPREAD_BUDGET}: {getattr(exc, 'message', exc)}"
            )
            continue
        figures = ", ".join(kind.describe(v) for v in values)
        low, high = min(values), max(values)
        if kind.higher_is_better:
            spread, limit, key = high - low, grading.accuracy_margin, "accuracy_margin"
            shown = f"a spread of {spread:.4f}"
        else:
            spread = high / low if low > 0 else (1.0 if high == low else float("inf"))
            limit, key = grading.error_factor, "error_factor"
            shown = f"max / min = {spread:.4f}"
        line = (
            f"model {model.name}: the reference's test {kind.metric} under budget "
            f"{SPREAD_BUDGET} with seeds {shown_seeds} is {figures}: {shown}"
        )
        if spread > limit + _EPS:
            problems.append(
                f"{line} crosses [grading] {key} = {limit:g} (hint: an honest port could lose "
                f"marks on another seed: widen {key}, or train longer under the budgets)"
            )
        else:
            say(f"  {line}, within [grading] {key} = {limit:g}")
    return problems


def reference_dir(name_or_path: str | Path) -> Path:
    """`grader assign`'s argument: a reference folder, or a name under `reference/`."""
    from grader.config import REPO_ROOT, find_assignment

    candidate = Path(name_or_path)
    if (candidate / "assignment.toml").is_file():
        return candidate
    candidate = REPO_ROOT / "reference" / str(name_or_path)
    if (candidate / "assignment.toml").is_file():
        return candidate
    return find_assignment(name_or_path).root  # raises: unknown assignment, with the names
