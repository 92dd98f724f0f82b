"""Chain-of-thought and in-context demos through the graph, with the real shapes detector."""

from __future__ import annotations

import json

import numpy as np
import pytest

from lavr.agents import VisualAgent
from lavr.apps.evaluate import make_item, score
from lavr.core_model.errors import InputError
from lavr.core_model.scripted import ScriptedModel
from lavr.planners.demos.prompt import plan_reply
from lavr.planners.demos.store import packaged_store
from tests.conftest import requires_shapes

pytestmark = requires_shapes

ITEM, SCENE = make_item(31, "spatial")


@pytest.fixture(scope="module")
def agent() -> VisualAgent:
    return VisualAgent(detector="shapes", verify=False, embedder="hashing")


def test_chain_is_in_the_result_the_trace_and_the_json(agent):
    res = agent.run(SCENE.image, ITEM.question, cot="chain")
    assert score(ITEM, res.answer)
    chain = res.reasoning
    assert chain["kind"] == "chain" and chain["planner"] == "rule"
    plan_ids = [s["id"] for s in res.plan["steps"]]
    assert [s["step_ids"] for s in chain["steps"]] == [[i] for i in plan_ids]
    assert all(s["status"] == "supported" for s in chain["steps"])
    assert chain["conclusion_steps"] == [res.plan["answer_step"]]
    rec = next(r for r in res.steps if r.node == "reason")
    assert rec.reasoning == chain and rec.summary.startswith(
        f"chain: {len(plan_ids)} step(s), {len(plan_ids)} supported")
    assert json.loads(res.to_json())["reasoning"] == chain


def test_tree_is_part_of_the_trace(agent):
    res = agent.run(SCENE.image, ITEM.question, cot="tree")
    tree = res.reasoning
    assert tree["kind"] == "tree" and tree["question"] == ITEM.question
    assert tree["children"][0]["step_ids"] == [res.plan["answer_step"]]
    assert tree["uncertain"] == 0 and tree["aggregate"].startswith("The answer rests on q1")
    rec = next(r for r in res.steps if r.node == "reason")
    assert rec.reasoning["kind"] == "tree"


def test_off_leaves_no_reasoning_and_no_extra_trace(agent):
    res = agent.run(SCENE.image, ITEM.question)
    assert res.reasoning == {} and res.demos == []
    assert not {"reason", "demos"} & {r.node for r in res.steps}


def test_fixed_length_caps_tool_calls_and_chain(agent):
    res = agent.run(SCENE.image, ITEM.question, cot="chain", cot_steps=2)
    assert sum(1 for r in res.steps if r.node == "tool") == 2
    assert len(res.reasoning["steps"]) == 2 and res.reasoning["length"] == "fixed"
    assert res.reasoning["dropped"] == len(res.plan["steps"]) - 2


def test_demos_are_chosen_and_the_rule_planner_says_it_ignores_them(agent):
    res = agent.run(SCENE.image, ITEM.question, icl={"k": 3, "strategy": "similarity"})
    assert len(res.demos) == 3 and all(d["task"] == "spatial" for d in res.demos)
    rec = next(r for r in res.steps if r.node == "demos")
    assert "the rule planner does not read demos" in rec.summary
    again = agent.run(SCENE.image, ITEM.question, icl={"k": 3, "strategy": "similarity"})
    assert [d["id"] for d in again.demos] == [d["id"] for d in res.demos]


def test_bad_options_are_input_errors(agent):
    with pytest.raises(InputError, match="cot"):
        agent.run(SCENE.image, ITEM.question, cot="graph")
    with pytest.raises(InputError):
        agent.run(SCENE.image, ITEM.question, cot="chain", cot_steps=0)
    with pytest.raises(InputError):
        agent.run(SCENE.image, ITEM.question, icl=-1)


def test_model_planner_gets_retrieved_demos_with_images_and_its_sub_questions_shape_the_tree():
    store = packaged_store()
    demo = store.get("spatial-3")
    plan = json.loads(plan_reply(demo))
    plan["steps"][2]["args"]["colour"], plan["steps"][3]["args"]["colour"] = "red", "blue"
    plan["steps"][0]["args"]["labels"] = ["circle", "square"]
    plan["steps"][2]["args"]["label"], plan["steps"][3]["args"]["label"] = "circle", "square"
    plan["reasoning"] = ["s5: Is the red circle left of the blue square?",
                         "Is the image a photograph?"]
    img = np.zeros((200, 300, 3), np.uint8) + 128
    model = ScriptedModel({"plan": [plan], "subquestion": ["unsure"]}, repeat_last=True)
    agent = VisualAgent(model=model, model_roles=["plan", "vqa"], detector="shapes",
                        verify=False, embedder="hashing", demos="starter")
    res = agent.run(img, "Is the red circle left of the blue square?", cot="tree", icl=2)
    req = model.requests_for("plan")[0]
    assert len(req.images) == 3  # two demo images and the question's image
    assert req.messages[0].text.rstrip().endswith("when no tool can answer it.")
    tree = res.reasoning
    assert tree["children"][0]["question"] == "Is the red circle left of the blue square?"
    # the detector finds nothing on a grey image: the model was asked and was unsure
    assert tree["children"][0]["source"] == "uncertain"
    assert tree["children"][-1]["question"] == "Is the image a photograph?"
    assert model.requests_for("subquestion")


def test_fixed_length_that_stops_before_the_answer_says_so(agent):
    res = agent.run(SCENE.image, ITEM.question, cot="tree", cot_steps=1)
    assert res.answer == ("I could not answer: the step budget ran out before the answer step "
                          "could run.")
    assert not score(ITEM, res.answer)
