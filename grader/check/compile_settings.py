"""Compile settings as Keras serialises them, read into canonical names on the trusted side.

Keras accepts a loss, an optimizer or a metric in many spellings: a string or an alias
(`"mse"`), a function (`keras.losses.categorical_crossentropy`, serialised as
`{"class_name": "function", "config": "categorical_crossentropy"}`), a class instance
(`CategoricalCrossentropy(from_logits=True)`, serialised with its `class_name` and
`config`), and optimizer wrappers (`LossScaleOptimizer` under a `mixed_float16` policy, with
its `inner_optimizer`). The runner records `model.get_compile_config()`, which is Keras's own
serialisation of all of these; this module reads it into one canonical form, with fixed
tables only: nothing in a submission's config is imported or deserialised here.
"""

from __future__ import annotations

from dataclasses import dataclass

_LOSSES = {
    "categorical_crossentropy": ("categorical_crossentropy", "CategoricalCrossentropy"),
    "sparse_categorical_crossentropy": (
        "sparse_categorical_crossentropy", "SparseCategoricalCrossentropy",
    ),
    "binary_crossentropy": ("binary_crossentropy", "BinaryCrossentropy"),
    "categorical_focal_crossentropy": (
        "categorical_focal_crossentropy", "CategoricalFocalCrossentropy",
    ),
    "binary_focal_crossentropy": ("binary_focal_crossentropy", "BinaryFocalCrossentropy"),
    "mean_squared_error": ("mean_squared_error", "mse", "MSE", "MeanSquaredError"),
    "mean_absolute_error": ("mean_absolute_error", "mae", "MAE", "MeanAbsoluteError"),
    "mean_absolute_percentage_error": (
        "mean_absolute_percentage_error", "mape", "MAPE", "MeanAbsolutePercentageError",
    ),
    "mean_squared_logarithmic_error": (
        "mean_squared_logarithmic_error", "msle", "MSLE", "MeanSquaredLogarithmicError",
    ),
    "kl_divergence": ("kl_divergence", "kld", "KLD", "kullback_leibler_divergence",
                      "KLDivergence"),
    "categorical_hinge": ("categorical_hinge", "CategoricalHinge"),
    "hinge": ("hinge", "Hinge"),
    "squared_hinge": ("squared_hinge", "SquaredHinge"),
    "huber": ("huber", "huber_loss", "Huber"),
    "log_cosh": ("log_cosh", "logcosh", "LogCosh"),
    "poisson": ("poisson", "Poisson"),
    "cosine_similarity": ("cosine_similarity", "CosineSimilarity"),
}  # fmt: skip
LOSS_ALIASES = {alias: name for name, aliases in _LOSSES.items() for alias in aliases}

_OPTIMIZERS = ("SGD", "RMSprop", "Adam", "AdamW", "Adadelta", "Adagrad", "Adamax", "Adafactor",
               "Nadam", "Ftrl", "Lion", "Lamb", "Muon")  # fmt: skip
OPTIMIZER_ALIASES = {name.lower(): name for name in _OPTIMIZERS} | {n: n for n in _OPTIMIZERS}
WRAPPERS = {"LossScaleOptimizer": "inner_optimizer"}
"""Optimizers that wrap another (under a mixed-precision policy): read through to the inner."""

ACCURACY_METRICS = {
    "accuracy": "accuracy", "acc": "accuracy",
    "categorical_accuracy": "categorical_accuracy", "CategoricalAccuracy": "categorical_accuracy",
    "sparse_categorical_accuracy": "sparse_categorical_accuracy",
    "SparseCategoricalAccuracy": "sparse_categorical_accuracy",
    "binary_accuracy": "binary_accuracy", "BinaryAccuracy": "binary_accuracy",
    "Accuracy": "exact_accuracy",
}  # fmt: skip
ERROR_METRICS = {
    "mae": "mean_absolute_error", "MAE": "mean_absolute_error",
    "mean_absolute_error": "mean_absolute_error", "MeanAbsoluteError": "mean_absolute_error",
}  # fmt: skip
"""Metric spellings that measure a regression's mean absolute error."""
"""Metric spellings that measure accuracy, by the family they compute. `Accuracy` (the class)
compares values exactly, which is not the accuracy of a classification on probabilities."""


