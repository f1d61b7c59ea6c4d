"""Tests of `grader new` (grader/authoring/scaffold.py) and of what `grader assign` validates
before it generates anything (grader/authoring/validate.py).

Everything is made in tmp_path: `grader new --root`, references copied there. Static
validation (`--no-runs`) takes a second; the one test that runs the reference (the cancer lab,
the fastest: a tabular network trained for seconds) is marked slow.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from grader.authoring.assign import generate_assignment
from grader.cli import main
from grader.config import load_config

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "reference"
RUFF = Path(sys.executable).with_name("ruff")


def run(*args: str):
    return CliRunner().invoke(main, [str(a) for a in args])


def errors(result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("error: ")]


def files(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


# ---- grader new -----------------------------------------------------------------------------


def test_new_scaffolds_an_example_that_loads_and_lacks_only_its_data(tmp_path):
    """Does `grader new` make a folder with every part of an assignment, that loads, whose
    stubs and notebook generate, whose code is ruff clean, and whose validation (with or
    without runs) reports exactly one problem: the missing data file?"""
    result = run("new", "lab3", "--root", tmp_path / "ref")
    assert result.exit_code == 0, result.output
    lab = tmp_path / "ref" / "lab3"
    assert files(lab) == [
        "README.md", "assignment.toml", "checks/test_predictor.py",
        "checks/test_preprocessing.py", "checks/test_scaling.py", "checks/test_training.py",
        "data/README.md", "models.py", "notebook.toml", "preprocessing.py", "training.py",
    ]  # fmt: skip
    assert "next steps:" in result.stdout and "lab3.npz" in result.stdout
    config = load_config(lab)
    assert set(config.budgets) == {"bundled", "quick"} and config.total_points == 100
    toml = (lab / "assignment.toml").read_text()
    for section in ("[contract]", "[parts]", "[data]", "[[plan.calls]]", "[[plan.models]]",
                    "[plan.training]", "[grading]", "[budget.bundled]", "[budget.quick]",
                    "[limits]", "docs/authoring.md", "LEFT TO DO"):  # fmt: skip
        assert section in toml, section
    assert "`lab3.npz`" in (lab / "data" / "README.md").read_text()
    assert "Left to do" in (lab / "README.md").read_text()
    assert 'part="preprocessing"' in (lab / "checks" / "test_scaling.py").read_text()
    lint = subprocess.run([str(RUFF), "check", "--no-cache", str(lab)], capture_output=True,
                          text=True, cwd=ROOT)  # fmt: skip
    assert lint.returncode == 0, lint.stdout
    written = generate_assignment(lab, tmp_path / "generated")
    assert [p.name for p in written][-2:] == ["lab3.ipynb", "README.md"]

    for flags in (["--no-runs"], []):
        result = run("assign", lab, *flags, "--dest", tmp_path / "out")
        assert result.exit_code == 1, result.output
        assert len(errors(result)) == 1, result.stderr
        assert "lab3.npz: the data file is missing" in errors(result)[0]
        assert "the reference was not run" in result.stdout
        assert not (tmp_path / "out").exists()


def test_new_like_copies_the_assignment_without_its_data(tmp_path):
    """Does `grader new --like ibm_lab` copy the solution, settings, checks, notebook prose
    and READMEs byte for byte, but not the data file, under a new title; and print what to do
    next?"""
    source = REFERENCE / "ibm_lab"
    result = run("new", "lab4", "--like", "ibm_lab", "--root", tmp_path / "ref")
    assert result.exit_code == 0, result.output
    lab = tmp_path / "ref" / "lab4"
    data_file = load_config(source).data.file
    assert (source / data_file).is_file()
    expected = [f for f in files(source) if f != data_file and "__pycache__" not in f]
    assert files(lab) == expected
    assert not (lab / data_file).exists() and (lab / "data" / "README.md").is_file()
    for name in expected:
        if name != "assignment.toml":
            assert (lab / name).read_bytes() == (source / name).read_bytes(), name
    old, new = ((d / "assignment.toml").read_text().splitlines() for d in (source, lab))
    changed = [(a, b) for a, b in zip(old, new, strict=True) if a != b]
    assert len(changed) == 1 and changed[0][1].startswith("title = ")
    config = load_config(lab)
    assert config.name == "lab4"
    assert config.title.startswith("lab4 (started from ibm_lab: ")
    assert "next steps:" in result.stdout and data_file in result.stdout
    result = run("assign", lab, "--no-runs", "--dest", tmp_path / "out")
    assert result.exit_code == 1 and len(errors(result)) == 1, result.output
    assert "the data file is missing" in errors(result)[0]


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["new", "3lab"], "is not a safe assignment name"),
        (["new", "Lab3"], "is not a safe assignment name"),
        (["new", "lab-3"], "is not a safe assignment name"),
        (["new", "../lab3"], "is not a safe assignment name"),
        (["new", "class"], "is not a safe assignment name"),
        (["new", "taken"], "already exists"),
        (["new", "lab3", "--like", "no_such_lab"], "no such assignment"),
    ],
    ids=["digit-first", "uppercase", "dash", "path", "keyword", "exists", "unknown-like"],
)
def test_new_refuses_with_one_line_and_a_hint(tmp_path, args, needle):
    """Is an unsafe name, an existing folder or an unknown --like a usage error (exit 2):
    one error line, one hint line, and nothing written?"""
    root = tmp_path / "ref"
    (root / "taken").mkdir(parents=True)
    result = run(*args, "--root", root)
    assert result.exit_code == 2, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 2, result.stderr
    assert lines[0].startswith("error: ") and needle in lines[0]
    assert lines[1].startswith("hint: ")
    assert sorted(p.name for p in root.iterdir()) == ["taken"]


# ---- grader assign: static validation ----------------------------------------------------------


def _edit(path: Path, old: str, new: str, count: int = 1) -> None:
    text = path.read_text()
    assert old in text, (path, old)
    path.write_text(text.replace(old, new, count))


def _unbalance_markers(lab: Path) -> str:
    """Drop models.py's (only) END marker: its BEGIN is never closed."""
    models = lab / "models.py"
    lines = models.read_text().splitlines(keepends=True)
    begin = next(i for i, ln in enumerate(lines, 1) if ln.strip() == "# BEGIN SOLUTION")
    models.write_text("".join(ln for ln in lines if ln.strip() != "# END SOLUTION"))
    return rf"models\.py:{begin}: '# BEGIN SOLUTION' is never closed"


