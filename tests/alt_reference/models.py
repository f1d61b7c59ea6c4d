"""An alternative reference for tests/test_alt_reference.py: seed 002's network as the MLP.

Seed 002 ("Classification Models with Keras") builds Dense(784, relu) -> Dense(100, relu)
-> Dense(10, softmax), compiled with 'adam'. Graded against this reference, the expected
layers, output shapes, parameter counts and optimizer of the MLP checks must all follow it,
though not one check changes. The CNN stays seed 004's, as in reference/mnist.
preprocessing.py, training.py and assignment.toml are copies of reference/mnist's; the test
adds reference/mnist/checks at run time, so the checks never drift from the real ones.
"""

import keras
from keras import layers


def build_mlp(input_dim: int = 784, num_classes: int = 10) -> keras.Model:
    """Seed 002: Dense(input_dim, relu) -> Dense(100, relu) -> Dense(num_classes, softmax), adam."""
    model = keras.Sequential(
        [
            keras.Input(shape=(input_dim,)),
            layers.Dense(input_dim, activation="relu"),
            layers.Dense(100, activation="relu"),
            layers.Dense(num_classes, activation="softmax"),
        ]
    )
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    return model


def build_cnn(input_shape: tuple = (28, 28, 1), num_classes: int = 10) -> keras.Model:
    """Seed 004's CNN, as in reference/mnist/models.py."""
    model = keras.Sequential(
        [
            keras.Input(shape=input_shape),
            layers.Conv2D(32, kernel_size=(3, 3), activation="relu", padding="same"),
            layers.MaxPooling2D(pool_size=(2, 2)),
            layers.Conv2D(64, kernel_size=(3, 3), activation="relu", padding="same"),
            layers.MaxPooling2D(pool_size=(2, 2)),
            layers.Conv2D(64, kernel_size=(3, 3), activation="relu", padding="same"),
            layers.Flatten(),
            layers.Dense(64, activation="relu"),
            layers.Dense(num_classes, activation="softmax"),
        ]
    )
    model.compile(optimizer="rmsprop", loss="categorical_crossentropy", metrics=["accuracy"])
    return model
