"""Ben's work: a renamed copy of ada's (the demo's similar pair)."""
import numpy as np
from keras.utils import to_categorical

def flatten_and_scale(images):
    tmp_0 = images.shape[0]
    tmp_1 = images.reshape(tmp_0, 28 * 28).astype('float32')
    return tmp_1 / 255.0

def reshape_for_cnn(images):
    x = images.reshape(images.shape[0], 28, 28, 1).astype('float32')
    return x / 255.0

def one_hot(labels, num_classes=10):
    return to_categorical(labels, num_classes).astype(np.float32)
