"""What the demo shows, as plain data: chat messages for steps and answers, evidence pictures.

Nothing here imports Gradio: messages are ``{"role", "content", "metadata"}``
dicts (the Gradio ``Chatbot`` messages format, metadata as in
``gr.ChatMessage``), pictures are ``gr.AnnotatedImage`` values
``(HxWx3 uint8 image, [(box_or_mask, label), ...])``.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from lavr.agents.result import AgentResult, StepEvent
from lavr.tools.detections import Detections

Message = dict[str, Any]
Annotated = tuple[np.ndarray, list[tuple[Any, str]]]

#: Label of the picture choice showing the evidence the answer cites.
ANSWER_CHOICE = "Answer evidence"

#: Marks a failed step (U+26A0, in common text fonts: no emoji font needed).
WARNING_SIGN = "\u26a0"
_LONGEST_SUMMARY = 600


def _short(text: str, limit: int = _LONGEST_SUMMARY) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _json_block(value: Any) -> str:
    return "```json\n" + json.dumps(value, indent=1, default=str) + "\n```"


def step_message(rec: dict[str, Any]) -> Message | None:
    """A collapsible chat message for one trace record (None for bookkeeping records).

    The metadata carries the title, ``status`` (``done``) and ``duration`` in seconds.
    """
    node = str(rec.get("node", "?"))
    summary = str(rec.get("summary", ""))
    error = rec.get("error")
    if node == "execute" and not error:
        return None  # "dispatching s1=..." is followed by the tool messages themselves
    body: list[str] = []
    if node == "plan":
        plan = rec.get("plan") or {}
        title = "Plan (edited)" if "edited by the user" in summary else "Plan"
        body.append(_short(summary))
        for step in plan.get("steps", []):
            why = f" — {step['why']}" if step.get("why") else ""
            body.append(f"- **{step['id']}** `{step['tool']}` "
                        f"`{json.dumps(step.get('args', {}), default=str)}`{why}")
        body += [f"> {line}" for line in plan.get("reasoning", [])]
    elif node == "tool":
        title = f"{rec.get('step', '')} · {rec.get('tool', '')}".strip(" ·")
        title += " failed" if error else ""
        body.append(_short(summary))
        if rec.get("args"):
            body.append(_json_block(rec["args"]))
    elif node == "decide":
        action, _, reason = summary.partition(": ")
        title = f"Decision: {action}"
        body.append(_short(reason or summary))
    elif node == "refine":
        title = "Answer drafted"
        cited = rec.get("cited") or []
        body.append(_short(summary) + (f"\n\nCites {', '.join(cited)}." if cited else ""))
    elif node == "verify":
        title = "Check and correction"
        body.append(_short(summary))
    elif node == "demos":
        title = "In-context examples"
        body.append(_short(summary))
    elif node == "reason":
        title = "Chain of thought"
        body.append(_short(summary))
    elif node == "ingest":
        title = "Image"
        body.append(_short(summary))
    elif node == "execute":
        title = f"{rec.get('step', '')} · {rec.get('tool', '')} skipped".strip(" ·")
        body.append(_short(summary))
    else:
        title = node.replace("_", " ").capitalize()
        body.append(_short(summary))
    if error and error not in summary:
        body.append(f"**Error:** {_short(str(error))}")
    meta: dict[str, Any] = {"title": f"{WARNING_SIGN} {title}" if error else title,
                            "status": "done",
                            "duration": round(float(rec.get("seconds") or 0.0), 2)}
    if rec.get("cached"):
        meta["log"] = "cached"
    return {"role": "assistant", "content": "\n\n".join(b for b in body if b) or title,
            "metadata": meta}


def event_messages(event: StepEvent) -> list[Message]:
    """Chat messages for one streamed node event (one per displayable record)."""
    return [m for rec in event.records if (m := step_message(rec)) is not None]


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
            if rec.get("summary", "").startswith("dispatching "):
                return "Running " + rec["summary"][len("dispatching "):] + "…"
    if event.node in ("plan", "tool"):
        return "Gathering evidence…"
    if event.node == "decide":
        return "Deciding…"
    if event.node == "refine":
        return "Checking the answer…"
    return "Working…"


def answer_message(result: AgentResult) -> Message:
    """The final answer as a normal message, with the evidence it cites."""
    by_id = {e["step_id"]: e for e in result.evidence}
    cited = [by_id[s] for s in result.cited if s in by_id]
    text = result.answer
    if cited:
        text += "\n\n**Evidence**\n" + "\n".join(
            f"- {e['step_id']} · {e['tool']}: {_short(str(e.get('summary', '')), 200)}"
            for e in cited)
    return {"role": "assistant", "content": text}


def review_message() -> Message:
    """The message shown while the plan waits for the user's approval."""
    return {"role": "assistant",
            "content": "Edit the plan JSON if you like, then press **Run this plan**.",
            "metadata": {"title": "Waiting for your approval of the plan", "status": "pending"}}


def error_message(text: str) -> Message:
    """An error shown in the chat (the page itself never breaks)."""
    return {"role": "assistant", "content": f"{WARNING_SIGN} {text}"}


def _label(dets: Detections, i: int, prefix: str) -> str:
    text = dets.describe(i)
    if dets.text is None or not dets.text[i]:
        text += f" {float(dets.confidence[i]):.2f}"
    return f"{prefix}{text}"


def annotations(image: np.ndarray, dets: Detections, *, prefix: str = "") -> Annotated:
    """An ``AnnotatedImage`` value: boxes (XYXY pixels, clipped) or masks, labelled.

    Args:
        image: ``HxWx3 uint8 RGB``.
        dets: Boxes, masks (``(N, H, W)`` bool, drawn as masks when they match
            the image) and OCR text.
        prefix: Put before each label (e.g. the step id).
    """
    h, w = image.shape[:2]
    items: list[tuple[Any, str]] = []
    use_masks = dets.mask is not None and dets.mask.shape[1:] == (h, w)
    for i in range(len(dets)):
        label = _label(dets, i, prefix)
        if use_masks and dets.mask is not None:
            items.append((dets.mask[i].astype(np.float32), label))
            continue
        x1, y1, x2, y2 = (int(round(float(v))) for v in dets.xyxy[i])
        box = (max(0, min(x1, w - 1)), max(0, min(y1, h - 1)),
               max(0, min(x2, w)), max(0, min(y2, h)))
        items.append((box, label))
    return image, items


def step_choice(rec: dict[str, Any], n: int) -> str:
    """Picture-choice label of a tool step: ``"s1 · detect (3)"``."""
    return f"{rec.get('step', '?')} · {rec.get('tool', '?')} ({n})"


def result_pictures(result: AgentResult) -> dict[str, Annotated]:
    """Every picture of a finished run: the answer's evidence first, then each step."""
    pictures = {ANSWER_CHOICE: annotations(result.image, result.detections)}
    tools = {e["step_id"]: e for e in result.evidence}
    for sid, dets in result.step_detections().items():
        rec = {"step": sid, "tool": tools.get(sid, {}).get("tool", "?")}
        pictures[step_choice(rec, len(dets))] = annotations(result.image, dets,
                                                            prefix=f"{sid}: ")
    return pictures
