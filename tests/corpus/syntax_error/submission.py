import numpy as np


def flatten_and_scale(images)
    return images.reshape(len(images), -1) / 255
