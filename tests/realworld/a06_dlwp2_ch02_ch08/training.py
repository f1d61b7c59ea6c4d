from tensorflow import keras


def train(model, x, y, *, epochs, batch_size, validation_split=0.0):
    return model.fit(x, y, epochs=epochs, batch_size=batch_size,
                     validation_split=validation_split)


def evaluate(model, x, y):
    test_loss, test_acc = model.evaluate(x, y)
    print(f"test_acc: {test_acc}")
    return test_loss, test_acc


def save(model, path):
    model.save(path)


def load(path):
    return keras.models.load_model(path)
