"""Preprocessing: turn raw MNIST arrays into what a Keras network eats.

`keras.datasets.mnist.load_data()` gives images as (n, 28, 28) uint8 arrays with pixel
values 0..255 and labels as (n,) integers 0..9. Networks learn best from small floating
point inputs, and a softmax classifier trained with categorical cross-entropy wants each
label as a one-hot row.
"""

import keras
import numpy as np


def flatten_and_scale(images: np.ndarray) -> np.ndarray:
    """Flatten each image into one row of pixels and scale the pixels to [0, 1].

    A dense (fully connected) network takes a flat vector: a 28x28 image becomes
    784 numbers. Dividing by 255 maps the pixel range 0..255 onto 0..1.

    Args:
        images: (n, 28, 28) uint8 array, pixel values in [0, 255].

    Returns:
        (n, 784) float array (float32 preferred) with values in [0, 1].
    """
    num_pixels = images.shape[1] * images.shape[2]
    return images.reshape(images.shape[0], num_pixels).astype("float32") / 255


def reshape_for_cnn(images: np.ndarray) -> np.ndarray:
    """Add a channel axis and scale the pixels to [0, 1], for a convolutional network.

    Conv2D layers expect (height, width, channels) per image; MNIST is grayscale,
    so there is a single channel.

    Args:
        images: (n, 28, 28) uint8 array, pixel values in [0, 255].

    Returns:
        (n, 28, 28, 1) float array (float32 preferred) with values in [0, 1].
    """
    n, height, width = images.shape
    return images.reshape((n, height, width, 1)).astype("float32") / 255


def one_hot(labels: np.ndarray, num_classes: int = 10) -> np.ndarray:
    """Encode integer class labels as one-hot rows.

    The label 3 becomes [0, 0, 0, 1, 0, 0, 0, 0, 0, 0]: one column per class, a single 1
    in the column of the true class. This breaks the false ordering of the digits
    (7 is not "more" than 3) and matches the softmax output the loss compares against.

    Args:
        labels: (n,) integer array of class labels in [0, num_classes).
        num_classes: number of classes (columns of the result).

    Returns:
        (n, num_classes) float array with exactly one 1.0 per row.
    """
    return keras.utils.to_categorical(labels, num_classes).astype("float32")
