"""Mutation score of the grader: does every realistic mistake cost exactly what it should?

Each mutant is the reference solution (reference/mnist/: preprocessing.py, models.py,
training.py) with ONE small source edit: an exact-string replacement in one module, whose
target must occur exactly once (so the catalogue fails loudly instead of rotting silently
when the reference changes). Every mutant declares its expected row of the deviation table:

- `expect_failed`: the exact set of checks that must fail (lose any points). Empty for an
  EQUIVALENT mutant (the same solution written another way): it must score 100.
- `may_fail`: checks whose outcome legitimately depends on training (test accuracy, when the
  mutant changes the images, the architecture, the optimizer or the amount of training).

The rows follow the TARGET fairness rules (one deviation costs one check; see the "Mutation
score" section of benchmarks/README.md), not necessarily what the grader does today.

All mutants and the unmutated reference are graded in ONE `grade()` call (budget `quick`,
2 workers), then each gets a verdict:

- `killed-as-expected`: failed exactly `expect_failed`, plus any subset of `may_fail`;
- `killed-other`: failed, but not exactly its row (the extra and missing checks are listed);
- `survived`: a non-equivalent mutant that lost nothing;
- `equivalent-ok` / `equivalent-lost`: an equivalent mutant at 100 / below 100.

Mutation score = killed (either way) / non-equivalent; row-exact = killed-as-expected /
non-equivalent.

Usage (from the repository root):
  .venv/bin/python benchmarks/mutation.py [--markdown PATH] [--json PATH] [--out DIR]
                                         [--only NAME[,NAME]] [--workers 2] [--list]
"""

from __future__ import annotations

import argparse
import ast
import json
import shutil
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
REFERENCE = REPO / "reference" / "mnist"
MODULES = ("preprocessing", "models", "training")
BASELINE = "unmutated_reference"
"""Submission id of the reference itself, graded alongside the mutants (must score 100)."""

PREPROCESSING_CHECKS = ("flatten_and_scale", "flatten_and_scale_test_images",
                        "reshape_for_cnn", "one_hot")  # fmt: skip
_MODEL = ("input_shape", "layers", "output_shapes", "parameters", "softmax_output", "compile")
TRAINING_CHECKS = ("train_returns_history", "train_honours_budget", "evaluate",
                   "save_load_roundtrip", "mlp_test_accuracy", "cnn_test_accuracy")  # fmt: skip
ALL_CHECKS = frozenset(
    f"test_{name}"
    for name in (
        *PREPROCESSING_CHECKS,
        *(f"mlp_{m}" for m in _MODEL),
        *(f"cnn_{m}" for m in _MODEL),
        *TRAINING_CHECKS,
    )
)
"""The 22 checks of reference/mnist/checks/."""


class MutationError(Exception):
    """A mutation does not apply to the reference (its target is absent or ambiguous)."""


def checks(*names: str) -> frozenset[str]:
    """Check names given without their `test_` prefix; unknown names are an error."""
    full = frozenset(f"test_{n}" for n in names)
    unknown = full - ALL_CHECKS
    if unknown:
        raise ValueError(f"unknown checks: {sorted(unknown)}")
    return full


@dataclass(frozen=True)
class Mutant:
    """One source edit of the reference and the deviation-table row it must produce."""

    name: str
    module: str
    """`preprocessing`, `models` or `training`."""
    old: str
    """Exact text of the reference module; must occur exactly once."""
    new: str
    what: str
    """One line: what the mutant does."""
    expect_failed: frozenset[str] = frozenset()
    may_fail: frozenset[str] = frozenset()
    why: str = ""
    """Why the row is what it is, where it is not obvious."""

    @property
    def equivalent(self) -> bool:
        return not self.expect_failed

    def apply(self, code: dict[str, str]) -> dict[str, str]:
        """The three modules with this mutation applied (a new dict)."""
        found = code[self.module].count(self.old)
        if found != 1:
            raise MutationError(
                f"{self.name}: the target occurs {found} times in {self.module}.py "
                f"(expected exactly once; did the reference change?): {self.old[:80]!r}"
            )
        return {**code, self.module: code[self.module].replace(self.old, self.new)}


def rewrite(block: str, *pairs: tuple[str, str]) -> str:
    """`block` with each (old, new) replaced; each old must occur in it exactly once."""
    for old, new in pairs:
        if block.count(old) != 1:
            raise MutationError(f"{old!r} occurs {block.count(old)} times in {block[:60]!r}")
        block = block.replace(old, new)
    return block


def reference_code() -> dict[str, str]:
    return {m: (REFERENCE / f"{m}.py").read_text() for m in MODULES}


