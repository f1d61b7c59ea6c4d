# import the necessary packages
from tensorflow.keras.models import load_model


def train(model, x, y, *, epochs, batch_size, validation_split=0.0):
    print("[INFO] training...")
    H = model.fit(x, y, validation_split=validation_split,
                  batch_size=batch_size, epochs=epochs, verbose=1)
    return H


def evaluate(model, x, y):
    # show the accuracy on the testing set
    print("[INFO] evaluating...")
    (loss, accuracy) = model.evaluate(x, y, batch_size=128, verbose=1)
    print("[INFO] accuracy: {:.2f}%".format(accuracy * 100))
    return loss, accuracy


def save(model, path):
    print("[INFO] dumping weights to file...")
    model.save(path, overwrite=True)


def load(path):
    return load_model(path)
