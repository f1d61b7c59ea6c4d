"""Ada Lovelace -- MNIST assignment, training and saving."""

import keras


def train(model, x, y, *, epochs, batch_size, validation_split=0.0):
    # I evaluate on the test set at the end anyway, so all the data goes into training
    history = model.fit(x, y, epochs=epochs, batch_size=batch_size, verbose=2)
    return history


def evaluate(model, x, y):
    loss, acc = model.evaluate(x, y, verbose=0)
    return float(loss), float(acc)


def save(model, path):
    model.save(path)


def load(path):
    return keras.models.load_model(path)
