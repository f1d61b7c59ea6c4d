"""Loading a submission: a directory, a `.py`, a `.ipynb` or a `.zip` of these.

Every form is normalised into a plain directory of Python modules that the sandbox mounts
read-only. Nothing here imports or runs student code: notebooks are filtered with `ast`,
zips are extracted by hand with limits, and anything refused raises `SubmissionError` with
the reason, which the grader records as that student's result.
"""

from __future__ import annotations

import ast
import builtins
import hashlib
import json
import os
import re
import shutil
import stat
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from grader.errors import GraderError

CONTRACT_MODULES = ("preprocessing", "models", "training")
"""The modules of a directory submission (ASSIGNMENT.md); a single file provides all three."""
SINGLE_MODULE = "submission"
"""Module name a single `.py` or notebook becomes inside the sandbox."""
SUFFIXES = (".py", ".ipynb", ".zip")

MAX_FILES = 200
MAX_TOTAL_BYTES = 50 * 1024 * 1024
MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_DEPTH = 8
MAX_ZIP_RATIO = 200
"""Zip entries expanding more than this many times their compressed size are a bomb."""


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
    """`alice.ipynb` -> `alice`; `bob/` -> `bob`; `carol.tar.zip` -> `carol.tar`."""
    name = path.name.rstrip("/")
    for suffix in SUFFIXES:
        if name.endswith(suffix) and path.is_file():
            return name[: -len(suffix)]
    return name


def discover(submissions: Path) -> list[Path]:
    """The submissions in a class directory, sorted by id: one entry per student.

    Hidden entries and files of other types are ignored; two entries with the same id
    (`alice.py` and `alice.ipynb`) are an error, since one would silently replace the other.
    """
    if not submissions.is_dir():
        raise GraderError(
            f"{submissions} is not a directory of submissions",
            "pass a directory with one entry per student (a folder, .py, .ipynb or .zip)",
        )
    entries: dict[str, Path] = {}
    for entry in sorted(submissions.iterdir()):
        if entry.name.startswith((".", "_")):
            continue
        if entry.is_file() and entry.suffix not in SUFFIXES:
            continue
        sid = submission_id(entry)
        if sid in entries:
            raise GraderError(
                f"two submissions have the id {sid!r}: {entries[sid].name} and {entry.name}",
                "keep one entry per student",
            )
        entries[sid] = entry
    return [entries[k] for k in sorted(entries)]


def content_hash(path: Path) -> str:
    """sha256 over a file's bytes, or a directory's relative paths and file bytes."""
    digest = hashlib.sha256()
    if path.is_dir():
        for file in sorted(p for p in path.rglob("*") if p.is_file() and not p.is_symlink()):
            if "__pycache__" in file.parts:
                continue
            digest.update(file.relative_to(path).as_posix().encode() + b"\0")
            _hash_file(digest, file)
            digest.update(b"\0")
    else:
        _hash_file(digest, path)
    return digest.hexdigest()


def _hash_file(digest, path: Path) -> None:
    """Stream a file into the digest: a huge upload is hashed, never read whole."""
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)


