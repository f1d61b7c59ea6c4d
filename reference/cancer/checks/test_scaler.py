"""The lab's own check, written by its author: is the scaler fitted on the training split only?

The classic leak of tabular machine learning is a scaler fitted on all the data, test split
included (`StandardScaler().fit(np.vstack([x_train, x_test]))`), or refitted on the test split
(`fit_transform(x_test)`): the test set then shapes the preprocessing, and the test score is no
longer a score on unseen data. The grader can tell, because it calls the student's fit_scaler()
on the training features and their standardize() on the test features, and it knows both
splits: it compares what came back with the three ways of standardising the test features.

This is the worked example of a custom check (docs/authoring.md): a plain pytest function with
the `check` marker, using the fixtures `student` (the run as checks see it), `training` and
`heldout` (the data every run got; the held-out labels never enter a sandbox), and failing with
`fail()` from grader.check.checking, whose message is the student's feedback.
"""

import numpy as np
import pytest

from grader.check.checking import fail, note

RTOL = 3e-3
"""Relative tolerance: the standard deviation with n - 1 (pandas' default) is accepted."""


def standardized(x: np.ndarray, fitted_on: np.ndarray) -> np.ndarray:
    mean, std = fitted_on.mean(axis=0), fitted_on.std(axis=0)
    return (x - mean) / np.where(std > 0, std, 1.0)


@pytest.mark.check(
    points=10, title="The scaler is fitted on the training split only", part="preprocessing"
)
def test_scaler_fitted_on_training_only(student, training, heldout):
    """Are the test features standardised with the training split's mean and standard
    deviation, not the test split's own, nor both splits' together?"""
    student.require("fit_scaler")
    info, scaled = student.output("standardize:test")
    x_train = np.asarray(training[0], np.float64)
    x_test = np.asarray(heldout[0], np.float64)
    if scaled is None or scaled.shape != x_test.shape:
        fail(
            f"standardize() on the test features returned {info.get('shape') or info.get('type')}"
            f"; expected an array of their shape, {x_test.shape}."
        )
    ways = {
        "train": standardized(x_test, x_train),
        "test": standardized(x_test, x_test),
        "both": standardized(x_test, np.concatenate([x_train, x_test])),
    }
    scaled = np.asarray(scaled, np.float64)
    close = {
        way: bool(np.all(np.abs(scaled - value) <= RTOL * np.abs(value) + 1e-4))
        for way, value in ways.items()
    }
    if close["train"]:
        note("the test features are standardised with the training split's statistics.")
        return
    if close["test"]:
        fail(
            "standardize() refits on the data it is given: the test features were standardised "
            "with the TEST split's own mean and standard deviation. Fit once, on the training "
            "split (fit_scaler(x_train)), and apply those statistics to every split: the test "
            "set must stay data that nothing was fitted on."
        )
    if close["both"]:
        fail(
            "the scaler was fitted on the training and test features together: the test split "
            "leaked into the preprocessing, so the test score is no longer a score on unseen "
            "data. Fit the scaler on the training features only."
        )
    fail(
        "the test features are not standardised with the training split's mean and standard "
        "deviation (nor with the test split's own): use the statistics fit_scaler() returned "
        "for the training features, (x_test - mean) / std."
    )
