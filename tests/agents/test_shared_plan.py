"""The run's nodes share one parse of the plan (agents/nodes.py ``_parsed_plan``); a user's
decider or refiner that edits the plan it is handed cannot reach the other readers."""

from __future__ import annotations

from pathlib import Path

from lavr.agents import VisualAgent
from lavr.planners.plan import Plan
from lavr.planners.roles.protocols import Decision

GOOD = str(Path(__file__).resolve().parents[2] / "examples" / "shapes_1.png")
Q = "How many red circles are there?"


def _vandalise(plan: Plan) -> None:
    plan.steps.clear()
    plan.reasoning.append("vandalised")
    plan.answer_step = None
    plan.intent = "unknown"
    plan.target = "vandalised"


class VandalDecider:
    """Decides as the agent's own decider, then wrecks the plan it was handed."""

    name = "vandal"

    def __init__(self, inner) -> None:
        self.inner = inner

    def decide(self, plan: Plan, evidence: list, *, budget_left: int,
               attempts: list | None = None) -> Decision:
        decision = self.inner.decide(plan, evidence, budget_left=budget_left, attempts=attempts)
        _vandalise(plan)
        return decision


class VandalRefiner:
    """Wrecks the plan, then fails, so the rule refiner answers from the same plan."""

    name = "vandal"

    def refine(self, plan: Plan, evidence: list, **kwargs):
        from lavr.core_model.errors import ModelError

        _vandalise(plan)
        raise ModelError("no answer")


def _run(*, decider=None, refiner=None):
    agent = VisualAgent(detector="shapes", verify=False, answer_cache=False)
    if decider is not None:
        agent.context.decider = decider(agent.context.decider)
    if refiner is not None:
        agent.context.refiner = refiner
    return agent.run(GOOD, Q)


def test_a_decider_that_edits_its_plan_changes_nothing_else():
    clean = _run()
    wrecked = _run(decider=VandalDecider)
    assert wrecked.answer == clean.answer and "vandalised" not in str(wrecked.plan)


def test_a_refiner_that_edits_its_plan_leaves_the_fallback_a_clean_one():
    clean = _run()
    wrecked = _run(refiner=VandalRefiner())
    assert wrecked.answer == clean.answer and "vandalised" not in str(wrecked.plan)
