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
        r"input_shape`/`input_dim`",
        "Keras 3 prefers an explicit input: start the model with keras.Input(shape={shape}) "
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
        "sparse_categorical_crossentropy expects integer labels; when the labels are one-hot "
        "rows, compile with loss='categorical_crossentropy'.",
    ),
    (
        r"predict_classes",
        "model.predict_classes() is gone: use model.predict(x).argmax(axis=1).",
    ),
    (
        r"\.h5\b|HDF5|h5py",
        "save in today's format: model.save('model.keras') and keras.models.load_model(path).",
    ),
    (
        r"softmax_v2|log_softmax_v2|'class_name': 'function'",
        "a TensorFlow function as an activation (activation=tf.nn.softmax is saved as the "
        "function 'softmax_v2') cannot be loaded back by keras.models.load_model: write the "
        "activation by name, activation='softmax' (or 'relu').",
    ),
    (
        r"np\.(Inf|NaN|NAN|PINF|NINF|infty|float_|float|int|bool|object|str|unicode)\b"
        r"(?!\w)|`np\.\w+` was removed in the NumPy 2",
        "NumPy 2 removed old aliases: write np.inf, np.nan, float, int, bool or np.float64 "
        "(np.Inf, np.NaN, np.float, np.int and the like are gone).",
    ),
)


def keras3_hints(*texts: str, input_shape: str = "...") -> list[str]:
    """Keras 3 advice for every old-API pattern found in the given texts (no duplicates).

    Args:
        input_shape: the input shape the grader builds the model for, e.g. `(784,)`.
    """
    found = []
    joined = "\n".join(t for t in texts if t)
    for pattern, hint in OLD_API_HINTS:
        hint = hint.replace("{shape}", input_shape)
        if re.search(pattern, joined) and hint not in found:
            found.append(hint)
    return found


_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")
_KERAS_TENSOR = re.compile(r"<KerasTensor shape=(\([^)]*\))[^>]*>")
_SITE_PACKAGES = re.compile(r" ?\(/[^()]*site-packages/[^()]*\)")


def clean_message(text: str, limit: int = 1200) -> str:
    """A Keras error as a student can read it: no terminal colour codes, KerasTensor dumps
    cut to their shapes, no paths inside the grader's environment, and not too long."""
    text = _ANSI.sub("", str(text))
    text = _KERAS_TENSOR.sub(r"a tensor of shape \1", text)
    text = _SITE_PACKAGES.sub("", text)
    text = re.sub(r"[ \t]+\n", "\n", text).strip()
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text


def relabel_trace(trace: str, sources: dict | None) -> str:
    """Tracebacks as the student knows their code: `notebook cell 4, line 3` for a notebook,
    their own file's name for a single .py (the grader runs it as `submission.py`)."""
    if not sources:
        return trace

    def where(match: re.Match) -> str:
        file, line = match.group(1), int(match.group(2))
        source = sources.get(file)
        if not isinstance(source, dict):
            return match.group(0)
        cells = source.get("cells")
        if isinstance(cells, list) and 0 < line <= len(cells):
            cell = cells[line - 1]
            if isinstance(cell, list) and len(cell) == 2:
                return f"notebook cell {cell[0]}, line {cell[1]}"
            return f'File "{source.get("label", file)}" (code the grader added), line {line}'
        return f'File "{source.get("label", file)}", line {line}'

    return re.sub(r'File "([^"]+)", line (\d+)', where, trace)


IMPORT_TIME_HINT = (
    "your module runs code when it is imported (the traceback ends at module level, "
    "'<module>'): the grader imports it to call your functions, so move scripts such as "
    'loading data, training or plotting under `if __name__ == "__main__":` or into a '
    "function."
)


def explain_call(
    name: str,
    record: dict,
    run_status: str = "ok",
    run_detail: str = "",
    sources: dict | None = None,
) -> str:
    """One paragraph on why a contract call did not give a usable result.

    Args:
        name: the call as the runner names it: `<function>` or `<function>:<label>`.
        record: the manifest's record of it ({} when the run never got there).
        run_status: the submission's phase-1 status.
        run_detail: its one-line explanation.
        sources: how the grader's module names map to the student's files and notebook
            cells (`relabel_trace`).
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
    message = clean_message(record.get("message", ""))
    trace = relabel_trace(clean_message(record.get("traceback", ""), 4000), sources)
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
    called_as = record.get("called_as")
    if isinstance(called_as, str) and called_as and not name.startswith("import:"):
        lines.append(f"The grader called {called_as[:200]}.")
    if name.startswith("import:"):
        lines = [f"importing {name.split(':')[-1]} failed with {exc_type}: {message}"]
    if trace:
        lines.append("Your code, where it happened:\n" + trace)
    raw = _ANSI.sub("", str(record.get("message", "")))  # hints read all of it, uncut
    for hint in keras3_hints(raw, trace, input_shape=str(record.get("input_shape") or "...")):
        lines.append(f"Hint: {hint}")
    frames = re.findall(r", in (\S+)\n", trace + "\n")
    if (
        name.startswith("import:")
        and frames
        and frames[-1] == "<module>"
        and exc_type not in ("ImportError", "ModuleNotFoundError", "SyntaxError")
    ):
        lines.append(f"Hint: {IMPORT_TIME_HINT}")
    return "\n".join(lines)


def warning_hints(record: dict, input_shape: str = "...") -> list[str]:
    """Keras 3 advice from the warnings a call emitted (it worked, but in an old style)."""
    warnings = record.get("warnings") or []
    texts = (clean_message(w) for w in warnings if isinstance(w, str))
    return keras3_hints(*texts, input_shape=input_shape)
