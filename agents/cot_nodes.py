"""Graph nodes for multimodal in-context learning and chain-of-thought.

* :func:`demos` (before ``plan``): picks the in-context demos for the question
  and image; their ids and similarities go into state (``demos``) and the trace.
  The plan node hands them to a controller that reads demos (the LLM planner);
  the rule planner does not, and the trace says so.
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

from lavr.agents.state import AgentContext, AgentState, trace_record
from lavr.core_model.errors import LavrError
from lavr.planners.cot import (
    AnswerFn,
    CotOptions,
    ReasoningChain,
    ReasoningTree,
    build_reasoning,
)
from lavr.planners.demos.prompt import IclPrompt, resolve_layout
from lavr.planners.demos.select import IclOptions
from lavr.planners.plan import Plan
from lavr.planners.reasoning import ReasoningSetup

logger = logging.getLogger(__name__)

#: Generation cap for the model's answer to one sub-question.
SUBQUESTION_MAX_TOKENS = 48


def _setup(ctx: AgentContext) -> ReasoningSetup:
    setup = getattr(ctx, "reasoning", None)
    return setup if isinstance(setup, ReasoningSetup) else ReasoningSetup()


def cot_options(state: AgentState, ctx: AgentContext) -> CotOptions:
    """This question's chain-of-thought options (state, else the agent's defaults)."""
    given = (state.get("reasoning_options") or {}).get("cot")
    return CotOptions.model_validate(given) if given else _setup(ctx).cot


def icl_options(state: AgentState, ctx: AgentContext) -> IclOptions:
    """This question's demo options (state, else the agent's defaults)."""
    given = (state.get("reasoning_options") or {}).get("icl")
    return IclOptions.model_validate(given) if given else _setup(ctx).icl


def demos(state: AgentState, runtime: Runtime[AgentContext]) -> dict[str, Any] | None:
    """Choose the in-context demos for this question.

    Without demos to choose (``k`` 0 or None) the node changes nothing and leaves
    no trace record.
    """
    ctx = runtime.context
    opts = icl_options(state, ctx)
    if not opts.k:
        return None
    t0 = time.perf_counter()
    try:
        selector = _setup(ctx).selector(opts.store)
        image = ctx.artifacts.get(state["image_id"])
        chosen = selector.select(state["question"], image, opts)
        total = len(selector.demos())
    except LavrError as exc:
        return {"demos": [], "trace": [trace_record(
            "demos", summary="no demos: the demo store could not be used", error=str(exc),
            seconds=time.perf_counter() - t0)]}
    picked = [c.public() for c in chosen]
    how = opts.strategy + (f", threshold {opts.threshold}" if opts.threshold is not None else "")
    ids = ", ".join(p["id"] for p in picked) or "none above the threshold"
    summary = (f"{len(picked)} of {total} demos ({how}, {selector.embedder.name} + image "
               f"histogram, {opts.order}): {ids}")
    if not getattr(ctx.planner, "reads_demos", False):
        summary += f"; the {getattr(ctx.planner, 'name', 'rule')} planner does not read demos"
    return {"demos": picked, "trace": [trace_record(
        "demos", summary=summary, seconds=time.perf_counter() - t0, demos=picked,
        store=str(selector.store.root))]}


def after_decide(state: AgentState) -> str:
    """Router: back to ``execute`` for more evidence, else ``reason`` (then ``refine``)."""
    from lavr.agents.nodes import after_decide as route

    return "reason" if route(state) == "refine" else "execute"


def icl_prompt(state: AgentState, ctx: AgentContext) -> IclPrompt | None:
    """Demos and chain-of-thought text for a controller that reads demos (None: neither asked).

    The demos are the ones the ``demos`` node chose (state ``demos``): none for
    ``k`` = 0 (zero-shot), the controller's built-in demos for ``k`` None; with
    ``few-shot`` prompting their rationales are shown, with ``zero-shot`` the
    controller is told to reason step by step.
    """
    cot = cot_options(state, ctx)
    icl = icl_options(state, ctx)
    chosen = state.get("demos") or []
    if not cot.enabled and icl.k is None:
        return None
    records: list | None = None if icl.k is None else []
    store = None
    if icl.k:
        store = _setup(ctx).store_for(icl.store)
        records = []
        for d in chosen:
            try:
                records.append(store.get(d["id"]))
            except KeyError:
                logger.warning("demo %s is no longer in %s", d["id"], store.root)
    zero_shot = cot.enabled and cot.prompting == "zero-shot"
    return IclPrompt(demos=None if records is None else tuple(records), store=store,
                     layout=resolve_layout(icl.format),
                     rationale=cot.enabled and cot.prompting == "few-shot",
                     cot_instructions=cot.instructions() if zero_shot else "")


def _answer_fn(ctx: AgentContext, state: AgentState) -> AnswerFn | None:
    """Asks the model that sees (the ``vqa`` model) a sub-question about the image."""
    model = getattr(ctx, "model", None)
    if model is None or not getattr(model, "sees_images", False):
        return None
    from lavr.core_model.messages import ImagePart, Message

    image = ctx.artifacts.get(state["image_id"])

    def ask(question: str) -> str | None:
        msgs = [Message.system("Answer the question about the image in one short sentence. "
                               "If you cannot tell from the image, reply exactly: unsure."),
                Message.user(ImagePart(image, "the image"), question)]
        try:
            reply = model.generate(msgs, max_new_tokens=SUBQUESTION_MAX_TOKENS,
                                   task="subquestion").strip()
        except LavrError as exc:
            logger.info("model could not answer sub-question %r: %s", question, exc)
            return None
        return None if not reply or reply.lower().strip(" .") == "unsure" else reply

    return ask


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
    """Build the reasoning chain or tree from the plan and the evidence.

    With chain-of-thought off the node changes nothing and leaves no trace record.
    """
    ctx = runtime.context
    opts = cot_options(state, ctx)
    if not opts.enabled:
        return None
    t0 = time.perf_counter()
    plan_ = Plan.model_validate(state["plan"])
    answer_fn = _answer_fn(ctx, state) if opts.mode == "tree" else None
    built = build_reasoning(opts.mode, plan_, list(state.get("evidence", [])),
                            max_steps=opts.steps, answer_fn=answer_fn)
    if built is None:  # pragma: no cover - enabled modes always build
        return None
    data = built.model_dump(mode="json")
    data["prompting"] = opts.prompting
    return {"cot": data, "trace": [trace_record(
        "reason", summary=_summary(built), seconds=time.perf_counter() - t0, reasoning=data)]}
