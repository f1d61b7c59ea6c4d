"""Tests of grader/config.py: assignment.toml parsing and its error messages."""

import dataclasses
from pathlib import Path

import pytest

from grader.config import AssignmentConfig, find_assignment, load_config
from grader.errors import GraderError

REFERENCE = Path(__file__).resolve().parent.parent / "reference" / "mnist"
GOOD = (REFERENCE / "assignment.toml").read_text()


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "assignment.toml"
    path.write_text(text)
    return path


def test_reference_settings_load():
    """Does the shipped assignment.toml parse into frozen settings with every budget?"""
    config = find_assignment("mnist")
    assert isinstance(config, AssignmentConfig)
    assert {"bundled", "keras", "quick"} <= set(config.budgets)
    assert config.budget("bundled").model("mlp").batch_size == 128
    assert config.checks_dir == REFERENCE / "checks"
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.seed = 1  # type: ignore[misc]


def test_every_field_is_documented():
    """Does every settings field carry a docstring, as the style asks?"""
    import ast
    import inspect

    import grader.config as module

    tree = ast.parse(inspect.getsource(module))
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and any(
            isinstance(d, ast.Call) and getattr(d.func, "id", "") == "dataclass"
            for d in node.decorator_list
        ):
            body = node.body
            for i, stmt in enumerate(body):
                if isinstance(stmt, ast.AnnAssign):
                    follows = body[i + 1] if i + 1 < len(body) else None
                    assert isinstance(follows, ast.Expr) and isinstance(
                        follows.value, ast.Constant
                    ), f"{node.name}.{stmt.target.id} has no docstring"


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (("seed = 1234", 'seed = "x"'), "seed must be int"),
        (("threads = 2", "threads = 0"), "threads = 0 must be at least 1"),
        (("accuracy_margin = 0.03", "accuracy_margin = 2"), "grading.accuracy_margin = 2.0"),
        (("wall_seconds = 600", "wall_secs = 600"), "unknown key 'wall_secs'"),
        (("processes = 512", "processes = 64"), "TensorFlow needs >= 256"),
        (("train_samples = 4000", "train_samples = 3"), "budget.bundled.train_samples = 3"),
        (
            ("mlp = { epochs = 10, batch_size = 128", "mlp = { epochs = 0, batch_size = 128"),
            "budget.bundled.mlp.epochs = 0 must be at least 1",
        ),
        (("validation_split = 0.2 }", "validation_split = 1.5 }"), "validation_split = 1.5"),
        (("title = ", "titel = "), "unknown key 'titel'"),
    ],
    ids=[
        "seed-type",
        "threads",
        "margin-range",
        "unknown-limit",
        "nproc-too-low",
        "train-samples",
        "epochs",
        "validation-split",
        "unknown-top",
    ],
)
def test_bad_values_name_key_and_file(tmp_path, edit, expected):
    """Does a bad setting give one error naming the key and the file?"""
    old, new = edit
    path = write(tmp_path, GOOD.replace(old, new, 1))
    with pytest.raises(GraderError) as info:
        load_config(path)
    message = str(info.value)
    assert expected in message
    assert str(path) in message
    assert "\n" not in message


def test_missing_budget_table(tmp_path):
    """Is an assignment without [budget.*] tables refused with a hint?"""
    text = "\n".join(
        ln
        for ln in GOOD.splitlines()
        if not ln.startswith(("[budget", "mlp", "cnn", "train_samples"))
    )
    with pytest.raises(GraderError, match="missing \\[budget"):
        load_config(write(tmp_path, text))


def test_invalid_toml_and_missing_file(tmp_path):
    """Are broken TOML and a missing file reported with the path?"""
    with pytest.raises(GraderError, match="not valid TOML"):
        load_config(write(tmp_path, "title = [unclosed"))
    with pytest.raises(GraderError, match="no assignment settings"):
        load_config(tmp_path / "nowhere")


def test_unknown_budget_and_assignment():
    """Do an unknown budget name and an unknown assignment list the known ones?"""
    config = find_assignment("mnist")
    with pytest.raises(GraderError) as info:
        config.budget("huge")
    assert "bundled" in (info.value.hint or "")
    with pytest.raises(GraderError) as info:
        find_assignment("no-such-assignment")
    assert "mnist" in (info.value.hint or "")


