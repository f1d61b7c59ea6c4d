"""Tests of grader/authoring/assign.py: student material generated from the reference."""

from __future__ import annotations

import ast
import importlib.util
import inspect
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest

from grader.authoring.assign import BEGIN, END, generate_assignment
from grader.errors import GraderError

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "reference" / "mnist"
COMMITTED = ROOT / "assignments" / "mnist"

IMAGES = np.zeros((2, 28, 28), dtype=np.uint8)
LABELS = np.array([3, 7])
MODEL = object()  # the stubs raise before they touch it
# ASSIGNMENT.md's contract: module -> function -> plausible (args, kwargs).
CONTRACT = {
    "preprocessing": {
        "flatten_and_scale": ((IMAGES,), {}),
        "reshape_for_cnn": ((IMAGES,), {}),
        "one_hot": ((LABELS,), {"num_classes": 10}),
    },
    "models": {
        "build_mlp": ((), {}),
        "build_cnn": ((), {"input_shape": (28, 28, 1), "num_classes": 10}),
    },
    "training": {
        "train": ((MODEL, IMAGES, LABELS), {"epochs": 1, "batch_size": 2, "validation_split": 0.5}),
        "evaluate": ((MODEL, IMAGES, LABELS), {}),
        "save": ((MODEL, "model.keras"), {}),
        "load": (("model.keras",), {}),
    },
}
FUNCTIONS = [(module, name) for module, names in CONTRACT.items() for name in names]
FUNCTION_IDS = [f"{module}.{name}" for module, name in FUNCTIONS]


def _import(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> tuple[Path, list[Path]]:
    dest = tmp_path_factory.mktemp("assignment") / "mnist"
    return dest, generate_assignment(REFERENCE, dest)


@pytest.fixture(scope="module")
def stubs(generated) -> dict:
    dest, _ = generated
    return {m: _import(dest / f"{m}.py", f"_stub_{m}") for m in CONTRACT}


@pytest.fixture(scope="module")
def references() -> dict:
    return {m: _import(REFERENCE / f"{m}.py", f"_reference_{m}") for m in CONTRACT}


@pytest.fixture(scope="module")
def notebook_functions(generated) -> dict:
    """The notebook's code cells reduced the way grading reduces them, run in a fresh namespace."""
    dest, _ = generated
    notebook = nbformat.read(dest / "mnist.ipynb", as_version=4)
    kept = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef)
    namespace: dict = {}
    for cell in notebook.cells:
        if cell.cell_type == "code":
            tree = ast.parse(cell.source)
            tree.body = [node for node in tree.body if isinstance(node, kept)]
            # dont_inherit: this file's `from __future__ import annotations` must not leak in
            exec(compile(tree, f"<cell {cell.id}>", "exec", dont_inherit=True), namespace)
    return namespace


def test_regeneration_reproduces_committed_files(generated):
    """Does regenerating the assignment reproduce the committed files exactly?"""
    dest, written = generated
    made = sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_file())
    committed = sorted(p.relative_to(COMMITTED).as_posix() for p in COMMITTED.rglob("*"))
    assert made == committed, "run generate_assignment(reference/mnist, assignments/mnist)"
    assert sorted(p.relative_to(dest).as_posix() for p in written) == made
    for name in made:
        assert (dest / name).read_bytes() == (COMMITTED / name).read_bytes(), name


def test_written_files_in_order(generated):
    """Are the stubs returned in teaching order, then the notebook and the README?"""
    _, written = generated
    names = [p.name for p in written]
    expected = ["preprocessing.py", "models.py", "training.py", "mnist.ipynb", "README.md"]
    assert names == expected


@pytest.mark.parametrize(("module", "name"), FUNCTIONS, ids=FUNCTION_IDS)
def test_stub_signature_is_the_reference_one(stubs, references, module, name):
    """Does each stub keep the reference's signature exactly (kinds, defaults, annotations)?"""
    stub = inspect.signature(getattr(stubs[module], name))
    assert stub == inspect.signature(getattr(references[module], name))
    assert str(stub) == str(inspect.signature(getattr(references[module], name)))


