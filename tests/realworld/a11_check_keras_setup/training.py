from keras.models import load_model


def train(model, x_train, y_train, *, epochs, batch_size, validation_split=0.0):
    # Train...
    history = model.fit(x_train, y_train, batch_size=batch_size,
                        epochs=epochs, validation_split=validation_split)
    return history


def evaluate(model, x_test, y_test):
    score = model.evaluate(x_test, y_test)
    print('Loss:', score[0], '| Accuracy:', score[1])
    return score[0], score[1]


def save(model, path):
    model.save(path)


def load(path):
    return load_model(path)
