"""Rule planner: question types, mentions and plan validity."""

from __future__ import annotations

import pytest

from lavr.planners.errors import PlanValidationError
from lavr.planners.plan import Plan, Step, plan_problems, validate_plan
from lavr.planners.roles.rule_planner import RulePlanner, find_mentions
from lavr.tools.registry import default_registry

CASES = [
    ("How many circles are there?", "count", ["detect", "count"]),
    ("How many red circles are there?", "count", ["detect", "colour", "filter", "count"]),
    ("How many circles are red?", "count", ["detect", "colour", "filter", "count"]),
    ("Is there a blue square?", "exists", ["detect", "colour", "filter", "count"]),
    ("What colour is the triangle?", "colour", ["detect", "colour"]),
    ("What color is the largest shape?", "colour", ["detect", "colour", "select"]),
    ("Is the red circle left of the blue square?", "relation",
     ["detect", "colour", "filter", "filter", "relation"]),
    ("Is the orange square right of the purple triangle?", "relation",
     ["detect", "colour", "filter", "filter", "relation"]),
    ("What does the sign say?", "read", ["ocr"]),
    ("Where is the dog?", "locate", ["detect"]),
    ("Segment the cat", "segment", ["detect", "segment"]),
    ("What objects are there?", "list", ["detect", "colour"]),
    ("How many people are there?", "count", ["detect", "count"]),
    ("Why is the sky blue?", "unknown", ["detect", "colour", "ocr"]),
]


@pytest.fixture(scope="module")
def registry():
    return default_registry()


@pytest.mark.parametrize("question,intent,tools", CASES)
def test_plans(question, intent, tools, registry):
    plan = RulePlanner().plan(question)
    assert plan.intent == intent
    assert [s.tool for s in plan.steps] == tools
    assert plan_problems(plan, registry) == []


def test_people_maps_to_person_and_colour_adjective_is_not_fruit():
    plan = RulePlanner().plan("How many people are there?")
    assert plan.steps[0].args["labels"] == ["person"]
    m = find_mentions("is the orange square left of the orange?")
    assert [(x.label, x.colour) for x in m] == [("square", "orange"), ("orange", None)]


def test_relation_filters_each_object_by_label_and_colour():
    plan = RulePlanner().plan("Is the green triangle above the yellow circle?")
    filters = [s.args for s in plan.steps if s.tool == "filter"]
    assert filters == [{"source": "s2", "label": "triangle", "colour": "green"},
                       {"source": "s2", "label": "circle", "colour": "yellow"}]
    assert plan.steps[-1].args["relation"] == "above"


def test_unknown_question_is_honest():
    plan = RulePlanner().plan("Why is the sky blue?")
    assert "could not work out" in plan.note
    assert plan.answer_step is None


def test_validation_catches_unknown_tool_bad_args_and_forward_refs(registry):
    plan = Plan(question="q", steps=[
        Step(id="s1", tool="count", args={"source": "s2"}),
        Step(id="s2", tool="nope"),
        Step(id="s3", tool="detect", args={"labels": "circle", "bogus": 1}),
    ], answer_step="s9")
    problems = plan_problems(plan, registry)
    text = " | ".join(problems)
    assert "refers to 's2', which is not an earlier step" in text
    assert "unknown tool 'nope'" in text
    assert "bogus" in text
    assert "answer_step 's9'" in text
    with pytest.raises(PlanValidationError) as err:
        validate_plan(plan, registry)
    assert len(err.value.problems) == len(problems)
