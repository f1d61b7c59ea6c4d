# preprocessing for the MNIST handwritten digit dataset
# (How to Develop a CNN From Scratch for MNIST Handwritten Digit Classification, Jason Brownlee)
from tensorflow.keras.utils import to_categorical


# scale pixels
def prep_pixels(data):
    # convert from integers to floats
    data_norm = data.astype('float32')
    # normalize to range 0-1
    data_norm = data_norm / 255.0
    # return normalized images
    return data_norm


def flatten_and_scale(images):
    # flatten to a single vector per image for the MLP
    images = images.reshape((images.shape[0], 28 * 28))
    return prep_pixels(images)


def reshape_for_cnn(images):
    # reshape dataset to have a single channel
    images = images.reshape((images.shape[0], 28, 28, 1))
    return prep_pixels(images)


def one_hot(labels, num_classes=10):
    # one hot encode target values
    return to_categorical(labels, num_classes)