@dataclass(frozen=True)
class Loss:
    name: str | None
    """Canonical name (`categorical_crossentropy`), None when missing, or as written when
    the grader does not know it (a custom function)."""
    from_logits: bool = False
    known: bool = True

    def describe(self) -> str:
        if self.name is None:
            return "missing"
        return self.name + (" (from_logits=True)" if self.from_logits else "")


@dataclass(frozen=True)
class Metric:
    key: str
    """The name Keras gives it in the History (`accuracy`, `acc`, `categorical_accuracy`)."""
    family: str | None
    """What it computes, for accuracy metrics (`accuracy`, `categorical_accuracy`, ...)."""


def _function_or_class(value: object) -> tuple[str | None, dict]:
    """(name, config) of a serialised Keras object, a function or a plain string."""
    if isinstance(value, str):
        return value, {}
    if isinstance(value, dict):
        class_name = value.get("class_name")
        config = value.get("config")
        if class_name == "function" and isinstance(config, str):
            return config, {}
        if isinstance(class_name, str):
            return class_name, config if isinstance(config, dict) else {}
        # the runner's older rendering: {"class": ..., "name": ...}
        name = value.get("class") or value.get("name")
        return (str(name), {}) if name else (None, {})
    return None, {}


def loss_setting(value: object) -> Loss:
    """The canonical loss of a compile config's `loss` entry (a one-output model)."""
    if isinstance(value, list | tuple) and len(value) == 1:
        value = value[0]
    if isinstance(value, dict) and "class_name" not in value and len(value) == 1:
        value = next(iter(value.values()))  # {"output_name": loss}
    name, config = _function_or_class(value)
    if not name:
        return Loss(None)
    canonical = LOSS_ALIASES.get(name)
    return Loss(canonical or name, bool(config.get("from_logits", False)), canonical is not None)


def optimizer_setting(value: object) -> tuple[str | None, float | None]:
    """(canonical optimizer class, learning rate if a plain number), reading through wrappers."""
    for _ in range(4):  # a wrapper of a wrapper, at most a few deep
        name, config = _function_or_class(value)
        if name in WRAPPERS and isinstance(config.get(WRAPPERS[name]), dict | str):
            value = config[WRAPPERS[name]]
            continue
        break
    if not name:
        return None, None
    rate = config.get("learning_rate")
    rate = float(rate) if isinstance(rate, int | float) and not isinstance(rate, bool) else None
    return OPTIMIZER_ALIASES.get(name, name), rate


def metric_settings(value: object) -> list[Metric]:
    """Every metric of a compile config's `metrics` entry, with its History key."""
    found: list[Metric] = []
    if value is None:
        return found
    items = value if isinstance(value, list | tuple) else [value]
    for item in items:
        if isinstance(item, list | tuple):
            found += metric_settings(list(item))
            continue
        if isinstance(item, dict) and "class_name" not in item and "class" not in item:
            found += metric_settings(list(item.values()))  # {"output_name": [...]}
            continue
        name, config = _function_or_class(item)
        if not name:
            continue
        key = config.get("name") if isinstance(config.get("name"), str) else None
        family = ACCURACY_METRICS.get(name) or ERROR_METRICS.get(name)
        found.append(Metric(key or _history_key(name), family))
    return found


def _history_key(name: str) -> str:
    """The History key Keras gives a metric passed by name or as a class without a name."""
    snake = {"CategoricalAccuracy": "categorical_accuracy", "Accuracy": "accuracy",
             "SparseCategoricalAccuracy": "sparse_categorical_accuracy",
             "BinaryAccuracy": "binary_accuracy",
             "MeanAbsoluteError": "mean_absolute_error"}  # fmt: skip
    return snake.get(name, name)


def accuracy_metrics(value: object) -> list[Metric]:
    """The metrics that measure a classification's accuracy (not `Accuracy`'s exact match)."""
    return [
        m for m in metric_settings(value)
        if m.family and m.family not in ("exact_accuracy", "mean_absolute_error")
    ]  # fmt: skip


def error_metrics(value: object) -> list[Metric]:
    """The metrics that measure a regression's mean absolute error."""
    return [m for m in metric_settings(value) if m.family == "mean_absolute_error"]
