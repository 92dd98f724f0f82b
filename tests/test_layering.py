"""Imports flow one way: ``core_model ← tools ← planners ← agents ← episodes ← apps``.

The first half reads every module with :mod:`ast` (nothing is imported) and
fails on any import of a higher layer: ``import lavr.X``, ``from lavr.X import``,
``from lavr import X``, relative imports resolved by folder, and
``importlib.import_module("lavr.X...")`` with a literal name. Imports inside
functions and under ``TYPE_CHECKING`` count too.

The second half checks that the light entry points do not pull heavy
libraries (torch and friends) in at import time.
"""

from __future__ import annotations

import ast
import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.subproc import python_outside

ROOT = Path(__file__).resolve().parent.parent
LAYERS = ("core_model", "tools", "planners", "agents", "episodes", "apps")
RANK = {name: i for i, name in enumerate(LAYERS)}
HEAVY = ("torch", "torchvision", "ultralytics", "easyocr", "transformers", "segment_anything")


@dataclass(frozen=True)
class Violation:
    file: str
    line: int
    imported: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: imports {self.imported} ({self.reason})"


def module_name(layer: str, rel: Path) -> str:
    """Dotted name of a file inside a layer folder, e.g. ``lavr.tools.detect``."""
    parts = ["lavr", layer, *rel.with_suffix("").parts]
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def resolve_relative(module: str, is_package: bool, level: int, target: str | None) -> str | None:
    """Absolute name of ``from <level dots><target> import ...`` inside ``module``."""
    package = module.split(".") if is_package else module.split(".")[:-1]
    if level - 1 > len(package):
        return None  # beyond the top: Python would raise, not our concern here
    base = package[: len(package) - (level - 1)]
    return ".".join([*base, target] if target else base)


def imported_names(tree: ast.AST, module: str, is_package: bool) -> list[tuple[int, str]]:
    """Every absolute module name the tree imports, with its line number."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = resolve_relative(module, is_package, node.level, node.module)
                if base is None:
                    continue
            else:
                base = node.module or ""
            found.append((node.lineno, base))
            # `from lavr import tools` / `from . import agents` import submodules by name.
            found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            fname = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            arg = node.args[0]
            if (
                fname in ("import_module", "__import__")
                and isinstance(arg, ast.Constant)
                and isinstance(arg.value, str)
            ):
                found.append((node.lineno, arg.value))
    return found


def layer_of(name: str) -> str | None:
    parts = name.split(".")
    if len(parts) >= 2 and parts[0] == "lavr" and parts[1] in RANK:
        return parts[1]
    return None


def check_source(source: str, layer: str, rel: Path, filename: str = "<src>") -> list[Violation]:
    """Layering violations in one module's source."""
    tree = ast.parse(source, filename=filename)
    module = module_name(layer, rel)
    is_package = rel.name == "__init__.py"
    out = []
    for line, name in imported_names(tree, module, is_package):
        top = name.split(".")[0]
        if top in RANK:
            out.append(
                Violation(
                    filename, line, name, f"use lavr.{name}: '{top}' only exists in a checkout"
                )
            )
            continue
        target = layer_of(name)
        if target is not None and RANK[target] > RANK[layer]:
            out.append(Violation(filename, line, name, f"{layer} must not import {target}"))
    return out


def all_modules() -> list[tuple[str, Path]]:
    mods = []
    for layer in LAYERS:
        base = ROOT / layer
        for path in sorted(base.rglob("*.py")):
            if "__pycache__" not in path.parts:
                mods.append((layer, path.relative_to(base)))
    return mods


# --------------------------------------------------------------------------- static layering


def test_every_layer_exists() -> None:
    for layer in LAYERS:
        assert (ROOT / layer / "__init__.py").is_file(), f"{layer}/__init__.py missing"


def test_no_upward_imports() -> None:
    violations: list[Violation] = []
    for layer, rel in all_modules():
        path = ROOT / layer / rel
        rel_name = path.relative_to(ROOT).as_posix()
        violations += check_source(path.read_text(encoding="utf-8"), layer, rel, rel_name)
    assert not violations, "imports against the layer order (core_model ← tools ← planners ← "
    "agents ← episodes ← apps):\n" + "\n".join(map(str, violations))


# The checker itself must catch what it claims to: these run it on snippets.


@pytest.mark.parametrize(
    ("layer", "rel", "source"),
    [
        ("core_model", "images.py", "import lavr.tools"),
        ("core_model", "images.py", "import lavr.agents.graph as g"),
        ("tools", "detect.py", "from lavr.planners.plan import Plan"),
        ("tools", "detect.py", "from lavr import agents"),
        ("tools", "detect.py", "from ..apps import cli"),
        ("tools", "sub/deep.py", "from ...agents.graph import build"),
        ("tools", "__init__.py", "from .. import planners"),
        ("planners", "rule.py", "def f():\n    from lavr.agents import VisualAgent\n"),
        ("planners", "rule.py", "import importlib\nimportlib.import_module('lavr.apps.cli')"),
        ("planners", "rule.py", "if TYPE_CHECKING:\n    from lavr.agents.state import S\n"),
        ("agents", "graph.py", "import apps.cli"),
        ("agents", "graph.py", "from tools.detect import x"),
        ("agents", "graph.py", "from lavr.episodes.loop import run_episode"),
        ("episodes", "loop.py", "from lavr.apps.cli import main"),
        ("episodes", "embodied/agent.py", "from ...apps import cli"),
    ],
)
def test_checker_catches(layer: str, rel: str, source: str) -> None:
    assert check_source(source, layer, Path(rel)), f"not caught in {layer}/{rel}: {source!r}"


