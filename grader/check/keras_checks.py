"""Keras-aware assertions the checks are made of. Expected values always come from the
reference's artifacts (same inputs, same budget), never from constants here.

Each function fails the calling check with feedback that says what was expected and what
the submission did, in plain words, with a layer table for architecture problems.
"""

from __future__ import annotations

import dataclasses
import math
import os

import numpy as np

from grader.check import checking
from grader.check.architecture import (
    active_steps,
    canonical_layers,
    compare,
    input_shape,
    output_activation,
)
from grader.check.artifacts import ArtifactError
from grader.check.checking import (
    CheckFailure,
    RunView,
    check_array_contract,
    fail,
    infer,
    note,
    partial,
)
from grader.check.compile_settings import (
    accuracy_metrics,
    error_metrics,
    loss_setting,
    metric_settings,
    optimizer_setting,
)
from grader.check.feedback import warning_hints
from grader.check.keras_file import same_weights
from grader.report.results import linear_credit

PROBE = 64
"""Rows used to compare predictions (softmax, save/load)."""


# ---- preprocessing ----------------------------------------------------------------------
def check_preprocessed(student: RunView, reference: RunView, call: str, what: str) -> None:
    """A preprocessing output: exact ndarray, shape, float dtype, [0, 1], close to reference."""
    function = call.split(":")[0]
    ref_info, ref_array = reference.output(call)
    info, array = student.output(call)
    check_array_contract(info, array, function, tuple(ref_info["shape"]))
    low, high = info.get("min", 0.0), info.get("max", 0.0)
    if not info.get("finite", True):
        fail(f"{function}() returned NaN or infinite values.")
    expected = ref_array[: len(array)].astype(np.float64)
    if high > 1.0 + 1e-6 or low < -1e-6:
        hint = " Divide the pixel values by 255." if high > 1.5 and low >= -1e-6 else ""
        if low < -1e-6:
            hint = " " + _diagnose(array.astype(np.float64), expected)
        fail(f"{function}() returned values from {low:g} to {high:g}; expected [0, 1].{hint}")
    diff = np.abs(array.astype(np.float64) - expected)
    if diff.max(initial=0.0) > 1e-5:
        bad = int((diff > 1e-5).sum())
        fail(
            f"{function}() has the right shape and range, but {bad} of {diff.size} values differ "
            f"from {what} (largest difference {diff.max():.3g}). "
            + _diagnose(array.astype(np.float64), expected)
        )


def check_matches_reference(
    student: RunView, reference: RunView, call: str, what: str, rtol: float = 3e-3
) -> None:
    """A preprocessing output of any shape and range: exact ndarray, the reference's shape,
    floats, finite, and each value within `rtol` of the reference's (relative; the default
    accepts a standard deviation taken with n - 1, as pandas does, where the reference takes
    it with n). `what` says what the values should be, for the feedback."""
    function = call.split(":")[0]
    ref_info, ref_array = reference.output(call)
    info, array = student.output(call)
    check_array_contract(info, array, function, tuple(ref_info["shape"]))
    if not info.get("finite", True):
        fail(f"{function}() returned NaN or infinite values.")
    expected = ref_array[: len(array)].astype(np.float64)
    scale = max(float(np.abs(expected).max(initial=0.0)), 1.0)
    diff = np.abs(array.astype(np.float64) - expected)
    wrong = diff > rtol * np.abs(expected) + 1e-5 * scale
    if wrong.any():
        bad = int(wrong.sum())
        fail(
            f"{function}() has the right shape, but {bad} of {diff.size} values differ from "
            f"{what} (largest difference {diff.max():.3g})."
        )


def _diagnose(actual: np.ndarray, expected: np.ndarray) -> str:
    """What the student's preprocessing did instead of pixel / 255, in the common cases:
    scaled twice, standardised, normalised row by row (keras.utils.normalize), transposed."""
    flat_a = actual.reshape(len(actual), -1)
    flat_e = expected.reshape(len(expected), -1)
    if np.allclose(flat_a * 255, flat_e, atol=1e-5):
        return "The values are pixel / 255 / 255: the images were scaled twice; divide once."
    mean, std = float(flat_a.mean()), float(flat_a.std())
    if abs(mean) < 0.05 and abs(std - 1) < 0.25:
        return (
            "The values look standardised (mean 0, standard deviation 1): the assignment "
            "wants each pixel divided by 255, nothing subtracted."
        )
    side = int(round(flat_e.shape[1] ** 0.5))
    if side * side == flat_e.shape[1] and side > 1:
        transposed = flat_e.reshape(len(flat_e), side, side).transpose(0, 2, 1)
        if np.allclose(flat_a, transposed.reshape(len(flat_e), -1), atol=1e-5):
            return (
                "Each image is transposed (rows and columns swapped): use reshape, not "
                "transpose (or .T), to keep the pixels in their original order."
            )
    for rows in (flat_e.reshape(len(flat_e), -1, side) if side > 1 else None, flat_e[:, None]):
        if rows is None:
            continue
        norms = np.linalg.norm(rows, axis=-1, keepdims=True)
        normalised = np.divide(rows, norms, out=np.zeros_like(rows), where=norms > 0)
        if np.allclose(flat_a, normalised.reshape(len(flat_e), -1), atol=1e-4):
            return (
                "The values are normalised row by row to length 1 (keras.utils.normalize "
                "does this), not scaled: divide the pixel values by 255 instead."
            )
    return "Are the pixels in their original order (reshape, not transpose), divided by 255?"


