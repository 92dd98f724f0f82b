"""The fast path (``run`` without a checkpointer) with real experts gives what LangGraph gives."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from lavr.apps.synthetic_scenes import render_scene

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from conftest import requires_shapes  # noqa: E402


def _comparable(result) -> dict:
    """Without timings, artifact ids and cache marks (a second run hits the tool cache)."""
    def clean(rec: dict) -> dict:
        out = {k: v for k, v in rec.items() if k not in ("seconds", "artifact_id", "cached")}
        if isinstance(out.get("summary"), str):
            out["summary"] = out["summary"].removesuffix(" (cached)")
        if isinstance(out.get("steps"), list):  # the verify node's own tool steps
            out["steps"] = [clean(s) for s in out["steps"]]
        return out
    return {"answer": result.answer, "cited": result.cited, "plan": result.plan,
            "steps": [clean(s.to_dict()) for s in result.steps],
            "evidence": [clean(e.to_record()) for e in result.evidence]}


@requires_shapes
@pytest.mark.parametrize("question", [
    "How many red circles are there?",
    "Is there a blue square?",
    "What colour is the triangle?",
    "Is the red circle left of the blue square?",
])
def test_run_matches_the_langgraph_stream_with_verify(shared_agent, question):
    image = render_scene(np.random.default_rng([11, len(question)])).image
    direct = shared_agent.run(image, question)
    graph = list(shared_agent.stream(image, question))[-1]
    assert _comparable(direct) == _comparable(graph)
    assert any(s.node == "verify" for s in direct.steps)


def test_the_plan_is_parsed_once_per_plan_dict():
    """Nodes share one parse of the state's plan dict; another dict (a plan decide
    changed) or another registry gets its own."""
    from lavr.agents.nodes import _parsed_plan
    from lavr.agents.state import AgentContext
    from lavr.tools.registry import default_registry

    ctx = AgentContext(registry=default_registry())
    plan = {"question": "How many circles are there?", "intent": "count",
            "steps": [{"id": "s1", "tool": "detect", "args": {"classes": ["circle"]}},
                      {"id": "s2", "tool": "count", "args": {"source": "s1"}}],
            "answer_step": "s2"}
    first, deps = _parsed_plan({"plan": plan}, ctx)
    assert deps == {"s1": [], "s2": ["s1"]}
    assert _parsed_plan({"plan": plan}, ctx)[0] is first
    changed = {**plan, "steps": plan["steps"][:1], "answer_step": "s1"}
    again, deps = _parsed_plan({"plan": changed}, ctx)
    assert again is not first and [s.id for s in again.steps] == ["s1"] and deps == {"s1": []}
    other = AgentContext(registry=default_registry())
    assert _parsed_plan({"plan": changed}, other)[0] is not again


@requires_shapes
def test_a_run_without_a_checkpointer_does_not_keep_its_raw_image(shared_agent):
    """The raw input is dropped when the run ends (the store held every question's
    pixels before); the normalised image stays, under its content hash, for the result."""
    image = np.ascontiguousarray(
        render_scene(np.random.default_rng([12, 1])).image.transpose(2, 0, 1)).transpose(1, 2, 0)
    store = shared_agent.context.artifacts
    before = {k for k in store._items if k.startswith("raw_")}
    result = shared_agent.run(image, "How many circles are there?")
    assert {k for k in store._items if k.startswith("raw_")} == before
    assert f"img_{result.image_hash}" in store
    assert np.array_equal(result.image, image)


@requires_shapes
def test_a_caller_reusing_its_array_changes_no_stored_image(shared_agent):
    """The caller's own array is copied in: overwriting it after a run leaves the image
    stored under the old content hash as it was (its answers and caches stay true)."""
    buffer = np.ascontiguousarray(render_scene(np.random.default_rng([12, 2])).image)
    original = buffer.copy()
    first = shared_agent.run(buffer, "How many circles are there?")
    buffer[:] = 255  # the caller reuses its buffer for the next frame
    stored = shared_agent.context.artifacts.get(f"img_{first.image_hash}")
    assert np.array_equal(stored, original) and not stored.flags.writeable
    again = shared_agent.run(original, "How many circles are there?")
    assert again.answer == first.answer
