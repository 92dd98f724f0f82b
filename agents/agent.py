"""The public Python API: :class:`VisualAgent`."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from typing import Any

from lavr.agents.graph import compile_graph
from lavr.agents.nodes import DEFAULT_MAX_STEPS
from lavr.agents.result import AgentResult, StepEvent
from lavr.agents.state import AgentContext
from lavr.core_model.errors import InputError
from lavr.core_model.images import ImageLike, load_image
from lavr.planners.rule import RulePlanner
from lavr.tools.base import ArtifactStore, ExpertPool, ResultCache
from lavr.tools.registry import ToolRegistry, default_registry

logger = logging.getLogger(__name__)

#: Longest accepted question, in characters.
MAX_QUESTION_CHARS = 2000


def clean_question(question: str) -> str:
    """Strip a question and check it is usable.

    Raises:
        InputError: Empty, not text, or longer than :data:`MAX_QUESTION_CHARS`.
    """
    if not isinstance(question, str):
        raise InputError(f"question must be text, got {type(question).__name__}")
    q = "".join(ch if ch.isprintable() else " " for ch in question).strip()
    q = " ".join(q.split())
    if not q:
        raise InputError("question is empty")
    if len(q) > MAX_QUESTION_CHARS:
        raise InputError(f"question is {len(q)} characters long; the limit is "
                         f"{MAX_QUESTION_CHARS}")
    return q


class VisualAgent:
    """Answers questions about images with vision experts, through the LangGraph graph.

    Args:
        detector: Detector name (``auto``, ``shapes``, ``coco``, ``yolo-world``,
            ``yoloe`` or a ``.pt`` path).
        max_steps: Tool-call budget per question.
        verify: Whether the verify node runs after refine.
        planner: Controller with a ``plan(question) -> Plan`` method (rule planner by default).
        registry: Tools (all built-ins by default).
        checkpointer: A LangGraph checkpointer (e.g. ``SqliteSaver``) for sessions.
        memory_budget_mb: Unload least-recently-used experts beyond this estimate.
        device: ``auto`` (CUDA when present, else CPU), ``cpu`` or ``cuda``.
    """

    def __init__(self, *, detector: str = "auto", max_steps: int = DEFAULT_MAX_STEPS,
                 verify: bool = True, planner: Any = None, registry: ToolRegistry | None = None,
                 checkpointer: Any = None, memory_budget_mb: float | None = None,
                 device: str = "auto") -> None:
        if max_steps < 1:
            raise InputError(f"max_steps must be at least 1, got {max_steps}")
        self.context = AgentContext(
            registry=registry or default_registry(), artifacts=ArtifactStore(),
            experts=ExpertPool(memory_budget_mb), cache=ResultCache(),
            planner=planner or RulePlanner(), settings={"detector": detector, "device": device},
            verify=verify)
        self.max_steps = max_steps
        self.checkpointer = checkpointer
        self.graph = compile_graph(checkpointer=checkpointer)

    def _inputs(self, image: ImageLike, question: str, max_steps: int | None) -> dict[str, Any]:
        q = clean_question(question)
        arr = load_image(image)
        ref = self.context.artifacts.put(arr, prefix="raw")
        return {"question": q, "image_ref": ref, "max_steps": max_steps or self.max_steps,
                "evidence": [], "trace": [], "stop_reason": "", "answer": "", "cited": []}

    def _config(self, thread_id: str | None) -> dict[str, Any]:
        cfg: dict[str, Any] = {"recursion_limit": 200}
        if self.checkpointer is not None:
            cfg["configurable"] = {"thread_id": thread_id or uuid.uuid4().hex}
        return cfg

    def run(self, image: ImageLike, question: str, *, max_steps: int | None = None,
            thread_id: str | None = None) -> AgentResult:
        """Answer ``question`` about ``image``.

        Args:
            image: Path, bytes, PIL image or ``HxWx3`` array.
            question: The question (at most :data:`MAX_QUESTION_CHARS` characters).
            max_steps: Override the tool-call budget for this question.
            thread_id: Checkpointer thread (with a checkpointer).

        Raises:
            InputError: Bad image or question (``ImageError`` for images).
        """
        final: dict[str, Any] = {}
        for _ in self._stream(image, question, max_steps, thread_id, final):
            pass
        return self._result(final, thread_id)

    def stream(self, image: ImageLike, question: str, *, max_steps: int | None = None,
               thread_id: str | None = None) -> Iterator[StepEvent | AgentResult]:
        """Yield a :class:`StepEvent` as each node finishes, then the :class:`AgentResult`."""
        final: dict[str, Any] = {}
        yield from self._stream(image, question, max_steps, thread_id, final)
        yield self._result(final, thread_id)

    def _stream(self, image: ImageLike, question: str, max_steps: int | None,
                thread_id: str | None, final: dict[str, Any]) -> Iterator[StepEvent]:
        inputs = self._inputs(image, question, max_steps)
        cfg = self._config(thread_id)
        final["_thread"] = cfg.get("configurable", {}).get("thread_id")
        for mode, chunk in self.graph.stream(inputs, cfg, context=self.context,
                                             stream_mode=["updates", "values"]):
            if mode == "values":
                final.update(chunk)
                continue
            for node, update in chunk.items():
                if not isinstance(update, dict):
                    continue
                yield StepEvent(node=node, records=list(update.get("trace", [])),
                                update={k: v for k, v in update.items() if k != "trace"})

    def _result(self, state: dict[str, Any], thread_id: str | None) -> AgentResult:
        image = self.context.artifacts.get(state["image_id"])
        return AgentResult(
            question=state["question"], answer=state.get("answer", ""),
            steps=list(state.get("trace", [])), evidence=list(state.get("evidence", [])),
            plan=dict(state.get("plan", {})), cited=list(state.get("cited", [])), image=image,
            image_hash=state["image_hash"], thread_id=state.get("_thread") or thread_id,
            _artifacts=self.context.artifacts)
