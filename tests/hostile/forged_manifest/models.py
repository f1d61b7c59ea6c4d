"""Hostile: compiled with adam and no metric (the reference uses rmsprop and accuracy)."""

import keras
from keras import layers


def build_mlp(input_dim=784, num_classes=10):
    model = keras.Sequential([keras.Input((input_dim,)), layers.Dense(512, activation="relu"),
                              layers.Dense(num_classes, activation="softmax")])
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    return model


def build_cnn(input_shape=(28, 28, 1), num_classes=10):
    model = keras.Sequential([
        keras.Input(input_shape),
        layers.Conv2D(32, 3, activation="relu", padding="same"), layers.MaxPooling2D(2),
        layers.Conv2D(64, 3, activation="relu", padding="same"), layers.MaxPooling2D(2),
        layers.Conv2D(64, 3, activation="relu", padding="same"), layers.Flatten(),
        layers.Dense(64, activation="relu"), layers.Dense(num_classes, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    return model
