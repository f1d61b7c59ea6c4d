"""Loading a submission: a directory, a `.py`, a `.ipynb` or a `.zip` of these.

Every form is normalised into a plain directory of Python modules that the sandbox mounts
read-only. Nothing here imports or runs student code: notebooks are filtered with `ast`,
zips are extracted by hand with limits, and anything refused raises `SubmissionError` with
the reason, which the grader records as that student's result.
"""

from __future__ import annotations

import ast
import builtins
import errno
import hashlib
import json
import os
import re
import shutil
import stat
import threading
import unicodedata
import zipfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from grader import unzip
from grader.errors import GraderError
from grader.pysource import first_line

SINGLE_MODULE = "submission"
"""Module name a single `.py` or notebook becomes inside the sandbox."""
SUFFIXES = (".py", ".ipynb", ".zip")

MAX_FILES = 200
MAX_TOTAL_BYTES = 50 * 1024 * 1024
MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_DEPTH = 8
MAX_ZIP_RATIO = 200
"""Zip entries expanding more than this many times their compressed size are a bomb."""
IGNORED_DIRS = ("__pycache__", ".git", ".ipynb_checkpoints")
"""Folders of a folder submission that are not copied (caches, version control)."""
OUT_MARKER = ".keras-grader-out"
"""The file the grader writes in every output folder it fills: a folder holding it is the
grader's output, never part of a submission (a `grader check .` report left in the folder
being checked is neither copied, hashed nor graded)."""
FORM_NOTE = "graded "
"""How the note that says which form of a folder was graded (its modules, or the notebook
beside them) begins: the terminal shows it above the checks."""
LEGACY_OUT_FILES = ("junit.xml", "grades.csv", "index.html")
"""An output folder of a grader from before OUT_MARKER holds all of these (and `.work`)."""


def is_grader_output(folder: str | os.PathLike) -> bool:
    """Is this folder one the grader wrote (its OUT_MARKER, or an older version's layout)?
    Nothing is followed: a link named like the marker does not count."""

    def regular(name: str) -> bool:
        try:
            return stat.S_ISREG(os.lstat(os.path.join(folder, name)).st_mode)
        except OSError:
            return False

    if regular(OUT_MARKER):
        return True
    try:
        work = stat.S_ISDIR(os.lstat(os.path.join(folder, ".work")).st_mode)
    except OSError:
        work = False
    return work and all(regular(name) for name in LEGACY_OUT_FILES)


HASH_MAX_DEPTH = 64
HASH_MAX_ENTRIES = 20_000
"""How far `content_hash` walks a folder: what lies beyond is refused by `prepare` anyway
(`MAX_DEPTH`, `MAX_FILES`), so the hash only has to be stable, and a hostile tree 1,000
folders deep or a million files wide costs bounded time."""

MAX_ID_CHARS = 100
MAX_ID_BYTES = 200
"""A student id's length at most (characters, and bytes in UTF-8): the grader builds file
names from it (`.<id>.check.XXXXXXXX`, `.<id>.replaced.<pid>`) that must stay within the
255 bytes a file name may have."""
RESERVED_IDS = frozenset(
    {"grades.csv", "junit.xml", "index.html", "results.json", "details.json", "report.html",
     # the course's files (grader/course.py) and what `grader export` and `release` write
     "roster.csv", "overrides.jsonl", "history.jsonl", "times.json", "late.json",
     "similarity.json", "similarity.html", "releases", "shown.json", "manifest.json", "class.json",
     "gradebook-canvas.csv", "gradebook-moodle.csv", "gradebook-csv.csv"}
)  # fmt: skip
"""Names of the files the grader writes in OUT and in a student's folder: no id equals one
of them (compared case-insensitively, for case-insensitive file systems), and no id starts
with `.` (OUT/.work, temporary files), so a student's folder OUT/<id>/ never takes the place
of a class file and a class file never lands in a student's folder."""


class SubmissionError(GraderError):
    """A submission the grader refuses to run (the reason goes into that student's result)."""


@dataclass(frozen=True)
class PreparedSubmission:
    """A submission normalised into a directory the sandbox can mount."""

    id: str
    """The student's id: the entry's name without extension."""
    source: Path
    """What the student handed in."""
    kind: str
    """`directory`, `py`, `ipynb` or `zip`."""
    directory: Path
    """The normalised code directory."""
    modules: dict[str, str]
    """Contract module -> module to import (all `submission` for a single file)."""
    content_hash: str
    """sha256 of what the student handed in."""
    notes: tuple[str, ...] = field(default=())
    """What the loader dropped or changed (notebook statements, skipped cells)."""
    sources: dict = field(default_factory=dict)
    """Module file -> `{"label": the student's file name, "cells": per line [cell, line]}`,
    for a single file or notebook the grader renamed (see feedback.relabel_trace)."""


