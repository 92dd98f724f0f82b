"""Cancellation that really stops the worker (issue 15).

A tool step still running when the run's deadline passes, or when the run is
stopped, is no longer waited for: the graph writes the answer from the evidence so
far, on time, with a clear message; the step's worker sees the same deadline, so a
tool that checks it cooperatively (as lavr's segment, detect and batching loops do)
stops soon after. The slow tools here block on an event that is only released when
the test ends, so without the mechanism each run would take the tool's full 30 s.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import numpy as np
import pytest

from lavr.agents import VisualAgent
from lavr.core_model import deadline
from lavr.core_model.errors import DeadlineError, RunStoppedError
from lavr.core_model.messages import Message
from lavr.core_model.openai_compat import OpenAICompatibleModel
from lavr.planners.plan import Plan, Step
from lavr.tools.base import Tool, ToolArgs, ToolContext, ToolResult
from lavr.tools.batching import MicroBatcher
from lavr.tools.registry import ToolRegistry
from lavr.tools.segment import GrabCutSegmenter
from tests.core_model.http_server import Reply, Server, chat

IMAGE = np.zeros((16, 16, 3), np.uint8)
#: How long a slow tool would block without the mechanism.
BLOCK = 30.0


class SlowArgs(ToolArgs):
    rounds: int = 3000


class Slow(Tool):
    """Works in many small rounds; ``cooperative`` checks the deadline between them."""

    name = "slow"
    description = "a deliberately slow tool"
    Args = SlowArgs
    cacheable = False

    def __init__(self, *, cooperative: bool) -> None:
        self.cooperative = cooperative
        self.started = threading.Event()
        self.ended = threading.Event()
        self.release = threading.Event()  # set by the test when it is over
        self.rounds_done = 0
        self.error: BaseException | None = None

    def run(self, args: SlowArgs, ctx: ToolContext) -> ToolResult:
        self.started.set()
        t_end = time.monotonic() + BLOCK
        try:
            for _ in range(args.rounds):
                if self.cooperative:
                    deadline.check()
                if self.release.wait(0.01) or time.monotonic() > t_end:
                    break
                self.rounds_done += 1
            return ToolResult(summary=f"did {self.rounds_done} rounds")
        except BaseException as exc:
            self.error = exc
            raise
        finally:
            self.ended.set()


class OneSlowStep:
    name = "scripted"

    def plan(self, question: str) -> Plan:
        return Plan(question=question, steps=[Step(id="s1", tool="slow", args={})],
                    answer_step="s1")


@pytest.fixture
def slow():
    tools: list[Slow] = []

    def make(*, cooperative: bool = True) -> Slow:
        tools.append(Slow(cooperative=cooperative))
        return tools[-1]

    yield make
    for tool in tools:
        tool.release.set()


def _agent(tool: Slow, seconds: float = 600.0, **kw: Any) -> VisualAgent:
    return VisualAgent(verify=False, planner=OneSlowStep(), registry=ToolRegistry([tool]),
                       deadline=seconds, **kw)


def _step_error(result) -> str:
    (rec,) = [e for e in result.evidence if e.step_id == "s1"]
    return rec.error or ""


@pytest.mark.parametrize("cooperative", [True, False])
def test_a_step_past_the_deadline_ends_the_run_on_time(slow, cooperative):
    tool = slow(cooperative=cooperative)
    t0 = time.monotonic()
    result = _agent(tool, 1.0).run(IMAGE, "how slow?")
    took = time.monotonic() - t0
    assert took < 1.0 + 5.0, took  # the graph did not wait for the step (it blocks 30 s)
    error = _step_error(result)
    assert error.startswith("stopped: the run's deadline passed (1 s) while slow was running")
    assert any("deadline" in line for line in result.fallbacks)
    assert result.answer  # an answer from the evidence so far
    if cooperative:  # the worker saw the same deadline and stopped by itself
        assert tool.ended.wait(5.0)
        assert isinstance(tool.error, DeadlineError)
    else:  # nothing can stop it, but its late result is not used
        assert not tool.ended.is_set()


def test_stop_cancels_a_step_in_progress_and_its_worker(slow):
    tool = slow()
    cancel = threading.Event()
    agent = _agent(tool)
    events: list[Any] = []

    def consume() -> None:
        events.extend(agent.stream(IMAGE, "how slow?", cancel=cancel))

    reader = threading.Thread(target=consume, daemon=True)
    reader.start()
    assert tool.started.wait(30.0)
    t0 = time.monotonic()
    cancel.set()  # Stop, from another thread
    reader.join(10.0)
    assert not reader.is_alive()
    assert time.monotonic() - t0 < 10.0
    assert tool.ended.wait(5.0) and isinstance(tool.error, RunStoppedError)
    result = events[-1]
    assert _step_error(result).startswith("stopped: the run was stopped while slow was "
                                             "running")
    assert any("the run was stopped" in line for line in result.fallbacks)


def test_leaving_an_async_stream_early_stops_the_step_in_progress(slow):
    import asyncio
    from contextlib import aclosing

    tool = slow()
    agent = _agent(tool)

    async def leave_at_plan() -> None:
        async with aclosing(agent.astream(IMAGE, "how slow?")) as events:
            async for event in events:
                if getattr(event, "node", "") == "plan":
                    await asyncio.to_thread(tool.started.wait, 30.0)
                    return  # aclose: the run is cancelled, the worker stops

    t0 = time.monotonic()
    asyncio.run(leave_at_plan())
    assert time.monotonic() - t0 < 15.0
    assert tool.ended.wait(5.0) and isinstance(tool.error, RunStoppedError)


def test_lavr_loops_check_the_deadline_cooperatively():
    # segment: one check per prompt, so a long prompt list ends at Stop
    stop = threading.Event()
    stop.set()
    image = np.zeros((32, 32, 3), np.uint8)
    with deadline.deadline_scope(None, cancel=stop), pytest.raises(RunStoppedError):
        GrabCutSegmenter().segment(image, "h", boxes=[[2, 2, 20, 20]] * 10, points=[])
    # batching: a caller waiting for a busy batcher gives up at its deadline
    gate = threading.Event()
    batcher = MicroBatcher(lambda items: (gate.wait(30.0), items)[1], max_size=4, max_wait_s=0)
    leader = threading.Thread(target=batcher, args=(1,), daemon=True)
    leader.start()
    while batcher._running < batcher.lanes:  # the leader holds the only lane (blocked on the gate)
        gate.wait(0.01)
    t0 = time.monotonic()
    with deadline.deadline_scope(0.3), pytest.raises(DeadlineError):
        batcher(2)
    assert time.monotonic() - t0 < 5.0
    gate.set()
    leader.join(5.0)


def test_a_model_call_in_flight_is_cancelled_and_its_connection_closed():
    server = Server()
    arrived = threading.Event()

    def respond(body: dict[str, Any]) -> Reply:
        arrived.set()
        return Reply(body=chat("x" * 400), trickle=0.2)  # 80 s to trickle out

    server.responder = respond
    model = OpenAICompatibleModel("m", server.url, api_key="sk-test", backoff=0.0,
                                  timeout=60.0, max_retries=3)
    stop = threading.Event()
    box: dict[str, Any] = {}
    before = {t for t in threading.enumerate() if t.name == "lavr-http"}

    def call() -> None:
        with deadline.deadline_scope(None, cancel=stop):
            try:
                model.generate([Message.user("hi")])
            except Exception as exc:  # noqa: BLE001 - checked below
                box["error"] = exc

    caller = threading.Thread(target=call, daemon=True)
    try:
        caller.start()
        assert arrived.wait(30.0)
        t0 = time.monotonic()
        stop.set()
        caller.join(10.0)
        assert not caller.is_alive() and time.monotonic() - t0 < 5.0
        assert isinstance(box.get("error"), RunStoppedError)  # not retried
        assert len(server.requests) == 1
        workers = [t for t in threading.enumerate() if t.name == "lavr-http"
                   and t not in before]
        for t in workers:
            t.join(5.0)  # it stops at the next byte: its connection was closed
        assert not any(t.is_alive() for t in workers)
    finally:
        server.close()
