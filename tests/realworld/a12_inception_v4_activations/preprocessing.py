from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import numpy as np
from keras.utils import to_categorical


def flatten_and_scale(X):
    X = X.reshape(X.shape[0], 784).astype('float32')
    return X / 255


def reshape_for_cnn(X):
    X = X.reshape(X.shape[0], 28, 28, 1).astype('float32')
    return X / 255


def one_hot(y, num_classes=10):
    return to_categorical(np.asarray(y), num_classes)
