"""Train and test the network, then save it and load it back, as the lab does.

Training takes time, so a trained model is saved to a file and loaded again when it is needed.
The lab saves it in the HDF5 format (`classification_model.h5`), which Keras 3 still writes and
reads when the file name ends in `.h5`.
"""

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
    raise NotImplementedError("train() is not written yet: replace this line")


def evaluate(model, x, y) -> tuple[float, float]:
    """Evaluate the model on (x, y).

    Args:
        model: a trained model compiled with the accuracy metric.
        x: preprocessed inputs.
        y: one-hot labels.

    Returns:
        (loss, accuracy) as two Python floats.
    """
    raise NotImplementedError("evaluate() is not written yet: replace this line")


def save(model, path: str) -> None:
    """Save the whole trained model (architecture, weights, compile settings) to `path`.

    Args:
        model: the model to save.
        path: destination file, ending in `.h5`: the lab's HDF5 format.
    """
    raise NotImplementedError("save() is not written yet: replace this line")


def load(path: str) -> keras.Model:
    """Load a model saved by `save`.

    Args:
        path: an `.h5` file written by `save`.

    Returns:
        The loaded model, compiled and ready to evaluate or predict.
    """
    raise NotImplementedError("load() is not written yet: replace this line")
