"""Feedback that teaches: what a failed call means, and old Keras API translated to Keras 3.

Tutorials from the Keras 1 and 2 days are still what students copy from (seed 003, written in
2020, uses `np_utils`, `nb_epoch=`, `Dense(output_dim=...)`, `RMSprop(lr=...)`). Their errors
under Keras 3 are cryptic; each is recognised here and answered with the Keras 3 spelling.
"""

from __future__ import annotations

import re

OLD_API_HINTS: tuple[tuple[str, str], ...] = (
    (
        r"np_utils",
        "keras.utils.np_utils is gone in Keras 3: use keras.utils.to_categorical(labels, "
        "num_classes) (from keras.utils import to_categorical).",
    ),
    (
        r"nb_epoch",
        "nb_epoch= is Keras 1: write model.fit(x, y, epochs=..., batch_size=...).",
    ),
    (
        r"output_dim|missing 1 required positional argument: 'units'",
        "Dense(output_dim=...) is Keras 1: the number of units is the first argument, "
        "e.g. layers.Dense(10).",
    ),
    (
        r"not recognized: \{'lr'|unexpected keyword argument 'lr'|\blr=",
        "lr= was renamed: write keras.optimizers.RMSprop(learning_rate=0.001).",
    ),
    (
        r"'decay'|Argument `decay`",
        "decay= is no longer an optimizer argument in Keras 3: leave it out, or use a "
        "learning-rate schedule (keras.optimizers.schedules).",
    ),
    (
        r"input_shape`/`input_dim`|input_dim",
        "Keras 3 prefers an explicit input: start the model with keras.Input(shape=(784,)) "
        "instead of passing input_dim= or input_shape= to the first layer.",
    ),
    (
        r"init=|unexpected keyword argument 'init'",
        "init= is Keras 1: write kernel_initializer=.",
    ),
    (
        r"Convolution2D|border_mode|subsample",
        "Convolution2D(..., border_mode=, subsample=) is Keras 1: write "
        "layers.Conv2D(filters, (3, 3), padding='same', strides=...).",
    ),
    (
        r"keras\.engine|keras\.layers\.core|keras\.layers\.convolutional",
        "Keras 3 has no keras.engine / keras.layers.core modules: import from keras and "
        "keras.layers directly.",
    ),
    (
        r"target\.ndim - 1|sparse_categorical|SparseCategorical",
        "sparse_categorical_crossentropy expects integer labels; with one-hot labels (what "
        "one_hot() gives) compile with loss='categorical_crossentropy'.",
    ),
    (
        r"predict_classes",
        "model.predict_classes() is gone: use model.predict(x).argmax(axis=1).",
    ),
    (
        r"\.h5\b|HDF5|h5py",
        "save in today's format: model.save('model.keras') and keras.models.load_model(path).",
    ),
)


def keras3_hints(*texts: str) -> list[str]:
    """Keras 3 advice for every old-API pattern found in the given texts (no duplicates)."""
    found = []
    joined = "\n".join(t for t in texts if t)
    for pattern, hint in OLD_API_HINTS:
        if re.search(pattern, joined) and hint not in found:
            found.append(hint)
    return found


def explain_call(name: str, record: dict, run_status: str = "ok", run_detail: str = "") -> str:
    """One paragraph on why a contract call did not give a usable result.

    Args:
        name: the call as the runner names it (`flatten_and_scale`, `train:mlp`, ...).
        record: the manifest's record of it ({} when the run never got there).
        run_status: the submission's phase-1 status.
        run_detail: its one-line explanation.
    """
    function = name.split(":")[0]
    status = record.get("status")
    if not record:
        if run_status != "ok":
            return (
                f"{function}() was not reached: the run ended early ({run_status}: {run_detail})."
            )
        return f"{function}() was not called: an earlier step failed."
    if status == "not_implemented":
        return f"not attempted: {function}() still raises NotImplementedError."
    if status == "running":
        return f"{function}() never finished: {run_status}: {run_detail}."
    if status == "skipped":
        return f"{function}() was skipped: {record.get('why', 'an earlier step failed')}."
    exc_type = str(record.get("exc_type", "Exception"))
    # Paths inside the grader's environment mean nothing to a student (and are not theirs).
    message = re.sub(r" ?\(/[^()]*site-packages/[^()]*\)", "", str(record.get("message", "")))
    message = message.strip()
    trace = re.sub(r" ?\(/[^()]*site-packages/[^()]*\)", "", str(record.get("traceback", "")))
    trace = trace.strip()
    if exc_type == "ImportError" and "is not defined in the submission" in message:
        return f"{function}() is not defined in your submission: check its name and spelling."
    missing = re.search(r"No module named '(\w+)'", message)
    if (
        exc_type == "ModuleNotFoundError"
        and missing
        and missing.group(1)
        in (
            "preprocessing",
            "models",
            "training",
        )
    ):
        return f"{missing.group(1)}.py is missing from your submission."
    lines = [f"{function}() raised {exc_type}: {message}" if message else f"{function}() raised "
             f"{exc_type}."]  # fmt: skip
    if name.startswith("import:"):
        lines = [f"importing {name.split(':')[-1]} failed with {exc_type}: {message}"]
    if trace:
        lines.append("Your code, where it happened:\n" + trace)
    for hint in keras3_hints(message, trace):
        lines.append(f"Hint: {hint}")
    return "\n".join(lines)


def warning_hints(record: dict) -> list[str]:
    """Keras 3 advice from the warnings a call emitted (it worked, but in an old style)."""
    warnings = record.get("warnings") or []
    return keras3_hints(*(str(w) for w in warnings if isinstance(w, str)))
