"""Does the grader give each known submission exactly the score and feedback it deserves?

Every case under tests/known_answers/ is the reference solution with ONE realistic student
mistake (or the reference itself, or the 2020 seed-003 code). All cases are graded in a single
`grade()` call with the `quick` budget (1,000 training images; MLP 3 epochs, CNN 2 epochs),
which the grader seeds, so reruns give identical scores (90 s on 2 idle cores, 165 s loaded).

The tables below hold what the grader SHOULD say (written from the check code before the cases
were first graded; the four grader bugs this found were fixed, not tabled).

Accuracy checks (full marks from reference - margin, linear partial credit below) depend on
training, and oneDNN trains differently in the last digits on another CPU family (issue 17:
44.5% on an AMD EPYC where an Intel Xeon measured 45.1%). So nothing here pins a measured
figure: a case's accuracy check is pinned only where the outcome holds on any machine (the
student's pipeline trains exactly like the reference's, so both give the same number on the
same machine; or it lands more than 5 points from the full-marks and no-credit lines, ten
times the difference measured between CPU families), and is otherwise
listed under `may_fail` with the total score as a range. Feedback phrases never hold digits
that training produced.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from conftest import full_only, selected_cases

pytest.importorskip("keras")

from grader.pipeline import GradeRequest, grade  # noqa: E402
from grader.report.results import SubmissionResult, max_score, score  # noqa: E402

KNOWN_ANSWERS = Path(__file__).resolve().parent / "known_answers"

PREPROCESSING = ("test_flatten_and_scale", "test_flatten_and_scale_test_images",
                 "test_reshape_for_cnn", "test_one_hot")  # fmt: skip
MLP = ("test_mlp_input_shape", "test_mlp_layers", "test_mlp_output_shapes",
       "test_mlp_parameters", "test_mlp_softmax_output", "test_mlp_compile")  # fmt: skip
CNN = tuple(name.replace("mlp", "cnn") for name in MLP)
TRAINING = ("test_train_returns_history", "test_train_honours_budget", "test_evaluate",
            "test_save_load_roundtrip", "test_mlp_test_accuracy",
            "test_cnn_test_accuracy")  # fmt: skip
ALL_CHECKS = frozenset(PREPROCESSING + MLP + CNN + TRAINING)


@dataclass(frozen=True)
class Expected:
    """What one case must get: total score (exact, or an inclusive range), failed checks
    (anything short of full marks), and a phrase each failed check's feedback contains."""

    score: float | tuple[float, float]
    feedback: dict[str, str] = field(default_factory=dict)
    may_fail: dict[str, str] = field(default_factory=dict)
    """Checks whose outcome depends on training (how close to a threshold the measured
    accuracy lands on this CPU family): they may pass or fail; if they fail, with the phrase."""

    @property
    def failed(self) -> frozenset[str]:
        return frozenset(self.feedback)


SEED_003_HINTS = {
    **{name: "np_utils is gone in Keras 3" for name in PREPROCESSING},
    "test_flatten_and_scale": "importing preprocessing failed with ImportError",
    **{name: "write keras.optimizers.RMSprop(learning_rate=0.001)" for name in MLP},
    **{name: "border_mode" for name in CNN},
    "test_train_returns_history": "write keras.optimizers.RMSprop(learning_rate=0.001)",
    "test_train_honours_budget": "write keras.optimizers.RMSprop(learning_rate=0.001)",
    "test_evaluate": "build_mlp() raised ValueError",
    "test_save_load_roundtrip": "build_mlp() raised ValueError",
    "test_mlp_test_accuracy": "your build_mlp() gave no model",
    "test_cnn_test_accuracy": "your build_cnn() gave no model",
}

