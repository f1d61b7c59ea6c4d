"""Progress output: a live bar with ETA on a terminal, plain lines anywhere else (CI, logs).

Messages carry submission ids and reasons, which come from what students handed in: every
message is passed through `printable` (no terminal escapes, no line breaks that would forge
a line of the grader's own, no rich markup) before it is shown.
"""

from __future__ import annotations

import sys
import time
import unicodedata
from typing import Protocol, TextIO

_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def printable(text: object, *, newlines: bool = False) -> str:
    """`text` safe to print: control and format characters (ESC, BEL, CR, bidi overrides...)
    shown as escapes (`\\x1b`, `\\u202e`), bytes that were not UTF-8 as U+FFFD; line breaks
    and tabs kept only with `newlines=True` (multi-line feedback), else escaped too."""
    text = str(text)
    if newlines:
        text = text.replace("\r\n", "\n")
    out = []
    for ch in text:
        code = ord(ch)
        if newlines and ch in "\n\t":
            out.append(ch)
        elif 0xD800 <= code <= 0xDFFF:
            out.append("\ufffd")
        elif unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp"):
            out.append(_ESCAPES.get(ch) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"))
        else:
            out.append(ch)
    return "".join(out)


class Progress(Protocol):
    """What the pipeline tells the user while it works."""

    def phase(self, name: str, total: int) -> None:
        """A phase starts with `total` steps."""

    def advance(self, message: str) -> None:
        """One step of the current phase is done."""

    def info(self, message: str) -> None:
        """A line worth showing (a skipped student, where the outputs are)."""

    def close(self) -> None:
        """Stop drawing (the summary follows)."""


class Quiet:
    """Progress that shows nothing (library use, tests)."""

    def phase(self, name: str, total: int) -> None:
        pass

    def advance(self, message: str) -> None:
        pass

    def info(self, message: str) -> None:
        pass

    def close(self) -> None:
        pass


class PlainProgress:
    """One line per step with a count and an ETA: fine for CI logs and pipes."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout
        self.total = 0
        self.done = 0
        self.name = ""
        self.started = time.monotonic()

    def phase(self, name: str, total: int) -> None:
        self.name, self.total, self.done = name, total, 0
        self.started = time.monotonic()
        print(f"[{name}] {total} to do", file=self.stream, flush=True)

    def advance(self, message: str) -> None:
        self.done += 1
        elapsed = time.monotonic() - self.started
        eta = elapsed / self.done * (self.total - self.done) if self.done else 0.0
        print(
            f"[{self.name}] {self.done}/{self.total} {printable(message)} (eta {eta:.0f} s)",
            file=self.stream,
            flush=True,
        )

    def info(self, message: str) -> None:
        print(printable(message), file=self.stream, flush=True)

    def close(self) -> None:
        pass


class RichProgress:
    """A live progress bar with ETA (rich), for an interactive terminal."""

    def __init__(self, console=None) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeRemainingColumn
        from rich.progress import Progress as Bar

        self.console = console or Console()
        self.bar = Bar(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            TextColumn("{task.fields[last]}"),
            console=self.console,
            transient=False,
        )
        self.task = None
        self.bar.start()

    def phase(self, name: str, total: int) -> None:
        if self.task is not None:
            self.bar.update(self.task, visible=True)
        self.task = self.bar.add_task(name, total=total, last="")

    def advance(self, message: str) -> None:
        from rich.markup import escape

        # The column renders markup: a `[/]` in an id must show, not crash the bar.
        self.bar.update(self.task, advance=1, last=escape(printable(message)))

    def info(self, message: str) -> None:
        self.bar.console.print(printable(message), markup=False, highlight=False)

    def close(self) -> None:
        self.bar.stop()


def for_terminal(stream: TextIO | None = None) -> Progress:
    """A live bar if `stream` is a terminal, else plain lines."""
    stream = stream or sys.stdout
    if stream.isatty():
        return RichProgress()
    return PlainProgress(stream)
