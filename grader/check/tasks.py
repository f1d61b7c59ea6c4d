"""What a model's task kind (`[[plan.models]] task`) means to the checks and the reports.

- `multiclass`: a softmax over the classes; labels one-hot (or integers with a sparse loss);
  measured by accuracy (the largest output is the class), higher is better.
- `binary`: one sigmoid unit, the probability of class 1; labels 0/1; measured by accuracy at
  the 0.5 threshold, higher is better.
- `regression`: one linear unit; numeric targets; measured by the mean absolute error (MAE),
  lower is better.

Everything here is NumPy on arrays the trusted side computed itself (the rebuilt model's
predictions); nothing is read from the sandbox's own claims.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from grader.report.results import linear_credit


@dataclass(frozen=True)
class Task:
    """One task kind."""

    name: str
    metric: str
    """The test metric's name in feedback (`accuracy`, `mean absolute error`)."""
    metric_short: str
    """Its short name in tables (`accuracy`, `MAE`)."""
    higher_is_better: bool
    output: str
    """The output layer the kind expects, in words."""
    loss_family: tuple[str, ...]
    """Canonical loss names that fit the kind (compile_settings' names)."""

    @property
    def classification(self) -> bool:
        return self.name != "regression"

    def measure(self, outputs: np.ndarray, targets: np.ndarray) -> float:
        """The test metric of `outputs` (a model's predictions) against `targets`."""
        outputs = np.asarray(outputs, dtype=np.float64)
        if self.name == "regression":
            return float(np.mean(np.abs(_column(outputs) - np.asarray(targets, np.float64))))
        return float(np.mean(self.predicted(outputs) == np.asarray(targets)))

    def predicted(self, outputs: np.ndarray) -> np.ndarray:
        """Predicted classes (classification only). A binary model written as two classes
        (a softmax over 2 units) predicts the larger of its two outputs: the architecture
        checks charge the form; what it predicts is measured like any other classification."""
        outputs = np.asarray(outputs)
        if self.name == "binary" and not _two_columns(outputs):
            return (_column(outputs) > 0.5).astype(np.int64)
        return outputs.argmax(axis=1)

    def fits(self, outputs: np.ndarray, rows: int) -> bool:
        """Whether `outputs` has the shape of this kind's predictions for `rows` examples."""
        outputs = np.asarray(outputs)
        if outputs.shape[:1] != (rows,):
            return False
        if self.name == "multiclass" or (self.name == "binary" and _two_columns(outputs)):
            return outputs.ndim == 2
        return outputs.ndim == 1 or (outputs.ndim == 2 and outputs.shape[1] == 1)

    def credit(self, value: float, reference: float, grading) -> tuple[float, str]:
        """(credit in [0, 1], the full-marks line in words) for a measured test metric."""
        if self.higher_is_better:
            threshold = reference - grading.accuracy_margin
            return linear_credit(value, threshold, grading.accuracy_partial_band), (
                f"full marks from {threshold:.2%}"
            )
        full = reference * grading.error_factor
        zero = reference * (grading.error_factor + grading.error_partial_band)
        if value <= full:
            credit = 1.0
        elif value >= zero or zero <= full:
            credit = 0.0
        else:
            credit = (zero - value) / (zero - full)
        return credit, f"full marks up to {full:.4g}, none from {zero:.4g}"

    def describe(self, value: float) -> str:
        return f"{value:.2%}" if self.higher_is_better else f"{value:.4g}"


TASKS = {
    "multiclass": Task(
        "multiclass", "accuracy", "accuracy", True,
        "a softmax over the classes (Dense(classes, activation='softmax'))",
        ("categorical_crossentropy", "sparse_categorical_crossentropy"),
    ),
    "binary": Task(
        "binary", "accuracy", "accuracy", True,
        "one sigmoid unit, Dense(1, activation='sigmoid'): the probability of class 1, "
        "between 0 and 1",
        ("binary_crossentropy",),
    ),
    "regression": Task(
        "regression", "mean absolute error", "MAE", False,
        "one linear unit, Dense(1) with no activation, free to take any value the targets "
        "take",
        ("mean_squared_error",),
    ),
}  # fmt: skip


def task(name: str) -> Task:
    """The task kind called `name` (validated when the assignment was loaded)."""
    return TASKS[name]


def _two_columns(outputs: np.ndarray) -> bool:
    return outputs.ndim == 2 and outputs.shape[1] == 2


def _column(outputs: np.ndarray) -> np.ndarray:
    """(n, 1) or (n,) predictions as (n,)."""
    return outputs.reshape(len(outputs), -1)[:, 0] if outputs.ndim > 1 else outputs


def binary_rates(labels: np.ndarray, predicted: np.ndarray) -> dict[str, float | None]:
    """Precision and recall of class 1 (None where undefined: nothing predicted or present)."""
    labels, predicted = np.asarray(labels), np.asarray(predicted)
    true_pos = int(np.sum((predicted == 1) & (labels == 1)))
    said_pos, are_pos = int(np.sum(predicted == 1)), int(np.sum(labels == 1))
    return {
        "precision": true_pos / said_pos if said_pos else None,
        "recall": true_pos / are_pos if are_pos else None,
    }


def regression_errors(outputs: np.ndarray, targets: np.ndarray) -> dict[str, float]:
    """MAE and RMSE of predictions against numeric targets."""
    residuals = _column(np.asarray(outputs, np.float64)) - np.asarray(targets, np.float64)
    return {
        "mae": float(np.mean(np.abs(residuals))),
        "rmse": float(np.sqrt(np.mean(residuals**2))),
    }


def residuals(outputs: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Predicted minus true, one per example."""
    return _column(np.asarray(outputs, np.float64)) - np.asarray(targets, np.float64)
