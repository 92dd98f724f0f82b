"""Verification as a LangGraph subgraph: extract → questions → plan → tools → claims → correct.

One compiled graph (:data:`CHECK_GRAPH`, compiled once at import, no checkpointer of
its own nor inherited) runs every check: the main graph's ``verify`` node,
``VisualAgent.correct`` / ``lavr correct`` and ``lavr eval hallucination`` all go
through :meth:`lavr.agents.verify.pipeline.Corrector.correct`, which invokes it.
The ``tools`` node runs the plan's steps with the run's own tool execution
(:mod:`lavr.agents.verify.steps`: registry, result cache, artifact store). A
re-check (an LLM rewrite checked again) stops after ``claims``.

The state holds what each stage produced; the image, the corrector (its extractor,
validator and rewriter) and the question are the run's context (:class:`CheckContext`).
"""

from __future__ import annotations

import inspect
import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, TypedDict

import numpy as np
from langgraph.config import get_config
from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime

from lavr.agents.state import apply_update, reducers_of
from lavr.agents.verify.claims import build_claims
from lavr.agents.verify.extract import Extractor
from lavr.agents.verify.questions import formulate
from lavr.agents.verify.types import Answer, Claim, Concept, Question
from lavr.agents.verify.validate import StepPlan, VisualKnowledge

if TYPE_CHECKING:
    from langgraph.graph.state import CompiledStateGraph

    from lavr.agents.verify.pipeline import Corrector


class CheckState(TypedDict, total=False):
    """What the stages produce, in order (``text`` and ``answer`` are the input)."""

    #: The text whose claims are checked (the question, for a bare yes/no answer).
    text: str
    #: The text to correct (``text``, or the bare "Yes." / "No." answering it).
    answer: str
    #: Whether to correct (False: a re-check, which stops after ``claims``).
    fix: bool
    concepts: list[Concept]
    questions: list[Question]
    #: The tool steps to run (None when the experts' earlier look is recalled).
    plan: StepPlan | None
    knowledge: VisualKnowledge
    answers: list[Answer]
    claims: list[Claim]
    corrected: str
    notes: Annotated[list[str], operator.add]


@dataclass
class CheckContext:
    """The run's fixed inputs: the corrector, the image and the question (if any)."""

    corrector: Corrector
    image: np.ndarray
    extractor: Extractor
    question: str | None = None
    #: ``yes`` / ``no`` when the answer is a bare yes/no to ``question``.
    said: str | None = None
    #: Walk the nodes in plain Python (:func:`walk`) instead of invoking LangGraph.
    direct: bool = False


def extract(state: CheckState, runtime: Runtime[CheckContext]) -> dict[str, Any]:
    """Stage 1: the concepts (objects, counts, attributes, text, relations) the text claims."""
    return {"concepts": runtime.context.extractor.extract(state["text"])}


def questions(state: CheckState) -> dict[str, Any]:
    """Stage 2: a verification question per concept."""
    return {"questions": formulate(state["concepts"])}


def plan(state: CheckState, runtime: Runtime[CheckContext]) -> dict[str, Any]:
    """Stage 3a: what the experts saw for the same needs on this image, else the tool steps."""
    validator = runtime.context.corrector.validator
    known = validator.recall(runtime.context.image, state["questions"])
    if known is not None:
        return {"plan": None, "knowledge": known}
    return {"plan": validator.plan(state["questions"])}


def tools(state: CheckState, runtime: Runtime[CheckContext]) -> dict[str, Any]:
    """Stage 3b: the plan's tool steps on the run's executor, then each question's answer."""
    ctx = runtime.context
    validator = ctx.corrector.validator
    step_plan = state.get("plan")
    kb = state["knowledge"] if step_plan is None else \
        validator.gather(ctx.image, state["questions"], step_plan)
    return {"knowledge": kb, "answers": validator.answer(ctx.image, state["questions"], kb)}