@pytest.mark.parametrize(("module", "name"), FUNCTIONS, ids=FUNCTION_IDS)
def test_stub_raises_not_implemented(stubs, module, name):
    """Does each stub function raise NotImplementedError naming itself when called?"""
    function = getattr(stubs[module], name)
    args, kwargs = CONTRACT[module][name]
    inspect.signature(function).bind(*args, **kwargs)
    with pytest.raises(NotImplementedError, match=rf"^{name}\(\) is not written yet"):
        function(*args, **kwargs)


def test_stubs_define_exactly_the_contract(stubs):
    """Does each stub module define the contract's functions and no others?"""
    for module, names in CONTRACT.items():
        namespace = vars(stubs[module])
        defined = {
            n
            for n, f in namespace.items()
            if inspect.isfunction(f) and f.__module__ == namespace["__name__"]
        }
        assert defined == set(names), module


def test_stubs_keep_everything_outside_solution_blocks(generated):
    """Is every reference line outside the solution blocks kept verbatim, and nothing inside?"""
    dest, _ = generated
    for module in CONTRACT:
        kept, inside = [], False
        for line in (REFERENCE / f"{module}.py").read_text().splitlines():
            if line.strip() in (BEGIN, END):
                inside = line.strip() == BEGIN
            elif not inside:
                kept.append(line)
        stub = (dest / f"{module}.py").read_text().splitlines()
        stub = [line.replace("  # noqa: F401", "") for line in stub]
        assert [line for line in stub if "raise NotImplementedError" not in line] == kept
        assert "SOLUTION" not in "\n".join(stub)


def test_notebook_is_valid(generated):
    """Is the notebook valid nbformat v4 with a python3 kernel, fixed ids and no outputs?"""
    dest, _ = generated
    notebook = nbformat.read(dest / "mnist.ipynb", as_version=4)
    nbformat.validate(notebook)
    assert notebook.metadata.kernelspec.name == "python3"
    ids = [cell.id for cell in notebook.cells]
    assert len(set(ids)) == len(ids)
    assert ids[:2] == ["intro", "setup-about"] and ids[-1] == "submit"
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None


@pytest.mark.parametrize(("module", "name"), FUNCTIONS, ids=FUNCTION_IDS)
def test_notebook_functions_raise(notebook_functions, references, module, name):
    """Do the notebook's cells, reduced as grading reduces them, define raising stubs?"""
    function = notebook_functions[name]
    assert inspect.signature(function) == inspect.signature(getattr(references[module], name))
    args, kwargs = CONTRACT[module][name]
    with pytest.raises(NotImplementedError, match=rf"^{name}\(\)"):
        function(*args, **kwargs)


def test_notebook_cells_hold_the_py_stubs(generated):
    """Does each notebook function cell hold the same text as the function in the .py stub?"""
    dest, _ = generated
    cells = {c.id: c.source for c in nbformat.read(dest / "mnist.ipynb", as_version=4).cells}
    for module, names in CONTRACT.items():
        stub = (dest / f"{module}.py").read_text()
        for node in ast.parse(stub).body:
            if isinstance(node, ast.FunctionDef):
                assert cells[node.name] == ast.get_source_segment(stub, node)
        assert set(names) <= set(cells)


def test_readme_lists_every_function(generated):
    """Does the README name every function to write and every submission form?"""
    dest, _ = generated
    readme = (dest / "README.md").read_text()
    for name in (n for names in CONTRACT.values() for n in names):
        assert f"`{name}`" in readme
    for form in ("`mnist.ipynb`", "`preprocessing.py`", "single `.py`", "`.zip`"):
        assert form in readme
    assert "grader check mnist.ipynb --assignment mnist" in readme


