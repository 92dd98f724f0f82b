"""One demo mechanism: every controller's demos come from a store through the ``demos`` node.

The default is six demos from the built-in store of text-only plan demos for a model
controller, none for the rules; a compact-prompt model that sees (lavr-mllm) is shown only
demos with images, so by default its prompt is the one it was trained on.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from pydantic import ValidationError

from lavr.agents import VisualAgent
from lavr.core_model.errors import InputError
from lavr.core_model.scripted import ScriptedModel
from lavr.planners.demos.select import DEFAULT_K, DemoSelector, IclOptions
from lavr.planners.demos.store import builtin_store, open_store, packaged_store
from tests.conftest import requires_shapes

pytestmark = requires_shapes

QUESTION = "How many red circles are there?"
IMAGE = np.full((120, 160, 3), 128, np.uint8)
PLAN = {"intent": "count", "target": "red circle", "steps": [
    {"tool": "detect", "args": {"labels": ["circle"]}},
    {"tool": "colour", "args": {"source": "s1"}},
    {"tool": "filter", "args": {"source": "s2", "colour": "red"}},
    {"tool": "count", "args": {"source": "s3"}}]}


def _agent(*, compact: bool = False, **kwargs) -> tuple[VisualAgent, ScriptedModel]:
    model = ScriptedModel({"plan": [json.dumps(PLAN)]}, repeat_last=True)
    model.compact_prompts = compact
    return VisualAgent(model=model, model_roles=["plan"], detector="shapes", verify=False,
                       embedder="hashing", **kwargs), model


def _demo_records(res):
    return [r for r in res.steps if r.node == "demos"]


def test_a_model_controller_gets_six_builtin_demos_by_default_and_icl_changes_k():
    agent, model = _agent()
    res = agent.run(IMAGE, QUESTION)
    sent = model.requests_for("plan")[-1].messages
    assert len(sent) == 2 + 2 * DEFAULT_K  # system, six (question, plan) pairs, question
    builtin_ids = {d.id for d in builtin_store()}
    assert len(res.demos) == DEFAULT_K and {d["id"] for d in res.demos} <= builtin_ids
    # the closest demo sits next to the question (similar-last): a count of coloured shapes
    assert sent[-3].text == "Question: How many blue squares are there?"
    assert len(_demo_records(res)) == 1
    res = agent.run(IMAGE, QUESTION, icl=0)
    assert len(model.requests_for("plan")[-1].messages) == 2 and not _demo_records(res)
    agent.run(IMAGE, QUESTION, icl=2)
    assert len(model.requests_for("plan")[-1].messages) == 2 + 2 * 2


def test_the_rules_get_no_demos_unless_asked():
    agent = VisualAgent(detector="shapes", verify=False, embedder="hashing")
    assert agent.context.reasoning.icl.k == 0
    assert not _demo_records(agent.run(IMAGE, QUESTION))
    asked = _demo_records(agent.run(IMAGE, QUESTION, icl=2))
    assert len(asked) == 1 and "the rule planner does not read demos" in asked[0].summary


def test_a_compact_model_keeps_its_trained_prompt_by_default_and_takes_image_demos():
    agent, model = _agent(compact=True)
    res = agent.run(IMAGE, QUESTION)
    sent = model.requests_for("plan")[-1].messages
    assert len(sent) == 1 and len(sent[0].images) == 1  # the image and the tagged question
    assert sent[0].text.startswith("Plan: ") and not _demo_records(res) and not res.demos
    res = agent.run(IMAGE, QUESTION, icl={"k": 2, "store": "starter"})
    sent = model.requests_for("plan")[-1].messages
    assert len(sent) == 5 and sum(len(m.images) for m in sent) == 3
    assert {d["id"] for d in res.demos} <= {d.id for d in packaged_store()}


def test_k_none_is_gone_with_a_clear_error():
    with pytest.raises(ValidationError, match="None no longer means"):
        IclOptions(k=None)
    agent, _ = _agent()
    with pytest.raises(InputError, match="None no longer means"):
        agent.run(IMAGE, QUESTION, icl={"k": None})
    assert IclOptions().k == DEFAULT_K and IclOptions.coerce(None).k == DEFAULT_K
    assert IclOptions.default_for(reads_demos=False).k == 0


def test_one_selector_serves_text_only_and_image_stores():
    assert open_store(None).root == builtin_store().root
    assert open_store("starter").root == packaged_store().root
    text_only = DemoSelector(builtin_store(), embedder="hashing")
    score, text_sim, image_sim = text_only.similarities(QUESTION, IMAGE)
    assert np.isnan(image_sim).all() and np.allclose(score, text_sim)
    mmr = text_only.select(QUESTION, IMAGE, IclOptions(k=3, strategy="mmr"))
    assert len(mmr) == 3 and all(s.score is not None for s in mmr)
    with_images = DemoSelector(packaged_store(), embedder="hashing")
    score, text_sim, image_sim = with_images.similarities(QUESTION, IMAGE)
    assert not np.isnan(image_sim).any() and not np.allclose(score, text_sim)


def test_a_planner_on_its_own_gets_the_same_demos_as_in_the_agent():
    from lavr.apps.plan_eval import evaluate_planner
    from lavr.planners.reasoning import ReasoningSetup

    agent, model = _agent()
    agent.run(IMAGE, QUESTION)
    in_agent = model.requests_for("plan")[-1].messages
    setup = ReasoningSetup(embedder="hashing", icl=IclOptions.default_for(reads_demos=True))
    report = evaluate_planner(agent.context.planner, [(QUESTION, "count")],
                              agent.context.registry, reasoning=setup)
    assert report.scores[0].valid
    alone = model.requests_for("plan")[-1].messages
    assert [m.text for m in alone] == [m.text for m in in_agent]
    # without a setup: the planner's defaults, six demos
    evaluate_planner(agent.context.planner, [(QUESTION, "count")], agent.context.registry)
    assert len(model.requests_for("plan")[-1].messages) == 2 + 2 * DEFAULT_K


def test_auto_strategy_is_the_stores_choice_overlap_for_the_builtin_demos(tmp_path):
    builtin = DemoSelector(builtin_store(), embedder="hashing")
    assert builtin.strategy(IclOptions()) == "overlap"
    assert DemoSelector(packaged_store()).strategy(IclOptions()) == "similarity"
    assert builtin.strategy(IclOptions(strategy="mmr")) == "mmr"
    # the closest demo (word and word-pair overlap) sits next to the question
    chosen = builtin.select("How many yellow triangles are there?", None, IclOptions(k=3))
    assert [c.demo.instruction for c in chosen][-1] == "How many blue squares are there?"
    assert chosen[-1].score == max(c.score for c in chosen)
    assert np.isnan(chosen[-1].image_sim)  # text-only demos: no image similarity
    relation = builtin.select("Is the green square right of the red circle?", None,
                              IclOptions(k=2))
    assert all(c.demo.parsed_plan().intent == "relation" for c in relation)
    # a store may choose its own default; a bad choice is a clear error
    (tmp_path / "demos.jsonl").write_text(builtin_store().records_path.read_text())
    (tmp_path / "store.json").write_text('{"strategy": "nearest"}')
    from lavr.planners.errors import DemoError

    with pytest.raises(DemoError, match="strategy must be"):
        DemoSelector(open_store(tmp_path)).select(QUESTION, None, IclOptions())


def test_a_question_saved_with_the_old_k_none_resumes_with_the_default_demos():
    """State written before one demo mechanism (``k: None`` = the built-in demos) still loads."""
    agent, _ = _agent()
    reasoning = agent.context.reasoning
    # the old built-in demos ignored the other options (they were chosen by word overlap)
    _, icl = reasoning.for_question({"icl": {"k": None, "strategy": "similarity"}})
    assert icl == reasoning.icl and icl.k == DEFAULT_K and icl.strategy == "auto"
    _, icl = reasoning.for_question({"icl": {"k": 3}})
    assert icl.k == 3


class _Legacy:
    """A full controller written before ``shows_demo`` existed."""

    name = "legacy"
    sees_images = True
    reads_demos = True

    def __init__(self) -> None:
        self.seen: list[tuple[bool, int]] = []

    def plan(self, question, *, image=None, icl=None, attempts=None):
        from lavr.planners.plan import Plan

        self.seen.append((image is not None, len(icl.demos) if icl is not None else -1))
        return Plan.model_validate({**PLAN, "question": question, "steps": [
            {"id": f"s{i + 1}", **s} for i, s in enumerate(PLAN["steps"])]})


def test_a_controller_without_shows_demo_still_sees_the_image_and_its_demos():
    """It is not demoted to a question-only controller (was: no image, no demos)."""
    legacy = _Legacy()
    agent = VisualAgent(planner=legacy, detector="shapes", verify=False, embedder="hashing")
    result = agent.run(IMAGE, QUESTION)
    assert legacy.seen == [(True, DEFAULT_K)], legacy.seen
    assert len(result.plan["steps"]) == 4
