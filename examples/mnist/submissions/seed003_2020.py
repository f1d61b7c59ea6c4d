# -*- coding: utf-8 -*-
"""
Created on Fri Feb 14 16:43:21 2020
@author: Eastmount CSDN YXZ
O(∩_∩)O Wuhan Fighting!!!

(MNIST assignment: the tutorial's code, put into the functions the assignment asks for)
"""
import numpy as np
from keras.datasets import mnist
from keras.utils import np_utils
from keras.models import Sequential, load_model
from keras.layers import Dense, Activation, Convolution2D, MaxPooling2D, Flatten
from keras.optimizers import RMSprop


#---------------------------Loading data and preprocessing---------------------------
def flatten_and_scale(images):
    return images.reshape(images.shape[0], -1) / 255  # normalize


def reshape_for_cnn(images):
    return images.reshape(images.shape[0], 28, 28, 1) / 255  # normalize


def one_hot(labels, num_classes=10):
    # Convert the class vector into a class matrix and the number 5 into a 0 0 0 0 0 1 0 0 0 0 matrix
    return np_utils.to_categorical(labels, num_classes=num_classes)


#---------------------------Create neural network layer---------------------------
def build_mlp(input_dim=784, num_classes=10):
    # Another way to build your neural net
    model = Sequential([
        Dense(32, input_dim=input_dim),  # Input value 784 (28 * 28) = > output value 32
        Activation('relu'),  # Conversion of excitation function into nonlinear data
        Dense(num_classes),  # The output is a result of 10 units
        Activation('softmax'),  # The excitation function calls softmax for classification
    ])

    # Another way to define your optimizer
    rmsprop = RMSprop(lr=0.001, rho=0.9, epsilon=1e-08, decay=0.0)  # Learning rate lr

    # We add metrics to get more results you want to see
    # Activating neural network
    model.compile(
        optimizer=rmsprop,  # Accelerating neural network
        loss='categorical_crossentropy',  # loss function
        metrics=['accuracy'],  # Calculation error or accuracy
    )
    return model


def build_cnn(input_shape=(28, 28, 1), num_classes=10):
    model = Sequential()
    model.add(Convolution2D(32, 3, 3, border_mode='same', input_shape=input_shape))
    model.add(Activation('relu'))
    model.add(MaxPooling2D(pool_size=(2, 2)))
    model.add(Convolution2D(64, 3, 3, border_mode='same'))
    model.add(Activation('relu'))
    model.add(MaxPooling2D(pool_size=(2, 2)))
    model.add(Convolution2D(64, 3, 3, border_mode='same'))
    model.add(Activation('relu'))
    model.add(Flatten())
    model.add(Dense(64))
    model.add(Activation('relu'))
    model.add(Dense(num_classes))
    model.add(Activation('softmax'))

    rmsprop = RMSprop(lr=0.001, rho=0.9, epsilon=1e-08, decay=0.0)
    model.compile(optimizer=rmsprop, loss='categorical_crossentropy', metrics=['accuracy'])
    return model


#------------------------------Training and prediction------------------------------
def train(model, x, y, epochs, batch_size, validation_split=0.0):
    print("Training")
    return model.fit(x, y, nb_epoch=epochs, batch_size=batch_size,
                     validation_split=validation_split)  # Training times and size of each batch


def evaluate(model, x, y):
    print("Testing")
    loss, accuracy = model.evaluate(x, y)
    print("loss:", loss)
    print("accuracy:", accuracy)
    return loss, accuracy


def save(model, path):
    model.save(path)


def load(path):
    return load_model(path)


if __name__ == "__main__":
    # Download MNIST data
    # X shape(60000, 28*28) y shape(10000, )
    (X_train, y_train), (X_test, y_test) = mnist.load_data()
    X_train, X_test = flatten_and_scale(X_train), flatten_and_scale(X_test)
    y_train, y_test = one_hot(y_train), one_hot(y_test)
    model = build_mlp()
    train(model, X_train, y_train, epochs=2, batch_size=32)
    evaluate(model, X_test, y_test)
