"""Phase 1 runner (UNTRUSTED side): placeholder, being written."""

import os
import random


def seed_everything(seed: int, threads: int) -> None:
    """Seed Python, NumPy and Keras and make TensorFlow deterministic with fixed threads.

    Must be called before any model is built. Safe to call more than once.
    """
    import numpy as np
    import tensorflow as tf
    import keras

    random.seed(seed)
    np.random.seed(seed)
    keras.utils.set_random_seed(seed)
    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:
        pass  # already initialised in this process: the first call's setting holds
    tf.config.experimental.enable_op_determinism()
    os.environ["PYTHONHASHSEED"] = str(seed)
