"""What the demo shows, without a server: step messages, answer message, pictures."""

from __future__ import annotations

import numpy as np
from langgraph.checkpoint.memory import InMemorySaver

from lavr.agents import AgentResult, StepEvent, VisualAgent
from lavr.apps import demo_render as render
from lavr.planners.plan import Plan, Step
from lavr.tools.detections import Detections
from lavr.tools.registry import ToolRegistry
from lavr.tools.trace import TraceEvent
from tests.fake_tools import Boom, Find


class Scripted:
    name = "scripted"

    def __init__(self, steps: list[Step], answer: str) -> None:
        self.steps, self.answer = steps, answer

    def plan(self, question: str) -> Plan:
        return Plan(question=question, intent="count", target="dot", answer_step=self.answer,
                    steps=self.steps, reasoning=["look for dots"])


IMG = np.full((24, 32, 3), 90, np.uint8)


def run(steps: list[Step], answer: str) -> tuple[list[StepEvent], AgentResult]:
    agent = VisualAgent(planner=Scripted(steps, answer), registry=ToolRegistry([Find(), Boom()]),
                        checkpointer=InMemorySaver())
    *events, result = agent.stream(IMG, "How many dots?", thread_id="t")
    assert isinstance(result, AgentResult)
    return events, result


def test_every_step_becomes_a_titled_collapsible_message_with_status_and_duration():
    events, result = run([Step(id="s1", tool="find", args={"n": 3})], "s1")
    messages = [m for e in events for m in render.event_messages(e)]
    titles = [m["metadata"]["title"] for m in messages]
    assert titles == ["Image", "Plan", "s1 · find", "Decision: stop", "Answer drafted",
                      "Check and correction"]
    for m in messages:
        assert m["role"] == "assistant" and m["content"]
        assert m["metadata"]["status"] == "done"
        assert isinstance(m["metadata"]["duration"], float)
    plan = messages[1]["content"]
    assert "**s1** `find` `{\"n\": 3}`" in plan and "> look for dots" in plan
    assert "found 3 dots" in messages[2]["content"] and '"n": 3' in messages[2]["content"]


def test_failed_steps_are_marked_with_their_error():
    events, _ = run([Step(id="s1", tool="boom"), Step(id="s2", tool="find", args={"n": 1})], "s1")
    messages = [m for e in events for m in render.event_messages(e)]
    failed = [m for m in messages if m["metadata"]["title"].startswith(render.WARNING_SIGN)]
    assert [m["metadata"]["title"] for m in failed] == [f"{render.WARNING_SIGN} s1 · boom failed"]
    assert "the expert is unhappy" in failed[0]["content"]


def test_cached_tool_calls_say_so():
    record = TraceEvent("tool", step="s1", tool="detect", summary="3 circles", cached=True)
    msg = render.step_message(record)
    assert msg is not None and msg["metadata"]["log"] == "cached"
    assert render.step_message(TraceEvent("execute", summary="dispatching s1=find")) is None


def test_answer_message_lists_the_cited_evidence():
    _, result = run([Step(id="s1", tool="find", args={"n": 2})], "s1")
    msg = render.answer_message(result)
    assert "metadata" not in msg  # a normal message, not a collapsible step
    assert msg["content"].startswith(result.answer)
    assert "**Evidence**\n- s1 · find: found 2 dots" in msg["content"]


def test_pictures_hold_the_answer_each_step_and_the_image_with_clipped_boxes():
    _, result = run([Step(id="s1", tool="find", args={"n": 2})], "s1")
    pictures = render.result_pictures(result)
    assert list(pictures) == [render.ANSWER_CHOICE, "s1 · find (2)", render.IMAGE_CHOICE]
    step = pictures["s1 · find (2)"]
    assert step.image.shape == IMG.shape and step.captions() == ["dot 0.80", "dot 0.80"]
    assert [b["xyxy"] for b in step.boxes()] == [[2, 2, 6, 6], [8, 2, 12, 6]]
    assert pictures[render.IMAGE_CHOICE].dets is None
    assert np.array_equal(np.asarray(pictures[render.IMAGE_CHOICE].render()), IMG)
    drawn = np.asarray(step.render())
    assert drawn.shape == IMG.shape and (drawn != IMG).any()
    dets = Detections(np.array([[-5, -5, 50, 50]], float), [0.5], ["text"], text=["STOP"])
    pic = render.Picture(IMG, dets)
    assert pic.boxes() == [{"label": "text", "xyxy": [0, 0, 32, 24], "confidence": 0.5,
                            "text": "STOP"}]
    assert pic.captions() == ['text "STOP"']