def _points_short(lab: Path) -> str:
    """Two points fewer on one check: 98 in all."""
    _edit(lab / "checks" / "test_dnn.py", "points=6,", "points=4,")
    return r"checks add up to 98 points; assignment.toml declares total_points = 100$"


def _function_missing(lab: Path) -> str:
    """A contract function the plan calls, which the solution does not define."""
    settings = lab / "assignment.toml"
    _edit(settings, '"normalize_pixels(pixels)", ', '"normalize_pixels(pixels)", "clip(pixels)", ')
    call = '[[plan.calls]]\nname = "clip"\nargs = ["flatten_pixels"]\n\n'
    _edit(settings, "[[plan.models]]", call + "[[plan.models]]")
    return r"preprocessing\.py: no function clip\(\), which plan\.calls\[6\] \(clip\) calls"


BREAKS = {"markers": [_unbalance_markers], "points": [_points_short],
          "function": [_function_missing],
          "all": [_unbalance_markers, _points_short, _function_missing]}  # fmt: skip


@pytest.mark.parametrize("broken", list(BREAKS))
def test_assign_no_runs_refuses_each_problem_on_its_line(tmp_path, broken):
    """Does `grader assign --no-runs` on a copy of a reference with unbalanced markers, checks
    that add up to 98 of 100 points, or a plan calling a function the solution lacks refuse
    with one line per problem (all three at once: three lines), and generate nothing?"""
    lab = tmp_path / "ibm_lab"
    shutil.copytree(REFERENCE / "ibm_lab", lab, ignore=shutil.ignore_patterns("__pycache__"))
    assert run("assign", lab, "--no-runs", "--dest", tmp_path / "sound").exit_code == 0
    patterns = [make(lab) for make in BREAKS[broken]]
    result = run("assign", lab, "--no-runs", "--dest", tmp_path / "out")
    assert result.exit_code == 1, result.output
    found = errors(result)
    assert len(found) == len(patterns), result.stderr
    for pattern in patterns:
        assert sum(bool(re.search(pattern, line)) for line in found) == 1, (pattern, found)
    assert result.stderr.splitlines()[-1].startswith("hint: ")
    assert not (tmp_path / "out").exists()


def test_total_points_must_be_positive(tmp_path):
    """Is `total_points = 0` refused when the settings load, naming the key?"""
    lab = tmp_path / "ibm_lab"
    shutil.copytree(REFERENCE / "ibm_lab", lab, ignore=shutil.ignore_patterns("__pycache__"))
    _edit(lab / "assignment.toml", "threads = 2\n", "threads = 2\ntotal_points = 0\n")
    result = run("assign", lab, "--no-runs", "--dest", tmp_path / "out")
    assert result.exit_code == 1
    assert any("total_points = 0.0 must be > 0" in line for line in errors(result))


# ---- grader assign: the reference's runs ------------------------------------------------------


@pytest.mark.slow
@pytest.mark.full  # trains the lab under every budget and three seeds
def test_assign_runs_pass_on_the_cancer_lab_and_catch_a_reference_that_loses_marks(
    tmp_path, monkeypatch
):
    """Does validation with runs pass on the cancer lab (full marks under bundled and quick,
    accuracy steady over three seeds) and generate; and does it refuse a copy whose reference
    refits its scaler on the test features, losing the scaler check under both budgets?"""
    # The user's reference cache, as grading uses it: the lab's runs the known-answer tests
    # already made are reused (its key is the code, data, budget and grader, not the path).
    lab = tmp_path / "sound" / "cancer"
    shutil.copytree(REFERENCE / "cancer", lab, ignore=shutil.ignore_patterns("__pycache__"))
    result = run("assign", lab, "--dest", tmp_path / "out")
    assert result.exit_code == 0, result.output
    for budget in ("bundled", "quick"):
        assert f"grading a copy of the reference under budget {budget}" in result.stdout
    assert result.stdout.count("100/100 points") == 2, result.stdout
    assert "seeds 1234, 1235, 1236" in result.stdout and "within [grading]" in result.stdout
    assert (tmp_path / "out" / "preprocessing.py").is_file()

    broken = tmp_path / "broken" / "cancer"
    shutil.copytree(lab, broken)
    refit = "    mean, std = features.mean(axis=0), features.std(axis=0)  # refits: a leak\n"
    _edit(broken / "preprocessing.py", "    mean, std = scaler\n", refit)
    settings = broken / "assignment.toml"  # shorter training: the leak is tested, not accuracy
    text = re.sub(r"(classifier = \{ epochs = )\d+", r"\g<1>2", settings.read_text())
    settings.write_text(text)
    result = run("assign", broken, "--dest", tmp_path / "out-broken")
    assert result.exit_code == 1, result.output
    leak = r"under budget (\w+): 'The scaler is fitted on the training split only' 0\.0/10"
    lost = [m.group(1) for m in map(re.compile(leak).search, errors(result)) if m]
    assert lost == ["bundled", "quick"], result.stderr
    assert not (tmp_path / "out-broken").exists()
