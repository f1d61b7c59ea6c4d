import keras
import numpy as np


def flatten_and_scale(x):
    return x.reshape(-1, 784).astype("float32") / 255.


def reshape_for_cnn(x):
    return np.expand_dims(x.astype("float32") / 255., -1)


def one_hot(y, num_classes=10):
    return keras.utils.to_categorical(y, num_classes)
