from keras.utils import to_categorical

num_classes = 10  # 0 to 9


def flatten_and_scale(x_train):
    x_train = x_train.reshape(x_train.shape[0], 784)
    x_train = x_train.astype('float32')
    x_train /= 255
    return x_train


def reshape_for_cnn(x_train):
    x_train = x_train.reshape(x_train.shape[0], 28, 28, 1)
    x_train = x_train.astype('float32')
    x_train /= 255
    return x_train


def one_hot(y_train, num_classes=num_classes):
    return to_categorical(y_train, num_classes)
