"""Checks of models.py: build_cnn(), compared layer by layer with the reference."""

import pytest

from grader.check import keras_checks as kc


@pytest.mark.check(points=2, title="CNN input shape")
def test_cnn_input_shape(student, reference):
    """Does the CNN take inputs of the reference's shape?"""
    kc.check_input_shape(student, reference, "cnn")


@pytest.mark.check(points=5, title="CNN layer sequence")
def test_cnn_layers(student, reference):
    """Does the CNN have the reference's layers, in order, with the same activations?"""
    kc.check_layer_sequence(student, reference, "cnn")


@pytest.mark.check(points=3, title="CNN output shapes")
def test_cnn_output_shapes(student, reference):
    """Does every layer of the CNN produce the reference's output shape?"""
    kc.check_output_shapes(student, reference, "cnn")


@pytest.mark.check(points=4, title="CNN parameter counts")
def test_cnn_parameters(student, reference):
    """Does every layer of the CNN have the reference's number of parameters?"""
    kc.check_parameters(student, reference, "cnn")


@pytest.mark.check(points=3, title="CNN outputs class probabilities (softmax)")
def test_cnn_softmax_output(student, reference):
    """Does the CNN end in a softmax whose rows sum to 1?"""
    kc.check_softmax_output(student, reference, "cnn")


@pytest.mark.check(points=3, title="CNN compile settings")
def test_cnn_compile(student, reference):
    """Is the CNN compiled with the reference's loss, optimizer and an accuracy metric?"""
    kc.check_compile(student, reference, "cnn")
