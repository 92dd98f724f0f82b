"""Chain and tree reasoning built from plans and evidence (no experts needed)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from lavr.planners.cot import (
    CotOptions,
    ReasoningChain,
    ReasoningTree,
    build_chain,
    build_tree,
    reasoning_from_dict,
    render_reasoning,
)
from lavr.planners.plan import Plan, Step
from lavr.planners.roles.rule_planner import RulePlanner
from lavr.tools.evidence import Evidence


def _ev(sid: str, tool: str, summary: str, *, error: str | None = None,
        skipped: bool = False) -> Evidence:
    return Evidence.from_record({"step_id": sid, "tool": tool, "summary": summary,
                                 "error": error, "skipped": skipped})


def _relation_plan() -> Plan:
    return RulePlanner().plan("Is the red circle left of the blue square?")


def test_rule_chain_ties_every_step_to_its_evidence():
    plan = RulePlanner().plan("How many red circles are there?")
    ev = [_ev("s1", "detect", "detect: 3 circles"), _ev("s2", "colour", "colour: red, red, blue"),
          _ev("s3", "filter", "filter: kept 2 of 3"), _ev("s4", "count", "count: 2")]
    chain = build_chain(plan, ev)
    assert [s.step_ids for s in chain.steps] == [["s1"], ["s2"], ["s3"], ["s4"]]
    assert [s.status for s in chain.steps] == ["supported"] * 4
    assert chain.steps[0].text == "find circle with the detector"  # the "s1: " prefix is gone
    assert chain.steps[3].evidence == ["count: 2"]
    assert chain.conclusion == "count: 2" and chain.conclusion_steps == ["s4"]
    assert chain.length == "adaptive" and chain.dropped == 0


def test_chain_statuses_failed_not_run_and_uncited_lines():
    plan = Plan(question="q", intent="count", answer_step="s2", planner="m",
                steps=[Step(id="s1", tool="detect"), Step(id="s2", tool="count",
                                                          args={"source": "s1"}),
                       Step(id="s3", tool="ocr")],
                reasoning=["First I look for circles with the detector (s1).",
                           "Circles are round, so shape matters.",
                           "Then count them using s2 and s1 together."])
    ev = [_ev("s1", "detect", "", error="detector missing"), _ev("s2", "count", "", skipped=True,
                                                                  error="skipped")]
    chain = build_chain(plan, ev)
    texts = [s.text for s in chain.steps]
    assert texts[1] == "Circles are round, so shape matters."
    assert chain.steps[0].status == "failed" and chain.steps[0].step_ids == ["s1"]
    assert chain.steps[1].status == "no_evidence" and chain.steps[1].step_ids == []
    assert chain.steps[2].step_ids == ["s2", "s1"] and chain.steps[2].status == "not_run"
    # s3 was never mentioned: it follows with its why, and it has no evidence record
    assert chain.steps[3].step_ids == ["s3"] and chain.steps[3].status == "not_run"


def test_a_line_that_starts_with_a_step_id_is_about_that_step_only():
    plan = Plan(question="q", intent="count", answer_step="s2", planner="m",
                steps=[Step(id="s1", tool="detect"), Step(id="s2", tool="count",
                                                          args={"source": "s1"})],
                reasoning=["s1: detect(labels=[])", "s2: count(source=s1)"])
    chain = build_chain(plan, [_ev("s1", "detect", "3"), _ev("s2", "count", "count: 3")])
    assert [s.step_ids for s in chain.steps] == [["s1"], ["s2"]]
    assert chain.steps[1].text == "count(source=s1)"


def test_fixed_length_chain_keeps_the_first_n_steps():
    plan = RulePlanner().plan("How many red circles are there?")
    chain = build_chain(plan, [], max_steps=2)
    assert len(chain.steps) == 2 and chain.dropped == 2
    assert chain.length == "fixed" and chain.max_steps == 2
    assert any("left out" in line for line in render_reasoning(chain))


def test_tree_nests_sub_questions_by_data_flow_and_shares_once():
    plan = _relation_plan()
    ev = [_ev(s.id, s.tool, f"{s.tool} ok") for s in plan.steps]
    tree = build_tree(plan, ev)
    assert isinstance(tree, ReasoningTree)
    root = tree.children[0]
    assert root.step_ids == [plan.answer_step] and root.question == (
        "Is the red circle left of the blue square?")
    nodes = tree.nodes()
    assert sorted(s for n in nodes for s in n.step_ids) == sorted(s.id for s in plan.steps)
    shared = [n for n in nodes if n.refers_to]
    assert len(shared) == 1  # the second filter reuses the colour step drawn under the first
    assert all(n.source == "expert" for n in nodes) and tree.uncertain == 0
    assert tree.aggregate.startswith(f"The answer rests on {root.id}")


def test_tree_asks_the_model_when_experts_fail_else_marks_uncertain():
    plan = _relation_plan()
    ev = [_ev(s.id, s.tool, "ok") for s in plan.steps[:-1]]
    ev.append(_ev(plan.steps[-1].id, "relation", "", error="a has no objects"))
    asked: list[str] = []

    def model(q: str) -> str | None:
        asked.append(q)
        return "yes, it is on the left"

    with_model = build_tree(plan, ev, answer_fn=model)
    assert asked == ["Is the red circle left of the blue square?"]
    assert with_model.children[0].source == "model"
    assert with_model.children[0].answer == "yes, it is on the left"
    without = build_tree(plan, ev, answer_fn=lambda q: None)
    assert without.children[0].source == "uncertain" and without.uncertain == 1
    assert "the expert failed: a has no objects" in without.children[0].answer
    assert "uncertain: q1" in without.aggregate


def test_tree_question_no_step_answers_is_a_sub_question_of_its_own():
    plan = RulePlanner().plan("Why is the sky blue?")
    assert plan.answer_step is None
    ev = [_ev(s.id, s.tool, "fine") for s in plan.steps]
    tree = build_tree(plan, ev)
    assert tree.children[0].question == "Why is the sky blue?"
    assert tree.children[0].source == "uncertain" and tree.uncertain == 1
    assert "No single step answers" in tree.aggregate


def test_tree_uses_the_controllers_sub_questions_and_free_questions():
    plan = Plan(question="How many circles?", intent="count", answer_step="s2", planner="m",
                steps=[Step(id="s1", tool="detect", args={"labels": ["circle"]}),
                       Step(id="s2", tool="count", args={"source": "s1"})],
                reasoning=["s1: Where are the round things?", "s2: How many of them?",
                           "Is the picture a photograph?"])
    ev = [_ev("s1", "detect", "1 circle"), _ev("s2", "count", "count: 1")]
    tree = build_tree(plan, ev, max_steps=2)
    qs = [n.question for n in tree.nodes()]
    assert qs == ["How many of them?", "Where are the round things?"]
    assert tree.dropped == 1  # the free question did not fit the fixed length
    full = build_tree(plan, ev)
    free = full.children[-1]
    assert free.question == "Is the picture a photograph?" and free.source == "uncertain"


def test_options_coerce_validate_and_instruct():
    assert CotOptions.coerce("TREE").mode == "tree"
    assert CotOptions.coerce({"mode": "chain"}, steps=3).steps == 3
    assert CotOptions.coerce(None).enabled is False
    with pytest.raises(ValidationError):
        CotOptions.coerce("graph")
    with pytest.raises(ValidationError):
        CotOptions.coerce("chain", steps=0)
    assert CotOptions().instructions() == ""
    text = CotOptions(mode="chain", steps=3).instructions()
    assert "step by step" in text and "at most 3" in text
    assert "sub-questions" in CotOptions(mode="tree").instructions()


def test_dict_round_trip_and_rendering():
    plan = _relation_plan()
    ev = [_ev(s.id, s.tool, f"{s.tool} ok") for s in plan.steps]
    for built in (build_chain(plan, ev), build_tree(plan, ev)):
        back = reasoning_from_dict(built.model_dump(mode="json"))
        assert type(back) is type(built) and back == built
        lines = render_reasoning(built.model_dump(mode="json"))
        assert lines and any("relation ok" in line for line in lines)
    assert render_reasoning(None) == [] and reasoning_from_dict({}) is None
    tree_lines = render_reasoning(build_tree(plan, ev))
    assert tree_lines[0].startswith("Q: ") and any("└─" in line for line in tree_lines)
    assert isinstance(build_chain(plan, ev), ReasoningChain)
