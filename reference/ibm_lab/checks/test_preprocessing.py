"""Checks of preprocessing.py: flatten_pixels, normalize_pixels, one_hot_encode.

The lab flattens first and normalises the flattened pixels in a second step, so each step is
checked on its own: flatten_pixels() keeps the pixel values (0..255), and normalize_pixels() is
judged on what it was given, so one mistake in flattening is not charged twice.
"""

import numpy as np
import pytest

from grader.check.checking import CheckFailure, check_array_contract, fail, note
from grader.check.keras_checks import check_categorical, check_preprocessed

WHAT = "the pixel values in row-major order, flattened to 784 columns"


def check_flattened(student, reference, call: str) -> None:
    """A flattening output: exact ndarray, the reference's shape, floats, the raw pixels."""
    function = call.split(":")[0]
    ref_info, ref_array = reference.output(call)
    info, array = student.output(call)
    check_array_contract(info, array, function, tuple(ref_info["shape"]))
    if not info.get("finite", True):
        fail(f"{function}() returned NaN or infinite values.")
    expected = ref_array[: len(array)].astype(np.float64)
    actual = array.astype(np.float64)
    if np.abs(actual - expected).max(initial=0.0) <= 1e-5:
        return
    if np.allclose(actual * 255, expected, atol=1e-3):
        fail(
            f"{function}() already divides the pixels by 255. The lab flattens first and "
            "normalises in a step of its own: keep the pixel values 0..255 here (reshape, then "
            "astype('float32')); normalize_pixels() scales them."
        )
    side = int(round(actual.shape[1] ** 0.5)) if actual.ndim == 2 else 0
    if side * side == actual.shape[-1] and side > 1:
        transposed = expected.reshape(len(expected), side, side).transpose(0, 2, 1)
        if np.allclose(actual, transposed.reshape(len(expected), -1), atol=1e-5):
            fail(
                f"{function}() transposes each image (rows and columns swapped): use "
                "images.reshape(n, 784), not transpose (or .T), to keep the pixels in order."
            )
    bad = int((np.abs(actual - expected) > 1e-5).sum())
    fail(
        f"{function}() has the right shape, but {bad} of {actual.size} values differ from "
        f"{WHAT} (largest difference {np.abs(actual - expected).max():.3g}): reshape the "
        "images to (n, 784) and convert them with astype('float32'), nothing else."
    )


def check_normalized(student, reference, call: str, source: str) -> None:
    """A normalising output (its input: `source`'s output): [0, 1], the input / 255."""
    function = call.split(":")[0]
    try:
        flat_info, flat = student.output(source)
        _, ref_flat = reference.output(source)
    except CheckFailure:
        flat = ref_flat = None
    same_input = (
        flat is not None
        and ref_flat is not None
        and flat.shape[1:] == ref_flat.shape[1:]
        and np.allclose(flat, ref_flat[: len(flat)], atol=1e-5)
    )
    if same_input or flat is None:
        # Given what the lab's flattening gives: compared with the lab's own normalisation.
        check_preprocessed(student, reference, call, "pixel / 255 of the flattened images")
        return
    # Their flatten_pixels() differs (its own check says how): judge this step on its input.
    note(
        f"{source.split(':')[0]}() gave something else than the lab's flattening (its own "
        f"check says what); {function}() is judged on what it was given."
    )
    info, array = student.output(call)
    check_array_contract(info, array, function, tuple(flat_info["shape"]))
    low, high = info.get("min", 0.0), info.get("max", 0.0)
    if high > 1.0 + 1e-6 or low < -1e-6:
        hint = " Divide the pixel values by 255." if high > 1.5 and low >= -1e-6 else ""
        fail(f"{function}() returned values from {low:g} to {high:g}; expected [0, 1].{hint}")
    rows = min(len(array), len(flat))
    mine = array[:rows].astype(np.float64)
    if np.allclose(mine, flat[:rows].astype(np.float64) / 255, atol=1e-5):
        return  # its input, divided by 255
    _, ref_array = reference.output(call)
    if mine.shape == ref_array[:rows].shape and np.allclose(mine, ref_array[:rows], atol=1e-5):
        return  # the lab's normalised pixels all the same (scaled in the other function)
    fail(f"{function}() does not return its input divided by 255 (pixel / 255).")


@pytest.mark.check(points=5, title="flatten_pixels() gives (n, 784) float32 pixels")
def test_flatten_pixels(student, reference):
    """Does flatten_pixels() flatten the training images like the lab (values unchanged)?"""
    check_flattened(student, reference, "flatten_pixels")


@pytest.mark.check(points=2, title="flatten_pixels() on the test images", visibility="hidden")
def test_flatten_pixels_test_images(student, reference):
    """Does flatten_pixels() treat unseen test images the same way?"""
    check_flattened(student, reference, "flatten_pixels:test")


@pytest.mark.check(points=5, title="normalize_pixels() scales the pixels to [0, 1]")
def test_normalize_pixels(student, reference):
    """Does normalize_pixels() divide the flattened training pixels by 255, like the lab?"""
    check_normalized(student, reference, "normalize_pixels", "flatten_pixels")


@pytest.mark.check(points=2, title="normalize_pixels() on the test images", visibility="hidden")
def test_normalize_pixels_test_images(student, reference):
    """Does normalize_pixels() treat the flattened test images the same way?"""
    check_normalized(student, reference, "normalize_pixels:test", "flatten_pixels:test")


@pytest.mark.check(points=6, title="one_hot_encode() encodes labels as one-hot float rows")
def test_one_hot_encode(student, reference):
    """Does one_hot_encode() give one float row per label with a single 1 in its column?"""
    check_categorical(student, reference, "one_hot_encode")