def submission_id(path: Path) -> str:
    """`alice.ipynb` -> `alice`; `bob/` -> `bob`; `carol.tar.zip` -> `carol.tar`.

    This is the entry's name as it is (it may hold anything a file name can: see `safe_id`
    for the id the grader uses). Only a real folder keeps its suffix; a symbolic link is
    never followed to tell.
    """
    name = path.name.rstrip("/")
    for suffix in SUFFIXES:
        if name.endswith(suffix) and not _is_real_dir(path):
            return name[: -len(suffix)]
    return name


def _is_real_dir(path: Path) -> bool:
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False


def safe_id(raw: str) -> tuple[str, str | None]:
    """The id the grader uses for an entry named `raw`, and why it differs (None if not).

    The id names the student's folder OUT/<id>/, rows of grades.csv and junit.xml, and lines
    on the terminal, so it is made safe for all of them: bytes that are not UTF-8 (a file
    name may hold any), control and invisible characters (terminal escapes, newlines that
    would forge log lines, characters XML cannot hold) and path separators become `_`; the
    name is NFC-normalised and stripped of surrounding spaces; a leading `.` becomes `_`; a
    name of a file the grader writes (`RESERVED_IDS`) gets a trailing `_`; a name longer
    than `MAX_ID_CHARS` (or `MAX_ID_BYTES` in UTF-8) is cut, with a hash of the whole name
    appended so that two long names stay apart.
    """
    why: list[str] = []
    text = "".join("_" if 0xD800 <= ord(ch) <= 0xDFFF else ch for ch in raw)
    if text != raw:
        why.append("its name is not valid UTF-8")
    if unicodedata.normalize("NFC", text) != text:
        text = unicodedata.normalize("NFC", text)
        why.append("its name is written in decomposed Unicode (made NFC)")
    cleaned = "".join("_" if _unsafe_in_id(ch) else ch for ch in text)
    if cleaned != text:
        why.append("it holds control, invisible or path characters")
    text = cleaned.strip()
    if text != cleaned:
        why.append("it starts or ends with spaces")
    if text.startswith("."):
        text = "_" + text[1:]
        why.append("it starts with '.'")
    if not text:
        text = "_"
        why.append("it is empty")
    if text.casefold() in RESERVED_IDS:
        text += "_"
        why.append("it is the name of a file the grader writes")
    if len(text) > MAX_ID_CHARS or len(text.encode("utf-8")) > MAX_ID_BYTES:
        tag = hashlib.sha256(os.fsencode(raw)).hexdigest()[:8]
        text = _cut(text, f"~{tag}")
        why.append(f"it is longer than {MAX_ID_CHARS} characters")
    return text, ("; ".join(why) if why else None)


def _unsafe_in_id(ch: str) -> bool:
    return ch in "/\\" or unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp")


def _cut(text: str, tail: str) -> str:
    """`text` shortened so that `text + tail` fits the id limits, then `tail` appended."""
    keep = MAX_ID_CHARS - len(tail)
    text = text[:keep]
    while len((text + tail).encode("utf-8")) > MAX_ID_BYTES:
        text = text[:-1]
    return text + tail


@dataclass(frozen=True)
class Entry:
    """One student's entry, under the id the grader uses for it."""

    id: str
    """The safe id (`safe_id`), distinct from every other entry's."""
    path: Path
    """What the student handed in."""
    notes: tuple[str, ...] = ()
    """Why the id differs from the entry's name, if it does (shown in the student's result)."""


def assign_ids(paths, names=None) -> list[Entry]:
    """Safe, distinct ids for `paths` (their `submission_id`s, or the given `names`).

    An entry whose name is already safe keeps it. Two entries whose names become the same
    id (`bob\\x01` and `bob\\x02` are both `bob_`) are both kept: the first (in the order of
    their names) gets the id, the next `<id>~2`, and so on, each with a note.
    """
    paths = [Path(p) for p in paths]
    raws = list(names) if names is not None else [submission_id(p) for p in paths]
    if len(raws) != len(paths):
        raise ValueError("one name per path")
    made = [(raw, *safe_id(raw)) for raw in raws]
    order = sorted(range(len(paths)), key=lambda i: os.fsencode(raws[i]))
    chosen: dict[int, tuple[str, list[str]]] = {}
    owner: dict[str, int] = {}
    for i in order:  # names that are already safe first: they keep their ids
        raw, sid, why = made[i]
        if why is None and sid not in owner:
            chosen[i], owner[sid] = (sid, []), i
    for i in order:
        if i in chosen:
            continue
        raw, sid, why = made[i]
        candidate, n = sid, 2
        while candidate in owner:
            candidate, n = _cut(sid, f"~{n}"), n + 1
        reasons = [why] if why else []
        if candidate != sid:
            reasons.append(f"{sid!r} is already the id of the entry {made[owner[sid]][0]!r}")
        name = repr(raw) if len(raw) <= 120 else repr(raw[:120]) + "..."
        note = f"the entry {name} is graded under the id {candidate!r}: {', and '.join(reasons)}"
        chosen[i], owner[candidate] = (candidate, [note]), i
    return [Entry(chosen[i][0], paths[i], tuple(chosen[i][1])) for i in range(len(paths))]


