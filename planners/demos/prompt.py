"""In-context prompts: selected demos rendered as messages for each kind of backend.

Three layouts, one function (:func:`icl_messages`):

* ``chat`` (multimodal backends with a chat template): one user turn per demo
  (its image, then its instruction) and one assistant turn (its response),
  then the question's turn with its image.
* ``instruction`` (the classic layout, one user turn)::

      ### Instruction:
      How many circles are there?
      ### Image:
      <image>
      ### Response:
      There are two circles.

  repeated per demo, ending with the question and an open ``### Response:``.
* text-only models (``sees_images=False``) get either layout with every image
  replaced by what the experts found in it (the demo's ``image_summary``), so
  the demos still say what was in the picture.

A text-only demo (no images, like the built-in plan demos) is its instruction
and reply alone in every layout.

The response of a demo is its answer (``response="answer"``), its plan as the
LLM controller writes plans (``"plan"``), or anything a function of the demo
returns. With ``rationale=True`` (few-shot chain-of-thought) the demo's
reasoning chain comes before its response.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from lavr.core_model.messages import ImagePart, Message, Part, TextPart
from lavr.planners.demos.select import SelectedDemo
from lavr.planners.demos.store import DemoRecord, DemoStore

Layout = Literal["chat", "instruction"]
#: What a text-only model is told about the question's own image.
QUERY_IMAGE_TEXT = "(not shown to you; the vision tools will look at it)"
#: How a text-only model is told about a demo's image.
DEMO_IMAGE_TEXT = "(described by the vision experts) {summary}"


def answer_reply(demo: DemoRecord) -> str:
    """The demo's answer."""
    return demo.response


def plan_reply(demo: DemoRecord, *, reasoning: bool = False) -> str:
    """The demo's plan as the LLM controller writes plans (one JSON object).

    ``{"intent", "target", "steps": [{"tool", "args"}...], "answer_step"}``,
    plus ``"reasoning"`` (the rationale) when asked. Falls back to the answer
    when the demo has no plan.
    """
    plan = demo.parsed_plan()
    if plan is None:
        return demo.response
    out: dict[str, Any] = {"intent": plan.intent, "target": plan.target}
    if reasoning and demo.rationale:
        out["reasoning"] = list(demo.rationale)
    if plan.relation:
        out["relation"] = plan.relation
    out["steps"] = [{"tool": s.tool, "args": s.args} for s in plan.steps]
    default_ids = [f"s{i}" for i in range(1, len(plan.steps) + 1)]
    if [s.id for s in plan.steps] != default_ids:
        for d, s in zip(out["steps"], plan.steps, strict=True):
            d["id"] = s.id
    if plan.answer_step and plan.answer_step != plan.steps[-1].id:
        out["answer_step"] = plan.answer_step
    return json.dumps(out)


def with_rationale(demo: DemoRecord, reply: str) -> str:
    """``Reasoning: 1. ... 2. ...`` then ``Answer: <reply>`` (the reply alone without a rationale)."""
    if not demo.rationale:
        return reply
    lines = [f"{i}. {r}" for i, r in enumerate(demo.rationale, start=1)]
    return "Reasoning:\n" + "\n".join(lines) + "\nAnswer: " + reply


def _demo_image_parts(demo: DemoRecord, images: Sequence[np.ndarray], n: int, *,
                      sees_images: bool) -> list[Part]:
    if not demo.images:  # a text-only demo
        return []
    if not sees_images:
        summary = demo.image_summary or "no description available"
        return [TextPart(DEMO_IMAGE_TEXT.format(summary=summary))]
    label = f"example {n} image"
    return [ImagePart(img, label if len(images) == 1 else f"{label} {j + 1}")
            for j, img in enumerate(images)]


def _query_image_parts(image: np.ndarray | None, *, sees_images: bool,
                       query_summary: str | None) -> list[Part]:
    if image is None and query_summary is None:
        return []
    if sees_images and image is not None:
        return [ImagePart(image, "the image")]
    return [TextPart(DEMO_IMAGE_TEXT.format(summary=query_summary) if query_summary
                     else QUERY_IMAGE_TEXT)]


