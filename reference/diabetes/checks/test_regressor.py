"""Checks of models.py: build_model(), compared layer by layer with the reference."""

import pytest

from grader.check import keras_checks as kc

MODEL = "regressor"


@pytest.mark.check(points=3, title="Regression model input shape")
def test_regressor_input_shape(student, reference):
    """Does the regressor take the 10 features of one patient?"""
    kc.check_input_shape(student, reference, MODEL)


@pytest.mark.check(points=6, title="Regression model layer sequence")
def test_regressor_layers(student, reference):
    """Does the regressor have the reference's layers, in order, with the same activations?"""
    kc.check_layer_sequence(student, reference, MODEL)


@pytest.mark.check(points=4, title="Regression model output shapes")
def test_regressor_output_shapes(student, reference):
    """Does every layer produce the reference's output shape (64, 64, then 1 unit)?"""
    kc.check_output_shapes(student, reference, MODEL)


@pytest.mark.check(points=5, title="Regression model parameter counts")
def test_regressor_parameters(student, reference):
    """Does every layer have the reference's number of parameters?"""
    kc.check_parameters(student, reference, MODEL)


@pytest.mark.check(points=5, title="Regression model ends in one linear unit")
def test_regressor_linear_output(student, reference):
    """Does the regression model output one number, with no activation?"""
    kc.check_output_activation(student, reference, MODEL)


@pytest.mark.check(points=5, title="Regression model compile settings")
def test_regressor_compile(student, reference):
    """Is it compiled with rmsprop, the mean squared error and the mae metric?"""
    kc.check_compile(student, reference, MODEL)
