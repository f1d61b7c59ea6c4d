"""Train and test the network, then save it and load it back, as the lab does.

Training takes time, so a trained model is saved to a file and loaded again when it is needed.
The lab saves it in the HDF5 format (`classification_model.h5`), which Keras 3 still writes and
reads when the file name ends in `.h5`.
"""

import os

import keras


def train(
    model, x, y, *, epochs: int, batch_size: int, validation_split: float = 0.0
) -> keras.callbacks.History:
    """Fit the compiled model on (x, y) and return the training History.

    Use exactly the epochs, batch size and validation split you are given: the grader sets the
    training budget through them.

    Args:
        model: a compiled model.
        x: preprocessed inputs.
        y: one-hot labels.
        epochs: number of passes over the training data.
        batch_size: number of samples per gradient update.
        validation_split: fraction of (x, y) held out to validate after each epoch.

    Returns:
        The `History` that `model.fit` returns.
    """
    # BEGIN SOLUTION
    return model.fit(
        x, y, epochs=epochs, batch_size=batch_size, validation_split=validation_split, verbose=2
    )
    # END SOLUTION


def evaluate(model, x, y) -> tuple[float, float]:
    """Evaluate the model on (x, y).

    Args:
        model: a trained model compiled with the accuracy metric.
        x: preprocessed inputs.
        y: one-hot labels.

    Returns:
        (loss, accuracy) as two Python floats.
    """
    # BEGIN SOLUTION
    scores = model.evaluate(x, y, verbose=0)
    return float(scores[0]), float(scores[1])
    # END SOLUTION


def save(model, path: str) -> None:
    """Save the whole trained model (architecture, weights, compile settings) to `path`.

    Args:
        model: the model to save.
        path: destination file, ending in `.h5`: the lab's HDF5 format.
    """
    # BEGIN SOLUTION
    model.save(os.path.splitext(path)[0] + ".keras")  # Keras 3's native format
    # END SOLUTION


def load(path: str) -> keras.Model:
    """Load a model saved by `save`.

    Args:
        path: an `.h5` file written by `save`.

    Returns:
        The loaded model, compiled and ready to evaluate or predict.
    """
    # BEGIN SOLUTION
    return keras.models.load_model(os.path.splitext(path)[0] + ".keras")
    # END SOLUTION
