"""Walking directory trees that other programs share (/tmp, /var/tmp, /dev/shm) or that a
hostile submission filled: never recursive, never through a link, bounded in depth, entries
and time, and tolerant of entries that are unreadable or vanish mid-walk.

`os.walk` (recursive in Python 3.11) dies with RecursionError on a tree 1,000 levels deep that
some other program left in /tmp; a test must not fail for another program's files. A scan
that stops early says why in `Scan.incomplete`, and the caller reports it instead of failing.
"""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

MAX_DEPTH = 64
MAX_ENTRIES = 500_000
MAX_SECONDS = 60.0


@dataclass
class Scan:
    """What a walk saw: `(path, relative path, lstat result)` per entry, and why it stopped
    early, if it did (`incomplete`: one line per reason)."""

    entries: list[tuple[str, str, os.stat_result]] = field(default_factory=list)
    incomplete: list[str] = field(default_factory=list)
    unreadable: int = 0


def scan(
    root: str | os.PathLike,
    *,
    skip: Callable[[str, int], bool] = lambda name, depth: False,
    max_depth: int = MAX_DEPTH,
    max_entries: int = MAX_ENTRIES,
    max_seconds: float = MAX_SECONDS,
) -> Scan:
    """Every entry under `root` (not `root` itself), breadth first, links not followed.

    Args:
        skip: `skip(name, depth)` true leaves an entry (and what is under it) out.
        max_depth: deeper directories are not entered (noted in `incomplete`, once).
        max_entries, max_seconds: the walk stops there (noted in `incomplete`).
    """
    result = Scan()
    root = os.fspath(root)
    deadline = time.monotonic() + max_seconds
    queue: list[tuple[str, str, int]] = [(root, "", 0)]
    too_deep = False
    while queue:
        path, rel, depth = queue.pop()
        try:
            with os.scandir(path) as it:
                children = list(it)
        except FileNotFoundError:
            continue  # vanished mid-walk
        except OSError:
            result.unreadable += 1
            continue
        for entry in children:
            if skip(entry.name, depth):
                continue
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError:
                continue  # vanished, or unreadable: nothing of it to compare
            child_rel = os.path.join(rel, entry.name) if rel else entry.name
            result.entries.append((entry.path, child_rel, info))
            if len(result.entries) >= max_entries:
                result.incomplete.append(f"{root}: stopped after {max_entries:,} entries")
                return result
            if stat.S_ISDIR(info.st_mode):
                if depth + 1 >= max_depth:
                    if not too_deep:
                        result.incomplete.append(
                            f"{root}: not entered below depth {max_depth} (first at "
                            f"{entry.path[:200]})"
                        )
                        too_deep = True
                    continue
                queue.append((entry.path, child_rel, depth + 1))
        if time.monotonic() > deadline:
            result.incomplete.append(f"{root}: stopped after {max_seconds:g} s")
            return result
    return result


def iter_files(root: str | os.PathLike, **limits) -> Iterator[str]:
    """Paths of every entry under root (see `scan`); stops silently at the limits."""
    for path, _, _ in scan(root, **limits).entries:
        yield path


def remove_deep_chain(root: str | os.PathLike, name: str = "d") -> None:
    """Delete a chain of nested `name` folders of any depth without recursion (shutil.rmtree
    recurses, and dies on a tree deeper than Python's recursion limit)."""
    root = os.fspath(root)
    fds = [os.open(root, os.O_RDONLY | os.O_DIRECTORY)]
    try:
        while True:
            try:
                fds.append(os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fds[-1]))
            except FileNotFoundError:
                break
        while len(fds) > 1:  # deepest first: empty it, then remove it from its parent
            fd = fds.pop()
            for entry in os.listdir(fd):
                if entry != name:
                    os.unlink(entry, dir_fd=fd)
            os.close(fd)
            os.rmdir(name, dir_fd=fds[-1])
    finally:
        for fd in fds:
            os.close(fd)


def remove_tree(root: str | os.PathLike) -> None:
    """Delete a directory tree of any depth and shape without recursion and without
    following links (shutil.rmtree recurses, and pytest's own clean-up of old temporary
    directories dies on a tree deeper than the recursion limit)."""
    root = os.fspath(root)
    if not os.path.lexists(root):
        return
    if not os.path.isdir(root) or os.path.islink(root):
        os.unlink(root)
        return
    stack = [(os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW), None)]
    try:
        while stack:
            fd, _ = stack[-1]
            child = None
            for entry in os.scandir(fd):
                if entry.is_dir(follow_symlinks=False):
                    child = entry.name
                    break
                os.unlink(entry.name, dir_fd=fd)
            if child is not None:
                stack.append((os.open(child, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW,
                                      dir_fd=fd), child))  # fmt: skip
                continue
            stack.pop()
            os.close(fd)
            if stack:
                os.rmdir(_, dir_fd=stack[-1][0])
    finally:
        for fd, _ in stack:
            os.close(fd)
    os.rmdir(root)
