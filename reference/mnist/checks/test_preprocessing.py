"""Checks of preprocessing.py: flatten_and_scale, reshape_for_cnn, one_hot."""

import pytest

from grader.check.keras_checks import check_categorical, check_preprocessed


@pytest.mark.check(points=4, title="flatten_and_scale() gives (n, 784) floats in [0, 1]")
def test_flatten_and_scale(student, reference):
    """Does flatten_and_scale() flatten and scale the training images like the reference?"""
    check_preprocessed(student, reference, "flatten_and_scale", "pixel / 255, row by row")


@pytest.mark.check(points=2, title="flatten_and_scale() on the test images", visibility="hidden")
def test_flatten_and_scale_test_images(student, reference):
    """Does flatten_and_scale() treat unseen test images the same way?"""
    check_preprocessed(student, reference, "flatten_and_scale:test", "pixel / 255, row by row")


@pytest.mark.check(points=4, title="reshape_for_cnn() gives (n, 28, 28, 1) floats in [0, 1]")
def test_reshape_for_cnn(student, reference):
    """Does reshape_for_cnn() add the channel axis and scale like the reference?"""
    check_preprocessed(student, reference, "reshape_for_cnn", "pixel / 255 with a channel axis")


@pytest.mark.check(points=5, title="one_hot() encodes labels as one-hot float rows")
def test_one_hot(student, reference):
    """Does one_hot() give one float row per label with a single 1 in the label's column?"""
    check_categorical(student, reference, "one_hot")
