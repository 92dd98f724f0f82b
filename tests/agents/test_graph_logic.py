"""Graph logic with scripted planners and tiny in-test tools (no experts)."""

from __future__ import annotations

import threading
import time

import numpy as np

from lavr.agents import VisualAgent
from lavr.agents.graph import mermaid
from lavr.planners.plan import Plan, Step
from lavr.tools.base import ToolContext, ToolResult
from lavr.tools.registry import ToolRegistry
from tests import fake_tools
from tests.fake_tools import Boom, Count, ScriptedPlanner


class Find(fake_tools.Find):
    """``fake_tools.Find`` that also tracks how many calls run at once."""

    active = 0
    max_active = 0
    lock = threading.Lock()
    #: When set, every call waits here for the others (parallel branches meet; on a
    #: loaded machine a fixed sleep may end before the other branch starts).
    barrier: threading.Barrier | None = None

    def run(self, args: fake_tools.FindArgs, ctx: ToolContext) -> ToolResult:
        with Find.lock:
            Find.active += 1
            Find.max_active = max(Find.max_active, Find.active)
        if Find.barrier is not None:
            Find.barrier.wait()  # raises (the step fails) if the other branch never comes
        else:
            time.sleep(0.05)
        with Find.lock:
            Find.active -= 1
        return super().run(args, ctx)


IMG = np.full((32, 32, 3), 128, np.uint8)


def _agent(plan: Plan, **kw) -> VisualAgent:
    reg = ToolRegistry([Find(), Count(), Boom()])
    return VisualAgent(planner=ScriptedPlanner(plan), registry=reg, **kw)


def _plan(steps: list[Step], answer: str | None = None) -> Plan:
    return Plan(question="q", intent="count", steps=steps, answer_step=answer, target="dot")


def test_independent_steps_fan_out_in_parallel_and_dependents_follow():
    Find.calls = Find.max_active = 0
    Find.barrier = threading.Barrier(2, timeout=30)
    plan = _plan([Step(id="s1", tool="find", args={"n": 2}), Step(id="s2", tool="find", args={"n": 3}),
                  Step(id="s3", tool="count", args={"source": "s2"})], "s3")
    try:
        res = _agent(plan).run(IMG, "how many dots?")
    finally:
        Find.barrier = None
    assert Find.calls == 2
    assert Find.max_active == 2  # both find steps were in flight together
    ev = {e.step_id: e for e in res.evidence}
    assert ev["s3"].value == 3
    assert res.answer.startswith("There are three dots")
    assert "[s2, s3]" in res.answer_grounded and "[s" not in res.answer
    nodes = [s.node for s in res.steps]
    assert nodes[:2] == ["ingest", "plan"] and nodes[-2:] == ["refine", "verify"]
    for rec in res.steps:
        assert set(rec.to_dict()) >= {"node", "tool", "args", "summary", "seconds", "error"}


def test_budget_is_honoured():
    plan = _plan([Step(id=f"s{i}", tool="find", args={"n": i}) for i in range(1, 6)], "s1")
    res = _agent(plan, max_steps=2).run(IMG, "how many dots?")
    ran = [e for e in res.evidence if not e.skipped]
    assert len(ran) == 2
    assert sum(1 for e in res.evidence if e.error == "skipped: step budget spent") == 3
    assert "budget ran out" in res.answer


def test_tool_error_is_evidence_and_dependents_are_skipped():
    plan = _plan([Step(id="s1", tool="boom"), Step(id="s2", tool="count", args={"source": "s1"}),
                  Step(id="s3", tool="count", args={"source": "s2"})], "s3")
    res = _agent(plan).run(IMG, "how many dots?")
    ev = {e.step_id: e for e in res.evidence}
    assert "the expert is unhappy" in ev["s1"].error
    assert ev["s2"].skipped and ev["s3"].skipped
    assert "could not gather the evidence" in res.answer_grounded and "unhappy" in res.answer
    assert res.answer == "I could not answer that: the expert is unhappy."


