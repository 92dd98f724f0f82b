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

``ui_elements`` runs the UI-element detector trained here
(:class:`lavr.episodes.gui.detector.UiDetector`, ``ui-yolo11n.pt``): buttons, text
fields, checkboxes, radios, links, tabs, dropdowns and text with a box and a score. The
GUI agent runs it on every observation when built with ``ui_detector=True`` and adds
the widgets the screen parser missed (:func:`~lavr.episodes.gui.detector.complement`).
"""

from __future__ import annotations

from collections import Counter
from typing import ClassVar

from pydantic import Field

from lavr.episodes.gui.detector import DEFAULT_CONF, shared_detector
from lavr.episodes.gui.detector import TOOL_NAME as DETECTOR_TOOL
from lavr.episodes.gui.perception import find_elements
from lavr.episodes.gui.shapes import figures_on_screen
from lavr.tools.base import ArtifactStore, Tool, ToolArgs, ToolContext, ToolResult
from lavr.tools.evidence import Evidence
from lavr.tools.vocab import join_words, pluralise

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


class UiElementsTool(Tool):
    """Detect UI elements on a screenshot with the detector trained here."""

    name: ClassVar[str] = DETECTOR_TOOL
    description: ClassVar[str] = (
        "Detect the UI elements on a screenshot with lavr's trained UI detector: buttons, "
        "text fields, checkboxes, radios, links, tabs, dropdowns and text, each with a box "
        "and a score (no text is read).")

    class Args(ToolArgs):
        min_score: float = Field(default=DEFAULT_CONF, ge=0.05, le=1.0,
                                 description="lowest detector score kept")

    def run(self, args: Args, ctx: ToolContext) -> ToolResult:
        """Value: one dict per element (kind, box, score); the artifact is the list of
        :class:`~lavr.episodes.gui.detector.DetectedElement`."""
        found = shared_detector().detect(ctx.image, conf=args.min_score)
        counts = Counter(e.kind for e in found)
        art = ctx.artifacts.put(found, prefix="ui")
        parts = [f"{n} {pluralise(k, n)}" for k, n in sorted(counts.items())]
        return ToolResult(
            summary=", ".join(parts) or "no UI elements",
            value=[{"kind": e.kind, "box": [round(v, 1) for v in e.box],
                    "score": round(e.score, 3)} for e in found],
            artifact_id=art, boxes=[list(e.box) for e in found[:8]])

    def found(self, evidence: Evidence, artifacts: ArtifactStore) -> str | None:
        """``2 buttons and 1 checkbox`` (None when nothing was detected)."""
        counts = Counter(str(v.get("kind")) for v in evidence.value or [] if isinstance(v, dict))
        if not counts:
            return None
        return join_words([f"{n} {pluralise(k, n)}" for k, n in sorted(counts.items())])


TOOLS: list[Tool] = [ScreenElementsTool(), ScreenFiguresTool(), UiElementsTool()]
