"""Checks of training.py: the training contract, evaluation, save/load, test accuracy."""

import pytest

from grader.check import keras_checks as kc


@pytest.mark.check(points=4, title="train() returns the History of every epoch")
def test_train_returns_history(student, budget):
    """Does train() return a History with loss and accuracy (and val_ keys) per epoch?"""
    specs = budget.models
    kc.each_model(student, ("mlp", "cnn"), lambda kind: kc.check_history(
        student, kind, specs[kind].epochs, specs[kind].validation_split > 0))  # fmt: skip


@pytest.mark.check(points=4, title="train() honours epochs, batch_size and validation_split")
def test_train_honours_budget(student, reference, budget):
    """Does train() take exactly the reference's number of optimizer steps?"""
    specs = budget.models
    kc.each_model(student, ("mlp", "cnn"),
                  lambda kind: kc.check_budget(student, reference, kind, specs[kind]))  # fmt: skip


@pytest.mark.check(points=3, title="evaluate() returns (loss, accuracy)")
def test_evaluate(student):
    """Does evaluate() agree with the grader's own evaluation of the same model?"""
    kc.each_model(student, ("mlp", "cnn"), lambda kind: kc.check_evaluate(student, kind))


@pytest.mark.check(points=4, title="save() and load() round-trip the trained model")
def test_save_load_roundtrip(student):
    """Does a model saved with save() and read back with load() predict identically?"""
    kc.each_model(student, ("mlp", "cnn"), lambda kind: kc.check_save_load(student, kind))


@pytest.mark.check(points=15, title="MLP test accuracy")
def test_mlp_test_accuracy(student, reference, heldout, assignment):
    """Does the student's MLP pipeline reach the reference's test accuracy, minus the margin?"""
    grading = assignment.grading
    kc.check_accuracy(
        student, reference, "mlp", heldout[1], grading.accuracy_margin,
        grading.accuracy_partial_band,
    )  # fmt: skip


@pytest.mark.check(points=15, title="CNN test accuracy")
def test_cnn_test_accuracy(student, reference, heldout, assignment):
    """Does the student's CNN pipeline reach the reference's test accuracy, minus the margin?"""
    grading = assignment.grading
    kc.check_accuracy(
        student, reference, "cnn", heldout[1], grading.accuracy_margin,
        grading.accuracy_partial_band,
    )  # fmt: skip
