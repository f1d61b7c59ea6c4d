"""Generate the student material of an assignment from its reference solution.

The reference (`reference/<name>/*.py`) marks its solution code with comment lines::

    # BEGIN SOLUTION
    ...
    # END SOLUTION

`generate_assignment` writes, for every reference module holding such blocks, a stub module
in which each block has become one `raise NotImplementedError(...)` line; a notebook holding
the same stubs with explanations around them; and a README. The explanations are the
assignment's own, from `reference/<name>/notebook.toml` (see `load_notebook_text`); without that
file the notebook explains each function with its docstring alone. Everything else (module
docstrings, imports, signatures, docstrings) is copied verbatim, so the student-facing contract
is the reference's by construction. The output is deterministic: regenerating it reproduces
the committed `assignments/<name>/` byte for byte.
"""

from __future__ import annotations

import ast
import io
import re
import sys
import tokenize
import tomllib
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbformat import v4

from grader.config import load_config
from grader.errors import GraderError
from grader.pysource import first_line

BEGIN = "# BEGIN SOLUTION"
"""The comment line that opens a solution block."""
END = "# END SOLUTION"
"""The comment line that closes a solution block."""
LINE_LENGTH = 100
"""ruff's `line-length` (pyproject.toml): a generated raise line must fit in it."""

_MARKER_LINE = re.compile(r"[ \t]*# (BEGIN|END) SOLUTION[ \t]*")
# Near misses ("#BEGIN SOLUTION", "### begin solution", a marker after code) would otherwise be
# copied into the stub as ordinary comments, with the solution under them.
_LOOKALIKE = re.compile(r"#+\s*(BEGIN|END)[\s_-]*SOLUTION", re.IGNORECASE)
_NOQA_UNUSED = "  # noqa: F401"


@dataclass(frozen=True)
class StubModule:
    """One reference module turned into a stub."""

    name: str
    """Module name, e.g. `preprocessing`."""
    stub: str
    """The stub's source text."""
    docstring: str
    """The module docstring ("" if none)."""
    units: tuple[tuple[str, str], ...]
    """(name, stub source) of each top-level def or class that held a solution block."""
    imports: tuple[str, ...]
    """Source of each module-level import statement, as in the reference."""


def generate_assignment(reference_dir: Path, dest: Path) -> list[Path]:
    """Write the student material of the reference solution in `reference_dir` into `dest`.

    Writes `dest/<module>.py` for every `*.py` directly in `reference_dir` that holds solution
    blocks, `dest/<name>.ipynb` (named after `reference_dir`) and `dest/README.md` (with the
    reference's `GRADING.md` appended, when it has one: what is accepted and what costs what).
    The notebook's prose is the reference's `notebook.toml`, when it has one.

    Args:
        reference_dir: the reference solution, e.g. `reference/<name>`.
        dest: the output directory, e.g. `assignments/<name>`; created if missing.

    Returns:
        The files written, stub modules first (in notebook order), then notebook and README.
        Other files already in `dest` are left alone (the regeneration test reports them).

    Raises:
        GraderError: a solution marker is unbalanced, nested, outside a function or would
            leave invalid code (the message names the file and the line), or `notebook.toml`
            is malformed or does not match the reference (the message names the file and key).
    """
    reference_dir, dest = Path(reference_dir), Path(dest)
    if not reference_dir.is_dir():
        raise GraderError(f"no reference solution at {reference_dir}", "pass reference/<name>")
    if dest.resolve() == reference_dir.resolve():
        raise GraderError(
            f"refusing to write stubs over the reference in {dest}",
            "write them to assignments/<name>",
        )
    modules = []
    for path in sorted(reference_dir.glob("*.py")):
        module = make_stub(path)
        if module is not None:
            modules.append(module)
    if not modules:
        raise GraderError(
            f"no '{BEGIN}' block in any *.py of {reference_dir}",
            "mark the code students must write with solution markers",
        )
    text = load_notebook_text(reference_dir)
    modules = _in_notebook_order(modules, text, reference_dir)
    text = text or _generic_text(modules)
    settings = reference_dir / "assignment.toml"
    title = load_config(settings).title if settings.is_file() else reference_dir.name
    notebook = f"{reference_dir.name}.ipynb"
    outputs = {f"{m.name}.py": m.stub for m in modules}
    outputs[notebook] = build_notebook(modules, title, notebook, text)
    outputs["README.md"] = _readme(modules, title, notebook, text.submit_note)
    grading = reference_dir / "GRADING.md"  # the assignment's own: styles, deviations, env
    if grading.is_file():
        outputs["README.md"] += "\n" + grading.read_text(encoding="utf-8")
    dest.mkdir(parents=True, exist_ok=True)
    written = []
    for name, content in outputs.items():
        (dest / name).write_bytes(content.encode("utf-8"))
        written.append(dest / name)
    return written


