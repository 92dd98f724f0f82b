"""The Python API: typed stream events, async twins, plan review, HTML export.

Scripted planner and tiny in-test tools: no experts, so these run in milliseconds.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import subprocess
import sys
from contextlib import aclosing
from html.parser import HTMLParser

import numpy as np
import pytest
from langgraph.checkpoint.memory import InMemorySaver
from PIL import Image

from lavr.agents import AgentResult, PlanReview, SessionError, StepEvent, VisualAgent
from lavr.agents.visual_agent import _iterate_in_thread
from lavr.core_model.errors import InputError
from lavr.planners.errors import PlanValidationError
from lavr.planners.plan import Plan, Step
from lavr.tools.registry import ToolRegistry
from tests.fake_tools import Count, Find, ScriptedPlanner

PLAN = Plan(question="q", intent="count", target="dot", answer_step="s2",
            steps=[Step(id="s1", tool="find", args={"n": 2}),
                   Step(id="s2", tool="count", args={"source": "s1"})])
IMG = np.full((40, 48, 3), 200, np.uint8)


def make_agent(**kw) -> VisualAgent:
    return VisualAgent(planner=ScriptedPlanner(PLAN), registry=ToolRegistry([Find(), Count()]), **kw)


def test_stream_yields_typed_events_in_graph_order_then_the_result():
    events = list(make_agent().stream(IMG, "How many dots?"))
    *steps, result = events
    assert all(isinstance(e, StepEvent) for e in steps)
    assert isinstance(result, AgentResult)
    nodes = [e.node for e in steps]
    assert nodes[:3] == ["ingest", "plan", "execute"]
    assert nodes[-2:] == ["refine", "verify"]
    first_tool = nodes.index("tool")
    assert nodes.index("decide") > first_tool
    # s1 runs before s2, which needs its detections
    tool_steps = [e.records[0].step for e in steps if e.node == "tool"]
    assert tool_steps == ["s1", "s2"]
    # every record the result holds was streamed, in the same order, once
    assert [r for e in steps for r in e.records] == result.steps
    plan_event = steps[1]
    assert plan_event.update["plan"]["steps"][0]["tool"] == "find"
    s1 = next(e for e in steps if e.node == "tool")
    assert s1.records[0].artifact_id and s1.update["evidence"][0].value == 2
    assert result.answer.startswith("There are two dots")


def test_astream_and_arun_match_the_sync_api():
    agent = make_agent()

    async def collect():
        events = [e async for e in agent.astream(IMG, "How many dots?")]
        return events, await agent.arun(IMG, "How many dots?")

    events, result = asyncio.run(collect())
    sync_nodes = [e.node for e in agent.stream(IMG, "How many dots?") if isinstance(e, StepEvent)]
    assert [e.node for e in events[:-1]] == sync_nodes
    assert isinstance(events[-1], AgentResult)
    assert result.answer == events[-1].answer


def test_astream_raises_input_errors_in_the_consumer():
    async def consume():
        async for _ in make_agent().astream(IMG, "   "):
            pass

    with pytest.raises(InputError, match="question is empty"):
        asyncio.run(consume())


def test_closing_an_async_stream_early_closes_the_sync_iterator():
    closed = []

    def numbers(stop):  # stop: the cancel event the worker's iterator is given
        try:
            yield from range(10_000)
        finally:
            closed.append(True)

    async def first():
        async with aclosing(_iterate_in_thread(numbers)) as items:
            async for item in items:
                return item

    assert asyncio.run(first()) == 0
    assert closed == [True]  # aclose waited for the worker, which closed the generator


def test_review_plan_pauses_after_planning_and_resume_runs_the_edited_plan():
    agent = make_agent(checkpointer=InMemorySaver())
    Find.calls = 0
    events = list(agent.stream(IMG, "How many dots?", thread_id="t1", review_plan=True))
    assert [e.node for e in events[:-1]] == ["ingest", "plan"]
    review = events[-1]
    assert isinstance(review, PlanReview)
    assert review.thread_id == "t1" and review.question == "How many dots?"
    assert [s["id"] for s in review.plan["steps"]] == ["s1", "s2"]
    assert Find.calls == 0  # nothing ran before approval

    edited = json.loads(json.dumps(review.plan))
    edited["steps"][0]["args"]["n"] = 4
    rest = list(agent.resume("t1", plan=json.dumps(edited)))
    result = rest[-1]
    assert isinstance(result, AgentResult)
    assert rest[0].node == "plan" and "edited by the user" in rest[0].records[0].summary
    assert result.answer.startswith("There are four dots")
    assert Find.calls == 1
    assert any("edited by the user" in s.summary for s in result.steps)
    assert [s.node for s in result.steps][:2] == ["ingest", "plan"]


def test_resume_refuses_invalid_plans_and_unpaused_threads():
    agent = make_agent(checkpointer=InMemorySaver())
    review = list(agent.stream(IMG, "How many dots?", thread_id="t1", review_plan=True))[-1]
    bad_tool = {**review.plan, "steps": [{"id": "s1", "tool": "nope", "args": {}}]}
    with pytest.raises(PlanValidationError, match="unknown tool 'nope'"):
        list(agent.resume("t1", plan=bad_tool))
    with pytest.raises(PlanValidationError, match="not valid JSON"):
        list(agent.resume("t1", plan="{steps: oops"))
    with pytest.raises(PlanValidationError, match="steps"):
        list(agent.resume("t1", plan={**review.plan, "steps": "s1"}))
    result = list(agent.resume("t1"))[-1]  # still paused: approve as is
    assert result.answer.startswith("There are two dots")
    with pytest.raises(SessionError, match="no unfinished run to resume"):
        list(agent.resume("t1"))


def test_review_plan_without_a_checkpointer_is_an_input_error():
    with pytest.raises(InputError, match="needs a checkpointer"):
        list(make_agent().stream(IMG, "How many dots?", review_plan=True))


class _Images(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.images: list[dict[str, str | None]] = []
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        d = dict(attrs)
        if tag == "img":
            self.images.append(d)
        for key in ("href", "src"):
            if d.get(key) and not str(d[key]).startswith("data:"):
                self.links.append(str(d[key]))


def test_save_html_is_self_contained_with_the_pictures(tmp_path):
    result = make_agent().run(IMG, "How many <b>dots</b>?")
    path = result.save_html(tmp_path / "out" / "trace.html")
    text = path.read_text(encoding="utf-8")
    parser = _Images()
    parser.feed(text)
    # the answer picture and the picture of step s1 (the only step with detections)
    assert len(parser.images) == 2
    assert parser.links == []  # nothing to fetch: opens offline
    for img in parser.images:
        src = str(img["src"])
        assert src.startswith("data:image/png;base64,")
        pic = Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1])))
        assert pic.size == (48, 40)
        # boxes were drawn: the picture is not the plain grey input
        assert not np.array_equal(np.asarray(pic.convert("RGB")), IMG)
    assert "How many &lt;b&gt;dots&lt;/b&gt;?" in text and "<b>dots</b>" not in text
    assert result.answer.split(" at ")[0] in text
    assert "s1" in text and "find" in text and "count" in text


def test_to_json_carries_history_and_step_detections():
    agent = make_agent(checkpointer=InMemorySaver())
    agent.run(IMG, "How many dots?", thread_id="t")
    result = agent.run(None, "How many dots now?", thread_id="t")
    data = json.loads(result.to_json())
    assert [t["question"] for t in data["history"]] == ["How many dots?"]
    assert list(result.step_detections()) == ["s1"]
    assert len(result.detections) == 2


def test_importing_the_agents_package_does_not_import_gradio_or_torch():
    code = ("import sys, lavr.agents; bad = [m for m in ('gradio', 'torch') if m in sys.modules];"
            " print(bad); sys.exit(1 if bad else 0)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
