import keras


def flatten_and_scale(x):
    return x.reshape(-1, 784).astype('float32') / 255.


def reshape_for_cnn(x):
    return x.reshape(-1, 28, 28, 1).astype('float32') / 255.


def one_hot(y, num_classes=10):
    return keras.ops.convert_to_numpy(keras.ops.one_hot(y, num_classes))
