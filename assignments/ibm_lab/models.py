"""The classification model of the lab: a dense network on flattened images.

Two hidden layers of rectified linear units, then a softmax layer with one unit per class, so
that the network outputs a probability for each digit. It is compiled for categorical
cross-entropy on one-hot labels, with the Adam optimizer.
"""

from keras import Input  # noqa: F401
from keras.layers import Dense  # noqa: F401
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
    raise NotImplementedError("classification_model() is not written yet: replace this line")
