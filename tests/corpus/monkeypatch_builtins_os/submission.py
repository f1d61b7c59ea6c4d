"""A correct submission that disables open() and the os and json functions the runner writes with."""
import keras
import numpy as np


def flatten_and_scale(images):
    return images.reshape(len(images), -1).astype("float32") / 255


def reshape_for_cnn(images):
    return images.reshape(*images.shape, 1).astype("float32") / 255


def one_hot(labels, num_classes=10):
    return np.eye(num_classes, dtype="float32")[labels]


def build_mlp(input_dim=784, num_classes=10):
    model = keras.Sequential([
        keras.Input(shape=(input_dim,)),
        keras.layers.Dense(512, activation="relu"),
        keras.layers.Dense(num_classes, activation="softmax"),
    ])
    model.compile(optimizer="rmsprop", loss="categorical_crossentropy", metrics=["accuracy"])
    return model


def build_cnn(input_shape=(28, 28, 1), num_classes=10):
    model = keras.Sequential([
        keras.Input(shape=input_shape),
        keras.layers.Conv2D(32, (3, 3), activation="relu", padding="same"),
        keras.layers.MaxPooling2D((2, 2)),
        keras.layers.Conv2D(64, (3, 3), activation="relu", padding="same"),
        keras.layers.MaxPooling2D((2, 2)),
        keras.layers.Conv2D(64, (3, 3), activation="relu", padding="same"),
        keras.layers.Flatten(),
        keras.layers.Dense(64, activation="relu"),
        keras.layers.Dense(num_classes, activation="softmax"),
    ])
    model.compile(optimizer="rmsprop", loss="categorical_crossentropy", metrics=["accuracy"])
    return model


def train(model, x, y, *, epochs, batch_size, validation_split=0.0):
    return model.fit(x, y, epochs=epochs, batch_size=batch_size,
                     validation_split=validation_split, verbose=0)


def evaluate(model, x, y):
    loss, acc = model.evaluate(x, y, verbose=0)
    return float(loss), float(acc)


def save(model, path):
    model.save(path)


def load(path):
    return keras.models.load_model(path)


import builtins  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402


def _no_open(*args, **kwargs):
    raise PermissionError("open() is disabled by the submission")


def _nothing(*args, **kwargs):
    return None


builtins.open = _no_open
os.open = _nothing
os.write = _nothing
os.replace = _nothing
os.rename = _nothing
os.fsync = _nothing
json.dumps = lambda *args, **kwargs: '{"finished": true, "calls": {}}'
