"""The classification model of the lab: a dense network on flattened images.

Two hidden layers of rectified linear units, then a softmax layer with one unit per class, so
that the network outputs a probability for each digit. It is compiled for categorical
cross-entropy on one-hot labels, with the Adam optimizer.
"""

from keras import Input
from keras.layers import Dense
from keras.models import Sequential


def classification_model(num_pixels: int = 784, num_classes: int = 10) -> Sequential:
    """Define and compile the lab's classification model.

    Architecture: Dense(num_pixels, relu) -> Dense(100, relu) -> Dense(num_classes, softmax),
    taking flat vectors of `num_pixels` pixels. Compiled with optimizer 'adam', loss
    'categorical_crossentropy' and metrics ['accuracy'].

    Args:
        num_pixels: length of one flattened image (28 * 28 = 784), which is also the number
            of units of the first hidden layer.
        num_classes: number of output classes.

    Returns:
        The compiled, untrained model.
    """
    # BEGIN SOLUTION
    # create model
    model = Sequential()
    model.add(Input(shape=(num_pixels,)))
    model.add(Dense(num_pixels, activation="relu"))
    model.add(Dense(100, activation="relu"))
    model.add(Dense(num_classes, activation="softmax"))

    # compile model
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    return model
    # END SOLUTION
