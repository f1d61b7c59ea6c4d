"""Checks of training.py: the training contract, evaluation, the lab's HDF5 save and load,
and test accuracy."""

import pytest

from grader.check import keras_checks as kc
from grader.check.checking import CheckFailure, note, partial

HDF5_CREDIT = 0.5
"""What a working save/load round trip in another format than the lab's HDF5 earns."""


def check_saved_as_hdf5(student, kind: str) -> None:
    """save() and load() round-trip the trained model, and the file is HDF5, as in the lab."""
    try:
        kc.check_save_load(student, kind, elsewhere_credit=1.0)  # the credit is decided here
    except CheckFailure as failure:
        record = student.call(f"save:{kind}")
        if record.get("exists") is False:
            raise CheckFailure(
                failure.message + " The lab saves the trained model in the HDF5 format at the "
                "path it is given, which ends in .h5: model.save(path) writes HDF5 there "
                "(Keras picks the format from the suffix), and load_model(path) reads it back.",
                failure.table,
            ) from None
        raise
    written = student.keras_file(kind, "saved")
    instead = student.call(f"save:{kind}").get("wrote_instead")
    if written.format == "h5" and instead:
        partial(
            HDF5_CREDIT,
            f"save() wrote the HDF5 file as {str(instead)[:80]!r}, not at the path it was given: "
            "save with model.save(path) at exactly that path.",
        )
    if written.format != "h5":
        partial(
            HDF5_CREDIT,
            "save() and load() round-trip the trained model, but the file save() wrote is in "
            "Keras's native .keras (zip) format; the lab asks for the HDF5 format (.h5), as in "
            "model.save('classification_model.h5'). Save with model.save(path) at the .h5 path "
            "you are given: Keras writes HDF5 for that suffix.",
        )
    note("saved in the HDF5 format, as the lab does")


@pytest.mark.check(points=5, title="train() returns the History of every epoch")
def test_train_returns_history(student, budget, assignment):
    """Does train() return a History with loss and accuracy (and val_ keys) per epoch?"""
    specs = budget.models
    kc.each_model(student, assignment.plan.model_names, lambda kind: kc.check_history(
        student, kind, specs[kind].epochs, specs[kind].validation_split > 0))  # fmt: skip


@pytest.mark.check(points=5, title="train() honours epochs, batch_size and validation_split")
def test_train_honours_budget(student, reference, budget, assignment):
    """Does train() take exactly the reference's number of optimizer steps?"""
    specs = budget.models
    kc.each_model(student, assignment.plan.model_names,
                  lambda kind: kc.check_budget(student, reference, kind, specs[kind]))  # fmt: skip


@pytest.mark.check(points=5, title="evaluate() returns (loss, accuracy)")
def test_evaluate(student, assignment):
    """Does evaluate() agree with the grader's own evaluation of the same model?"""
    kc.each_model(
        student, assignment.plan.model_names, lambda kind: kc.check_evaluate(student, kind)
    )


@pytest.mark.check(points=10, title="save() writes an HDF5 (.h5) file that load() reads back")
def test_save_load_hdf5(student, assignment):
    """Does a model saved with save() in the lab's HDF5 format load back, predicting alike?"""
    kc.each_model(
        student, assignment.plan.model_names, lambda kind: check_saved_as_hdf5(student, kind)
    )


@pytest.mark.check(points=30, title="Test accuracy")
def test_dnn_test_accuracy(student, reference, heldout, assignment):
    """Does the student's pipeline reach the reference's test accuracy, minus the margin?"""
    grading = assignment.grading
    kc.check_accuracy(
        student, reference, "dnn", heldout[1], grading.accuracy_margin,
        grading.accuracy_partial_band,
    )  # fmt: skip
