"""Does the preprocessing feedback name what the student's code really did instead of
pixel / 255? Real MNIST digits (the bundled subset), each common mistake made with the
library call students use for it."""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from mnist import load_mnist  # noqa: E402

from grader.check.keras_checks import _diagnose  # noqa: E402


@pytest.fixture(scope="module")
def images() -> np.ndarray:
    (x_train, _), _ = load_mnist("bundled")
    return x_train[:64]


def test_scaled_twice(images):
    expected = images.reshape(64, 784).astype("float32") / 255
    assert "scaled twice" in _diagnose(expected / 255, expected)


def test_standardised(images):
    expected = images.reshape(64, 784).astype("float64") / 255
    standard = (images.reshape(64, 784) - images.mean()) / images.std()
    assert "standardised" in _diagnose(standard, expected)


def test_row_normalised_with_keras_utils_normalize(images):
    """keras.utils.normalize on the flat rows, and on the (28, 28) images (row by row)."""
    expected = images.reshape(64, 784).astype("float64") / 255
    flat = keras.utils.normalize(images.reshape(64, 784).astype("float64"))
    assert "keras.utils.normalize" in _diagnose(flat, expected)
    per_row = keras.utils.normalize(images.astype("float64")).reshape(64, 784)
    assert "keras.utils.normalize" in _diagnose(per_row, expected)


def test_transposed(images):
    expected = images.reshape(64, 784).astype("float64") / 255
    transposed = (images.transpose(0, 2, 1).reshape(64, 784) / 255).astype("float64")
    assert "transposed" in _diagnose(transposed, expected)
    cnn = expected.reshape(64, 28, 28, 1)
    assert "transposed" in _diagnose(cnn.transpose(0, 2, 1, 3), cnn)


def test_something_else(images):
    expected = images.reshape(64, 784).astype("float64") / 255
    assert "original order" in _diagnose(np.sqrt(expected), expected)