def check_categorical(student: RunView, reference: RunView, call: str) -> None:
    """A call that encodes labels as one-hot rows: exact ndarray, (n, classes), floats,
    exactly one 1 per row, in the label's column (the reference's encoding)."""
    function = call.split(":")[0]
    ref_info, ref_array = reference.output(call)
    info, array = student.output(call)
    shape = tuple(info.get("shape", ()))
    expected_shape = tuple(ref_info["shape"])
    if info.get("exact_ndarray") and len(shape) == 1 and shape[0] == expected_shape[0]:
        fail(
            f"{function}() returned shape {shape}: the labels, not one-hot rows. Expected "
            f"{expected_shape}: one row per label with 1.0 in the label's column, 0.0 elsewhere "
            "(keras.utils.to_categorical does this)."
        )
    check_array_contract(
        info, array, function, expected_shape,
        dtype_hint="one-hot rows are floats: keras.utils.to_categorical(labels, num_classes) "
        "gives them, or add .astype('float32')",
    )  # fmt: skip
    if not np.isin(array, (0.0, 1.0)).all() or not (array.sum(axis=1) == 1).all():
        fail(f"{function}() rows must hold exactly one 1.0 and zeros elsewhere; some rows do not.")
    labels = ref_array.argmax(axis=1)
    wrong = np.flatnonzero(array.argmax(axis=1) != labels)
    if wrong.size:
        i = int(wrong[0])
        fail(
            f"{function}() puts the 1.0 in the wrong column for {wrong.size} labels: label "
            f"{labels[i]} became a 1 in column {int(array[i].argmax())}."
        )


# ---- architecture -----------------------------------------------------------------------
def _layers(student: RunView, reference: RunView, kind: str):
    return canonical_layers(reference.model(kind)), canonical_layers(student.model(kind))


def _your_layer(actual: tuple, layer) -> str:
    """`your layer 3, Dense(128, relu)`: where a student finds it in their own model."""
    position = next(i for i, a in enumerate(actual, start=1) if a is layer)
    return f"your layer {position}, {layer.kind}"


def check_input_shape(student: RunView, reference: RunView, kind: str) -> None:
    expected = input_shape(reference.model(kind))
    actual = input_shape(student.model(kind))
    if expected != actual:
        for hint in warning_hints(student.call(student.builder(kind)), input_shape=expected):
            note(f"Hint: {hint}")
        fail(f"your {kind.upper()} takes inputs of shape {actual}; expected {expected}.")


def _without_output_activation(layers: tuple) -> tuple:
    """The sequence with the last step's activation blanked: the output activation is the
    softmax check's business, so a missing softmax is not charged twice."""
    if not layers:
        return layers
    return (*layers[:-1], dataclasses.replace(layers[-1], activation=""))


def check_layer_sequence(student: RunView, reference: RunView, kind: str) -> None:
    expected, actual = _layers(student, reference, kind)
    # Types and hidden activations only: sizes are the output-shape and parameter checks'
    # business, and the output activation the softmax check's, so one deviation costs one
    # check. The sequences are aligned, so an extra or missing layer shows once, in place.
    rows = compare(
        _without_output_activation(expected),
        _without_output_activation(actual),
        ("layer_type", "activation"),
    )
    first = next((r for r in rows if r.first_divergence), None)
    if first is None:
        return
    table = compare(expected, actual)
    extra = [r.actual for r in rows if r.expected is None]
    missing = [r.expected for r in rows if r.actual is None]
    if first.actual is None:
        what = f"the reference has {first.expected.kind} there, and your model has no such layer"
    elif first.expected is None:
        what = f"{_your_layer(actual, _find(actual, first.actual))} is extra"
    else:
        mine = _find(actual, first.actual)
        what = f"expected {_find(expected, first.expected).kind}, {_your_layer(actual, mine)}"
    counts = []
    if extra:
        counts.append(f"{len(extra)} extra")
    if missing:
        counts.append(f"{len(missing)} missing")
    several = len(extra) + len(missing) > 1
    summary = f" ({' and '.join(counts)} in all)" if several else ""
    fail(
        f"the {kind.upper()}'s layers differ at layer {first.position}: {what}{summary} "
        "(compared: layer types and hidden activations).",
        table,
    )


