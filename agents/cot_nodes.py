"""Graph nodes for multimodal in-context learning and chain-of-thought.

* :func:`demos` (before ``plan``): picks the in-context demos for the question
  and image from the demos the controller can show; their ids and similarities
  go into state (``demos``) and the trace. The plan node hands them to a
  controller that reads demos (the LLM planner); the rule planner does not, and
  the trace says so.
* :func:`reason` (after ``decide``, before ``refine``): builds the reasoning
  chain or the DDCoT-style tree from the final plan and the evidence; it goes
  into state (``cot``) and the trace. In tree mode, sub-questions no expert
  answered are put to the model when it can see the image.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from langgraph.runtime import Runtime

from lavr.agents.state import AgentContext, AgentState
from lavr.core_model.errors import LavrError
from lavr.planners.cot import ReasoningChain, ReasoningTree
from lavr.planners.plan import Plan
from lavr.tools.trace import TraceEvent

logger = logging.getLogger(__name__)


def demos(state: AgentState, runtime: Runtime[AgentContext]) -> dict[str, Any] | None:
    """Choose the in-context demos for this question.

    Without demos to choose (``k`` 0, or none in the store the controller can
    show: lavr-mllm's compact prompts show only demos with images) the node
    changes nothing and leaves no trace record.
    """
    ctx = runtime.context
    _, opts = ctx.reasoning.for_question(state.get("reasoning_options"))
    if not opts.k:
        return None
    t0 = time.perf_counter()
    planner = ctx.planner
    try:
        picked = ctx.reasoning.choose_demos(planner, state["question"],
                                            ctx.artifacts.get(state["image_id"]), opts)
        if picked is None:
            return None
        chosen, selector = picked
        total = sum(1 for d in selector.demos() if planner.shows_demo(d)) \
            if planner.reads_demos else len(selector.demos())
    except LavrError as exc:
        return {"demos": [], "trace": [TraceEvent(
            "demos", summary="no demos: the demo store could not be used", error=str(exc),
            seconds=time.perf_counter() - t0).to_dict()]}
    picked = [c.public() for c in chosen]
    strategy = selector.strategy(opts)
    how = strategy + (f", threshold {opts.threshold}" if opts.threshold is not None else "")
    how += ", word and word-pair overlap" if strategy == "overlap" else \
        f", {selector.embedder.name} + image histogram"
    ids = ", ".join(p["id"] for p in picked) or "none above the threshold"
    summary = f"{len(picked)} of {total} demos ({how}, {opts.order}): {ids}"
    if not planner.reads_demos:
        summary += f"; the {planner.name} planner does not read demos"
    return {"demos": picked, "trace": [TraceEvent(
        "demos", summary=summary, seconds=time.perf_counter() - t0, demos=picked,
        store=str(selector.store.root)).to_dict()]}


def _summary(r: ReasoningChain | ReasoningTree) -> str:
    fixed = f", fixed length {r.max_steps}" if r.max_steps is not None else ", adaptive length"
    if isinstance(r, ReasoningTree):
        nodes = r.nodes()
        by = {s: sum(1 for n in nodes if n.source == s) for s in ("expert", "model", "uncertain")}
        return (f"tree: {len(nodes)} sub-question(s) — {by['expert']} answered by experts, "
                f"{by['model']} by the model, {by['uncertain']} uncertain{fixed}")
    ok = sum(1 for s in r.steps if s.status == "supported")
    return f"chain: {len(r.steps)} step(s), {ok} supported by evidence{fixed}"


def reason(state: AgentState, runtime: Runtime[AgentContext]) -> dict[str, Any] | None:
    """Build the reasoning chain or tree from the plan and the evidence (the reasoner role).

    With chain-of-thought off the node changes nothing and leaves no trace record.
    """
    ctx = runtime.context
    opts, _ = ctx.reasoning.for_question(state.get("reasoning_options"))
    if not opts.enabled:
        return None
    t0 = time.perf_counter()
    plan_ = Plan.model_validate(state["plan"])
    built = ctx.reasoner.reason(plan_, list(state.get("evidence", [])), options=opts,
                                image=ctx.artifacts.get(state["image_id"]))
    if built is None:  # pragma: no cover - enabled modes always build
        return None
    data = built.model_dump(mode="json")
    data["prompting"] = opts.prompting
    return {"cot": data, "trace": [TraceEvent(
        "reason", summary=_summary(built), seconds=time.perf_counter() - t0, reasoning=data).to_dict()]}
