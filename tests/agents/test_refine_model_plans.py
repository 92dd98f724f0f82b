"""The rule refiner survives plans whose last step does not fit the intent (model plans do that)."""

from __future__ import annotations

from lavr.agents import VisualAgent
from lavr.planners.plan import Plan, Step
from tests.conftest import REPO, requires_shapes


class _Fixed:
    name = "fixed"

    def __init__(self, steps: list[Step]) -> None:
        self.steps = steps

    def plan(self, question: str) -> Plan:
        return Plan(question=question, intent="count", steps=self.steps,
                    answer_step=self.steps[-1].id, planner=self.name)


@requires_shapes
def test_count_intent_ending_on_a_detect_step_counts_its_objects():
    agent = VisualAgent(planner=_Fixed([Step(id="s1", tool="detect",
                                             args={"labels": ["circle"]})]),
                        detector="shapes", verify=False)
    res = agent.run(REPO / "examples" / "shapes_1.png", "How many circles?")
    assert res.answer_grounded == "There are three objects. [s1]"
    assert res.answer == "There are three objects."
