"""The plan schema (:class:`Plan`, :class:`Step`) and its validation."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from lavr.planners.errors import PlanValidationError
from lavr.tools.errors import ToolError
from lavr.tools.registry import ToolRegistry

Intent = Literal[
    "count", "exists", "colour", "read", "locate", "relation", "segment", "list", "unknown"
]


class Step(BaseModel):
    """One tool call in a plan.

    Attributes:
        id: Unique step id, e.g. ``"s1"``; later steps refer to it in their args.
        tool: Registered tool name.
        args: Tool arguments (validated against the tool's ``Args`` model).
        why: What this step establishes (one line of the reasoning chain).
    """

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_]{0,15}$")
    tool: str
    args: dict[str, Any] = Field(default_factory=dict)
    why: str = ""


class Plan(BaseModel):
    """A controller's plan for one question.

    Attributes:
        question: The question being answered.
        intent: What kind of answer is wanted.
        steps: Tool calls; a step may depend on earlier steps through its args.
        answer_step: The step whose value answers the question.
        target: What the question is about, in words ("red circles").
        relation: For relation questions, the relation asked about.
        reasoning: The controller's reasoning chain, one line per item.
        planner: Who made the plan (``rule``, a model name, ...).
        note: Anything the refiner should tell the user (e.g. why planning failed).
    """

    model_config = ConfigDict(extra="forbid")

    question: str
    intent: Intent = "unknown"
    steps: list[Step] = Field(default_factory=list)
    answer_step: str | None = None
    target: str = ""
    relation: str = ""
    reasoning: list[str] = Field(default_factory=list)
    planner: str = "rule"
    note: str = ""


def plan_problems(plan: Plan, registry: ToolRegistry) -> list[str]:
    """Every problem with ``plan``; an empty list means it is valid."""
    problems: list[str] = []
    seen: set[str] = set()
    for step in plan.steps:
        if step.id in seen:
            problems.append(f"step id {step.id!r} is used twice")
        if step.tool not in registry:
            problems.append(f"step {step.id}: unknown tool {step.tool!r} "
                            f"(available: {', '.join(registry.names())})")
            seen.add(step.id)
            continue
        try:
            args = registry.parse_args(step.tool, step.args)
        except ToolError as exc:
            problems.append(f"step {step.id}: {exc.reason}")
            seen.add(step.id)
            continue
        for dep in registry.get(step.tool).dependencies(args):
            if dep not in seen:
                problems.append(f"step {step.id}: refers to {dep!r}, which is not an earlier step")
        seen.add(step.id)
    if plan.answer_step is not None and plan.answer_step not in seen:
        problems.append(f"answer_step {plan.answer_step!r} is not a step id")
    return problems


def validate_plan(plan: Plan, registry: ToolRegistry) -> Plan:
    """Return ``plan`` if valid.

    Raises:
        PlanValidationError: Listing every problem found.
    """
    problems = plan_problems(plan, registry)
    if problems:
        raise PlanValidationError(problems)
    return plan


def step_dependencies(step: Step, registry: ToolRegistry) -> list[str]:
    """Step ids ``step`` depends on (empty when its args are invalid)."""
    try:
        args = registry.parse_args(step.tool, step.args)
    except ToolError:
        return []
    return registry.get(step.tool).dependencies(args)