CASES: dict[str, Expected] = {
    # The reference itself: every check passes.
    "reference_copy": Expected(100),
    # Forgets / 255 in both image functions: the three image checks fail with the hint. Training
    # on 0..255 pixels costs accuracy (measured MLP 75.8% vs full marks from 80.0%, CNN 65.9% vs
    # 72.7%), but the partial credit is too close to the band's edges to pin: a range.
    "no_scaling": Expected(
        (60, 90),
        {
            "test_flatten_and_scale": "Divide the pixel values by 255",
            "test_flatten_and_scale_test_images": "Divide the pixel values by 255",
            "test_reshape_for_cnn": "Divide the pixel values by 255",
        },
        may_fail={
            "test_mlp_test_accuracy": "the reference reaches",
            "test_cnn_test_accuracy": "the reference reaches",
        },
    ),
    # one_hot() returns the labels: only one_hot's 5 points; training uses the reference's labels.
    "labels_not_one_hot": Expected(95, {"test_one_hot": "the labels, not one-hot rows"}),
    # Sigmoid on the MLP's last layer: the softmax check alone (the output activation is not
    # the layer sequence's business: one deviation, one check). Keras 3 trains sigmoid +
    # categorical_crossentropy from the cached logits, so accuracy equals the reference's.
    "sigmoid_output": Expected(
        97, {"test_mlp_softmax_output": "ends with activation sigmoid; expected softmax"}
    ),
    # Dense(256) in the MLP: output shape and parameter count of layer 1 differ (the layer
    # sequence compares types and activations, so one wrong size is not charged three times);
    # accuracy full on the machines measured (83.1% vs full marks from 80.0%), but only 3
    # points above the line: training decides.
    "units_256": Expected(
        (78, 93),
        {
            "test_mlp_output_shapes": "output shape is (256,); expected (512,)",
            "test_mlp_parameters": "200,960 parameters; the reference's Dense(512, relu) has",
        },
        may_fail={"test_mlp_test_accuracy": "the reference reaches"},
    ),
    # The CNN's last Dense has no activation: the softmax check, and a linear output trained
    # with categorical_crossentropy barely learns (measured 10.0% and 38.2% on two machines,
    # against the reference's 75.7%: no credit, far below the no-credit line of 65.7%).
    "missing_softmax": Expected(
        82,
        {
            "test_cnn_softmax_output": "none (linear)",
            "test_cnn_test_accuracy": "the reference reaches",
        },
    ),
    # The sparse loss with one-hot labels: compile check, and fit()/evaluate() raise in Keras 3,
    # so the training checks fail and the untrained MLP gets no accuracy credit (measured 3.3%).
    "sparse_loss": Expected(
        71,
        {
            "test_mlp_compile": "loss is sparse_categorical_crossentropy; expected categorical",
            "test_train_returns_history": "when the labels are one-hot rows, compile",
            "test_train_honours_budget": "train() raised ValueError",
            "test_evaluate": "evaluate() raised ValueError",
            "test_mlp_test_accuracy": "the reference reaches",
        },
    ),
    # train() hard-codes the tutorial's epochs=10: the budget check alone (the History is a
    # real one); more training only helps accuracy (measured MLP 87.7%, CNN 90.5%: full marks,
    # more than 7 points above the line).
    "ignores_epochs": Expected(
        96, {"test_train_honours_budget": "the MLP trained for 10 epochs; the grader asked"}
    ),
    # train() returns the model: only the History check; training itself is the reference's.
    "returns_model": Expected(
        96, {"test_train_returns_history": "returned Sequential, not a keras.callbacks.History"}
    ),
    # Conv2D without padding='same': shapes and the Dense(64) parameters differ (layer types
    # and activations are right), and with the quick budget's 10 CNN steps the unpadded CNN
    # lags far behind (measured 45.1% on a Xeon, 44.5% on an EPYC; no credit below 65.7%).
    "cnn_no_padding": Expected(
        78,
        {
            "test_cnn_output_shapes": "Without padding='same'",
            "test_cnn_parameters": "36,928 parameters; the reference's Dense(64, relu) has 200,768",
            "test_cnn_test_accuracy": "the reference reaches",
        },
    ),
    # ---- correct Keras in other idioms (issue 11): full marks, whatever the spelling ----
    # keras' examples/mnist_cnn.py style notebook: `img_rows, img_cols = 28, 28`, an annotated
    # `num_classes: int = 10`, starred and list targets, used as defaults and inside functions.
    "nb_tuple_constants": Expected(100),
    # loss=keras.losses.categorical_crossentropy (a function) and CategoricalCrossentropy() (an
    # object); optimizers as RMSprop() objects.
    "loss_function_object": Expected(100),
    # metrics=[CategoricalAccuracy()] and CategoricalAccuracy(name="acc"): accuracy metrics, with
    # History keys categorical_accuracy and acc.
    "metric_objects": Expected(100),
    # activation=tf.nn.relu and tf.nn.softmax (serialised as the function softmax_v2): graded
    # like 'relu' and 'softmax'. Only the round trip fails, for real: Keras 3's own load_model
    # cannot read the function back, and the feedback gives the spelling that can.
    "tf_nn_activations": Expected(
        96, {"test_save_load_roundtrip": "write the activation by name, activation='softmax'"}
    ),
    # Deep Learning with Python's Sequential([Dense(512), Dense(10)]) with no keras.Input (unbuilt
    # until trained), and a CNN with input_shape= on its first layer.
    "unbuilt_sequential": Expected(100),
    # ---- one deviation, one check ----
    # One Dropout(0.2) in the MLP: the layer sequence only (not output shapes, not parameters);
    # the MLP then trains differently: training decides its accuracy check.
    "mlp_dropout": Expected(
        (80, 95),
        {"test_mlp_layers": "your layer 2, Dropout(0.2) is extra"},
        may_fail={"test_mlp_test_accuracy": "the reference reaches"},
    ),
    # one_hot() puts each 1 one column to the right: its own check only; the models train on
    # the right labels (the grader's), exactly like the reference.
    "one_hot_off_by_one": Expected(95, {"test_one_hot": "puts the 1.0 in the wrong column"}),
    # save() writes a hard-coded my_model.keras and load() reads it back: the round trip
    # "works", but not through the path the grader gave.
    "save_ignores_path": Expected(
        96, {"test_save_load_roundtrip": "without writing anything at the path it was given"}
    ),
    # save() writes the path and a hard-coded backup; load() reads the backup.
    "load_ignores_path": Expected(
        96, {"test_save_load_roundtrip": "load(path) must read the file at `path`"}
    ),
    # ---- issue 19: other model styles, loops, environments (each from public code's idioms) ----
    # TensorFlow's "quickstart for experts" / keras.io subclassing guide: keras.Model subclasses
    # with layers in __init__ and a call(), traced into graphs of their built-in layers.
    "subclassed_models": Expected(100),
    # keras.io's "training loop from scratch": GradientTape over tf.data with its own RMSprop,
    # returning a dict. The dict costs the History check alone; the steps are counted from
    # the optimizer that stepped. An unshuffled loop trains differently: training decides.
    "gradient_tape_loop": Expected(
        (66, 96),
        {"test_train_returns_history": "returned dict, not a keras.callbacks.History"},
        may_fail={
            "test_mlp_test_accuracy": "the reference reaches",
            "test_cnn_test_accuracy": "the reference reaches",
        },
    ),
    # Images kept as (n, 28, 28) and a model that flattens them: flatten_and_scale's two checks,
    # the input shape and the extra Flatten; train, evaluate, save/load, softmax and accuracy
    # use the student's own consistent pipeline.
    "images_kept_2d": Expected(
        (72, 87),
        {
            "test_flatten_and_scale": "returned shape (1000, 28, 28); expected (1000, 784)",
            "test_flatten_and_scale_test_images": "returned shape (1000, 28, 28)",
            "test_mlp_input_shape": "takes inputs of shape (28, 28); expected (784,)",
            "test_mlp_layers": "your layer 1, Flatten is extra",
        },
        may_fail={"test_mlp_test_accuracy": "the reference reaches"},
    ),
    # TensorFlow's mixed-precision guide: mixed_float16, a float32 softmax Activation, a
    # LossScaleOptimizer wrapping RMSprop. Compile, softmax and the step count (loss scaling
    # skips steps) read through the policy; float16 training decides the accuracy.
    "mixed_precision": Expected(
        (70, 100),
        may_fail={
            "test_mlp_test_accuracy": "the reference reaches",
            "test_cnn_test_accuracy": "the reference reaches",
        },
    ),
    # A notebook whose plotting cell does not parse (a Python 2 print), so matplotlib is never
    # imported, and a plot_confusion_matrix(..., cmap=plt.cm.Blues) helper: the helper is left
    # out with a note, and nothing else is affected.
    "nb_plot_helper": Expected(100),
    # One .py importing matplotlib, pandas, sklearn, tqdm and wandb (not installed) at the top:
    # graded like a notebook; the stand-in for wandb fails only where it is used.
    "py_unused_imports": Expected(100),
    # Seed 003 as written in 2020 (np_utils, RMSprop(lr=...), Convolution2D(border_mode=),
    # nb_epoch=): nothing imports or builds under Keras 3, each failure with its Keras 3 hint.
    # With no model of its own there is nothing to train (no reference model ever enters a
    # sandbox, issue 12), so the training checks fail with the builders' reasons.
    "seed_003_2020": Expected(0, SEED_003_HINTS),
}


