"""Does every spelling Keras accepts for a loss, an optimizer or a metric read as the same
setting, from Keras's own serialisation (`model.get_compile_config()`, what the runner records)?
Real Keras compiles every form here; nothing is written by hand."""

from __future__ import annotations

import json

import pytest

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from grader.check.compile_settings import (  # noqa: E402
    accuracy_metrics,
    error_metrics,
    loss_setting,
    metric_settings,
    optimizer_setting,
)


def compiled(**kwargs) -> dict:
    """The JSON round trip of a real model's compile config, as the runner writes it."""
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
    model.compile(**{"optimizer": "rmsprop", "loss": "categorical_crossentropy", **kwargs})
    return json.loads(json.dumps(model.get_compile_config()))


@pytest.mark.parametrize(
    "loss",
    [
        "categorical_crossentropy",
        lambda: keras.losses.categorical_crossentropy,
        lambda: keras.losses.CategoricalCrossentropy(),
        lambda: tf.keras.losses.categorical_crossentropy,
        lambda: keras.losses.CategoricalCrossentropy(label_smoothing=0.0, name="cce"),
    ],
    ids=["string", "function", "object", "tf-keras-function", "named-object"],
)
def test_every_spelling_of_categorical_crossentropy(loss):
    config = compiled(loss=loss() if callable(loss) else loss)
    setting = loss_setting(config["loss"])
    assert (setting.name, setting.from_logits, setting.known) == (
        "categorical_crossentropy", False, True,
    )  # fmt: skip


def test_from_logits_and_other_losses():
    logits = loss_setting(
        compiled(loss=keras.losses.CategoricalCrossentropy(from_logits=True))["loss"]
    )
    assert (logits.name, logits.from_logits) == ("categorical_crossentropy", True)
    assert "from_logits=True" in logits.describe()
    assert loss_setting(compiled(loss="mse")["loss"]).name == "mean_squared_error"
    assert loss_setting(compiled(loss=keras.losses.MeanSquaredError())["loss"]).name == (
        "mean_squared_error"
    )
    sparse = loss_setting(compiled(loss=keras.losses.SparseCategoricalCrossentropy())["loss"])
    assert sparse.name == "sparse_categorical_crossentropy"
    assert loss_setting(None).describe() == "missing"


@pytest.mark.parametrize(
    ("optimizer", "rate"),
    [
        ("rmsprop", 0.001),
        (lambda: keras.optimizers.RMSprop(), 0.001),
        (lambda: keras.optimizers.RMSprop(learning_rate=0.01), 0.01),
        (lambda: keras.mixed_precision.LossScaleOptimizer(keras.optimizers.RMSprop()), 0.001),
    ],
    ids=["string", "object", "object-lr", "loss-scale-wrapper"],
)
def test_every_spelling_of_rmsprop(optimizer, rate):
    """Is RMSprop read as RMSprop however given, through a mixed-precision wrapper too?"""
    config = compiled(optimizer=optimizer() if callable(optimizer) else optimizer)
    name, learning_rate = optimizer_setting(config["optimizer"])
    assert name == "RMSprop"
    assert learning_rate == pytest.approx(rate, rel=1e-6)


@pytest.mark.parametrize(
    ("metrics", "keys"),
    [
        (["accuracy"], ["accuracy"]),
        (["acc"], ["acc"]),
        (lambda: [keras.metrics.CategoricalAccuracy()], ["categorical_accuracy"]),
        (lambda: [keras.metrics.CategoricalAccuracy(name="acc")], ["acc"]),
        (lambda: [keras.metrics.categorical_accuracy], ["categorical_accuracy"]),
        (["categorical_accuracy"], ["categorical_accuracy"]),
        (lambda: ["accuracy", keras.metrics.Precision()], ["accuracy"]),
    ],
    ids=["accuracy", "acc", "object", "named-object", "function", "string", "with-precision"],
)
def test_accuracy_metrics_and_their_history_keys(metrics, keys):
    """Is every accuracy metric seen, with the key Keras gives it in the History?"""
    config = compiled(metrics=metrics() if callable(metrics) else metrics)
    assert [m.key for m in accuracy_metrics(config["metrics"])] == keys


def test_metrics_that_are_not_a_classifiers_accuracy():
    """Are no metric, an MAE metric and keras.metrics.Accuracy() (exact equality) told apart?"""
    assert accuracy_metrics(compiled()["metrics"]) == [] == metric_settings(None)
    exact = compiled(metrics=[keras.metrics.Accuracy()])["metrics"]
    assert accuracy_metrics(exact) == []
    assert [m.family for m in metric_settings(exact)] == ["exact_accuracy"]
    mae = compiled(metrics=["mae"])["metrics"]
    assert [(m.key, m.family) for m in metric_settings(mae)] == [("mae", "mean_absolute_error")]
    assert accuracy_metrics(mae) == [] and [m.key for m in error_metrics(mae)] == ["mae"]
    objects = compiled(metrics=[keras.metrics.MeanAbsoluteError()])["metrics"]
    assert [m.key for m in error_metrics(objects)] == ["mean_absolute_error"]
