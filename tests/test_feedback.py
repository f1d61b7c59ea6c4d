"""Does feedback turn Keras 3's real errors on old tutorial code into Keras 3 advice?

The old code (the idioms of seed 003 and its era) really runs here against the installed
Keras 3, through phase 1's own `Runner.call`, so the messages, tracebacks and warnings are
exactly what the runner records; the feedback is then read back through `RunView.require`,
as a check reads it. In-process is fine: this is our own test code, not a submission.
"""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from grader.check.checking import CheckFailure, RunView  # noqa: E402
from grader.check.feedback import (  # noqa: E402
    OLD_API_HINTS,
    explain_call,
    keras3_hints,
    warning_hints,
)
from grader.run.runner import Runner  # noqa: E402

ALL_HINTS = [hint for _, hint in OLD_API_HINTS]
HINT = {
    name: next(hint for hint in ALL_HINTS if phrase in hint)
    for name, phrase in {
        "np_utils": "keras.utils.to_categorical",
        "nb_epoch": "nb_epoch=",
        "output_dim": "output_dim=",
        "lr": "lr=",
        "decay": "decay=",
        "input_dim": "input_dim=",
        "init": "kernel_initializer=",
        "Convolution2D": "Convolution2D",
        "keras.engine": "keras.engine",
        "predict_classes": "predict_classes",
        "h5": "model.keras",
    }.items()
}
"""The advice for each old idiom, found by what it says (not by its position in the table)."""

MODULES = ("preprocessing", "models", "training")


class Submission:
    """A submission directory run through phase 1's Runner, in this process."""

    def __init__(self, root: Path, files: dict[str, str]) -> None:
        self.dir = root / "submission"
        self.out = root / "out"
        self.dir.mkdir()
        for name, code in files.items():
            (self.dir / f"{name}.py").write_text(textwrap.dedent(code))
        inputs = root / "inputs.npz"
        np.savez(inputs, unused=np.zeros(1))
        self.runner = Runner(
            {
                "out": str(self.out),
                "submission": str(self.dir),
                "inputs": str(inputs),
                "modules": {m: m for m in MODULES},
            }
        )
        self.runner.import_modules()

    def call(self, name: str, group: str, function: str, *args, **kwargs) -> dict:
        """Call the student's function as the runner does; returns the manifest's record."""
        self.runner.call(name, self.runner.function(group, function), *args, **kwargs)
        return self.runner.manifest["calls"][name]

    def feedback(self, name: str) -> str:
        """What a check that requires this call tells the student."""
        with pytest.raises(CheckFailure) as failure:
            RunView(id="student", status="ok", detail="", out_dir=self.out).require(name)
        return failure.value.message


@pytest.fixture
def submission(tmp_path, monkeypatch):
    """Factory of in-process submissions; their modules are forgotten afterwards."""
    monkeypatch.setattr(sys, "path", list(sys.path))
    keras.backend.clear_session(free_memory=False)
    yield lambda files: Submission(tmp_path, files)
    for name in MODULES:
        sys.modules.pop(name, None)


def tiny_model():
    model = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(2, "softmax")])
    model.compile(optimizer="rmsprop", loss="categorical_crossentropy", metrics=["accuracy"])
    return model


X, Y = np.zeros((4, 4), "float32"), np.eye(2, dtype="float32")[[0, 1, 0, 1]]

GOOD_MLP = """
import keras
from keras import layers


def build_mlp(input_dim=784, num_classes=10):
    model = keras.Sequential([
        {first},
        layers.Dense(num_classes, activation="softmax"),
    ])
    model.compile(optimizer={optimizer}, loss="categorical_crossentropy", metrics=["accuracy"])
    return model
"""


def mlp(first="keras.Input(shape=(input_dim,)), layers.Dense(512, activation='relu')",
        optimizer="'rmsprop'"):  # fmt: skip
    return GOOD_MLP.format(first=first, optimizer=optimizer)


