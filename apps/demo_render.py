"""What the demo shows, as plain data: chat messages for steps and answers, evidence
pictures and the structured answer.

Nothing here imports Gradio: messages are ``{"role", "content", "metadata"}``
dicts (the Gradio ``Chatbot`` messages format, metadata as in
``gr.ChatMessage``); a :class:`Picture` is an image with the detections to
outline on it (drawn by :func:`lavr.tools.draw.draw_detections`: outlines and
labels on the picture, object pixels untouched).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image

from lavr.agents.result import AgentResult, StepEvent
from lavr.tools.detections import Detections
from lavr.tools.draw import draw_detections
from lavr.tools.evidence import by_step
from lavr.tools.trace import TraceEvent

if TYPE_CHECKING:
    from lavr.episodes.loop import Episode

Message = dict[str, Any]

#: Label of the picture choice showing the evidence the answer cites.
ANSWER_CHOICE = "Answer evidence"
#: Label of the picture choice showing the image alone.
IMAGE_CHOICE = "Image"

#: Marks a failed step (U+26A0, in common text fonts: no emoji font needed).
WARNING_SIGN = "\u26a0"
_LONGEST_SUMMARY = 600


def _short(text: str, limit: int = _LONGEST_SUMMARY) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _json_block(value: Any) -> str:
    return "```json\n" + json.dumps(value, indent=1, default=str) + "\n```"


#: Titles of the nodes whose message is their summary.
_TITLES = {"verify": "Check and correction", "demos": "In-context examples",
           "reason": "Chain of thought", "ingest": "Image"}


def step_message(rec: TraceEvent) -> Message | None:
    """A collapsible chat message for one trace record (None for bookkeeping records).

    The metadata carries the title, ``status`` (``done``) and ``duration`` in seconds.
    """
    node, summary, error = rec.node, rec.summary, rec.error
    if node == "execute" and not error:
        return None  # "dispatching s1=..." is followed by the tool messages themselves
    body: list[str] = []
    if node == "plan":
        plan = rec.plan or {}
        title = "Plan (edited)" if "edited by the user" in summary else "Plan"
        body.append(_short(summary))
        for step in plan.get("steps", []):
            why = f" — {step['why']}" if step.get("why") else ""
            body.append(f"- **{step['id']}** `{step['tool']}` "
                        f"`{json.dumps(step.get('args', {}), default=str)}`{why}")
        body += [f"> {line}" for line in plan.get("reasoning", [])]
    elif node == "tool":
        title = f"{rec.step or ''} · {rec.tool or ''}".strip(" ·")
        title += " failed" if error else ""
        body.append(_short(summary))
        if rec.args:
            body.append(_json_block(rec.args))
    elif node == "decide":
        action, _, reason = summary.partition(": ")
        title = f"Decision: {action}"
        body.append(_short(reason or summary))
    elif node == "act":  # an episode step: the controller's action
        action, _, reason = summary.partition(": ")
        title = f"{rec.step or ''} · {action}".strip(" ·")
        body.append(_short(reason or summary))
        if rec.controller and rec.controller != "rules":
            body.append(f"Chosen by {_short(rec.controller)}.")
    elif node == "refine":
        title = "Answer drafted"
        cited = rec.cited or []
        body.append(_short(summary) + (f"\n\nCites {', '.join(cited)}." if cited else ""))
    else:  # a summary is all there is to show
        if node == "execute":
            title = f"{rec.step or ''} · {rec.tool or ''} skipped".strip(" ·")
        else:
            title = _TITLES.get(node) or node.replace("_", " ").capitalize()
        body.append(_short(summary))
    if error and error not in summary:
        body.append(f"**Error:** {_short(str(error))}")
    meta: dict[str, Any] = {"title": f"{WARNING_SIGN} {title}" if error else title,
                            "status": "done",
                            "duration": round(float(rec.seconds or 0.0), 2)}
    if rec.cached:
        meta["log"] = "cached"
    return {"role": "assistant", "content": "\n\n".join(b for b in body if b) or title,
            "metadata": meta}


def event_messages(event: StepEvent) -> list[Message]:
    """Chat messages for one streamed node event (one per displayable record)."""
    return [m for rec in event.records if (m := step_message(rec)) is not None]


#: Title prefix of the one message that holds the steps of an earlier turn.
STEPS_PREFIX = "Reasoning: "


def _is_step(message: Message) -> bool:
    meta = message.get("metadata") or {}
    return meta.get("status") == "done" and bool(meta.get("title"))


def compact_steps(messages: list[Message]) -> list[Message]:
    """Earlier turns with each turn's step messages folded into one collapsible message.

    A long conversation stays light for the browser: a finished turn keeps its
    question, one "Reasoning: N steps" message (each step's title and first
    line) and its answer.
    """
    out: list[Message] = []
    group: list[Message] = []

    def flush() -> None:
        if len(group) == 1 and str(group[0]["metadata"]["title"]).startswith(STEPS_PREFIX):
            out.append(group[0])
        elif group:
            seconds = sum(float(m["metadata"].get("duration") or 0.0) for m in group)
            lines = []
            for m in group:
                first = str(m.get("content") or "").strip().splitlines()
                lines.append(f"- **{m['metadata']['title']}**"
                             + (f" — {_short(first[0], 160)}" if first else ""))
            out.append({"role": "assistant", "content": "\n".join(lines),
                        "metadata": {"title": f"{STEPS_PREFIX}{len(group)} steps",
                                     "status": "done", "duration": round(seconds, 2)}})
        group.clear()

    for message in messages:
        if _is_step(message):
            group.append(message)
        else:
            flush()
            out.append(message)
    flush()
    return out


def pending_message(what: str) -> Message:
    """A spinner message saying what runs now (replaced when the next event arrives)."""
    return {"role": "assistant", "content": "…",
            "metadata": {"title": what, "status": "pending"}}


def next_work(event: StepEvent) -> str:
    """What the agent does after ``event``, for the pending message."""
    if event.node == "ingest":
        return "Planning…"
    if event.node == "execute":
        for rec in event.records:
            if rec.summary.startswith("dispatching "):
                return "Running " + rec.summary[len("dispatching "):] + "…"
    if event.node in ("plan", "tool"):
        return "Gathering evidence…"
    if event.node == "decide":
        return "Deciding…"
    if event.node == "refine":
        return "Checking the answer…"
    return "Working…"


def answer_message(result: AgentResult) -> Message:
    """The final answer as a normal message, with the evidence it cites."""
    by_id = by_step(result.evidence)
    cited = [by_id[s] for s in result.cited if s in by_id]
    text = result.answer
    if cited:
        text += "\n\n**Evidence**\n" + "\n".join(
            f"- {e.step_id} · {e.tool}: {_short(e.summary, 200)}" for e in cited)
    return {"role": "assistant", "content": text}


def review_message() -> Message:
    """The message shown while the plan waits for the user's approval."""
    return {"role": "assistant",
            "content": "Edit the plan JSON if you like, then press **Run this plan**.",
            "metadata": {"title": "Waiting for your approval of the plan", "status": "pending"}}


