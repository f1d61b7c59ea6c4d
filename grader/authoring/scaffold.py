"""`grader new`: start an assignment's reference folder, from an example or from another one.

Without `like`, the folder is made from the skeleton beside this module (`skeleton/`, files
ending in `.tmpl`): a small complete example (a solution with solution markers, a commented
`assignment.toml`, one check of each kind, `notebook.toml`, READMEs) that loads as it is and
lacks only its data file. The skeleton's files end in `.tmpl` so that nothing treats them as
the engine's own code: their function and model names are an example's, which an assignment
made from them may keep.

With `like`, the folder is a copy of that assignment's (solution, settings, checks, notebook
prose, READMEs) without its data file, under a new title.

Either way the folder is built beside its destination and renamed into place at the end, so a
failure leaves nothing half made.
"""

from __future__ import annotations

import keyword
import re
import shutil
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path

from grader.config import REPO_ROOT, load_config
from grader.errors import GraderError

SKELETON = Path(__file__).resolve().parent / "skeleton"
"""The example assignment `grader new` writes (file names without their `.tmpl` suffix)."""
TEMPLATE_SUFFIX = ".tmpl"
_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")
_SKIPPED = {"__pycache__", ".pytest_cache", ".ruff_cache", ".ipynb_checkpoints"}
"""Folders of an assignment that are never copied: caches."""
_TITLE_LINE = re.compile(r"^title\s*=.*$", re.MULTILINE)


@dataclass(frozen=True)
class NewAssignment:
    """What `grader new` is asked to make, once checked (see `plan_new`)."""

    name: str
    """The assignment's name: its folder's name."""
    dest: Path
    """The folder to create, `<root>/<name>`."""
    like: Path | None = None
    """The reference folder to copy, or None for the example."""


@dataclass(frozen=True)
class Made:
    """What `create` made."""

    dest: Path
    title: str
    data_file: Path
    """Where the data file goes (absent)."""
    like: Path | None = None
    mentions: tuple[str, ...] = ()
    """Copied text files that still name the assignment they were copied from."""


def plan_new(name: str, root: Path, like: str | None = None) -> NewAssignment:
    """Check a `grader new` request without writing anything.

    Args:
        name: the new assignment's name.
        root: the folder of assignments (`reference/`).
        like: an assignment to copy: a name under `root` or under the repository's
            `reference/`, or a reference folder's path; None for the example.

    Raises:
        GraderError: the name is not a safe identifier, `root/name` exists, or `like` is no
            assignment (one line and a hint: a usage error).
    """
    if not _NAME.fullmatch(name) or keyword.iskeyword(name):
        raise GraderError(
            f"{name!r} is not a safe assignment name",
            "use lowercase letters, digits and _, starting with a letter (at most 40), "
            "e.g. lab3_dense",
        )
    root = Path(root)
    dest = root / name
    if dest.exists() or dest.is_symlink():
        from grader.authoring.validate import display_path

        raise GraderError(
            f"{display_path(dest)} already exists",
            "choose another name, or remove that folder first",
        )
    source = None
    if like is not None:
        source = _find_like(like, root)
    return NewAssignment(name, dest, source)


def _find_like(like: str, root: Path) -> Path:
    candidates = [Path(like), root / like, REPO_ROOT / "reference" / like]
    for candidate in candidates:
        if like and (candidate / "assignment.toml").is_file():
            return candidate
    known = sorted(
        {p.parent.name for base in (root, REPO_ROOT / "reference")
         for p in base.glob("*/assignment.toml")}
    )  # fmt: skip
    raise GraderError(
        f"--like {like!r}: no such assignment",
        f"use one of: {', '.join(known) or '(none)'} or a path to a reference folder",
    )


def create(request: NewAssignment) -> Made:
    """Make the folder `request.dest` (see the module docstring) and return what was made."""
    dest = request.dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    build = Path(tempfile.mkdtemp(prefix=f".{request.name}.", dir=dest.parent))
    try:
        if request.like is None:
            made = _from_skeleton(request.name, build)
        else:
            made = _from_like(request.name, request.like, build)
        load_config(build)  # what was made loads, or nothing is left behind
        build.chmod(0o755)  # mkdtemp's folder is private; an assignment's is not
        try:
            build.rename(dest)
        except OSError as exc:
            raise GraderError(f"cannot create {dest}: {exc.strerror}") from None
    finally:
        if build.exists():
            shutil.rmtree(build, ignore_errors=True)
    return Made(
        dest, made["title"], dest / made["data"], request.like, tuple(made.get("mentions", ()))
    )


