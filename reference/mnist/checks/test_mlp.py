"""Checks of models.py: build_mlp(), compared layer by layer with the reference."""

import pytest

from grader.check import keras_checks as kc


@pytest.mark.check(points=2, title="MLP input shape")
def test_mlp_input_shape(student, reference):
    """Does the MLP take inputs of the reference's shape?"""
    kc.check_input_shape(student, reference, "mlp")


@pytest.mark.check(points=5, title="MLP layer sequence")
def test_mlp_layers(student, reference):
    """Does the MLP have the reference's layers, in order, with the same activations?"""
    kc.check_layer_sequence(student, reference, "mlp")


@pytest.mark.check(points=3, title="MLP output shapes")
def test_mlp_output_shapes(student, reference):
    """Does every layer of the MLP produce the reference's output shape?"""
    kc.check_output_shapes(student, reference, "mlp")


@pytest.mark.check(points=4, title="MLP parameter counts")
def test_mlp_parameters(student, reference):
    """Does every layer of the MLP have the reference's number of parameters?"""
    kc.check_parameters(student, reference, "mlp")


@pytest.mark.check(points=3, title="MLP outputs class probabilities (softmax)")
def test_mlp_softmax_output(student, reference):
    """Does the MLP end in a softmax whose rows sum to 1?"""
    kc.check_softmax_output(student, reference, "mlp")


@pytest.mark.check(points=3, title="MLP compile settings")
def test_mlp_compile(student, reference):
    """Is the MLP compiled with the reference's loss, optimizer and an accuracy metric?"""
    kc.check_compile(student, reference, "mlp")