# ---- the reference's text the mutations target ------------------------------------------
I12 = "\n            "  # between two layers of a Sequential list
COMPILE = (
    'model.compile(optimizer="rmsprop", loss="categorical_crossentropy", metrics=["accuracy"])'
)
MLP_HIDDEN = 'layers.Dense(512, activation="relu"),'
SOFTMAX_OUT = 'layers.Dense(num_classes, activation="softmax"),'
MLP_BLOCK = (
    "    model = keras.Sequential(\n        [" + I12 + "keras.Input(shape=(input_dim,)),"
    + I12 + MLP_HIDDEN + I12 + SOFTMAX_OUT + "\n        ]\n    )\n    " + COMPILE
)  # fmt: skip
CONV1 = 'layers.Conv2D(32, kernel_size=(3, 3), activation="relu", padding="same"),'
CONV64 = 'layers.Conv2D(64, kernel_size=(3, 3), activation="relu", padding="same"),'
POOL = "layers.MaxPooling2D(pool_size=(2, 2)),"
CNN_DENSE = 'layers.Dense(64, activation="relu"),'
CNN_BLOCK = (
    "    model = keras.Sequential(\n        [" + I12 + "keras.Input(shape=input_shape),"
    + I12 + CONV1 + I12 + POOL + I12 + CONV64 + I12 + POOL + I12 + CONV64
    + I12 + "layers.Flatten()," + I12 + CNN_DENSE + I12 + SOFTMAX_OUT
    + "\n        ]\n    )\n    " + COMPILE
)  # fmt: skip
CONV1_POOL1 = CONV1 + I12 + POOL
POOL2_CONV3 = POOL + I12 + CONV64 + I12 + "layers.Flatten(),"
CONV3 = CONV64 + I12 + "layers.Flatten(),"
CNN_OUT = CNN_DENSE + I12 + SOFTMAX_OUT

FLAT_BODY = (
    "    num_pixels = images.shape[1] * images.shape[2]\n"
    '    return images.reshape(images.shape[0], num_pixels).astype("float32") / 255'
)
FLAT = 'return images.reshape(images.shape[0], num_pixels).astype("float32") / 255'
CNN_RET = 'return images.reshape((n, height, width, 1)).astype("float32") / 255'
ONE_HOT = 'return keras.utils.to_categorical(labels, num_classes).astype("float32")'

FIT_ARGS = (
    "x, y, epochs=epochs, batch_size=batch_size, validation_split=validation_split, verbose=2"
)
FIT = "    return model.fit(\n        " + FIT_ARGS + "\n    )\n"
EVALUATE = (
    "    loss, accuracy = model.evaluate(x, y, verbose=0)\n    return float(loss), float(accuracy)"
)

# ---- rows -------------------------------------------------------------------------------
MLP_ACC = checks("mlp_test_accuracy")
CNN_ACC = checks("cnn_test_accuracy")
BOTH_ACC = MLP_ACC | CNN_ACC
FLATTEN = checks("flatten_and_scale", "flatten_and_scale_test_images")
FIT_RAISES = checks("train_returns_history", "train_honours_budget", "evaluate")


def _m(name, module, old, new, what, expect=(), may=frozenset(), why=""):
    return Mutant(name, module, old, new, what, checks(*expect), frozenset(may), why)


def _mlp(name, old, new, what, expect=(), may=MLP_ACC, why=""):
    """A change inside build_mlp's model and compile statements."""
    return _m(name, "models", MLP_BLOCK, rewrite(MLP_BLOCK, (old, new)), what, expect, may, why)


def _cnn(name, old, new, what, expect=(), may=CNN_ACC, why=""):
    """A change inside build_cnn's model and compile statements."""
    return _m(name, "models", CNN_BLOCK, rewrite(CNN_BLOCK, (old, new)), what, expect, may, why)


