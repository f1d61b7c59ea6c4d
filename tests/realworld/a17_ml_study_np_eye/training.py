from keras.models import load_model


def train(model, X_train, y_train, *, epochs, batch_size, validation_split=0.0):
    return model.fit(X_train, y_train, epochs=epochs, batch_size=batch_size,
                     validation_split=validation_split)


def evaluate(model, X_test, y_test):
    loss, accuracy = model.evaluate(X_test, y_test)
    return loss, accuracy


def save(model, path):
    model.save(path)


def load(path):
    return load_model(path)
