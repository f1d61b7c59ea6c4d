"""Shared pytest options of the test suite, and the two tiers of `make test` / `make test-all`.

`full` marks what only the complete suite runs (`make test-all`): the rest of each corpus
beyond its representative cases, and the long measurements. `make test` (CI's gate) runs
everything else, slow tests included, within 20 minutes on 2 cores (tests/README.md).
A module that grades a whole corpus in one fixture grades only the cases this session runs
(`selected_cases`), so deselecting a case also saves its sandboxed run.
"""


def pytest_addoption(parser):
    parser.addoption(
        "--update-goldens",
        action="store_true",
        default=False,
        help="rewrite the golden files under tests/goldens/ instead of comparing with them",
    )


def pytest_sessionfinish(session):
    """Remove trees deeper than Python's recursion limit from this session's temporary folder.

    Some tests build such trees on purpose (a hostile submission's 1,500 nested folders);
    pytest's own clean-up of old temporary folders uses shutil.rmtree, which recurses and dies
    with RecursionError on them, failing a later run for an earlier run's files."""
    from treewalk import remove_tree, scan

    factory = getattr(session.config, "_tmp_path_factory", None)
    if factory is None or factory._basetemp is None:  # noqa: SLF001 - no temp folder made
        return
    base = factory._basetemp  # noqa: SLF001 - this session's own, never another's in use
    for folder in sorted(base.iterdir()) if base.is_dir() else ():
        walked = scan(folder, max_depth=500, max_seconds=10)
        if any("not entered below depth" in reason for reason in walked.incomplete):
            remove_tree(folder)


def selected_cases(request, argname: str = "case") -> list:
    """The values of `argname` that this session's selected tests of the requesting module
    take (after -m, -k and the tiers): what its module fixture has to grade."""
    module = request.module
    found = []
    for item in request.session.items:
        callspec = getattr(item, "callspec", None)
        if getattr(item, "module", None) is module and callspec and argname in callspec.params:
            value = callspec.params[argname]
            if value not in found:
                found.append(value)
    return found


def full_only(values, representative) -> list:
    """`values` as parameters, those not in `representative` marked `full` (complete suite
    only); fails loudly if a representative case is not among the values."""
    import pytest

    missing = set(representative) - set(values)
    assert not missing, f"representative cases not in the corpus: {sorted(missing)}"
    return [v if v in representative else pytest.param(v, marks=pytest.mark.full) for v in values]
