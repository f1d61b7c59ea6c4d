"""The regression model: a dense network with one linear output.

Predicting a number (the disease progression one year after baseline) needs a single output unit
with no activation, so that it can take any value. It is compiled for the mean squared error
(mse), with the RMSprop optimizer, and reports the mean absolute error (mae): how far off a
prediction is, on average, in the target's own units.
"""

from keras import Input, layers, models


def build_model(input_dim: int = 10) -> models.Sequential:
    """Define and compile the regression model.

    Architecture: Dense(64, relu) -> Dense(64, relu) -> Dense(1), taking `input_dim`
    standardised features. Compiled with optimizer 'rmsprop', loss 'mse' and metrics ['mae'].

    Args:
        input_dim: number of features of one example (10).

    Returns:
        The compiled, untrained model.
    """
    model = models.Sequential(
        [
            Input(shape=(input_dim,)),
            layers.Dense(64, activation="relu"),
            layers.Dense(64, activation="relu"),
            layers.Dense(1, activation="relu"),
        ]
    )
    model.compile(optimizer="rmsprop", loss="mse", metrics=["mae"])
    return model
