"""Durability of sessions: kill -9 mid-run, resume without re-running steps, two processes.

Runs that must die are real child processes (forked, so they start fast) that
kill themselves with SIGKILL at a chosen tool call: nothing is mocked, the
SQLite file and the checkpoints are what a crash leaves behind.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import sqlite3
import threading
from pathlib import Path

import numpy as np
import pytest

from lavr.agents import SessionBusyError, SessionError, SessionStore, SessionStoreError, VisualAgent
from lavr.planners.plan import Plan, Step
from lavr.tools.base import Tool, ToolArgs, ToolContext, ToolResult
from lavr.tools.detections import Detections
from lavr.tools.registry import ToolRegistry

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork and SIGKILL")


class RecordArgs(ToolArgs):
    name: str
    source: str | None = None


class Record(Tool):
    """Finds bright column bands (or passes on ``source``'s); logs each start and end.

    ``log`` is a file shared by every process, so invocations are counted across
    a killed run and its resumption; ``kill_at`` makes the N-th start (counted
    over the whole log) SIGKILL its own process.
    """

    name = "record"
    description = "find bright bands, logging each call"
    Args = RecordArgs
    refs = ("source",)
    cacheable = False
    log: Path | None = None
    kill_at: int | None = None

    def run(self, args: RecordArgs, ctx: ToolContext) -> ToolResult:
        assert Record.log is not None
        with Record.log.open("a") as f:
            f.write(f"start {args.name}\n")
        starts = Record.log.read_text().split().count("start")
        if Record.kill_at is not None and starts >= Record.kill_at:
            os.kill(os.getpid(), signal.SIGKILL)
        if args.source:
            dets = ctx.detections(args.source, tool=self.name)
        else:
            cols = np.flatnonzero(ctx.image[0, :, 0] > 128)
            dets = Detections(np.array([[c, 0, c + 1, ctx.image.shape[0]] for c in cols],
                                       float).reshape(-1, 4), np.ones(len(cols)),
                              ["band"] * len(cols))
        with Record.log.open("a") as f:
            f.write(f"end {args.name}\n")
        return ToolResult(summary=f"{len(dets)} bands", value=len(dets),
                          artifact_id=self.store_detections(dets, ctx))


class ChainPlanner:
    """Three dependent steps: a → b (reads a's detections) → c (reads b's)."""

    name = "chain"

    def plan(self, question: str) -> Plan:
        return Plan(question=question, intent="count", target="band", answer_step="s3", steps=[
            Step(id="s1", tool="record", args={"name": "a"}),
            Step(id="s2", tool="record", args={"name": "b", "source": "s1"}),
            Step(id="s3", tool="record", args={"name": "c", "source": "s2"})])


def make_agent(db: Path | SessionStore) -> VisualAgent:
    return VisualAgent(planner=ChainPlanner(), registry=ToolRegistry([Record()]), sessions=db,
                       verify=False)


def bands(n: int) -> np.ndarray:
    img = np.zeros((12, 20, 3), np.uint8)
    img[:, 1:2 * n:2] = 255
    return img


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _kill_at(point: str) -> None:
    """Make this (child) process SIGKILL itself at ``point`` of its next run:

    - ``before-input``: before the run's first checkpoint (its input) is written;
    - ``input``: right after it, before any node ran;
    - ``ingest``: while ingesting the image;
    - ``tool-N``: as tool call N starts;
    - ``done-N``: after tool call N returned, before LangGraph saved its result
      (the checkpointer is about to write the step's evidence);
    - ``saved-N``: right after tool call N's result was saved, before the step's
      checkpoint (LangGraph then lists no step as next, yet the run has not ended).
    """
    from langgraph.checkpoint.sqlite import SqliteSaver

    kind, _, n = point.partition("-")
    if kind == "tool":
        Record.kill_at = int(n)
    elif kind == "ingest":
        import lavr.agents.nodes

        lavr.agents.nodes.load_image = lambda source: _die()
    elif point in ("before-input", "input"):
        put = SqliteSaver.put

        def put_then_die(self, *args, **kwargs):
            if point == "before-input":
                _die()
            out = put(self, *args, **kwargs)
            _die()
            return out

        SqliteSaver.put = put_then_die
    elif kind in ("done", "saved"):
        put_writes, seen = SqliteSaver.put_writes, []

        def die_around_the_nth_step_write(self, config, writes, task_id, *args, **kwargs):
            seen.extend(v for channel, v in writes  # a tool step's result (execute writes [])
                        if channel == "evidence" and isinstance(v, list) and v)
            if kind == "done" and len(seen) >= int(n):
                _die()
            out = put_writes(self, config, writes, task_id, *args, **kwargs)
            if len(seen) >= int(n):
                _die()
            return out

        SqliteSaver.put_writes = die_around_the_nth_step_write
    else:
        raise ValueError(point)


def _ask_and_die(db: Path, log: Path, kill: str | None, first: bool) -> None:
    """Child process: ask on thread 't', killing itself at ``kill`` (see :func:`_kill_at`)."""
    Record.log, Record.kill_at = log, None
    if kill:
        _kill_at(kill)
    make_agent(db).chat(bands(3) if first else None, "How many bands?", thread_id="t")
    os._exit(0)


def _child(target, *args) -> int:
    proc = multiprocessing.get_context("fork").Process(target=target, args=args)
    proc.start()
    proc.join(60)
    assert proc.exitcode is not None, "child process hung"
    return proc.exitcode


def integrity(db: Path) -> str:
    with sqlite3.connect(db) as conn:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]


@pytest.mark.parametrize("kill", ["input", "ingest", "tool-1", "tool-2", "tool-3", "done-1",
                                  "done-2", "done-3", "saved-1", "saved-3"])
def test_kill_9_mid_run_leaves_the_file_intact_and_resume_reruns_no_finished_step(
        tmp_path, kill):
    db, log = tmp_path / "s.sqlite", tmp_path / "calls.log"
    Record.log, Record.kill_at = log, None
    assert _child(_ask_and_die, db, log, None, True) == 0  # a finished first turn
    log.write_text("")
    assert _child(_ask_and_die, db, log, kill, False) == -signal.SIGKILL
    assert integrity(db) == "ok"
    kind, _, n = kill.partition("-")
    finished = {"tool": int(n or 0) - 1, "done": int(n or 0), "saved": int(n or 0)}.get(kind, 0)
    finished_before = [line.split()[1] for line in log.read_text().splitlines()
                       if line.startswith("end")]
    assert finished_before == ["a", "b", "c"][:finished]

    agent = make_agent(db)  # this process has no artifacts or cache: only the file carries over
    assert agent.unfinished("t")
    result = agent.finish("t")
    assert result.answer.startswith("There are three bands")
    ends = [line.split()[1] for line in log.read_text().splitlines() if line.startswith("end")]
    assert sorted(ends) == ["a", "b", "c"]  # each step finished exactly once over both processes
    starts = [line.split()[1] for line in log.read_text().splitlines() if line.startswith("start")]
    # only a step killed while running runs again; one that had returned (done-N) does not
    assert sorted(starts) == sorted(["a", "b", "c"] + (["abc"[int(n) - 1]] if kind == "tool"
                                                       else []))
    assert [e.step_id for e in result.evidence] == ["s1", "s2", "s3"]
    assert [t["question"] for t in result.history] == ["How many bands?"]
    assert not agent.unfinished("t")
    assert agent.sessions._db().execute("SELECT COUNT(*) FROM lavr_steps").fetchone()[0] == 0

    nxt = agent.chat(None, "How many bands are there?", thread_id="t")  # the thread goes on
    assert nxt.answer.startswith("There are three bands") and len(nxt.history) == 2
    agent.sessions.close()
    assert integrity(db) == "ok"


@pytest.mark.parametrize("first", [True, False])
def test_a_kill_before_the_first_checkpoint_leaves_nothing_to_resume_and_the_thread_answers(
        tmp_path, first):
    db, log = tmp_path / "s.sqlite", tmp_path / "calls.log"
    Record.log, Record.kill_at = log, None
    if not first:
        assert _child(_ask_and_die, db, log, None, True) == 0
    assert _child(_ask_and_die, db, log, "before-input", first) == -signal.SIGKILL
    assert integrity(db) == "ok"
    agent = make_agent(db)
    assert not agent.unfinished("t")
    with pytest.raises(SessionError, match="has no unfinished run to resume"):
        agent.finish("t")
    result = agent.chat(None, "How many bands?", thread_id="t")  # the killed turn's image
    assert result.answer.startswith("There are three bands")
    assert len(result.history) == (0 if first else 1)
    agent.sessions.close()
    assert integrity(db) == "ok"


def test_a_new_question_after_a_kill_answers_without_resuming(tmp_path):
    db, log = tmp_path / "s.sqlite", tmp_path / "calls.log"
    Record.log, Record.kill_at = log, None
    assert _child(_ask_and_die, db, log, "tool-2", True) == -signal.SIGKILL
    assert integrity(db) == "ok"
    agent = make_agent(db)
    result = agent.chat(None, "How many bands?", thread_id="t")  # image from the killed turn
    assert result.answer.startswith("There are three bands")
    assert not agent.unfinished("t")
    with pytest.raises(SessionError, match="no unfinished run to resume"):
        agent.finish("t")


def _take_lease_and_die(db: Path, ready: Path) -> None:
    store = SessionStore(db)
    with store.lease("t"):
        ready.write_text("held")
        os.kill(os.getpid(), signal.SIGKILL)


def test_a_busy_thread_is_a_clear_error_and_a_killed_holder_lets_go(tmp_path):
    db = tmp_path / "s.sqlite"
    Record.log, Record.kill_at = tmp_path / "calls.log", None
    holder, waiter = SessionStore(db), SessionStore(db, busy_timeout=0)
    agent = make_agent(waiter)
    agent.chat(bands(2), "How many bands?", thread_id="t")
    with holder.lease("t"):  # another run (here: another connection) is on the thread
        with pytest.raises(SessionBusyError, match=r"conversation 't' in .* is busy: another run "
                           r"\(pid \d+ on .*\) is still on it after 0 s"):
            agent.chat(None, "How many bands?", thread_id="t")
        with pytest.raises(SessionBusyError):
            list(agent.resume("t"))
        assert agent.chat(bands(1), "How many bands?", thread_id="u").answer  # other threads run
    assert agent.chat(None, "How many bands?", thread_id="t").answer.startswith("There are two")
    assert waiter.thread("t").turns == 2  # the refused turn was not counted

    ready = tmp_path / "ready"
    assert _child(_take_lease_and_die, db, ready) == -signal.SIGKILL
    assert ready.read_text() == "held"
    with waiter.lease("t", timeout=0):  # the kernel released the dead holder's lock
        pass


def _turns(db: Path, name: str, n: int, errors: Path) -> None:
    Record.log = errors.with_suffix(f".{name}.log")
    agent = make_agent(db)
    for i in range(n):
        try:
            agent.chat(None, f"How many bands? ({name}{i})", thread_id="t")
        except Exception as exc:  # noqa: BLE001 - reported to the parent through the file
            with errors.open("a") as f:
                f.write(f"{name}{i}: {type(exc).__name__}: {exc}\n")
    os._exit(0)


def test_two_processes_on_one_thread_queue_and_lose_no_turn(tmp_path):
    db, errors = tmp_path / "s.sqlite", tmp_path / "errors.txt"
    Record.log = tmp_path / "first.log"
    make_agent(db).chat(bands(2), "How many bands?", thread_id="t")
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_turns, args=(db, name, 6, errors)) for name in "AB"]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0, 0]
    assert not errors.exists(), errors.read_text()
    assert integrity(db) == "ok"
    agent = make_agent(db)
    last = agent.chat(None, "How many bands now?", thread_id="t")
    questions = [t["question"] for t in last.history]
    assert len(questions) == 13 and len(set(questions)) == 13  # every turn, none twice
    assert sorted(q for q in questions if "(A" in q) == sorted(f"How many bands? (A{i})"
                                                               for i in range(6))
    assert agent.sessions.thread("t").turns == 14


def test_artifacts_round_trip_without_pickle(tmp_path):
    store = SessionStore(tmp_path / "s.sqlite")
    dets = Detections(np.array([[1, 2, 3, 4], [5, 6, 7, 8]], float), np.array([0.5, 0.9]),
                      ["cat", "dog"], mask=np.ones((2, 3, 3), bool), text=["a", ""],
                      data={"colour": np.array(["red", "blue"], dtype=object),
                            "area": np.array([4.0, 4.0]), "extra": np.array([1, "x"], object)})
    assert store.save_artifact("det_1", dets)
    back = store.load_artifact("det_1")
    assert np.array_equal(back.xyxy, dets.xyxy) and list(back.label) == ["cat", "dog"]
    assert back.mask.shape == (2, 3, 3) and list(back.text) == ["a", ""]
    assert list(back.data["colour"]) == ["red", "blue"] and list(back.data["extra"]) == [1, "x"]
    assert np.array_equal(back.data["area"], [4.0, 4.0])
    assert store.save_artifact("img_1", bands(2))
    assert np.array_equal(store.load_artifact("img_1"), bands(2))
    assert not store.save_artifact("obj", object())
    assert store.load_artifact("missing") is None


@pytest.mark.parametrize("kind", ["folder", "png"])
def test_a_sessions_path_that_is_not_a_database_is_a_one_line_error(tmp_path, kind):
    path = tmp_path / "x.png"
    if kind == "folder":
        path.mkdir()
    else:
        path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(200))
    with pytest.raises(SessionStoreError, match=r"sessions file .*x\.png: (is a folder|not a "
                       r"usable SQLite database)"):
        VisualAgent(sessions=path)


def test_cli_resume_finishes_a_killed_run(tmp_path, capsys, monkeypatch):
    import lavr.agents
    from lavr.apps.cli import main

    class Agent(VisualAgent):
        def __init__(self, **kw):
            kw.update(planner=ChainPlanner(), registry=ToolRegistry([Record()]))
            super().__init__(**kw)

    monkeypatch.setattr(lavr.agents, "VisualAgent", Agent)
    db, log = tmp_path / "s.sqlite", tmp_path / "calls.log"
    Record.log, Record.kill_at = log, None
    assert _child(_ask_and_die, db, log, "tool-2", True) == -signal.SIGKILL
    args = ["ask", "--sessions", str(db), "--thread", "t"]
    assert main([*args, "--resume", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["answer"].startswith("There are three bands") and data["thread_id"] == "t"
    assert sorted(ln for ln in log.read_text().split("\n") if ln.startswith("end")) == [
        "end a", "end b", "end c"]
    assert main([*args, "--resume"]) == 2
    assert "has no unfinished run to resume" in capsys.readouterr().err
    assert main([*args, "How many bands now?"]) == 0  # one positional: the question
    assert "There are three bands" in capsys.readouterr().out
    assert main(["ask", "--resume", "--thread", "t"]) == 2
    assert "--resume needs --sessions" in capsys.readouterr().err
    assert main([*args, "--resume", "x.png"]) == 2
    assert "leave out the image" in capsys.readouterr().err
    assert main([*args, "--busy-timeout", "-1", "How many?"]) == 2
    assert "busy_timeout must be 0 or more" in capsys.readouterr().err


def test_a_waiting_run_gets_the_thread_when_the_holder_lets_go(tmp_path):
    db = tmp_path / "s.sqlite"
    holder, waiter = SessionStore(db), SessionStore(db)
    got = threading.Event()

    def wait_for_it() -> None:
        with waiter.lease("t", timeout=60):
            got.set()

    with holder.lease("t"):
        with pytest.raises(SessionBusyError, match="after 0 s"):
            with waiter.lease("t", timeout=0.05):  # a waiter that gives up lets go for good
                pass
        worker = threading.Thread(target=wait_for_it)
        worker.start()
        assert not got.is_set()
    worker.join(60)
    assert got.is_set()
    with holder.lease("t", timeout=5):  # nothing left holding the thread
        pass
