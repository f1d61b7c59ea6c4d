"""The MNIST assignment as the engine's tests use it: the engine names no assignment, so the
tests that exercise it on MNIST get the assignment's settings, data and contract from here."""

from __future__ import annotations

from pathlib import Path

from grader import data
from grader.config import find_assignment
from grader.run import submission

MNIST = find_assignment("mnist")
"""reference/mnist, parsed."""
CONTRACT_MODULES = MNIST.modules
"""The modules of a folder submission (preprocessing, models, training)."""
MODELS = MNIST.plan.model_names
"""The plan's models, in order (mlp, cnn)."""
BUNDLED_PATH = data.bundled_path(MNIST)
"""The 5,000-digit file in reference/mnist/data."""


def load_mnist(source: str = "bundled"):
    """MNIST from `source`, as the grader loads it for the MNIST assignment."""
    return data.load_data(MNIST, source)


def dataset_label(source: str) -> str:
    return data.dataset_label(MNIST, source)


def prepare(source: Path, dest: Path, **kwargs) -> submission.PreparedSubmission:
    """`grader.run.submission.prepare` with MNIST's contract."""
    return submission.prepare(source, dest, CONTRACT_MODULES, **kwargs)