def _find(layers: tuple, layer):
    """The original step behind a (possibly activation-blanked) copy."""
    for original in layers:
        if original is layer or (
            original.kind == layer.kind
            and original.output_shape == layer.output_shape
            and original.params == layer.params
        ):
            return original
    for original in layers:  # the last step, with its activation blanked
        if original.layer_type == layer.layer_type and original.params == layer.params:
            return original
    return layer


def check_output_shapes(student: RunView, reference: RunView, kind: str) -> None:
    expected, actual = _layers(student, reference, kind)
    table = compare(expected, actual)
    # Layers that compute nothing new (Dropout and the like) and unpaired layers are the
    # layer sequence's business: compare the shapes of the paired layers that compute.
    active_actual = active_steps(actual)
    for row in compare(active_steps(expected), active_actual, ("output_shape",)):
        if row.matches or row.expected is None or row.actual is None:
            continue
        hint = ""
        if (
            "Conv2D" in row.actual.kind
            and "same" not in row.actual.kind
            and "same" in (row.expected.kind or "")
        ):
            hint = (
                " Without padding='same' each 3x3 convolution trims a pixel from every "
                "border, so the images shrink."
            )
        fail(
            f"after {_your_layer(actual, row.actual)}, the {kind.upper()}'s output shape is "
            f"{row.actual.output_shape}; expected {row.expected.output_shape}.{hint}",
            table,
        )


def check_parameters(student: RunView, reference: RunView, kind: str) -> None:
    expected, actual = _layers(student, reference, kind)
    table = compare(expected, actual)
    total_exp = sum(layer.params for layer in expected)
    total_act = sum(layer.params for layer in actual)
    rows = compare(active_steps(expected), active_steps(actual), ("params",))
    for row in rows:
        if row.matches or row.expected is None or row.actual is None:
            continue
        fail(
            f"{_your_layer(actual, row.actual)}, has {row.actual.params:,} parameters; the "
            f"reference's {row.expected.kind} has {row.expected.params:,}. In all: "
            f"{total_act:,} vs {total_exp:,}.",
            table,
        )
    if total_act != total_exp:
        extra = [r.actual for r in rows if r.expected is None and r.actual.params]
        missing = [r.expected for r in rows if r.actual is None and r.expected.params]
        parts = [f"{_your_layer(actual, layer)}, is extra ({layer.params:,} parameters)"
                 for layer in extra]  # fmt: skip
        parts += [f"the reference's {layer.kind} ({layer.params:,} parameters) is missing"
                  for layer in missing]  # fmt: skip
        why = f": {'; '.join(parts)}" if parts else ""
        fail(
            f"the {kind.upper()} has {total_act:,} parameters in all; the reference has "
            f"{total_exp:,}{why}.",
            table,
        )


def check_softmax_output(student: RunView, reference: RunView, kind: str) -> None:
    model = student.model(kind)
    activation = output_activation(model)
    expected = output_activation(reference.model(kind))
    if activation != expected:
        fail(
            f"the {kind.upper()} ends with activation {activation or 'none (linear)'}; expected "
            f"{expected}, so each output row is a probability distribution over the classes."
        )
    try:
        outputs = infer(model, reference.test_inputs(kind)[:PROBE])
    except Exception as exc:  # noqa: BLE001 - a model of another input shape
        try:  # the student's own pipeline may be consistent: their own test inputs
            outputs = infer(model, student.test_inputs(kind)[:PROBE])
        except Exception:  # noqa: BLE001
            fail(f"the {kind.upper()} cannot predict a batch of test {checking.EXAMPLES}: {exc}")
    # float16 outputs (a mixed_float16 policy) sum to 1 only to float16's precision.
    tolerance = 5e-3 if np.asarray(outputs).dtype.itemsize < 4 else 1e-4
    probs = np.asarray(outputs, dtype=np.float64)
    if (
        probs.ndim != 2
        or (probs < -tolerance).any()
        or not np.allclose(probs.sum(axis=1), 1, atol=tolerance)
    ):
        fail(f"the {kind.upper()}'s output rows are not probabilities summing to 1.")