def test_readme_says_what_is_accepted_and_what_each_deviation_costs(generated):
    """Does the README carry the assignment's GRADING.md: accepted model styles, the table of
    deviations and the checks each costs, and the grading environment?"""
    dest, _ = generated
    readme = (dest / "README.md").read_text()
    grading = (REFERENCE / "GRADING.md").read_text()
    assert readme.endswith(grading)
    for phrase in ("subclass of `keras.Model`", "What each deviation costs", "| wrong one-hot",
                   "matplotlib, pandas, scikit-learn"):  # fmt: skip
        assert phrase in readme


def test_committed_assignment_is_ruff_clean():
    """Does ruff pass on the committed stubs and notebook?"""
    ruff = Path(sys.executable).with_name("ruff")
    if not ruff.exists():
        ruff = shutil.which("ruff")
    if not ruff:
        pytest.skip("ruff is not installed")
    done = subprocess.run(
        [str(ruff), "check", str(COMMITTED)], cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr


TOY = '''\
"""A toy reference."""

import json
import math


def area(r: float) -> float:
    """Area of a circle.

    Text that merely mentions # BEGIN SOLUTION is not a marker.
    """
    # BEGIN SOLUTION
    return math.pi * r**2
    # END SOLUTION


class Shape:
    def size(self) -> int:
        if True:
            # BEGIN SOLUTION
            return 1
            # END SOLUTION
        return 0


def helper() -> int:
    return 2
'''


def test_generic_reference(tmp_path):
    """Does a reference without hand-written text still get stubs, a notebook and a README?"""
    (tmp_path / "toy").mkdir()
    (tmp_path / "toy" / "shapes.py").write_text(TOY)
    (tmp_path / "toy" / "notes.py").write_text("X = 1\n")  # no markers: not a stub
    written = generate_assignment(tmp_path / "toy", tmp_path / "out")
    assert [p.name for p in written] == ["shapes.py", "toy.ipynb", "README.md"]
    stub = (tmp_path / "out" / "shapes.py").read_text()
    assert "import json  # noqa: F401\nimport math  # noqa: F401\n" in stub
    assert "    Text that merely mentions # BEGIN SOLUTION is not a marker." in stub
    assert '            raise NotImplementedError("size() is not written yet' in stub
    assert "def helper() -> int:\n    return 2\n" in stub
    shapes = _import(tmp_path / "out" / "shapes.py", "_toy_shapes")
    with pytest.raises(NotImplementedError, match=r"^area\(\)"):
        shapes.area(1.0)
    with pytest.raises(NotImplementedError, match=r"^size\(\)"):
        shapes.Shape().size()
    notebook = nbformat.read(tmp_path / "out" / "toy.ipynb", as_version=4)
    nbformat.validate(notebook)
    assert [c.id for c in notebook.cells if c.cell_type == "code"] == ["setup", "area", "Shape"]


def test_long_names_keep_lines_short(tmp_path):
    """Does the raise line shrink its message rather than overflow the line length?"""
    name = "a_function_with_a_rather_long_name_indeed"
    (tmp_path / "ref").mkdir()
    (tmp_path / "ref" / "m.py").write_text(
        f"def {name}():\n    # BEGIN SOLUTION\n    return 1\n    # END SOLUTION\n"
    )
    generate_assignment(tmp_path / "ref", tmp_path / "out")
    line = (tmp_path / "out" / "m.py").read_text().splitlines()[1]
    assert line == f'    raise NotImplementedError("{name}() is not written yet")'


def _marked(body: str) -> str:
    return body.replace("BEGIN", BEGIN).replace("END", END)


BAD_MARKERS = {
    "never-closed": ("def f():\n    BEGIN\n    return 1\n", 2, "never closed"),
    "end-without-begin": ("def f():\n    return 1\n    END\n", 3, "without"),
    "nested": (
        "def f():\n    BEGIN\n    x = 1\n    BEGIN\n    return x\n    END\n    END\n",
        4,
        "cannot nest",
    ),
    "module-level": ("BEGIN\nX = 1\nEND\n", 1, "outside any function"),
    "between-functions": (
        "def f():\n    return 1\n\n\nBEGIN\ndef g():\n    return 2\nEND\n",
        5,
        "outside any function",
    ),
    "class-body": ("class C:\n    BEGIN\n    x = 1\n    END\n", 2, "outside any function"),
    "no-body": ("def f():\nBEGIN\n    return 1\nEND\n", 2, "no body"),
    "two-functions": (
        "def f():\n    BEGIN\n    return 1\n\n\ndef g():\n    return 2\n    END\n",
        8,
        "not in f()",
    ),
    "end-indent": (
        "def f():\n    if 1:\n        BEGIN\n        return 1\n    END\n",
        5,
        "indented",
    ),
    "partial-statement": (
        "def f():\n    BEGIN\n    x = [\n    END\n        1]\n    return x\n",
        3,
        "does not fit",
    ),
    "dedented-statement": (
        "def f(x):\n    if x:\n        BEGIN\n        x = 1\n    x = 2\n        END\n",
        5,
        "does not fit",
    ),
}


@pytest.mark.parametrize(
    ("source", "line", "why"), BAD_MARKERS.values(), ids=list(BAD_MARKERS.keys())
)
def test_bad_markers_are_refused(tmp_path, source, line, why):
    """Is a misplaced solution marker refused, naming the file and the line?"""
    (tmp_path / "ref").mkdir()
    (tmp_path / "ref" / "m.py").write_text(_marked(source))
    with pytest.raises(GraderError, match=why) as error:
        generate_assignment(tmp_path / "ref", tmp_path / "out")
    assert f"m.py:{line}:" in error.value.message
    assert error.value.hint
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "comment",
    [
        "#BEGIN SOLUTION",
        "### BEGIN SOLUTION",
        "# begin solution",
        "# BEGIN SOLUTION (hidden)",
        "x = 1  # END SOLUTION",
    ],
)
def test_marker_lookalikes_are_refused(tmp_path, comment):
    """Is a near-miss marker refused rather than left in the stub above the solution?"""
    (tmp_path / "ref").mkdir()
    (tmp_path / "ref" / "m.py").write_text(f"def f():\n    {comment}\n    return 1\n")
    with pytest.raises(GraderError, match=r"m\.py:2: .*looks like a solution marker"):
        generate_assignment(tmp_path / "ref", tmp_path / "out")


