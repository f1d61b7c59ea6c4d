"""The one error type a user of the grader sees, and the CLI's exit codes."""

EXIT_FAILURE = 1
"""The grader itself could not run (a usage error exits 2, as click's do)."""
EXIT_USAGE = 2
"""A command line the grader refuses (as click's own usage errors)."""
EXIT_INTERRUPTED = 130
"""Stopped by Ctrl-C or SIGTERM (128 + SIGINT, as shells report it)."""


class GraderError(Exception):
    """A problem the user can fix: one line of what happened plus a hint.

    Args:
        message: what happened, in one line.
        hint: what to do about it, in one line (optional).
    """

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    exit_code = EXIT_FAILURE
    """What the CLI exits with when this error stops it."""

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message} (hint: {self.hint})"
        return self.message


class UsageError(GraderError):
    """A command line naming what does not exist or cannot be graded (an unknown assignment
    or budget, a folder with nothing to grade): exit 2, as click's own usage errors."""

    exit_code = EXIT_USAGE
