"""The LLM planner with scripted models: validation, re-asks, demos, prompts."""

from __future__ import annotations

import json

import numpy as np
import pytest

from lavr.core_model.errors import ModelError
from lavr.core_model.scripted import ScriptedModel
from lavr.core_model.structured import Attempt
from lavr.planners.demos.prompt import IclPrompt, plan_reply
from lavr.planners.demos.store import DemoRecord, builtin_store
from lavr.planners.errors import PlanValidationError
from lavr.planners.plan import plan_problems
from lavr.planners.roles.llm_planner import LLMPlanner, PlanDraft, draft_to_plan
from lavr.planners.roles.model_role import load_prompt, render_prompt, tool_catalog
from lavr.tools.registry import default_registry

REG = default_registry()
IMG = np.full((16, 16, 3), 90, np.uint8)
GOOD = {"intent": "count", "target": "red circle", "steps": [
    {"tool": "detect", "args": {"labels": ["circle"]}},
    {"tool": "colour", "args": {"source": "s1"}},
    {"tool": "filter", "args": {"source": "s2", "colour": "red"}},
    {"tool": "count", "args": {"source": "s3"}}]}


@pytest.mark.parametrize("demo", builtin_store().records(), ids=lambda d: d.instruction)
def test_every_builtin_demo_is_a_valid_plan_as_the_model_is_shown_it(demo):
    draft = PlanDraft.model_validate_json(plan_reply(demo))
    plan = draft_to_plan(draft, demo.instruction, planner="demo")
    assert plan_problems(plan, REG) == []
    assert plan.answer_step == plan.steps[-1].id
    assert not demo.images and demo.plan is not None


def test_builtin_store_checks_clean_and_covers_every_kind_of_question():
    store = builtin_store()
    assert store.check() == []
    intents = {d.parsed_plan().intent for d in store}
    assert intents >= {"count", "exists", "colour", "relation", "read", "locate", "segment",
                       "list", "unknown"}


def test_role_prompts_render_with_every_placeholder_filled():
    plan = render_prompt("plan.md", tools=tool_catalog(REG))
    assert "- detect(labels: list[str]" in plan and "$" not in plan
    decide = render_prompt("decide.md", tools="T", question="Q", evidence="E", budget=3,
                           next_id="s5")
    assert '"id": "s5"' in decide and "$" not in decide
    refine = render_prompt("refine.md", question="Q", evidence="E")
    assert "[s1, s3]" in refine and "$" not in refine
    with pytest.raises(KeyError):
        render_prompt("plan.md")
    assert load_prompt("plan.md").startswith("You are the controller")


def test_valid_reply_becomes_a_plan_with_positional_ids():
    attempts: list[Attempt] = []
    model = ScriptedModel([json.dumps(GOOD)], name="m")
    planner = LLMPlanner(model, REG)
    plan = planner.plan("How many red circles are there?", attempts=attempts)
    assert [s.id for s in plan.steps] == ["s1", "s2", "s3", "s4"]
    assert plan.answer_step == "s4" and plan.planner == "m" and plan.intent == "count"
    assert plan.reasoning[0] == 's1: detect(labels=["circle"])'
    assert [a.error for a in attempts] == [None]
    req = model.requests[0]
    assert req.task == "plan" and req.options.json_schema == PlanDraft.model_json_schema()
    assert req.messages[0].role == "system" and "- count(source: str)" in req.messages[0].text
    assert req.messages[-1].text == "Question: How many red circles are there?"


def test_invalid_plan_is_reasked_with_the_problems():
    attempts: list[Attempt] = []
    bad = {"intent": "count", "steps": [{"tool": "detector", "args": {}},
                                        {"tool": "count", "args": {"source": "s9"}}]}
    model = ScriptedModel(["I think we should detect circles.", json.dumps(bad), json.dumps(GOOD)])
    planner = LLMPlanner(model, REG, retries=2)
    plan = planner.plan("How many red circles are there?", attempts=attempts)
    assert len(plan.steps) == 4
    assert [a.number for a in attempts] == [1, 2, 3]
    assert "no JSON object" in attempts[0].error
    assert "unknown tool 'detector'" in attempts[1].error
    assert "refers to 's9'" in attempts[1].error
    third = model.requests[2].messages
    assert third[-2].role == "assistant" and third[-2].text == json.dumps(bad)
    assert "unknown tool 'detector'" in third[-1].text


