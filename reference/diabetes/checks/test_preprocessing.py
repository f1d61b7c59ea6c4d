"""Checks of preprocessing.py: standardize() with the scaler fit_scaler() fitted."""

import pytest

from grader.check.keras_checks import check_matches_reference

WHAT = "(features - training mean) / training standard deviation, column by column"


@pytest.mark.check(points=10, title="standardize() gives each training feature mean 0, std 1")
def test_standardize(student, reference):
    """Does standardize(x_train, fit_scaler(x_train)) match the reference?"""
    check_matches_reference(student, reference, "standardize", WHAT)


@pytest.mark.check(points=8, title="standardize() on the test features", visibility="hidden")
def test_standardize_test_features(student, reference):
    """Does standardize(x_test, fit_scaler(x_train)) match the reference?"""
    check_matches_reference(student, reference, "standardize:test", WHAT)