def test_reference_without_markers_is_refused(tmp_path):
    """Is a reference with no solution block at all refused?"""
    (tmp_path / "ref").mkdir()
    (tmp_path / "ref" / "m.py").write_text("def f():\n    return 1\n")
    with pytest.raises(GraderError, match="no '# BEGIN SOLUTION' block"):
        generate_assignment(tmp_path / "ref", tmp_path / "out")


def test_reference_is_never_overwritten(tmp_path):
    """Is writing the stubs over the reference directory refused?"""
    shutil.copytree(REFERENCE, tmp_path / "mnist", ignore=shutil.ignore_patterns("checks"))
    with pytest.raises(GraderError, match="refusing"):
        generate_assignment(tmp_path / "mnist", tmp_path / "mnist")
    assert BEGIN in (tmp_path / "mnist" / "models.py").read_text()


def _toy(tmp_path: Path, notebook_toml: str | None = None) -> Path:
    reference = tmp_path / "toy"
    reference.mkdir()
    (reference / "shapes.py").write_text(TOY)
    (reference / "more.py").write_text(
        _marked("def twice(x):\n    BEGIN\n    return 2 * x\n    END\n")
    )
    if notebook_toml is not None:
        (reference / "notebook.toml").write_text(notebook_toml)
    return reference


def _cells(path: Path) -> dict[str, str]:
    return {c.id: c.source for c in nbformat.read(path, as_version=4).cells}


