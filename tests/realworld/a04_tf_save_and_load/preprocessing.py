import tensorflow as tf


def flatten_and_scale(images):
    return images.reshape(-1, 28 * 28) / 255.0


def reshape_for_cnn(images):
    return images.reshape(-1, 28, 28, 1) / 255.0


def one_hot(labels, num_classes=10):
    return tf.one_hot(labels, num_classes).numpy()