def test_structured_answer_has_the_answer_evidence_and_boxes():
    _, result = run([Step(id="s1", tool="find", args={"n": 2})], "s1")
    data = render.structured_answer(result)
    assert data["status"] == "answered" and data["answer"] == result.answer
    assert data["answer_grounded"] == result.answer_grounded and "[s1]" in data["answer_grounded"]
    assert data["evidence"][0]["step_id"] == "s1" and data["evidence"][0]["cited"] is True
    assert data["evidence"][0]["summary"] == "found 2 dots"
    assert len(data["evidence"][0]["boxes"]) == 2
    assert data["boxes"] == [{"label": "dot", "xyxy": [2, 2, 6, 6], "confidence": 0.8},
                             {"label": "dot", "xyxy": [8, 2, 12, 6], "confidence": 0.8}]


def test_pending_messages_name_the_next_work():
    dispatch = StepEvent("execute", [TraceEvent("execute", summary="dispatching s1=detect")])
    assert render.next_work(dispatch) == "Running s1=detect…"
    pending = render.pending_message(render.next_work(dispatch))
    assert pending["metadata"] == {"title": "Running s1=detect…", "status": "pending"}


def test_earlier_turns_fold_their_steps_into_one_message():
    events, result = run([Step(id="s1", tool="find", args={"n": 2})], "s1")
    steps = [m for e in events for m in render.event_messages(e)]
    turn = [{"role": "user", "content": "How many dots?"}, *steps, render.answer_message(result)]
    folded = render.compact_steps(turn + turn)
    assert len(folded) == 6
    reasoning = folded[1]
    assert reasoning["metadata"]["title"] == f"Reasoning: {len(steps)} steps"
    assert reasoning["metadata"]["status"] == "done"
    assert "- **s1 · find** — found 2 dots" in reasoning["content"]
    assert render.compact_steps(folded) == folded  # folding twice changes nothing


def _episode():
    """A two-step episode built by hand (no environment): perception, actions, the end."""
    from lavr.episodes.loop import Action, Episode, Percept, StepRecord

    frame = np.zeros((56, 56, 3), np.uint8)
    seen = Percept("grid_cells", {"cols": 7, "rows": 7}, "7x7 tiles: 1 ball", seconds=0.01)
    steps = [StepRecord(1, Action("forward"), "go to red ball: going there", 0.002, image=frame,
                        percepts=[seen], target=(20.0, 20.0, 30.0, 30.0)),
             StepRecord(2, Action("left"), "go to red ball: going there", 0.001, reward=0.9,
                        image=frame, percepts=[seen], controller="scripted-model")]
    return Episode("go to the red ball", steps, reward=0.9, success=True, ended_by="env")


def test_episode_steps_become_the_same_messages_as_a_question_s_steps():
    ep = _episode()
    records = ep.records()
    assert [r.node for r in records] == ["tool", "act", "decide"] * 2
    assert records[2].summary.startswith("continue") and records[-1].summary.startswith(
        "done: the environment ended the episode, success")
    messages = render.episode_messages(ep)
    assert messages[0] == {"role": "user", "content": "go to the red ball"}
    titles = [m["metadata"]["title"] for m in messages[1:-1]]
    assert titles == ["t1.p1 · grid_cells", "t1 · forward", "Decision: continue",
                      "t2.p1 · grid_cells", "t2 · left", "Decision: done"]
    assert "Chosen by scripted-model." in messages[5]["content"]
    assert messages[-1]["content"].startswith("Solved: 2 actions")
    pictures = render.episode_pictures(ep, scale=2)
    assert list(pictures) == ["t1 · forward", "t2 · left"]
    shot = pictures["t1 · forward"].render()
    assert shot.size == (112, 112)
    red = (np.asarray(shot) == (255, 0, 0)).all(axis=-1)
    assert red[40:61, 40].all() and not red[20:30, 20:30].any()  # the target box's edge
