"""The IBM lab's student material (`assignments/ibm_lab/`) is generated from its reference:
regenerating it reproduces the committed files byte for byte, and they pass ruff."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from grader.authoring.assign import generate_assignment

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "reference" / "ibm_lab"
COMMITTED = ROOT / "assignments" / "ibm_lab"


def test_committed_material_is_the_generated_one(tmp_path):
    dest = tmp_path / "ibm_lab"
    written = generate_assignment(REFERENCE, dest)
    made = sorted(p.relative_to(dest).as_posix() for p in written)
    committed = sorted(p.relative_to(COMMITTED).as_posix() for p in COMMITTED.rglob("*"))
    assert made == committed, "run: grader assign --assignment ibm_lab"
    for name in made:
        assert (dest / name).read_bytes() == (COMMITTED / name).read_bytes(), name


def test_committed_material_is_ruff_clean():
    ruff = Path(sys.executable).with_name("ruff")
    ruff = str(ruff) if ruff.exists() else shutil.which("ruff")
    if not ruff:
        pytest.skip("ruff is not installed")
    done = subprocess.run([ruff, "check", str(COMMITTED)], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_notebook_explains_every_function_and_loads_no_data_from_the_internet():
    import nbformat

    notebook = nbformat.read(COMMITTED / "ibm_lab.ipynb", as_version=4)
    ids = [cell.id for cell in notebook.cells]
    for name in ("flatten_pixels", "normalize_pixels", "one_hot_encode", "classification_model",
                 "train", "evaluate", "save", "load"):  # fmt: skip
        assert {name, f"{name}-about", f"{name}-try"} <= set(ids), name
    setup = next(cell.source for cell in notebook.cells if cell.id == "setup")
    code = [line for line in setup.splitlines() if not line.lstrip().startswith("#")]
    assert "load_data()" not in "\n".join(code)  # the lab's download is there, commented out


@pytest.mark.slow
def test_the_notebook_runs_offline_with_the_solution_filled_in(tmp_path, monkeypatch):
    """Does every cell of the notebook run, offline, once each stub holds the reference's code
    (setup's stand-in digits, the try cells, training, saving to .h5 and loading back)?"""
    import ast

    import nbformat

    pytest.importorskip("keras")
    pytest.importorskip("sklearn")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.chdir(tmp_path)  # the try cells write classification_model.h5 here
    solution = {}
    for module in ("preprocessing", "models", "training"):
        source = (REFERENCE / f"{module}.py").read_text()
        for node in ast.parse(source).body:
            if isinstance(node, ast.FunctionDef):
                solution[node.name] = ast.get_source_segment(source, node)
    namespace: dict = {}
    for cell in nbformat.read(COMMITTED / "ibm_lab.ipynb", as_version=4).cells:
        if cell.cell_type == "code":
            exec(compile(solution.get(cell.id, cell.source), cell.id, "exec"), namespace)
    assert (tmp_path / "classification_model.h5").read_bytes()[:8] == b"\x89HDF\r\n\x1a\n"
    assert namespace["pretrained_model"].count_params() == 694_950
