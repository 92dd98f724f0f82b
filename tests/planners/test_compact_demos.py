"""In-context demos for a model trained on the compact prompts (lavr-mllm): each demo is
an earlier (image, instruction) user turn and its reply in the role's trained form."""

from __future__ import annotations

import json

import numpy as np
import pytest

from lavr.apps.eval_mllm import answer_direct
from lavr.core_model.scripted import ScriptedModel
from lavr.planners.demos.prompt import IclPrompt
from lavr.planners.demos.select import DemoSelector, IclOptions
from lavr.planners.demos.store import packaged_store
from lavr.planners.roles import compact
from lavr.planners.roles.llm_planner import LLMPlanner
from lavr.tools.registry import default_registry

QUESTION = "Is the red circle left of the blue square?"
IMAGE = np.zeros((64, 64, 3), np.uint8)


@pytest.fixture(scope="module")
def picked():
    store = packaged_store()
    chosen = DemoSelector(store, embedder="hashing").select(
        QUESTION, IMAGE, IclOptions(k=2, strategy="similarity"))
    assert len(chosen) == 2
    return store, chosen


def test_plan_demos_are_image_turns_with_compact_plan_replies(picked):
    store, chosen = picked
    msgs = compact.plan_messages(QUESTION, IMAGE, demos=chosen, store=store)
    assert [m.role for m in msgs] == ["user", "assistant", "user", "assistant", "user"]
    assert [len(m.images) for m in msgs] == [1, 0, 1, 0, 1]
    assert all(m.text.startswith(compact.PLAN_TAG) for m in msgs[::2])
    for demo, reply in zip(chosen, msgs[1::2], strict=True):
        assert json.loads(reply.text)["intent"] == demo.demo.parsed_plan().intent
    # no demos, or no image (a model that does not see): the prompt is as trained
    assert len(compact.plan_messages(QUESTION, IMAGE)) == 1
    assert len(compact.plan_messages(QUESTION, None, demos=chosen, store=store)) == 1


def test_vqa_demos_reply_in_plain_words(picked):
    store, chosen = picked
    msgs = compact.vqa_messages(QUESTION, IMAGE, demos=chosen, store=store)
    assert len(msgs) == 5 and msgs[-1].text == QUESTION
    for reply in msgs[1::2]:
        assert "[" not in reply.text and "→" not in reply.text


def test_compact_planner_and_direct_answer_show_the_demos(picked):
    store, chosen = picked
    model = ScriptedModel({"plan": ['{"intent":"unknown","steps":[{"tool":"detect",'
                                    '"args":{"labels":["circle"]}}]}'],
                           "vqa": ["Yes."]}, repeat_last=True)
    model.compact_prompts = True
    planner = LLMPlanner(model, registry=default_registry(), retries=0)
    icl = IclPrompt(demos=tuple(c.demo for c in chosen), store=store)
    planner.plan(QUESTION, image=IMAGE, icl=icl)
    sent = model.requests[-1].messages
    assert sum(len(m.images) for m in sent) == 3 and len(sent) == 5
    planner.plan(QUESTION, image=IMAGE, icl=IclPrompt(demos=(), store=store))
    assert len(model.requests[-1].messages) == 1
    assert answer_direct(model, IMAGE, QUESTION, demos=chosen, store=store) == "Yes."
    assert sum(len(m.images) for m in model.requests[-1].messages) == 3
