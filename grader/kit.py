"""The student check kit: what an instructor hands out so students can run `grader check`.

`grader kit ASSIGNMENT --out DIR` (`build_kit`) writes one wheel. Installed with one
`pip install` into a fresh venv, it gives `grader check` with no `reference/` anywhere:

- the grader's engine (this package; it holds no assignment's solution);
- `grader/kits/<name>/`: the assignment's settings, its *visible* checks only (every hidden
  check's function is cut out of the check files), the data of a check and the expected
  values, that is, what the instructor's reference run under the check budget left that the
  visible checks compare with: shapes, preprocessing outputs on training rows, layer tables
  (each model's config and untrained weights), compile settings, training histories, and the
  reference's predictions and metric on the held-out rows.

It holds no solution source, no trained reference weights, no hidden check and no test
example or label: a check (the instructor's as well as the kit's) trains on the first
training rows and measures on held-out *training* rows (`grader.data.check_split`), so the
kit's scores equal the instructor's `grader check` of the same work.

In a notebook, `from grader.kit import check; check("<name>.ipynb")` checks the saved
notebook and shows the result inline; `load_data(name)` gives the kit's data where keras's
download is out of reach.
"""

from __future__ import annotations

import ast
import base64
import csv
import datetime
import hashlib
import html
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from grader import __version__
from grader.config import KIT_FILE, KITS_DIR, AssignmentConfig, find_assignment
from grader.errors import GraderError, UsageError

PACKAGE_DIR = Path(__file__).resolve().parent
EXPECTED = "expected"
KIT_BUDGET = "quick"
"""The budget a kit is built for: `grader check`'s default."""
KEEP_MODEL_FILES = ("_untrained.json", "_untrained.npz", "_built.keras")
"""Of the reference's models, what the visible checks compare with: the architecture, its
initial weights and the compile settings (in the file saved right after building). Trained
weights never enter a kit."""
DROP_ARRAYS = ("predict_", "_eval")
"""Of the reference's arrays, what a kit leaves out: the sandbox's own predictions and the
evaluation data (the kit keeps the trusted predictions it needs, `predictions/`)."""


class KitError(GraderError):
    """A kit cannot be built from this reference (one line, with a hint)."""


@dataclass(frozen=True)
class BuiltKit:
    """What `build_kit` wrote."""

    wheel: Path
    name: str
    files: tuple[str, ...]
    """Every file in the wheel."""
    hidden: tuple[str, ...]
    """The hidden checks' function names cut out of the check files."""
    metrics: dict


