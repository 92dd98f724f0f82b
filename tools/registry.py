"""The tool registry: name → tool, with argument validation and prompt text."""

from __future__ import annotations

import importlib
import logging
from collections.abc import Iterable
from functools import cache
from typing import Any

from pydantic import ValidationError

from lavr.core_model.structured import json_schema_of
from lavr.tools.base import Tool, ToolArgs
from lavr.tools.errors import ToolError, UnknownToolError

logger = logging.getLogger(__name__)

#: Modules that define the built-in tools; each exposes ``TOOLS: list[Tool]``.
BUILTIN_MODULES = (
    "lavr.tools.detect",
    "lavr.tools.segment",
    "lavr.tools.ocr",
    "lavr.tools.colour",
    "lavr.tools.zoom",
    "lavr.tools.ops",
    "lavr.tools.vqa",
)


class ToolRegistry:
    """Holds tools by name."""

    def __init__(self, tools: Iterable[Tool] = ()) -> None:
        self._tools: dict[str, Tool] = {}
        for tool in tools:
            self.register(tool)

    def register(self, tool: Tool) -> None:
        """Add a tool; a second tool with the same name replaces the first."""
        if not tool.name:
            raise ValueError(f"{type(tool).__name__} has no name")
        self._tools[tool.name] = tool

    def get(self, name: str) -> Tool:
        try:
            return self._tools[name]
        except KeyError:
            raise UnknownToolError(name, f"unknown tool (available: {', '.join(self.names())})") from None

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    def find(self, name: str) -> Tool | None:
        """The tool called ``name``, or None (evidence may name a tool no longer registered)."""
        return self._tools.get(name)

    def answering(self, intent: str) -> list[Tool]:
        """Tools whose evidence answers questions of ``intent`` on their own (``Tool.answers``)."""
        return [t for t in self.tools() if intent in t.answers]

    def asking_model(self) -> list[str]:
        """Names of the tools that ask the multimodal model (``Tool.asks_model``)."""
        return [t.name for t in self.tools() if t.asks_model]

    def names(self) -> list[str]:
        return sorted(self._tools)

    def tools(self) -> list[Tool]:
        return [self._tools[n] for n in self.names()]

    def parse_args(self, name: str, args: dict[str, Any]) -> ToolArgs:
        """Validate ``args`` against the tool's ``Args`` model.

        Raises:
            ToolError: With the validation message, phrased for an LLM to fix.
        """
        tool = self.get(name)
        try:
            return tool.Args.model_validate(args or {})
        except ValidationError as exc:
            msgs = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'args'}: {e['msg']}" for e in exc.errors()
            )
            raise ToolError(name, f"invalid arguments: {msgs}") from exc

    def describe(self) -> str:
        """Prompt text: one line per tool with compact argument types and defaults."""
        lines = []
        for tool in self.tools():
            schema = json_schema_of(tool.Args)
            required = set(schema.get("required", []))
            args = []
            for name, prop in schema.get("properties", {}).items():
                typ = _compact_type(prop, schema.get("$defs", {}))
                if name in required:
                    args.append(f"{name}: {typ}")
                else:
                    default = prop.get("default", [] if prop.get("type") == "array" else None)
                    args.append(f"{name}: {typ} = {default!r}")
            lines.append(f"- {tool.name}({', '.join(args)}): {tool.description}")
        return "\n".join(lines)


def _compact_type(prop: dict[str, Any], defs: dict[str, Any]) -> str:
    """``{"enum": ["a", "b"]}`` → ``'a'|'b'``; arrays → ``list[number]``; anyOf joined."""
    if "$ref" in prop:
        return _compact_type(defs.get(prop["$ref"].split("/")[-1], {}), defs)
    if "enum" in prop:
        return "|".join(repr(v) for v in prop["enum"])
    if "const" in prop:
        return repr(prop["const"])
    if "anyOf" in prop:
        return " | ".join(_compact_type(p, defs) for p in prop["anyOf"])
    typ = prop.get("type", "any")
    if typ == "array":
        return f"list[{_compact_type(prop.get('items', {}), defs)}]"
    return {"null": "None", "string": "str", "integer": "int", "number": "float",
            "boolean": "bool"}.get(typ, str(typ))


def default_registry() -> ToolRegistry:
    """A registry with every built-in tool whose module imports.

    Importing a tool module never imports torch; experts load lazily.
    """
    reg = ToolRegistry()
    for mod_name in BUILTIN_MODULES:
        module = importlib.import_module(mod_name)
        for tool in getattr(module, "TOOLS", []):
            reg.register(tool)
    return reg


@cache
def builtin_tools() -> ToolRegistry:
    """One shared registry of the built-in tools, for roles given no registry to read tool
    knowledge from (sub-questions, follow-ups, readings). Do not register into it."""
    return default_registry()
