"""Persistent conversations: SQLite checkpoints plus thread images (SessionStore)."""

from __future__ import annotations

import json
import sqlite3

import numpy as np
import pytest

import lavr.agents
from lavr.agents import SessionError, SessionStore, VisualAgent
from lavr.apps.cli import main
from lavr.core_model.errors import InputError
from lavr.planners.plan import Plan, Step
from lavr.tools.base import Tool, ToolArgs, ToolContext, ToolResult
from lavr.tools.detections import Detections
from lavr.tools.registry import ToolRegistry


class SpotArgs(ToolArgs):
    pass


class Spot(Tool):
    """Finds one box per bright column band; counts its calls."""

    name = "spot"
    description = "find bright bands"
    Args = SpotArgs
    calls = 0

    def run(self, args: SpotArgs, ctx: ToolContext) -> ToolResult:
        Spot.calls += 1
        cols = np.flatnonzero(ctx.image[0, :, 0] > 128)
        boxes = [[float(c), 0.0, float(c) + 1, float(ctx.image.shape[0])] for c in cols]
        dets = Detections(np.array(boxes, float).reshape(-1, 4), np.ones(len(boxes)),
                          ["band"] * len(boxes))
        return ToolResult(summary=f"{len(boxes)} bands", value=len(boxes),
                          artifact_id=ctx.artifacts.put(dets))


class Scripted:
    name = "scripted"

    def plan(self, question: str) -> Plan:
        return Plan(question=question, intent="count", target="band", answer_step="s1",
                    steps=[Step(id="s1", tool="spot")])


def make_agent(**kw) -> VisualAgent:
    return VisualAgent(planner=Scripted(), registry=ToolRegistry([Spot()]), **kw)


def image(bands: int) -> np.ndarray:
    img = np.zeros((16, 24, 3), np.uint8)
    img[:, 1:2 * bands:2] = 255
    return img


def test_a_conversation_continues_in_a_new_agent_on_the_same_file(tmp_path):
    db = tmp_path / "sessions" / "chats.sqlite"
    first = make_agent(sessions=db)
    r1 = first.chat(image(3), "How many bands?", thread_id="alice")
    assert r1.answer.startswith("There are three bands")
    first.sessions.close()
    del first

    second = make_agent(sessions=db)  # fresh artifact store and cache: only the file carries over
    r2 = second.chat(None, "And how many bands now?", thread_id="alice")
    assert r2.thread_id == "alice"
    assert r2.image_hash == r1.image_hash
    assert np.array_equal(r2.image, image(3))  # re-attached losslessly from the database
    assert r2.answer.startswith("There are three bands")
    assert r2.history == [{"question": "How many bands?", "answer": r1.answer,
                           "cited": r1.cited, "image_hash": r1.image_hash}]
    # this turn's evidence and trace only: the reducers started afresh
    assert [e.step_id for e in r2.evidence] == ["s1"]
    assert [s.node for s in r2.steps].count("ingest") == 1

    r3 = second.chat(image(5), "How many bands in this one?", thread_id="alice")
    assert r3.answer.startswith("There are five bands")
    assert [t["question"] for t in r3.history] == ["How many bands?", "And how many bands now?"]
    info = second.sessions.thread("alice")
    assert info is not None and info.turns == 3 and info.image_hash == r3.image_hash
    second.sessions.close()

    with sqlite3.connect(db) as conn:  # one file: checkpoints and pictures side by side
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"checkpoints", "writes", "lavr_images", "lavr_threads"} <= tables


def test_follow_up_on_the_same_image_reuses_cached_expert_results(tmp_path):
    agent = make_agent(sessions=tmp_path / "s.sqlite")
    Spot.calls = 0
    agent.chat(image(2), "How many bands?", thread_id="t")
    again = agent.chat(None, "How many bands are there?", thread_id="t")
    assert Spot.calls == 1
    assert [s.cached for s in again.steps if s.node == "tool"] == [True]


def test_threads_are_separate(tmp_path):
    agent = make_agent(sessions=tmp_path / "s.sqlite")
    agent.chat(image(1), "How many bands?", thread_id="a")
    agent.chat(image(4), "How many bands?", thread_id="b")
    assert agent.chat(None, "How many bands?", thread_id="a").answer.startswith("There is one band")
    b = agent.chat(None, "How many bands?", thread_id="b")
    assert b.answer.startswith("There are four bands") and len(b.history) == 1
    assert [t.thread_id for t in agent.sessions.threads()] == ["b", "a"]


def test_a_run_paused_for_plan_approval_resumes_in_a_new_agent(tmp_path):
    from lavr.agents import AgentResult, PlanReview

    db = tmp_path / "s.sqlite"
    first = make_agent(sessions=db)
    review = list(first.stream(image(2), "How many bands?", thread_id="p", review_plan=True))[-1]
    assert isinstance(review, PlanReview)
    first.sessions.close()

    second = make_agent(sessions=db)  # the paused run's image is only in the database now
    result = list(second.resume("p"))[-1]
    assert isinstance(result, AgentResult)
    assert result.answer.startswith("There are two bands")
    assert np.array_equal(result.image, image(2))


def test_follow_up_on_an_unknown_thread_is_a_clear_error(tmp_path):
    agent = make_agent(sessions=tmp_path / "s.sqlite")
    with pytest.raises(SessionError, match="no conversation 'ghost'.*start it with an image"):
        agent.chat(None, "How many bands?", thread_id="ghost")


def test_chat_needs_threads_and_the_two_ways_to_get_them_exclude_each_other(tmp_path):
    with pytest.raises(InputError, match=r"chat\(\) needs persistent threads"):
        make_agent().chat(image(1), "How many bands?", thread_id="t")
    with pytest.raises(InputError, match="an image is needed"):
        make_agent().run(None, "How many bands?")
    with pytest.raises(InputError, match="not both"):
        make_agent(sessions=tmp_path / "s.sqlite", checkpointer=object())


def test_store_refuses_non_normalised_images_and_reports_missing_ones():
    with SessionStore() as store:
        with pytest.raises(InputError, match="HxWx3 uint8"):
            store.put_image(np.zeros((4, 4), np.uint8))
        digest = store.put_image(image(2))
        assert store.put_image(image(2)) == digest  # stored once
        assert np.array_equal(store.get_image(digest), image(2))
        with pytest.raises(KeyError, match="not in session store"):
            store.get_image("0" * 16)


def test_cli_sessions_continue_a_thread_across_runs(tmp_path, capsys, monkeypatch):
    class Agent(VisualAgent):
        def __init__(self, **kw):
            super().__init__(planner=Scripted(), registry=ToolRegistry([Spot()]), **kw)

    monkeypatch.setattr(lavr.agents, "VisualAgent", Agent)
    pic = tmp_path / "bands.png"
    from PIL import Image

    Image.fromarray(image(2)).save(pic)
    db = str(tmp_path / "cli.sqlite")
    assert main(["ask", "--sessions", db, "--thread", "bob", str(pic), "How many bands?"]) == 0
    first = capsys.readouterr().out
    assert "There are two bands" in first and "bob" in first
    assert main(["ask", "--sessions", db, "--thread", "bob", "--json",
                 "And now, how many?"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["thread_id"] == "bob"
    assert data["answer"].startswith("There are two bands")
    assert [t["question"] for t in data["history"]] == ["How many bands?"]
    assert main(["ask", "What is this?"]) == 2
    assert "an image is needed" in capsys.readouterr().err
