"""Child processes of the grader: they never outlive it."""

from __future__ import annotations

import ctypes
import signal

PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """In a child (as `preexec_fn`, or before it execs): be killed with SIGKILL when the
    grader dies, even by SIGKILL, so no sandbox or check session is left running."""
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
