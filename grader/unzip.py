"""Unpacking untrusted zip archives: one set of rules for every zip the grader opens (a
student's upload, and a submission or result travelling to and from a Dask worker).

Refused: empty or NUL names, absolute paths and drive letters, backslashes and `..`,
symbolic links and other special files, a name twice, entries nested deeper than the
caller allows, and whatever the caller's `limit` refuses (file count, bytes really produced:
a header's sizes may lie). Files are created with O_EXCL | O_NOFOLLOW, never through a link.
"""

from __future__ import annotations

import os
import stat
import zipfile
from collections.abc import Callable
from pathlib import Path, PurePosixPath

SKIPPED = ("__MACOSX",)
"""Top-level folders of junk that archivers add (macOS's resource forks): not extracted."""


class UnsafeArchive(ValueError):
    """An archive the grader refuses to unpack (the message says which entry and why)."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


def entry_path(name: str, max_depth: int, label: str = "zip entry") -> PurePosixPath:
    """The entry's relative path, or UnsafeArchive saying why it is refused."""
    if not name or "\0" in name:
        raise UnsafeArchive(f"{label} {name!r} has an invalid name")
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        raise UnsafeArchive(f"{label} {name!r} has an absolute path")
    path = PurePosixPath(name)
    if ".." in path.parts or "\\" in name:
        raise UnsafeArchive(f"{label} {name!r} points outside the archive (..)")
    if not path.parts or path.parts == (".",):
        raise UnsafeArchive(f"{label} {name!r} has an invalid name")
    if len(path.parts) > max_depth:
        raise UnsafeArchive(f"{label} {name!r} is nested too deep")
    return path


def extract(
    zf: zipfile.ZipFile,
    dest: Path,
    *,
    limit: Callable[[int, int, str], None],
    max_depth: int,
    max_ratio: float | None = None,
    label: str = "zip entry",
) -> None:
    """Extract every entry of `zf` into `dest` (which exists) under the rules above.

    Args:
        limit: called as `limit(files, bytes, name)` before and while each file is
            written; raises (any exception) to refuse the archive.
        max_depth: most path components an entry may have.
        max_ratio: refuse an entry that inflates more than this many times (a zip bomb).
        label: how messages name an entry (`zip entry 'a/b.py' ...`).

    Raises:
        UnsafeArchive: a refused entry; OSError, zlib.error, zipfile.BadZipFile and the
        like for a damaged archive (the caller words those). `dest` may hold a partial
        tree then.
    """
    count, total = 0, 0
    for info in zf.infolist():
        name = info.filename
        path = entry_path(name, max_depth, label)
        kind = stat.S_IFMT(info.external_attr >> 16)
        if kind == stat.S_IFLNK:
            raise UnsafeArchive(f"{label} {name!r} is a symbolic link", "zip regular files only")
        if kind and kind not in (stat.S_IFREG, stat.S_IFDIR):
            raise UnsafeArchive(f"{label} {name!r} is not a regular file")
        if path.parts[0] in SKIPPED:
            continue
        target = dest.joinpath(*path.parts)
        if info.is_dir():
            target.mkdir(parents=True, exist_ok=True)
            continue
        count += 1
        limit(count, total + info.file_size, name)
        if max_ratio and info.compress_size and info.file_size / info.compress_size > max_ratio:
            raise UnsafeArchive(f"{label} {name!r} expands {max_ratio:g}x: a zip bomb?")
        target.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
        with zf.open(info) as src, os.fdopen(fd, "wb") as out:
            while chunk := src.read(1 << 16):
                total += len(chunk)  # the bytes really produced: the header may lie
                limit(count, total, name)
                out.write(chunk)