def prepare(source: Path, dest: Path, *, modules_only: bool = False) -> PreparedSubmission:
    """Normalise one submission into `dest` (created; must not exist).

    Args:
        source: what the student handed in.
        dest: the directory to create.
        modules_only: for a directory, take only its top-level `.py` files (the reference's
            folder also holds its checks and settings, which the sandbox must not see).

    Raises:
        SubmissionError: the submission is refused or unreadable; the message says why.
    """
    source = Path(source)
    sid = submission_id(source)
    if source.is_symlink():
        raise SubmissionError(f"{source.name} is a symbolic link", "hand in the file itself")
    if not source.exists():
        raise SubmissionError(f"{source} does not exist")
    digest = content_hash(source)
    dest.mkdir(parents=True)
    notes: list[str] = []
    sources: dict = {}
    if source.is_dir():
        kind = "directory"
        if modules_only:
            for file in sorted(source.glob("*.py")):
                shutil.copyfile(file, dest / file.name)
        else:
            _copy_tree(source, dest)
        modules = _layout(dest, notes, sources)
    elif source.suffix == ".zip":
        kind = "zip"
        extracted = dest.parent / f"{dest.name}.unzipped"
        _extract_zip(source, extracted)
        inner = _single_entry(extracted)
        if inner.is_file():
            modules = _single_file(inner, dest, notes, sources)
        else:
            _copy_tree(inner, dest)
            modules = _layout(dest, notes, sources)
        shutil.rmtree(extracted)
    elif source.suffix in (".py", ".ipynb"):
        kind = source.suffix[1:]
        modules = _single_file(source, dest, notes, sources)
    else:
        raise SubmissionError(
            f"{source.name}: unsupported submission type", "hand in a folder, .py, .ipynb or .zip"
        )
    for path in [dest, *dest.rglob("*")]:  # the sandbox user must be able to read it all
        path.chmod(0o755 if path.is_dir() else 0o644)
    return PreparedSubmission(sid, source, kind, dest, modules, digest, tuple(notes), sources)


def _single_file(
    file: Path, dest: Path, notes: list[str], sources: dict, label: str | None = None
) -> dict[str, str]:
    """Write a single .py or notebook as the module `submission`; `sources` says where its
    lines come from (the student's own file name, and for a notebook each line's cell)."""
    limit = MAX_TOTAL_BYTES if file.suffix == ".ipynb" else MAX_FILE_BYTES
    if file.stat().st_size > limit:  # before reading: a huge upload is never loaded whole
        raise SubmissionError(f"{file.name} is larger than {limit >> 20} MiB")
    source: dict = {"label": label or file.name}
    if file.suffix == ".ipynb":
        code, source["cells"] = notebook_module(file.read_bytes(), file.name, notes)
    elif file.suffix == ".py":
        code = file.read_bytes()
        if len(code) > MAX_FILE_BYTES:
            raise SubmissionError(f"{file.name} is larger than {MAX_FILE_BYTES >> 20} MiB")
        code = code.decode("utf-8", errors="replace")
    else:
        raise SubmissionError(
            f"{file.name}: expected a .py or .ipynb file", "hand in a folder, .py, .ipynb or .zip"
        )
    (dest / f"{SINGLE_MODULE}.py").write_text(code, encoding="utf-8")
    sources[f"{SINGLE_MODULE}.py"] = source
    return {m: SINGLE_MODULE for m in CONTRACT_MODULES}


def _layout(directory: Path, notes: list[str], sources: dict) -> dict[str, str]:
    """Which module provides which part, for a directory submission."""
    present = {m for m in CONTRACT_MODULES if (directory / f"{m}.py").is_file()}
    if present:
        for missing in sorted(set(CONTRACT_MODULES) - present):
            notes.append(f"{missing}.py is missing from the submission")
        return {m: m for m in CONTRACT_MODULES}
    # A folder holding one notebook or one .py is a single-file submission in a folder.
    candidates = [p for p in directory.iterdir() if p.suffix in (".py", ".ipynb")]
    if len(candidates) == 1:
        file = candidates[0]
        staged = directory.parent / f"{directory.name}.single{file.suffix}"
        file.rename(staged)
        shutil.rmtree(directory)
        directory.mkdir()
        modules = _single_file(staged, directory, notes, sources, file.name)
        staged.unlink()
        return modules
    raise SubmissionError(
        "found none of preprocessing.py, models.py, training.py",
        "a folder submission holds those three modules (or a single .py or .ipynb)",
    )


