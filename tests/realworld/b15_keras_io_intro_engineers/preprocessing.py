import numpy as np
import keras

# Model / data parameters
num_classes = 10
input_shape = (28, 28, 1)


def reshape_for_cnn(x_train):
    # Scale images to the [0, 1] range
    x_train = x_train.astype("float32") / 255
    # Make sure images have shape (28, 28, 1)
    x_train = np.expand_dims(x_train, -1)
    return x_train


def flatten_and_scale(x_train):
    x_train = x_train.astype("float32") / 255
    return x_train.reshape(x_train.shape[0], -1)


def one_hot(y_train, num_classes=num_classes):
    return keras.utils.to_categorical(y_train, num_classes)
