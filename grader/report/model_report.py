"""What the student report shows of a trained model: curves, confusion matrix, mistakes.

Computed on the trusted side from the rebuilt model and the held-out labels.
"""

from __future__ import annotations

import base64
import dataclasses
import struct
import zlib

import numpy as np

from grader.check import tasks
from grader.check.architecture import canonical_layers, compare
from grader.check.checking import RunView
from grader.report.results import Misclassified, ModelReport

MAX_MISCLASSIFIED = 16
MAX_POINTS = 400
"""Regression: test examples drawn in the predicted-against-true scatter plot."""


def png_base64(image: np.ndarray, scale: int = 2) -> str:
    """A grayscale picture as a base64 PNG, dark ink on white, upscaled without smoothing."""
    pixels = 255 - np.asarray(image, dtype=np.uint8)
    pixels = np.repeat(np.repeat(pixels, scale, axis=0), scale, axis=1)
    height, width = pixels.shape
    raw = b"".join(b"\x00" + row.tobytes() for row in pixels)

    def chunk(tag: bytes, data: bytes) -> bytes:
        body = tag + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
    png += chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")
    return base64.b64encode(png).decode("ascii")


def confusion_matrix(labels: np.ndarray, predicted: np.ndarray, classes: int):
    matrix = np.zeros((classes, classes), dtype=int)
    np.add.at(matrix, (labels, predicted), 1)
    return tuple(tuple(int(v) for v in row) for row in matrix)


def build_model_report(
    kind: str,
    student: RunView,
    reference: RunView,
    x_test: np.ndarray,
    y_test: np.ndarray,
    reference_accuracy: float | None,
    classes: int,
    images: bool,
) -> ModelReport:
    """Everything the report shows for one model; parts that cannot be computed are left empty."""
    facts = student.model_facts(kind)
    history = facts.get("history") if isinstance(facts.get("history"), dict) else {}
    history = {
        str(k): [float(x) for x in v]
        for k, v in history.items()
        if isinstance(v, list) and all(isinstance(x, int | float) for x in v)
    }
    layers = ()
    try:
        expected = canonical_layers(reference.model(kind))
        layers = compare(expected, canonical_layers(student.model(kind)))
    except Exception:  # noqa: BLE001 - the checks explain why; the report shows what it can
        pass
    task = student.task(kind)
    own_pipeline = facts.get("built_by") == "student" and not (
        student.artifacts and student.artifacts.fallbacks(f"predict:{kind}")
    )
    if task.name != "multiclass":
        return _report_by_task(
            kind, task, student, reference, y_test, reference_accuracy, own_pipeline,
            history=history, layers=layers,
        )  # fmt: skip
    accuracy, confusion, wrong = None, (), ()
    try:
        if not own_pipeline:
            raise LookupError("not the student's own model or test preprocessing")
        predicted = student.predictions(kind).argmax(axis=1)
        if predicted.shape == y_test.shape:
            accuracy = float(np.mean(predicted == y_test))
            confusion = confusion_matrix(y_test, predicted, classes)
            if images and x_test.ndim == 3:
                wrong = tuple(
                    Misclassified(int(i), int(y_test[i]), int(predicted[i]), png_base64(x_test[i]))
                    for i in np.flatnonzero(predicted != y_test)[:MAX_MISCLASSIFIED]
                )
    except Exception:  # noqa: BLE001
        pass
    return ModelReport(
        name=kind,
        history=history,
        test_accuracy=accuracy,
        reference_accuracy=reference_accuracy,
        confusion=confusion,
        misclassified=wrong,
        layers=layers,
        test_metric=accuracy,
        reference_metric=reference_accuracy,
    )


def _report_by_task(
    kind: str, task, student: RunView, reference: RunView, y_test: np.ndarray,
    reference_metric: float | None, own_pipeline: bool, **common,
) -> ModelReport:  # fmt: skip
    """A binary model's 2x2 confusion matrix with precision and recall, or a regression's
    predicted-against-true points, residuals, and MAE/RMSE next to the reference's."""
    report = ModelReport(
        name=kind, task=task.name, metric=task.metric, reference_metric=reference_metric,
        reference_accuracy=reference_metric if task.classification else None, **common,
    )  # fmt: skip
    try:
        if not own_pipeline:
            raise LookupError("not the student's own model or test preprocessing")
        outputs = student.predictions(kind)
        if not task.fits(outputs, len(y_test)) or not np.isfinite(outputs).all():
            return report
    except Exception:  # noqa: BLE001 - the checks say why
        return report
    if task.classification:
        predicted = task.predicted(outputs)
        labels = y_test.astype(np.int64)
        accuracy = float(np.mean(predicted == labels))
        return dataclasses.replace(
            report, test_accuracy=accuracy, test_metric=accuracy,
            confusion=confusion_matrix(labels, predicted, 2),
            rates=tasks.binary_rates(labels, predicted),
        )  # fmt: skip
    errors = tasks.regression_errors(outputs, y_test)
    try:
        ref_errors = tasks.regression_errors(reference.predictions(kind), y_test)
    except Exception:  # noqa: BLE001 - no reference figures: the student's still show
        ref_errors = {"mae": None, "rmse": None}
    predicted = outputs.reshape(len(y_test), -1)[:, 0]
    step = max(1, len(y_test) // MAX_POINTS)
    return dataclasses.replace(
        report, test_metric=errors["mae"],
        errors={**errors, "reference_mae": ref_errors["mae"],
                "reference_rmse": ref_errors["rmse"]},
        points=tuple((float(t), float(p)) for t, p in zip(y_test[::step], predicted[::step],
                                                          strict=True)),
        residuals=tuple(float(r) for r in tasks.residuals(outputs, y_test)),
    )  # fmt: skip
