"""Is the reference solution faithful to the tutorials, and does it learn on the bundled data?

Trains the reference's MLP and CNN exactly as the grader would on `--data bundled` (the
`bundled` budget of reference/mnist/assignment.toml, its seed and threads). Measurements and the
reasoning behind the floors are in reference/mnist/README.md. About 15 s on 2 cores.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from mnist import load_mnist  # noqa: E402

from grader.config import find_assignment  # noqa: E402
from grader.run.runner import seed_everything  # noqa: E402

REFERENCE = Path(__file__).resolve().parent.parent / "reference" / "mnist"

MLP_FLOOR = 0.89
"""Measured 0.928 with the assignment's seed; 0.915..0.932 over 14 other seeds."""
CNN_FLOOR = 0.88
"""Measured 0.965 with the assignment's seed; 0.913..0.969 over 14 other seeds (10 epochs of
RMSprop on 4,000 images still ends in a dip for some seeds)."""
MLP_PARAMS = 407_050
CNN_PARAMS = 257_162


def _import_reference(name: str) -> ModuleType:
    """Import reference/mnist/<name>.py by path, under a name no other module uses."""
    spec = importlib.util.spec_from_file_location(
        f"_reference_mnist_{name}", REFERENCE / f"{name}.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def ref() -> dict[str, ModuleType]:
    return {name: _import_reference(name) for name in ("preprocessing", "models", "training")}


@pytest.fixture(scope="module")
def config():
    return find_assignment("mnist")


@pytest.fixture(scope="module")
def bundled():
    return load_mnist("bundled")


def _train_and_evaluate(ref, config, bundled, kind: str, budget_name: str):
    """Seed, build, train with the budget, evaluate on the bundled test split, as the grader does.

    Returns:
        (test accuracy, History.history, the trained model).
    """
    pre, models, training = ref["preprocessing"], ref["models"], ref["training"]
    (x_train, y_train), (x_test, y_test) = bundled
    budget = config.budget(budget_name)
    spec = budget.model(kind)
    prepare = pre.flatten_and_scale if kind == "mlp" else pre.reshape_for_cnn
    # A fresh graph and fresh seeds for every model, so no run depends on the ones before it.
    keras.backend.clear_session()
    seed_everything(config.seed, config.threads)
    model = models.build_mlp() if kind == "mlp" else models.build_cnn()
    history = training.train(
        model,
        prepare(x_train[: budget.train_samples]),
        pre.one_hot(y_train[: budget.train_samples]),
        epochs=spec.epochs,
        batch_size=spec.batch_size,
        validation_split=spec.validation_split,
    )
    _, accuracy = training.evaluate(model, prepare(x_test), pre.one_hot(y_test))
    return accuracy, history.history, model


@pytest.fixture(scope="module")
def mlp_runs(ref, config, bundled):
    """Two seeded runs of the MLP under the bundled budget."""
    return [_train_and_evaluate(ref, config, bundled, "mlp", "bundled") for _ in range(2)]


def test_parameter_counts(ref, config):
    """Do the reference networks have the tutorials' parameter counts (407,050 and 257,162)?"""
    keras.backend.clear_session()
    seed_everything(config.seed, config.threads)  # before TensorFlow starts, to fix its threads
    assert ref["models"].build_mlp().count_params() == MLP_PARAMS
    assert ref["models"].build_cnn().count_params() == CNN_PARAMS


def test_preprocessing_outputs(ref, bundled):
    """Does the reference preprocess to float32 in [0, 1] and one-hot rows, as specified?"""
    pre = ref["preprocessing"]
    (x_train, y_train), _ = bundled
    flat, cnn, hot = (
        pre.flatten_and_scale(x_train[:50]),
        pre.reshape_for_cnn(x_train[:50]),
        pre.one_hot(y_train[:50]),
    )
    assert flat.shape == (50, 784) and cnn.shape == (50, 28, 28, 1) and hot.shape == (50, 10)
    assert flat.dtype == cnn.dtype == hot.dtype == np.float32
    assert 0.0 <= flat.min() and flat.max() <= 1.0 and flat.max() > 0.99
    np.testing.assert_array_equal(hot.argmax(axis=1), y_train[:50])
    np.testing.assert_array_equal(hot.sum(axis=1), 1.0)


@pytest.mark.full  # trains under the bundled budget
def test_mlp_accuracy_above_floor(mlp_runs, config):
    """Does the reference MLP reach its floor on the bundled test split under the bundled budget?"""
    accuracy, history, _ = mlp_runs[0]
    epochs = config.budget("bundled").model("mlp").epochs
    assert len(history["loss"]) == epochs and len(history["val_accuracy"]) == epochs
    assert accuracy >= MLP_FLOOR, f"MLP test accuracy {accuracy:.4f} < floor {MLP_FLOOR}"


def test_mlp_runs_are_identical(mlp_runs):
    """Do two seeded MLP runs give exactly the same accuracy and training history?"""
    (acc_a, history_a, _), (acc_b, history_b, _) = mlp_runs
    assert acc_a == acc_b
    assert history_a == history_b


@pytest.mark.full  # trains the CNN under the bundled budget
def test_cnn_accuracy_above_floor(ref, config, bundled):
    """Does the reference CNN reach its floor on the bundled test split under the bundled budget?"""
    accuracy, history, _ = _train_and_evaluate(ref, config, bundled, "cnn", "bundled")
    assert len(history["loss"]) == config.budget("bundled").model("cnn").epochs
    assert accuracy >= CNN_FLOOR, f"CNN test accuracy {accuracy:.4f} < floor {CNN_FLOOR}"


def test_cnn_runs_are_identical(ref, config, bundled):
    """Do two seeded CNN runs (quick budget, to save time) give exactly the same results?"""
    runs = [_train_and_evaluate(ref, config, bundled, "cnn", "quick")[:2] for _ in range(2)]
    assert runs[0] == runs[1]


def test_save_and_load_round_trip(ref, mlp_runs, bundled, tmp_path):
    """Does a model saved as .keras (seed 002, today's format) load back and predict the same?"""
    training, pre = ref["training"], ref["preprocessing"]
    _, _, model = mlp_runs[1]
    path = tmp_path / "mlp.keras"
    training.save(model, str(path))
    loaded = training.load(str(path))
    _, (x_test, _) = bundled
    x = pre.flatten_and_scale(x_test[:100])
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert loaded.count_params() == MLP_PARAMS
    assert loaded.optimizer.__class__.__name__ == "RMSprop"
