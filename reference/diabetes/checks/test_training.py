"""Checks of training.py: the training contract, evaluation, save/load, test error."""

import pytest

from grader.check import keras_checks as kc


@pytest.mark.check(points=5, title="train() returns the History of every epoch")
def test_train_returns_history(student, budget, assignment):
    """Does train() return a History with loss and mae (and val_ keys) per epoch?"""
    specs = budget.models
    kc.each_model(student, assignment.plan.model_names, lambda kind: kc.check_history(
        student, kind, specs[kind].epochs, specs[kind].validation_split > 0))  # fmt: skip


@pytest.mark.check(points=5, title="train() honours epochs, batch_size and validation_split")
def test_train_honours_budget(student, reference, budget, assignment):
    """Does train() take exactly the reference's number of optimizer steps?"""
    specs = budget.models
    kc.each_model(student, assignment.plan.model_names,
                  lambda kind: kc.check_budget(student, reference, kind, specs[kind]))  # fmt: skip


@pytest.mark.check(points=6, title="evaluate() returns (loss, mae)")
def test_evaluate(student, assignment):
    """Does evaluate() agree with the grader's own evaluation of the same model?"""
    kc.each_model(
        student, assignment.plan.model_names, lambda kind: kc.check_evaluate(student, kind)
    )


@pytest.mark.check(points=8, title="save() and load() round-trip the trained model")
def test_save_load_roundtrip(student, assignment):
    """Does a model saved with save() and read back with load() predict identically?"""
    kc.each_model(
        student, assignment.plan.model_names, lambda kind: kc.check_save_load(student, kind)
    )


@pytest.mark.check(points=30, title="Regression model test error (MAE)")
def test_regressor_test_error(student, reference, heldout, assignment):
    """Is the student's pipeline's test MAE at most the reference's times the error factor?"""
    kc.check_metric(student, reference, "regressor", heldout[1], assignment.grading)
