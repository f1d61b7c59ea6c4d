"""The classifier: a small dense network with one sigmoid output.

A binary classification (malignant or benign) needs a single output unit whose sigmoid
activation gives the probability of the positive class (1, malignant). It is compiled for the
binary cross-entropy on labels 0/1, with the Adam optimizer and the accuracy metric.
"""

from keras import Input, layers, models


def build_model(input_dim: int = 30) -> models.Sequential:
    """Define and compile the classifier.

    Architecture: Dense(16, relu) -> Dense(1, sigmoid), taking `input_dim` standardised
    features. Compiled with optimizer 'adam', loss 'binary_crossentropy' and metrics
    ['accuracy'].

    Args:
        input_dim: number of features of one example (30).

    Returns:
        The compiled, untrained model.
    """
    model = models.Sequential(
        [
            Input(shape=(input_dim,)),
            layers.Dense(16, activation="relu"),
            layers.Dense(2, activation="softmax"),
        ]
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model
