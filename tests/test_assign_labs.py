"""The tabular labs' student material (`assignments/cancer/`, `assignments/diabetes/`) is
generated from their references: regenerating it reproduces the committed files byte for byte,
and each notebook runs top to bottom offline once its stubs hold the reference's code."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from conftest import full_only

from grader.authoring.assign import generate_assignment

ROOT = Path(__file__).resolve().parent.parent
LABS = {"cancer": ("classifier.keras", 513), "diabetes": ("regressor.keras", 4_929)}
"""Lab -> the model file its notebook saves, and the model's parameter count."""


@pytest.mark.parametrize("lab", LABS)
def test_committed_material_is_the_generated_one(tmp_path, lab):
    committed = ROOT / "assignments" / lab
    dest = tmp_path / lab
    written = generate_assignment(ROOT / "reference" / lab, dest)
    made = sorted(p.relative_to(dest).as_posix() for p in written)
    on_disk = sorted(p.relative_to(committed).as_posix() for p in committed.rglob("*"))
    assert made == on_disk, f"run: grader assign --assignment {lab}"
    for name in made:
        assert (dest / name).read_bytes() == (committed / name).read_bytes(), name


@pytest.mark.slow
@pytest.mark.parametrize("lab", full_only(list(LABS), ["cancer"]))
def test_the_notebook_runs_offline_with_the_solution_filled_in(tmp_path, monkeypatch, lab):
    """Does every cell run offline (scikit-learn's own copy of the data, the try cells,
    training, saving and loading back) once each stub holds the reference's code?"""
    import nbformat

    pytest.importorskip("keras")
    pytest.importorskip("sklearn")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.chdir(tmp_path)
    solution = {}
    for module in ("preprocessing", "models", "training"):
        source = (ROOT / "reference" / lab / f"{module}.py").read_text()
        for node in ast.parse(source).body:
            if isinstance(node, ast.FunctionDef):
                solution[node.name] = ast.get_source_segment(source, node)
    namespace: dict = {}
    notebook = nbformat.read(ROOT / "assignments" / lab / f"{lab}.ipynb", as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            exec(compile(solution.get(cell.id, cell.source), cell.id, "exec"), namespace)
    saved, params = LABS[lab]
    assert (tmp_path / saved).is_file()
    assert namespace["model"].count_params() == params
