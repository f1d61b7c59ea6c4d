import keras


def flatten_and_scale(x_train):
    return x_train.reshape(len(x_train), 784).astype("float32") / 255


def reshape_for_cnn(x_train):
    return x_train.reshape(len(x_train), 28, 28, 1).astype("float32") / 255


def one_hot(y_train, num_classes=10):
    return keras.utils.to_categorical(y_train, num_classes)