def _catalogue() -> tuple[Mutant, ...]:
    P, M, T = MODULES
    nothing = frozenset()
    mutants = [
        # ---- models: unit counts, filters, kernels, padding, pooling ---------------------
        _m("mlp_units_256", M, MLP_HIDDEN, MLP_HIDDEN.replace("512", "256"),
           "MLP hidden Dense(256) instead of 512",
           ("mlp_output_shapes", "mlp_parameters"), MLP_ACC),
        _m("mlp_units_128", M, MLP_HIDDEN, MLP_HIDDEN.replace("512", "128"),
           "MLP hidden Dense(128) instead of 512",
           ("mlp_output_shapes", "mlp_parameters"), MLP_ACC),
        _m("cnn_dense_128", M, CNN_DENSE, CNN_DENSE.replace("64", "128"),
           "CNN Dense(128) instead of Dense(64)",
           ("cnn_output_shapes", "cnn_parameters"), CNN_ACC),
        _m("cnn_conv1_16_filters", M, CONV1, CONV1.replace("32", "16"),
           "first Conv2D with 16 filters instead of 32",
           ("cnn_output_shapes", "cnn_parameters"), CNN_ACC),
        _m("cnn_conv3_32_filters", M, CONV3, CONV3.replace("Conv2D(64", "Conv2D(32"),
           "third Conv2D with 32 filters instead of 64",
           ("cnn_output_shapes", "cnn_parameters"), CNN_ACC),
        _m("cnn_conv1_kernel_5x5", M, CONV1, CONV1.replace("(3, 3)", "(5, 5)"),
           "first Conv2D 5x5 instead of 3x3 (padding same: shapes unchanged)",
           ("cnn_parameters",), CNN_ACC,
           "with padding='same' every output shape stays; only the parameters differ"),
        _m("cnn_conv1_valid", M, CONV1, CONV1.replace('"same"', '"valid"'),
           "first Conv2D with padding='valid'",
           ("cnn_output_shapes", "cnn_parameters"), CNN_ACC),
        _m("cnn_conv3_valid", M, CONV3, CONV3.replace('"same"', '"valid"'),
           "third Conv2D with padding='valid'",
           ("cnn_output_shapes", "cnn_parameters"), CNN_ACC),
        _m("cnn_pool1_3x3", M, CONV1_POOL1, CONV1_POOL1.replace("(2, 2)", "(3, 3)"),
           "first MaxPooling2D(3x3) instead of 2x2",
           ("cnn_output_shapes", "cnn_parameters"), CNN_ACC,
           "a size, not a layer type: shapes shrink, so Dense(64) has fewer inputs"),
        # ---- models: hidden activations ---------------------------------------------------
        _m("mlp_hidden_tanh", M, MLP_HIDDEN, MLP_HIDDEN.replace("relu", "tanh"),
           "MLP hidden activation tanh", ("mlp_layers",), MLP_ACC),
        _m("mlp_hidden_sigmoid", M, MLP_HIDDEN, MLP_HIDDEN.replace("relu", "sigmoid"),
           "MLP hidden activation sigmoid", ("mlp_layers",), MLP_ACC),
        _m("mlp_hidden_linear", M, MLP_HIDDEN, "layers.Dense(512),",
           "MLP hidden Dense without activation", ("mlp_layers",), MLP_ACC),
        _m("cnn_conv1_tanh", M, CONV1, CONV1.replace("relu", "tanh"),
           "first Conv2D activation tanh", ("cnn_layers",), CNN_ACC),
        _m("cnn_dense_sigmoid", M, CNN_DENSE, CNN_DENSE.replace("relu", "sigmoid"),
           "CNN hidden Dense activation sigmoid", ("cnn_layers",), CNN_ACC),
        # ---- models: output activation ----------------------------------------------------
        _mlp("mlp_no_softmax", SOFTMAX_OUT, "layers.Dense(num_classes),",
             "MLP output Dense without softmax", ("mlp_softmax_output",),
             why="the output activation is the softmax check's business only"),
        _cnn("cnn_no_softmax", SOFTMAX_OUT, "layers.Dense(num_classes),",
             "CNN output Dense without softmax", ("cnn_softmax_output",)),
        _mlp("mlp_sigmoid_output", SOFTMAX_OUT, SOFTMAX_OUT.replace("softmax", "sigmoid"),
             "MLP output activation sigmoid", ("mlp_softmax_output",)),
        _cnn("cnn_sigmoid_output", SOFTMAX_OUT, SOFTMAX_OUT.replace("softmax", "sigmoid"),
             "CNN output activation sigmoid", ("cnn_softmax_output",)),
        # ---- models: extra and missing layers ----------------------------------------------
        _m("mlp_extra_dense", M, MLP_HIDDEN,
           MLP_HIDDEN + I12 + 'layers.Dense(128, activation="relu"),',
           "MLP with an extra Dense(128, relu)", ("mlp_layers", "mlp_parameters"), MLP_ACC,
           "no reference layer's output shape changes; the output layer's parameters do"),
        _m("cnn_extra_dense", M, CNN_DENSE,
           CNN_DENSE + I12 + 'layers.Dense(128, activation="relu"),',
           "CNN with an extra Dense(128, relu)", ("cnn_layers", "cnn_parameters"), CNN_ACC),
        _m("cnn_drop_conv3", M, CONV3, "layers.Flatten(),",
           "CNN without its third Conv2D", ("cnn_layers", "cnn_parameters"), CNN_ACC,
           "the third Conv2D keeps (7, 7, 64): no other layer's shape changes"),
        _m("cnn_drop_pool1", M, CONV1_POOL1, CONV1,
           "CNN without its first MaxPooling2D",
           ("cnn_layers", "cnn_output_shapes", "cnn_parameters"), CNN_ACC,
           "every later layer's output shape changes, and Dense(64) gets 4x the inputs"),
        _m("cnn_drop_pool2", M, POOL2_CONV3, POOL2_CONV3.replace(POOL + I12, "", 1),
           "CNN without its second MaxPooling2D",
           ("cnn_layers", "cnn_output_shapes", "cnn_parameters"), CNN_ACC,
           "later output shapes change, and Dense(64) gets 4x the inputs"),
        _m("mlp_extra_dropout", M, MLP_HIDDEN, MLP_HIDDEN + I12 + "layers.Dropout(0.2),",
           "MLP with Dropout(0.2) after the hidden layer", ("mlp_layers",), MLP_ACC,
           "a parameter-free, shape-preserving layer: the layer sequence only"),
        _m("cnn_extra_dropout", M, "layers.Flatten(),", "layers.Flatten()," + I12
           + "layers.Dropout(0.5),", "CNN with Dropout(0.5) after Flatten",
           ("cnn_layers",), CNN_ACC),
        _m("mlp_extra_flatten", M, MLP_HIDDEN, "layers.Flatten()," + I12 + MLP_HIDDEN,
           "MLP with a (no-op) Flatten before the hidden layer", ("mlp_layers",), nothing),
        # ---- models: compile ----------------------------------------------------------------
        _mlp("mlp_adam", 'optimizer="rmsprop"', 'optimizer="adam"', "MLP compiled with adam",
             ("mlp_compile",)),
        _cnn("cnn_adam", 'optimizer="rmsprop"', 'optimizer="adam"', "CNN compiled with adam",
             ("cnn_compile",)),
        _cnn("cnn_sgd", 'optimizer="rmsprop"', 'optimizer="sgd"', "CNN compiled with sgd",
             ("cnn_compile",)),
        _mlp("mlp_mse", 'loss="categorical_crossentropy"', 'loss="mse"',
             "MLP loss mse", ("mlp_compile",)),
        _cnn("cnn_binary_crossentropy", 'loss="categorical_crossentropy"',
             'loss="binary_crossentropy"', "CNN loss binary_crossentropy", ("cnn_compile",),
             why="Keras then reads 'accuracy' as binary accuracy, which evaluate() returns "
             "faithfully: a compile deviation, not an evaluate() one"),
        _mlp("mlp_sparse_loss", 'loss="categorical_crossentropy"',
             'loss="sparse_categorical_crossentropy"', "MLP loss sparse_categorical_crossentropy",
             ("mlp_compile", *(c[5:] for c in FIT_RAISES), "mlp_test_accuracy"), nothing,
             "with one-hot labels fit() and evaluate() raise: train() and evaluate() really "
             "fail, and the MLP stays untrained"),
        _mlp("mlp_no_accuracy_metric", ', metrics=["accuracy"]', "",
             "MLP compiled without metrics", ("mlp_compile", "evaluate"), nothing,
             "evaluate()'s `loss, accuracy = model.evaluate(...)` raises on a scalar (as fit "
             "does for the sparse loss); a History without accuracy is compile's fault only"),
        _mlp("mlp_no_compile", "\n    " + COMPILE, "", "MLP never compiled",
             ("mlp_compile", *(c[5:] for c in FIT_RAISES), "mlp_test_accuracy"), nothing,
             "fit() and evaluate() raise on an uncompiled model; the MLP stays untrained"),
        # ---- preprocessing: flatten_and_scale ------------------------------------------------
        _m("flatten_no_scaling", P, FLAT, FLAT.replace(" / 255", ""),
           "flatten_and_scale without / 255", tuple(c[5:] for c in FLATTEN), MLP_ACC),
        _m("flatten_scale_twice", P, FLAT, FLAT + " / 255",
           "flatten_and_scale divides by 255 twice", tuple(c[5:] for c in FLATTEN), MLP_ACC),
        _m("flatten_floor_division", P, FLAT, FLAT.replace(" / 255", " // 255"),
           "flatten_and_scale uses // 255 (pixels become 0 or 1)",
           tuple(c[5:] for c in FLATTEN), MLP_ACC),
        _m("flatten_transpose", P, FLAT,
           FLAT.replace("images.reshape(", "images.transpose(0, 2, 1).reshape("),
           "flatten_and_scale transposes each image before flattening",
           tuple(c[5:] for c in FLATTEN), MLP_ACC),
        _m("flatten_keras_normalize", P, FLAT,
           'return keras.utils.normalize(images.reshape(images.shape[0], num_pixels)'
           '.astype("float32"))',
           "flatten_and_scale with keras.utils.normalize (L2 rows) instead of / 255",
           tuple(c[5:] for c in FLATTEN), MLP_ACC),
        _m("flatten_standardise", P, FLAT,
           'x = images.reshape(images.shape[0], num_pixels).astype("float32")\n'
           "    return (x - x.mean()) / x.std()",
           "flatten_and_scale standardises (mean 0, std 1) instead of / 255",
           tuple(c[5:] for c in FLATTEN), MLP_ACC),
        # ---- preprocessing: reshape_for_cnn --------------------------------------------------
        _m("cnn_no_scaling", P, CNN_RET, CNN_RET.replace(" / 255", ""),
           "reshape_for_cnn without / 255", ("reshape_for_cnn",), CNN_ACC),
        _m("cnn_scale_twice", P, CNN_RET, CNN_RET + " / 255",
           "reshape_for_cnn divides by 255 twice", ("reshape_for_cnn",), CNN_ACC),
        _m("cnn_transpose", P, CNN_RET,
           CNN_RET.replace("images.reshape(", "images.transpose(0, 2, 1).reshape("),
           "reshape_for_cnn transposes each image", ("reshape_for_cnn",), CNN_ACC),
        _m("cnn_channels_first", P, CNN_RET, CNN_RET.replace("(n, height, width, 1)",
                                                             "(n, 1, height, width)"),
           "reshape_for_cnn gives (n, 1, 28, 28)", ("reshape_for_cnn",), CNN_ACC,
           "the grader trains on the reference's images instead; accuracy may then fail"),
        _m("cnn_standardise", P, CNN_RET,
           'x = images.reshape((n, height, width, 1)).astype("float32")\n'
           "    return (x - x.mean()) / x.std()",
           "reshape_for_cnn standardises instead of / 255", ("reshape_for_cnn",), CNN_ACC),
        # ---- preprocessing: one_hot ----------------------------------------------------------
        _m("one_hot_shifted", P, ONE_HOT, ONE_HOT.replace("(labels,", "((labels + 1) % 10,"),
           "one_hot puts the 1 in column (label + 1) % 10", ("one_hot",), nothing,
           "not a one-hot of the training labels: the grader trains on the reference's"),
        _m("one_hot_num_classes_minus_1", P, ONE_HOT,
           ONE_HOT.replace("num_classes)", "num_classes - 1)"),
           "one_hot with num_classes - 1 columns (raises on label 9)", ("one_hot",), nothing),
        _m("one_hot_ints", P, ONE_HOT, ONE_HOT.replace('"float32"', '"int64"'),
           "one_hot returns int64 rows", ("one_hot",), nothing),
        _m("one_hot_returns_labels", P, ONE_HOT, "return labels",
           "one_hot returns the labels unchanged", ("one_hot",), nothing),
        # ---- training: train -----------------------------------------------------------------
        _m("train_ignores_epochs", T, FIT_ARGS, FIT_ARGS.replace("epochs=epochs", "epochs=10"),
           "train hard-codes epochs=10", ("train_honours_budget",), BOTH_ACC),
        _m("train_ignores_batch_size", T, FIT_ARGS,
           FIT_ARGS.replace("batch_size=batch_size", "batch_size=32"),
           "train hard-codes batch_size=32", ("train_honours_budget",), BOTH_ACC),
        _m("train_ignores_validation_split", T, FIT_ARGS,
           FIT_ARGS.replace(" validation_split=validation_split,", ""),
           "train drops validation_split", ("train_honours_budget",), MLP_ACC,
           "the MLP trains on all rows (the quick budget validates on 20%); the History "
           "then has no val_ keys, a consequence of the same deviation"),
        _m("train_returns_model", T, FIT, FIT.replace("return model.fit(", "model.fit(")
           + "    return model\n", "train returns the model", ("train_returns_history",)),
        _m("train_returns_history_dict", T, FIT, FIT.replace("\n    )\n", "\n    ).history\n"),
           "train returns history.history (a dict)", ("train_returns_history",)),
        # ---- training: evaluate --------------------------------------------------------------
        _m("evaluate_swapped", T, "return float(loss), float(accuracy)",
           "return float(accuracy), float(loss)", "evaluate returns (accuracy, loss)",
           ("evaluate",)),
        _m("evaluate_only_loss", T, "return float(loss), float(accuracy)",
           "return float(loss)", "evaluate returns only the loss", ("evaluate",)),
        # ---- training: save / load -----------------------------------------------------------
        _m("save_hardcoded_path", T, "model.save(path)", 'model.save("model.keras")',
           "save writes to a hard-coded path", ("save_load_roundtrip",)),
        _m("load_ignores_path", T, "keras.models.load_model(path)",
           'keras.models.load_model("model.keras")', "load reads a hard-coded path",
           ("save_load_roundtrip",)),
        _m("save_weights_only", T, "model.save(path)",
           'model.save_weights(path.replace(".keras", ".weights.h5"))',
           "save writes the weights only", ("save_load_roundtrip",)),
        # ---- EQUIVALENT: the same solution written another way (must score 100) -------------
        _m("mlp_dense_activation_split", M, MLP_HIDDEN,
           "layers.Dense(512)," + I12 + 'layers.Activation("relu"),',
           "Dense(512) + Activation('relu')"),
        _m("cnn_conv_activation_split", M, CONV1,
           'layers.Conv2D(32, kernel_size=(3, 3), padding="same"),' + I12
           + 'layers.Activation("relu"),', "Conv2D + Activation('relu')"),
        _m("mlp_relu_layer", M, MLP_HIDDEN, "layers.Dense(512)," + I12 + "layers.ReLU(),",
           "Dense(512) + layers.ReLU()"),
        _m("mlp_functional_api", M, MLP_BLOCK,
           "    inputs = keras.Input(shape=(input_dim,))\n"
           '    hidden = layers.Dense(512, activation="relu")(inputs)\n'
           '    outputs = layers.Dense(num_classes, activation="softmax")(hidden)\n'
           "    model = keras.Model(inputs=inputs, outputs=outputs)\n    " + COMPILE,
           "MLP with the functional API"),
        _m("cnn_functional_api", M, CNN_BLOCK,
           "    inputs = keras.Input(shape=input_shape)\n"
           '    x = layers.Conv2D(32, (3, 3), activation="relu", padding="same")(inputs)\n'
           "    x = layers.MaxPooling2D((2, 2))(x)\n"
           '    x = layers.Conv2D(64, (3, 3), activation="relu", padding="same")(x)\n'
           "    x = layers.MaxPooling2D((2, 2))(x)\n"
           '    x = layers.Conv2D(64, (3, 3), activation="relu", padding="same")(x)\n'
           "    x = layers.Flatten()(x)\n"
           '    x = layers.Dense(64, activation="relu")(x)\n'
           '    outputs = layers.Dense(num_classes, activation="softmax")(x)\n'
           "    model = keras.Model(inputs, outputs)\n    " + COMPILE,
           "CNN with the functional API"),
        _m("mlp_input_shape_kwarg", M, MLP_BLOCK, rewrite(
               MLP_BLOCK, ("keras.Input(shape=(input_dim,))," + I12, ""),
               (MLP_HIDDEN, 'layers.Dense(512, activation="relu", input_shape=(input_dim,)),')),
           "Sequential without keras.Input, input_shape= on the first layer"),
        _m("mlp_unbuilt_sequential", M, MLP_BLOCK, rewrite(
               MLP_BLOCK, ("keras.Input(shape=(input_dim,))," + I12, "")),
           "Sequential without any input (unbuilt until fit, as in Deep Learning with Python)"),
        _m("mlp_tf_nn_activations", M, MLP_BLOCK, "    import tensorflow as tf\n\n" + rewrite(
               MLP_BLOCK, ('activation="relu"', "activation=tf.nn.relu"),
               ('activation="softmax"', "activation=tf.nn.softmax")),
           "activation=tf.nn.relu / tf.nn.softmax", expect=("save_load_roundtrip",),
           why="graded like 'relu'/'softmax'; but Keras 3's own load_model cannot read the "
               "function softmax_v2 back, so the student's load() really fails"),
        _mlp("mlp_loss_object", 'loss="categorical_crossentropy"',
             "loss=keras.losses.CategoricalCrossentropy()",
             "loss=keras.losses.CategoricalCrossentropy()", may=nothing),
        _cnn("cnn_loss_function", 'loss="categorical_crossentropy"',
             "loss=keras.losses.categorical_crossentropy",
             "loss=keras.losses.categorical_crossentropy", may=nothing),
        _mlp("mlp_metric_object", 'metrics=["accuracy"]',
             "metrics=[keras.metrics.CategoricalAccuracy()]",
             "metrics=[keras.metrics.CategoricalAccuracy()]", may=nothing),
        _cnn("cnn_optimizer_object", 'optimizer="rmsprop"',
             "optimizer=keras.optimizers.RMSprop()", "optimizer=keras.optimizers.RMSprop()",
             may=nothing),
        _m("flatten_float64", P, FLAT_BODY, "    return images.reshape(-1, 784) / 255.0",
           "images.reshape(-1, 784) / 255.0 (float64)"),
        _m("one_hot_np_eye", P, ONE_HOT, 'return np.eye(num_classes, dtype="float32")[labels]',
           "one_hot with np.eye"),
        _m("one_hot_float64", P, ONE_HOT, "return keras.utils.to_categorical(labels, num_classes)",
           "one_hot as to_categorical's float64"),
        _m("fit_kwargs_reordered", T, FIT_ARGS,
           "x=x, y=y, verbose=2, validation_split=validation_split, batch_size=batch_size, "
           "epochs=epochs", "model.fit with keyword arguments in another order"),
        _m("fit_verbose_0", T, FIT_ARGS, FIT_ARGS.replace("verbose=2", "verbose=0"),
           "model.fit(verbose=0)"),
        _m("evaluate_return_dict", T, EVALUATE,
           "    result = model.evaluate(x, y, verbose=0, return_dict=True)\n"
           '    return float(result["loss"]), float(result["accuracy"])',
           "evaluate via return_dict=True, turned into a tuple"),
        _m("save_keras_saving", T, "model.save(path)", "keras.saving.save_model(model, path)",
           "save with keras.saving.save_model"),
        _m("load_keras_saving", T, "keras.models.load_model(path)",
           "keras.saving.load_model(path)", "load with keras.saving.load_model"),
        _m("load_compile_false", T, "keras.models.load_model(path)",
           "keras.models.load_model(path, compile=False)", "load_model(path, compile=False)"),
    ]  # fmt: skip
    for mutant in mutants:
        if mutant.module not in MODULES:
            raise MutationError(f"{mutant.name}: unknown module {mutant.module!r}")
        if mutant.equivalent and mutant.may_fail:
            raise MutationError(f"{mutant.name}: an equivalent mutant has nothing that may fail")
        if mutant.expect_failed & mutant.may_fail:
            raise MutationError(f"{mutant.name}: a check both expected and allowed to fail")
    return tuple(mutants)


