from __future__ import print_function

from keras.models import load_model


def train(model, x, y, *, epochs, batch_size, validation_split=0.0):
    return model.fit(x, y, batch_size=batch_size, epochs=epochs, verbose=1,
                     validation_split=validation_split)


def evaluate(model, x, y):
    score = model.evaluate(x, y, verbose=0)
    return score[0], score[1]


def save(model, path):
    model.save(path)


def load(path):
    return load_model(path)
