"""`grader check` where students run it: in the folder they hand in (issue 15).

The report goes to the user's cache, never into the folder being checked; an `--out` inside
it is refused; the grader's own output folders are never copied, hashed or graded as part of
a submission; and a folder holding both the stub modules and a notebook is graded by the one
that implements the contract (both or neither: refused, naming both).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from test_cli import GRADER, grader_env

from grader.config import find_assignment
from grader.pipeline import default_check_out, refuse_out_inside
from grader.run.submission import (
    OUT_MARKER,
    SubmissionError,
    content_hash,
    discover,
    implemented_functions,
    prepare,
)

ROOT = Path(__file__).resolve().parents[1]
HANDED_OUT = ROOT / "assignments" / "mnist"
"""The folder students get: stub modules, the notebook, a README."""
CONFIG = find_assignment("mnist")
SOLUTION = {m: (CONFIG.root / f"{m}.py").read_text() for m in CONFIG.modules}
WANTED = {f for fns in CONFIG.contract.values() for f, _ in fns}


def _finished_notebook() -> str:
    """The handed-out notebook with the solution pasted in one more cell."""
    notebook = json.loads((HANDED_OUT / "mnist.ipynb").read_text())
    cell = {"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [],
            "source": "\n\n".join(SOLUTION.values())}  # fmt: skip
    notebook["cells"].append(cell)
    return json.dumps(notebook)


def _handed_out(tmp_path: Path, name: str, *, modules: bool, notebook: bool) -> Path:
    """The handed-out folder, with the modules and/or the notebook filled in."""
    folder = tmp_path / name
    shutil.copytree(HANDED_OUT, folder)
    if modules:
        for module, text in SOLUTION.items():
            (folder / f"{module}.py").write_text(text)
    if notebook:
        (folder / "mnist.ipynb").write_text(_finished_notebook())
    return folder


def test_the_handed_out_stubs_implement_nothing():
    """Do the generated stubs count as not written, and the solution as written?"""
    for module in CONFIG.modules:
        stub = (HANDED_OUT / f"{module}.py").read_text()
        assert implemented_functions(stub, WANTED) == set(), module
        assert implemented_functions(SOLUTION[module], WANTED), module
    # A body that only passes, or raises NotImplementedError after a note, is a stub too.
    assert implemented_functions("def one_hot(y):\n    'todo'\n    pass\n", WANTED) == set()
    assert implemented_functions("def one_hot(y):\n    return y\n", WANTED) == {"one_hot"}
    # Code that does not parse is the student's own: graded, so the error is shown.
    assert implemented_functions("def one_hot(y:\n", WANTED) == WANTED
    assert implemented_functions("x = " + "(" * 100_000 + ")" * 100_000, WANTED) == WANTED


def test_a_finished_notebook_beside_stub_modules_is_graded(tmp_path):
    """Is the notebook graded (not the stubs), with a note that says so?"""
    folder = _handed_out(tmp_path, "nb", modules=False, notebook=True)
    prepared = prepare(folder, tmp_path / "prepared", CONFIG.contract)
    assert set(prepared.modules.values()) == {"submission"}
    assert any(n.startswith("graded the notebook mnist.ipynb") for n in prepared.notes)
    code = (prepared.directory / "submission.py").read_text()
    assert "def build_cnn" in code and "NotImplementedError" not in code.split("def build_cnn")[-1]


def test_finished_modules_beside_the_stub_notebook_are_graded(tmp_path):
    folder = _handed_out(tmp_path, "py", modules=True, notebook=False)
    prepared = prepare(folder, tmp_path / "prepared", CONFIG.contract)
    assert prepared.modules == {m: m for m in CONFIG.modules}
    assert any(n.startswith("graded ") and "mnist.ipynb" in n for n in prepared.notes)


@pytest.mark.parametrize(
    ("modules", "notebook", "phrase"),
    [(True, True, "both "), (False, False, "neither ")],
    ids=["both", "neither"],
)
def test_both_or_neither_is_refused_naming_both(tmp_path, modules, notebook, phrase):
    folder = _handed_out(tmp_path, "x", modules=modules, notebook=notebook)
    with pytest.raises(SubmissionError) as caught:
        prepare(folder, tmp_path / "prepared", CONFIG.contract)
    line = str(caught.value)
    assert line.startswith(phrase) and "\n" not in line
    assert "mnist.ipynb" in line and "preprocessing.py" in line and "(hint: " in line


def _old_report_inside(folder: Path) -> Path:
    """A report of an older `grader check .` left inside the folder: the layout of an OUT
    (no marker) with a work tree deeper than a submission may be."""
    old = folder / "grader-check"
    deep = old / ".work" / "runs" / "x" / "job" / "out" / "models" / "a" / "b" / "c" / "d"
    deep.mkdir(parents=True)
    (deep / "weights.bin").write_bytes(b"\0" * 1000)
    for name in ("junit.xml", "grades.csv", "index.html"):
        (old / name).write_text("old")
    return old


def test_output_folders_are_never_part_of_a_submission(tmp_path):
    """Are the grader's output folders (marked, or an older version's layout) left out of
    the copy, the content hash and a class's entries?"""
    folder = _handed_out(tmp_path, "student", modules=True, notebook=False)
    before = content_hash(folder)
    _old_report_inside(folder)
    marked = folder / "my-report"
    marked.mkdir()
    (marked / OUT_MARKER).write_text("x")
    (marked / "report.html").write_text("<html>")
    assert content_hash(folder) == before
    prepared = prepare(folder, tmp_path / "prepared", CONFIG.contract)  # not "nested deeper"
    copied = {p.name for p in prepared.directory.iterdir()}
    assert "grader-check" not in copied and "my-report" not in copied

    klass = tmp_path / "class"
    klass.mkdir()
    shutil.copytree(HANDED_OUT, klass / "alice")
    shutil.copytree(marked, klass / "out")
    assert [p.name for p in discover(klass)] == ["alice"]


