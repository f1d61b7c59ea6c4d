"""Shared pytest options of the test suite."""


def pytest_addoption(parser):
    parser.addoption(
        "--update-goldens",
        action="store_true",
        default=False,
        help="rewrite the golden files under tests/goldens/ instead of comparing with them",
    )
