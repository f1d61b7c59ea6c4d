from tensorflow import keras


def train(model, x, y, *, epochs, batch_size, validation_split=0.0):
    history = model.fit(x, y,
                        batch_size=batch_size,
                        epochs=epochs,
                        validation_split=validation_split)
    return history


def evaluate(model, x, y):
    test_scores = model.evaluate(x, y, verbose=2)
    print('Test loss:', test_scores[0])
    print('Test accuracy:', test_scores[1])
    return test_scores[0], test_scores[1]


def save(model, path):
    model.save(path)


def load(path):
    return keras.models.load_model(path)
