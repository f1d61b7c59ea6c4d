"""Ada Lovelace -- MNIST assignment, preprocessing."""

import numpy as np
from keras.utils import to_categorical


def flatten_and_scale(images):
    # 28x28 images -> rows of 784 pixels, scaled to 0..1
    n = images.shape[0]
    flat = images.reshape(n, 28 * 28).astype("float32")
    return flat / 255.0


def reshape_for_cnn(images):
    # the CNN wants a channel axis: (n, 28, 28, 1)
    x = images.reshape(images.shape[0], 28, 28, 1).astype("float32")
    return x / 255.0


def one_hot(labels, num_classes=10):
    return to_categorical(labels, num_classes).astype(np.float32)