def make_stub(path: Path) -> StubModule | None:
    """Turn one reference module into a stub.

    Args:
        path: a reference module with solution blocks.

    Returns:
        The stub, or None if the module holds no solution block.

    Raises:
        GraderError: naming `path` and the line of the bad marker.
    """
    source = path.read_text(encoding="utf-8")
    tree = _parse(source, path, "the reference")
    blocks = _find_blocks(source, tree, path)
    if not blocks:
        return None
    lines = source.splitlines(keepends=True)
    out, origin = [], []  # origin: reference line of each stub line, to place later errors
    cursor = 1
    for begin, end, indent, function in blocks:
        out += lines[cursor - 1 : begin - 1]
        origin += range(cursor, begin)
        out.append(_raise_line(indent, function.split(".")[-1]))
        origin.append(begin)
        cursor = end + 1
    out += lines[cursor - 1 :]
    origin += range(cursor, len(lines) + 1)
    stub = "".join(out)
    try:
        stub_tree = ast.parse(stub, str(path))
    except SyntaxError as exc:
        where = origin[min(max(exc.lineno or 1, 1), len(origin)) - 1]
        raise GraderError(
            f"{path}:{where}: replacing the solution blocks leaves invalid Python ({exc.msg})",
            f"each '{BEGIN}' ... '{END}' block must hold whole statements of one function",
        ) from None
    stub = _mark_unused_imports(stub, _names_used([stub_tree]))
    stub_tree = ast.parse(stub)
    stub_lines = stub.splitlines(keepends=True)
    held = {b[3].split(".")[0] for b in blocks}
    units = tuple(
        (node.name, "".join(stub_lines[first_line(node) - 1 : node.end_lineno]).rstrip("\n"))
        for node in stub_tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
        and node.name in held
    )
    imports = tuple(
        ast.get_source_segment(source, node)
        for node in tree.body
        if isinstance(node, ast.Import | ast.ImportFrom)
    )
    return StubModule(path.stem, stub, ast.get_docstring(tree) or "", units, imports)


def _parse(source: str, path: Path, what: str) -> ast.Module:
    try:
        return ast.parse(source, str(path))
    except SyntaxError as exc:
        raise GraderError(
            f"{path}:{exc.lineno}: {what} is not valid Python ({exc.msg})",
            "fix the reference so that it imports, then generate again",
        ) from None


def _find_blocks(source: str, tree: ast.Module, path: Path) -> list[tuple[int, int, str, str]]:
    """Pair the markers of `source` and validate each block.

    Returns:
        (begin line, end line, indentation, qualified enclosing function) of each block.
    """
    lines = source.splitlines()
    markers = []  # (line, kind, indent)
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type != tokenize.COMMENT:
            continue
        line = tok.start[0]
        match = _MARKER_LINE.fullmatch(lines[line - 1])
        if match:
            markers.append((line, match.group(1), lines[line - 1][: tok.start[1]]))
        elif _LOOKALIKE.match(tok.string):
            raise GraderError(
                f"{path}:{line}: {tok.string.strip()!r} looks like a solution marker, but is not",
                f"write exactly '{BEGIN}' or '{END}', alone on its line",
            )
    functions = _function_extents(tree, len(lines))
    blocks, opened = [], None
    for line, kind, indent in markers:
        if kind == "BEGIN":
            if opened is not None:
                raise GraderError(
                    f"{path}:{line}: '{BEGIN}' inside the block opened at line {opened[0]}",
                    f"blocks cannot nest: close the first one with '{END}'",
                )
            opened = (line, indent)
            continue
        if opened is None:
            raise GraderError(
                f"{path}:{line}: '{END}' without a '{BEGIN}' before it",
                "remove it or open the block it closes",
            )
        begin, begin_indent = opened
        opened = None
        if indent != begin_indent:
            raise GraderError(
                f"{path}:{line}: '{END}' is not indented like its '{BEGIN}' (line {begin})",
                "indent both markers like the code between them",
            )
        function = _enclosing(functions, begin, indent, path)
        if _enclosing(functions, line, indent, path) != function:
            raise GraderError(
                f"{path}:{line}: '{END}' is not in {function}(), where its block opens "
                f"(line {begin})",
                "a block must open and close inside one function",
            )
        _check_statements(tree, begin, line, indent, path)
        blocks.append((begin, line, indent, function))
    if opened is not None:
        raise GraderError(
            f"{path}:{opened[0]}: '{BEGIN}' is never closed", f"close the block with '{END}'"
        )
    return blocks