def check_output_activation(student: RunView, reference: RunView, kind: str) -> None:
    """The model ends as its task kind wants: a softmax over the classes (multiclass), one
    sigmoid unit (binary), one linear unit (regression); its outputs have that form."""
    task = student.task(kind)
    if task.name == "multiclass":
        check_softmax_output(student, reference, kind)
        return
    model = student.model(kind)
    activation = _plain(output_activation(model))
    expected = _plain(output_activation(reference.model(kind)))
    units = _output_units(model)
    if task.name == "binary" and activation == "softmax":
        fail(
            f"the {kind.upper()} ends with a softmax over {units or 'its'} units. This is a "
            "binary task: the grader expects one sigmoid unit, Dense(1, activation='sigmoid'), "
            "whose output is the probability of class 1, trained with binary_crossentropy on "
            "labels 0/1. (A softmax over 2 units with one-hot labels is the same model spelled "
            "as a multi-class one; a softmax over 1 unit always outputs 1.0 and learns nothing.)"
        )
    if activation != expected:
        said = {None: "none (linear)"}.get(activation, activation)
        fail(f"the {kind.upper()} ends with activation {said}; expected {task.output}.")
    try:
        outputs = np.asarray(infer(model, reference.test_inputs(kind)[:PROBE]), np.float64)
    except Exception:  # noqa: BLE001 - a model of another input shape
        try:  # the student's own pipeline may be consistent: their own test inputs
            outputs = np.asarray(infer(model, student.test_inputs(kind)[:PROBE]), np.float64)
        except Exception as exc:  # noqa: BLE001
            fail(f"the {kind.upper()} cannot predict a batch of test inputs: {exc}")
    if not task.fits(outputs, len(outputs)) or outputs.ndim != 2 or outputs.shape[1] != 1:
        fail(
            f"the {kind.upper()} outputs {outputs.shape[1:]} per example; a {task.name} model "
            f"outputs one value: {task.output}."
        )
    if not np.isfinite(outputs).all():
        fail(f"the {kind.upper()}'s outputs are NaN or infinite.")
    if task.name == "binary" and ((outputs < -1e-4).any() or (outputs > 1 + 1e-4).any()):
        fail(f"the {kind.upper()}'s outputs are not probabilities between 0 and 1.")


def _plain(activation: str | None) -> str | None:
    """`linear` is no activation."""
    return None if activation in (None, "", "linear") else activation


def _output_units(model) -> int | None:
    try:
        return int(model.outputs[0].shape[-1])
    except Exception:  # noqa: BLE001 - a model without symbolic outputs
        return None


def _compile_config(run: RunView, kind: str) -> dict:
    """The compile settings of the model its builder returned, read on the trusted side
    from the Keras model file saved right after the build ({} when it was not compiled).

    Raises:
        CheckFailure: there is no readable file (the reason says why).
    """
    run.require(run.builder(kind))
    try:
        config = run.keras_file(kind, "built").compile_config
    except ArtifactError as exc:
        fail(
            f"the grader could not read the {kind.upper()}'s compile settings from the model "
            f"file saved after {run.builder(kind)}(): {exc}"
        )
    return dict(config or {})


def check_compile(student: RunView, reference: RunView, kind: str) -> None:
    mine, ref = _compile_config(student, kind), _compile_config(reference, kind)
    if not mine.get("optimizer"):
        builder = student.builder(kind)
        fail(f"{builder}() returned a model that is not compiled: call model.compile(...).")
    loss, ref_loss = loss_setting(mine.get("loss")), loss_setting(ref.get("loss"))
    problems = []
    if loss.name != ref_loss.name:
        why = ""
        task = student.task(kind)
        if loss.name == "sparse_categorical_crossentropy" and task.name == "multiclass":
            why = " (the sparse loss expects integer labels; with one-hot labels use the other)"
        elif task.name != "multiclass" and loss.name not in task.loss_family:
            why = {
                "binary": " (one sigmoid unit and labels 0/1: the binary cross-entropy)",
                "regression": " (a regression minimises the mean squared error)",
            }[task.name]
        problems.append(f"loss is {loss.describe()}; expected {ref_loss.name}{why}")
    elif loss.from_logits and not ref_loss.from_logits:
        try:
            ending = output_activation(student.model(kind))
        except CheckFailure:
            ending = None
        if ending in ("softmax", "sigmoid"):  # logits expected, probabilities given
            problems.append(
                f"the loss has from_logits=True, but the model already ends in {ending}, so "
                "the loss applies it a second time: drop from_logits=True"
            )
    optimizer, _ = optimizer_setting(mine.get("optimizer"))
    ref_optimizer, _ = optimizer_setting(ref.get("optimizer"))
    if optimizer != ref_optimizer:
        problems.append(f"optimizer is {optimizer}; expected {ref_optimizer}")
    metrics = metric_settings(mine.get("metrics"))
    if student.task(kind).name == "regression":
        if not error_metrics(mine.get("metrics")):
            has = f" (it has {', '.join(m.key for m in metrics)})" if metrics else ""
            problems.append(f"no mean absolute error metric{has}: compile with metrics=['mae']")
    elif not accuracy_metrics(mine.get("metrics")):
        if any(m.family == "exact_accuracy" for m in metrics):
            problems.append(
                "keras.metrics.Accuracy() counts outputs exactly equal to the labels, which "
                "probabilities never are: use metrics=['accuracy'] (or "
                "keras.metrics.CategoricalAccuracy())"
            )
        else:
            has = f" (it has {', '.join(m.key for m in metrics)})" if metrics else ""
            problems.append(f"no accuracy metric{has}: compile with metrics=['accuracy']")
    if problems:
        fail(f"the {kind.upper()} is compiled differently: " + "; ".join(problems) + ".")


