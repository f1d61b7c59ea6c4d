"""The engine is assignment-agnostic: `grader/` names no assignment under `reference/`, and the
trusted modules never import the untrusted harness (issue 13)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from grader.config import find_assignment

ROOT = Path(__file__).resolve().parent.parent
ENGINE = ROOT / "grader"
KERAS_WORDS = {"train", "evaluate", "save", "load", "predict", "fit"}
"""Contract functions named like Keras's own methods (`model.save`, `model.evaluate`, ...):
the engine must name those methods, so they cannot tell an assignment apart."""
CLI_DEFAULT = ('default="mnist"',)
"""The one allowed mention: the CLI's default `--assignment`."""


def _assignments():
    return sorted(p.parent.name for p in (ROOT / "reference").glob("*/assignment.toml"))


def _names(name: str) -> set[str]:
    """Every name an assignment gives: its own, its dataset's, its models', its functions'."""
    config = find_assignment(name)
    names = {name, config.data.keras, *config.plan.model_names}
    names |= {f for f in config.functions if f not in KERAS_WORDS}
    names |= {Path(config.data.file).stem}
    return {n for n in names if n}


def _word(name: str) -> re.Pattern:
    """`name` as a whole word (not inside a longer identifier), in any case."""
    return re.compile(rf"(?<![A-Za-z0-9_]){re.escape(name)}(?![A-Za-z0-9_])", re.IGNORECASE)


def _mentions(name: str, files) -> list[str]:
    found = []
    for path in files:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if _word(name).search(line) and not any(ok in line for ok in CLI_DEFAULT):
                shown = path.relative_to(ROOT if path.is_relative_to(ROOT) else path.parents[1])
                found.append(f"{shown}:{number}: {name!r}: {line.strip()}")
    return found


def _engine_files():
    return sorted(p for p in ENGINE.rglob("*") if p.is_file() and p.suffix in (".py", ".html",
                                                                              ".css", ".json"))


@pytest.mark.parametrize("assignment", _assignments())
def test_engine_names_no_assignment(assignment):
    """Does no file of grader/ (code, docstrings, templates, schemas) name this assignment,
    its dataset, its models or its functions, as a whole word?"""
    found = [hit for name in sorted(_names(assignment)) for hit in _mentions(name, _engine_files())]
    assert found == [], "\n".join(found)


def test_the_name_test_catches_a_name(tmp_path):
    """Does the same search find a function name in a docstring and a template, but not
    inside a longer identifier, and let the CLI's default through?"""
    name = sorted(_names("mnist") - {"mnist"})[0]
    (tmp_path / "pkg").mkdir()
    module, template = tmp_path / "pkg" / "m.py", tmp_path / "pkg" / "t.html"
    module.write_text(f'"""Calls {name}() on the inputs."""\nx_{name}_y = 1\ndefault="mnist"\n')
    template.write_text(f"<p>{name.upper()}</p>\n")
    assert [hit.split(": ")[0] for hit in _mentions(name, [module, template])] == [
        "pkg/m.py:1", "pkg/t.html:1",
    ]
    assert _mentions("mnist", [module]) == []


UNTRUSTED = {"runner"}
"""The harness that runs inside the sandbox, as a script (it imports nothing from grader)."""


def test_no_trusted_module_imports_the_harness():
    """Does no module of grader/ import the untrusted harness, and the harness nothing of
    grader?"""
    problems = []
    for path in sorted(ENGINE.rglob("*.py")):
        module = path.stem
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                targets = [node.module or ""] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                continue
            for target in targets:
                parts = target.split(".")
                if module in UNTRUSTED and parts[0] == "grader":
                    problems.append(f"{path.name} (untrusted) imports {target}")
                elif module not in UNTRUSTED and parts[0] == "grader" and UNTRUSTED & set(parts):
                    problems.append(f"{path.name} imports the untrusted {target}")
    assert problems == []