CATALOGUE: tuple[Mutant, ...] = _catalogue()


# ---- grading and verdicts ---------------------------------------------------------------
@dataclass(frozen=True)
class Outcome:
    """What the grader did with one mutant, and the verdict."""

    mutant: Mutant | None
    """None for the unmutated reference."""
    name: str
    status: str
    score: float
    max_score: float
    failed: frozenset[str]
    verdict: str
    extra: frozenset[str] = frozenset()
    """Failed, but neither expected nor allowed to fail."""
    missing: frozenset[str] = frozenset()
    """Expected to fail, but passed."""
    feedback: dict[str, str] = field(default_factory=dict)
    status_detail: str = ""
    """Why the sandboxed run did not end `ok` (then the verdict says little about the checks)."""


def verdict(mutant: Mutant | None, failed: frozenset[str]) -> tuple[str, frozenset, frozenset]:
    """(verdict, extra, missing) of a mutant (None: the reference) that failed `failed`."""
    if mutant is None or mutant.equivalent:
        return ("equivalent-lost" if failed else "equivalent-ok"), failed, frozenset()
    if not failed:
        return "survived", frozenset(), mutant.expect_failed
    extra = failed - mutant.expect_failed - mutant.may_fail
    missing = mutant.expect_failed - failed
    return ("killed-other" if extra or missing else "killed-as-expected"), extra, missing


