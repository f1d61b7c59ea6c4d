"""Model builders: a dense network (MLP) and a convolutional network (CNN) for MNIST.

Both end in a softmax layer with one unit per class, so the network outputs a probability
for each digit, and both are compiled for categorical cross-entropy on one-hot labels.
"""

import keras
from keras import layers


def build_mlp(input_dim: int = 784, num_classes: int = 10) -> keras.Model:
    """Build and compile the dense network of the tutorial.

    Architecture: Dense(512, relu) -> Dense(num_classes, softmax), taking flat vectors of
    `input_dim` pixels. Compiled with optimizer 'rmsprop', loss 'categorical_crossentropy'
    and metrics ['accuracy'].

    Args:
        input_dim: length of one flattened input image (28 * 28 = 784).
        num_classes: number of output classes.

    Returns:
        The compiled, untrained `keras.Model`.
    """
    # BEGIN SOLUTION
    model = keras.Sequential(
        [
            keras.Input(shape=(input_dim,)),
            layers.Dense(512, activation="relu"),
            layers.Dense(num_classes, activation="softmax"),
        ]
    )
    model.compile(optimizer="rmsprop", loss="categorical_crossentropy", metrics=["accuracy"])
    return model
    # END SOLUTION


def build_cnn(input_shape: tuple = (28, 28, 1), num_classes: int = 10) -> keras.Model:
    """Build and compile the convolutional network of the tutorial.

    Architecture: Conv2D(32, 3x3, relu, padding 'same') -> MaxPooling2D(2x2)
    -> Conv2D(64, 3x3, relu, 'same') -> MaxPooling2D(2x2) -> Conv2D(64, 3x3, relu, 'same')
    -> Flatten -> Dense(64, relu) -> Dense(num_classes, softmax). Compiled with optimizer
    'rmsprop', loss 'categorical_crossentropy' and metrics ['accuracy'].

    Args:
        input_shape: shape of one input image, (height, width, channels).
        num_classes: number of output classes.

    Returns:
        The compiled, untrained `keras.Model`.
    """
    # BEGIN SOLUTION
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
    # END SOLUTION
