"""Hostile: returns the reference's own output if the sandbox shows it."""

import glob

import keras
import numpy as np


def _reference_output(key):
    for path in glob.glob("/sandbox/*.npz") + glob.glob("/job/**/*.npz", recursive=True):
        with np.load(path) as data:
            if key in data.files:
                return data[key]
    raise RuntimeError(f"the reference's {key} is nowhere to be seen")


def flatten_and_scale(images):
    return _reference_output("fb_flat_train" if len(images) > 1000 else "fb_flat_test")


def reshape_for_cnn(images):
    return _reference_output("fb_cnn_train")


def one_hot(labels, num_classes=10):
    return keras.utils.to_categorical(labels, num_classes).astype("float32")