def error_message(text: str) -> Message:
    """An error shown in the chat (the page itself never breaks)."""
    return {"role": "assistant", "content": f"{WARNING_SIGN} {text}"}


@dataclass(frozen=True, eq=False)
class Picture:
    """An image and what to outline on it.

    Attributes:
        image: ``HxWx3 uint8 RGB``.
        dets: Boxes (XYXY pixels), masks and OCR text to outline; None for the image alone.
    """

    image: np.ndarray
    dets: Detections | None = None

    def captions(self) -> list[str]:
        """The label written beside each detection: what it is, and the confidence."""
        if self.dets is None:
            return []
        out = []
        for i in range(len(self.dets)):
            text = self.dets.describe(i)
            if self.dets.text is None or not self.dets.text[i]:
                text += f" {float(self.dets.confidence[i]):.2f}"
            out.append(text)
        return out

    def render(self) -> Image.Image:
        """The picture as shown: outlines and labels drawn, object pixels untouched."""
        if self.dets is None or not len(self.dets):
            return Image.fromarray(self.image)
        return draw_detections(self.image, self.dets, captions=self.captions())

    def boxes(self) -> list[dict[str, Any]]:
        """``label``, ``xyxy`` (pixels, clipped to the image), ``confidence`` and ``text``."""
        if self.dets is None:
            return []
        return boxes_of(self.dets, self.image.shape[:2])


