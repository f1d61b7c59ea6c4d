"""Grace Hopper -- MNIST assignment (everything in one file)."""

import keras
import numpy as np
from keras import layers


# ---------------------------------------------------------------- preprocessing
def flatten_and_scale(images):
    x = images.reshape(len(images), -1).astype("float32")
    return x / 255


def reshape_for_cnn(images):
    return images.reshape(len(images), 28, 28, 1).astype("float32")


def one_hot(labels, num_classes=10):
    # row i of the identity matrix is the one-hot vector of class i
    return np.eye(num_classes, dtype=int)[labels]


# ---------------------------------------------------------------- models
def build_mlp(input_dim=784, num_classes=10):
    model = keras.Sequential(
        [
            keras.Input(shape=(input_dim,)),
            layers.Dense(512, activation="relu"),
            layers.Dense(num_classes, activation="softmax"),
        ]
    )
    model.compile(optimizer="rmsprop", loss="categorical_crossentropy", metrics=["accuracy"])
    return model


def build_cnn(input_shape=(28, 28, 1), num_classes=10):
    model = keras.Sequential(
        [
            keras.Input(shape=input_shape),
            layers.Conv2D(32, (3, 3), activation="relu", padding="same"),
            layers.MaxPooling2D((2, 2)),
            layers.Conv2D(64, (3, 3), activation="relu", padding="same"),
            layers.MaxPooling2D((2, 2)),
            layers.Conv2D(64, (3, 3), activation="relu", padding="same"),
            layers.Flatten(),
            layers.Dense(64, activation="relu"),
            layers.Dense(num_classes, activation="softmax"),
        ]
    )
    model.compile(optimizer="rmsprop", loss="categorical_crossentropy", metrics=["accuracy"])
    return model


# ---------------------------------------------------------------- training
def train(model, x, y, *, epochs, batch_size, validation_split=0.0):
    return model.fit(
        x, y, epochs=epochs, batch_size=batch_size, validation_split=validation_split
    )


def evaluate(model, x, y):
    results = model.evaluate(x, y, verbose=0)
    return results[0], results[1]


def save(model, path):
    model.save(path)


def load(path):
    return keras.models.load_model(path)
