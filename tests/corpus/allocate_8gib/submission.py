"""Asks for 8 GiB, more than the sandbox's address-space limit."""
import numpy as np


def flatten_and_scale(images):
    return np.ones(8 << 30, dtype=np.uint8)