def test_invalid_plan_falls_back_to_rule_planner_visibly():
    bad = _plan([Step(id="s1", tool="nope")], "s1")
    res = _agent(bad).run(IMG, "how many dots?")
    plan_recs = [s for s in res.steps if s.node == "plan"]
    assert any("falling back to the rule planner" in s.summary and "unknown tool 'nope'" in s.error
               for s in plan_recs)
    assert res.plan["planner"] == "rule"
    # this registry lacks the rule planner's tools: the failure is reported, not raised
    assert res.answer


def test_cache_hit_on_repeat_question():
    plan = _plan([Step(id="s1", tool="find", args={"n": 2}),
                  Step(id="s2", tool="count", args={"source": "s1"})], "s2")
    agent = _agent(plan, answer_cache=False)  # the graph runs again; tools hit the cache
    Find.calls = 0
    agent.run(IMG, "how many dots?")
    res = agent.run(IMG, "how many dots?")
    assert Find.calls == 1
    assert any(s.cached for s in res.steps if s.node == "tool")
    assert res.evidence[-1].value == 2 or any(e.value == 2 for e in res.evidence)


def test_repeat_question_is_answered_from_the_answer_cache():
    plan = _plan([Step(id="s1", tool="find", args={"n": 2}),
                  Step(id="s2", tool="count", args={"source": "s1"})], "s2")
    agent = _agent(plan)
    Find.calls = 0
    first = agent.run(IMG, "how many dots?")
    again = agent.run(IMG.copy(), "  how many   dots? ")  # same pixels, same cleaned question
    assert Find.calls == 1
    assert again.answer == first.answer and again.evidence == first.evidence
    assert again.steps[:-1] == first.steps and again.steps[-1].node == "cache"
    assert len(again.detections) == len(first.detections) == 2  # its detections travel with it
    other = agent.run(IMG, "how many dots?", max_steps=3)  # other options: the graph runs
    assert other.steps[-1].node != "cache"
    forked = agent.fork().run(IMG, "how many dots?")  # forks share the cache
    assert forked.steps[-1].node == "cache" and Find.calls == 1


def test_stream_yields_events_in_order_then_result():
    plan = _plan([Step(id="s1", tool="find"), Step(id="s2", tool="count", args={"source": "s1"})], "s2")
    events = list(_agent(plan).stream(IMG, "how many dots?"))
    nodes = [e.node for e in events[:-1]]
    assert nodes[0] == "ingest" and nodes[1] == "plan"
    assert nodes.index("decide") > nodes.index("tool")
    assert nodes[-2:] == ["refine", "verify"]
    assert events[-1].answer.startswith("There are two dots")


def test_mermaid_drawing_has_every_node():
    text = mermaid()
    for node in ("ingest", "plan", "execute", "tool", "decide", "refine", "verify"):
        assert node in text


def _comparable(result) -> dict:
    """A result without timings and artifact ids (they differ between any two runs)."""
    def clean(rec: dict) -> dict:
        return {k: v for k, v in rec.items() if k not in ("seconds", "artifact_id")}
    return {"answer": result.answer, "cited": result.cited, "plan": result.plan,
            "steps": [clean(s.to_dict()) for s in result.steps],
            "evidence": [clean(e.to_record()) for e in result.evidence]}


def test_direct_run_matches_the_langgraph_run_step_for_step():
    plans = [
        _plan([Step(id="s1", tool="find", args={"n": 2}), Step(id="s2", tool="find", args={"n": 3}),
               Step(id="s3", tool="count", args={"source": "s2"})], "s3"),  # fan-out, then a join
        _plan([Step(id="s1", tool="boom"), Step(id="s2", tool="count", args={"source": "s1"}),
               Step(id="s3", tool="find", args={"n": 1})], "s3"),  # a failure skips its dependant
        _plan([Step(id=f"s{i}", tool="find", args={"n": i}) for i in range(1, 6)], "s5"),
    ]
    for plan in plans:
        for budget in (None, 2):
            direct = _agent(plan).run(IMG, "how many dots?", max_steps=budget)
            graph = [e for e in _agent(plan).stream(IMG, "how many dots?", max_steps=budget)][-1]
            assert _comparable(direct) == _comparable(graph)
