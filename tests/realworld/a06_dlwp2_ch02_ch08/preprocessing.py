from tensorflow.keras.utils import to_categorical


def flatten_and_scale(images):
    images = images.reshape((len(images), 28 * 28))
    return images.astype("float32") / 255


def reshape_for_cnn(images):
    images = images.reshape((len(images), 28, 28, 1))
    return images.astype("float32") / 255


def one_hot(labels, num_classes=10):
    return to_categorical(labels, num_classes)