def discover(submissions: Path) -> list[Path]:
    """The submissions in a class directory, sorted by id: one entry per student.

    Hidden entries and files of other types are ignored; two entries with the same id
    (`alice.py` and `alice.ipynb`) are an error, since one would silently replace the other.
    Nothing is followed: a symbolic link or a special file (a fifo, a device) with a
    submission's name, or without a suffix, is an entry, which `prepare` then refuses with
    the reason.
    """
    if not submissions.is_dir():
        raise GraderError(
            f"{submissions} is not a directory of submissions",
            "pass a directory with one entry per student (a folder, .py, .ipynb or .zip)",
        )
    entries: dict[str, Path] = {}
    with os.scandir(submissions) as it:
        found = sorted(it, key=lambda e: os.fsencode(e.name))
    for item in found:
        entry = submissions / item.name
        if item.name.startswith((".", "_")):
            continue
        try:
            mode = item.stat(follow_symlinks=False).st_mode
        except OSError:
            continue  # vanished
        if stat.S_ISDIR(mode) and is_grader_output(entry):
            continue  # an earlier grading's output folder, not a student
        suffix = entry.suffix
        if not stat.S_ISDIR(mode) and suffix not in SUFFIXES and (stat.S_ISREG(mode) or suffix):
            continue
        sid = submission_id(entry)
        if sid in entries:
            raise GraderError(
                f"two submissions have the id {sid!r}: {entries[sid].name!r} and {entry.name!r}",
                "keep one entry per student",
            )
        entries[sid] = entry
    return [entries[k] for k in sorted(entries, key=os.fsencode)]


def content_hash(path: Path) -> str:
    """sha256 over a file's bytes, or a folder's relative paths and file bytes.

    Nothing is followed or opened that could block: a submission that is a symbolic link
    counts as its target's name, a fifo or device as its kind; inside a folder, only regular
    files count (`prepare` refuses the rest). A folder is walked without recursion, at most
    `HASH_MAX_DEPTH` deep and `HASH_MAX_ENTRIES` wide (what lies beyond adds a marker).
    """
    digest = hashlib.sha256()
    info = os.lstat(path)
    if not stat.S_ISDIR(info.st_mode):
        _hash_entry(digest, os.fspath(path), info)
        return digest.hexdigest()
    try:
        for rel, full, entry_info in _walk(path, HASH_MAX_DEPTH, ("__pycache__",)):
            if not stat.S_ISREG(entry_info.st_mode):
                continue  # folders are in the files' paths; links and fifos are never graded
            digest.update(os.fsencode(rel) + b"\0")
            _hash_entry(digest, full, entry_info)
            digest.update(b"\0")
    except _TooDeep:
        digest.update(b"\0<too deep>")
    except _TooMany:
        digest.update(b"\0<too many entries>")
    return digest.hexdigest()


def content_hash_or_empty(source: Path) -> str:
    """`content_hash`, or "" when the submission cannot be read (prepare() then says why)."""
    try:
        return content_hash(source)
    except Exception:  # noqa: BLE001 - one unreadable submission never sinks the batch
        return ""


def _hash_entry(digest, path: str, info: os.stat_result) -> None:
    if stat.S_ISLNK(info.st_mode):
        digest.update(b"<symlink>" + os.fsencode(os.readlink(path)))
    elif not stat.S_ISREG(info.st_mode):
        digest.update(f"<{_kind(info.st_mode)}>".encode())
    else:
        _hash_file(digest, path)


def _hash_file(digest, path) -> None:
    """Stream a file into the digest: a huge upload is hashed, never read whole."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):  # replaced since lstat
            digest.update(b"<not a regular file>")
            return
        while chunk := f.read(1 << 20):
            digest.update(chunk)


class _TooDeep(Exception):
    def __init__(self, rel: str) -> None:
        super().__init__(rel)
        self.rel = rel


class _TooMany(Exception):
    pass


def _walk(root: Path, max_depth: int, skip: tuple[str, ...], max_entries: int = HASH_MAX_ENTRIES):
    """(relative path, path, lstat) of every entry under `root`, depth first, each folder's
    entries sorted by name (so files come in the order of their sorted paths); without
    recursion and never through a link. Folders named in `skip`, and the grader's own output
    folders (`is_grader_output`), are neither listed nor entered.

    Raises:
        _TooDeep: a folder deeper than `max_depth` (its relative path in `.rel`).
        _TooMany: more than `max_entries` entries.
    """
    stack: list[tuple[str, str, int]] = [(os.fspath(root), "", 0)]
    seen = 0
    while stack:
        folder, rel, depth = stack.pop()
        if depth > max_depth:
            raise _TooDeep(rel)
        with os.scandir(folder) as it:
            children = sorted(it, key=lambda e: os.fsencode(e.name))
        below = []
        for child in children:
            info = child.stat(follow_symlinks=False)
            if stat.S_ISDIR(info.st_mode) and (child.name in skip or is_grader_output(child.path)):
                continue
            seen += 1
            if seen > max_entries:
                raise _TooMany()
            child_rel = f"{rel}/{child.name}" if rel else child.name
            yield child_rel, child.path, info
            if stat.S_ISDIR(info.st_mode):
                below.append((child.path, child_rel, depth + 1))
        stack.extend(reversed(below))


def _kind(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISDIR(mode):
        return "a folder"
    return "not a regular file"


def _open_regular(path, shown: str):
    """A regular file opened for reading, never through a link and never blocking on a
    fifo; SubmissionError (with `shown` as its name) for anything else."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise SubmissionError(
                f"{shown} is a symbolic link", "hand in regular files only"
            ) from None
        raise
    f = os.fdopen(fd, "rb")
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        f.close()
        raise SubmissionError(f"{shown} is not a regular file ({_kind(mode)})")
    os.set_blocking(fd, True)
    return f


