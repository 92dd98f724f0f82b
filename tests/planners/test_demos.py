"""The demo store: the shipped starter bank (every demo validated) and store operations."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from lavr.apps.evaluate import make_item, score
from lavr.apps.synthetic_scenes import render_scene
from lavr.core_model.images import image_hash
from lavr.planners.demos.store import (
    DemoRecord,
    DemoStore,
    demo_from_trace,
    packaged_store,
    trace_problems,
)
from lavr.planners.errors import DemoError
from lavr.planners.plan import Plan
from lavr.planners.roles.rule_planner import classify, find_mentions

BANK = packaged_store()
INTENT = {"count": "count", "exists": "exists", "colour": "colour", "spatial": "relation",
          "read": "read"}


def test_starter_bank_checks_clean_and_is_balanced():
    assert BANK.check() == []
    tasks = [d.task for d in BANK.records()]
    assert len(tasks) >= 40
    assert {t: tasks.count(t) for t in set(tasks)} == {t: 8 for t in INTENT}


@pytest.mark.parametrize("demo", BANK.records(), ids=lambda d: d.id)
def test_starter_demo_is_a_right_answer_on_its_own_scene(demo: DemoRecord):
    m = re.fullmatch(r"synthetic seed=(\d+) qtype=(\w+)", demo.source)
    assert m, demo.source
    item, scene = make_item(int(m.group(1)), m.group(2))
    # the image is exactly the generated scene, and the answer is right for it
    assert image_hash(BANK.images(demo)[0]) == image_hash(scene.image) == demo.image_hashes[0]
    assert score(item, demo.response), (demo.instruction, demo.response, item.answer)
    plan = demo.parsed_plan()
    assert plan is not None and plan.intent == INTENT[demo.task] == demo.task.replace(
        "spatial", "relation")
    assert classify(demo.instruction, find_mentions(demo.instruction))[0] == plan.intent
    ids = {s.id for s in plan.steps}
    assert demo.rationale and all(line.split(":")[0] in ids for line in demo.rationale)
    assert demo.image_summary  # what text-only models see instead of the image


def _scene(seed: int = 0) -> np.ndarray:
    return render_scene(np.random.default_rng(seed), background="plain").image


def _trace(img: np.ndarray, **over) -> dict:
    plan = Plan(question="How many circles are there?", intent="count", answer_step="s2",
                steps=[{"id": "s1", "tool": "detect", "args": {"labels": ["circle"]}},
                       {"id": "s2", "tool": "count", "args": {"source": "s1"}}],
                reasoning=["s1: find circles", "s2: count them"])
    trace = {"question": plan.question, "answer": "There are two circles. [s1, s2]",
             "plan": plan.model_dump(mode="json"), "image": {"hash": image_hash(img)},
             "evidence": [{"step_id": "s1", "tool": "detect", "summary": "2 circles"},
                          {"step_id": "s2", "tool": "count", "summary": "count: 2"}],
             "steps": [{"node": "plan", "error": None}]}
    trace.update(over)
    return trace


def test_add_list_check_round_trip(tmp_path):
    store = DemoStore(tmp_path / "bank")
    img = _scene(1)
    rec = store.add(demo_from_trace(_trace(img), [img], demo_id="c-1", source="t.json"), [img])
    assert rec.images == ["images/c-1.png"] and (store.root / rec.images[0]).is_file()
    assert rec.rationale == ["s1: find circles", "s2: count them"]
    assert rec.image_summary == "2 circles; count: 2" and rec.task == "count"
    again = DemoStore(tmp_path / "bank")  # a fresh reader sees it
    assert [r.id for r in again.records()] == ["c-1"]
    assert np.array_equal(again.images(again.get("c-1"))[0], img)
    assert again.check() == []
    with pytest.raises(DemoError, match="already"):
        again.add(rec, [img])
    assert again.next_id("c") == "c-2"


def test_check_reports_every_problem(tmp_path):
    store = DemoStore(tmp_path)
    img = _scene(2)
    store.add(demo_from_trace(_trace(img), [img], demo_id="ok"), [img])
    store.add(demo_from_trace(_trace(img), [img], demo_id="swapped"), [img])
    (tmp_path / "images" / "swapped.png").write_bytes((tmp_path / "images" / "ok.png")
                                                      .read_bytes()[:50])
    bad_plan = json.loads(store.get("ok").model_dump_json())
    bad_plan.update(id="badplan", plan={**bad_plan["plan"], "steps": [
        {"id": "s1", "tool": "teleport", "args": {}}], "answer_step": "s1"})
    with store.records_path.open("a") as fh:
        fh.write(json.dumps(bad_plan) + "\n")
        fh.write("{not json\n")
        fh.write(json.dumps({"id": "ok", "images": ["images/ok.png"], "instruction": "q",
                             "response": "a"}) + "\n")
        fh.write(json.dumps({"id": "noimg", "images": ["images/missing.png"],
                             "instruction": "q", "response": "a"}) + "\n")
    problems = [str(p) for p in DemoStore(tmp_path).check()]
    text = "\n".join(problems)
    assert "swapped: image images/swapped.png" in text
    assert "badplan: plan: step s1: unknown tool 'teleport'" in text
    assert "line 4: not valid JSON" in text
    assert "ok: id used twice" in text
    assert "noimg: image images/missing.png is missing" in text
    assert not any(p.startswith("ok: image") for p in problems)
    with pytest.raises(DemoError, match="not valid JSON"):
        DemoStore(tmp_path).records()


def test_only_successful_runs_on_the_right_image_become_demos():
    img = _scene(3)
    assert trace_problems(_trace(img)) == []
    failed = _trace(img, answer="", evidence=[{"step_id": "s2", "tool": "count", "error": "x"}])
    probs = trace_problems(failed)
    assert "the answer is empty" in probs and any("s2 failed" in p for p in probs)
    with pytest.raises(DemoError, match="not a successful run"):
        demo_from_trace(failed, [img], demo_id="x")
    with pytest.raises(DemoError, match="response"):
        demo_from_trace(failed, [img], demo_id="x", force=True)  # forced, but no answer at all
    unsure = _trace(img, evidence=[{"step_id": "s2", "tool": "count", "error": "x"}])
    assert demo_from_trace(unsure, [img], demo_id="x", force=True).id == "x"
    with pytest.raises(DemoError, match="not the one the trace"):
        demo_from_trace(_trace(img), [_scene(4)], demo_id="x")
    with pytest.raises(DemoError, match="lavr ask --json"):
        demo_from_trace({"question": "q"}, [img], demo_id="x")


def test_trace_problems_reports_a_step_without_a_node():
    img = np.zeros((8, 8, 3), np.uint8)
    broken = {**_trace(img), "steps": [{"tool": "detect", "summary": "x"}]}
    assert any("needs a 'node'" in p for p in trace_problems(broken))


def test_missing_store_is_a_clear_error(tmp_path):
    with pytest.raises(DemoError, match="no demos.jsonl"):
        DemoStore(tmp_path / "nowhere").records()
    assert "no demos.jsonl" in str(DemoStore(tmp_path / "nowhere").check()[0])


@pytest.mark.parametrize("where", ["parent", "absolute", "link"])
def test_demo_images_outside_the_store_are_refused_at_use(tmp_path, where):
    """A demo naming an image outside its store is refused when used, not only by ``check``."""
    from PIL import Image

    secret = tmp_path / "secret.png"
    Image.fromarray(_scene(3)).save(secret)
    store = DemoStore(tmp_path / "bank")
    img = _scene(4)
    rec = store.add(demo_from_trace(_trace(img), [img], demo_id="d-1"), [img])
    rel = {"parent": "../secret.png", "absolute": str(secret), "link": "images/link.png"}[where]
    if where == "link":
        (store.root / "images" / "link.png").symlink_to(secret)
    data = json.loads(rec.model_dump_json()) | {"images": [rel]}
    store.records_path.write_text(json.dumps(data) + "\n")
    fresh = DemoStore(store.root)
    with pytest.raises(DemoError, match="inside the store"):
        fresh.images(fresh.get("d-1"))
    assert any("inside the store" in str(p) for p in fresh.check())
