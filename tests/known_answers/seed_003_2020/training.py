# -*- coding: utf-8 -*-
"""
MNIST assignment, part 3: training and prediction
"""
from keras.models import load_model


def train(model, x, y, epochs, batch_size, validation_split=0.0):
    print("Training")
    # Training times and size of each batch
    history = model.fit(x, y, nb_epoch=epochs, batch_size=batch_size,
                        validation_split=validation_split)
    return history


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