def _read_regular(path, shown: str, limit: int) -> bytes:
    """A regular file's bytes (see `_open_regular`), refused beyond `limit` bytes."""
    with _open_regular(path, shown) as f:
        data = f.read(limit + 1)
    if len(data) > limit:
        raise SubmissionError(f"{shown} is larger than {limit >> 20} MiB")
    return data


def _shown(name: str) -> str:
    """An entry's name for a message: bytes that are not UTF-8 shown as U+FFFD."""
    return "".join("\ufffd" if 0xD800 <= ord(ch) <= 0xDFFF else ch for ch in name)


def prepare(
    source: Path,
    dest: Path,
    contract: Mapping[str, tuple] | tuple[str, ...],
    *,
    modules_only: bool = False,
) -> PreparedSubmission:
    """Normalise one submission into `dest` (created; must not exist).

    Nothing is followed: a submission that is, or holds, a symbolic link, a fifo, a device
    or a socket is refused, and every file is opened with `O_NOFOLLOW` and checked to be a
    regular file before a byte of it is read.

    Args:
        source: what the student handed in.
        dest: the directory to create.
        contract: the assignment's contract (`AssignmentConfig.contract`: module -> its
            (function, signature) pairs), or only its module names: a folder submission
            holds those modules; a single file provides them all. With the functions, a
            folder holding both the modules and a notebook is graded by whichever of the two
            implements them (see `_layout`).
        modules_only: for a directory, take only its top-level `.py` files (the reference's
            folder also holds its checks and settings, which the sandbox must not see).

    Raises:
        SubmissionError: the submission is refused or unreadable; the message says why, in
            one line, without the grader's own paths. Whatever goes wrong while loading one
            submission becomes this error: it is that student's result, never the batch's.
    """
    functions = None
    if isinstance(contract, Mapping):
        functions = {m: tuple(f if isinstance(f, str) else f[0] for f in fns)
                     for m, fns in contract.items()}  # fmt: skip
    try:
        return _prepare(Path(source), dest, tuple(contract), modules_only, functions)
    except SubmissionError:
        raise
    except Exception as exc:  # noqa: BLE001 - one bad submission never sinks the batch
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc  # no host paths
        raise SubmissionError(
            f"the grader could not load this submission: {type(exc).__name__}: {why}"[:300]
        ) from None


def _prepare(
    source: Path,
    dest: Path,
    contract: tuple[str, ...],
    modules_only: bool,
    functions: dict[str, tuple[str, ...]] | None = None,
) -> PreparedSubmission:
    sid = safe_id(submission_id(source))[0]
    name = _shown(source.name)
    try:
        info = os.lstat(source)
    except FileNotFoundError:
        raise SubmissionError(f"{_shown(str(source))} does not exist") from None
    if stat.S_ISLNK(info.st_mode):
        raise SubmissionError(f"{name} is a symbolic link", "hand in the file itself")
    if not (stat.S_ISDIR(info.st_mode) or stat.S_ISREG(info.st_mode)):
        raise SubmissionError(f"{name} is not a regular file or folder ({_kind(info.st_mode)})")
    digest = content_hash(source)
    dest.mkdir(parents=True)
    notes: list[str] = []
    sources: dict = {}
    if stat.S_ISDIR(info.st_mode):
        kind = "directory"
        if modules_only:
            for file in sorted(source.glob("*.py")):
                _copy_file(file, dest / file.name, file.name, MAX_FILE_BYTES)
        else:
            _copy_tree(source, dest)
        modules = _layout(dest, notes, sources, contract, functions)
    elif source.suffix == ".zip":
        kind = "zip"
        extracted = dest.parent / f"{dest.name}.unzipped"
        _extract_zip(source, extracted)
        inner = _single_entry(extracted)
        if inner.is_file():
            modules = _single_file(inner, dest, notes, sources, contract)
        else:
            _copy_tree(inner, dest)
            modules = _layout(dest, notes, sources, contract, functions)
        shutil.rmtree(extracted)
    elif source.suffix in (".py", ".ipynb"):
        kind = source.suffix[1:]
        modules = _single_file(source, dest, notes, sources, contract, name)
    else:
        raise SubmissionError(
            f"{name}: unsupported submission type", "hand in a folder, .py, .ipynb or .zip"
        )
    for path in [dest, *dest.rglob("*")]:  # the sandbox user must be able to read it all
        path.chmod(0o755 if path.is_dir() else 0o644)
    return PreparedSubmission(sid, source, kind, dest, modules, digest, tuple(notes), sources)