@pytest.mark.parametrize(
    ("layer", "rel", "source"),
    [
        ("core_model", "images.py", "from lavr.core_model.errors import ImageError"),
        ("core_model", "images.py", "from .errors import ImageError"),
        ("tools", "detect.py", "from lavr.core_model import images"),
        ("tools", "detect.py", "from ..core_model.images import load_image"),
        ("tools", "__init__.py", "from . import detections"),
        ("planners", "rule.py", "from lavr.tools.registry import ToolRegistry"),
        ("agents", "graph.py", "import lavr.planners.plan\nfrom lavr import tools"),
        ("episodes", "loop.py", "from lavr.agents.html_report import png_data_uri"),
        ("episodes", "embodied/agent.py", "from ..loop import Action"),
        ("apps", "cli.py", "from lavr.agents import VisualAgent\nimport importlib"),
        ("apps", "cli.py", "import numpy, torch\nfrom PIL import Image"),
    ],
)
def test_checker_allows(layer: str, rel: str, source: str) -> None:
    assert not check_source(source, layer, Path(rel))


# --------------------------------------------------------------------------- heavy imports


def loaded_heavy(module: str, tmp_path: Path) -> tuple[subprocess.CompletedProcess, list[str]]:
    code = (
        "import importlib, json, sys\n"
        f"importlib.import_module({module!r})\n"
        f"print(json.dumps([m for m in {list(HEAVY)!r} if m in sys.modules]))\n"
    )
    proc = python_outside(code, cwd=tmp_path)
    heavy = json.loads(proc.stdout.strip().splitlines()[-1]) if proc.returncode == 0 else []
    return proc, heavy


@pytest.mark.parametrize("module", ["lavr.core_model.images", "lavr.tools.registry"])
def test_light_modules_do_not_import_heavy_libraries(module: str, tmp_path: Path) -> None:
    proc, heavy = loaded_heavy(module, tmp_path)
    assert proc.returncode == 0, f"import {module} failed:\n{proc.stderr[-3000:]}"
    assert not heavy, f"import {module} loads {heavy}; import them lazily inside the expert"


def test_agents_do_not_import_heavy_libraries(tmp_path: Path) -> None:
    proc, heavy = loaded_heavy("lavr.agents", tmp_path)
    if proc.returncode != 0 and "ModuleNotFoundError: No module named 'lavr." in proc.stderr:
        pytest.skip(f"lavr.agents does not import yet: {proc.stderr.strip().splitlines()[-1]}")
    assert proc.returncode == 0, f"import lavr.agents failed:\n{proc.stderr[-3000:]}"
    assert not heavy, f"import lavr.agents loads {heavy}; import them lazily inside the expert"


# --------------------------------------------------------------------------- import cycles

#: Cycles known to remain, with where they are being worked on; the test fails when one
#: of them is gone (remove it here) or a new one appears.
KNOWN_CYCLES: set[frozenset[str]] = set()


def _under_type_checking(tree: ast.AST) -> set[int]:
    """Line numbers of the imports inside ``if TYPE_CHECKING:`` blocks (never run)."""
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for sub in node.body:
                lines.update(n.lineno for n in ast.walk(sub) if hasattr(n, "lineno"))
    return lines


def module_graph() -> dict[str, set[str]]:
    """lavr module → the lavr modules it imports when run (functions included, type-checking
    blocks not); ``from lavr.agents import nodes`` counts as importing ``lavr.agents.nodes``."""
    paths = {module_name(layer, rel): (ROOT / layer / rel, rel.name == "__init__.py")
             for layer, rel in all_modules()}
    graph: dict[str, set[str]] = {}
    for name, (path, is_package) in paths.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skip = _under_type_checking(tree)
        deps: set[str] = set()
        for node in ast.walk(tree):
            if not isinstance(node, (ast.Import, ast.ImportFrom)) or node.lineno in skip:
                continue
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                base = (resolve_relative(name, is_package, node.level, node.module)
                        if node.level else node.module) or ""
                subs = [f"{base}.{a.name}" for a in node.names]
                targets = [s for s in subs if s in paths] or [base]
            for target in targets:
                parts = target.split(".")
                while parts and ".".join(parts) not in paths:
                    parts.pop()
                if parts and ".".join(parts) != name:
                    deps.add(".".join(parts))
        graph[name] = deps
    return graph


def import_cycles(graph: dict[str, set[str]]) -> list[frozenset[str]]:
    """Groups of modules that import each other, directly or through others (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[frozenset[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(frozenset(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_module_imports_one_that_imports_it_back() -> None:
    cycles = set(import_cycles(module_graph()))
    new = [sorted(c) for c in cycles - KNOWN_CYCLES]
    assert not new, f"modules that import each other: {new}"
    gone = [sorted(c) for c in KNOWN_CYCLES - cycles]
    assert not gone, f"no longer a cycle, remove it from KNOWN_CYCLES: {gone}"


def test_cycle_finder_finds_cycles() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": {"e"}}
    assert import_cycles(graph) == [frozenset({"a", "b", "c"})]
