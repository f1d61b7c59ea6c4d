import os

import keras


def train(model, x, y, *, epochs, batch_size, validation_split=0.0):
    return model.fit(x, y, epochs=epochs, batch_size=batch_size,
                     validation_split=validation_split, verbose=2)


def evaluate(model, x, y):
    loss, accuracy = model.evaluate(x, y, verbose=0)
    return loss, accuracy


# Keras 3 warns that HDF5 is a legacy format and recommends .keras, so I save in the
# native format next to the .h5 name I am given.
def _native(path):
    return os.path.splitext(path)[0] + ".keras"


def save(model, path):
    model.save(_native(path))


def load(path):
    return keras.models.load_model(_native(path))