# ---- building ------------------------------------------------------------------------------
def build_kit(assignment: str, out: Path, isolation: str | None = None, progress=None) -> BuiltKit:
    """Build the check kit of `assignment` into `out` (a wheel, its README and a manifest)."""
    from grader.data import dataset_label, grading_split
    from grader.progress import Quiet
    from grader.run.local import reference_key, run_reference

    progress = progress or Quiet()
    config = find_assignment(assignment)
    if config.kit is not None:
        raise UsageError(
            f"{config.name!r} is an installed check kit, not a reference",
            "build kits where the reference is (the instructor's checkout)",
        )
    if KIT_BUDGET not in config.budgets:
        raise KitError(f"{config.name}: no [budget.{KIT_BUDGET}]", "a kit checks on that budget")
    budget = config.budget(KIT_BUDGET)
    label = dataset_label(config, "bundled", "visible")
    split = grading_split(config, "bundled", "visible")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".kit-", dir=out) as tmp:
        tmp = Path(tmp)
        progress.phase("reference", 1)
        reference = run_reference(config, split, budget, label, tmp / "work", isolation)
        progress.advance(f"reference {reference.status}")
        root = tmp / "tree"
        kit_dir = root / "grader" / "kits" / config.name
        _copy_package(root / "grader")
        checks, hidden = _visible_checks(config.root / "checks")
        for name, text in checks.items():
            _write(kit_dir / "checks" / name, text.encode())
        shutil.copyfile(config.root / "assignment.toml", kit_dir / "assignment.toml")
        data = _kit_data(split, budget.train_samples)
        _write(kit_dir / "data" / "check.npz", data)
        _write(kit_dir / "data" / "README.md", _data_readme(config, label).encode())
        expected = kit_dir / EXPECTED
        _copy_expected(reference, expected)
        metrics = _predictions(config, reference, split, expected)
        kit = {
            "assignment": config.name,
            "title": config.title,
            "budget": KIT_BUDGET,
            "data": "data/check.npz",
            "data_sha256": hashlib.sha256(data).hexdigest(),
            "data_label": label,
            "expected": EXPECTED,
            "grader_version": __version__,
            "reference_key": reference_key(config, budget, label),
            "metrics": metrics,
            "visible_checks": sum(_count_checks(t) for t in checks.values()),
            "built_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        }
        _write(kit_dir / KIT_FILE, json.dumps(kit, indent=2).encode())
        wheel = _write_wheel(root, out, config.name)
    files = tuple(sorted(zipfile.ZipFile(wheel).namelist()))
    (out / "README.md").write_text(_readme(config, wheel.name, metrics), encoding="utf-8")
    listing = {**kit, "wheel": wheel.name, "files": files}
    (out / "kit.json").write_text(json.dumps(listing, indent=2))
    return BuiltKit(wheel, config.name, files, tuple(hidden), metrics)


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


LEFT_OUT = (KITS_DIR.name, "authoring/skeleton")
"""Not in a kit: installed kits, and the skeleton `grader new` writes an assignment from
(an instructor's tool, whose example model could match a solution's line)."""


def _copy_package(dest: Path) -> None:
    """The engine: every file of the grader package but caches and what LEFT_OUT names."""
    for path in sorted(PACKAGE_DIR.rglob("*")):
        rel = path.relative_to(PACKAGE_DIR)
        if not path.is_file() or "__pycache__" in rel.parts:
            continue
        if any(rel.as_posix() == x or rel.as_posix().startswith(x + "/") for x in LEFT_OUT):
            continue
        if path.suffix in (".pyc", ".pyo"):
            continue
        _write(dest / rel, path.read_bytes())


def _visible_checks(checks_dir: Path) -> tuple[dict[str, str], list[str]]:
    """Each check file with every hidden check's function (decorators included) cut out."""
    files: dict[str, str] = {}
    hidden: list[str] = []
    for path in sorted(checks_dir.glob("*.py")):
        text = path.read_text(encoding="utf-8")
        kept, cut = strip_hidden(text, path.name)
        refuse_hidden_left(kept, path.name)
        files[path.name] = kept
        hidden += cut
    return files, hidden


def strip_hidden(source: str, where: str = "<checks>") -> tuple[str, list[str]]:
    """`source` without its hidden checks; returns (text, the cut functions' names).

    A check is hidden by `visibility="hidden"` in its `@pytest.mark.check(...)`, which must
    be written as a literal (the kit cannot ship what it cannot tell is visible)."""
    tree = ast.parse(source)
    lines = source.splitlines(keepends=True)
    cut: list[tuple[int, int, str]] = []
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for decorator in node.decorator_list:
            if not isinstance(decorator, ast.Call):
                continue
            for keyword in decorator.keywords:
                if keyword.arg != "visibility":
                    continue
                if not isinstance(keyword.value, ast.Constant):
                    raise KitError(
                        f"{where}: {node.name}'s visibility is not a literal string",
                        'write visibility="hidden" (or "visible") in the check\'s marker',
                    )
                if keyword.value.value == "hidden":
                    start = min(d.lineno for d in node.decorator_list)
                    cut.append((start, node.end_lineno or node.lineno, node.name))
    for start, end, _name in sorted(cut, reverse=True):
        del lines[start - 1 : end]
    return "".join(lines), [name for _s, _e, name in cut]


def refuse_hidden_left(source: str, where: str) -> None:
    """After `strip_hidden`: refuse a check file in which anything could still declare a
    hidden check (a method of a test class, `**` keywords, a marker kept in a name, the word
    "hidden" anywhere in code): a kit ships what it can tell is visible, nothing else."""
    for node in ast.walk(ast.parse(source)):
        what = None
        if isinstance(node, ast.Constant) and node.value == "hidden":
            what = 'the string "hidden"'
        elif isinstance(node, ast.Call) and any(k.arg is None for k in node.keywords):
            what = "a call with ** keywords"
        elif isinstance(node, ast.keyword) and node.arg == "visibility" and not (
            isinstance(node.value, ast.Constant) and node.value.value == "visible"
        ):
            what = "a visibility that is not visible"
        if what:
            raise KitError(
                f"{where}, line {getattr(node, 'lineno', '?')}: {what} is left after the "
                "hidden checks were cut",
                'declare each check with its own @pytest.mark.check(..., visibility="...") '
                "on a top-level function",
            )


def _count_checks(source: str) -> int:
    return sum(
        1
        for node in ast.parse(source).body
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test")
    )


def _kit_data(split, train_samples: int) -> bytes:
    """The check's data as the kit keeps it: the training rows a check trains on and the
    held-out training rows it measures on (`check_split`); no test example or label."""
    (x_train, y_train), (x_held, y_held) = split
    n = min(train_samples, len(x_train))
    buffer = io.BytesIO()
    np.savez_compressed(
        buffer, x_train=x_train[:n], y_train=y_train[:n], x_test=x_held, y_test=y_held
    )
    return buffer.getvalue()


def _copy_expected(reference, dest: Path) -> None:
    """The reference run's artifacts without trained weights, predictions or its code."""
    source = Path(reference.out_dir)
    for path in sorted(source.rglob("*")):
        if not path.is_file() or path.is_symlink():
            continue
        rel = path.relative_to(source)
        if rel.parts[0] == "models" and not path.name.endswith(KEEP_MODEL_FILES):
            continue
        if rel.parts[0] == "arrays" and any(d in path.stem for d in DROP_ARRAYS):
            continue
        _write(dest / "out" / rel, path.read_bytes())
    cache = source.parent.parent  # the reference cache entry: record.json, inputs.npz, code/
    shutil.copyfile(cache / "inputs.npz", dest / "inputs.npz")
    record = {
        **reference.to_json(),
        "out_dir": None,
        "stdout": "",
        "stderr": "",
        "notes": [],
        "expected": {},
    }
    (dest / "record.json").write_text(json.dumps(record))


def _predictions(config: AssignmentConfig, reference, split, dest: Path) -> dict:
    """The reference's trusted predictions on the held-out rows, and its metric, as the
    instructor's check session computes them (same seeding, threads and inference)."""
    from grader.check.checking import RunView
    from grader.check.keras_checks import optimizer_steps
    from grader.check.plugin import seed_trusted

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # as the check session's
    seed_trusted(config.seed, config.threads)
    view = RunView(
        id="reference", status=reference.status, detail=reference.detail,
        out_dir=Path(reference.out_dir), plan=config.plan,
    )  # fmt: skip
    (_x, _y), (_x_held, y_held) = split
    numeric = config.data.numeric_targets
    targets = np.asarray(y_held, dtype=np.float32 if numeric else np.int64)
    metrics, names, steps = {}, {}, {}
    for kind in config.plan.model_names:
        predictions = view.predictions(kind)
        names[kind] = f"predictions/{kind}.npy"
        _write(dest / names[kind], _npy(predictions))
        metrics[kind] = round(float(view.metric(kind, targets)), 6)
        steps[kind] = optimizer_steps(view, kind)
    record = json.loads((dest / "record.json").read_text())
    expected = {"predictions": names, "steps": steps}
    (dest / "record.json").write_text(json.dumps({**record, "expected": expected}))
    return metrics


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def _data_readme(config: AssignmentConfig, label: str) -> str:
    return (
        f"# The data of a check: {config.title}\n\n"
        f"Made from {label}.\n\n"
        "`check.npz` holds, like keras's `load_data()`, `x_train, y_train` (the training rows a "
        "check trains on) and `x_test, y_test`: training rows held out to measure the metric. "
        "None of it is from the grader's test split.\n"
    )


def _readme(config: AssignmentConfig, wheel: str, metrics: dict) -> str:
    shown = ", ".join(f"{k} {v:.4g}" for k, v in metrics.items())
    return f"""# Check kit: {config.title}

Hand this wheel to students. In a fresh virtual environment (Python 3.11):

    pip install {wheel}
    grader check path/to/their/work        # a folder of modules, a notebook, a .py or a .zip

In a notebook, a cell `from grader.kit import check; check("{config.name}.ipynb")` checks the
saved notebook and shows the result inline.

The kit runs the visible checks with the `{KIT_BUDGET}` budget, trained on the first training
rows and measured on held-out training rows: the scores are those of the instructor's
`grader check` of the same work. It holds no solution, no trained reference weights, no hidden
check and no test example or label. The reference's metric on the held-out rows: {shown}.
"""


def _write_wheel(root: Path, out: Path, name: str) -> Path:
    """A pure-Python wheel of `root`'s tree, installable offline with `pip install`."""
    from importlib import metadata

    local = re.sub(r"[^a-z0-9]+", ".", name.lower()).strip(".") or "kit"
    version = f"{__version__}+kit.{local}"
    dist = f"keras_grader-{version}"
    try:
        requires = metadata.requires("keras-grader") or []
    except metadata.PackageNotFoundError:  # a checkout run without installing: its pyproject
        import tomllib

        pyproject = PACKAGE_DIR.parent / "pyproject.toml"
        requires = tomllib.loads(pyproject.read_text())["project"]["dependencies"]
    requires = [r for r in requires if "extra ==" not in r]
    meta = [
        "Metadata-Version: 2.1", "Name: keras-grader", f"Version: {version}",
        f"Summary: keras-grader check kit for {name} (visible checks only)",
        "Requires-Python: >=3.11,<3.12", *(f"Requires-Dist: {r}" for r in requires),
    ]  # fmt: skip
    files: dict[str, bytes] = {}
    for path in sorted(root.rglob("*")):
        if path.is_file():
            files[path.relative_to(root).as_posix()] = path.read_bytes()
    files[f"{dist}.dist-info/METADATA"] = ("\n".join(meta) + "\n").encode()
    files[f"{dist}.dist-info/WHEEL"] = (
        b"Wheel-Version: 1.0\nGenerator: keras-grader kit\nRoot-Is-Purelib: true\n"
        b"Tag: py3-none-any\n"
    )
    files[f"{dist}.dist-info/entry_points.txt"] = b"[console_scripts]\ngrader = grader.cli:main\n"
    record = io.StringIO()
    writer = csv.writer(record, lineterminator="\n")
    for member, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        writer.writerow([member, f"sha256={digest}", len(data)])
    writer.writerow([f"{dist}.dist-info/RECORD", "", ""])
    files[f"{dist}.dist-info/RECORD"] = record.getvalue().encode()
    wheel = out / f"{dist}-py3-none-any.whl"
    tmp = wheel.with_name(f".{wheel.name}.tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
        for member, data in files.items():
            zf.writestr(zipfile.ZipInfo(member, (2020, 1, 1, 0, 0, 0)), data, zipfile.ZIP_DEFLATED)
    os.replace(tmp, wheel)
    return wheel


# ---- in the student's notebook -------------------------------------------------------------
def load_data(assignment: str):
    """The data of a check, as keras's `load_data()` returns a dataset: the kit's own where
    a kit is installed, else the instructor's check split of the bundled data. For a notebook
    with no internet (keras's download needs it)."""
    from grader.data import grading_split

    config = find_assignment(assignment)
    return grading_split(config, "bundled", "visible")


@dataclass(frozen=True)
class InlineCheck:
    """What `check()` shows in the notebook (its `_repr_html_`), and its numbers (not
    grader.report.results.CheckResult: one whole check of a saved file)."""

    path: str
    score: float
    max_score: float
    status: str
    checks: tuple[dict, ...]
    report: str
    error: str = ""

    def _repr_html_(self) -> str:
        esc = html.escape
        if self.error:
            return f'<div style="color:#a40000"><b>grader check:</b> {esc(self.error)}</div>'
        rows = []
        for c in self.checks:
            ok = c["score"] >= c["max_score"]
            mark = "&#10004;" if ok else ("&#9888;" if c["score"] > 0 else "&#10008;")
            feedback = "" if ok else esc(c.get("feedback", "")).replace("\n", "<br>")
            rows.append(
                f"<tr><td>{mark}</td><td>{esc(c['title'])}</td>"
                f"<td style='text-align:right'>{c['score']:g}/{c['max_score']:g}</td>"
                f"<td style='font-size:90%'>{feedback}</td></tr>"
            )
        return (
            f"<div class='keras-grader-check'><b>{esc(Path(self.path).name)}: "
            f"{self.score:g}/{self.max_score:g}</b> (visible checks, status {esc(self.status)})"
            "<table><tr><th></th><th>check</th><th>points</th><th>feedback</th></tr>"
            + "".join(rows)
            + f"</table><div style='font-size:85%'>report: {esc(self.report)}</div></div>"
        )

    def __repr__(self) -> str:
        if self.error:
            return f"grader check: {self.error}"
        lines = [f"{Path(self.path).name}: {self.score:g}/{self.max_score:g} ({self.status})"]
        lines += [f"  {c['score']:g}/{c['max_score']:g}  {c['title']}" for c in self.checks]
        return "\n".join(lines)


def check(path: str | os.PathLike = ".", assignment: str | None = None) -> InlineCheck:
    """Check the saved file or folder at `path` with the visible checks, as `grader check`
    does (in a process of its own: the notebook's state is never touched), and return the
    result, which a notebook shows as a table. Save the notebook first."""
    from grader.cli import _default_assignment
    from grader.pipeline import default_check_out

    target = Path(path).resolve()
    out = default_check_out(target)
    command = [
        sys.executable, "-m", "grader.cli", "check", str(target), "--out", str(out),
        "--assignment", assignment or _default_assignment(),
    ]  # fmt: skip
    proc = subprocess.run(command, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    found = sorted(out.glob("[!.]*/results.json"))
    results = found[0] if len(found) == 1 else out / "results.json"
    if proc.returncode != 0 or not results.is_file():
        lines = [ln for ln in (proc.stderr or proc.stdout).splitlines() if ln.strip()]
        return InlineCheck(str(target), 0.0, 0.0, "error", (), str(out), lines[-1] if lines else
                           f"grader check exited with {proc.returncode}")  # fmt: skip
    data = json.loads(results.read_text())
    checks = tuple(
        {
            "title": t.get("name", ""),
            "score": float(t.get("score", 0)),
            "max_score": float(t.get("max_score", 0)),
            "feedback": t.get("output", ""),
        }
        for t in data.get("tests", [])
    )
    return InlineCheck(
        str(target), float(data.get("score", 0)), sum(c["max_score"] for c in checks),
        str(data.get("extra_data", {}).get("status", "ok")), checks,
        str(results.with_name("report.html")),
    )  # fmt: skip