def test_an_out_inside_the_submission_is_refused(tmp_path):
    folder = _handed_out(tmp_path, "student", modules=True, notebook=False)
    for inside in (folder, folder / "report", folder / "a" / "b"):
        with pytest.raises(Exception, match="is inside the submission"):
            refuse_out_inside(inside, [folder])
    refuse_out_inside(tmp_path / "elsewhere", [folder])  # beside it is fine
    default = default_check_out(folder)
    assert folder not in default.parents and "check" in default.parts

    proc = subprocess.run(
        [str(GRADER), "check", str(folder), "--out", str(folder / "report")],
        capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    assert "is inside the submission" in proc.stderr and "Traceback" not in proc.stderr
    assert not (folder / "report").exists()


@pytest.mark.slow
@pytest.mark.full  # the gate does `grader check .` with an old report inside through the kit
def test_check_dot_in_a_finished_notebook_folder(tmp_path, tmp_path_factory):
    """`cd mnist && grader check .` as the assignment's README says, with an old report left
    in the folder: the notebook is graded (full marks on the visible checks), the terminal
    says so, the report lands in the cache, and the folder is left as it was."""
    folder = _handed_out(tmp_path, "mnist", modules=False, notebook=True)
    _old_report_inside(folder)
    before = sorted(p.relative_to(folder) for p in folder.rglob("*"))
    env = grader_env(tmp_path_factory)
    proc = subprocess.run(
        [str(GRADER), "check", "."], cwd=folder, env=env,
        capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "graded the notebook mnist.ipynb" in proc.stdout
    assert sorted(p.relative_to(folder) for p in folder.rglob("*")) == before
    cache = Path(env["KERAS_GRADER_CACHE"]) / "check"
    reports = [cache / default_check_out(folder).name / "mnist" / "report.html"]
    assert reports[0].is_file() and f"report: {reports[0]}" in proc.stdout
    visible = proc.stdout.split("score on the visible checks: ")[1].split()
    assert visible[0] == visible[2], proc.stdout  # full marks: x / x
    junit = ET.parse(reports[0].parent.parent / "junit.xml").getroot()  # issue 16: times
    assert int(junit.get("tests")) == len(junit.findall(".//testcase")) > 0
    assert sum(float(case.get("time")) for case in junit.iter("testcase")) > 0

    # The handed-out modules alone, untouched: a run that finished, shown as not attempted.
    stubs = tmp_path / "stubs"
    stubs.mkdir()
    for module in CONFIG.modules:
        shutil.copy(HANDED_OUT / f"{module}.py", stubs)
    proc = subprocess.run(
        [str(GRADER), "check", str(stubs)], env=env,
        capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "run status: ok, but not attempted" in proc.stdout
    assert "score on the visible checks: 0 /" in proc.stdout
    report = next(cache.glob("stubs-*/stubs/report.html")).read_text()
    assert 'id="attempt-banner"' in report and "not attempted" in report
    assert "Training curves" not in report or "no training history was recorded" in report


def test_the_terminal_gives_first_line_and_hint_once(capsys):
    """Does `grader check`'s summary show, per failed check, the first line and the hint
    (which the report has further down), fold a cause already shown, and explain a run that
    did not happen once, above the checks?"""
    from rich.console import Console

    from grader.report.results import CheckResult, SubmissionResult
    from grader.report.summary import SAME_CAUSE, print_check

    raised = (
        "build_mlp() raised ValueError: Argument(s) not recognized: {'lr': 0.001}\n"
        "The grader called build_mlp(input_dim=784, num_classes=10).\nYour code, where it "
        "happened:\nFile \"models.py\", line 20, in build_mlp\n    RMSprop(lr=0.001)\n"
        "ValueError: Argument(s) not recognized: {'lr': 0.001}\n"
        "Hint: lr= was renamed: write keras.optimizers.RMSprop(learning_rate=0.001)."
    )
    checks = (
        CheckResult("a", "MLP input shape", "mlp", 2, 0, feedback=raised),
        CheckResult("b", "MLP layer sequence", "mlp", 5, 0,
                    feedback="Same cause as check 1 (MLP input shape): see there."),
        CheckResult("c", "train()", "training", 4, 0, feedback=raised),
        CheckResult("d", "one_hot()", "pre", 5, 5, feedback="fine"),
    )  # fmt: skip
    result = SubmissionResult(id="bob", assignment="mnist", status="ok", checks=checks)
    console = Console(width=200, color_system=None)
    print_check(result, Path("/out"), console)
    text = capsys.readouterr().out
    assert text.count("Hint: lr= was renamed") == 1, text
    assert "RMSprop(learning_rate=0.001)" in text.split("MLP layer sequence")[0]
    assert text.count(SAME_CAUSE) == 2 and "fine" not in text

    refused = SubmissionResult(
        id="bob", assignment="mnist", status="sandbox_error",
        status_detail="submission refused: neither x nor y implements any function",
        checks=tuple(
            CheckResult(n, n, "p", 1, 0, feedback="not graded: submission refused: neither x "
                        "nor y implements any function") for n in "abc"
        ),
    )  # fmt: skip
    print_check(refused, Path("/out"), console)
    text = capsys.readouterr().out
    assert text.count("implements any function") == 1 and text.count(SAME_CAUSE) == 3, text


def test_attempt_labels_from_a_runs_calls():
    """`not attempted` only when every call the grader made hit a stub (or was skipped for
    want of one); `could not import` names the modules; else no label."""
    from grader.report.results import attempt_of

    stub = {"status": "not_implemented", "exc_type": "NotImplementedError"}
    ok, skipped = {"status": "ok"}, {"status": "skipped"}
    imported = {"import:models": ok, "import:training": ok}
    assert attempt_of({**imported, "build_mlp": stub, "train:mlp": skipped})[0] == "not attempted"
    assert attempt_of({**imported, "build_mlp": stub, "one_hot": ok}) == ("", "")
    assert attempt_of({**imported, "train:mlp": skipped}) == ("", "")
    broken = {"status": "error", "exc_type": "ImportError", "message": "no np_utils"}
    label, detail = attempt_of({**imported, "import:models": broken, "build_mlp": stub})
    assert label == "could not import" and detail.startswith("models.py (ImportError: no np_")
    assert attempt_of({"build_mlp": "forged", "x": 3}) == ("", "")  # never raises
