# -*- coding: utf-8 -*-
"""
MNIST assignment, part 2: the networks
"""
from keras.models import Sequential
from keras.layers import Dense, Activation, Convolution2D, MaxPooling2D, Flatten
from keras.optimizers import RMSprop


def build_mlp(input_dim=784, num_classes=10):
    # Another way to build your neural net
    model = Sequential([
        Dense(32, input_dim=input_dim),  # Input value 784 (28 * 28) => output value 32
        Activation('relu'),              # Conversion of excitation function into nonlinear data
        Dense(num_classes),              # The output is a result of 10 units
        Activation('softmax'),           # The excitation function calls softmax for classification
    ])

    # Another way to define your optimizer
    rmsprop = RMSprop(lr=0.001, rho=0.9, epsilon=1e-08, decay=0.0)  # Learning rate lr

    # We add metrics to get more results you want to see
    model.compile(
        optimizer=rmsprop,                # Accelerating neural network
        loss='categorical_crossentropy',  # loss function
        metrics=['accuracy'],             # Calculation error or accuracy
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
