"""Tests of `grader gradescope` and of the Gradescope autograder scripts in docs/gradescope/.

An upload is graded the way Gradescope's container does it: the files in a submission folder,
results written where Gradescope reads them, in its results.json schema. The `quick` budget
keeps each run short; the reference's run is cached once per test session.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import nbformat
import pytest
from conftest import full_only

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "reference" / "mnist"
STUBS = ROOT / "assignments" / "mnist"
MODULES = ("preprocessing", "models", "training")
GRADER = Path(sys.executable).with_name("grader")
SCRIPTS = ROOT / "docs" / "gradescope"

GRADESCOPE_SCHEMA = {
    "type": "object",
    "required": ["score", "tests"],
    "properties": {
        "score": {"type": "number", "minimum": 0},
        "max_score": {"type": "number"},
        "execution_time": {"type": "number"},
        "output": {"type": "string"},
        "output_format": {"enum": ["text", "html", "simple_format", "md", "ansi"]},
        "visibility": {"enum": ["hidden", "after_due_date", "after_published", "visible"]},
        "stdout_visibility": {"enum": ["hidden", "after_due_date", "after_published", "visible"]},
        "extra_data": {"type": "object"},
        "tests": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["name", "score", "max_score", "status", "output", "visibility"],
                "properties": {
                    "name": {"type": "string", "minLength": 1},
                    "number": {"type": "string"},
                    "score": {"type": "number", "minimum": 0},
                    "max_score": {"type": "number", "minimum": 0},
                    "status": {"enum": ["passed", "failed"]},
                    "output": {"type": "string"},
                    "visibility": {
                        "enum": ["hidden", "after_due_date", "after_published", "visible"]
                    },
                    "tags": {"type": "array", "items": {"type": "string"}},
                },
            },
        },
    },
}
"""Gradescope's results.json (gradescope-autograders.readthedocs.io/en/latest/specs/)."""


def reference_functions() -> dict[str, str]:
    """The reference's functions by name, as source text."""
    functions = {}
    for module in MODULES:
        source = (REFERENCE / f"{module}.py").read_text()
        for node in ast.parse(source).body:
            if isinstance(node, ast.FunctionDef):
                functions[node.name] = ast.get_source_segment(source, node)
    return functions


def solved_notebook(path: Path) -> Path:
    """The student notebook with every stub replaced by the reference's function; the setup
    cell (which downloads MNIST) and the exploration cells stay, as a student would leave them."""
    notebook = nbformat.read(STUBS / "mnist.ipynb", as_version=4)
    functions = reference_functions()
    solved = 0
    for cell in notebook.cells:
        match = re.match(r"def (\w+)\(", cell.source) if cell.cell_type == "code" else None
        if match:
            cell.source = functions[match[1]]
            solved += 1
    assert solved == len(functions)
    nbformat.write(notebook, path)
    return path


def upload(kind: str, folder: Path) -> Path:
    """What a student uploads to Gradescope, in Gradescope's submission folder."""
    folder.mkdir(parents=True)
    if kind == "notebook":
        solved_notebook(folder / "mnist.ipynb")
    elif kind == "three-modules":
        for module in MODULES:
            shutil.copyfile(REFERENCE / f"{module}.py", folder / f"{module}.py")
    elif kind == "crashing-module":
        (folder / "mnist.py").write_text("import os\n\nos._exit(3)\n")
    return folder


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> dict[str, str]:
    cache = tmp_path_factory.getbasetemp() / "reference-cache"
    return {**os.environ, "KERAS_GRADER_CACHE": str(cache)}


def check_results(path: Path) -> dict:
    results = json.loads(path.read_text())
    jsonschema.validate(results, GRADESCOPE_SCHEMA)
    tests = results["tests"]
    assert results["score"] == pytest.approx(sum(t["score"] for t in tests))
    assert results["max_score"] == pytest.approx(sum(t["max_score"] for t in tests))
    for test in tests:
        if "adjustment" in test["tags"]:  # a late penalty: a line of its own, never positive
            assert test["score"] <= 0 == test["max_score"]
            continue
        assert 0 <= test["score"] <= test["max_score"]
        assert (test["status"] == "passed") == (test["score"] >= test["max_score"])
    assert any(t["visibility"] == "hidden" for t in tests)
    return results


@pytest.mark.slow
@pytest.mark.parametrize("kind", full_only(["notebook", "three-modules", "crashing-module"],
                                           []))  # fmt: skip