def _single_file(
    file: Path,
    dest: Path,
    notes: list[str],
    sources: dict,
    contract: tuple[str, ...],
    label: str | None = None,
) -> dict[str, str]:
    """Write a single .py or notebook as the module `submission`; `sources` says where its
    lines come from (the student's own file name, and for a notebook each line's cell)."""
    label = label or _shown(file.name)
    limit = MAX_TOTAL_BYTES if file.suffix == ".ipynb" else MAX_FILE_BYTES
    source: dict = {"label": label}
    if file.suffix == ".ipynb":
        raw = _read_regular(file, label, limit)  # a huge upload is never loaded whole
        code, source["cells"] = notebook_module(raw, label, notes)
    elif file.suffix == ".py":
        code = _read_regular(file, label, limit).decode("utf-8", errors="replace")
    else:
        raise SubmissionError(
            f"{label}: expected a .py or .ipynb file", "hand in a folder, .py, .ipynb or .zip"
        )
    (dest / f"{SINGLE_MODULE}.py").write_text(code, encoding="utf-8")
    sources[f"{SINGLE_MODULE}.py"] = source
    return {m: SINGLE_MODULE for m in contract}


def _layout(
    directory: Path,
    notes: list[str],
    sources: dict,
    contract: tuple[str, ...],
    functions: dict[str, tuple[str, ...]] | None = None,
) -> dict[str, str]:
    """Which module provides which part, for a directory submission.

    A folder that holds both the contract's modules and a notebook (the assignment's folder
    as handed out: stub modules and the notebook) is graded by the one that implements the
    contract's functions, and a note says which; where both or neither do, it is refused
    with a line naming both (grading the other one would be a silent 0).
    """
    present = {m for m in contract if (directory / f"{m}.py").is_file()}
    notebooks = sorted(p for p in directory.iterdir() if p.suffix == ".ipynb" and p.is_file())
    if present and notebooks and functions is not None:
        chosen = _implementing_side(directory, sorted(present), notebooks, functions)
        module_names = ", ".join(f"{m}.py" for m in sorted(present))
        notebook_names = ", ".join(_shown(nb.name) for nb in notebooks)
        if chosen is not None:
            notes.append(
                f"{FORM_NOTE}the notebook {_shown(chosen.name)}: {module_names} beside it hold "
                "only the stubs"
            )
            return _single_in_folder(directory, chosen, notes, sources, contract)
        notes.append(f"{FORM_NOTE}{module_names}: {notebook_names} beside them is only the stub")
    if present:
        for missing in sorted(set(contract) - present):
            notes.append(f"{missing}.py is missing from the submission")
        return {m: m for m in contract}
    # A folder holding one notebook or one .py is a single-file submission in a folder.
    candidates = [p for p in directory.iterdir() if p.suffix in (".py", ".ipynb")]
    if len(candidates) == 1:
        return _single_in_folder(directory, candidates[0], notes, sources, contract)
    names = ", ".join(f"{m}.py" for m in contract)
    raise SubmissionError(
        f"found none of {names}",
        "a folder submission holds those modules (or a single .py or .ipynb)",
    )


def _single_in_folder(
    directory: Path, file: Path, notes: list[str], sources: dict, contract: tuple[str, ...]
) -> dict[str, str]:
    """Grade one file of a folder as a single-file submission (the rest is dropped)."""
    staged = directory.parent / f"{directory.name}.single{file.suffix}"
    file.rename(staged)
    shutil.rmtree(directory)
    directory.mkdir()
    modules = _single_file(staged, directory, notes, sources, contract, file.name)
    staged.unlink()
    return modules