# ---- training ---------------------------------------------------------------------------
def each_model(student: RunView, kinds, check) -> None:
    """Run `check(kind)` for each model the student's builders gave; a model whose builder
    failed is that builder's checks' business, so the training checks use the other one.
    Fails with the builder's reason when there is no model of theirs at all."""
    graded, missing = [], {}
    for kind in kinds:
        trained = student.call(f"train:{kind}")
        if student.call(student.builder(kind)).get("status") != "ok":
            missing[kind] = f"{student.builder(kind)}() gave no model to train"
        elif trained.get("status") == "skipped":
            missing[kind] = str(trained.get("why") or "it was not trained")
        else:
            graded.append(kind)
    if not graded:
        kind = kinds[0]
        student.require(student.builder(kind))  # fails, saying why
        student.require(f"train:{kind}")
    for why in missing.values():
        note(f"checked on the {', '.join(k.upper() for k in graded)} only: {why}.")
    for kind in graded:
        check(kind)


def _accuracy_keys(student: RunView, kind: str) -> list[str]:
    """The History keys of the compiled metrics that measure the task's metric (accuracy;
    the mean absolute error for a regression)."""
    try:
        config = _compile_config(student, kind)
    except CheckFailure:
        return []  # the compile check says why; the History is judged on its loss
    wanted = error_metrics if student.task(kind).name == "regression" else accuracy_metrics
    return [m.key for m in wanted(config.get("metrics"))]


def optimizer_steps(run: RunView, kind: str) -> int | None:
    """Optimizer steps taken in train(), from the optimizer state saved with the trained
    model (trusted side), after checking that file holds the trained weights. A check kit's
    reference has no trained model: its step count was kept when the kit was built."""
    known = run.expected.get("steps", {}).get(kind)
    if known is not None:
        return int(known)
    try:
        saved = run.keras_file(kind, "trained")
        steps = saved.iterations()
        trained = run.artifacts.arrays(run.model_facts(kind)["trained"]["weights"])
    except (ArtifactError, KeyError, TypeError) as exc:
        fail(f"the grader could not read the {kind.upper()}'s training state: {exc}")
    if not same_weights(saved.layer_arrays(), list(trained.values())):
        fail(
            f"the {kind.upper()}'s saved training state does not hold the trained model's "
            "weights, so its step count cannot be trusted."
        )
    return steps


def check_history(student: RunView, kind: str, epochs: int, validation: bool) -> None:
    """train() returned the History: the loss and every compiled accuracy metric, per epoch.
    How many epochs, and whether there are validation series, is the budget check's."""
    student.require(f"train:{kind}")
    facts = student.model_facts(kind)
    kind_name = str(facts.get("history_type", ""))
    if not kind_name.endswith(".History"):
        short = kind_name.rsplit(".", 1)[-1] or "nothing"
        fail(
            f"train() returned {short}, not a keras.callbacks.History: return the value of "
            "model.fit(...)."
        )
    history = facts.get("history") or {}
    wanted = ["loss", *_accuracy_keys(student, kind)]
    missing = [k for k in wanted if k not in history]
    if missing:
        fail(f"the {kind.upper()}'s History has no {', '.join(missing)} (it has: "
             f"{', '.join(sorted(history)) or 'nothing'}).")  # fmt: skip
    lengths = {len(v) for v in history.values()}
    if len(lengths) > 1 or 0 in lengths:
        fail(f"the {kind.upper()}'s History does not hold one value per epoch for every series.")