def _from_skeleton(name: str, build: Path) -> dict:
    title = f"{name}: a new Keras assignment"
    for template in sorted(SKELETON.rglob(f"*{TEMPLATE_SUFFIX}")):
        target = build / template.relative_to(SKELETON).with_suffix("")
        target.parent.mkdir(parents=True, exist_ok=True)
        text = template.read_text(encoding="utf-8")
        text = text.replace("{{name}}", name).replace("{{title}}", title)
        target.write_text(text, encoding="utf-8")
    data = tomllib.loads((build / "assignment.toml").read_text(encoding="utf-8"))["data"]
    return {"title": title, "data": data["file"]}


def _from_like(name: str, source: Path, build: Path) -> dict:
    config = load_config(source)
    data_file = (source / config.data.file).resolve()
    data_dir = (source / "data").resolve()

    def ignore(folder: str, names: list[str]) -> set[str]:
        here = Path(folder).resolve()
        skipped = {n for n in names if n in _SKIPPED or n.endswith(".pyc")}
        skipped |= {n for n in names if (here / n).resolve() == data_file}
        if here == data_dir:  # the data folder: only its README comes along
            skipped |= {n for n in names if n != "README.md"}
        return skipped

    shutil.copytree(source, build, ignore=ignore, dirs_exist_ok=True)
    settings = build / "assignment.toml"
    text = settings.read_text(encoding="utf-8")
    title = f"{name} (started from {source.name}: {config.title})"
    if not _TITLE_LINE.search(text):
        raise GraderError(f"{source / 'assignment.toml'} has no top-level title line")
    text = _TITLE_LINE.sub(lambda _: f"title = {_toml_string(title)}", text, count=1)
    settings.write_text(text, encoding="utf-8")
    if tomllib.loads(text).get("title") != title:
        raise GraderError(
            f"cannot retitle the copy of {source / 'assignment.toml'}",
            "its first `title = ...` line is not the top-level title: copy the folder by hand",
        )
    word = re.compile(rf"(?<![A-Za-z0-9_]){re.escape(source.name)}(?![A-Za-z0-9_])")
    mentions = sorted(
        p.relative_to(build).as_posix()
        for p in build.rglob("*")
        if p.is_file() and p.suffix in (".md", ".toml", ".py") and p != settings
        and word.search(p.read_text(encoding="utf-8", errors="replace"))
    )  # fmt: skip
    return {"title": title, "data": config.data.file, "mentions": mentions}


def _toml_string(text: str) -> str:
    """`text` as a TOML basic string."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in escaped) + '"'


def next_steps(made: Made, shown) -> list[str]:
    """What to do after `create`, one line each; `shown(path)` prints a path."""
    name = made.dest.name
    if made.dest.parent.resolve() != (REPO_ROOT / "reference").resolve():
        name = str(shown(made.dest))  # `grader assign` takes a name under reference/ or a path
    lines = []
    if made.like is None:
        lines.append(f"created {shown(made.dest)}: a small complete example, without its data")
        lines.append("next steps:")
        lines.append(
            f"  1. put the data in {shown(made.data_file)} (an .npz with x and y: "
            f"{shown(made.dest / 'data' / 'README.md')} says how) and its sha256 in [data] "
            "sha256 of assignment.toml"
        )
        lines.append(f"  2. grader assign {name} --no-runs   (markers, points, plan, data)")
        lines.append(
            f"  3. make it your lab: the solution, assignment.toml, checks/, notebook.toml "
            f"({shown(made.dest / 'README.md')} lists what is left; docs/authoring.md)"
        )
    else:
        original = made.like / made.data_file.relative_to(made.dest)
        lines.append(
            f"created {shown(made.dest)} from {shown(made.like)}, without its data file, "
            f"titled {made.title!r}"
        )
        lines.append("next steps:")
        lines.append(
            f"  1. put the data in {shown(made.data_file)}: the same file "
            f"(cp {shown(original)} {shown(made.data_file)}), or your own (then update [data] "
            "in assignment.toml: sha256, label, x_shape, classes, ...)"
        )
        lines.append("  2. give it its own title in assignment.toml")
        step = 3
        if made.mentions:
            lines.append(
                f"  3. these files still name {made.like.name}: {', '.join(made.mentions)}"
            )
            step = 4
        lines.append(f"  {step}. grader assign {name} --no-runs   (markers, points, plan, data)")
    lines.append(
        f"then: grader assign {name}   (grades the reference under every budget and over "
        "three seeds, then writes the student material)"
    )
    return lines