def _implementing_side(
    directory: Path,
    present: list[str],
    notebooks: list[Path],
    functions: dict[str, tuple[str, ...]],
) -> Path | None:
    """Modules and notebook side by side: the notebook to grade instead of the modules, or
    None to grade the modules; SubmissionError where both or neither implement the contract.
    """
    wanted = {f for fns in functions.values() for f in fns}
    modules_done: set[str] = set()
    for module in present:
        code = _read_regular(directory / f"{module}.py", f"{module}.py", MAX_FILE_BYTES)
        modules_done |= implemented_functions(code.decode("utf-8", "replace"), wanted)
    written = {}
    for notebook in notebooks:
        raw = _read_regular(notebook, _shown(notebook.name), MAX_TOTAL_BYTES)
        try:
            code = notebook_module(raw, _shown(notebook.name), [])[0]
        except SubmissionError:
            code = None  # not a notebook that loads: the student's own doing, so graded
        written[notebook] = wanted if code is None else implemented_functions(code, wanted)
    done_notebooks = [nb for nb, done in written.items() if done]
    module_names = ", ".join(f"{m}.py" for m in present)
    notebook_names = ", ".join(_shown(nb.name) for nb in notebooks)
    if modules_done and done_notebooks:
        raise SubmissionError(
            f"both {module_names} and {notebook_names} implement the assignment's functions, "
            "so it is unclear which to grade",
            "hand in one of them: delete (or empty) the other, or submit the notebook alone",
        )
    if not modules_done and not done_notebooks:
        raise SubmissionError(
            f"neither {module_names} nor {notebook_names} implements any of the assignment's "
            "functions (all are still stubs)",
            "write the functions in the modules or in the notebook, then check again",
        )
    if len(done_notebooks) > 1:
        raise SubmissionError(
            f"{notebook_names} all implement the assignment's functions",
            "keep one notebook in the folder",
        )
    return done_notebooks[0] if done_notebooks else None


def implemented_functions(code: str, wanted: set[str]) -> set[str]:
    """The functions of `wanted` that `code` defines at top level with more than a stub's
    body (a docstring, `pass`, `...` or `raise NotImplementedError`). Code that does not
    parse counts as written: it is the student's, and grading it shows the error."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):  # nesting beyond the parser
        return set(wanted)
    return {
        node.name
        for node in tree.body
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        and node.name in wanted
        and not _stub_body(node.body)
    }


def _stub_body(body: list[ast.stmt]) -> bool:
    for stmt in body:
        if isinstance(stmt, ast.Pass):
            continue
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
            continue  # a docstring, `...`, a string left as a note
        if isinstance(stmt, ast.Raise) and stmt.exc is not None:
            exc = stmt.exc.func if isinstance(stmt.exc, ast.Call) else stmt.exc
            if isinstance(exc, ast.Name) and exc.id == "NotImplementedError":
                continue
        return False
    return True


def _copy_tree(source: Path, dest: Path) -> None:
    """Copy regular files only, entry by entry, within limits, without recursion.

    Symbolic links, fifos, devices and sockets are refused, not followed or opened; so are
    names that are not valid UTF-8 and folders nested deeper than `MAX_DEPTH`.
    """
    count, total = 0, 0
    try:
        # The walk stops at MAX_DEPTH + 1: a folder that deep is refused when it is reached.
        for rel, full, info in _walk(source, MAX_DEPTH, IGNORED_DIRS, MAX_FILES * 50):
            shown = _shown(rel)
            if shown != rel:
                raise SubmissionError(
                    f"{shown!r} has a name that is not valid UTF-8",
                    "rename it and hand it in again",
                )
            if stat.S_ISLNK(info.st_mode):
                raise SubmissionError(f"{rel} is a symbolic link", "hand in regular files only")
            if stat.S_ISDIR(info.st_mode):
                (dest / rel).mkdir()
                continue
            if not stat.S_ISREG(info.st_mode):
                raise SubmissionError(f"{rel} is not a regular file ({_kind(info.st_mode)})")
            count += 1
            _check_limits(count, total + info.st_size, rel)
            total += _copy_file(full, dest / rel, rel, MAX_TOTAL_BYTES - total)
            _check_limits(count, total, rel)
    except _TooDeep as exc:
        raise SubmissionError(
            f"{_shown(exc.rel)} is nested deeper than {MAX_DEPTH} folders"
        ) from None
    except _TooMany:
        raise SubmissionError(
            f"more than {MAX_FILES * 50} files and folders", "hand in only your code"
        ) from None


def _copy_file(source, target: Path, shown: str, limit: int) -> int:
    """Copy one regular file (see `_open_regular`) to a new file; its size, at most `limit`
    bytes (beyond, the copy stops and the size says so)."""
    with _open_regular(source, shown) as src, open(target, "xb") as out:
        copied = 0
        while chunk := src.read(min(1 << 20, limit + 1 - copied)):
            copied += len(chunk)
            out.write(chunk)
            if copied > limit:
                break
    return copied


def _check_limits(count: int, total: int, name: object) -> None:
    if count > MAX_FILES:
        raise SubmissionError(f"more than {MAX_FILES} files", "hand in only your code")
    if total > MAX_TOTAL_BYTES:
        raise SubmissionError(
            f"more than {MAX_TOTAL_BYTES >> 20} MiB in all (at {name})",
            "hand in only your code: no datasets or saved models",
        )


def _extract_zip(archive: Path, dest: Path) -> None:
    """Extract by hand under grader/unzip.py's rules, within this module's limits."""
    name = _shown(archive.name)
    f = _open_regular(archive, name)
    try:
        zf = zipfile.ZipFile(f)
    except (zipfile.BadZipFile, OSError) as exc:
        f.close()
        raise SubmissionError(f"{name} is not a readable zip file: {exc}") from None
    dest.mkdir(parents=True)
    try:
        with f, zf:
            unzip.extract(
                zf, dest, limit=_check_limits, max_depth=MAX_DEPTH + 1, max_ratio=MAX_ZIP_RATIO
            )
    except unzip.UnsafeArchive as exc:
        raise SubmissionError(str(exc), exc.hint) from None
    except _UNZIP_ERRORS as exc:  # bad CRC, encryption, unknown compression, a name twice...
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc  # no host paths
        raise SubmissionError(f"{name} cannot be extracted: {why}") from None


_UNZIP_ERRORS = (OSError, EOFError, RuntimeError, NotImplementedError, zipfile.BadZipFile,
                 zlib.error)  # fmt: skip


def _single_entry(directory: Path) -> Path:
    """Descend through a zip's single top-level folder (`alice/` inside `alice.zip`)."""
    entries = [p for p in directory.iterdir() if not p.name.startswith((".", "__MACOSX"))]
    if len(entries) == 1:
        if entries[0].is_dir():
            return _single_entry(entries[0])
        if entries[0].suffix in (".py", ".ipynb"):
            return entries[0]
    if not entries:
        raise SubmissionError("the zip file is empty")
    return directory


