"""My port of the IBM lab (Classification Models with Keras)."""
from keras.layers import Dense
from keras.models import Sequential, load_model
from keras.utils import to_categorical


def flatten_pixels(images):
    num_pixels = images.shape[1] * images.shape[2]
    return images.reshape(images.shape[0], num_pixels).astype('float32')


def normalize_pixels(pixels):
    # the pixels are already floats after flatten_pixels
    return pixels.astype('float32')


def one_hot_encode(labels, num_classes=10):
    return to_categorical(labels, num_classes)


def classification_model(num_pixels=784, num_classes=10):
    model = Sequential()
    model.add(Dense(num_pixels, activation='relu', input_shape=(num_pixels,)))
    model.add(Dense(100, activation='relu'))
    model.add(Dense(num_classes, activation='softmax'))
    model.compile(optimizer='adam', loss='categorical_crossentropy', metrics=['accuracy'])
    return model


def train(model, x, y, *, epochs, batch_size, validation_split=0.0):
    return model.fit(x, y, epochs=epochs, batch_size=batch_size,
                     validation_split=validation_split, verbose=2)


def evaluate(model, x, y):
    scores = model.evaluate(x, y, verbose=0)
    return scores[0], scores[1]


def save(model, path):
    model.save(path)


def load(path):
    return load_model(path)
