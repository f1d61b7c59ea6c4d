import numpy as np


def flatten_and_scale(images):
    return images.reshape(len(images), -1).astype("float32") / 255


def reshape_for_cnn(images):
    return images.reshape(*images.shape, 1).astype("float32") / 255


def one_hot(labels, num_classes=10):
    return np.eye(num_classes, dtype="float32")[labels]