def icl_messages(demos: Sequence[SelectedDemo | DemoRecord], store: DemoStore, question: str,
                 image: np.ndarray | None, *, layout: Layout = "chat", sees_images: bool = True,
                 system: str | None = None,
                 response: Literal["answer", "plan"] | Callable[[DemoRecord], str] = "answer",
                 rationale: bool = False, question_prefix: str = "",
                 query_summary: str | None = None) -> list[Message]:
    """The conversation: optional system turn, the demos, then the question.

    Args:
        demos: Demos in prompt order (from :meth:`DemoSelector.select` or records).
        store: The store holding their images.
        question: The question.
        image: Its ``HxWx3 uint8 RGB`` image (None: no image part).
        layout: ``chat`` turns or the classic ``instruction`` layout.
        sees_images: False renders images as expert summaries (text-only models).
        system: A system prompt to put first.
        response: What a demo's reply is: its ``answer``, its ``plan`` JSON, or a
            function of the demo.
        rationale: Put each demo's reasoning chain before its reply (few-shot CoT).
        question_prefix: Text before each instruction (e.g. ``"Question: "``).
        query_summary: For text-only models, what the experts already know about
            the question's image (else a note that it is not shown).
    """
    records = [d.demo if isinstance(d, SelectedDemo) else d for d in demos]
    if callable(response):
        reply_of = response
    elif response == "plan":
        def reply_of(d: DemoRecord) -> str:
            return plan_reply(d, reasoning=rationale)
    else:
        def reply_of(d: DemoRecord) -> str:
            return with_rationale(d, answer_reply(d)) if rationale else answer_reply(d)

    msgs: list[Message] = [Message.system(system)] if system else []
    query_parts = _query_image_parts(image, sees_images=sees_images,
                                     query_summary=query_summary)
    if layout == "instruction":
        parts: list[Part] = []
        for n, demo in enumerate(records, start=1):
            imgs = store.images(demo) if sees_images else []
            image_parts = _demo_image_parts(demo, imgs, n, sees_images=sees_images)
            parts.append(TextPart(f"### Instruction:\n{question_prefix}{demo.instruction}"
                                  + ("\n### Image:" if image_parts else "")))
            parts += image_parts
            parts.append(TextPart(f"### Response:\n{reply_of(demo)}\n"))
        parts.append(TextPart(f"### Instruction:\n{question_prefix}{question}\n### Image:"))
        parts += query_parts or [TextPart("(none)")]
        parts.append(TextPart("### Response:"))
        msgs.append(Message("user", tuple(parts)))
        return msgs
    for n, demo in enumerate(records, start=1):
        imgs = store.images(demo) if sees_images else []
        img_parts = _demo_image_parts(demo, imgs, n, sees_images=sees_images)
        msgs.append(Message("user", (*img_parts, TextPart(question_prefix + demo.instruction))))
        msgs.append(Message.assistant(reply_of(demo)))
    msgs.append(Message("user", (*query_parts, TextPart(question_prefix + question))))
    return msgs


def resolve_layout(fmt: str) -> Layout:
    """``auto`` → ``chat``; ``chat`` and ``instruction`` stay."""
    return "instruction" if fmt == "instruction" else "chat"


@dataclass(frozen=True)
class IclPrompt:
    """What the plan node hands a controller that reads demos (``reads_demos = True``).

    Attributes:
        demos: Demos in prompt order (the ``demos`` node's choice; empty: none).
        store: The store holding the demos' images.
        layout: ``chat`` turns or the classic ``instruction`` layout.
        rationale: Show each demo's reasoning chain (few-shot chain-of-thought).
        cot_instructions: Zero-shot chain-of-thought text for the system prompt.
    """

    demos: tuple[DemoRecord, ...] = ()
    store: DemoStore | None = None
    layout: Layout = "chat"
    rationale: bool = False
    cot_instructions: str = ""

    def messages(self, question: str, image: np.ndarray | None, *, sees_images: bool,
                 question_prefix: str = "Question: ") -> list[Message]:
        """The demo turns and the question (no system turn), replies as plan JSON."""
        if not self.demos or self.store is None:
            return icl_messages([], DemoStore("."), question, image, layout=self.layout,
                                sees_images=sees_images, question_prefix=question_prefix)
        return icl_messages(list(self.demos), self.store, question, image, layout=self.layout,
                            sees_images=sees_images, response="plan", rationale=self.rationale,
                            question_prefix=question_prefix)