def write_submissions(dest: Path, mutants: Iterable[Mutant]) -> list[Path]:
    """One folder per mutant (plus the unmutated reference) under `dest`."""
    ref = reference_code()
    entries = []
    for name, code in [(BASELINE, ref), *((m.name, m.apply(ref)) for m in mutants)]:
        folder = dest / name
        folder.mkdir(parents=True)
        for module, text in code.items():
            (folder / f"{module}.py").write_text(text)
        entries.append(folder)
    return entries


def run(
    mutants: Sequence[Mutant], out: Path, *, workers: int = 2, budget: str = "quick",
    progress=None,
) -> list[Outcome]:  # fmt: skip
    """Grade the reference and every mutant in one grade() call; the outcomes, in order."""
    from grader.pipeline import GradeRequest, grade
    from grader.report.results import max_score, score

    out = Path(out)
    shutil.rmtree(out / "submissions", ignore_errors=True)  # ours: rewritten every run
    submissions = write_submissions(out / "submissions", mutants)
    graded = grade(
        GradeRequest(
            submissions=submissions, out=out / "graded", assignment="mnist", budget=budget,
            workers=workers,
        ),
        progress=progress,
    )
    results = {r.id: r for r in graded.results}
    outcomes = []
    for mutant in [None, *mutants]:
        name = BASELINE if mutant is None else mutant.name
        result = results[name]
        failed = frozenset(c.name for c in result.checks if not c.passed)
        kind, extra, missing = verdict(mutant, failed)
        feedback = {c.name: c.feedback for c in result.checks if c.name in failed}
        outcomes.append(
            Outcome(mutant, name, result.status, score(result), max_score(result), failed,
                    kind, extra, missing, feedback, result.status_detail)
        )  # fmt: skip
    return outcomes


