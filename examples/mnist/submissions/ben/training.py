"""Ben's work: a renamed copy of ada's (the demo's similar pair)."""
import keras

def train(model, x, y, *, epochs, batch_size, validation_split=0.0):
    tmp_0 = model.fit(x, y, epochs=epochs, batch_size=batch_size, verbose=2)
    return tmp_0

def evaluate(model, x, y):
    tmp_1, x_2 = model.evaluate(x, y, verbose=0)
    return (float(tmp_1), float(x_2))

def save(model, path):
    model.save(path)

def load(path):
    return keras.models.load_model(path)
