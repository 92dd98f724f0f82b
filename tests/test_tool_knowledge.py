"""Tools own their knowledge: no code outside a tool's own module switches on its name.

A switch is a comparison (``==``, ``!=``, ``in``, ``not in``, ``match``) between a
step's or a record's tool name (``step.tool``, ``rec["tool"]``, ``rec.get("tool")``,
a variable called ``tool`` or ``tool_name``) and the literal name of a built-in tool.
What a tool knows (its sub-question, follow-ups, readings, what it answers) lives on
the tool (:class:`lavr.tools.base.Tool`); the roles loop over the registry. The
modules that define the tools, and the registry that lists them, are exempt.

The checker reads the sources with :mod:`ast`; the last tests run it on snippets so
it cannot pass by finding nothing.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from lavr.tools.registry import BUILTIN_MODULES, default_registry

ROOT = Path(__file__).resolve().parent.parent
LAYERS = ("core_model", "tools", "planners", "agents", "episodes", "apps")
TOOL_NAMES = frozenset(default_registry().names())
#: Files that may name tools: each tool's own module, and the registry.
EXEMPT = frozenset({m.removeprefix("lavr.").replace(".", "/") + ".py" for m in BUILTIN_MODULES}
                   | {"tools/registry.py"})
_NAME_VARS = frozenset({"tool", "tool_name"})


def _is_tool_name_expr(node: ast.AST) -> bool:
    """``x.tool``, ``tool``, ``tool_name``, ``x["tool"]``, ``x.get("tool")``."""
    if isinstance(node, ast.Attribute):
        return node.attr in _NAME_VARS
    if isinstance(node, ast.Name):
        return node.id in _NAME_VARS
    if isinstance(node, ast.Subscript):
        key = node.slice
        return isinstance(key, ast.Constant) and key.value in _NAME_VARS
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        return (node.func.attr == "get" and bool(node.args)
                and isinstance(node.args[0], ast.Constant) and node.args[0].value in _NAME_VARS)
    return False


def _tool_literals(node: ast.AST) -> list[str]:
    """Built-in tool names written as literals in ``node`` (a string or a collection of them)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value] if node.value in TOOL_NAMES else []
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return [n for elt in node.elts for n in _tool_literals(elt)]
    return []


def switches(source: str, filename: str = "<src>") -> list[str]:
    """``file:line: <what>`` for every switch on a built-in tool's name in ``source``."""
    out = []
    for node in ast.walk(ast.parse(source, filename=filename)):
        if isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            if any(_is_tool_name_expr(s) for s in sides):
                names = [n for s in sides for n in _tool_literals(s)]
                if names:
                    out.append(f"{filename}:{node.lineno}: compares a tool name with "
                               f"{', '.join(sorted(set(names)))}")
        elif isinstance(node, ast.Match) and _is_tool_name_expr(node.subject):
            for case in node.cases:
                pattern = case.pattern
                if isinstance(pattern, ast.MatchValue) and _tool_literals(pattern.value):
                    out.append(f"{filename}:{pattern.lineno}: matches a tool name")
    return out


def test_no_switch_on_a_tool_name_outside_its_own_module() -> None:
    found = []
    for layer in LAYERS:
        for path in sorted((ROOT / layer).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            if rel not in EXEMPT and "__pycache__" not in path.parts:
                found += switches(path.read_text(encoding="utf-8"), rel)
    assert not found, ("give the tool a method instead (lavr.tools.base.Tool):\n"
                       + "\n".join(found))


@pytest.mark.parametrize("source", [
    'if step.tool == "ocr":\n    pass',
    'x = [e for e in evidence if e.tool != "detect"]',
    'if tool in ("zoom", "crop"):\n    pass',
    'if rec["tool"] == "colour":\n    pass',
    'if s.get("tool") == "vqa":\n    pass',
    'match step.tool:\n    case "segment":\n        pass',
])
def test_checker_catches(source: str) -> None:
    assert switches(source)


@pytest.mark.parametrize("source", [
    'if step.tool == other.tool:\n    pass',
    'if e.tool in readers:\n    pass',
    'if intent == "count":\n    pass',
    'b.add("detect", "find them", labels=[])',
])
def test_checker_allows(source: str) -> None:
    assert not switches(source)
