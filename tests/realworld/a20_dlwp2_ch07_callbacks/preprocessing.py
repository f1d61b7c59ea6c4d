from tensorflow import keras


def flatten_and_scale(images):
    return images.reshape((len(images), 28 * 28)).astype("float32") / 255


def reshape_for_cnn(images):
    return images.reshape((len(images), 28, 28, 1)).astype("float32") / 255


def one_hot(labels, num_classes=10):
    return keras.utils.to_categorical(labels, num_classes)
