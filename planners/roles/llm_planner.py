"""The LLM planner: the model as controller.

The model gets the role prompt (``prompts/plan.md``) with the tool catalog
generated from the registry, the in-context demos the ``demos`` node chose for
the question (by default six of the built-in plan demos, store ``builtin``; see
:class:`~lavr.planners.demos.select.IclOptions`) and the question with the
image when it can see. Its
reply is parsed into a :class:`~lavr.planners.plan.Plan` and validated with
:func:`~lavr.planners.plan.plan_problems`; an unusable reply goes back to the
model with the problems, at most ``retries`` times. Then
:class:`~lavr.planners.errors.PlanValidationError` is raised and the plan node
hands the question to the rule planner. Every attempt goes to the ``attempts``
list the caller gives, for the trace.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from lavr.core_model.errors import ModelOutputError
from lavr.core_model.messages import Message
from lavr.core_model.model import MultimodalModel
from lavr.core_model.structured import (
    Attempt,
    format_validation_error,
    json_schema_of,
    parse_structured,
)
from lavr.planners.demos.prompt import IclPrompt
from lavr.planners.demos.store import DemoRecord
from lavr.planners.errors import PlanValidationError
from lavr.planners.plan import Intent, Plan, Step, plan_problems
from lavr.planners.roles import compact
from lavr.planners.roles.model_role import (
    ModelRole,
    compact_args,
    render_prompt,
    tool_catalog,
)
from lavr.tools.registry import ToolRegistry

logger = logging.getLogger(__name__)

#: Generation cap for one plan.
PLAN_MAX_TOKENS = 384


class StepDraft(BaseModel):
    """One step as the model writes it; ``id`` defaults to ``s<position>``."""

    model_config = ConfigDict(extra="forbid")

    id: str | None = None
    tool: str
    args: dict[str, Any] = Field(default_factory=dict)
    why: str = ""


#: Intent words models use for the canonical ones (American spelling, near synonyms).
INTENT_ALIASES = {
    "color": "colour", "counting": "count", "number": "count", "exist": "exists",
    "existence": "exists", "presence": "exists", "text": "read", "ocr": "read",
    "reading": "read", "location": "locate", "where": "locate", "spatial": "relation",
    "segmentation": "segment", "describe": "list", "objects": "list",
}


class PlanDraft(BaseModel):
    """A plan as the model writes it (the question and planner are filled in by code)."""

    model_config = ConfigDict(extra="ignore")

    intent: Intent = "unknown"
    target: str = ""
    relation: str = ""
    steps: list[StepDraft] = Field(min_length=1)
    answer_step: str | None = None
    reasoning: list[str] = Field(default_factory=list)

    @field_validator("intent", mode="before")
    @classmethod
    def _alias(cls, value: Any) -> Any:
        if isinstance(value, str):
            key = value.strip().lower()
            return INTENT_ALIASES.get(key, key)
        return value


def draft_steps(drafts: Sequence[StepDraft], *, first: int = 1,
                taken: Sequence[str] = ()) -> list[Step]:
    """Steps from drafts; missing ids become ``s<n>`` counting from ``first``.

    Raises:
        ModelOutputError: An id that is not a valid step id.
    """
    steps = []
    used = set(taken)
    for i, d in enumerate(drafts, start=first):
        sid = d.id or f"s{i}"
        if d.id is None:
            while sid in used:
                i += 1
                sid = f"s{i}"
        used.add(sid)
        try:
            steps.append(Step(id=sid, tool=d.tool, args=d.args, why=d.why))
        except ValidationError as exc:
            raise ModelOutputError(d.model_dump_json(), [
                f"step {sid!r}: {p}" for p in format_validation_error(exc)]) from exc
    return steps


def draft_to_plan(draft: PlanDraft, question: str, *, planner: str) -> Plan:
    """The :class:`Plan` a draft stands for (not yet checked against the registry)."""
    steps = draft_steps(draft.steps)
    answer = draft.answer_step or steps[-1].id
    relation = draft.relation
    if draft.intent == "relation" and not relation:
        rel = next((s.args["relation"] for s in steps if s.args.get("relation")), "")
        relation = str(rel or "")
    reasoning = draft.reasoning or [f"{s.id}: {s.why or s.tool + '(' + compact_args(s.args) + ')'}"
                                    for s in steps]
    return Plan(question=question, intent=draft.intent, steps=steps, answer_step=answer,
                target=draft.target, relation=relation, reasoning=reasoning, planner=planner)


class LLMPlanner(ModelRole):
    """The model as controller, with validation, bounded re-asks and a visible record.

    Its few-shot demos come from a demo store through the agent's one demo
    mechanism (:class:`~lavr.planners.demos.select.IclOptions`: ``icl=k``,
    ``demos=store``), handed to :meth:`plan` as ``icl``; :meth:`shows_demo` says
    which demos it can show.

    Args:
        model: The model.
        registry: The tools plans may use (their schemas become the catalog).
        retries: Re-asks after an unusable plan (so at most ``retries + 1`` calls).
        exclude_tools: Tools left out of the catalog (``vqa`` without a seeing model).
        max_new_tokens: Generation cap per plan.

    Raises:
        TypeError: ``demos`` or ``n_demos`` (removed: demos come from a demo store).
    """

    def __init__(self, model: MultimodalModel, registry: ToolRegistry, *, retries: int = 2,
                 exclude_tools: Sequence[str] = (),
                 max_new_tokens: int = PLAN_MAX_TOKENS, **removed: Any) -> None:
        if removed:
            raise TypeError(
                f"LLMPlanner({', '.join(sorted(removed))}=...) was removed: the planner's demos "
                "come from a demo store, chosen per question by the agent (VisualAgent(icl=k, "
                "demos='builtin' | 'starter' | folder), or an IclPrompt passed to plan())")
        if retries < 0:
            raise ValueError(f"retries must be >= 0, got {retries}")
        super().__init__(model, retries=retries, max_new_tokens=max_new_tokens)
        self.registry = registry
        self.exclude_tools = tuple(exclude_tools)

    @property
    def sees_images(self) -> bool:
        """Whether :meth:`plan` wants the image (the model can see)."""
        return self.model.sees_images

    def system_prompt(self) -> str:
        """The controller's role prompt with the tool catalog."""
        return render_prompt("plan.md",
                             tools=tool_catalog(self.registry, exclude=self.exclude_tools))

    #: The plan node hands this planner retrieved in-context demos and chain-of-thought options.
    reads_demos = True

    def shows_demo(self, demo: DemoRecord) -> bool:
        """Whether ``demo`` can be shown: it has a plan using only available tools, and, for
        a model trained on the compact prompts (lavr-mllm), an image (its demos are image
        turns; a text-only demo would be a prompt it was never trained on)."""
        if demo.plan is None:
            return False
        if {str(s.get("tool")) for s in demo.plan.get("steps", [])} & set(self.exclude_tools):
            return False
        return bool(demo.images) or not compact.wants_compact(self.model)

    def messages(self, question: str, image: np.ndarray | None = None, *,
                 icl: IclPrompt | None = None) -> list[Message]:
        """The conversation sent for ``question``: role prompt, demos, question.

        Args:
            question: The question.
            image: Shown to models that can see.
            icl: The demos the ``demos`` node chose (with their images, their expert
                summaries for text-only models, or their text alone for text-only
                demos) and chain-of-thought instructions (see
                :class:`~lavr.planners.demos.prompt.IclPrompt`); None: no demos.
        """
        demos = [d for d in icl.demos if self.shows_demo(d)] if icl is not None else []
        if compact.wants_compact(self.model):
            sees = self.model.sees_images and image is not None
            return compact.plan_messages(question, image if sees else None,
                                         demos=demos if sees else (),
                                         store=icl.store if icl is not None else None)
        system = self.system_prompt()
        if icl is not None and icl.cot_instructions:
            system += "\n" + icl.cot_instructions
        shown = IclPrompt(demos=tuple(demos), store=icl.store, layout=icl.layout,
                          rationale=icl.rationale) if icl is not None else IclPrompt()
        return [Message.system(system)] + shown.messages(question, image,
                                                         sees_images=self.model.sees_images)

    def _parse(self, raw: str, question: str) -> Plan:
        """The plan in ``raw``, checked against the registry.

        Raises:
            ModelOutputError: Unusable, with the problems the model is shown.
        """
        plan = draft_to_plan(parse_structured(raw, PlanDraft), question, planner=self.name)
        problems = plan_problems(plan, self.registry)
        if any(s.tool in self.exclude_tools for s in plan.steps):
            problems.append("uses a tool that is not available here: "
                            + ", ".join(sorted({s.tool for s in plan.steps
                                               if s.tool in self.exclude_tools})))
        if problems:
            raise ModelOutputError(raw, problems)
        return plan

    def plan(self, question: str, *, image: np.ndarray | None = None,
             icl: IclPrompt | None = None, attempts: list[Attempt] | None = None) -> Plan:
        """Plan ``question``.

        Args:
            question: The question.
            image: ``HxWx3 uint8 RGB``; shown to models that can see.
            icl: In-context demos and chain-of-thought options (None: no demos, no
                chain-of-thought instruction).
            attempts: Receives one record per model call (for the trace).

        Raises:
            PlanValidationError: Still no valid plan after the re-asks (``problems``
                of the last attempt); the caller falls back to the rule planner.
            ModelError: The model itself failed (server down, load error, crash).
        """

        def reask(problems: list[str]) -> str:
            return ("That plan cannot be used: " + "; ".join(problems)
                    + ". Reply with the corrected plan as one JSON object only.\n\n"
                    f"Question: {question}")

        reply = self.ask(self.messages(question, image, icl=icl),
                         lambda raw: self._parse(raw, question), what="plan",
                         usable="valid plan", reask=reask, attempts=attempts,
                         json_schema=json_schema_of(PlanDraft), schema_name="plan", task="plan")
        if reply.ok and reply.value is not None:
            return reply.value
        if reply.failure is not None:
            raise reply.failure
        raise PlanValidationError(list(reply.problems))
