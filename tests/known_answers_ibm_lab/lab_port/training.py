from keras.models import load_model


def train(model, x, y, *, epochs, batch_size, validation_split=0.0):
    # fit the model
    return model.fit(x, y, epochs=epochs, batch_size=batch_size,
                     validation_split=validation_split, verbose=2)


def evaluate(model, x, y):
    # evaluate the model
    scores = model.evaluate(x, y, verbose=0)
    return scores[0], scores[1]


def save(model, path):
    model.save(path)


def load(path):
    pretrained_model = load_model(path)
    return pretrained_model
