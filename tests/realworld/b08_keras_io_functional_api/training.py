import keras


def train(model, x_train, y_train, *, epochs, batch_size, validation_split=0.0):
    history = model.fit(x_train, y_train, batch_size=batch_size, epochs=epochs,
                        validation_split=validation_split)
    return history


def evaluate(model, x_test, y_test):
    test_scores = model.evaluate(x_test, y_test, verbose=2)
    print("Test loss:", test_scores[0])
    print("Test accuracy:", test_scores[1])
    return test_scores[0], test_scores[1]


def save(model, path):
    model.save(path)


def load(path):
    # Recreate the exact same model purely from the file:
    return keras.models.load_model(path)