# ---- old API that raises ---------------------------------------------------------------------
def test_np_utils_import_error(submission):
    """Is `from keras.utils import np_utils` answered with keras.utils.to_categorical?"""
    sub = submission(
        {
            "preprocessing": """
                from keras.utils import np_utils


                def one_hot(labels, num_classes=10):
                    return np_utils.to_categorical(labels, num_classes)
            """
        }
    )
    record = sub.runner.manifest["calls"]["import:preprocessing"]
    assert record["exc_type"] == "ImportError"
    assert "cannot import name 'np_utils' from 'keras.utils'" in record["message"]
    assert keras3_hints(record["message"], record["traceback"]) == [HINT["np_utils"]]
    sub.call("one_hot", "preprocessing", "one_hot", np.array([1, 2]))
    feedback = sub.feedback("one_hot")
    assert "importing preprocessing failed with ImportError" in feedback
    assert "preprocessing.py" in feedback  # the student's own line, in the traceback
    assert HINT["np_utils"] in feedback
    assert "site-packages" not in feedback  # the grader's own paths mean nothing to a student


def test_nb_epoch_type_error(submission):
    """Is model.fit(nb_epoch=...) answered with epochs=?"""
    sub = submission(
        {
            "training": """
                def train(model, x, y, *, epochs, batch_size, validation_split=0.0):
                    return model.fit(x, y, nb_epoch=epochs, batch_size=batch_size, verbose=0)
            """
        }
    )
    record = sub.call("train:mlp", "training", "train", tiny_model(), X, Y, epochs=1, batch_size=2)
    assert record["exc_type"] == "TypeError"
    assert "unexpected keyword argument 'nb_epoch'" in record["message"]
    assert keras3_hints(record["message"], record["traceback"]) == [HINT["nb_epoch"]]
    feedback = sub.feedback("train:mlp")
    assert feedback.startswith("train() raised TypeError:")
    assert "model.fit(x, y, epochs=..., batch_size=...)" in feedback


def test_dense_output_dim_type_error(submission):
    """Is Dense(output_dim=...) answered with Dense(units)?"""
    sub = submission(
        {
            "models": """
                from keras.models import Sequential
                from keras.layers import Dense


                def build_mlp(input_dim=784, num_classes=10):
                    model = Sequential()
                    model.add(Dense(output_dim=512, activation="relu"))
                    return model
            """
        }
    )
    record = sub.call("build_mlp", "models", "build_mlp")
    assert record["exc_type"] == "TypeError"
    assert keras3_hints(record["message"], record["traceback"]) == [HINT["output_dim"]]
    # Keras 3 never mentions output_dim itself: the message alone must be enough.
    assert "output_dim" not in record["message"]
    assert keras3_hints(record["message"]) == [HINT["output_dim"]]
    assert "the number of units is the first argument" in sub.feedback("build_mlp")


def test_rmsprop_lr_value_error(submission):
    """Is RMSprop(lr=...) answered with learning_rate=?"""
    sub = submission({"models": mlp(optimizer="keras.optimizers.RMSprop(lr=0.001)")})
    record = sub.call("build_mlp", "models", "build_mlp")
    assert record["exc_type"] == "ValueError"
    assert "not recognized: {'lr'" in record["message"]
    assert keras3_hints(record["message"]) == [HINT["lr"]]
    assert keras3_hints(record["message"], record["traceback"]) == [HINT["lr"]]
    assert "RMSprop(learning_rate=0.001)" in sub.feedback("build_mlp")


# ---- old API that only warns -----------------------------------------------------------------
def test_decay_warning(submission):
    """Does an optimizer's decay= (ignored by Keras 3, with a warning) get its advice?"""
    sub = submission(
        {"models": mlp(optimizer="keras.optimizers.RMSprop(learning_rate=0.001, decay=1e-6)")}
    )
    record = sub.call("build_mlp", "models", "build_mlp")
    assert record["status"] == "ok"
    assert any("decay" in w for w in record["warnings"])
    assert warning_hints(record) == [HINT["decay"]]


def test_input_dim_warning(submission):
    """Does Dense(..., input_dim=784) as the first layer get the keras.Input advice?"""
    sub = submission({"models": mlp(first="layers.Dense(512, activation='relu', input_dim=784)")})
    record = sub.call("build_mlp", "models", "build_mlp")
    assert record["status"] == "ok"
    assert any("input_dim" in w for w in record["warnings"])
    assert warning_hints(record, input_shape="(784,)") == [
        HINT["input_dim"].replace("{shape}", "(784,)")
    ]
    assert "keras.Input(shape=(784,))" in warning_hints(record, input_shape="(784,)")[0]


