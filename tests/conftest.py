"""Shared pytest options of the test suite."""


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
