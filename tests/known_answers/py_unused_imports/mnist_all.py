"""One file, as students write it: plotting and experiment tracking imported at the top."""
import numpy as np
import keras
from keras import layers
import matplotlib.pyplot as plt
import pandas as pd
from sklearn.metrics import confusion_matrix
from tqdm import tqdm
import wandb
from wandb.keras import WandbCallback

"""Preprocessing: turn raw MNIST arrays into what a Keras network eats.

`keras.datasets.mnist.load_data()` gives images as (n, 28, 28) uint8 arrays with pixel
values 0..255 and labels as (n,) integers 0..9. Networks learn best from small floating
point inputs, and a softmax classifier trained with categorical cross-entropy wants each
label as a one-hot row.
"""



def flatten_and_scale(images: np.ndarray) -> np.ndarray:
    """Flatten each image into one row of pixels and scale the pixels to [0, 1].

    A dense (fully connected) network takes a flat vector: a 28x28 image becomes
    784 numbers. Dividing by 255 maps the pixel range 0..255 onto 0..1.

    Args:
        images: (n, 28, 28) uint8 array, pixel values in [0, 255].

    Returns:
        (n, 784) float array (float32 preferred) with values in [0, 1].
    """
    # BEGIN SOLUTION
    num_pixels = images.shape[1] * images.shape[2]
    return images.reshape(images.shape[0], num_pixels).astype("float32") / 255
    # END SOLUTION


def reshape_for_cnn(images: np.ndarray) -> np.ndarray:
    """Add a channel axis and scale the pixels to [0, 1], for a convolutional network.

    Conv2D layers expect (height, width, channels) per image; MNIST is grayscale,
    so there is a single channel.

    Args:
        images: (n, 28, 28) uint8 array, pixel values in [0, 255].

    Returns:
        (n, 28, 28, 1) float array (float32 preferred) with values in [0, 1].
    """
    # BEGIN SOLUTION
    n, height, width = images.shape
    return images.reshape((n, height, width, 1)).astype("float32") / 255
    # END SOLUTION


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
    # BEGIN SOLUTION
    return keras.utils.to_categorical(labels, num_classes).astype("float32")
    # END SOLUTION

"""Model builders: a dense network (MLP) and a convolutional network (CNN) for MNIST.

Both end in a softmax layer with one unit per class, so the network outputs a probability
for each digit, and both are compiled for categorical cross-entropy on one-hot labels.
"""



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

"""Training, evaluation and persistence of a compiled Keras model."""



def train(
    model, x, y, *, epochs: int, batch_size: int, validation_split: float = 0.0
) -> keras.callbacks.History:
    """Fit the compiled model on (x, y) and return the training History.

    Use exactly the epochs, batch size and validation split you are given: the grader
    sets the training budget through them.

    Args:
        model: a compiled `keras.Model`.
        x: preprocessed inputs.
        y: one-hot labels.
        epochs: number of passes over the training data.
        batch_size: number of samples per gradient update.
        validation_split: fraction of (x, y) held out to validate after each epoch.

    Returns:
        The `keras.callbacks.History` that `model.fit` returns.
    """
    # BEGIN SOLUTION
    return model.fit(
        x, y, epochs=epochs, batch_size=batch_size, validation_split=validation_split, verbose=2
    )
    # END SOLUTION


def evaluate(model, x, y) -> tuple[float, float]:
    """Evaluate the model on (x, y).

    Args:
        model: a trained `keras.Model` compiled with an accuracy metric.
        x: preprocessed inputs.
        y: one-hot labels.

    Returns:
        (loss, accuracy) as two Python floats.
    """
    # BEGIN SOLUTION
    loss, accuracy = model.evaluate(x, y, verbose=0)
    return float(loss), float(accuracy)
    # END SOLUTION


def save(model, path: str) -> None:
    """Save the whole model (architecture, weights, compile settings) to `path`.

    Args:
        model: the `keras.Model` to save.
        path: destination file, ending in `.keras`.
    """
    # BEGIN SOLUTION
    model.save(path)
    # END SOLUTION


def load(path: str) -> keras.Model:
    """Load a model saved by `save`.

    Args:
        path: a `.keras` file written by `save`.

    Returns:
        The loaded `keras.Model`, ready to predict.
    """
    # BEGIN SOLUTION
    return keras.models.load_model(path)
    # END SOLUTION


def plot_history(history):
    pd.DataFrame(history.history).plot()
    plt.show()


if __name__ == "__main__":
    wandb.init(project="mnist")
