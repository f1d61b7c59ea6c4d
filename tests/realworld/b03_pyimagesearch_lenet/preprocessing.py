# import the necessary packages
from tensorflow.keras import backend as K
from tensorflow.keras.utils import to_categorical


def flatten_and_scale(images):
    # scale the raw pixel intensities to the range [0, 1.0]
    data = images.reshape((images.shape[0], 28 * 28))
    return data.astype("float") / 255.0


def reshape_for_cnn(images):
    # if we are using "channels first" ordering, then reshape the design
    # matrix such that the matrix is:
    # num_samples x depth x rows x columns
    if K.image_data_format() == "channels_first":
        data = images.reshape((images.shape[0], 1, 28, 28))
    # otherwise, we are using "channels last" ordering, so the design
    # matrix shape should be: num_samples x rows x columns x depth
    else:
        data = images.reshape((images.shape[0], 28, 28, 1))
    return data.astype("float32") / 255.0


def one_hot(labels, num_classes=10):
    # transform the training and testing labels into vectors in the
    # range [0, classes] -- this generates a vector for each label
    return to_categorical(labels, num_classes)
