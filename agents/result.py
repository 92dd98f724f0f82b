"""What a run returns: :class:`AgentResult` and the typed stream events."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from lavr.tools.base import ArtifactStore
from lavr.tools.detections import Detections
from lavr.tools.draw import draw_detections
from lavr.tools.evidence import Evidence, by_step
from lavr.tools.trace import TraceEvent


@dataclass
class StepEvent:
    """One streamed event: a node finished and added these trace records.

    Attributes:
        node: Graph node name (``ingest``, ``plan``, ``tool``, ``decide``...).
        records: The trace events it added.
        update: The raw partial state update (small values only).
    """

    node: str
    records: list[TraceEvent]
    update: dict[str, Any] = field(default_factory=dict)


@dataclass
class PlanReview:
    """The run paused after planning and waits for approval (``review_plan=True``).

    Continue with ``agent.resume(thread_id)`` or ``agent.resume(thread_id, plan=edited)``.

    Attributes:
        thread_id: The paused checkpointer thread.
        question: The question being answered.
        plan: The proposed plan (``Plan.model_dump()``), editable.
    """

    thread_id: str
    question: str
    plan: dict[str, Any]


@dataclass
class AgentResult:
    """The answer and everything that led to it.

    Attributes:
        question: The question asked.
        answer: The final answer text in the agent's ``style``.
        steps: The trace: one :class:`~lavr.tools.trace.TraceEvent` per node/tool event.
        evidence: One :class:`~lavr.tools.evidence.Evidence` per tool step.
        plan: The final plan (``Plan.model_dump()``).
        cited: Step ids the answer cites.
        image: The normalised ``HxWx3 uint8 RGB`` image.
        image_hash: Its content hash.
        thread_id: Checkpointer thread, if any.
        history: Earlier turns of the thread, oldest first: ``question``,
            ``answer``, ``cited``, ``image_hash``.
        reasoning: The reasoning chain or tree (``kind`` ``chain`` or ``tree``;
            empty when chain-of-thought is off); print it with
            :func:`lavr.planners.cot.render_reasoning`.
        demos: The in-context demos chosen for the question (``id``, ``task``,
            ``score``, ``text_sim``, ``image_sim``, ``instruction``).
        answers: The final answer in every style: ``plain`` (no citations or
            boxes) and ``grounded`` (step-id citations and pixel boxes).
        style: Which of ``answers`` is ``answer``.
    """

    question: str
    answer: str
    steps: list[TraceEvent]
    evidence: list[Evidence]
    plan: dict[str, Any]
    cited: list[str]
    image: np.ndarray
    image_hash: str
    thread_id: str | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    reasoning: dict[str, Any] = field(default_factory=dict)
    demos: list[dict[str, Any]] = field(default_factory=list)
    answers: dict[str, str] = field(default_factory=dict)
    style: str = "plain"
    _artifacts: ArtifactStore | None = field(default=None, repr=False)

    @property
    def answer_plain(self) -> str:
        """The answer as a person would write it (no citations, boxes or step ids)."""
        return self.answers.get("plain", self.answer)

    @property
    def answer_grounded(self) -> str:
        """The answer with the step ids it rests on (``[s2]``) and pixel boxes."""
        return self.answers.get("grounded", self.answer)

    def answer_evidence(self) -> list[dict[str, Any]]:
        """The cited evidence as structured data: ``step_id``, ``tool``, ``summary``, ``boxes``.

        Boxes are XYXY pixels. This is what the plain answer rests on.
        """
        by_id = by_step(self.evidence)
        return [{"step_id": sid, "tool": by_id[sid].tool, "summary": by_id[sid].summary,
                 "boxes": list(by_id[sid].boxes)}
                for sid in self.cited if sid in by_id]

    def _dets_of(self, step_id: str) -> Detections | None:
        rec = next((e for e in self.evidence if e.step_id == step_id), None)
        if rec is None or self._artifacts is None:
            return None
        return self._artifacts.find_detections(rec.artifact_id)

    def step_detections(self) -> dict[str, Detections]:
        """Detections of every step that produced some, by step id, in evidence order."""
        found = {e.step_id: self._dets_of(e.step_id) for e in self.evidence}
        return {sid: d for sid, d in found.items() if d is not None}

    @property
    def detections(self) -> Detections:
        """Detections behind the answer: the latest cited step of each chain that has any."""
        ids = self.cited or [e.step_id for e in self.evidence]
        chosen = [sid for sid in ids if self._dets_of(sid) is not None]
        steps = {s["id"]: s for s in self.plan.get("steps", [])}
        feeds = {steps[sid]["args"].get(k) for sid in chosen if sid in steps
                 for k in ("source", "a", "b")}
        leaves = [sid for sid in chosen if sid not in feeds]
        picked = [d for sid in leaves if (d := self._dets_of(sid)) is not None]
        return Detections.merge(picked)

    def annotated_image(self) -> Image.Image:
        """The image with the answer's boxes, masks and OCR text drawn."""
        return draw_detections(self.image, self.detections)

    def save_annotated(self, path: str | Path) -> Path:
        """Write :meth:`annotated_image` to ``path`` (format from the suffix)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.annotated_image().save(path)
        return path

    def save_html(self, path: str | Path) -> Path:
        """Write a self-contained HTML trace (pictures inlined as base64 PNG) to ``path``."""
        from lavr.agents.html_report import render_html

        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render_html(self), encoding="utf-8")
        return path

    @property
    def fallbacks(self) -> list[str]:
        """Where the run fell back, one line each (``[]``: nothing did).

        A model reply that stayed unusable after its re-asks (the rules took over), a
        model or expert that failed, a check that could not run, the run's deadline.
        """
        out = []
        for rec in self.steps:
            if rec.fallback:
                why = f" ({rec.error})" if rec.error else ""
                line = f"{rec.node}: {rec.summary}{why}"
                out.append(line if len(line) <= 300 else line[:297] + "...")
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-able summary: answer, steps, evidence, plan, detections, fallbacks."""
        return {
            "question": self.question,
            "answer": self.answer,
            "fallbacks": self.fallbacks,
            "style": self.style,
            "answer_plain": self.answer_plain,
            "answer_grounded": self.answer_grounded,
            "cited": self.cited,
            "answer_evidence": self.answer_evidence(),
            "image": {"width": int(self.image.shape[1]), "height": int(self.image.shape[0]),
                      "hash": self.image_hash},
            "plan": self.plan,
            "steps": [e.to_dict() for e in self.steps],
            "evidence": [{k: v for k, v in e.to_record().items() if k != "artifact_id"}
                         for e in self.evidence],
            "detections": self.detections.to_records(),
            "thread_id": self.thread_id,
            "history": self.history,
            "reasoning": self.reasoning or None,
            "demos": self.demos,
        }

    def to_json(self, *, indent: int | None = 2) -> str:
        """:meth:`to_dict` as a JSON string."""
        return json.dumps(self.to_dict(), indent=indent, default=str)


#: What ``VisualAgent.stream`` / ``astream`` / ``resume`` yield: step events, then
#: either the result or (with ``review_plan=True``) a plan waiting for approval.
StreamEvent = StepEvent | PlanReview | AgentResult
