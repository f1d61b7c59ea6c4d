"""Preprocessing: standardise the 10 features with statistics of the training split only.

The ten baseline measurements of a patient (age, sex, body mass index, blood pressure and six
blood serum measurements) come in very different units and ranges: ages in years, serum values
in the hundreds, sex coded 1 or 2. A network learns better when every feature has mean 0 and
standard deviation 1. The mean and the standard deviation are
*statistics of the data*, so they are fitted on the training split only and then applied, as
they are, to any other split: a test set must stay data the model and its preprocessing have
never seen.
"""

import numpy as np


def fit_scaler(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Fit the standardisation: the mean and the standard deviation of each feature.

    Args:
        features: (n, 10) float array of training features.

    Returns:
        (mean, std): two (10,) arrays, the statistics of each column of `features`.
    """
    return features.mean(axis=0), features.std(axis=0)


def standardize(features: np.ndarray, scaler: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Standardise features with a fitted scaler: subtract the mean, divide by the std.

    Args:
        features: (n, 10) float array (training or test features).
        scaler: what `fit_scaler` returned for the TRAINING features.

    Returns:
        (n, 10) float32 array: (features - mean) / std, column by column.
    """
    mean, std = scaler
    return ((features - mean) / std).astype("float32")
