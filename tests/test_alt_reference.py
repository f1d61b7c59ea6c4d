"""Swap in an alternative reference: do the expected shapes, parameters and optimizer follow?

tests/alt_reference/ holds the solution modules of a reference whose MLP is seed 002's network,
Dense(784, relu) -> Dense(100, relu) -> Dense(10, softmax) compiled with adam (the CNN stays
seed 004's). The test adds reference/mnist's own settings, data and checks to a copy of it,
unchanged, and grades two students against it on the `quick` budget (about 40 s, the
alternative reference's run included the first time; it is cached afterwards):
- `mnist`: the original reference solution (seed 000's MLP, rmsprop), which must now fail
  the MLP's architecture and compile checks, with the alternative's numbers in the feedback;
- `seed_002`: seed 002's network as the tutorial writes it, which must now pass them.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from grader.pipeline import GradeRequest, grade

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "reference" / "mnist"
ALT = Path(__file__).resolve().parent / "alt_reference"

SEED_002_MODELS = """
from keras.models import Sequential
from keras.layers import Conv2D, Dense, Flatten, MaxPooling2D


def build_mlp(input_dim=784, num_classes=10):
    # define classification model (seed 002)
    model = Sequential()
    model.add(Dense(input_dim, activation='relu', input_shape=(input_dim,)))
    model.add(Dense(100, activation='relu'))
    model.add(Dense(num_classes, activation='softmax'))
    model.compile(optimizer='adam', loss='categorical_crossentropy', metrics=['accuracy'])
    return model


def build_cnn(input_shape=(28, 28, 1), num_classes=10):
    model = Sequential()
    model.add(Conv2D(32, (3, 3), activation='relu', padding='same', input_shape=input_shape))
    model.add(MaxPooling2D((2, 2)))
    model.add(Conv2D(64, (3, 3), activation='relu', padding='same'))
    model.add(MaxPooling2D((2, 2)))
    model.add(Conv2D(64, (3, 3), activation='relu', padding='same'))
    model.add(Flatten())
    model.add(Dense(64, activation='relu'))
    model.add(Dense(num_classes, activation='softmax'))
    model.compile(optimizer='rmsprop', loss='categorical_crossentropy', metrics=['accuracy'])
    return model
"""

ALT_MLP = (
    ("Dense(784, relu)", "(784,)", 784 * 784 + 784),
    ("Dense(100, relu)", "(100,)", 784 * 100 + 100),
    ("Dense(10, softmax)", "(10,)", 100 * 10 + 10),
)
"""Seed 002's MLP as (canonical layer, output shape, parameters)."""
MLP_ARCHITECTURE = ("test_mlp_layers", "test_mlp_output_shapes", "test_mlp_parameters")
MLP_CHECKS = (*MLP_ARCHITECTURE, "test_mlp_compile")


@pytest.fixture(scope="module")
def alt_reference(tmp_path_factory) -> Path:
    """tests/alt_reference plus reference/mnist's checks, copied now so they never drift."""
    folder = tmp_path_factory.mktemp("mnist_alt")
    for file in ALT.iterdir():
        if file.is_file() and file.suffix == ".py":
            shutil.copy(file, folder / file.name)
    for part in ("checks", "data"):
        shutil.copytree(
            REFERENCE / part, folder / part, ignore=shutil.ignore_patterns("__pycache__")
        )
    # reference/mnist's settings (contract, data, plan, budgets), under the alternative's title
    settings = (REFERENCE / "assignment.toml").read_text()
    title = 'title = "MNIST digits, alternative reference: seed 002\'s MLP (Dense 784, 100, Adam)"'
    (folder / "assignment.toml").write_text(
        "\n".join(title if line.startswith("title = ") else line for line in settings.splitlines())
    )
    return folder


@pytest.fixture(scope="module")
def graded(alt_reference, tmp_path_factory) -> dict:
    """{id: {check name: CheckResult}} and the model reports, graded against the alternative."""
    student = tmp_path_factory.mktemp("students") / "seed_002"
    student.mkdir()
    for name in ("preprocessing.py", "training.py"):
        shutil.copy(REFERENCE / name, student / name)
    (student / "models.py").write_text(SEED_002_MODELS)
    outcome = grade(
        GradeRequest(
            submissions=[REFERENCE, student], out=tmp_path_factory.mktemp("out"),
            assignment=str(alt_reference), budget="quick", workers=2, reports=False,
        )
    )  # fmt: skip
    assert [(r.id, r.status) for r in outcome.results] == [("mnist", "ok"), ("seed_002", "ok")]
    return {r.id: r for r in outcome.results}


def checks(graded, sid):
    return {c.name: c for c in graded[sid].checks}


def expected_column(table) -> tuple:
    """The reference's side of a layer table, as (canonical layer, output shape, parameters)."""
    return tuple((r.expected.kind, r.expected.output_shape, r.expected.params) for r in table)


def test_alternative_reference_has_seed_002_parameter_counts():
    """Does seed 002's MLP have 615,440 + 78,500 + 1,010 parameters (694,950 in all)?"""
    assert [params for _, _, params in ALT_MLP] == [615_440, 78_500, 1_010]
    assert sum(params for _, _, params in ALT_MLP) == 694_950