VERDICTS = ("killed-as-expected", "killed-other", "survived", "equivalent-ok", "equivalent-lost")


def summary(outcomes: Sequence[Outcome]) -> dict:
    mutants = [o for o in outcomes if o.mutant is not None]
    counts = {v: sum(o.verdict == v for o in mutants) for v in VERDICTS}
    non_equivalent = sum(not o.mutant.equivalent for o in mutants)
    killed = counts["killed-as-expected"] + counts["killed-other"]
    baseline = next((o for o in outcomes if o.mutant is None), None)
    return {
        "mutants": len(mutants),
        "non_equivalent": non_equivalent,
        "equivalent": len(mutants) - non_equivalent,
        "counts": counts,
        "mutation_score": killed / non_equivalent if non_equivalent else None,
        "row_exact": counts["killed-as-expected"] / non_equivalent if non_equivalent else None,
        "reference_score": baseline.score if baseline else None,
        "not_ok": {o.name: o.status for o in outcomes if o.status != "ok"},
    }


def _short(names: Iterable[str]) -> str:
    return ", ".join(sorted(n.removeprefix("test_") for n in names)) or "-"


def _expected_row(mutant: Mutant | None) -> str:
    if mutant is None or mutant.equivalent:
        return "(equivalent: 100)"
    row = _short(mutant.expect_failed)
    return row + (f" [may: {_short(mutant.may_fail)}]" if mutant.may_fail else "")


