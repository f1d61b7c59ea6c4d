"""Checks of models.py: build_model(), compared layer by layer with the reference."""

import pytest

from grader.check import keras_checks as kc

MODEL = "classifier"


@pytest.mark.check(points=3, title="Classifier input shape")
def test_classifier_input_shape(student, reference):
    """Does the classifier take the 30 features of one sample?"""
    kc.check_input_shape(student, reference, MODEL)


@pytest.mark.check(points=6, title="Classifier layer sequence")
def test_classifier_layers(student, reference):
    """Does the classifier have the reference's layers, in order, with the same activations?"""
    kc.check_layer_sequence(student, reference, MODEL)


@pytest.mark.check(points=4, title="Classifier output shapes")
def test_classifier_output_shapes(student, reference):
    """Does every layer produce the reference's output shape (16 units, then 1)?"""
    kc.check_output_shapes(student, reference, MODEL)


@pytest.mark.check(points=5, title="Classifier parameter counts")
def test_classifier_parameters(student, reference):
    """Does every layer have the reference's number of parameters?"""
    kc.check_parameters(student, reference, MODEL)


@pytest.mark.check(points=5, title="Classifier ends in one sigmoid unit")
def test_classifier_sigmoid_output(student, reference):
    """Does the classifier output one probability of class 1 (a sigmoid unit)?"""
    kc.check_output_activation(student, reference, MODEL)


@pytest.mark.check(points=5, title="Classifier compile settings")
def test_classifier_compile(student, reference):
    """Is it compiled with adam, the binary cross-entropy and an accuracy metric?"""
    kc.check_compile(student, reference, MODEL)
