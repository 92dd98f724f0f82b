"""In-context prompts as each kind of backend receives them."""

from __future__ import annotations

import json

import numpy as np
import pytest

from lavr.apps.synthetic_scenes import render_scene
from lavr.core_model.hf import plain_transcript
from lavr.core_model.messages import ImagePart, TextPart
from lavr.core_model.model import GenerationOptions
from lavr.core_model.openai_compat import OpenAICompatibleModel
from lavr.core_model.scripted import ScriptedModel
from lavr.core_model.structured import parse_structured
from lavr.planners.demos.prompt import IclPrompt, icl_messages, plan_reply
from lavr.planners.demos.store import packaged_store
from lavr.planners.plan import plan_problems
from lavr.planners.roles.llm_planner import LLMPlanner, PlanDraft, draft_to_plan
from lavr.tools.registry import default_registry

STORE = packaged_store()
DEMOS = [STORE.get("count-1"), STORE.get("spatial-2"), STORE.get("read-3")]
IMG = render_scene(np.random.default_rng(0), background="plain").image
Q = "How many red circles are there?"


def test_chat_layout_for_models_that_see():
    msgs = icl_messages(DEMOS, STORE, Q, IMG, system="be brief")
    assert [m.role for m in msgs] == ["system"] + ["user", "assistant"] * 3 + ["user"]
    for demo, user, reply in zip(DEMOS, msgs[1::2], msgs[2::2], strict=False):
        assert isinstance(user.parts[0], ImagePart)  # image first, then the instruction
        assert np.array_equal(user.parts[0].image, STORE.images(demo)[0])
        assert user.text == demo.instruction and reply.text == demo.response
    last = msgs[-1]
    assert last.images[0] is IMG and last.text == Q


def test_instruction_layout_interleaves_images_in_one_turn():
    msgs = icl_messages(DEMOS, STORE, Q, IMG, layout="instruction")
    assert len(msgs) == 1 and msgs[0].role == "user"
    parts = msgs[0].parts
    kinds = ["I" if isinstance(p, ImagePart) else "T" for p in parts]
    assert kinds == ["T", "I", "T"] * 3 + ["T", "I", "T"]
    first = [p.text for p in parts[:3] if isinstance(p, TextPart)]
    assert first[0] == f"### Instruction:\n{DEMOS[0].instruction}\n### Image:"
    assert first[1] == f"### Response:\n{DEMOS[0].response}\n"
    assert parts[-1].text == "### Response:" and parts[-2].image is IMG


@pytest.mark.parametrize("layout", ["chat", "instruction"])
def test_text_only_models_get_expert_summaries_instead_of_images(layout):
    msgs = icl_messages(DEMOS, STORE, Q, IMG, layout=layout, sees_images=False)
    assert sum(len(m.images) for m in msgs) == 0
    text = "\n".join(m.text for m in msgs)
    for d in DEMOS:
        assert f"(described by the vision experts) {d.image_summary}" in text
    assert "(not shown to you; the vision tools will look at it)" in text
    summary = icl_messages(DEMOS, STORE, Q, IMG, sees_images=False, query_summary="2 circles")
    assert summary[-1].text.startswith("(described by the vision experts) 2 circles")


def test_plan_replies_parse_and_validate_and_carry_rationale_when_asked():
    registry = default_registry()
    for demo in STORE.records():
        reply = plan_reply(demo)
        plan = draft_to_plan(parse_structured(reply, PlanDraft), demo.instruction, planner="x")
        assert plan_problems(plan, registry) == []
        assert [s.tool for s in plan.steps] == [s.tool for s in demo.parsed_plan().steps]
        assert "reasoning" not in json.loads(reply)
        with_r = json.loads(plan_reply(demo, reasoning=True))
        assert with_r["reasoning"] == demo.rationale
        assert list(with_r).index("reasoning") < list(with_r).index("steps")  # reason first
    few = icl_messages(DEMOS, STORE, Q, IMG, response="answer", rationale=True)
    assert few[1].role == "assistant" and few[1].text.startswith("Reasoning:\n1. ")
    assert few[1].text.endswith("\nAnswer: " + DEMOS[0].response)


def test_openai_compatible_wire_format():
    msgs = icl_messages(DEMOS[:2], STORE, Q, IMG, system="sys")
    body = OpenAICompatibleModel("m", "http://localhost:9/v1").payload(msgs, GenerationOptions())
    roles = [m["role"] for m in body["messages"]]
    assert roles == ["system", "user", "assistant", "user", "assistant", "user"]
    demo_turn = body["messages"][1]["content"]
    assert demo_turn[0]["type"] == "image_url" and demo_turn[0]["image_url"]["url"].startswith(
        "data:image/png;base64,")
    assert demo_turn[1] == {"type": "text", "text": DEMOS[0].instruction}
    assert body["messages"][2]["content"] == DEMOS[0].response  # replies stay plain text


def test_plain_transcript_for_models_without_a_chat_template():
    msgs = icl_messages(DEMOS[:1], STORE, Q, IMG, sees_images=False, system="sys")
    text = plain_transcript(msgs)
    assert text.startswith("sys\n") and text.endswith("Assistant:")
    assert DEMOS[0].image_summary in text and DEMOS[0].response in text


@pytest.mark.parametrize("sees", [True, False])
def test_llm_planner_puts_retrieved_demos_and_cot_instructions_in_its_prompt(sees):
    reply = plan_reply(STORE.get("count-6"), reasoning=True)
    model = ScriptedModel({"plan": [reply]}, sees_images=sees)
    planner = LLMPlanner(model, default_registry())
    icl = IclPrompt(demos=tuple(DEMOS), store=STORE, rationale=True,
                    cot_instructions="Think step by step.")
    plan = planner.plan(Q, image=IMG if sees else None, icl=icl)
    assert plan.reasoning == STORE.get("count-6").rationale
    req = model.requests_for("plan")[0]
    assert req.messages[0].role == "system" and req.messages[0].text.endswith(
        "Think step by step.")
    assert len(req.messages) == 2 + 2 * len(DEMOS)
    assert len(req.images) == (len(DEMOS) + 1 if sees else 0)
    assert json.loads(req.messages[2].text)["reasoning"] == DEMOS[0].rationale
    assert req.messages[-1].text.endswith(f"Question: {Q}")
    # no demos at all (zero-shot), given as no IclPrompt or an empty one
    for icl in (IclPrompt(demos=()), None):
        zero = ScriptedModel({"plan": [reply]}, sees_images=sees)
        LLMPlanner(zero, default_registry()).plan(Q, icl=icl)
        assert [m.role for m in zero.requests[0].messages] == ["system", "user"]