def _function_extents(tree: ast.Module, last_line: int) -> list[tuple[str, ast.AST, int]]:
    """(qualified name, node, last line) of every function; comments up to the next statement
    that is not indented deeper than the `def` belong to the function."""
    statements = [n for n in ast.walk(tree) if isinstance(n, ast.stmt)]
    starts = sorted((first_line(n), n.col_offset) for n in statements)
    result = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            name = prefix
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                name = f"{prefix}{child.name}"
                if not isinstance(child, ast.ClassDef):
                    after = [
                        s for s, col in starts if s > child.end_lineno and col <= child.col_offset
                    ]
                    result.append((name, child, min(after, default=last_line + 1) - 1))
                name += "."
            visit(child, name)

    visit(tree, "")
    return result


def _enclosing(functions: list, line: int, indent: str, path: Path) -> str:
    """Qualified name of the innermost function holding a marker at (`line`, `indent`)."""
    inside = [
        (node.col_offset, node.lineno, name)
        for name, node, last in functions
        if node.lineno < line <= last and len(indent) > node.col_offset
    ]
    if inside:
        return max(inside)[2]
    for name, node, _ in functions:
        if node.lineno < line <= node.end_lineno:
            raise GraderError(
                f"{path}:{line}: solution marker not indented inside {name}() "
                f"(def at line {node.lineno}): the stub would leave {name}() with no body",
                "indent the markers like the function's code",
            )
    raise GraderError(
        f"{path}:{line}: solution marker outside any function",
        "solution blocks go inside a function's body, indented like its code",
    )


def _check_statements(tree: ast.Module, begin: int, end: int, indent: str, path: Path) -> None:
    """Every statement that starts in the block must end in it, indented at least as deep."""
    for node in ast.walk(tree):
        if isinstance(node, ast.stmt) and begin < first_line(node) < end:
            if node.end_lineno >= end or node.col_offset < len(indent):
                raise GraderError(
                    f"{path}:{first_line(node)}: this statement does not fit in the solution block "
                    f"of lines {begin}-{end}",
                    "a block must hold whole statements, indented like its markers",
                )


def _raise_line(indent: str, function: str) -> str:
    """The line that replaces a block; the message shrinks only if the line would be too long."""
    messages = (
        f"{function}() is not written yet: replace this line",
        f"{function}() is not written yet",
    )
    for message in messages:
        line = f'{indent}raise NotImplementedError("{message}")'
        if len(line) <= LINE_LENGTH:
            return line + "\n"
    return line + "  # noqa: E501\n"


def _names_used(trees: list[ast.AST]) -> set[str]:
    return {n.id for tree in trees for n in ast.walk(tree) if isinstance(n, ast.Name)}


def _mark_unused_imports(source: str, used: set[str]) -> str:
    """Append `# noqa: F401` to module-level imports that `used` never mentions.

    Students need the reference's imports (keras, layers, numpy) even where the stub does not
    use them yet, so they are kept and ruff is told they are meant to be there.
    """
    lines = source.splitlines(keepends=True)
    for node in ast.parse(source).body:
        if not isinstance(node, ast.Import | ast.ImportFrom) or (
            isinstance(node, ast.ImportFrom) and node.module == "__future__"
        ):
            continue
        for alias in node.names:
            bound = alias.asname or alias.name.split(".")[0]
            text = lines[alias.lineno - 1]
            if bound not in used and bound != "*" and "# noqa" not in text:
                body = text.rstrip("\r\n")
                lines[alias.lineno - 1] = body + _NOQA_UNUSED + text[len(body) :]
    return "".join(lines)


def _in_notebook_order(
    modules: list[StubModule], text: NotebookText | None, reference_dir: Path
) -> list[StubModule]:
    """`modules` in the order of `text`, which must match their names and functions."""
    if text is None:
        return modules
    where = reference_dir / NOTEBOOK_TEXT
    names = sorted(m.name for m in modules)
    if text.order and sorted(text.order) != names:
        raise GraderError(
            f"{where}: order lists {sorted(text.order)}, the reference's modules are {names}",
            "list each module of the reference once, in the order the notebook shows them",
        )
    have = sorted(u for m in modules for u, _ in m.units)
    if text.sections and sorted(text.sections) != have:
        raise GraderError(
            f"{where}: sections explain {sorted(text.sections)}, the functions to write: {have}",
            "give each function with a solution block one [sections.<function>] table",
        )
    if not text.order:
        return modules
    return sorted(modules, key=lambda m: text.order.index(m.name))


