"""The rule decision maker: after each round, stop or ask for more evidence."""

from __future__ import annotations

from lavr.core_model.structured import Attempt
from lavr.planners.plan import Plan, Step
from lavr.planners.roles.protocols import Decision
from lavr.tools.evidence import Evidence
from lavr.tools.registry import ToolRegistry, builtin_tools


def _next_id(plan: Plan) -> str:
    used = {s.id for s in plan.steps}
    i = len(plan.steps) + 1
    while f"s{i}" in used:
        i += 1
    return f"s{i}"


class RuleDecider:
    """Stops when every step has run, unless a tool that answers the question offers a
    follow-up (OCR reads again zoomed when it read nothing or was unsure).

    Args:
        tools: The agent's tools, asked for follow-ups (default: the built-in tools).
    """

    name = "rule"

    def __init__(self, tools: ToolRegistry | None = None) -> None:
        self.tools = tools

    def decide(self, plan: Plan, evidence: list[Evidence], *, budget_left: int,
               attempts: list[Attempt] | None = None) -> Decision:
        """Decide after a round.

        Args:
            plan: The current plan.
            evidence: Evidence so far.
            budget_left: Tool calls still allowed.
            attempts: Unused (the rules call no model); part of the ``Decider`` interface.
        """
        done = {e.step_id for e in evidence}
        pending = [s.id for s in plan.steps if s.id not in done]
        if pending and budget_left > 0:
            return Decision("continue", f"{len(pending)} planned step(s) still to run: "
                            + ", ".join(pending))
        if pending:
            return Decision("stop", f"step budget spent; {len(pending)} step(s) not run")
        if budget_left > 0:
            decision = self._follow_up(plan, evidence, budget_left)
            if decision is not None:
                return decision
        return Decision("stop", "all planned evidence gathered")

    def _follow_up(self, plan: Plan, evidence: list[Evidence],
                   budget_left: int) -> Decision | None:
        """The first follow-up a tool answering the plan's intent offers on its own evidence."""
        for tool in (self.tools or builtin_tools()).answering(plan.intent):
            own = [e for e in evidence if e.tool == tool.name and e.ok]
            offer = tool.follow_up(own, budget_left=budget_left) if own else None
            if offer is None or not offer.steps:
                continue
            steps: list[Step] = []
            for new in offer.steps[:budget_left]:
                sid = _next_id(plan.model_copy(update={"steps": plan.steps + steps}))
                steps.append(Step(id=sid, tool=new.tool, args=new.args, why=new.why))
            return Decision("more", offer.reason, steps)
        return None
