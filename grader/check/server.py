"""A check server: phase 2 for one student at a time, in a long-lived trusted process.

On a Dask worker (grader/run/cluster.py) each student's checks run right after their phase 1,
on that worker. Starting a pytest session per student would pay TensorFlow's import and the
reference's rebuild every time (about 2.6 s against 0.5 s of checks, benchmarks/README.md);
this process pays them once: it runs one pytest session per request, in-process, with the
plugin's session-wide state kept between sessions of the same grading (`KEEP` in the plan).

It never runs student code: like every phase-2 session it reads the artifacts a sandbox wrote.
If it dies on a student (a model that exhausts the memory, a crash in a native library), the
client (`CheckServer`) says so for that student only and starts another one.

Protocol: one JSON request per line on stdin, `{"argv": [...]}`; one JSON reply per line on
the pipe that was stdout, `{"exit": code}`. Pytest's own output goes to a log file.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

from grader.processes import die_with_parent

REQUESTS_PER_PROCESS = 200
"""Sessions one server runs before it is replaced (memory a long process gathers)."""


def serve(log_path: str) -> int:
    """The server's loop (in its own process)."""
    import pytest

    reply = os.fdopen(os.dup(1), "w", buffering=1)
    log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(log, 1)
    os.dup2(log, 2)
    sys.stdout = open(1, "w", buffering=1, closefd=False)  # noqa: SIM115 - the process's own
    sys.stderr = open(2, "w", buffering=1, closefd=False)  # noqa: SIM115
    for line in sys.stdin:
        try:
            request = json.loads(line)
            code = int(pytest.main(list(request["argv"])))
        except Exception as exc:  # noqa: BLE001 - said to the client, the server goes on
            print(f"keras-grader check server: {type(exc).__name__}: {exc}", file=sys.stderr)
            code = -1
        reply.write(json.dumps({"exit": code}) + "\n")
    return 0


class ServerDied(Exception):
    """The check server ended while checking (its exit code in `code`)."""

    def __init__(self, code: int | None) -> None:
        super().__init__(f"the check process died (exit {code})")
        self.code = code


class CheckServer:
    """The client's handle on a check server process, started on first use and replaced
    when it dies or has served `REQUESTS_PER_PROCESS` sessions. Thread-safe (one session at a
    time)."""

    def __init__(self, folder: Path, env: dict | None = None) -> None:
        self.folder = Path(folder)
        self.env = env
        self._proc: subprocess.Popen | None = None
        self._served = 0
        self._lock = threading.Lock()

    def _start(self) -> subprocess.Popen:
        self.folder.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, **(self.env or {}), "TF_CPP_MIN_LOG_LEVEL": "2"}
        env.pop("PYTEST_ADDOPTS", None)
        argv = [sys.executable, "-m", "grader.check.server", str(self.folder / "server.log")]
        return subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, text=True,
            preexec_fn=die_with_parent,
        )  # fmt: skip

    def run(self, argv: list[str]) -> int:
        """Run one pytest session (`pytest argv`) in the server; its exit code.

        Raises:
            ServerDied: the server ended before replying (it is replaced on the next call).
        """
        with self._lock:
            if self._proc is not None and (
                self._proc.poll() is not None or self._served >= REQUESTS_PER_PROCESS
            ):
                self._stop()
            if self._proc is None:
                self._proc, self._served = self._start(), 0
            proc = self._proc
            try:
                proc.stdin.write(json.dumps({"argv": argv}) + "\n")
                proc.stdin.flush()
                line = proc.stdout.readline()
            except (BrokenPipeError, OSError):
                line = ""
            if not line:
                code = proc.wait()
                self._proc = None
                raise ServerDied(code)
            self._served += 1
            return int(json.loads(line)["exit"])

    def _stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        try:
            proc.stdin.close()
            proc.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            proc.kill()
            proc.wait()

    def close(self) -> None:
        with self._lock:
            self._stop()


if __name__ == "__main__":
    sys.exit(serve(sys.argv[1]))
