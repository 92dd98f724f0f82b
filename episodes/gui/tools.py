"""The GUI agent's perception as registered tools, run by the episode loop.

``screen_elements`` parses a screenshot into UI elements
(:func:`lavr.episodes.gui.perception.find_elements`: buttons, text fields,
checkboxes, radios, links, text lines and the instruction banner, from pixels
only). The episode loop runs it on every observation through the registry's
argument validation and result cache, so the trace shows it with its timing
and a repeated screen costs nothing; the artifact is the
:class:`~lavr.episodes.gui.perception.ScreenParse` the controller acts on.
"""

from __future__ import annotations

from collections import Counter
from typing import ClassVar

from lavr.episodes.gui.perception import find_elements
from lavr.tools.base import Tool, ToolArgs, ToolContext, ToolResult
from lavr.tools.vocab import pluralise

TOOL_NAME = "screen_elements"


class ScreenElementsTool(Tool):
    """Find the UI elements on a screenshot."""

    name: ClassVar[str] = TOOL_NAME
    description: ClassVar[str] = (
        "Find the UI elements on a screenshot by shape and fill: buttons and tabs, text "
        "fields, checkboxes, radios, links, lines of text, and the instruction banner.")

    class Args(ToolArgs):
        pass

    def run(self, args: Args, ctx: ToolContext) -> ToolResult:
        """Value: element counts by kind; the artifact is the :class:`ScreenParse`."""
        parse = find_elements(ctx.image)
        counts = Counter(e.kind for e in parse.elements)
        art = ctx.artifacts.put(parse, prefix="screen")
        parts = [f"{n} {pluralise(k, n)}" for k, n in sorted(counts.items())]
        banner = "; instruction banner found" if parse.banner is not None else ""
        return ToolResult(summary=(", ".join(parts) or "no elements") + banner,
                          value={"kinds": dict(counts), "banner": parse.banner is not None},
                          artifact_id=art,
                          boxes=[[float(v) for v in e.box] for e in parse.elements[:8]])


TOOLS: list[Tool] = [ScreenElementsTool()]