def boxes_of(dets: Detections, shape: tuple[int, ...]) -> list[dict[str, Any]]:
    """Detections as JSON-able boxes: ``label``, ``xyxy`` (int pixels, clipped), ``confidence``,
    and ``text`` for OCR."""
    h, w = shape[:2]
    out = []
    for i in range(len(dets)):
        x1, y1, x2, y2 = (int(round(float(v))) for v in dets.xyxy[i])
        box: dict[str, Any] = {"label": str(dets.label[i]),
                               "xyxy": [max(0, min(x1, w)), max(0, min(y1, h)),
                                        max(0, min(x2, w)), max(0, min(y2, h))],
                               "confidence": round(float(dets.confidence[i]), 3)}
        if dets.text is not None and dets.text[i]:
            box["text"] = str(dets.text[i])
        out.append(box)
    return out


def step_choice(step: str | None, tool: str | None, n: int) -> str:
    """Picture-choice label of a tool step: ``"s1 · detect (3)"``."""
    return f"{step or '?'} · {tool or '?'} ({n})"


def result_pictures(result: AgentResult) -> dict[str, Picture]:
    """Every picture of a finished run: the answer's evidence, each step, the image alone."""
    pictures = {ANSWER_CHOICE: Picture(result.image, result.detections)}
    tools = {e.step_id: e.tool for e in result.evidence}
    for sid, dets in result.step_detections().items():
        pictures[step_choice(sid, tools.get(sid), len(dets))] = Picture(result.image, dets)
    pictures[IMAGE_CHOICE] = Picture(result.image)
    return pictures


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def structured_answer(result: AgentResult) -> dict[str, Any]:
    """The answer as data, for API clients: ``answer``, ``evidence`` and ``boxes``.

    ``answer`` is in the agent's style (plain by default) and
    ``answer_grounded`` carries step citations and pixel boxes. ``evidence`` lists every tool step (``step_id``, ``tool``, ``summary``,
    ``cited``, ``boxes``); ``boxes`` are the detections behind the answer
    (``label``, ``xyxy`` pixels, ``confidence``, ``text``).
    """
    steps = result.step_detections()
    cited = set(result.cited)
    evidence = [{"step_id": e.step_id, "tool": e.tool, "summary": e.summary,
                 "cited": e.step_id in cited,
                 "boxes": boxes_of(steps[e.step_id], result.image.shape)
                 if e.step_id in steps else []}
                for e in result.evidence]
    return _jsonable({"status": "answered", "question": result.question,
                      "answer": result.answer, "answer_grounded": result.answer_grounded,
                      "cited": result.cited, "evidence": evidence,
                      "boxes": boxes_of(result.detections, result.image.shape),
                      "image": {"width": int(result.image.shape[1]),
                                "height": int(result.image.shape[0])}})


def status_answer(status: str, **extra: Any) -> dict[str, Any]:
    """The structured answer of a run without a result (``running``, ``stopped``, ``error``,
    ``waiting for plan approval``)."""
    return _jsonable({"status": status, **extra})


def episode_messages(episode: Episode) -> list[Message]:
    """Chat messages of an episode (GUI or embodied): the instruction, then each step's
    perception, action and decision (:meth:`Episode.records`), then the outcome."""
    out: list[Message] = [{"role": "user", "content": episode.instruction}]
    out += [m for rec in episode.records() if (m := step_message(rec)) is not None]
    outcome = "Solved" if episode.success else "Not solved"
    out.append({"role": "assistant",
                "content": f"{outcome}: {episode.n_actions} actions, reward "
                           f"{episode.reward:.3f}, ended by {episode.ended_by}."})
    return out


def episode_pictures(episode: Episode, *, scale: int = 4) -> dict[str, Picture]:
    """Each step's observation with what was perceived, the chosen cell or point and the
    action drawn (:func:`lavr.episodes.draw.draw_step`), by picture-choice label
    ``"t3 · forward"``; steps kept without images are left out."""
    from lavr.episodes.draw import draw_step

    return {f"t{rec.step} · {rec.action.describe()}":
            Picture(np.asarray(draw_step(rec, scale=scale)))
            for rec in episode.steps if rec.image is not None}


def cached_png(cache_dir: str, image: Image.Image) -> str:
    """Write ``image`` as PNG under ``cache_dir``, named by content, once and atomically.

    The browser may fetch a picture while the next one is being written: a file
    is never rewritten in place, so it never sees half of one.
    """
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    data = buf.getvalue()
    folder = Path(cache_dir) / "lavr" / hashlib.sha256(data).hexdigest()[:32]
    path = folder / "image.png"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".{uuid.uuid4().hex}.tmp"
        tmp.write_bytes(data)
        os.replace(tmp, path)
    return str(path)