# ---- notebooks ------------------------------------------------------------------------

_KEPT = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def notebook_to_module(raw: bytes, name: str, notes: list[str]) -> str:
    """The importable part of a notebook: imports, defs, classes and constant assignments.

    Other top-level statements (the student's own training runs, plots, prints) are dropped,
    and so are IPython magics and shell lines. Cells are parsed one by one, so a cell with a
    syntax error loses only its own definitions (and says so in `notes`).
    """
    return notebook_module(raw, name, notes)[0]


_AST_LOCK = threading.Lock()
"""CPython 3.11 keeps the AST converter's recursion depth in interpreter-wide state: two
threads parsing at once (students prepared side by side) can fail one of them with
"SystemError: AST constructor recursion depth mismatch" (python/cpython#106905), which
refused an honest notebook in a test run. Parsing is a few milliseconds: one at a time."""


def notebook_module(raw: bytes, name: str, notes: list[str]) -> tuple[str, list]:
    """`notebook_to_module`, with where each line of the module comes from: per line, the
    notebook's `[cell, line]`, or None for a line the grader added (tracebacks then say
    `notebook cell 4, line 3`)."""
    with _AST_LOCK:
        return _notebook_module(raw, name, notes)


def _notebook_module(raw: bytes, name: str, notes: list[str]) -> tuple[str, list]:
    if len(raw) > MAX_TOTAL_BYTES:
        raise SubmissionError(f"{name} is larger than {MAX_TOTAL_BYTES >> 20} MiB")
    try:
        nb = json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError) as exc:  # not UTF-8, not JSON, a 5,000-digit number
        raise SubmissionError(
            f"{name} is not a valid notebook (not JSON: {exc})",
            "save it again from Jupyter, or hand in .py files",
        ) from None
    cells = nb.get("cells") if isinstance(nb, dict) else None
    if not isinstance(cells, list) or "nbformat" not in nb:
        raise SubmissionError(
            f"{name} is JSON but not a Jupyter notebook (no nbformat/cells)",
            "save it again from Jupyter, or hand in .py files",
        )
    out: list[tuple[str, list | None]] = []
    defined = set(dir(builtins))
    dropped = 0
    for number, cell in enumerate(cells, start=1):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        source = "".join(map(str, source)) if isinstance(source, list) else str(source)
        source = _strip_ipython(source)
        try:
            tree = ast.parse(source)
        except SyntaxError as exc:
            notes.append(
                f"notebook cell {number} has a syntax error (line {exc.lineno}: {exc.msg}); "
                "its definitions were skipped"
            )
            continue
        except (ValueError, MemoryError, RecursionError) as exc:  # null bytes, too deep
            notes.append(
                f"notebook cell {number} cannot be parsed ({type(exc).__name__}); "
                "its definitions were skipped"
            )
            continue
        lines = source.splitlines()
        kept: list[tuple[str, list | None]] = []
        for node in tree.body:
            unknown = _header_names(node) - defined
            if isinstance(node, ast.ImportFrom) and node.module == "__future__":
                dropped += 1  # only legal at the top of a module, which cells are not
            elif unknown:
                # Its `def` line would raise NameError at import and sink the whole module
                # (a plotting helper's `cmap=plt.cm.Blues` when plt is never imported).
                notes.append(
                    f"notebook cell {number}: {node.name} was left out: its definition uses "
                    f"{', '.join(sorted(unknown))}, which the notebook never defines before it"
                )
            elif _keep(node, defined):
                first = first_line(node)
                segment = [(lines[i - 1], [number, i]) for i in range(first, node.end_lineno + 1)]
                if isinstance(node, ast.Import | ast.ImportFrom):
                    segment = _guarded(segment)
                kept += segment
            else:
                dropped += 1
        if kept:
            if out:
                out += [("", None), ("", None)]
            out += [(f"# ---- notebook cell {number} ----", None), *kept]
    if dropped:
        notes.append(f"notebook: {dropped} top-level statements that are not definitions ignored")
    return "\n".join(text for text, _ in out) + "\n", [origin for _, origin in out]


