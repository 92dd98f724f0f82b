"""The model as controller, decision maker, refiner and vqa expert, in the graph.

Scripted models (shipped in lavr.core_model.scripted) drive the roles; tiny
in-test tools stand in for the experts, so these tests check the graph logic:
re-asks and fallbacks in the trace, multi-round decide loops under the budget,
tool errors surfaced to the model, the refiner's fallback.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

from lavr.agents import VisualAgent
from lavr.core_model.scripted import ScriptedModel
from lavr.tools.base import Tool, ToolArgs, ToolContext, ToolResult
from lavr.tools.detections import Detections
from lavr.tools.registry import ToolRegistry
from lavr.tools.trace import TraceEvent
from lavr.tools.vqa import VqaTool
from tests.fake_tools import Boom, Count

IMG = np.full((60, 80, 3), 120, np.uint8)


class DetectArgs(ToolArgs):
    labels: list[str] = []


class FakeDetect(Tool):
    """Finds two dots whatever is asked."""

    name = "detect"
    description = "find objects; returns their boxes"
    Args = DetectArgs

    def run(self, args: DetectArgs, ctx: ToolContext) -> ToolResult:
        dets = Detections(np.array([[10, 10, 30, 30], [40, 20, 70, 50]], float), np.ones(2),
                          ["dot", "dot"])
        return ToolResult(summary="detect: 2 dots", value={"dot": 2},
                          artifact_id=ctx.artifacts.put(dets), boxes=dets.xyxy.tolist())


def registry(*extra: Tool) -> ToolRegistry:
    return ToolRegistry([FakeDetect(), Count(), Boom(), *extra])


def plan_json(*steps: tuple[str, dict[str, Any]], intent: str = "count",
              target: str = "dot") -> str:
    return json.dumps({"intent": intent, "target": target,
                       "steps": [{"tool": t, "args": a} for t, a in steps]})


DETECT_COUNT = plan_json(("detect", {"labels": ["dot"]}), ("count", {"source": "s1"}))


def agent(model: ScriptedModel, *extra: Tool, **kw: Any) -> VisualAgent:
    kw.setdefault("verify", False)
    kw.setdefault("style", "grounded")  # these tests read the model's citations
    return VisualAgent(model=model, registry=registry(*extra), **kw)


def nodes(res, node: str) -> list[TraceEvent]:
    return [s for s in res.steps if s.node == node]


# -- controller ------------------------------------------------------------------------
def test_model_plan_runs_and_its_attempt_is_in_the_trace():
    model = ScriptedModel({"plan": [DETECT_COUNT], "decide": ['{"action": "stop"}'],
                           "refine": ["There are two dots [s1, s2]."]})
    res = agent(model).run(IMG, "How many dots are there?")
    assert res.plan["planner"] == "scripted"
    assert res.answer == "There are two dots [s1, s2]." and res.cited == ["s1", "s2"]
    assert res.answer_plain == "There are two dots."  # the plain text drops the citations
    plan_recs = nodes(res, "plan")
    assert plan_recs[0].summary == "scripted plan attempt 1/3: valid plan"
    assert plan_recs[0].raw == DETECT_COUNT and plan_recs[0].error is None


def test_malformed_plans_are_reasked_then_the_rule_planner_takes_over_visibly():
    model = ScriptedModel({"plan": ["Let me think.", '{"steps": [{"tool": "teleport"}]}',
                                    '{"intent": "count"}'],
                           "decide": ['{"action": "stop"}'], "refine": ["Two dots [s2]."]})
    res = agent(model, model_retries=2).run(IMG, "How many dots are there?")
    recs = nodes(res, "plan")
    assert [r.summary for r in recs[:3]] == [
        f"scripted plan attempt {i}/3: rejected" for i in (1, 2, 3)]
    assert "unknown tool 'teleport'" in recs[1].error
    assert "falling back to the rule planner" in recs[3].summary
    assert res.plan["planner"] == "rule" and len(model.requests_for("plan")) == 3
    # the re-asks carried the problems back to the model
    assert "unknown tool 'teleport'" in model.requests_for("plan")[2].text
    assert res.answer == "Two dots [s2]."


# -- decision maker --------------------------------------------------------------------
def test_decider_adds_steps_over_rounds_then_stops():
    model = ScriptedModel({
        "plan": [plan_json(("detect", {"labels": ["dot"]}))],
        "decide": ['{"action": "more", "reason": "need a count", "steps": '
                   '[{"tool": "count", "args": {"source": "s1"}}]}',
                   '{"action": "stop", "reason": "counted"}'],
        "refine": ["There are two dots [s2]."]})
    res = agent(model).run(IMG, "How many dots are there?")
    assert [s["id"] for s in res.plan["steps"]] == ["s1", "s2"]
    decide = [r.summary for r in nodes(res, "decide") if "attempt" not in r.summary]
    assert decide == ["more: scripted: need a count", "stop: scripted: counted"]
    second = model.requests_for("decide")[1].text
    assert 's2 count(source=s1): "2 counted"' in second  # the new evidence was shown


def test_budget_always_holds_however_much_the_model_wants():
    more = json.dumps({"action": "more", "steps": [
        {"tool": "detect", "args": {"labels": ["dot"]}}, {"tool": "count", "args": {"source": "s1"}},
        {"tool": "detect", "args": {}}]})
    model = ScriptedModel({"plan": [plan_json(("detect", {"labels": ["dot"]}))],
                           "decide": [more], "refine": ["Dots [s1]."]}, repeat_last=True)
    res = agent(model, max_steps=3).run(IMG, "How many dots are there?")
    ran = [e for e in res.evidence if not e.skipped]
    assert len(ran) == 3
    assert len(model.requests_for("decide")) == 1  # with no budget left the model is not asked
    summaries = [r.summary for r in nodes(res, "decide")]
    assert any("kept 2 of 3 new steps: budget" in s for s in summaries)
    assert summaries[-1].startswith("stop: step budget spent")
    assert "Tool calls left in the budget: 2" in model.requests_for("decide")[0].text


def test_adaptive_stop_after_one_round():
    model = ScriptedModel({"plan": [DETECT_COUNT], "decide": ['{"action": "stop", "reason": "done"}'],
                           "refine": ["Two [s2]."]})
    res = agent(model, max_steps=10).run(IMG, "How many dots are there?")
    assert len(model.requests_for("decide")) == 1
    assert len([e for e in res.evidence if not e.skipped]) == 2


def test_tool_errors_are_shown_to_the_model_which_works_around_them():
    model = ScriptedModel({
        "plan": [plan_json(("boom", {}), ("count", {"source": "s1"}))],
        "decide": ['{"action": "more", "reason": "boom failed", "steps": '
                   '[{"id": "s3", "tool": "detect", "args": {"labels": ["dot"]}}, '
                   '{"id": "s4", "tool": "count", "args": {"source": "s3"}}]}',
                   '{"action": "stop"}'],
        "refine": ["There are two dots [s3, s4]."]})
    res = agent(model).run(IMG, "How many dots are there?")
    shown = model.requests_for("decide")[0].text
    assert 's1 boom(): ERROR "boom: the expert is unhappy"' in shown
    assert 's2 count(source=s1): NOT RUN ("skipped: depends on failed step s1")' in shown
    ev = {e.step_id: e for e in res.evidence}
    assert ev["s4"].value == 2 and res.answer.endswith("[s3, s4].")


def test_unusable_decisions_are_reasked_then_the_rule_decider_decides():
    model = ScriptedModel({
        "plan": [plan_json(("boom", {}))],
        "decide": ['{"action": "maybe"}',
                   '{"action": "more", "steps": [{"tool": "count", "args": {"source": "s1"}}]}'],
        "refine": ["The expert failed [s1]."]})
    res = agent(model, model_retries=2).run(IMG, "How many dots are there?")
    recs = nodes(res, "decide")
    assert "action: Input should be 'stop' or 'more'" in recs[0].error
    assert "uses s1, which failed" in recs[1].error
    assert recs[2].summary == "scripted decision unusable; the rule decider decides"
    assert recs[3].summary.startswith("stop: rule fallback:")
    assert "action: Input should be" in model.requests_for("decide")[1].messages[-1].text


# -- semantic refiner ------------------------------------------------------------------
def test_unusable_answers_fall_back_to_the_rule_refiner():
    model = ScriptedModel({"plan": [DETECT_COUNT], "decide": ['{"action": "stop"}'],
                           "refine": ["Probably three.", "Three dots [s7]."]})
    res = agent(model).run(IMG, "How many dots are there?")
    recs = nodes(res, "refine")
    assert "cites no evidence" in recs[0].error
    assert "cites s7, which are not steps" in recs[1].error
    assert "the rule refiner writes it" in recs[2].summary
    assert res.answer.startswith("There are two dots") and res.cited == ["s1", "s2"]


def test_roles_can_be_split_between_model_and_rules():
    model = ScriptedModel({"plan": [DETECT_COUNT]})
    res = agent(model, model_roles="plan").run(IMG, "How many dots are there?")
    assert res.plan["planner"] == "scripted" and res.answer.startswith("There are two dots")
    assert {r.task for r in model.requests} == {"plan"}


# -- vqa expert ------------------------------------------------------------------------
def test_vqa_expert_asks_the_model_about_a_crop():
    model = ScriptedModel({
        "plan": [plan_json(("detect", {"labels": ["dot"]}),
                           ("vqa", {"question": "What colour is it?", "source": "s1", "index": 1}),
                           intent="unknown")],
        "vqa": ["It is grey."], "decide": ['{"action": "stop"}'],
        "refine": ["The second dot is grey [s2]."]})
    res = agent(model, VqaTool()).run(IMG, "What colour is the second dot?")
    ev = {e.step_id: e for e in res.evidence}
    assert ev["s2"].value == "It is grey." and ev["s2"].error is None
    (req,) = model.requests_for("vqa")
    (crop,) = req.images
    assert crop.shape[0] >= 30 and crop.shape[1] >= 30 and crop.shape[:2] != IMG.shape[:2]
    assert req.text.endswith("What colour is it?")


def test_vqa_is_unavailable_to_text_only_models():
    model = ScriptedModel({"plan": [DETECT_COUNT]}, sees_images=False)
    a = agent(model, VqaTool(), model_roles="plan")
    assert a.context.model is None
    assert "- vqa(" not in a.context.planner.system_prompt()


@pytest.mark.parametrize("roles", ["plan,decide,refine,vqa", ["plan", "vqa"]])
def test_roles_accept_strings_and_lists(roles):
    a = agent(ScriptedModel([]), VqaTool(), model_roles=roles)
    assert a.context.model is a.model
