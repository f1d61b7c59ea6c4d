import keras

from models import CustomModel


def train(model, x, y, *, epochs, batch_size, validation_split=0.0):
    # Just use `fit` as usual
    return model.fit(x, y, epochs=epochs, batch_size=batch_size,
                     validation_split=validation_split)


def evaluate(model, x, y):
    loss, acc = model.evaluate(x, y, verbose=0)
    return loss, acc


def save(model, path):
    model.save(path)


def load(path):
    return keras.models.load_model(path, custom_objects={"CustomModel": CustomModel})
