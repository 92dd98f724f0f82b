"""Plan signatures, plan matching and the synthetic suite's gold plans."""

from __future__ import annotations

import pytest

from lavr.apps.evaluate import QUESTION_TYPES, make_items
from lavr.apps.plan_eval import evaluate_planner, gold_plan
from lavr.planners.plan import Plan, Step
from lavr.planners.plan_metrics import plan_signature, plans_match
from lavr.planners.roles.rule_planner import RulePlanner
from lavr.tools.registry import default_registry

REG = default_registry()


def plan(*steps: tuple[str, str, dict], intent: str = "count", answer: str | None = None) -> Plan:
    return Plan(question="q", intent=intent, steps=[Step(id=i, tool=t, args=a) for i, t, a in steps],
                answer_step=answer)


RED_CIRCLES = plan(("s1", "detect", {"labels": ["circle"]}), ("s2", "colour", {"source": "s1"}),
                   ("s3", "filter", {"source": "s2", "colour": "red"}),
                   ("s4", "count", {"source": "s3"}), answer="s4")


def test_signature_is_the_expression_behind_the_answer():
    assert plan_signature(RED_CIRCLES, REG) == (
        'count(source=filter(colour=red, source=colour(source=detect(labels=["circle"]))))')


def test_ids_order_defaults_execution_options_and_spelling_do_not_matter():
    other = plan(("a", "detect", {"labels": ["Circles"], "detector": "shapes",
                                  "min_confidence": 0.4}),
                 ("extra", "ocr", {"zoom": 1.0}),
                 ("b", "colour", {"source": "a"}),
                 ("c", "filter", {"source": "b", "colour": "Red", "label": "circle"}),
                 ("d", "count", {"source": "c"}), answer="d")
    assert plans_match(other, RED_CIRCLES, REG)


@pytest.mark.parametrize("change", [
    lambda s: s.__setitem__(2, ("s3", "filter", {"source": "s2", "colour": "blue"})),
    lambda s: s.__setitem__(0, ("s1", "detect", {"labels": ["square"]})),
    lambda s: s.__delitem__(1) or s.__setitem__(1, ("s3", "filter", {"source": "s1", "colour": "red"})),
])
def test_different_computations_do_not_match(change):
    steps = [(s.id, s.tool, dict(s.args)) for s in RED_CIRCLES.steps]
    change(steps)
    assert not plans_match(plan(*steps, answer="s4"), RED_CIRCLES, REG)


def test_intent_must_match_and_invalid_plans_have_no_signature():
    exists = RED_CIRCLES.model_copy(update={"intent": "exists"})
    assert not plans_match(exists, RED_CIRCLES, REG)
    broken = plan(("s1", "count", {"source": "s9"}))
    assert plan_signature(broken, REG) is None and not plans_match(broken, RED_CIRCLES, REG)


def test_filter_label_is_kept_when_it_removes_something():
    two = plan(("s1", "detect", {"labels": ["circle", "square"]}),
               ("s2", "filter", {"source": "s1", "label": "circle"}), ("s3", "count", {"source": "s2"}))
    one = plan(("s1", "detect", {"labels": ["circle", "square"]}), ("s2", "count", {"source": "s1"}))
    assert "label=circle" in plan_signature(two, REG)
    assert not plans_match(two, one, REG)


@pytest.mark.parametrize(("question", "tools"), [
    ("How many red circles are there?", ["detect", "colour", "filter", "count"]),
    ("How many squares are there?", ["detect", "count"]),
    ("Is there a blue triangle?", ["detect", "colour", "filter", "count"]),
    ("What colour is the square?", ["detect", "colour"]),
    ("What colour is the largest shape?", ["detect", "colour", "select"]),
    ("Is the red circle left of the blue square?", ["detect", "colour", "filter", "filter",
                                                    "relation"]),
    ("What does the sign say?", ["ocr"]),
])
def test_gold_plans_for_each_template(question, tools):
    gold = gold_plan(question)
    assert gold is not None and [s.tool for s in gold.steps] == tools
    assert plan_signature(gold, REG) is not None
    assert gold_plan("Why is the sky blue?") is None


def test_every_synthetic_question_has_a_gold_plan_and_the_rule_planner_matches_it():
    items = make_items(60, 7)
    assert {it.qtype for it, _ in items} == set(QUESTION_TYPES)
    report = evaluate_planner(RulePlanner(), [(it.question, it.qtype) for it, _ in items], REG)
    assert report.rate("valid") == 1.0 and report.rate("accurate") == 1.0