# The plan: what load_config refuses before anything runs (each found by a review of the
# plan-driven engine; each would otherwise have failed later, for every student).
PLAN_EDITS = {
    "model-y-is-raw-labels": (
        ('y = "one_hot:train"', 'y = "y_train"', 1), "models[0].y = 'y_train'"
    ),
    "model-x-not-shaped": (
        ('x = "flatten_and_scale"', 'x = "one_hot"', 1), "models[0].x = 'one_hot'"
    ),
    "labels-of-images": (
        ('\nlabels_of = "y_train"\n', '\nlabels_of = "x_train"\n', 1), "labels_of"
    ),
    "model-name-path": (('name = "mlp"', 'name = "../x"', 1), "models[0].name = '../x'"),
    "model-name-module": (('name = "mlp"', 'name = "training"', 1), "models[0].name"),
    "model-name-function": (('name = "mlp"', 'name = "one_hot"', 1), "is a function's name"),
    "call-variant-path": (
        ('name = "one_hot:train"', 'name = "one_hot:a/b"', 1), "calls[5].name = 'one_hot:a/b'"
    ),
    "call-of-a-builder": (
        ('name = "one_hot"\nargs', 'name = "build_mlp"\nargs', 1), "is a builder or training"
    ),
    "input-overrides-data": (("probe_labels = [", "x_train = [", 1), "inputs.x_train"),
    "input-of-bools": (("probe_labels = [5, 0,", "probe_labels = [true, 0,", 1), "numbers"),
    "model-args-string": (("args = [784, 10]", 'args = ["relu", 10]', 1), "models[0].args"),
    "suffix-path": (('save_suffix = ".keras"', 'save_suffix = "/../x"', 1), "save_suffix"),
    "dtype": (('x_dtype = "uint8"', 'x_dtype = "uint9"', 1), "is not a NumPy dtype"),
    "classes": (("classes = 10 ", "classes = 300 ", 1), "classes = 300"),
    "sha256": (('sha256 = "63818dc867dd', 'sha256 = "XX818dc867dd', 1), "sha256"),
    "signature": (('"load(path)"', '"load(()"', 1), "is not a Python signature"),
    "function-twice": (('"load(path)"', '"one_hot(labels)"', 1), "is in two modules"),
    "no-quick-budget": (("[budget.quick]", "[budget.quik]", 1), "missing [budget.quick]"),
}


@pytest.mark.parametrize("case", list(PLAN_EDITS), ids=list(PLAN_EDITS))
def test_bad_plans_are_refused_with_the_key(tmp_path, case):
    """Does a plan that would break later (for every student, or the reference) fail to load,
    in one line naming the file and the key?"""
    (old, new, count), expected = PLAN_EDITS[case]
    assert old in GOOD, f"{case}: the edit no longer applies"
    path = write(tmp_path, GOOD.replace(old, new, count))
    with pytest.raises(GraderError) as info:
        load_config(path)
    message = str(info.value)
    assert expected in message and str(path) in message and "\n" not in message


KIND_EDITS = {
    "regression-without-test-rows": ("diabetes", ("test_rows = 88", "test_rows = 0"), "test_rows"),
    "binary-on-numeric-targets": (
        "diabetes", ('task = "regression"', 'task = "binary"'), "needs two classes"
    ),
    "regression-on-classes": ("cancer", ('task = "binary"', 'task = "regression"'),
                              "needs numeric targets"),
    "binary-on-one-hot-call": ("cancer", ('y = "y_train"', 'y = "standardize"'),
                               "must be y_train"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(KIND_EDITS), ids=list(KIND_EDITS))
def test_task_kinds_that_do_not_fit_the_data_are_refused(tmp_path, case):
    """Is a task kind the data cannot serve, or a regression with nothing held out to test,
    refused at load in one line naming the key?"""
    lab, (old, new), expected = KIND_EDITS[case]
    text = (REFERENCE.parent / lab / "assignment.toml").read_text()
    assert old in text
    path = write(tmp_path, text.replace(old, new, 1))
    with pytest.raises(GraderError) as info:
        load_config(path)
    assert expected in str(info.value) and "\n" not in str(info.value)
