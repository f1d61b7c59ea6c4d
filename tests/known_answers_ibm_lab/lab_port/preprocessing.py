# flatten images into one-dimensional vector, normalize, one hot encode (IBM lab, week 3)
from keras.utils import to_categorical


def flatten_pixels(images):
    num_pixels = images.shape[1] * images.shape[2]  # find size of one-dimensional vector
    return images.reshape(images.shape[0], num_pixels).astype('float32')  # flatten images


def normalize_pixels(pixels):
    # normalize inputs from 0-255 to 0-1
    return pixels / 255


def one_hot_encode(labels, num_classes=10):
    # one hot encode outputs
    return to_categorical(labels, num_classes)
