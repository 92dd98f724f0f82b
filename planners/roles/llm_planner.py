"""The LLM planner: the model as controller.

The model gets the role prompt (``prompts/plan.md``) with the tool catalog
generated from the registry, a few demos chosen for the question (multimodal
in-context learning) and the question with the image when it can see. Its
reply is parsed into a :class:`~lavr.planners.plan.Plan` and validated with
:func:`~lavr.planners.plan.plan_problems`; an unusable reply goes back to the
model with the problems, at most ``retries`` times. Then
:class:`~lavr.planners.errors.PlanValidationError` is raised and the plan node
hands the question to the rule planner. Every attempt goes to the ``attempts``
list the caller gives, for the trace.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from lavr.core_model.errors import ModelOutputError
from lavr.core_model.messages import ImagePart, Message
from lavr.core_model.model import MultimodalModel
from lavr.core_model.structured import (
    Attempt,
    format_validation_error,
    json_schema_of,
    parse_structured,
)
from lavr.planners.demos.prompt import IclPrompt
from lavr.planners.errors import PlanValidationError
from lavr.planners.plan import Intent, Plan, Step, plan_problems
from lavr.planners.roles import compact
from lavr.planners.roles.model_role import (
    ModelRole,
    compact_args,
    load_prompt,
    render_prompt,
    tool_catalog,
)
from lavr.planners.roles.rule_planner import QUALIFIERS
from lavr.tools.registry import ToolRegistry
from lavr.tools.vocab import COLOUR_WORDS

logger = logging.getLogger(__name__)

#: Demos shown per question (the most similar ones, most similar last).
DEFAULT_DEMOS = 6
#: Generation cap for one plan.
PLAN_MAX_TOKENS = 384
_WORD = re.compile(r"[a-z]+")


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


@dataclass(frozen=True)
class Demo:
    """A few-shot example: a question and the plan that answers it (as the model writes it)."""

    question: str
    plan: dict[str, Any]

    def reply(self) -> str:
        """The plan as the model should write it."""
        return json.dumps(self.plan)


@cache
def _load_demos(name: str) -> tuple[Demo, ...]:
    data = json.loads(load_prompt(name))
    return tuple(Demo(d["question"], d["plan"]) for d in data)


def load_demos(name: str = "plan_demos.json") -> list[Demo]:
    """The demos in ``prompts/<name>``."""
    return list(_load_demos(name))


def _features(text: str) -> set[str]:
    """Words and word pairs; colour and qualifier words also count as their class,
    so "how many red circles" is close to "how many blue squares"."""
    words = _WORD.findall(text.lower())
    classed = ["<colour>" if w in COLOUR_WORDS else "<which>" if w in QUALIFIERS else w
               for w in words]
    feats = set(words) | set(classed)
    for seq in (words, classed):
        feats |= {f"{a} {b}" for a, b in zip(seq, seq[1:], strict=False)}
    return feats


def select_demos(question: str, demos: Sequence[Demo], k: int | None) -> list[Demo]:
    """The ``k`` demos most similar to ``question`` (word and word-pair overlap).

    Returned least similar first, so the closest example sits next to the
    question. Ties keep the file order; ``k=None`` keeps every demo.
    """
    if k is None or k >= len(demos):
        return list(demos)
    q = _features(question)

    def score(item: tuple[int, Demo]) -> tuple[float, int]:
        f = _features(item[1].question)
        return (len(q & f) / max(len(q | f), 1), -item[0])

    best = sorted(enumerate(demos), key=score, reverse=True)[:max(k, 0)]
    return [d for _, d in reversed(best)]


class LLMPlanner(ModelRole):
    """The model as controller, with validation, bounded re-asks and a visible record.

    Args:
        model: The model.
        registry: The tools plans may use (their schemas become the catalog).
        retries: Re-asks after an unusable plan (so at most ``retries + 1`` calls).
        demos: Few-shot demos (default: ``prompts/plan_demos.json``).
        n_demos: Demos shown per question (None: all).
        exclude_tools: Tools left out of the catalog (``vqa`` without a seeing model).
        max_new_tokens: Generation cap per plan.
    """

    def __init__(self, model: MultimodalModel, registry: ToolRegistry, *, retries: int = 2,
                 demos: Sequence[Demo] | None = None, n_demos: int | None = DEFAULT_DEMOS,
                 exclude_tools: Sequence[str] = (),
                 max_new_tokens: int = PLAN_MAX_TOKENS) -> None:
        if retries < 0:
            raise ValueError(f"retries must be >= 0, got {retries}")
        super().__init__(model, retries=retries, max_new_tokens=max_new_tokens)
        self.registry = registry
        self.exclude_tools = tuple(exclude_tools)
        all_demos = list(load_demos() if demos is None else demos)
        self.demos = [d for d in all_demos
                      if not {s["tool"] for s in d.plan.get("steps", [])} & set(exclude_tools)]
        self.n_demos = n_demos

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

    def messages(self, question: str, image: np.ndarray | None = None, *,
                 icl: IclPrompt | None = None) -> list[Message]:
        """The conversation sent for ``question``: role prompt, demos, question.

        Args:
            question: The question.
            image: Shown to models that can see.
            icl: Demos chosen from a demo store (with their images, or their
                expert summaries for text-only models) replacing the built-in
                demos, and chain-of-thought instructions (see
                :class:`~lavr.planners.icl.IclPrompt`).
        """
        if compact.wants_compact(self.model):
            sees = self.model.sees_images and image is not None
            demos = icl.demos if sees and icl is not None and icl.demos else ()
            return compact.plan_messages(question, image if sees else None, demos=demos,
                                         store=icl.store if icl is not None else None)
        system = self.system_prompt()
        if icl is not None and icl.cot_instructions:
            system += "\n" + icl.cot_instructions
        msgs = [Message.system(system)]
        if icl is not None and icl.demos is not None:
            return msgs + icl.messages(question, image, sees_images=self.model.sees_images)
        for demo in select_demos(question, self.demos, self.n_demos):
            msgs += [Message.user(f"Question: {demo.question}"), Message.assistant(demo.reply())]
        if image is not None and self.model.sees_images:
            msgs.append(Message.user(ImagePart(image, "the image"), f"Question: {question}"))
        else:
            msgs.append(Message.user(f"Question: {question}"))
        return msgs

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
            icl: In-context demos and chain-of-thought options (None: the
                built-in demos, no chain-of-thought instruction).
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