def check_budget(student: RunView, reference: RunView, kind: str, spec) -> None:
    """train() used the grader's epochs, batch_size and validation_split, all three."""
    student.require(f"train:{kind}")
    facts = student.model_facts(kind)
    steps = optimizer_steps(student, kind)
    skipped = facts.get("skipped_steps")
    if isinstance(steps, int) and isinstance(skipped, int) and 0 < skipped < 64:
        steps += skipped  # mixed precision's loss scaling skipped them: they were taken
        note(f"{skipped} of the {kind.upper()}'s steps were skipped by mixed-precision loss "
             "scaling (non-finite gradients); they count as taken.")  # fmt: skip
    expected = optimizer_steps(reference, kind)
    asked = (
        f"epochs={spec.epochs}, batch_size={spec.batch_size}, "
        f"validation_split={spec.validation_split:g}"
    )
    history = facts.get("history") if isinstance(facts.get("history"), dict) else {}
    epochs = {len(v) for v in history.values() if isinstance(v, list)}
    if epochs and epochs != {spec.epochs}:
        fail(
            f"the {kind.upper()} trained for {max(epochs)} epochs; the grader asked for "
            f"{asked}. Pass epochs through to model.fit()."
        )
    loop = facts.get("loop") if isinstance(facts.get("loop"), dict) else None
    if loop and loop.get("optimizer") is None:
        fail(
            f"train() trained the {kind.upper()} with a hand-written loop whose steps the grader "
            "could not count: no Keras optimizer stepped (the compiled one took 0 steps), so "
            f"whether it honours {asked} could not be verified. Use model.fit(), or step a "
            "keras.optimizers optimizer with apply_gradients."
        )
    if steps != expected:
        how = (
            f" (a hand-written loop: its {loop['optimizer']} stepped {steps} times)" if loop else ""
        )
        fail(
            f"the {kind.upper()} took {steps} optimizer steps{how}; with {asked} it takes "
            f"{expected}. Pass all three to model.fit() unchanged."
            + (" In a hand-written loop: batches of batch_size over the first (1 - "
               "validation_split) of the rows, for epochs passes." if loop else "")
        )  # fmt: skip
    if loop:
        note(
            f"train() uses a hand-written loop; its {loop['optimizer']} took the expected "
            f"{expected} steps."
        )
    if spec.validation_split > 0 and history and "val_loss" not in history:
        fail(
            f"the {kind.upper()} was not validated (its History has no val_loss); the grader "
            f"asked for {asked}. Pass validation_split to model.fit()."
        )


def check_evaluate(student: RunView, kind: str) -> None:
    task = student.task(kind)
    if task.name != "multiclass":
        _check_evaluate_by_task(student, kind, task)
        return
    loss, accuracy = _evaluated(student, kind, "accuracy")
    data = student.artifacts.arrays(student.model_facts(kind)["eval_data"])
    model = student.model(kind, "trained")
    # The grader measures the trusted rebuild of the same trained model, with the student's
    # loss if it is a built-in one (from_logits included): first from an eager forward pass;
    # where that disagrees, Keras decides, since it computes the loss its own way (from
    # cached logits after a softmax or sigmoid, normalising linear outputs).
    loss_fn = _loss_object(loss_setting(_compile_config(student, kind).get("loss")))
    rows = len(data["y"])
    measured = _quick_evaluate(model, data["x"], data["y"], loss_fn)
    if measured is None or not _agrees(measured, (loss, accuracy), rows, loss_fn):
        # Before saying "no", ask Keras itself (compile + evaluate: slower, a traced function
        # per model), whose numbers are what the student's evaluate() returned.
        model.compile(
            optimizer="sgd",
            loss=loss_fn or "categorical_crossentropy",
            metrics=["categorical_accuracy"],
        )  # the optimizer is never used: evaluate() does not train
        try:
            measured = tuple(float(v) for v in model.evaluate(data["x"], data["y"], verbose=0))
        except Exception as exc:  # noqa: BLE001 - e.g. a sparse loss on one-hot labels
            fail(f"the grader could not evaluate your trained {kind.upper()} the same way: {exc}")
    ours_loss, ours = measured
    if abs(ours - accuracy) > 1.5 / rows:
        if abs(ours - loss) <= 1.5 / rows:
            fail("evaluate() returned (accuracy, loss): return (loss, accuracy) in that order.")
        fail(f"evaluate() says accuracy {accuracy:.4f}; the grader measures {ours:.4f} for the "
             "same model on the same data.")  # fmt: skip
    if loss_fn and abs(ours_loss - loss) > 1e-3 + 1e-3 * abs(ours_loss):
        fail(f"evaluate() says loss {loss:.4f}; the grader measures {ours_loss:.4f}.")


def _evaluated(student: RunView, kind: str, metric: str) -> tuple[float, float]:
    """The (loss, metric) pair evaluate() returned, as the run recorded it; fails, showing
    the start of what came back, if it is not two numbers."""
    value = student.require(f"evaluate:{kind}").get("result")
    if (
        not isinstance(value, list)
        or len(value) != 2
        or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
    ):
        fail(f"evaluate() must return (loss, {metric}), two numbers; it returned "
             f"{repr(value)[:200]}.")  # fmt: skip
    return float(value[0]), float(value[1])


