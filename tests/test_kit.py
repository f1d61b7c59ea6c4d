"""The student check kit (issue 15): `grader kit ASSIGNMENT --out DIR` builds one wheel that,
installed alone in a fresh venv, runs `grader check` with no reference anywhere, holds no
solution, no trained reference weights, no hidden check and no test example, and scores
every visible check exactly as the instructor's own `grader check` does.
"""

from __future__ import annotations

import ast
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import numpy as np
import pytest
from test_check_in_place import HANDED_OUT, SOLUTION, _finished_notebook, _old_report_inside
from test_cli import ROOT, assert_one_line_error, grader_env, run_grader

from grader.config import find_assignment, load_config
from grader.data import check_split, grading_split, load_data
from grader.errors import GraderError
from grader.kit import KitError, strip_hidden
from grader.pipeline import GradeRequest, grade

CONFIG = find_assignment("mnist")


# ---- fast: the parts ------------------------------------------------------------------------
def test_a_check_uses_training_rows_only():
    """Does the check's split hold out training rows (never a test row), disjoint from the
    rows it trains on, and is it what the pipeline and phase 2 load for a check?"""
    (x_train, y_train), (x_test, y_test) = load_data(CONFIG, "bundled")
    (xc, yc), (xh, yh) = check_split(((x_train, y_train), (x_test, y_test)))
    assert len(xh) == min(len(x_test), len(x_train) // 5) == 800
    assert np.array_equal(np.concatenate([xc, xh]), x_train)  # training rows, in order
    assert np.array_equal(np.concatenate([yc, yh]), y_train)
    assert len(xc) >= CONFIG.budget("quick").train_samples  # the budget's rows all train
    assert set(np.unique(yh)) == set(range(10))  # every class is measured
    (gc, _), (gh, _) = grading_split(CONFIG, "bundled", "visible")
    assert np.array_equal(gc, xc) and np.array_equal(gh, xh)
    (ga, _), (gt, _) = grading_split(CONFIG, "bundled", "all")
    assert np.array_equal(gt, x_test)  # a grading still measures on the test split


def test_hidden_checks_are_cut_with_their_decorators():
    source = (
        "import pytest\n\n\n"
        "@pytest.mark.check(points=1, title='shown')\n"
        "def test_shown(student):\n    pass\n\n\n"
        "@pytest.mark.slow\n"
        "@pytest.mark.check(points=2, title='secret title', visibility=\"hidden\")\n"
        "def test_secret(student):\n    '''the secret check'''\n    assert 1\n\n\n"
        "def helper():\n    return 3\n"
    )
    kept, cut = strip_hidden(source)
    assert cut == ["test_secret"]
    assert "secret" not in kept and "test_shown" in kept and "def helper" in kept
    ast.parse(kept)
    with pytest.raises(KitError, match="not a literal"):
        strip_hidden("@pytest.mark.check(points=1, title='t', visibility=V)\ndef test_v(): pass\n")


@pytest.mark.parametrize(
    "source",
    [
        'class TestX:\n    @pytest.mark.check(points=1, title="t", visibility="hidden")\n'
        "    def test_a(self):\n        pass\n",
        'H = dict(visibility="hidden")\n\n\n@pytest.mark.check(points=1, title="t", **H)\n'
        "def test_a():\n    pass\n",
        'hidden = pytest.mark.check(points=1, title="t", visibility="hidden")\n\n\n@hidden\n'
        "def test_a():\n    pass\n",
    ],
    ids=["method", "kwargs", "alias"],
)
def test_a_hidden_check_the_cut_cannot_see_refuses_the_kit(source):
    from grader.kit import refuse_hidden_left

    kept, cut = strip_hidden(source)
    assert cut == []
    with pytest.raises(KitError, match="left after the hidden checks were cut"):
        refuse_hidden_left(kept, "test_x.py")


def test_a_kit_description_without_its_keys_is_refused(tmp_path):
    kit = tmp_path / "mnist"
    shutil.copytree(CONFIG.root, kit, ignore=shutil.ignore_patterns("*.py", "data"))
    (kit / "kit.json").write_text(json.dumps({"assignment": "mnist"}))
    with pytest.raises(GraderError, match="missing budget, data"):
        load_config(kit)


def test_the_notebook_loads_the_kit_digits_when_keras_cannot_download():
    """Does the handed-out notebook's data cell fall back to the check's digits offline
    (the tutorial's download first), and are those digits the instructor's check split?"""
    import nbformat

    notebook = nbformat.read(HANDED_OUT / "mnist.ipynb", as_version=4)
    setup = next(cell.source for cell in notebook.cells if cell.get("id") == "setup")
    tree = ast.parse(setup)
    handler = next(node for node in ast.walk(tree) if isinstance(node, ast.Try))
    assert "keras.datasets.mnist.load_data()" in ast.unparse(handler.body)
    assert "from grader.kit import load_data" in ast.unparse(handler.handlers[0].body)
    from grader.kit import load_data as kit_data

    (xa, _), (xb, _) = kit_data("mnist")
    (xc, _), (xd, _) = grading_split(CONFIG, "bundled", "visible")
    assert np.array_equal(xa, xc) and np.array_equal(xb, xd)


# ---- slow: a real kit, built and installed -----------------------------------------------------
@pytest.fixture(scope="module")
def kit(tmp_path_factory):
    """`grader kit mnist`, as an instructor runs it (the reference runs in the sandbox)."""
    out = tmp_path_factory.mktemp("kit")
    proc = run_grader(["kit", "mnist", "--out", out], grader_env(tmp_path_factory), ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    wheels = list(out.glob("keras_grader-*+kit.mnist-py3-none-any.whl"))
    assert len(wheels) == 1, sorted(out.iterdir())
    return wheels[0], proc.stdout


def _solution_lines() -> set[str]:
    """Every line of the reference between its solution markers that says something (not
    a bare `return model` or bracket): what no file of the kit may contain."""
    lines = set()
    for module in CONFIG.modules:
        inside = False
        for line in (CONFIG.root / f"{module}.py").read_text().splitlines():
            text = line.strip()
            if text == "# BEGIN SOLUTION":
                inside = True
            elif text == "# END SOLUTION":
                inside = False
            elif inside and len(text) >= 20:
                lines.add(text)
    return lines


def _hidden_checks() -> tuple[list[str], list[str]]:
    """The hidden checks' function names and titles, from the reference's check files."""
    names, titles = [], []
    for path in sorted((CONFIG.root / "checks").glob("*.py")):
        for node in ast.parse(path.read_text()).body:
            for dec in getattr(node, "decorator_list", []):
                kw = {k.arg: k.value for k in getattr(dec, "keywords", [])}
                if getattr(kw.get("visibility"), "value", None) == "hidden":
                    names.append(node.name)
                    titles.append(kw["title"].value)
    return names, titles


@pytest.mark.slow
def test_the_kit_holds_no_solution_no_hidden_check_and_no_test_example(kit):
    wheel, stdout = kit
    assert "hidden checks left out: 1" in stdout
    with zipfile.ZipFile(wheel) as zf:
        members = {name: zf.read(name) for name in zf.namelist()}
    texts = {n: d.decode("utf-8", "replace") for n, d in members.items() if not n.endswith(
        (".npz", ".npy", ".keras", ".whl"))}  # fmt: skip
    solution = _solution_lines()
    assert len(solution) >= 8, solution  # the scan looks for something
    for name, text in texts.items():  # a line of the solution as a line of a file's code
        lines = {line.strip() for line in text.splitlines()}
        found = sorted(solution & lines)
        assert not found, f"{name} holds solution lines: {found}"
    names, titles = _hidden_checks()
    assert names and titles
    for name, text in texts.items():
        for needle in names + titles:
            assert needle not in text, f"{name} names the hidden check {needle!r}"
    kit_files = [n for n in members if n.startswith("grader/kits/mnist/")]
    assert "grader/kits/mnist/kit.json" in kit_files
    # No code of the reference, no trained weights: of the models, the architecture only.
    assert not [n for n in members if Path(n).name in {f"{m}.py" for m in CONFIG.modules}]
    models = [Path(n).name for n in kit_files if "/out/models/" in n]
    assert models and all(re.search(r"_(untrained\.(json|npz)|built\.keras)$", m) for m in models)
    # No test example: no image of the grader's test split appears in any array of the kit.
    (_x, _y), (x_test, _labels) = load_data(CONFIG, "bundled")
    test_rows = {hashlib.sha256(row.tobytes()).digest() for row in x_test}
    seen = 0
    for name, data in members.items():
        if not name.endswith(".npz"):
            continue
        with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
            for key in arrays.files:
                array = arrays[key]
                if array.dtype == np.uint8 and array.shape[1:] == (28, 28):
                    seen += len(array)
                    rows = {hashlib.sha256(r.tobytes()).digest() for r in array}
                    assert not rows & test_rows, f"{name}:{key} holds test images"
    assert seen >= 2 * 800  # the data of a check (and the reference's inputs) were scanned
    described = json.loads(members["grader/kits/mnist/kit.json"])
    assert described["budget"] == "quick" and described["visible_checks"] == 21
    assert all(0.5 < v <= 1 for v in described["metrics"].values()), described["metrics"]


def _fresh_venv(where: Path) -> Path:
    """A new venv. Its third-party packages (TensorFlow and the rest, what pip would
    download) are this venv's, seen through a .pth line: the grader itself is not."""
    subprocess.run([sys.executable, "-m", "venv", str(where)], check=True, timeout=300)
    python = where / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    Path(site, "_packages.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return where / "bin"


def _student_env(home: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "KERAS_GRADER"))}
    return {**env, "HOME": str(home), "COLUMNS": "120"}


def _scores(out: Path) -> dict:
    (results,) = [p for p in out.glob("[!.]*/results.json")]
    return {t["name"]: t["score"] for t in json.loads(results.read_text())["tests"]}


def _student_folders(root: Path) -> dict[str, Path]:
    """What students hand in: the folder untouched, half done, and a finished notebook."""
    stubs = root / "stubs"
    shutil.copytree(HANDED_OUT, stubs)
    half = root / "half"
    half.mkdir()
    for module in CONFIG.modules:
        shutil.copy(HANDED_OUT / f"{module}.py", half)
    for module in ("preprocessing", "models"):
        (half / f"{module}.py").write_text(SOLUTION[module])
    notebook = root / "notebook"
    notebook.mkdir()
    for module in CONFIG.modules:
        shutil.copy(HANDED_OUT / f"{module}.py", notebook)
    (notebook / "mnist.ipynb").write_text(_finished_notebook())
    return {"stubs": stubs, "half": half, "notebook": notebook}


@pytest.mark.slow
def test_a_fresh_venv_with_only_the_kit_checks_as_the_instructor_does(
    kit, tmp_path, tmp_path_factory
):
    wheel, _stdout = kit
    bin_dir = _fresh_venv(tmp_path / "venv")
    home = tmp_path / "home"
    home.mkdir()
    env = _student_env(home)
    pip = subprocess.run(
        [str(bin_dir / "pip"), "install", "--no-input", str(wheel)], cwd=home, env=env,
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert pip.returncode == 0, pip.stdout[-2000:] + pip.stderr[-2000:]
    grader = str(bin_dir / "grader")
    where = subprocess.run(
        [str(bin_dir / "python"), "-c", "import grader.config as c; "
         "print(c.REPO_ROOT, (c.REPO_ROOT / 'reference').exists(), c.known_assignments())"],
        cwd=home, env=env, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert "False ['mnist']" in where and str(ROOT) not in where, where

    folders = _student_folders(tmp_path / "work")
    # The notebook as the assignment's README says: `cd mnist && grader check .`, with an
    # older check's report left inside (never graded, never touched), the report in the cache.
    _old_report_inside(folders["notebook"])
    before = sorted(p.relative_to(folders["notebook"]) for p in folders["notebook"].rglob("*"))
    commands = {
        name: ([grader, "check", "."], folder) if name == "notebook" else
        ([grader, "check", str(folder), "--out", str(tmp_path / "kit-out" / name)], home)
        for name, folder in folders.items()
    }  # fmt: skip
    runs = {
        name: subprocess.Popen(
            args, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            stdin=subprocess.DEVNULL,
        )  # fmt: skip
        for name, (args, cwd) in commands.items()
    }
    outputs = {name: proc.communicate(timeout=900) for name, proc in runs.items()}
    for name, proc in runs.items():
        assert proc.returncode == 0, (name, outputs[name][1][-3000:])
    report = Path(outputs["notebook"][0].split("report: ")[-1].strip())
    assert report.is_relative_to(home / ".cache" / "keras-grader" / "check"), report
    assert sorted(p.relative_to(folders["notebook"]) for p in folders["notebook"].rglob("*")) \
        == before  # fmt: skip
    outs = {name: tmp_path / "kit-out" / name for name in folders}
    outs["notebook"] = report.parent.parent
    kit_scores = {name: _scores(out) for name, out in outs.items()}

    # The instructor's `grader check` of the same three (as one class: the same per-student
    # work, one check session), with the reference in this checkout.
    os.environ["KERAS_GRADER_CACHE"] = grader_env(tmp_path_factory)["KERAS_GRADER_CACHE"]
    try:
        outcome = grade(GradeRequest(
            submissions=list(folders.values()), out=tmp_path / "instructor", assignment="mnist",
            budget="quick", visibility="visible", reports=False,
        ))  # fmt: skip
    finally:
        os.environ.pop("KERAS_GRADER_CACHE")
    instructor = {
        r.id: {c.title: c.score for c in r.checks} for r in outcome.results
    }
    assert kit_scores == instructor, (kit_scores, instructor)
    full = sum(c.max_score for c in outcome.results[0].checks)
    assert sum(kit_scores["notebook"].values()) == full
    assert 0 < sum(kit_scores["half"].values()) < full
    assert sum(kit_scores["stubs"].values()) == 0
    assert "graded the notebook mnist.ipynb" in outputs["notebook"][0]
    assert "neither" in outputs["stubs"][0]
    assert "score on the visible checks:" in outputs["half"][0]
    assert "[run] 1/1 half: ok" in outputs["half"][0]  # progress while it runs

    # The kit checks; it does not grade, nor check another budget or data.
    proc = subprocess.run([grader, "grade", str(tmp_path / "work"), "--out", str(tmp_path / "g")],
                          cwd=home, env=env, capture_output=True, text=True, timeout=300)
    assert_one_line_error(proc, "student check kit", code=2)
    proc = subprocess.run([grader, "check", str(folders["half"]), "--budget", "bundled"],
                          cwd=home, env=env, capture_output=True, text=True, timeout=300)
    assert_one_line_error(proc, "built for the 'quick' budget", code=2)


# ---- the notebook: offline top to bottom, and the check cell --------------------------------
def _solved_notebook(path: Path) -> Path:
    """The handed-out notebook with each function's cell holding the reference's code (by
    cell id, as a student fills it in), and a last cell that checks the saved notebook."""
    import nbformat

    functions = {}
    for module in CONFIG.modules:
        source = SOLUTION[module]
        for node in ast.parse(source).body:
            if isinstance(node, ast.FunctionDef):
                functions[node.name] = ast.get_source_segment(source, node)
    notebook = nbformat.read(HANDED_OUT / "mnist.ipynb", as_version=4)
    filled = 0
    for cell in notebook.cells:
        if cell.cell_type == "code" and cell.get("id") in functions:
            cell.source = functions[cell.id]
            filled += 1
    assert filled == len(functions), (filled, sorted(functions))
    notebook.cells.append(nbformat.v4.new_code_cell(
        'from grader.kit import check\n\ncheck("mnist.ipynb")', id="check-cell"))  # fmt: skip
    nbformat.write(notebook, path)
    return path


@pytest.mark.slow
@pytest.mark.full  # 46 s: the gate checks a finished notebook through the kit already
def test_the_finished_notebook_runs_offline_and_checks_itself_inline(tmp_path, tmp_path_factory):
    """Does the generated notebook, with the solution filled in, run top to bottom with no
    internet (its data cell falls back to the check's digits), and does its last cell,
    `check("mnist.ipynb")`, show the visible checks inline as HTML, at full marks?"""
    import nbclient
    import nbformat

    path = _solved_notebook(tmp_path / "mnist.ipynb")
    (tmp_path / "home").mkdir()
    notebook = nbformat.read(path, as_version=4)
    env = {
        **grader_env(tmp_path_factory), "HOME": str(tmp_path / "home"), "MPLBACKEND": "Agg",
        "HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9",  # offline
    }  # fmt: skip
    saved = dict(os.environ)
    os.environ.update(env)  # the kernel inherits this process's environment
    try:
        client = nbclient.NotebookClient(
            notebook, timeout=600, kernel_name="python3",
            resources={"metadata": {"path": str(tmp_path)}},
        )  # fmt: skip
        client.execute()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    cells = {cell.get("id"): cell for cell in notebook.cells}
    setup = "".join(o.get("text", "") for o in cells["setup"].outputs)
    assert "could not be downloaded" in setup and "(3200, 28, 28) uint8" in setup, setup
    outputs = cells["check-cell"].outputs
    shown = [o["data"]["text/html"] for o in outputs if "text/html" in o.get("data", {})]
    assert len(shown) == 1, outputs
    assert re.search(r"mnist\.ipynb: (\d+)/\1</b>", shown[0]), shown[0][:2000]
    assert shown[0].count("<tr>") == 1 + 21  # the header and every visible check


@pytest.mark.slow
@pytest.mark.full  # three kits built and checked: minutes
@pytest.mark.parametrize("name", ["ibm_lab", "cancer", "diabetes"])
def test_every_assignment_kit_scores_as_the_instructor_does(name, tmp_path, tmp_path_factory):
    """Does each assignment's kit (other task kinds: binary, regression, another contract)
    give the instructor's visible scores, check by check, to the reference's own code? The
    kit's assignment folder is used in place, as an installed kit's is."""
    from grader.kit import build_kit

    config = find_assignment(name)
    os.environ["KERAS_GRADER_CACHE"] = grader_env(tmp_path_factory)["KERAS_GRADER_CACHE"]
    try:
        built = build_kit(name, tmp_path / "kit")
        with zipfile.ZipFile(built.wheel) as zf:
            zf.extractall(tmp_path / "installed")
        kit_dir = tmp_path / "installed" / "grader" / "kits" / name
        assert find_assignment(str(kit_dir)).kit is not None
        student = tmp_path / "student"
        student.mkdir()
        for module in config.modules:
            shutil.copy(config.root / f"{module}.py", student)
        scores = {}
        for who, assignment in (("instructor", name), ("kit", str(kit_dir))):
            outcome = grade(GradeRequest(
                submissions=[student], out=tmp_path / who, assignment=assignment,
                budget="quick", visibility="visible", reports=False,
            ))  # fmt: skip
            scores[who] = {c.title: c.score for c in outcome.results[0].checks}
    finally:
        os.environ.pop("KERAS_GRADER_CACHE")
    assert scores["kit"] == scores["instructor"]
    assert sum(scores["kit"].values()) > 0


def test_the_inline_result_escapes_feedback_and_reports_errors():
    """Does the notebook's table escape what a student's code put in the feedback, and does a
    check that could not run show its one line instead of a table?"""
    from grader.kit import InlineCheck

    shown = InlineCheck("mnist.ipynb", 1, 2, "ok", (
        {"title": "t", "score": 1.0, "max_score": 2.0, "feedback": "<script>x</script>"},), "r")
    page = shown._repr_html_()
    assert "<script>" not in page and "&lt;script&gt;" in page and "1/2" in page
    failed = InlineCheck("mnist.ipynb", 0, 0, "error", (), "r", "error: nothing to grade")
    assert "nothing to grade" in failed._repr_html_() and "<table" not in failed._repr_html_()
