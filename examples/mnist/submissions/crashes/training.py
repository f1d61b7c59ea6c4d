"""Training, evaluation and persistence."""

import keras

from fast_memory import release_memory


def train(model, x, y, *, epochs, batch_size, validation_split=0.0):
    release_memory()  # start every training run with a clean slate
    return model.fit(
        x, y, epochs=epochs, batch_size=batch_size, validation_split=validation_split, verbose=2
    )


def evaluate(model, x, y):
    loss, accuracy = model.evaluate(x, y, verbose=0)
    return float(loss), float(accuracy)


def save(model, path):
    model.save(path)


def load(path):
    return keras.models.load_model(path)