REPRESENTATIVE = (
    "reference_copy",  # every check passes
    "no_scaling",  # preprocessing checks, and an accuracy in the partial band
    "missing_softmax",  # the output activation
    "ignores_epochs",  # the training contract
    "seed_003_2020",  # Keras 1/2 code: import failures with their Keras 3 hints, every check
)
"""The cases CI's gate (`make test`) grades; `make test-all` grades every case."""


@pytest.fixture(scope="module")
def results(request, tmp_path_factory) -> dict[str, SubmissionResult]:
    """The known-answer cases this session runs, graded together once."""
    cases = [KNOWN_ANSWERS / name for name in selected_cases(request) or CASES]
    outcome = grade(
        GradeRequest(
            assignment="mnist", submissions=cases,
            out=tmp_path_factory.mktemp("known_answers"),
            budget="quick",
            workers=2,
        )
    )
    return {r.id: r for r in outcome.results}


def test_cases_on_disk_match_the_table():
    """Is every case directory in the table, and every table entry on disk?"""
    on_disk = {p.name for p in KNOWN_ANSWERS.iterdir() if p.is_dir() and p.name != "__pycache__"}
    assert on_disk == set(CASES)


def test_no_expectation_pins_a_measured_figure():
    """Do the tables hold no figure that training produced (a percentage with decimals)?"""
    for case, expected in CASES.items():
        for phrase in {**expected.feedback, **expected.may_fail}.values():
            assert not re.search(r"\d+\.\d+%", phrase), (case, phrase)
        if expected.may_fail:
            assert isinstance(expected.score, tuple), f"{case}: a score that training decides"


@pytest.mark.parametrize("case", full_only(list(CASES), REPRESENTATIVE), ids=list(CASES))
def test_known_answer(results, case):
    """Does the case get exactly its expected score, failed checks and feedback phrases?"""
    expected = CASES[case]
    result = results[case]
    assert result.status == "ok", result.status_detail
    checks = {c.name: c for c in result.checks}
    assert set(checks) == ALL_CHECKS
    assert max_score(result) == 100

    total = score(result)
    failed = {c.name for c in result.checks if not c.passed}

    assert expected.failed <= failed <= expected.failed | set(expected.may_fail)
    if isinstance(expected.score, tuple):
        low, high = expected.score
        assert low <= total <= high
    else:
        assert total == pytest.approx(expected.score)
    for name, phrase in {**expected.may_fail, **expected.feedback}.items():
        if name in failed:
            assert phrase in checks[name].feedback, f"{name}: {checks[name].feedback}"
    for check in result.checks:  # every case attempted every function
        assert "NotImplementedError" not in check.feedback, check.name
