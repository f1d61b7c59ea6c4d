"""Does benchmarks/mutation.py's catalogue still apply, and do a few mutants land as declared?

The full mutation benchmark (80 mutants, several minutes) is not a test: see the "Mutation
score" section of benchmarks/README.md. Here: a fast check that every mutation applies exactly
once to the reference and leaves Python that parses, and a slow grading of six mutants whose
rows hold for the grader both before and after the fairness fixes.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "benchmarks"))

import mutation  # noqa: E402

CHECKS_DIR = REPO / "reference" / "mnist" / "checks"

ROBUST = {
    # non-equivalent, each costing one check whatever the fairness fixes change
    "evaluate_swapped": "killed-as-expected",
    "mlp_adam": "killed-as-expected",
    "one_hot_returns_labels": "killed-as-expected",
    "train_returns_model": "killed-as-expected",
    # equivalent: the same solution written another way
    "mlp_functional_api": "equivalent-ok",
    "mlp_dense_activation_split": "equivalent-ok",
}


def _check_names() -> set[str]:
    """The check functions defined in reference/mnist/checks/."""
    names = set()
    for path in CHECKS_DIR.glob("test_*.py"):
        tree = ast.parse(path.read_text())
        names |= {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    return {n for n in names if n.startswith("test_")}


def test_every_mutation_applies_once_and_parses():
    """Does each mutation's target occur exactly once in the reference, and does the mutated
    module still parse?"""
    reference = mutation.reference_code()
    for mutant in mutation.CATALOGUE:
        assert reference[mutant.module].count(mutant.old) == 1, mutant.name
        code = mutant.apply(reference)
        assert code[mutant.module] != reference[mutant.module], mutant.name
        ast.parse(code[mutant.module], filename=f"{mutant.name}/{mutant.module}.py")
        assert {m: t for m, t in code.items() if m != mutant.module} == {
            m: t for m, t in reference.items() if m != mutant.module
        }


def test_catalogue_names_and_rows():
    """Are there at least 45 uniquely named mutants, both kinds, and does every row name real
    checks of the assignment?"""
    names = [m.name for m in mutation.CATALOGUE]
    assert len(names) >= 45
    assert len(set(names)) == len(names)
    assert mutation.BASELINE not in names
    assert all(n.isidentifier() for n in names)
    assert mutation.ALL_CHECKS == _check_names()
    for m in mutation.CATALOGUE:
        assert m.expect_failed <= mutation.ALL_CHECKS, m.name
        assert m.may_fail <= mutation.ALL_CHECKS, m.name
        assert not (m.expect_failed & m.may_fail), m.name
    kinds = {m.equivalent for m in mutation.CATALOGUE}
    assert kinds == {True, False}
    assert set(ROBUST) <= set(names)


def test_a_rotten_target_fails_loudly():
    """A mutation whose target is absent, or occurs twice, raises instead of doing nothing."""
    reference = mutation.reference_code()
    absent = mutation.Mutant("absent", "models", "no such text", "x", "-")
    twice = mutation.Mutant("twice", "models", "layers.Dense(", "x", "-")
    for bad in (absent, twice):
        with pytest.raises(mutation.MutationError):
            bad.apply(reference)


def test_verdicts():
    """The verdict rules on made-up outcomes."""
    mutant = next(m for m in mutation.CATALOGUE if m.name == "mlp_units_256")
    shapes, params = "test_mlp_output_shapes", "test_mlp_parameters"
    accuracy, layers = "test_mlp_test_accuracy", "test_mlp_layers"
    assert mutation.verdict(mutant, frozenset({shapes, params}))[0] == "killed-as-expected"
    assert mutation.verdict(mutant, frozenset({shapes, params, accuracy}))[0] == (
        "killed-as-expected"
    )
    kind, extra, missing = mutation.verdict(mutant, frozenset({shapes, layers}))
    assert (kind, extra, missing) == ("killed-other", {layers}, {params})
    assert mutation.verdict(mutant, frozenset())[0] == "survived"
    equivalent = next(m for m in mutation.CATALOGUE if m.equivalent)
    assert mutation.verdict(equivalent, frozenset())[0] == "equivalent-ok"
    assert mutation.verdict(equivalent, frozenset({layers}))[0] == "equivalent-lost"


@pytest.mark.slow
@pytest.mark.full  # the mutation benchmark's subset; the known answers kill each check in the gate
def test_robust_mutants_land_as_declared(tmp_path):
    """Graded together with the reference (budget quick), does each robust mutant get its
    declared verdict, and the reference 100?"""
    pytest.importorskip("keras")
    mutants = mutation.select(",".join(ROBUST))
    outcomes = {o.name: o for o in mutation.run(mutants, tmp_path, workers=2)}
    baseline = outcomes.pop(mutation.BASELINE)
    assert baseline.verdict == "equivalent-ok", baseline.failed
    assert {name: o.verdict for name, o in outcomes.items()} == ROBUST, {
        name: (sorted(o.extra), sorted(o.missing)) for name, o in outcomes.items()
    }
    for o in outcomes.values():
        assert o.status == "ok", o.name
