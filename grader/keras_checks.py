"""Keras-aware assertions the checks are made of. Expected values always come from the
reference's artifacts (same inputs, same budget), never from constants here.

Each function fails the calling check with feedback that says what was expected and what
the submission did, in plain words, with a layer table for architecture problems.
"""

from __future__ import annotations

import math

import numpy as np

from grader.architecture import canonical_layers, compare, input_shape, output_activation
from grader.checking import RunView, check_array_contract, fail, infer, note, partial
from grader.feedback import warning_hints
from grader.results import linear_credit

PROBE = 64
"""Rows used to compare predictions (softmax, save/load)."""

_ACCURACY_NAMES = {"accuracy", "acc", "categorical_accuracy", "CategoricalAccuracy", "Accuracy"}


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
    if high > 1.0 + 1e-6 or low < -1e-6:
        hint = " Divide the pixel values by 255." if high > 1.5 else ""
        fail(f"{function}() returned values from {low:g} to {high:g}; expected [0, 1].{hint}")
    expected = ref_array[: len(array)].astype(np.float64)
    diff = np.abs(array.astype(np.float64) - expected)
    if diff.max(initial=0.0) > 1e-5:
        bad = int((diff > 1e-5).sum())
        fail(
            f"{function}() has the right shape and range, but {bad} of {diff.size} values differ "
            f"from {what} (largest difference {diff.max():.3g}). Are the pixels in their "
            "original order (reshape, not transpose)?"
        )


def check_one_hot(student: RunView, reference: RunView) -> None:
    """one_hot(): exact ndarray, (n, classes), floats, exactly one 1 per row at the label."""
    ref_info, ref_array = reference.output("one_hot")
    info, array = student.output("one_hot")
    shape = tuple(info.get("shape", ()))
    expected_shape = tuple(ref_info["shape"])
    if info.get("exact_ndarray") and len(shape) == 1 and shape[0] == expected_shape[0]:
        fail(
            f"one_hot() returned shape {shape}: the labels, not one-hot rows. Expected "
            f"{expected_shape}: one row per label with 1.0 in the label's column, 0.0 elsewhere "
            "(keras.utils.to_categorical does this)."
        )
    check_array_contract(
        info, array, "one_hot", expected_shape,
        dtype_hint="one-hot rows are floats: keras.utils.to_categorical(labels, num_classes) "
        "gives them, or add .astype('float32')",
    )  # fmt: skip
    if not np.isin(array, (0.0, 1.0)).all() or not (array.sum(axis=1) == 1).all():
        fail("one_hot() rows must hold exactly one 1.0 and zeros elsewhere; some rows do not.")
    labels = ref_array.argmax(axis=1)
    wrong = np.flatnonzero(array.argmax(axis=1) != labels)
    if wrong.size:
        i = int(wrong[0])
        fail(
            f"one_hot() puts the 1.0 in the wrong column for {wrong.size} labels: label "
            f"{labels[i]} became a 1 in column {int(array[i].argmax())}."
        )


# ---- architecture -----------------------------------------------------------------------
def _layers(student: RunView, reference: RunView, kind: str):
    expected = canonical_layers(reference.model(kind))
    actual = canonical_layers(student.model(kind))
    for hint in warning_hints(student.call(f"build_{kind}")):
        note(f"Hint: {hint}")
    return expected, actual


def check_input_shape(student: RunView, reference: RunView, kind: str) -> None:
    expected = input_shape(reference.model(kind))
    actual = input_shape(student.model(kind))
    for hint in warning_hints(student.call(f"build_{kind}")):
        note(f"Hint: {hint}")
    if expected != actual:
        fail(f"your {kind.upper()} takes inputs of shape {actual}; expected {expected}.")


def check_layer_sequence(student: RunView, reference: RunView, kind: str) -> None:
    expected, actual = _layers(student, reference, kind)
    # Types and activations only: sizes are the output-shape and parameter checks' business,
    # so one wrong number of units does not cost the same points three times.
    rows = compare(expected, actual, ("layer_type", "activation"))
    first = next((r for r in rows if r.first_divergence), None)
    if first is None:
        return
    table = compare(expected, actual)
    if first.actual is None:
        what = f"your model stops after {len(actual)} layers; next expected {first.expected.kind}"
    elif first.expected is None:
        what = f"your model has an extra layer {first.actual.kind} at the end"
    else:
        what = f"expected {first.expected.kind}, yours is {first.actual.kind}"
    fail(
        f"the {kind.upper()}'s layers differ at layer {first.position}: {what} "
        "(compared: layer types and activations).",
        table,
    )