def _guarded(segment: list[tuple[str, list | None]]) -> list[tuple[str, list | None]]:
    """A notebook's import, made harmless if the grading environment lacks the package.

    Notebooks import what their dropped cells use (matplotlib for plots, pandas...); such
    an import must not fail the whole module. A function that really needs the package
    then fails alone, with a NameError naming it.
    """
    body = [("    " + text, origin) for text, origin in segment]
    return [
        ("try:", segment[0][1]),
        *body,
        ("except ImportError:  # not installed for grading", None),
        ("    pass", None),
    ]


_HELP_LINE = re.compile(r"\s*(\?{1,2}[\w.]+|[\w.]+\?{1,2})\s*")
"""IPython's help syntax (`obj?`, `??obj`); not a comment or string that ends in `?`."""


def _strip_ipython(source: str) -> str:
    """Blank out magics (`%`, `%%`) and shell lines (`!`), keeping line numbers."""
    lines = source.splitlines()
    if lines and lines[0].lstrip().startswith("%%"):
        return ""
    return "\n".join(
        "" if line.lstrip().startswith(("%", "!")) or _HELP_LINE.fullmatch(line) else line
        for line in lines
    )


def _keep(node: ast.stmt, defined: set[str]) -> bool:
    """Keep definitions, and assignments of constants computed from what is kept."""
    if isinstance(node, _KEPT):
        if isinstance(node, ast.Import | ast.ImportFrom):
            for alias in node.names:
                defined.add((alias.asname or alias.name).split(".")[0])
        else:
            defined.add(node.name)
        return True
    if isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign) and node.value is not None:
        if any(isinstance(n, ast.Lambda | ast.Await) for n in ast.walk(node.value)):
            return False
        if not all(_safe_call(n) for n in ast.walk(node.value) if isinstance(n, ast.Call)):
            return False  # e.g. load_data(), model.fit(...): the student's own runs
        loads = {n.id for n in ast.walk(node.value) if isinstance(n, ast.Name)}
        if not loads <= defined:
            return False  # e.g. `num_pixels = X_train.shape[1]` after a dropped load_data()
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        names = [name for target in targets for name in _target_names(target)]
        if names is None or any(name is None for name in names):
            return False  # an attribute or item of something: not a constant of the module
        if isinstance(node, ast.AugAssign) and not set(names) <= defined:
            return False
        defined.update(names)
        return True
    return False


_SAFE_CALLS = frozenset({
    "partial", "functools.partial", "tuple", "list", "dict", "set", "frozenset", "range",
    "int", "float", "str", "bool", "len", "min", "max", "round", "abs", "zip", "sorted",
})  # fmt: skip
_SAFE_NAMESPACES = frozenset({
    "layers", "optimizers", "losses", "metrics", "initializers", "regularizers",
    "activations", "constraints", "schedules",
})  # fmt: skip
"""Top-level notebook constants may call these: building a value, never running anything
(Géron's `DefaultConv2D = partial(keras.layers.Conv2D, ...)`, `opt = keras.optimizers.Adam()`)."""


def _dotted(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return ""


def _safe_call(call: ast.Call) -> bool:
    name = _dotted(call.func)
    return name in _SAFE_CALLS or bool(_SAFE_NAMESPACES.intersection(name.split(".")[:-1]))


def _header_names(node: ast.stmt) -> set[str]:
    """Names a `def` or `class` statement evaluates when it runs (decorators, defaults,
    annotations, base classes): its body only runs when called."""
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
        args = node.args
        parts = [*node.decorator_list, *args.defaults, *(d for d in args.kw_defaults if d)]
        every = [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]
        parts += [a.annotation for a in every if a is not None and a.annotation is not None]
        if node.returns is not None:
            parts.append(node.returns)
    elif isinstance(node, ast.ClassDef):
        parts = [*node.decorator_list, *node.bases, *(k.value for k in node.keywords)]
    else:
        return set()
    return {
        n.id
        for part in parts
        for n in ast.walk(part)
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)
    }


def _target_names(target: ast.expr) -> list[str | None]:
    """The names an assignment binds: `a`, `a, b`, `(a, *rest)`, `[a, b]`; None for a part
    that is not a plain name (`obj.attr`, `x[0]`)."""
    if isinstance(target, ast.Name):
        return [target.id]
    if isinstance(target, ast.Starred):
        return _target_names(target.value)
    if isinstance(target, ast.Tuple | ast.List):
        return [name for element in target.elts for name in _target_names(element)]
    return [None]