def markdown(outcomes: Sequence[Outcome], *, budget: str = "quick", seconds: float = 0) -> str:
    s = summary(outcomes)
    c = s["counts"]
    pct = lambda x: "n/a" if x is None else f"{x:.1%}"  # noqa: E731
    lines = [
        f"# Mutation score ({s['mutants']} mutants, budget {budget}"
        + (f", {seconds:.0f} s" if seconds else "") + ")",
        "",
        f"- non-equivalent: {s['non_equivalent']}; **mutation score "
        f"{pct(s['mutation_score'])}** (killed {c['killed-as-expected'] + c['killed-other']}: "
        f"as expected {c['killed-as-expected']}, other {c['killed-other']}; survived "
        f"{c['survived']}); **row-exact {pct(s['row_exact'])}**",
        f"- equivalent: {s['equivalent']}; at 100: {c['equivalent-ok']}, lost points: "
        f"{c['equivalent-lost']}",
        f"- unmutated reference: {s['reference_score']}",
        f"- runs not ending ok (sandbox status): {len(s['not_ok'])}"
        + (f" ({', '.join(sorted(s['not_ok']))})" if s["not_ok"] else ""),
        "",
        "| mutant | what | expected row | failed | score | verdict |",
        "|---|---|---|---|---:|---|",
    ]  # fmt: skip
    for o in outcomes:
        what = o.mutant.what if o.mutant else "the reference itself"
        kind = o.verdict
        if o.extra:
            kind += f"; extra: {_short(o.extra)}"
        if o.missing:
            kind += f"; missing: {_short(o.missing)}"
        if o.status != "ok":
            kind += f"; status {o.status}"
        lines.append(f"| {o.name} | {what} | {_expected_row(o.mutant)} | {_short(o.failed)} "
                     f"| {o.score:g} | {kind} |")  # fmt: skip
    off = [o for o in outcomes if o.verdict not in ("killed-as-expected", "equivalent-ok")]
    if off:
        lines += ["", "## Not as expected", ""]
        for o in off:
            detail = []
            if o.extra:
                detail.append(f"extra {_short(o.extra)}")
            if o.missing:
                detail.append(f"missing {_short(o.missing)}")
            lines.append(f"- **{o.name}** ({o.verdict}): {'; '.join(detail) or '-'}")
            if o.status != "ok":
                lines.append(f"  - status {o.status}: {o.status_detail[:200]}")
                continue
            for name in sorted(o.extra):
                first = o.feedback.get(name, "").strip().splitlines()[:1]
                if first:
                    lines.append(f"  - {name.removeprefix('test_')}: {first[0][:200]}")
    return "\n".join(lines) + "\n"