def _copy_tree(source: Path, dest: Path) -> None:
    """Copy regular files only, within limits; symlinks are refused, not followed."""
    count, total = 0, 0
    for root, dirs, files in os.walk(source):
        rel = Path(root).relative_to(source)
        if len(rel.parts) > MAX_DEPTH:
            raise SubmissionError(f"{rel} is nested deeper than {MAX_DEPTH} folders")
        dirs[:] = [d for d in dirs if d not in ("__pycache__", ".git", ".ipynb_checkpoints")]
        for name in dirs + files:
            if (Path(root) / name).is_symlink():
                raise SubmissionError(
                    f"{rel / name} is a symbolic link", "hand in regular files only"
                )
        (dest / rel).mkdir(parents=True, exist_ok=True)
        for name in files:
            src = Path(root) / name
            info = src.lstat()
            if not stat.S_ISREG(info.st_mode):
                raise SubmissionError(f"{rel / name} is not a regular file")
            count += 1
            total += info.st_size
            _check_limits(count, total, rel / name)
            shutil.copyfile(src, dest / rel / name, follow_symlinks=False)


def _check_limits(count: int, total: int, name: object) -> None:
    if count > MAX_FILES:
        raise SubmissionError(f"more than {MAX_FILES} files", "hand in only your code")
    if total > MAX_TOTAL_BYTES:
        raise SubmissionError(
            f"more than {MAX_TOTAL_BYTES >> 20} MiB in all (at {name})",
            "hand in only your code: no datasets or saved models",
        )


def _extract_zip(archive: Path, dest: Path) -> None:
    """Extract by hand: no absolute paths, no `..`, no symlinks, bounded size and count."""
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as exc:
        raise SubmissionError(f"{archive.name} is not a readable zip file: {exc}") from None
    dest.mkdir(parents=True)
    try:
        _extract_entries(zf, dest)
    except _UNZIP_ERRORS as exc:  # bad CRC, encryption, unknown compression, a name twice...
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc  # no host paths
        raise SubmissionError(f"{archive.name} cannot be extracted: {why}") from None


_UNZIP_ERRORS = (OSError, EOFError, RuntimeError, NotImplementedError, zipfile.BadZipFile,
                 zlib.error)  # fmt: skip


def _extract_entries(zf: zipfile.ZipFile, dest: Path) -> None:
    count, total = 0, 0
    with zf:
        for info in zf.infolist():
            name = info.filename
            path = PurePosixPath(name)
            if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
                raise SubmissionError(f"zip entry {name!r} has an absolute path")
            if ".." in path.parts or "\\" in name:
                raise SubmissionError(f"zip entry {name!r} points outside the archive (..)")
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                raise SubmissionError(
                    f"zip entry {name!r} is a symbolic link", "zip regular files only"
                )
            if path.parts and path.parts[0] == "__MACOSX":
                continue
            if len(path.parts) > MAX_DEPTH + 1:
                raise SubmissionError(f"zip entry {name!r} is nested too deep")
            if info.is_dir():
                (dest / path).mkdir(parents=True, exist_ok=True)
                continue
            count += 1
            _check_limits(count, total + info.file_size, name)
            if info.compress_size and info.file_size / info.compress_size > MAX_ZIP_RATIO:
                raise SubmissionError(f"zip entry {name!r} expands {MAX_ZIP_RATIO}x: a zip bomb?")
            target = dest / path
            target.parent.mkdir(parents=True, exist_ok=True)
            # Count the bytes really produced: the sizes in the header may lie.
            with zf.open(info) as src, open(target, "xb") as out:
                while chunk := src.read(1 << 16):
                    total += len(chunk)
                    _check_limits(count, total, name)
                    out.write(chunk)


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


def notebook_module(raw: bytes, name: str, notes: list[str]) -> tuple[str, list]:
    """`notebook_to_module`, with where each line of the module comes from: per line, the
    notebook's `[cell, line]`, or None for a line the grader added (tracebacks then say
    `notebook cell 4, line 3`)."""
    if len(raw) > MAX_TOTAL_BYTES:
        raise SubmissionError(f"{name} is larger than {MAX_TOTAL_BYTES >> 20} MiB")
    try:
        nb = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
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
                first = _first_line(node)
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


def _first_line(node: ast.stmt) -> int:
    decorators = getattr(node, "decorator_list", [])
    return min([node.lineno] + [d.lineno for d in decorators])


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
        if any(isinstance(n, ast.Call | ast.Lambda | ast.Await) for n in ast.walk(node.value)):
            return False
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