def test_bounded_reasks_then_validation_error():
    attempts: list[Attempt] = []
    model = ScriptedModel(['{"intent": "count", "steps": []}'] * 2)
    planner = LLMPlanner(model, REG, retries=1)
    with pytest.raises(PlanValidationError) as info:
        planner.plan("How many cats?", attempts=attempts)
    assert "steps: List should have at least 1 item" in info.value.problems[0]
    assert len(model.requests) == 2 and len(attempts) == 2
    assert all("rejected" in a.summary for a in attempts)


def test_bad_step_ids_and_args_are_problems_not_crashes():
    attempts: list[Attempt] = []
    model = ScriptedModel([json.dumps({"intent": "count", "steps": [
        {"id": "step one", "tool": "detect"}]}), json.dumps({"intent": "count", "steps": [
            {"tool": "detect", "args": {"labels": "circle", "size": 3}}]})])
    planner = LLMPlanner(model, REG, retries=1)
    with pytest.raises(PlanValidationError):
        planner.plan("How many circles?", attempts=attempts)
    assert "step 'step one'" in attempts[0].error
    assert "labels" in attempts[1].error and "size" in attempts[1].error


def test_model_failure_propagates_and_is_recorded():
    attempts: list[Attempt] = []
    planner = LLMPlanner(ScriptedModel([ModelError("server down")]), REG)
    with pytest.raises(ModelError, match="server down"):
        planner.plan("How many cats?", attempts=attempts)
    assert "model failed: server down" in attempts[0].error


def test_seeing_models_get_the_image_text_only_models_do_not():
    vlm = ScriptedModel([json.dumps(GOOD)])
    planner = LLMPlanner(vlm, REG)
    assert planner.sees_images
    planner.plan("How many red circles?", image=IMG)
    assert len(vlm.requests[0].images) == 1
    llm = ScriptedModel([json.dumps(GOOD)], sees_images=False)
    assert not LLMPlanner(llm, REG).sees_images


def test_excluded_tools_leave_catalog_demos_and_plans():
    model = ScriptedModel([json.dumps({"intent": "unknown", "steps": [
        {"tool": "vqa", "args": {"question": "what is it?"}}]})])
    planner = LLMPlanner(model, REG, retries=0, exclude_tools=("vqa",))
    assert "- vqa(" not in planner.system_prompt()
    demos = builtin_store().records()
    uses_vqa = [d for d in demos if any(s["tool"] == "vqa" for s in d.plan["steps"])]
    assert uses_vqa and not any(planner.shows_demo(d) for d in uses_vqa)
    assert LLMPlanner(model, REG).shows_demo(uses_vqa[0])
    # a vqa demo handed over anyway is not shown
    with pytest.raises(PlanValidationError, match="not available here: vqa"):
        planner.plan("What is it?", icl=IclPrompt(demos=tuple(demos), store=builtin_store()))
    assert all("vqa" not in m.text for m in model.requests[0].messages[1:-1])
    assert len(model.requests[0].messages) == 2 + 2 * (len(demos) - len(uses_vqa))


def test_removed_demo_arguments_are_a_clear_error():
    with pytest.raises(TypeError, match="n_demos=...\\) was removed: the planner's demos come"):
        LLMPlanner(ScriptedModel([]), REG, n_demos=3)


def test_text_only_demos_are_question_and_plan_turns():
    store = builtin_store()
    demo = store.get("count-2")
    model = ScriptedModel([json.dumps(GOOD)], sees_images=False)
    LLMPlanner(model, REG).plan("How many red circles?", icl=IclPrompt(demos=(demo,),
                                                                        store=store))
    msgs = model.requests[0].messages
    assert [m.role for m in msgs] == ["system", "user", "assistant", "user"]
    assert msgs[1].text == "Question: How many blue squares are there?"
    assert json.loads(msgs[2].text) == {k: v for k, v in demo.plan.items()
                                        if k in ("intent", "target")} | {
        "steps": [{"tool": s["tool"], "args": s["args"]} for s in demo.plan["steps"]]}
    assert DemoRecord.model_validate({"id": "x", "instruction": "q", "plan": demo.plan})
    with pytest.raises(ValueError, match="a response .* or a plan"):
        DemoRecord.model_validate({"id": "x", "instruction": "q"})
