"""The verify node in the graph, ``VisualAgent.correct`` and LLM-mode correction, on real experts."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import numpy as np
import pytest

from lavr.agents import VisualAgent
from lavr.agents.verify.text import strip_attachments
from lavr.apps.synthetic_scenes import render_scene
from lavr.core_model.errors import InputError
from lavr.core_model.scripted import ScriptedModel
from lavr.planners.roles.rule_refiner import Reply, plain_text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from conftest import requires_shapes  # noqa: E402

pytestmark = requires_shapes


@pytest.fixture(scope="module")
def scene():
    # two circles, a square and a triangle, well apart (the texts below make OCR unnecessary)
    s = render_scene(np.random.default_rng(1), n_objects=4, allow_overlap=False, text="EXIT",
                     background="plain")
    assert sorted(o.shape for o in s.objects) == ["circle", "circle", "square", "triangle"]
    return s


class HallucinatingRefiner:
    """Stands in for an MLLM refiner that invents objects (the node must catch it)."""

    name = "hallucinating"

    def refine(self, plan, evidence, *, artifacts, image_size=None, attempts=None):
        text = "There are four circles and a purple circle. [s1]"
        return Reply(plain_text(text), text, ["s1"])


def agent_like(shared_agent, **kwargs) -> VisualAgent:
    agent = VisualAgent(**kwargs)
    agent.context.experts = shared_agent.context.experts  # models load once per session
    return agent


def verify_record(result) -> dict:
    return next(s for s in result.steps if s.node == "verify")


def test_verify_node_checks_lavrs_answer_and_leaves_a_true_one_alone(scene, shared_agent):
    res = shared_agent.run(scene.image, "How many circles are there?")
    rec = verify_record(res)
    assert rec.summary.startswith("1 claim(s): 1 supported")
    assert [c["verdict"] for c in rec.claims] == ["supported"]
    assert res.answer == "There are two circles."  # plain: no boxes, no citations
    grounded = res.answer_grounded
    assert grounded.startswith("There are two circles at [") and grounded.endswith("[s1, s2]")
    assert rec.original_answer is None and "original_answer" not in rec.to_dict()


def test_verify_node_corrects_a_hallucinated_answer(scene, shared_agent):
    agent = agent_like(shared_agent, style="grounded")
    agent.context.refiner = HallucinatingRefiner()
    res = agent.run(scene.image, "How many circles are there?")
    rec = verify_record(res)
    assert res.answers["plain"] == "There are two circles."  # both styles are corrected
    assert rec.original_answer == "There are four circles and a purple circle. [s1]"
    assert strip_attachments(res.answer) == "There are two circles. [s1]"
    assert re.search(r"circles\(\[0\.\d\d", res.answer)
    assert [c["verdict"] for c in rec.claims] == ["refuted", "refuted"]
    off = agent_like(shared_agent, verify=False, style="grounded")
    off.context.refiner = HallucinatingRefiner()
    res = off.run(scene.image, "How many circles are there?")
    assert res.answer == "There are four circles and a purple circle. [s1]"
    assert verify_record(res).summary == "off"


def test_agent_correct_takes_any_text(scene, shared_agent):
    out = shared_agent.correct(scene.image, "There are six triangles.", policy="keep")
    assert strip_attachments(out.corrected) == "There is one triangle."
    with pytest.raises(InputError, match="policy"):
        shared_agent.correct(scene.image, "A circle.", policy="hide")
    with pytest.raises(InputError, match="needs a model"):
        shared_agent.correct(scene.image, "A circle.", mode="llm")


def _extraction(phrase: str, label: str, count: int) -> str:
    return json.dumps([{"kind": "object", "phrase": phrase, "label": label, "count": count}])


def test_llm_mode_rewrite_is_rechecked(scene, shared_agent):
    text = "There are five circles."
    good = ScriptedModel({"verify_extract": [_extraction("five circles", "circle", 5)],
                          "verify_correct": ["There are two circles."]})
    agent = agent_like(shared_agent, model=good, model_roles=["vqa"])
    out = agent.correct(scene.image, text, mode="llm")
    assert out.mode == "llm" and out.corrected == "There are two circles."
    assert "accepted" in out.notes[0]
    prompt = good.requests_for("verify_correct")[0].text
    assert "[refuted] there are five circles → true: there are two circles" in prompt
    stubborn = ScriptedModel({"verify_extract": [_extraction("five circles", "circle", 5)],
                              "verify_correct": ["There are four circles."] * 2})
    agent = agent_like(shared_agent, model=stubborn, model_roles=["vqa"])
    out = agent.correct(scene.image, text, mode="llm")
    assert strip_attachments(out.corrected) == "There are two circles."
    assert "rule-mode correction" in out.notes[-1]
