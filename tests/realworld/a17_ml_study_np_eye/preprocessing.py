import numpy as np


def flatten_and_scale(X_train):
    X_train = X_train.reshape(X_train.shape[0], -1)/255
    return X_train


def reshape_for_cnn(X_train):
    X_train = X_train.reshape(X_train.shape[0], 28, 28, 1)/255
    return X_train


def one_hot(y_train, num_classes=10):
    y_train = np.eye(num_classes)[y_train]
    return y_train