def claims(state: CheckState) -> dict[str, Any]:
    """Stage 4: each claim with its verdict, evidence and boxes."""
    return {"claims": build_claims(state["concepts"], state["questions"], state["answers"],
                                   image_size=state["knowledge"].image_size)}


def correct(state: CheckState, runtime: Runtime[CheckContext]) -> dict[str, Any]:
    """Stage 5: the text with refuted claims removed or fixed (rule or LLM mode)."""
    return runtime.context.corrector.fix(state, runtime.context)


def after_claims(state: CheckState) -> str:
    """``correct``, or the end for a re-check."""
    return "correct" if state.get("fix", True) else END


#: The stages in order: name → function ``(state[, runtime]) -> update``.
STAGES: dict[str, Callable[..., dict[str, Any]]] = {
    "extract": extract, "questions": questions, "plan": plan, "tools": tools,
    "claims": claims, "correct": correct,
}
#: Fixed edges (``claims`` is routed by :func:`after_claims`).
EDGES: tuple[tuple[str, str], ...] = (
    (START, "extract"), ("extract", "questions"), ("questions", "plan"), ("plan", "tools"),
    ("tools", "claims"), ("correct", END),
)


def build_check_graph() -> StateGraph:
    """The uncompiled verification subgraph."""
    g = StateGraph(CheckState, context_schema=CheckContext)
    for name, fn in STAGES.items():
        g.add_node(name, fn)
    for a, b in EDGES:
        g.add_edge(a, b)
    g.add_conditional_edges("claims", after_claims, ["correct", END])
    return g


#: Compiled once; ``checkpointer=False``: nothing is checkpointed inside it, also when
#: the main graph runs with a checkpointer.
CHECK_GRAPH: CompiledStateGraph = build_check_graph().compile(checkpointer=False,
                                                              name="verify")
_WANTS_RUNTIME = {name: "runtime" in inspect.signature(fn).parameters
                  for name, fn in STAGES.items()}
_NEXT = dict(EDGES)
_REDUCERS = reducers_of(CheckState)


def walk(inputs: CheckState, context: CheckContext) -> CheckState:
    """The subgraph's nodes and edges in plain Python (one node a step, so the state
    each sees and the updates it writes are what LangGraph gives it; ``notes`` add up)."""
    state: dict[str, Any] = dict(inputs)
    runtime: Runtime[CheckContext] = Runtime(context=context)
    node = _NEXT[START]
    while node != END:
        fn = STAGES[node]
        apply_update(state, fn(state, runtime) if _WANTS_RUNTIME[node] else fn(state), _REDUCERS)
        node = after_claims(state) if node == "claims" else _NEXT[node]
    return state  # type: ignore[return-value]


def inside_langgraph() -> bool:
    """Whether the caller runs inside a LangGraph run (a compiled graph's node)."""
    try:
        get_config()
    except RuntimeError:
        return False
    return True


def run_check(context: CheckContext, text: str, *, answer: str | None = None,
              fix: bool = True) -> CheckState:
    """Run the subgraph on ``text``; returns its final state.

    LangGraph runs it (:data:`CHECK_GRAPH`), a subgraph of the main graph's run when
    called from its ``verify`` node, unless ``context.direct``: the main graph's plain
    Python runner (:func:`lavr.agents.graph.run_direct`) walks the same nodes with
    :func:`walk`, as it walks its own.
    """
    inputs: CheckState = {"text": text, "answer": text if answer is None else answer,
                          "fix": fix, "notes": []}
    if context.direct:
        return walk(inputs, context)
    # durability given: a checkpointed parent's "sync" would make it wait for a checkpoint
    # it has no checkpointer to write
    return CHECK_GRAPH.invoke(inputs, context=context,  # type: ignore[return-value]
                              durability="async")


__all__ = ["CHECK_GRAPH", "EDGES", "STAGES", "CheckContext", "CheckState", "build_check_graph",
           "inside_langgraph", "run_check", "walk"]