def test_modern_code_gets_no_hints(submission):
    """Does today's Keras 3 code get no old-API advice at all?"""
    sub = submission({"models": mlp()})
    record = sub.call("build_mlp", "models", "build_mlp")
    assert record["status"] == "ok"
    assert warning_hints(record) == []


def test_seed_003_model_gets_every_relevant_hint(submission):
    """Does seed 003's model code get the lr hint, and decay and input_dim for its warnings?"""
    code = Path(__file__).parent / "known_answers" / "seed_003_2020" / "models.py"
    sub = submission({"models": code.read_text()})
    record = sub.call("build_mlp", "models", "build_mlp")
    assert record["exc_type"] == "ValueError"
    assert keras3_hints(record["message"], record["traceback"]) == [HINT["lr"]]
    assert warning_hints(record) == [HINT["decay"], HINT["input_dim"].replace("{shape}", "...")]


# ---- calls that never gave a result ----------------------------------------------------------
def test_not_implemented_is_not_attempted(submission):
    """Is a stub still raising NotImplementedError reported as 'not attempted'?"""
    sub = submission(
        {
            "preprocessing": """
                def flatten_and_scale(images):
                    raise NotImplementedError("flatten_and_scale: your code here")
            """
        }
    )
    record = sub.call("flatten_and_scale", "preprocessing", "flatten_and_scale", np.zeros(2))
    assert record["status"] == "not_implemented"
    assert sub.feedback("flatten_and_scale") == (
        "not attempted: flatten_and_scale() still raises NotImplementedError."
    )


def test_missing_module_is_named(submission):
    """Is a submission without training.py told 'training.py is missing'?"""
    sub = submission({"preprocessing": "", "models": ""})
    record = sub.call("train:mlp", "training", "train", tiny_model(), X, Y, epochs=1, batch_size=2)
    assert record["import_failed"] == "training"
    feedback = sub.feedback("train:mlp")
    assert "training.py is missing from your submission." in feedback
    assert not any(hint in feedback for hint in ALL_HINTS)


def test_missing_function_is_named(submission):
    """Is a module without the contract function told to check the name and spelling?"""
    sub = submission({"preprocessing": "def flatten_and_scal(images):\n    return images\n"})
    sub.call("flatten_and_scale", "preprocessing", "flatten_and_scale", np.zeros(2))
    assert sub.feedback("flatten_and_scale") == (
        "flatten_and_scale() is not defined in your submission: check its name and spelling."
    )


@pytest.mark.parametrize(
    ("record", "status", "expected"),
    [
        ({}, "ok", "train() was not called: an earlier step failed."),
        ({}, "timeout", "train() was not reached: the run ended early (timeout: 600 s)."),
        ({"status": "running"}, "timeout", "train() never finished: timeout: 600 s."),
        ({"status": "skipped", "why": "save failed"}, "ok", "train() was skipped: save failed."),
        ({"status": "error", "exc_type": "ZeroDivisionError"}, "ok",
         "train() raised ZeroDivisionError."),
    ],
    ids=["never-called", "run-ended", "never-finished", "skipped", "no-message"],
)  # fmt: skip
def test_explain_call_without_a_result(record, status, expected):
    """Does explain_call say why a call has no result, in one line?"""
    assert explain_call("train:mlp", record, status, "600 s") == expected


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("AttributeError: module 'keras' has no attribute 'engine' (keras.engine.topology)",
         "keras.engine"),
        ("Convolution2D(32, 3, 3, border_mode='same')", "Convolution2D"),
        ("Dense(64, init='uniform')", "init"),
        ("'Sequential' object has no attribute 'predict_classes'", "predict_classes"),
        ("model.save('mnist.h5')", "h5"),
    ],
    ids=["keras-engine", "convolution2d", "init", "predict-classes", "h5"],
)  # fmt: skip
def test_other_old_api_patterns(text, name):
    """Are the remaining Keras 1/2 idioms recognised in a message or traceback?"""
    assert keras3_hints(text) == [HINT[name]]


