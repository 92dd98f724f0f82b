"""Which thread runs a tool step: the graph's own, or a worker the run can stop waiting for.

A step of a ``watched`` tool runs in a worker thread unless the tool says the call
cannot block (``Tool.may_block``) and its last step was short; then it runs in the
graph's thread (no hand-off to a worker and back). A call that may block — a model
still to load, a served expert, a tool that does not say — always goes to a worker,
so a run still ends at its deadline or on Stop while it hangs (``test_cancel.py``).
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from lavr.agents import VisualAgent
from lavr.agents.nodes import INLINE_HEADROOM, INLINE_MAX_S
from lavr.core_model import deadline
from lavr.planners.plan import Plan, Step
from lavr.tools.base import ArtifactStore, ExpertPool, Tool, ToolArgs, ToolContext, ToolResult
from lavr.tools.registry import ToolRegistry

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from conftest import requires_shapes  # noqa: E402

IMAGE = np.zeros((16, 16, 3), np.uint8)


class Probe(Tool):
    """Records the thread each of its steps ran in; ``blocks`` is what it says of a call."""

    name = "probe"
    description = "records its thread"
    Args = ToolArgs
    cacheable = False

    def __init__(self, *, blocks: bool | None) -> None:
        self.blocks = blocks
        self.threads: list[threading.Thread] = []

    def run(self, args: ToolArgs, ctx: ToolContext) -> ToolResult:
        self.threads.append(threading.current_thread())
        return ToolResult(summary="probed")

    def may_block(self, args: ToolArgs, ctx: ToolContext) -> bool:
        return super().may_block(args, ctx) if self.blocks is None else self.blocks


class OneProbeStep:
    name = "scripted"

    def plan(self, question: str) -> Plan:
        return Plan(question=question, steps=[Step(id="s1", tool="probe", args={})],
                    answer_step="s1")


def _agent(tool: Probe, seconds: float = 600.0) -> VisualAgent:
    return VisualAgent(verify=False, planner=OneProbeStep(), registry=ToolRegistry([tool]),
                       deadline=seconds, answer_cache=False)


def _ran_here(agent: VisualAgent, tool: Probe) -> bool:
    result = agent.run(IMAGE, "where?")
    assert result.evidence[0].error is None
    return tool.threads[-1] is threading.current_thread()


def test_a_call_that_cannot_block_runs_in_the_graphs_thread_once_its_tool_was_quick():
    tool = Probe(blocks=False)
    agent = _agent(tool)
    assert not _ran_here(agent, tool)  # no timing of the tool yet: a worker
    assert agent.context.step_seconds["probe"] < INLINE_MAX_S
    assert _ran_here(agent, tool)
    assert _ran_here(agent, tool)


@pytest.mark.parametrize("blocks", [True, None])  # None: the default, ``watched``
def test_a_call_that_may_block_always_runs_in_a_worker(blocks):
    tool = Probe(blocks=blocks)
    agent = _agent(tool)
    assert [_ran_here(agent, tool) for _ in range(3)] == [False, False, False]


def test_a_tool_whose_last_step_was_slow_runs_in_a_worker():
    tool = Probe(blocks=False)
    agent = _agent(tool)
    agent.context.step_seconds["probe"] = INLINE_MAX_S * 2
    assert not _ran_here(agent, tool)
    assert _ran_here(agent, tool)  # that step was quick


def test_a_run_close_to_its_deadline_hands_the_step_to_a_worker():
    tool = Probe(blocks=False)
    agent = _agent(tool, seconds=1.0)
    agent.context.step_seconds["probe"] = 1.0 / INLINE_HEADROOM * 2  # quick, but not enough
    assert not _ran_here(agent, tool)


@requires_shapes
def test_detect_may_block_until_its_model_is_loaded_here():
    from lavr.tools.detect import (
        DetectArgs,
        DetectorLoader,
        DetectTool,
        _expert_key,
        get_detector,
        select_detectors,
    )

    image = np.zeros((64, 64, 3), np.uint8)
    tool, args = DetectTool(), DetectArgs(labels=["circle"])

    def ctx(pool: ExpertPool, **settings) -> ToolContext:
        return ToolContext(image=image, image_hash="h", artifacts=ArtifactStore(),
                           experts=pool, settings={"device": "cpu", **settings})

    pool = ExpertPool()
    assert tool.may_block(args, ctx(pool))  # the model is still to load
    tool.run(args, ctx(pool))
    assert not tool.may_block(args, ctx(pool))  # loaded here: the call only computes
    assert tool.may_block(args, ctx(pool, batch_wait_ms=20.0))  # waits for other callers
    assert tool.may_block(args, ctx(pool, batch_lanes=2))  # may load a lane's copy
    assert tool.may_block(DetectArgs(labels=["person"], detector="coco"), ctx(pool))  # not here
    (run,) = select_detectors(["circle"])
    key = _expert_key(get_detector(run.detector), run, "cpu")
    served = ExpertPool()
    loader = DetectorLoader(get_detector(run.detector), tuple(run.labels), "cpu", key)
    served.get(key, lambda: loader.proxy(lambda images, conf: []))
    assert tool.may_block(args, ctx(served))  # a served replica may hang


class StopsInline(Probe):
    """Quick and non-blocking; its second step sees Stop come while it computes."""

    def __init__(self, cancel: threading.Event) -> None:
        super().__init__(blocks=False)
        self.cancel = cancel

    def run(self, args: ToolArgs, ctx: ToolContext) -> ToolResult:
        result = super().run(args, ctx)
        if len(self.threads) == 2:
            self.cancel.set()  # Stop, while the step runs
            deadline.check()  # the tool's cooperative check
        return result


def test_a_step_in_the_graphs_thread_that_sees_stop_is_stopped_as_in_a_worker():
    cancel = threading.Event()
    tool = StopsInline(cancel)
    agent = _agent(tool)
    list(agent.stream(IMAGE, "where?", cancel=cancel))  # timed: the next step runs here
    result = list(agent.stream(IMAGE, "where?", cancel=cancel))[-1]
    assert tool.threads[-1] is threading.current_thread()
    error = result.evidence[0].error
    # the same 'stopped' error as a step abandoned in a worker (not journalled as done)
    assert error.startswith("stopped: the run was stopped while probe was running"), error


class CannotSay(Probe):
    """Quick, but its ``may_block`` fails."""

    def may_block(self, args: ToolArgs, ctx: ToolContext) -> bool:
        raise RuntimeError("no idea")


def test_a_tool_whose_may_block_fails_still_runs_in_a_worker():
    tool = CannotSay(blocks=False)
    agent = _agent(tool)
    assert [_ran_here(agent, tool) for _ in range(2)] == [False, False]  # no crash either