def test_reference_without_notebook_text_explains_with_docstrings(tmp_path):
    """Does a reference folder with no notebook.toml get the generic prose: its docstrings, no
    "try it" cells, and a closing note that names no assignment?"""
    generate_assignment(_toy(tmp_path), tmp_path / "out")
    cells = _cells(tmp_path / "out" / "toy.ipynb")
    assert list(cells) == [
        "intro", "setup-about", "setup", "more-about", "twice-about", "twice",
        "shapes-about", "area-about", "area", "Shape-about", "Shape", "submit",
    ]  # fmt: skip
    assert cells["intro"].startswith("# toy\n\nWrite the body of each function below")
    assert cells["shapes-about"] == "## 2. `shapes.py`\n\nA toy reference."
    note = "measures their accuracy on\ntest data whose labels your code never sees.\n"
    assert cells["submit"].endswith(note)
    assert (tmp_path / "out" / "README.md").read_text().endswith(note)


NOTEBOOK_TOML = """\
order = ["shapes", "more"]
intro = '''
Circles *and* "quotes", kept as \\written\\.
'''
setup_markdown = '''## Setup'''
setup_code = '''
R = 2.0'''
submit_note = '''Graded on circles.'''

[sections.area]
markdown = '''The area: `pi r^2`.'''
try = '''
print(area(R))'''

[sections.Shape]
markdown = '''A shape.'''

[sections.twice]
try = '''print(twice(R))'''
"""


def test_notebook_text_is_used_exactly(tmp_path):
    """Is every text of notebook.toml used byte for byte, in its order, with its try cells?"""
    generate_assignment(_toy(tmp_path, NOTEBOOK_TOML), tmp_path / "out")
    cells = _cells(tmp_path / "out" / "toy.ipynb")
    assert list(cells) == [
        "intro", "setup-about", "setup", "shapes-about", "area-about", "area", "area-try",
        "Shape-about", "Shape", "more-about", "twice-about", "twice", "twice-try", "submit",
    ]  # fmt: skip
    assert cells["intro"] == '# toy\n\nCircles *and* "quotes", kept as \\written\\.\n'
    assert cells["setup-about"] == "## Setup"
    assert cells["setup"].endswith("\n\nR = 2.0")
    assert cells["area-about"] == "### `area`\n\nThe area: `pi r^2`."
    assert cells["area-try"] == "print(area(R))"
    assert cells["twice-about"] == "### `twice`"
    assert cells["submit"].endswith("by name.\nGraded on circles.\n")
    assert (tmp_path / "out" / "README.md").read_text().endswith("by name.\nGraded on circles.\n")


BAD_NOTEBOOK_TOML = {
    "not-toml": ("intro = '''never closed\n", "not valid TOML"),
    "unknown-key": ("intro = 'x'\ntitle = 'y'\n", "unknown key 'title'"),
    "not-a-string": ("setup_code = 3\n", "setup_code must be a string"),
    "order-not-a-list": ("order = 'shapes'\n", "order must be a list"),
    "order-twice": ("order = ['shapes', 'shapes']\n", "order names a module twice"),
    "order-mismatch": ("order = ['shapes']\n", "order lists ['shapes']"),
    "section-not-a-table": ("sections = 1\n", "sections must be tables"),
    "section-key": ("[sections.area]\ntext = 'x'\n", "unknown key 'sections.area.text'"),
    "section-type": ("[sections.area]\nmarkdown = ['x']\n", "sections.area.markdown must be"),
    "stale-section": (
        "[sections.area]\n[sections.Shape]\n[sections.volume]\n",
        "sections explain ['Shape', 'area', 'volume']",
    ),
}


@pytest.mark.parametrize(
    ("content", "why"), BAD_NOTEBOOK_TOML.values(), ids=list(BAD_NOTEBOOK_TOML.keys())
)
def test_malformed_notebook_text_is_refused(tmp_path, content, why):
    """Is a malformed or stale notebook.toml refused in one line naming the file and the key,
    before anything is written?"""
    reference = _toy(tmp_path, content)
    with pytest.raises(GraderError) as error:
        generate_assignment(reference, tmp_path / "out")
    message = error.value.message
    assert message.startswith(f"{reference / 'notebook.toml'}: ")
    assert why in message and "\n" not in message
    assert error.value.hint and "\n" not in error.value.hint
    assert not (tmp_path / "out").exists()