@pytest.mark.full  # grades the seed-faithful alternative reference
def test_original_reference_fails_the_mlp_layers(graded):
    """Is the original reference shown seed 002's layers, and told Dense(100, relu) is missing?"""
    layers = checks(graded, "mnist")["test_mlp_layers"]
    assert layers.score == 0
    # Layer types and activations are compared, aligned: Dense(512, relu) pairs with
    # Dense(784, relu), the outputs pair up, and the missing second hidden layer is one row.
    assert (
        "layer 2: the reference has Dense(100, relu) there, and your model has no such layer"
        in layers.feedback
    )
    assert expected_column(layers.table) == ALT_MLP
    assert [row.actual.kind if row.actual else None for row in layers.table] == [
        "Dense(512, relu)",
        None,
        "Dense(10, softmax)",
    ]


@pytest.mark.full  # grades the seed-faithful alternative reference
def test_original_reference_fails_the_mlp_shapes(graded):
    """Does the expected output shape follow the alternative: (784,), not (512,)?"""
    shapes = checks(graded, "mnist")["test_mlp_output_shapes"]
    assert shapes.score == 0
    assert (
        "after your layer 1, Dense(512, relu), the MLP's output shape is (512,); expected (784,)"
        in shapes.feedback
    )
    assert expected_column(shapes.table) == ALT_MLP


@pytest.mark.full  # grades the seed-faithful alternative reference
def test_original_reference_fails_the_mlp_parameters(graded):
    """Does the feedback give the alternative's parameter counts: 615,440, 78,500 and 1,010?"""
    params = checks(graded, "mnist")["test_mlp_parameters"]
    assert params.score == 0
    assert (
        "your layer 1, Dense(512, relu), has 401,920 parameters; the reference's Dense(784, "
        "relu) has 615,440" in params.feedback
    )
    assert "407,050 vs 694,950" in params.feedback
    assert [row.expected.params for row in params.table] == [615_440, 78_500, 1_010]


@pytest.mark.full  # grades the seed-faithful alternative reference
def test_original_reference_fails_the_mlp_compile(graded):
    """Is the original reference told its optimizer should now be Adam?"""
    compile_ = checks(graded, "mnist")["test_mlp_compile"]
    assert compile_.score == 0
    assert "optimizer is RMSprop; expected Adam" in compile_.feedback
    assert "loss" not in compile_.feedback and "metric" not in compile_.feedback


@pytest.mark.full  # grades the seed-faithful alternative reference
def test_original_reference_keeps_everything_else(graded):
    """Do the checks the swap does not concern (input, softmax, CNN, preprocessing) still pass?"""
    unconcerned = [
        c for name, c in checks(graded, "mnist").items()
        if name not in MLP_CHECKS and "accuracy" not in name
    ]  # fmt: skip
    assert len(unconcerned) == 16
    assert [c.name for c in unconcerned if not c.passed] == []


@pytest.mark.full  # grades the seed-faithful alternative reference
def test_seed_002_student_passes_the_mlp_checks(graded):
    """Does seed 002's network, written as the tutorial writes it, pass the swapped checks?"""
    student = checks(graded, "seed_002")
    for name in (*MLP_CHECKS, "test_mlp_input_shape", "test_mlp_softmax_output"):
        assert student[name].passed, f"{name}: {student[name].feedback}"
    # input_shape= is valid Keras 3: its advice belongs only to a failing input-shape check.
    assert "keras.Input(shape=" not in student["test_mlp_layers"].feedback


@pytest.mark.full  # grades the seed-faithful alternative reference
def test_seed_002_student_passes_the_cnn_and_training_checks(graded):
    """Does the seed-002 student pass every check but the accuracies (which depend on training)?"""
    student = graded["seed_002"].checks
    assert [c.name for c in student if not c.passed and "accuracy" not in c.name] == []


@pytest.mark.full  # grades the seed-faithful alternative reference
def test_model_report_shows_the_alternative(graded):
    """Does the report's layer table of the MLP show the alternative reference's layers?"""
    (mlp,) = [m for m in graded["mnist"].models if m.name == "mlp"]
    assert expected_column(mlp.layers) == ALT_MLP
    assert mlp.reference_accuracy is not None


def test_a_reference_whose_plan_does_not_fit_it_stops_the_grading(tmp_path, monkeypatch):
    """A plan whose arguments do not fit the reference's functions (build_mlp given four
    arguments) loads, but the reference's run fails that call: is the grading stopped with
    the call and its error, instead of grading everyone against a reference with no MLP?"""
    from mnist import dataset_label, load_mnist

    from grader.config import load_config
    from grader.run.local import ReferenceFailed, run_reference

    monkeypatch.setenv("KERAS_GRADER_CACHE", str(tmp_path / "cache"))
    folder = tmp_path / "mnist_misfit"
    shutil.copytree(REFERENCE, folder, ignore=shutil.ignore_patterns("__pycache__"))
    settings = (folder / "assignment.toml").read_text()
    assert "args = [784, 10]" in settings
    misfit = settings.replace("args = [784, 10]", "args = [784, 10, 3, 4]")
    (folder / "assignment.toml").write_text(misfit)
    config = load_config(folder)
    with pytest.raises(ReferenceFailed, match=r"build_mlp did not work: error \(TypeError"):
        run_reference(config, load_mnist("bundled"), config.budget("quick"),
                      dataset_label("bundled"), tmp_path / "work")  # fmt: skip
