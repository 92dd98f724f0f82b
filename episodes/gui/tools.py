"""The GUI agent's perception as registered tools, run by the episode loop.

``screen_elements`` parses a screenshot into UI elements
(:func:`lavr.episodes.gui.perception.find_elements`: buttons, text fields,
checkboxes, radios, links, text lines and the instruction banner, from pixels
only). The episode loop runs it on every observation through the registry's
argument validation and result cache, so the trace shows it with its timing
and a repeated screen costs nothing; the artifact is the
:class:`~lavr.episodes.gui.perception.ScreenParse` the controller acts on.

``screen_figures`` names the figures on a screenshot that are neither text nor
widgets — circles, rectangles, triangles, letters and digits drawn as shapes —
with colour and size class (:func:`lavr.episodes.gui.shapes.figures_on_screen`).
The GUI agent calls the same function only when an intent is about a figure, so
it is not run on every observation.
"""

from __future__ import annotations

from collections import Counter
from typing import ClassVar

from lavr.episodes.gui.perception import find_elements
from lavr.episodes.gui.shapes import figures_on_screen
from lavr.tools.base import Tool, ToolArgs, ToolContext, ToolResult
from lavr.tools.vocab import pluralise

TOOL_NAME = "screen_elements"


class ScreenElementsTool(Tool):
    """Find the UI elements on a screenshot."""

    name: ClassVar[str] = TOOL_NAME
    description: ClassVar[str] = (
        "Find the UI elements on a screenshot by shape and fill: buttons and tabs, text "
        "fields, checkboxes, radios, links, lines of text, and the instruction banner.")

    def run(self, args: ToolArgs, ctx: ToolContext) -> ToolResult:
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


class ScreenFiguresTool(Tool):
    """Name the shapes and symbols drawn on a screenshot."""

    name: ClassVar[str] = "screen_figures"
    description: ClassVar[str] = (
        "Find the figures drawn on a screenshot that are not text or widgets and name each: "
        "circle, rectangle, triangle, or the letter or digit it shows, with colour and size.")

    def run(self, args: ToolArgs, ctx: ToolContext) -> ToolResult:
        """Value: one dict per figure (kind, char, colour, size, box); the artifact is the list."""
        figures = figures_on_screen(find_elements(ctx.image))
        art = ctx.artifacts.put(figures, prefix="figures")
        words = [f.describe().rsplit(" @", 1)[0] for f in figures]
        return ToolResult(
            summary=(f"{len(figures)} {pluralise('figure', len(figures))}: " + ", ".join(words[:8])
                     + (" ..." if len(words) > 8 else "")) if figures else "no figures",
            value=[{"kind": f.kind, "char": f.char, "colour": f.colour, "size": f.size,
                    "box": list(f.box)} for f in figures],
            artifact_id=art, boxes=[[float(v) for v in f.box] for f in figures[:8]])


TOOLS: list[Tool] = [ScreenElementsTool(), ScreenFiguresTool()]