def _check_evaluate_by_task(student: RunView, kind: str, task) -> None:
    """evaluate() of a binary or regression model: (loss, accuracy at 0.5) or (loss, MAE),
    as the grader measures them for the same trained model on the same rows."""
    short = "accuracy" if task.classification else "mae"
    loss, metric = _evaluated(student, kind, short)
    data = student.artifacts.arrays(student.model_facts(kind)["eval_data"])
    model = student.model(kind, "trained")
    x, y = data["x"], np.asarray(data["y"])
    loss_fn = _loss_object(loss_setting(_compile_config(student, kind).get("loss")))
    try:
        outputs = np.asarray(infer(model, x), np.float64)
    except Exception as exc:  # noqa: BLE001
        fail(f"the grader could not evaluate your trained {kind.upper()}: {exc}")
    if not task.fits(outputs, len(y)):
        fail(f"the {kind.upper()} predicts {outputs.shape}; {task.name} wants {task.output}.")
    ours = task.measure(outputs, y)
    columns = outputs.reshape(len(y), -1).astype(np.float32)
    if columns.shape[1] != 1:  # a binary model written as two classes: its loss is Keras's
        loss_fn = None
    ours_loss = (
        float(np.asarray(loss_fn(y.reshape(-1, 1).astype(np.float32), columns)))
        if loss_fn else math.nan
    )  # fmt: skip

    def close(a: float, b: float) -> bool:
        if task.classification:
            return abs(a - b) <= 1.5 / len(y)
        return abs(a - b) <= 1e-3 + 1e-3 * abs(b)

    if not close(metric, ours):
        if close(loss, ours):
            fail(f"evaluate() returned ({short}, loss): return (loss, {short}) in that order.")
        fail(f"evaluate() says {short} {metric:.4f}; the grader measures {ours:.4f} for the "
             "same model on the same data.")  # fmt: skip
    if loss_fn and abs(ours_loss - loss) > 1e-3 + 1e-3 * abs(ours_loss):
        fail(f"evaluate() says loss {loss:.4f}; the grader measures {ours_loss:.4f}.")


def _loss_object(setting):
    """A Keras loss for a canonical setting, from a fixed table (None: not a built-in)."""
    import keras

    classes = {
        "categorical_crossentropy": keras.losses.CategoricalCrossentropy,
        "binary_crossentropy": keras.losses.BinaryCrossentropy,
        "mean_squared_error": keras.losses.MeanSquaredError,
        "mean_absolute_error": keras.losses.MeanAbsoluteError,
        "kl_divergence": keras.losses.KLDivergence,
        "categorical_hinge": keras.losses.CategoricalHinge,
    }
    cls = classes.get(setting.name or "")
    if cls is None:
        return None
    takes_logits = cls in (keras.losses.CategoricalCrossentropy, keras.losses.BinaryCrossentropy)
    return cls(from_logits=True) if setting.from_logits and takes_logits else cls()


def _quick_evaluate(model, x, y, loss_fn) -> tuple[float, float] | None:
    """(loss, accuracy) of the model on (x, y) from an eager forward pass, or None when only
    Keras's own evaluate can say (unusual labels, a loss computed from logits differs)."""
    y = np.asarray(y)
    try:
        probs = infer(model, x)
    except Exception:  # noqa: BLE001 - let evaluate() raise its own error
        return None
    if y.ndim != 2 or probs.shape != y.shape:
        return None
    accuracy = float(np.mean(probs.argmax(axis=1) == y.argmax(axis=1)))
    if not loss_fn:
        return math.nan, accuracy

    return float(np.asarray(loss_fn(y.astype(np.float32), probs))), accuracy


def _agrees(ours: tuple[float, float], theirs: tuple[float, float], rows: int, loss_fn) -> bool:
    (ours_loss, ours_acc), (loss, accuracy) = ours, theirs
    if abs(ours_acc - accuracy) > 1.5 / rows:
        return False
    return not loss_fn or abs(ours_loss - loss) <= 1e-3 + 1e-3 * abs(ours_loss)