def _setup_imports(modules: list[StubModule]) -> list[str]:
    """The modules' imports, deduplicated and sorted the way ruff's isort wants them."""
    local = {m.name for m in modules}
    sections: dict[int, set[str]] = {}
    for module in modules:
        for statement in module.imports:
            node = ast.parse(statement).body[0]
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            names = names or [a.name for a in node.names]
            top = names[0].split(".")[0]
            if top in local or (isinstance(node, ast.ImportFrom) and node.level):
                continue  # a sibling module: its functions are cells of this notebook
            section = 0 if top == "__future__" else 1 if top in sys.stdlib_module_names else 2
            sections.setdefault(section, set()).add(statement)

    def key(statement: str) -> tuple:
        return (statement.startswith("from "), statement.split()[1].lower(), statement)

    return ["\n".join(sorted(s, key=key)) for _, s in sorted(sections.items())]


def build_notebook(
    modules: list[StubModule], title: str, notebook: str, text: NotebookText | None = None
) -> str:
    """The assignment notebook as nbformat v4 JSON: explanations, a setup cell, the stubs.

    Cell ids are fixed names, and nothing depends on the time or the machine, so the same
    input always gives the same bytes.

    Args:
        modules: the stubs, in the order the notebook presents them.
        title: the notebook's heading.
        notebook: the notebook's file name, for the instructions.
        text: the hand-written prose; without it, a plain notebook of the stubs.

    Returns:
        The notebook's JSON text, ending in a newline.
    """
    text = text or _generic_text(modules)
    cells = [v4.new_markdown_cell(f"# {title}\n\n{text.intro}", id="intro")]
    cells.append(v4.new_markdown_cell(text.setup_markdown, id="setup-about"))
    setup = "\n\n".join(_setup_imports(modules))
    if text.setup_code:
        setup += "\n\n" + text.setup_code
    code_cells = [setup]
    body = []
    for number, module in enumerate(modules, 1):
        about = f"## {number}. `{module.name}.py`\n\n{module.docstring}".rstrip()
        body.append(v4.new_markdown_cell(about, id=f"{module.name}-about"))
        for name, source in module.units:
            explain, try_it = text.sections.get(name, ("", ""))
            body.append(
                v4.new_markdown_cell(f"### `{name}`\n\n{explain}".rstrip(), id=f"{name}-about")
            )
            body.append(v4.new_code_cell(source, id=name))
            code_cells.append(source)
            if try_it:
                body.append(v4.new_code_cell(try_it, id=f"{name}-try"))
                code_cells.append(try_it)
    used = _names_used([ast.parse(code) for code in code_cells[1:] + [text.setup_code]])
    cells.append(v4.new_code_cell(_mark_unused_imports(setup, used), id="setup"))
    cells += body
    submit = _check_and_submit(modules, notebook, text.submit_note)
    cells.append(v4.new_markdown_cell(submit, id="submit"))
    nb = v4.new_notebook(
        cells=cells,
        metadata={
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
    )
    nbformat.validate(nb)
    return nbformat.writes(nb).rstrip("\n") + "\n"


def _check_and_submit(modules: list[StubModule], notebook: str, note: str) -> str:
    """Markdown shared by the notebook's last cell and the README: how to check and submit,
    ending with the assignment's `note` on what the final grading measures."""
    files = ", ".join(f"`{m.name}.py`" for m in modules)
    return f"""## Check your work, then submit

Save your work, then run in a terminal, in the folder that holds it:

```
grader check {notebook} --assignment {notebook.removesuffix(".ipynb")}
```

(or give it the folder, `.py` or `.zip` you are going to submit). It runs the visible checks
with a short training budget, prints a summary and writes an HTML report explaining each check.
Fix what fails and run it again.

Submit **one** of:
- the notebook `{notebook}` itself;
- a folder holding {files} (extra helper modules are allowed);
- a single `.py` file defining all the functions;
- a `.zip` of any of these.

Keep every function's name and parameters exactly as given: the grader calls them by name.
{note}
"""


def _readme(modules: list[StubModule], title: str, notebook: str, note: str) -> str:
    todo = "\n".join(
        f"- `{m.name}.py`: " + ", ".join(f"`{name}`" for name, _ in m.units) for m in modules
    )
    return f"""<!-- Generated from the reference solution by `grader assign`: do not edit. -->
# {title}

## What to do

Write the body of each function below. Each one currently holds a single
`raise NotImplementedError(...)` line: replace that line with your code, following the
docstring above it.

{todo}

Work in the notebook `{notebook}` (it explains every step and holds the same functions) or
directly in the `.py` files, whichever you prefer.

{_check_and_submit(modules, notebook, note)}"""


NOTEBOOK_TEXT = "notebook.toml"
"""The file of a reference directory that holds its notebook's prose."""


@dataclass(frozen=True)
class NotebookText:
    """The prose of one assignment's notebook: its reference's `notebook.toml`."""

    intro: str
    """Markdown after the title: the background students need."""
    setup_markdown: str
    """Markdown before the setup cell."""
    setup_code: str
    """Code run after the imports of the setup cell (loading the data)."""
    order: tuple[str, ...]
    """Module names in the order the notebook presents them (empty: the reference's order)."""
    sections: dict[str, tuple[str, str]]
    """Per function: (markdown explaining it, "try it" code run after it, or "")."""
    submit_note: str
    """The last paragraph of the check-and-submit text: what the final grading measures."""


_GENERIC = {
    "intro": "Write the body of each function below, replacing its "
    "`raise NotImplementedError(...)` line.",
    "setup_markdown": "Run this cell first: it imports what the functions use.",
    "setup_code": "",
    "submit_note": "The final grading trains your networks with its own budget and measures "
    "their accuracy on\ntest data whose labels your code never sees.",
}
"""The prose of a notebook whose reference says nothing else (no file, or a key left out)."""
_SECTION_KEYS = ("markdown", "try")
_LITERAL_HINT = "write Markdown and code as literal strings: key = '''...'''"


def _generic_text(modules: list[StubModule]) -> NotebookText:
    """Prose for a reference with no hand-written text: its own docstrings."""
    return NotebookText(order=tuple(m.name for m in modules), sections={}, **_GENERIC)


def load_notebook_text(reference_dir: Path) -> NotebookText | None:
    """Read the notebook prose of a reference from its `notebook.toml`.

    The file's keys are all optional (a key left out gets the generic text): the strings
    `intro`, `setup_markdown`, `setup_code` and `submit_note`; `order`, the module names; and one
    `[sections.<function>]` table per function to write, with the strings `markdown` and `try`.
    Every string is used exactly as read, so Markdown and code go in TOML literal strings.

    Args:
        reference_dir: the reference solution, e.g. `reference/<name>`.

    Returns:
        The prose, or None if the reference has no `notebook.toml`.

    Raises:
        GraderError: the file is not UTF-8 TOML, or a key is unknown or of the wrong type; the
            one-line message names the file and the key.
    """
    path = Path(reference_dir) / NOTEBOOK_TEXT
    if not path.is_file():
        return None
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        why = " ".join(str(exc).split())  # one line
        raise GraderError(f"{path}: not valid TOML: {why}", _LITERAL_HINT) from None
    known = [*_GENERIC, "order", "sections"]
    for key in data:
        if key not in known:
            raise GraderError(f"{path}: unknown key {key!r}", f"known keys: {', '.join(known)}")
    strings = {key: _string(data, key, path, key) for key in _GENERIC if key in data}
    order = data.get("order", [])
    if not isinstance(order, list) or not all(isinstance(m, str) for m in order):
        raise GraderError(f"{path}: order must be a list of module names", 'e.g. order = ["a"]')
    if len(set(order)) != len(order):
        raise GraderError(f"{path}: order names a module twice", "list each module once")
    sections_raw = data.get("sections", {})
    if not isinstance(sections_raw, dict):
        raise GraderError(
            f"{path}: sections must be tables", "write one [sections.<function>] per function"
        )
    sections = {}
    for name, table in sections_raw.items():
        where = f"sections.{name}"
        if not isinstance(table, dict):
            raise GraderError(f"{path}: {where} must be a table", f"write [{where}]")
        for key in table:
            if key not in _SECTION_KEYS:
                raise GraderError(
                    f"{path}: unknown key '{where}.{key}'",
                    f"known keys: {', '.join(_SECTION_KEYS)}",
                )
        markdown, try_it = (_string(table, k, path, f"{where}.{k}") for k in _SECTION_KEYS)
        sections[name] = (markdown, try_it)
    return NotebookText(order=tuple(order), sections=sections, **{**_GENERIC, **strings})


def _string(table: dict, key: str, path: Path, where: str) -> str:
    """`table[key]`, "" if absent; a GraderError naming `where` if it is not a string."""
    value = table.get(key, "")
    if not isinstance(value, str):
        raise GraderError(
            f"{path}: {where} must be a string, not {type(value).__name__}", _LITERAL_HINT
        )
    return value
