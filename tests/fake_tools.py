"""Tiny in-test tools and a scripted planner shared by the graph tests (no experts)."""

from __future__ import annotations

import threading

import numpy as np

from lavr.core_model.images import image_hash
from lavr.planners.plan import Plan
from lavr.tools.base import ArtifactStore, ExpertPool, Tool, ToolArgs, ToolContext, ToolResult
from lavr.tools.detections import Detections
from lavr.tools.errors import ToolError


class FindArgs(ToolArgs):
    n: int = 2


class Find(Tool):
    """Finds ``n`` dots in a row (boxes 4 px wide, 2 px apart); counts its calls."""

    name = "find"
    description = "find n dots"
    Args = FindArgs
    calls = 0
    _calls_lock = threading.Lock()

    def run(self, args: FindArgs, ctx: ToolContext) -> ToolResult:
        with Find._calls_lock:
            type(self).calls += 1
        boxes = np.array([[2 + 6 * i, 2, 6 + 6 * i, 6] for i in range(args.n)], float)
        dets = Detections(boxes, np.full(args.n, 0.8), ["dot"] * args.n)
        return ToolResult(summary=f"found {args.n} dots", value=args.n,
                          artifact_id=ctx.artifacts.put(dets), boxes=boxes.tolist())


class SourceArgs(ToolArgs):
    source: str


class Count(Tool):
    """Counts the detections of an earlier step."""

    name = "count"
    description = "count the detections of a step"
    Args = SourceArgs
    refs = ("source",)
    cacheable = False

    def run(self, args: SourceArgs, ctx: ToolContext) -> ToolResult:
        n = len(ctx.detections(args.source, tool=self.name))
        return ToolResult(summary=f"{n} counted", value=n)


class Boom(Tool):
    """An expert that always fails."""

    name = "boom"
    description = "always fails"
    Args = ToolArgs

    def run(self, args: ToolArgs, ctx: ToolContext) -> ToolResult:
        raise ToolError(self.name, "the expert is unhappy")


class ScriptedPlanner:
    """Returns the same plan for every question (with the question filled in)."""

    name = "scripted"

    def __init__(self, plan: Plan) -> None:
        self._plan = plan

    def plan(self, question: str) -> Plan:
        return self._plan.model_copy(update={"question": question})


def tool_context(image: np.ndarray, **steps: Detections) -> ToolContext:
    """A tool context on ``image`` whose earlier steps (``s1=...``) found ``steps``."""
    ctx = ToolContext(image=image, image_hash=image_hash(image), artifacts=ArtifactStore(),
                      experts=ExpertPool())
    for step, dets in steps.items():
        ctx.outputs[step] = ToolResult(summary="", artifact_id=ctx.artifacts.put(dets))
    return ctx