def check_save_load(student: RunView, kind: str, elsewhere_credit: float = 0.5) -> None:
    """save() then load() give back the trained model, from the file save() wrote at the
    path it was given. A round trip through a file written beside that path (the same name,
    another model suffix) earns `elsewhere_credit`."""
    saved = student.require(f"save:{kind}")
    instead = saved.get("wrote_instead")
    path = os.path.basename(str(saved.get("path") or ""))
    if saved.get("exists") is False and not instead:
        fail(
            f"save() returned without writing anything at the path it was given "
            f"({saved.get('path')}): save the model to exactly that path, model.save(path)."
        )
    if instead and student.call(f"load:{kind}").get("status") == "error":
        fail(
            f"save() wrote {str(instead)[:80]!r} instead of the path it was given ({path!r}), "
            "so load(path) found no model there: save to exactly that path, "
            "model.save(path) (Keras picks the format from its suffix)."
        )
    if student.call(f"load:{kind}").get("status") == "error":
        try:
            student.require(f"load:{kind}")
        except CheckFailure as failure:
            fail(
                failure.message + "\nload(path) must read the file at `path`: the grader moves "
                "the file save() wrote before it calls load(), so a hard-coded file name finds "
                "nothing there."
            )
    student.require(f"load:{kind}")
    # The file save() wrote, opened here: it must be a Keras model file holding the trained
    # weights (not a report from the sandbox that something was written).
    try:
        written = student.keras_file(kind, "saved")
        weights = student.artifacts.arrays(student.model_facts(kind)["trained"]["weights"])
    except (ArtifactError, KeyError, TypeError) as exc:
        fail(
            f"save() wrote no Keras model file at the path it was given ({exc}): save the "
            "whole model there, model.save(path)."
        )
    if not same_weights(written.layer_arrays(), list(weights.values())):
        fail(
            f"the file save() wrote for the {kind.upper()} does not hold the trained model's "
            "weights: save the trained model itself, model.save(path)."
        )
    trained = student.model(kind, "trained")
    loaded = student.model(kind, "loaded")
    x = student.test_inputs(kind)[:PROBE]
    try:
        before = infer(trained, x)
    except Exception as exc:  # noqa: BLE001 - the model does not take the student's inputs
        fail(f"your trained {kind.upper()} cannot predict your preprocessed test "
             f"{checking.EXAMPLES}: "
             f"{type(exc).__name__}: {str(exc)[:300]}")  # fmt: skip
    try:
        after = infer(loaded, x)
    except Exception as exc:  # noqa: BLE001
        fail(f"the {kind.upper()} loaded back from its saved file cannot predict the "
             f"{checking.EXAMPLES} the saved one predicts: {type(exc).__name__}: "
             f"{str(exc)[:300]}")  # fmt: skip
    if before.shape != after.shape or np.abs(before - after).max(initial=0) > 1e-5:
        fail(
            f"the {kind.upper()} loaded back from its saved file predicts differently from the "
            "model that was saved: save() must save the whole trained model (model.save(path)) "
            "and load() must return keras.models.load_model(path)."
        )
    if saved.get("exists") is False and instead:
        message = (
            f"save() and load() round-trip the trained {kind.upper()}, but save() wrote "
            f"{str(instead)[:80]!r} instead of the path it was given ({path!r}): save to "
            "exactly that path, model.save(path) (Keras picks the format from its suffix)."
        )
        if elsewhere_credit < 1.0:
            partial(elsewhere_credit, message)
        note(message)


def check_metric(
    student: RunView, reference: RunView, kind: str, targets: np.ndarray, grading
) -> None:
    """The test metric of the student's own pipeline against the reference's under the same
    budget, by the model's task kind: accuracy (margin and band of [grading]) or, for a
    regression, the mean absolute error (up to the reference's times error_factor)."""
    task = student.task(kind)
    if task.name == "multiclass":
        check_accuracy(
            student, reference, kind, targets, grading.accuracy_margin,
            grading.accuracy_partial_band,
        )  # fmt: skip
        return
    _require_own_pipeline(student, kind, task.metric)
    ref_value = reference.metric(kind, targets)
    value = student.metric(kind, targets)
    credit, line = task.credit(value, ref_value, grading)
    summary = (
        f"test {task.metric} {task.describe(value)}; the reference reaches "
        f"{task.describe(ref_value)} with the same budget, {line}"
    )
    training_fallbacks = student.artifacts.fallbacks(f"train:{kind}")
    if training_fallbacks:
        note(f"trained with the reference's {' and '.join(training_fallbacks)} standing in")
    if credit >= 1.0:
        note(summary + ".")
    partial(credit, summary + ".")


def _require_own_pipeline(student: RunView, kind: str, metric: str) -> None:
    """Fail unless the student's builder gave a model and their test preprocessing ran: the
    metric check measures the student's own pipeline or nothing."""
    if student.call(student.builder(kind)).get("status") != "ok":
        try:
            student.require(student.builder(kind))
        except CheckFailure as failure:
            fail(
                f"your {student.builder(kind)}() gave no model, so there is no {kind.upper()} "
                "of yours to measure.\n" + failure.message
            )
    substituted = student.artifacts.fallbacks(f"predict:{kind}") if student.artifacts else []
    if substituted:
        fail(
            f"your preprocessing of the test {checking.EXAMPLES} failed, so there is no "
            f"{metric} of your own pipeline to measure for the {kind.upper()}."
        )


def check_accuracy(
    student: RunView, reference: RunView, kind: str, labels: np.ndarray, margin: float, band: float
) -> None:
    """Test accuracy of the student's own pipeline vs the reference's under the same budget."""
    _require_own_pipeline(student, kind, "accuracy")
    ref_accuracy = reference.accuracy(kind, labels)
    accuracy = student.accuracy(kind, labels)
    threshold = ref_accuracy - margin
    summary = (
        f"test accuracy {accuracy:.2%}; the reference reaches {ref_accuracy:.2%} with the same "
        f"budget, full marks from {threshold:.2%}"
    )
    training_fallbacks = student.artifacts.fallbacks(f"train:{kind}")
    if training_fallbacks:
        note(f"trained with the reference's {' and '.join(training_fallbacks)} standing in")
    credit = linear_credit(accuracy, threshold, band)
    if credit >= 1.0:
        note(summary + ".")
    partial(credit, summary + ".")
