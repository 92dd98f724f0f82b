"""Graph state and run-scoped context.

State keeps ids and small values only; pixels and detections live in the
artifact store, reached through :class:`AgentContext` (LangGraph runtime context).
"""

from __future__ import annotations

import operator
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, Protocol, TypedDict

from langgraph.types import Overwrite

from lavr.core_model.model import MultimodalModel
from lavr.planners.reasoning import ReasoningSetup
from lavr.planners.roles.protocols import Decider, Planner, Reasoner, Refiner
from lavr.planners.roles.rule_decider import RuleDecider
from lavr.planners.roles.rule_planner import RulePlanner
from lavr.planners.roles.rule_reasoner import RuleReasoner
from lavr.planners.roles.rule_refiner import RuleRefiner
from lavr.tools.base import ArtifactStore, ExpertPool, ResultCache
from lavr.tools.evidence import Evidence
from lavr.tools.registry import ToolRegistry


class AgentState(TypedDict, total=False):
    """LangGraph state of one question.

    Keys:
        question: The user's question.
        image_ref: Artifact id of the raw image source (before ingest).
        image_ref_hash: Content hash of the array under ``image_ref`` when the caller
            already computed it (``run()`` does, for the answer cache); ingest then
            does not hash the pixels again.
        image_id: Artifact id of the normalised ``HxWx3 uint8`` image.
        image_hash: Content hash of the image.
        image_size: ``[width, height]``.
        plan: ``Plan.model_dump()``.
        evidence: One :class:`~lavr.tools.evidence.Evidence` per tool step (reducer: append).
        trace: One :class:`~lavr.tools.trace.TraceEvent` per node/tool event, kept as
            its :meth:`~lavr.tools.trace.TraceEvent.to_dict` record (reducer: append).
        ready: Ids of the steps ``execute`` found ready to run within the budget (the
            ``dispatch`` router fans them out).
        max_steps: Budget of tool calls for this question.
        rounds: Number of decide rounds so far.
        stop_reason: Why the loop stopped.
        answer: Final answer text, in the run's answer style.
        answers: The final answer in every style: ``{"plain": ..., "grounded": ...}``.
        cited: Step ids the answer cites.
        history: Earlier turns of the thread (reducer: append): ``question``,
            ``answer``, ``cited``, ``image_hash``.
        reasoning_options: This question's ``{"cot": CotOptions, "icl": IclOptions}``
            as dicts (absent: the agent's defaults).
        demos: The in-context demos chosen for the question (id, task, scores).
        cot: The reasoning chain or tree (``ReasoningChain``/``ReasoningTree`` dict).
        run_id: This question's run (a resumed run keeps it): the key under which its
            finished tool steps are journaled (:class:`StepJournal`).
    """

    question: str
    run_id: str
    image_ref: str
    image_ref_hash: str
    image_id: str
    image_hash: str
    image_size: list[int]
    plan: dict[str, Any]
    evidence: Annotated[list[Evidence], operator.add]
    trace: Annotated[list[dict[str, Any]], operator.add]
    ready: list[str]
    max_steps: int
    rounds: int
    stop_reason: str
    answer: str
    answers: dict[str, str]
    cited: list[str]
    history: Annotated[list[dict[str, Any]], operator.add]
    reasoning_options: dict[str, Any]
    demos: list[dict[str, Any]]
    cot: dict[str, Any]


class StepJournal(Protocol):
    """Durable record of finished tool steps (the sessions file): a resumed run reads a
    step's evidence back instead of calling its tool again."""

    def save_step(self, run_id: str, key: str, record: str,
                  artifacts: dict[str, Any] | None = None) -> None:
        """Keep ``record`` (the step's evidence as JSON) for ``run_id`` under ``key``, and
        the ``artifacts`` it cites, at once."""

    def load_step(self, run_id: str, key: str) -> str | None:
        """The record kept for ``run_id`` and ``key``, or None."""

    def forget_steps(self, run_id: str) -> None:
        """Drop every record of ``run_id`` (its run ended)."""


@dataclass
class AgentContext:
    """Dependencies handed to every node through LangGraph's runtime context.

    Attributes:
        registry: Tools by name.
        artifacts: Pixels, masks and detections by id.
        experts: Lazily loaded experts (LRU under a memory budget).
        cache: Tool results by (image hash, tool, args).
        planner: The controller (rule planner or a model planner).
        decider: The decision maker (rule decider or a model decider).
        refiner: The semantic refiner; when a model refiner fails the rule refiner answers.
        reasoner: Builds the reasoning chain or tree when chain-of-thought is on.
        settings: Tool settings, plain values only (``detector``, ``device``...).
        verify: Whether the verify node checks the answer.
        model: The multimodal model tools may ask (``vqa``), or None.
        reasoning: Chain-of-thought and in-context demo defaults, and the demo
            selectors (:class:`~lavr.planners.reasoning.ReasoningSetup`).
        style: Answer style: ``plain`` (no citations or boxes in the text) or
            ``grounded`` (step-id citations and pixel boxes); both are kept.
        journal: Where each finished tool step is recorded the moment it ends (the
            sessions file), so a resumed run does not run it again; None: nowhere.
        step_seconds: How long the last step of each tool took, by tool name (the
            graph runs a step of a tool whose last step was short, and that says the
            call cannot block, in its own thread; see :func:`lavr.agents.nodes.run_step`).
    """

    registry: ToolRegistry
    artifacts: ArtifactStore = field(default_factory=ArtifactStore)
    experts: ExpertPool = field(default_factory=ExpertPool)
    cache: ResultCache = field(default_factory=ResultCache)
    planner: Planner = field(default_factory=RulePlanner)
    decider: Decider = field(default_factory=RuleDecider)
    refiner: Refiner = field(default_factory=RuleRefiner)
    reasoner: Reasoner = field(default_factory=RuleReasoner)
    settings: dict[str, str | int | float | bool | None] = field(default_factory=dict)
    verify: bool = True
    model: MultimodalModel | None = None
    reasoning: ReasoningSetup = field(default_factory=ReasoningSetup)
    style: str = "plain"
    journal: StepJournal | None = None
    step_seconds: dict[str, float] = field(default_factory=dict)


def reducers_of(schema: type) -> dict[str, Callable[[Any, Any], Any]]:
    """The reducers a LangGraph state schema declares (its ``Annotated[T, reducer]`` keys)."""
    hints = typing.get_type_hints(schema, include_extras=True)
    return {k: h.__metadata__[0] for k, h in hints.items()
            if getattr(h, "__metadata__", None) and callable(h.__metadata__[0])}


def apply_update(state: dict[str, Any], update: dict[str, Any] | None,
                 reducers: dict[str, Callable[[Any, Any], Any]]) -> None:
    """Write a node's update into ``state`` with the schema's reducers (as LangGraph does)."""
    if not update:
        return
    for key, value in update.items():
        if isinstance(value, Overwrite):
            state[key] = value.value
        elif (reducer := reducers.get(key)) is not None:
            state[key] = reducer(state.get(key, []), value)
        else:
            state[key] = value