def test_gradescope_writes_results_in_gradescope_schema(kind, tmp_path, env):
    """Does `grader gradescope` grade a notebook, three modules side by side, or a crashing
    upload, and write Gradescope's results.json (exit 0 in every case)?"""
    submission = upload(kind, tmp_path / "autograder" / "submission")
    results_path = tmp_path / "autograder" / "results" / "results.json"
    proc = subprocess.run(
        [str(GRADER), "gradescope", "--submission", str(submission),
         "--results", str(results_path), "--budget", "quick"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"wrote {results_path}" in proc.stdout
    results = check_results(results_path)
    extra = results["extra_data"]
    assert extra["budget"]["name"] == "quick"
    assert extra["isolation"] in ("full", "limited")
    assert f"Isolation: {extra['isolation']}" in results["output"]
    if kind == "crashing-module":
        assert results["score"] == 0
        assert extra["submission_status"] == "crash"
        assert "Submission status: crash" in results["output"]
    else:
        assert extra["submission_status"] == "ok"
        assert results["score"] == results["max_score"] > 0


@pytest.mark.slow
@pytest.mark.full  # the gate reads the metadata in test_course (a grading of a crash: 30 s)
def test_gradescope_takes_the_submission_time_from_its_metadata(tmp_path, env):
    """With a late policy, is the time in Gradescope's submission_metadata.json the one used,
    and the penalty a test entry of its own (at most what was earned: never below 0)?"""
    assignment = tmp_path / "mnist"
    shutil.copytree(REFERENCE, assignment)
    with open(assignment / "assignment.toml", "a") as f:
        f.write("\n[late]\ndue = 2026-11-20T23:59:00Z\npenalty_per_day = 10\n")
    metadata = tmp_path / "submission_metadata.json"
    metadata.write_text(json.dumps({"created_at": "2026-11-22T10:00:00.123-08:00", "id": 7}))
    submission = upload("crashing-module", tmp_path / "autograder" / "submission")
    results_path = tmp_path / "results.json"
    proc = subprocess.run(
        [str(GRADER), "gradescope", "--submission", str(submission), "--results",
         str(results_path), "--budget", "quick", "--metadata", str(metadata),
         "--assignment", str(assignment)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = check_results(results_path)
    assert results["extra_data"]["time_source"] == "gradescope"
    assert results["extra_data"]["submitted_at"] == "2026-11-22T10:00:00.123000-08:00"
    late = results["tests"][-1]
    assert late["name"] == "Late penalty" and late["score"] == 0 == results["score"]
    assert "2 days" in late["output"] or "h late" in late["output"]
    # Metadata without a time: the grading goes on (only a late policy needs it), and says so.
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    proc = subprocess.run(
        [str(GRADER), "gradescope", "--submission", str(submission), "--results",
         str(results_path), "--budget", "quick", "--metadata", str(bad),
         "--assignment", str(assignment)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "warning:" in proc.stderr and "no usable created_at" in proc.stderr
    assert json.loads(results_path.read_text())["extra_data"]["time_source"] == "file time"


# --- the autograder zip's scripts -----------------------------------------------------------


@pytest.mark.parametrize("script", ["run_autograder", "setup.sh"])
def test_scripts_are_valid_bash(script):
    """Are the autograder scripts executable bash that `bash -n` accepts?"""
    path = SCRIPTS / script
    assert path.read_text().startswith("#!/usr/bin/env bash\n")
    assert os.access(path, os.X_OK), f"{path} is not executable"
    proc = subprocess.run(["bash", "-n", str(path)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_run_autograder_calls_grader_gradescope(tmp_path):
    """Does run_autograder call `grader gradescope` on Gradescope's paths, and pass its exit
    status on?"""
    fake = tmp_path / "grader"
    fake.write_text('#!/usr/bin/env bash\nprintf "%s\\n" "$@" > "$(dirname "$0")/args"\nexit 7\n')
    fake.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GRADER", "AUTOGRADER"))}
    proc = subprocess.run(
        ["bash", str(SCRIPTS / "run_autograder")],
        env={**env, "GRADER": str(fake)},
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 7
    args = (tmp_path / "args").read_text().splitlines()
    assert args[0] == "gradescope"
    options = dict(zip(args[1::2], args[2::2], strict=True))
    assert options["--submission"] == "/autograder/submission"
    assert options["--results"] == "/autograder/results/results.json"
    assert options["--assignment"] == "/autograder/source/keras-grader/reference/mnist"
    assert options["--data"] == "bundled"
    assert "--budget" not in options  # the data's own budget


@pytest.mark.slow
def test_run_autograder_grades_an_upload(tmp_path, env):
    """Does run_autograder, pointed at a local copy of Gradescope's layout, grade an upload
    and leave results.json where Gradescope reads it?"""
    root = tmp_path / "autograder"
    upload("three-modules", root / "submission")
    proc = subprocess.run(
        ["bash", str(SCRIPTS / "run_autograder")],
        env={**env, "AUTOGRADER_DIR": str(root), "GRADER": str(GRADER),
             "GRADER_ASSIGNMENT": str(REFERENCE), "GRADER_BUDGET": "quick"},
        cwd=root, capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = check_results(root / "results" / "results.json")
    assert results["score"] == results["max_score"] > 0