def to_json(outcomes: Sequence[Outcome]) -> dict:
    rows = []
    for o in outcomes:
        m = o.mutant
        rows.append({
            "name": o.name,
            "module": m.module if m else None,
            "what": m.what if m else "the reference itself",
            "equivalent": m.equivalent if m else True,
            "expect_failed": sorted(m.expect_failed) if m else [],
            "may_fail": sorted(m.may_fail) if m else [],
            "failed": sorted(o.failed),
            "extra": sorted(o.extra),
            "missing": sorted(o.missing),
            "status": o.status,
            "status_detail": o.status_detail,
            "score": o.score,
            "max_score": o.max_score,
            "verdict": o.verdict,
            "feedback": o.feedback,
        })  # fmt: skip
    return {"summary": summary(outcomes), "mutants": rows}


def select(only: str | None) -> list[Mutant]:
    if not only:
        return list(CATALOGUE)
    by_name = {m.name: m for m in CATALOGUE}
    names = [n.strip() for n in only.split(",") if n.strip()]
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise SystemExit(f"mutation: unknown mutants {unknown} (--list shows them)")
    return [by_name[n] for n in names]


def check_catalogue(mutants: Iterable[Mutant] = CATALOGUE) -> None:
    """Every mutation applies exactly once and leaves Python that parses."""
    ref = reference_code()
    for mutant in mutants:
        code = mutant.apply(ref)
        ast.parse(code[mutant.module], filename=f"{mutant.name}/{mutant.module}.py")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", help="comma-separated mutant names")
    parser.add_argument("--list", action="store_true", help="print the catalogue and exit")
    parser.add_argument("--json", type=Path, help="write the outcomes as JSON")
    parser.add_argument("--markdown", type=Path, help="write the table as Markdown")
    parser.add_argument("--out", type=Path, help="grading directory (default: a temp dir)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--budget", default="quick")
    args = parser.parse_args(argv)

    mutants = select(args.only)
    check_catalogue(mutants)
    if args.list:
        for m in mutants:
            print(f"{m.name:32} {m.module:13} {_expected_row(m)}")
        equivalent = sum(m.equivalent for m in mutants)
        print(f"{len(mutants)} mutants: {len(mutants) - equivalent} non-equivalent, "
              f"{equivalent} equivalent")  # fmt: skip
        return 0

    from grader.progress import PlainProgress

    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="mutation-") as tmp:
        out = args.out or Path(tmp)
        outcomes = run(mutants, out, workers=args.workers, budget=args.budget,
                       progress=PlainProgress(sys.stderr))  # fmt: skip
    seconds = time.monotonic() - started
    text = markdown(outcomes, budget=args.budget, seconds=seconds)
    print(text)
    if args.markdown:
        args.markdown.write_text(text)
    if args.json:
        args.json.write_text(json.dumps(to_json(outcomes), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
