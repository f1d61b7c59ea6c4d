"""Train, evaluate, save and load the regression model."""

import keras


def train(
    model, x, y, *, epochs: int, batch_size: int, validation_split: float = 0.0
) -> keras.callbacks.History:
    """Fit the compiled model on (x, y) and return the training History.

    Use exactly the epochs, batch size and validation split you are given: the grader sets the
    training budget through them.

    Args:
        model: a compiled model.
        x: standardised features.
        y: targets, the disease progression one year after baseline.
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
        model: a trained model compiled with the mae metric.
        x: standardised features.
        y: targets.

    Returns:
        (loss, mae) as two Python floats.
    """
    raise NotImplementedError("evaluate() is not written yet: replace this line")


def save(model, path: str) -> None:
    """Save the whole trained model to `path` (a `.keras` file).

    Args:
        model: the model to save.
        path: destination file, ending in `.keras`.
    """
    raise NotImplementedError("save() is not written yet: replace this line")


def load(path: str) -> keras.Model:
    """Load a model saved by `save`.

    Args:
        path: a `.keras` file written by `save`.

    Returns:
        The loaded model, compiled and ready to evaluate or predict.
    """
    raise NotImplementedError("load() is not written yet: replace this line")
