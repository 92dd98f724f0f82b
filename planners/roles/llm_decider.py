"""The LLM decider: the model as decision maker.

While planned steps are pending it lets them run (no model call). Once the
plan is exhausted it shows the model the evidence — failures spelled out — and
the budget left, and the model stops or adds steps. New steps are validated
against the registry and the plan; an unusable reply is re-asked with the
problems a bounded number of times, then the rule decider decides. The budget
always holds: with nothing left the loop stops without asking, and extra
steps beyond the budget are dropped.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from lavr.core_model.errors import ModelOutputError
from lavr.core_model.messages import Message
from lavr.core_model.model import MultimodalModel
from lavr.core_model.structured import Attempt, json_schema_of, parse_structured
from lavr.planners.plan import Plan, plan_problems, step_dependencies
from lavr.planners.roles import compact
from lavr.planners.roles.llm_planner import StepDraft, draft_steps
from lavr.planners.roles.model_role import ModelRole, format_evidence, render_prompt, tool_catalog
from lavr.planners.roles.protocols import Decider, Decision
from lavr.planners.roles.rule_decider import RuleDecider
from lavr.tools.evidence import Evidence
from lavr.tools.registry import ToolRegistry

logger = logging.getLogger(__name__)

DECIDE_MAX_TOKENS = 256


class DecisionDraft(BaseModel):
    """The model's decision as it writes it."""

    model_config = ConfigDict(extra="ignore")

    action: Literal["stop", "more"]
    reason: str = ""
    steps: list[StepDraft] = Field(default_factory=list)


def _next_number(plan: Plan) -> int:
    nums = [int(s.id[1:]) for s in plan.steps if s.id[:1] == "s" and s.id[1:].isdigit()]
    return max(nums, default=len(plan.steps)) + 1


class LLMDecider(ModelRole):
    """The model as decision maker (see the module docstring).

    Args:
        model: The model.
        registry: The tools new steps may use.
        retries: Re-asks after an unusable decision.
        exclude_tools: Tools the model may not add (e.g. ``vqa`` without a seeing model).
        fallback: Decides when the model cannot (default :class:`RuleDecider`).
        max_new_tokens: Generation cap per decision.
    """

    def __init__(self, model: MultimodalModel, registry: ToolRegistry, *, retries: int = 1,
                 exclude_tools: Sequence[str] = (), fallback: Decider | None = None,
                 max_new_tokens: int = DECIDE_MAX_TOKENS) -> None:
        super().__init__(model, retries=retries, max_new_tokens=max_new_tokens)
        self.registry = registry
        self.exclude_tools = tuple(exclude_tools)
        self.fallback: Decider = fallback or RuleDecider(registry)

    def messages(self, plan: Plan, evidence: Sequence[Evidence],
                 budget_left: int) -> list[Message]:
        """The conversation sent to the model for one decision."""
        if compact.wants_compact(self.model):
            return compact.decide_messages(plan, evidence, budget_left)
        prompt = render_prompt(
            "decide.md", tools=tool_catalog(self.registry, exclude=self.exclude_tools),
            question=plan.question, evidence=format_evidence(plan, evidence),
            budget=budget_left, next_id=f"s{_next_number(plan)}")
        return [Message.user(prompt)]

    def _parse(self, raw: str, plan: Plan, evidence: Sequence[Evidence],
               budget_left: int) -> Decision:
        """The decision in ``raw``, its new steps checked against the registry and the plan.

        Raises:
            ModelOutputError: Unusable, with the problems the model is shown.
        """
        draft = parse_structured(raw, DecisionDraft)
        if draft.action == "stop":
            return Decision("stop", f"{self.name}: {draft.reason or 'evidence suffices'}")
        if not draft.steps:
            raise ModelOutputError(raw, ['action "more" needs at least one step in "steps"'])
        steps = draft_steps(draft.steps, first=_next_number(plan),
                            taken=[s.id for s in plan.steps])
        kept = steps[:budget_left]
        problems = plan_problems(plan.model_copy(update={"steps": plan.steps + kept}),
                                 self.registry)
        failed = {e.step_id for e in evidence if e.failed}
        for s in kept:
            if s.tool in self.exclude_tools:
                problems.append(f"step {s.id}: tool {s.tool!r} is not available here")
            bad = [d for d in step_dependencies(s, self.registry) if d in failed]
            if bad:
                problems.append(f"step {s.id}: uses {', '.join(bad)}, which failed or did not "
                                "run; use a step that succeeded")
        if problems:
            raise ModelOutputError(raw, problems)
        reason = f"{self.name}: {draft.reason or 'more evidence needed'}"
        if len(kept) < len(steps):
            reason += f" (kept {len(kept)} of {len(steps)} new steps: budget)"
        return Decision("more", reason, kept)

    def decide(self, plan: Plan, evidence: list[Evidence], *, budget_left: int,
               attempts: list[Attempt] | None = None) -> Decision:
        """Decide after a round (see the module docstring); ``attempts`` receives one
        record per model call and one for a fallback to the rules."""
        done = {e.step_id for e in evidence}
        pending = [s.id for s in plan.steps if s.id not in done]
        if budget_left <= 0:
            return Decision("stop", "step budget spent" + (
                f"; {len(pending)} step(s) not run" if pending else ""))
        if pending:
            return Decision("continue", f"{len(pending)} planned step(s) still to run: "
                            + ", ".join(pending))
        reply = self.ask(self.messages(plan, evidence, budget_left),
                         lambda raw: self._parse(raw, plan, evidence, budget_left),
                         what="decision", reask=_reask, attempts=attempts,
                         json_schema=json_schema_of(DecisionDraft), schema_name="decision",
                         task="decide")
        if reply.ok and reply.value is not None:
            return reply.value
        decision = self.fallback.decide(plan, evidence, budget_left=budget_left)
        if attempts is not None:
            attempts.append(Attempt(0, self.retries + 1, f"{self.name} decision unusable; the "
                                    "rule decider decides", error="; ".join(reply.problems),
                                    fallback=True))
        return Decision(decision.action, f"rule fallback: {decision.reason}", decision.new_steps)


def _reask(problems: list[str]) -> str:
    return ("That decision cannot be used: " + "; ".join(problems)
            + ". Reply with a corrected JSON object only.")
