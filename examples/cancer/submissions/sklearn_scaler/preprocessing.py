"""Preprocessing: standardise the 30 features with statistics of the training split only.

The features of a breast mass (radius, texture, smoothness, ...) come in very different units
and ranges: areas in the hundreds, smoothness around 0.1. A network learns better when every
feature has mean 0 and standard deviation 1. The mean and the standard deviation are
*statistics of the data*, so they are fitted on the training split only and then applied, as
they are, to any other split: a test set must stay data the model and its preprocessing have
never seen.
"""

import numpy as np
from sklearn.preprocessing import StandardScaler


def fit_scaler(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Fit the standardisation: the mean and the standard deviation of each feature.

    Args:
        features: (n, 30) float array of training features.

    Returns:
        (mean, std): two (30,) arrays, the statistics of each column of `features`.
    """
    return StandardScaler().fit(features)


def standardize(features: np.ndarray, scaler: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Standardise features with a fitted scaler: subtract the mean, divide by the std.

    Args:
        features: (n, 30) float array (training or test features).
        scaler: what `fit_scaler` returned for the TRAINING features.

    Returns:
        (n, 30) float32 array: (features - mean) / std, column by column.
    """
    return scaler.transform(features).astype("float32")
