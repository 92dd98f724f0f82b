"""The step budget is enforced by the graph itself, for any budget (issue 15).

A decider that always asks for more evidence must stop exactly at the budget —
never by LangGraph's ``GraphRecursionError`` — and a decider that never stops
without adding runnable steps must be stopped by the round limit.
"""

from __future__ import annotations

import numpy as np
import pytest

from lavr.agents import VisualAgent
from lavr.agents.nodes import max_rounds, recursion_limit
from lavr.core_model.errors import SettingsError
from lavr.planners.plan import Plan, Step
from lavr.planners.roles.protocols import Decision
from lavr.tools.base import Tool, ToolArgs, ToolContext, ToolResult
from lavr.tools.registry import ToolRegistry


class PokeArgs(ToolArgs):
    n: int = 0


class Poke(Tool):
    """A tool that costs nothing, so budgets of 1000 stay fast."""

    name = "poke"
    description = "poke the image"
    Args = PokeArgs
    cacheable = False

    def run(self, args: PokeArgs, ctx: ToolContext) -> ToolResult:
        return ToolResult(summary=f"poked {args.n}", value=args.n)


class OnePoke:
    name = "scripted"

    def plan(self, question: str) -> Plan:
        return Plan(question=question, steps=[Step(id="s1", tool="poke", args={"n": 1})],
                    answer_step="s1")


class AlwaysMore:
    """Asks for ``per_round`` more steps every round, whatever the budget says."""

    name = "always-more"

    def __init__(self, per_round: int = 1) -> None:
        self.per_round = per_round

    def decide(self, plan: Plan, evidence: list, *, budget_left: int,
               attempts: list | None = None) -> Decision:
        n = len(plan.steps)
        return Decision("more", "need more evidence", [
            Step(id=f"s{n + i + 1}", tool="poke", args={"n": n + i + 1})
            for i in range(self.per_round)])


class NeverDone:
    """Says "continue" forever without adding a step (nothing is pending)."""

    name = "never-done"

    def decide(self, plan: Plan, evidence: list, *, budget_left: int,
               attempts: list | None = None) -> Decision:
        return Decision("continue", "keep going")


def _agent(budget: int, decider) -> VisualAgent:
    agent = VisualAgent(max_steps=budget, verify=False, planner=OnePoke(),
                        registry=ToolRegistry([Poke()]))
    agent.context.decider = decider
    return agent


IMAGE = np.zeros((8, 8, 3), np.uint8)


@pytest.mark.parametrize("budget,per_round", [(1, 1), (12, 1), (60, 1), (100, 1),
                                              (1000, 25)])
def test_a_decider_that_always_wants_more_stops_exactly_at_the_budget(budget, per_round):
    result = _agent(budget, AlwaysMore(per_round)).run(IMAGE, "poke it")
    ran = [e for e in result.evidence if not e.skipped]
    assert len(ran) == budget
    decides = [s for s in result.steps if s.node == "decide"]
    assert decides[-1].summary.startswith("stop: step budget spent")
    assert result.answer


def test_per_call_budget_overrides_and_holds():
    agent = _agent(12, AlwaysMore())
    result = agent.run(IMAGE, "poke it", max_steps=100)
    assert len([e for e in result.evidence if not e.skipped]) == 100


def test_a_decider_that_never_stops_is_stopped_by_the_round_limit():
    result = _agent(1000, NeverDone()).run(IMAGE, "poke it")
    decides = [s for s in result.steps if s.node == "decide"]
    assert len(decides) == max_rounds(1000)
    assert "round limit reached" in decides[-1].summary


def test_the_recursion_limit_leaves_room_for_every_round():
    for budget in (1, 12, 60, 100, 1000):
        assert recursion_limit(budget) > 3 * max_rounds(budget) + 6


@pytest.mark.parametrize("bad", [0, -1, 1001, "3", 2.0, True, None])
def test_a_bad_per_call_budget_is_refused_not_replaced(bad):
    with pytest.raises(SettingsError, match="max_steps"):
        _agent(12, AlwaysMore()).run(IMAGE, "poke it", max_steps=bad) if bad is not None \
            else VisualAgent(max_steps=bad)
