"""Python source as the grader reads it (a notebook's cells, a reference's solution blocks)."""

from __future__ import annotations

import ast


def first_line(node: ast.stmt) -> int:
    """The first line of a statement, its decorators included."""
    return min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
