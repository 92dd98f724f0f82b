"""Concurrent runs on one VisualAgent equal sequential runs (threads and asyncio tasks).

Real experts (the shapes detector, colour, spatial ops) on 20 generated scenes,
each with its own question; the decision maker is a scripted model whose first
reply to every decision is unusable, so each run also exercises a re-ask and
the per-run attempt records of a model role shared by all runs.
"""

from __future__ import annotations

import asyncio
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from lavr.agents import AgentResult, VisualAgent
from lavr.apps.evaluate import make_item
from lavr.core_model.messages import Message
from lavr.core_model.scripted import ScriptedModel

N = 20
ITEMS = [make_item(4000 + i, ("count", "exists", "colour", "spatial")[i % 4])[::-1]
         for i in range(N)]


class Decider:
    """The scripted decision maker: the first reply to a decision is unusable, the re-ask's
    stops; both name the question they were shown, so a record that reaches the wrong run
    shows. With ``gate``, the first ``N`` decisions wait for each other: twenty runs are
    inside the shared decider at the same moment."""

    def __init__(self, gate: threading.Barrier | None = None) -> None:
        self.gate = gate
        self.calls = 0
        self.lock = threading.Lock()

    def __call__(self, messages: list[Message]) -> str:
        question = messages[0].text.split("Question:", 1)[-1].strip().splitlines()[0]
        if len(messages) > 1:
            return json.dumps({"action": "stop", "reason": f"enough evidence for: {question}"})
        with self.lock:
            first, self.calls = self.calls < N, self.calls + 1
        if first and self.gate is not None:
            self.gate.wait()
        return f"I think we are done with: {question}"


def make_agent(*, gate: threading.Barrier | None = None, **kw: Any) -> VisualAgent:
    model = ScriptedModel({"decide": [Decider(gate)]}, repeat_last=True)
    return VisualAgent(detector="shapes", verify=False, model=model, model_roles=["decide"], **kw)


def signature(result: AgentResult) -> tuple:
    """Everything a run produced except timings and process-local artifact ids."""
    steps = tuple((s.node, s.tool, s.step, s.summary, s.error, s.attempt, s.raw)
                  for s in result.steps)
    evidence = tuple((e.step_id, e.tool, json.dumps(e.args, sort_keys=True),
                      json.dumps(e.value), e.error) for e in result.evidence)
    return result.question, result.answer, tuple(result.cited), result.image_hash, steps, evidence


@pytest.fixture(scope="module")
def sequential() -> list[tuple]:
    agent = make_agent()
    return [signature(agent.run(scene.image, item.question)) for scene, item in ITEMS]


def test_the_scripted_decider_is_really_asked_and_re_asked(sequential):
    for (_scene, item), sig in zip(ITEMS, sequential, strict=True):
        decides = [s for s in sig[4] if s[0] == "decide"]
        assert any(f"enough evidence for: {item.question}" in (s[3] or "") for s in decides)
        assert any(s[4] and s[6] == f"I think we are done with: {item.question}"
                   for s in decides)  # the unusable first reply is on the record
    assert len({sig[1] for sig in sequential}) > 10  # twenty different questions and answers


def test_twenty_threads_on_one_agent_equal_sequential_runs(sequential, tmp_path):
    # threads share one SQLite file too
    agent = make_agent(gate=threading.Barrier(N, timeout=120), sessions=tmp_path / "s.sqlite")
    start = threading.Barrier(N, timeout=120)

    def ask(i: int) -> tuple:
        scene, item = ITEMS[i]
        start.wait()  # all twenty runs in flight at once
        return signature(agent.chat(scene.image, item.question, thread_id=f"t{i}"))

    with ThreadPoolExecutor(N) as pool:
        got = list(pool.map(ask, range(N)))
    assert got == sequential
    assert sorted(t.turns for t in agent.sessions.threads()) == [1] * N


def test_twenty_asyncio_tasks_on_one_agent_equal_sequential_runs(sequential):
    agent = make_agent(gate=threading.Barrier(N, timeout=120))

    async def main() -> list[AgentResult]:
        asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(N))
        return await asyncio.gather(*(agent.arun(scene.image, item.question)
                                      for scene, item in ITEMS))

    assert [signature(r) for r in asyncio.run(main())] == sequential
