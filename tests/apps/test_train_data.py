"""Role data from the agent's own successful runs, and the compact prompts that a
trained model receives: a record's prompt is exactly what the role sends later."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from lavr.apps.train_data import KINDS, PHRASINGS, build, caption, phrase, vqa_answer
from lavr.core_model.training import read_records

pytestmark = pytest.mark.slow  # runs the rule agent with the shapes detector


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    out = tmp_path_factory.mktemp("role_data")
    counts = build(out, n=5, kinds=KINDS, progress=False)
    return out, counts, [json.loads(line) for line in
                         (out / "records.jsonl").read_text().splitlines()]


def test_records_are_valid_training_data_from_checked_runs(data):
    out, counts, records = data
    assert counts["scenes"] == 5 and counts["caption"] == 5
    assert counts["kept"] >= 3
    for role in ("plan", "decide", "refine", "vqa"):
        assert counts[role] == counts["kept"]
    assert len(read_records(out / "records.jsonl")) == len(records)
    from lavr.apps.evaluate import Item, score

    for r in records:
        if r["role"] in ("vqa", "refine"):
            item = Item(r["qtype"], r["question"], r["answer"], r["seed"])
            assert score(item, r["messages"][-1]["content"]), r


def test_a_model_replying_with_the_records_runs_the_agent_to_the_right_answer(data):
    """Train/use consistency: the roles send the records' prompts to a compact model."""
    from lavr.agents import VisualAgent
    from lavr.apps.evaluate import Item, score
    from lavr.core_model.scripted import ScriptedModel

    out, _, records = data
    plan = next(r for r in records if r["role"] == "plan")
    mine = {r["role"]: r for r in records if r["seed"] == plan["seed"]}
    model = ScriptedModel({role: [mine[role]["messages"][-1]["content"]]
                           for role in ("plan", "decide", "refine")}, repeat_last=True)
    model.compact_prompts = True
    agent = VisualAgent(detector="shapes", verify=False, model=model,
                        model_roles="plan,decide,refine")
    image = np.asarray(Image.open(out / plan["images"][0]).convert("RGB"))
    result = agent.run(image, plan["question"])
    assert result.plan["planner"] == model.name
    assert score(Item(plan["qtype"], plan["question"], plan["answer"], 0), result.answer)
    for role in ("plan", "decide", "refine"):
        sent = model.requests_for(role)[0]
        wanted = [p["text"] for m in mine[role]["messages"][:-1] for p in m["content"]
                  if p["type"] == "text"]
        assert [m.text for m in sent.messages] == wanted
    assert len(model.requests_for("plan")[0].images) == 1


def test_phrasings_split_and_answers():
    assert phrase("count", "How many red circles are there?", 1) == "Count the red circles."
    held = {phrase("count", "How many red circles are there?", j, split="heldout")
            for j in range(4)}
    train = {phrase("count", "How many red circles are there?", j) for j in range(10)}
    assert held and not held & train
    for _, tr, ho in PHRASINGS.values():
        assert not set(tr) & set(ho)
    assert vqa_answer("colour", "red") == "It is red."
    assert vqa_answer("read", "EXIT") == 'It says "EXIT".'

    from lavr.apps.synthetic_scenes import render_scene

    scene = render_scene(np.random.default_rng(3), text="STOP")
    text = caption(scene)
    assert text.startswith(f"{len(scene.objects)} shape") and '"STOP"' in text