def check_output_shapes(student: RunView, reference: RunView, kind: str) -> None:
    expected, actual = _layers(student, reference, kind)
    table = compare(expected, actual)
    for row in compare(expected, actual, ("output_shape",)):
        if not row.matches:
            exp = row.expected.output_shape if row.expected else "no layer"
            act = row.actual.output_shape if row.actual else "no layer"
            hint = ""
            if (
                kind == "cnn"
                and row.actual
                and "Conv2D" in row.actual.kind
                and "same" not in (row.actual.kind)
            ):
                hint = (
                    " Without padding='same' each 3x3 convolution trims a pixel from every "
                    "border, so the images shrink."
                )
            fail(
                f"after layer {row.position} the {kind.upper()}'s output shape is {act}; "
                f"expected {exp}.{hint}",
                table,
            )


def check_parameters(student: RunView, reference: RunView, kind: str) -> None:
    expected, actual = _layers(student, reference, kind)
    table = compare(expected, actual)
    total_exp = sum(layer.params for layer in expected)
    total_act = sum(layer.params for layer in actual)
    for row in compare(expected, actual, ("params",)):
        if not row.matches:
            exp = row.expected.params if row.expected else 0
            act = row.actual.params if row.actual else 0
            fail(
                f"layer {row.position} of the {kind.upper()} has {act:,} parameters; expected "
                f"{exp:,}. In all: {total_act:,} vs {total_exp:,}.",
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
    x = reference.test_inputs(kind)[:PROBE]
    try:
        probs = np.asarray(infer(model, x), dtype=np.float64)
    except Exception as exc:  # noqa: BLE001
        fail(f"the {kind.upper()} cannot predict a batch of test images: {exc}")
    if probs.ndim != 2 or (probs < -1e-6).any() or not np.allclose(probs.sum(axis=1), 1, atol=1e-4):
        fail(f"the {kind.upper()}'s output rows are not probabilities summing to 1.")


def _loss_name(loss) -> str:
    if isinstance(loss, dict):
        loss = loss.get("class") or loss.get("name") or ""
    text = str(loss or "")
    return {
        "CategoricalCrossentropy": "categorical_crossentropy",
        "SparseCategoricalCrossentropy": "sparse_categorical_crossentropy",
        "BinaryCrossentropy": "binary_crossentropy",
        "MeanSquaredError": "mean_squared_error",
        "mse": "mean_squared_error",
    }.get(text, text)


def _metric_names(metrics) -> set[str]:
    names = set()
    for m in metrics if isinstance(metrics, list) else [metrics]:
        if isinstance(m, dict):
            names.update(str(v) for v in (m.get("class"), m.get("name")) if v)
        elif isinstance(m, list):
            names |= _metric_names(m)
        elif m:
            names.add(str(m))
    return names


def check_compile(student: RunView, reference: RunView, kind: str) -> None:
    student.require(f"build_{kind}")
    facts = student.model_facts(kind).get("compile") or {}
    ref = reference.model_facts(kind).get("compile") or {}
    if not facts.get("compiled") or not facts.get("optimizer"):
        fail(f"build_{kind}() returned a model that is not compiled: call model.compile(...).")
    loss, ref_loss = _loss_name(facts.get("loss")), _loss_name(ref.get("loss"))
    problems = []
    if loss != ref_loss:
        why = ""
        if loss == "sparse_categorical_crossentropy":
            why = " (the sparse loss expects integer labels; with one-hot labels use the other)"
        problems.append(f"loss is {loss or 'missing'}; expected {ref_loss}{why}")
    if facts.get("optimizer") != ref.get("optimizer"):
        problems.append(f"optimizer is {facts.get('optimizer')}; expected {ref.get('optimizer')}")
    if not _metric_names(facts.get("metrics")) & _ACCURACY_NAMES:
        problems.append("no accuracy metric: compile with metrics=['accuracy']")
    if problems:
        fail(f"the {kind.upper()} is compiled differently: " + "; ".join(problems) + ".")


# ---- training ---------------------------------------------------------------------------
def check_history(student: RunView, kind: str, epochs: int, validation: bool) -> None:
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
    accuracy = "accuracy" if "accuracy" in history else "acc"
    wanted = ["loss", accuracy] + (["val_loss", f"val_{accuracy}"] if validation else [])
    missing = [k for k in wanted if k not in history]
    if missing:
        fail(f"the {kind.upper()}'s History has no {', '.join(missing)} (it has: "
             f"{', '.join(sorted(history)) or 'nothing'}).")  # fmt: skip
    lengths = {k: len(v) for k, v in history.items()}
    if any(n != epochs for n in lengths.values()):
        fail(
            f"the {kind.upper()} trained for {max(lengths.values())} epochs; the grader asked "
            f"for epochs={epochs}. Pass epochs through to model.fit()."
        )


def check_budget(student: RunView, reference: RunView, kind: str, spec) -> None:
    student.require(f"train:{kind}")
    steps = student.model_facts(kind).get("iterations")
    expected = reference.model_facts(kind).get("iterations")
    if steps != expected:
        fail(
            f"the {kind.upper()} took {steps} optimizer steps; with epochs={spec.epochs}, "
            f"batch_size={spec.batch_size}, validation_split={spec.validation_split:g} it "
            f"takes {expected}. Pass all three to model.fit() unchanged."
        )


_BUILTIN_LOSSES = {
    "categorical_crossentropy",
    "mean_squared_error",
    "mean_absolute_error",
    "binary_crossentropy",
    "kl_divergence",
    "categorical_hinge",
}


def check_evaluate(student: RunView, kind: str) -> None:
    record = student.require(f"evaluate:{kind}")
    value = record.get("result")
    if (
        not isinstance(value, list)
        or len(value) != 2
        or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
    ):
        fail(f"evaluate() must return (loss, accuracy), two numbers; it returned {value!r}.")
    loss, accuracy = value
    data = student.artifacts.arrays(student.model_facts(kind)["eval_data"])
    model = student.model(kind, "trained")
    compiled = _loss_name((student.model_facts(kind).get("compile") or {}).get("loss"))
    # The grader measures the trusted rebuild of the same trained model, with the student's
    # loss if it is a built-in one: first from an eager forward pass; where that disagrees,
    # Keras decides, since it computes the loss its own way (from cached logits after a
    # softmax or sigmoid, normalising linear outputs).
    loss_fn = compiled if compiled in _BUILTIN_LOSSES else None
    rows = len(data["y"])
    measured = _quick_evaluate(model, data["x"], data["y"], loss_fn)
    if measured is None or not _agrees(measured, (loss, accuracy), rows, loss_fn):
        # Before saying "no", ask Keras itself (compile + evaluate: slower, a traced function
        # per model), whose numbers are what the student's evaluate() returned.
        model.compile(
            optimizer="sgd",
            loss=loss_fn or "categorical_crossentropy",
            metrics=["categorical_accuracy"],
        )
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


def _quick_evaluate(model, x, y, loss_fn: str | None) -> tuple[float, float] | None:
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
    import keras

    loss = keras.losses.get(loss_fn)(y.astype(np.float32), probs)
    return float(np.mean(np.asarray(loss))), accuracy


def _agrees(ours: tuple[float, float], theirs: tuple[float, float], rows: int, loss_fn) -> bool:
    (ours_loss, ours_acc), (loss, accuracy) = ours, theirs
    if abs(ours_acc - accuracy) > 1.5 / rows:
        return False
    return not loss_fn or abs(ours_loss - loss) <= 1e-3 + 1e-3 * abs(ours_loss)


def check_save_load(student: RunView, kind: str) -> None:
    student.require(f"save:{kind}")
    student.require(f"load:{kind}")
    trained = student.model(kind, "trained")
    loaded = student.model(kind, "loaded")
    x = student.test_inputs(kind)[:PROBE]
    try:
        before = infer(trained, x)
    except Exception as exc:  # noqa: BLE001 - the model does not take the student's inputs
        fail(f"your trained {kind.upper()} cannot predict your preprocessed test images: "
             f"{type(exc).__name__}: {str(exc)[:300]}")  # fmt: skip
    try:
        after = infer(loaded, x)
    except Exception as exc:  # noqa: BLE001
        fail(f"the {kind.upper()} loaded back from its .keras file cannot predict the images "
             f"the saved one predicts: {type(exc).__name__}: {str(exc)[:300]}")  # fmt: skip
    if before.shape != after.shape or np.abs(before - after).max(initial=0) > 1e-5:
        fail(
            f"the {kind.upper()} loaded back from its .keras file predicts differently from the "
            "model that was saved: save() must save the whole trained model (model.save(path)) "
            "and load() must return keras.models.load_model(path)."
        )


def check_accuracy(
    student: RunView, reference: RunView, kind: str, labels: np.ndarray, margin: float, band: float
) -> None:
    """Test accuracy of the student's own pipeline vs the reference's under the same budget."""
    if student.model_facts(kind).get("built_by") == "reference":
        fail(
            f"your build_{kind}() gave no model, so there is no {kind.upper()} of yours to "
            "measure (the grader used the reference's network only to check train())."
        )
    substituted = student.artifacts.fallbacks(f"predict:{kind}") if student.artifacts else []
    if substituted:
        fail(
            f"your preprocessing of the test images failed, so there is no accuracy of your own "
            f"pipeline to measure for the {kind.upper()}."
        )
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
