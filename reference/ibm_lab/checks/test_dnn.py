"""Checks of models.py: classification_model(), compared layer by layer with the lab's."""

import pytest

from grader.check import keras_checks as kc

MODEL = "dnn"


@pytest.mark.check(points=3, title="Model input shape")
def test_dnn_input_shape(student, reference):
    """Does the model take flat vectors of 784 pixels, like the lab's?"""
    kc.check_input_shape(student, reference, MODEL)


@pytest.mark.check(points=6, title="Model layer sequence")
def test_dnn_layers(student, reference):
    """Does the model have the lab's layers, in order, with the same activations?"""
    kc.check_layer_sequence(student, reference, MODEL)


@pytest.mark.check(points=4, title="Model output shapes")
def test_dnn_output_shapes(student, reference):
    """Does every layer produce the lab's output shape (784, then 100, then 10 units)?"""
    kc.check_output_shapes(student, reference, MODEL)


@pytest.mark.check(points=5, title="Model parameter counts")
def test_dnn_parameters(student, reference):
    """Does every layer have the lab's number of parameters?"""
    kc.check_parameters(student, reference, MODEL)


@pytest.mark.check(points=4, title="Model outputs class probabilities (softmax)")
def test_dnn_softmax_output(student, reference):
    """Does the model end in a softmax whose rows sum to 1?"""
    kc.check_softmax_output(student, reference, MODEL)


@pytest.mark.check(points=3, title="Model compile settings")
def test_dnn_compile(student, reference):
    """Is the model compiled with adam, categorical cross-entropy and an accuracy metric?"""
    kc.check_compile(student, reference, MODEL)
