"""Preprocessing, as the lab does it: flatten the images, normalise the pixels, one-hot encode
the labels.

`keras.datasets.mnist.load_data()` gives the images as (n, 28, 28) uint8 arrays, pixel values
0..255, and the labels as (n,) integers 0..9. A conventional (dense) network cannot take an
image as it is: each one is flattened into a vector of 28 x 28 = 784 numbers, whose values are
then normalised to [0, 1]. For classification, the labels are divided into categories: one
column per class.
"""

import numpy as np
from keras.utils import to_categorical  # noqa: F401


def flatten_pixels(images: np.ndarray) -> np.ndarray:
    """Flatten each image into a one-dimensional vector of float32 pixels.

    Each 28 x 28 image becomes one row of 1 x (28 x 28) = 784 numbers. The pixel values are
    kept as they are (0..255): `normalize_pixels` scales them.

    Args:
        images: (n, 28, 28) uint8 array, pixel values in [0, 255].

    Returns:
        (n, 784) float32 array, the same pixel values in [0, 255].
    """
    raise NotImplementedError("flatten_pixels() is not written yet: replace this line")


def normalize_pixels(pixels: np.ndarray) -> np.ndarray:
    """Normalise flattened pixel values from 0..255 to 0..1.

    Args:
        pixels: (n, 784) float array from `flatten_pixels`, values in [0, 255].

    Returns:
        (n, 784) float array (float32 preferred) with values in [0, 1].
    """
    raise NotImplementedError("normalize_pixels() is not written yet: replace this line")


def one_hot_encode(labels: np.ndarray, num_classes: int = 10) -> np.ndarray:
    """One-hot encode the target variable: one column per class.

    The label 3 becomes [0, 0, 0, 1, 0, 0, 0, 0, 0, 0].

    Args:
        labels: (n,) integer array of class labels in [0, num_classes).
        num_classes: number of classes (columns of the result).

    Returns:
        (n, num_classes) float array with exactly one 1.0 per row.
    """
    raise NotImplementedError("one_hot_encode() is not written yet: replace this line")
