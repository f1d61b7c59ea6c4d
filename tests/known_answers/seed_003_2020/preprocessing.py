# -*- coding: utf-8 -*-
"""
MNIST assignment, part 1: data preprocessing
Adapted from "Keras building classification neural network and MNIST" (Eastmount, Feb 2020)
"""
import numpy as np
from keras.utils import np_utils


def flatten_and_scale(images):
    # X shape(60000, 28*28)
    return images.reshape(images.shape[0], -1) / 255  # normalize


def reshape_for_cnn(images):
    # add the channel axis for the CNN
    return images.reshape(images.shape[0], 28, 28, 1) / 255  # normalize


def one_hot(labels, num_classes=10):
    # Convert the class vector into a class matrix: the number 5 becomes 0 0 0 0 0 1 0 0 0 0
    return np_utils.to_categorical(labels, num_classes=num_classes)