def test_hints_are_not_repeated():
    """Is each hint given once, however often its pattern occurs?"""
    assert keras3_hints("nb_epoch=1", "nb_epoch=2 and nb_epoch") == [HINT["nb_epoch"]]
    assert keras3_hints("", None) == []


def test_each_idiom_has_exactly_one_hint():
    """Does every idiom above map to its own, single entry of the hint table?"""
    assert len(set(HINT.values())) == len(HINT)
    for hint in HINT.values():
        assert ALL_HINTS.count(hint) == 1


# ---- feedback a student can read -------------------------------------------------------------
def test_keras_errors_are_cleaned():
    """Are ANSI colour codes stripped, KerasTensor dumps cut to their shape, grader paths gone?"""
    raw = (
        '\x1b[1mInput 0 of layer \x1b[0m"dense" is incompatible: expected axis -1 of input '
        "shape to have value 784, but received input with shape (None, 28, 28). Arguments "
        "received by Dense.call(): \u2022 inputs=<KerasTensor shape=(None, 28, 28), "
        "dtype=float32, sparse=False, ragged=False, name=keras_tensor_3> "
        "(/work/.venv/lib/python3.11/site-packages/keras/src/layers/core/dense.py)"
    )
    text = explain_call("build_mlp", {"status": "error", "exc_type": "ValueError",
                                      "message": raw})  # fmt: skip
    assert "\x1b" not in text and "KerasTensor" not in text and "site-packages" not in text
    assert "inputs=a tensor of shape (None, 28, 28)" in text


def test_the_call_the_grader_made_is_said():
    """Does a failed builder say how the grader called it (the student's default may differ)?"""
    record = {"status": "error", "exc_type": "ValueError", "message": "bad shape",
              "called_as": "build_cnn(input_shape=(28, 28, 1), num_classes=10)"}  # fmt: skip
    assert "The grader called build_cnn(input_shape=(28, 28, 1), num_classes=10)." in (
        explain_call("build_cnn", record)
    )


def test_notebook_tracebacks_name_cells():
    """Does a traceback into the generated module name the notebook cell and line, and one
    into a renamed single file the student's own file name?"""
    trace = (
        'File "submission.py", line 3, in build_mlp\n    model = Sequential()\n'
        "File \"helpers.py\", line 9, in helper\n    x = 1\nNameError: name 'Sequential'"
    )
    sources = {"submission.py": {"label": "alice.ipynb", "cells": [None, [4, 1], [4, 2]]}}
    text = explain_call("build_mlp", {"status": "error", "exc_type": "NameError",
                                      "traceback": trace}, sources=sources)  # fmt: skip
    assert "notebook cell 4, line 2" in text and 'File "helpers.py", line 9' in text
    text = explain_call("build_mlp", {"status": "error", "exc_type": "NameError",
                                      "traceback": trace},
                        sources={"submission.py": {"label": "alice.py"}})  # fmt: skip
    assert 'File "alice.py", line 3' in text


def test_script_at_import_time_gets_the_main_guard_hint():
    """Does a module that fails while running a script at import get the __main__ advice,
    and a missing package not?"""
    trace = (
        'File "preprocessing.py", line 5, in <module>\n'
        "    (x_train, y_train), (x_test, y_test) = mnist.load_data()\n"
        "Exception: URL fetch failure on https://storage.googleapis.com/mnist.npz"
    )
    record = {"status": "error", "exc_type": "Exception", "message": "URL fetch failure",
              "traceback": trace}  # fmt: skip
    assert 'if __name__ == "__main__":' in explain_call("import:preprocessing", record)
    record = {**record, "exc_type": "ModuleNotFoundError"}
    assert "__main__" not in explain_call("import:preprocessing", record)


@pytest.mark.parametrize("alias", ["np.Inf", "np.NaN", "np.float", "np.int"])
def test_numpy_2_removals_are_recognised(alias):
    """Are NumPy 2's removed aliases answered with today's spelling?"""
    message = f"`{alias}` was removed in the NumPy 2.0 release. Use `np.inf` instead."
    hints = keras3_hints(message)
    assert len(hints) == 1 and "NumPy 2 removed" in hints[0]
    assert keras3_hints("np.float32 and np.int64 and np.inf") == []
