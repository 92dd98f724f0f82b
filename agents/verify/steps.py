"""Stage 3's tool steps run by the graph's own tool execution.

Verification asks the vision experts through the same tools, registry, result cache,
artifact store and deadline as the agent's plan steps
(:func:`lavr.agents.nodes.run_step`): what the run already computed on the image (a
detector pass, colour names of boxes, an OCR read) comes back from the result cache
instead of being computed again, and no verification code calls an expert directly.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Protocol

import numpy as np

from lavr.agents.nodes import run_step
from lavr.agents.state import AgentContext
from lavr.core_model.images import image_hash
from lavr.planners.plan import Step
from lavr.tools.base import ExpertPool
from lavr.tools.detections import Detections
from lavr.tools.errors import ToolError
from lavr.tools.evidence import Evidence

#: Step ids of verification steps: ``v1``, ``v2`` ... (plan steps are ``s1`` ...).
STEP_PREFIX = "v"


class ToolSteps(Protocol):
    """Runs one tool step on an image and returns its evidence (never raises for a tool's
    failure: a failed step is evidence with an error)."""

    def offers(self, tool: str) -> bool:
        """Whether the tool is available (registered) to this agent."""
        ...

    def new_id(self) -> str:
        """A step id not given out before (``v1``, ``v2`` ...)."""
        ...

    def run(self, image: np.ndarray, step: Step, *, inputs: Sequence[Evidence] = ()) -> Evidence:
        """Run ``step`` on ``image`` (``HxWx3 uint8 RGB``); ``inputs`` are the evidence of
        the steps its arguments refer to."""
        ...

    def detections(self, evidence: Evidence) -> Detections | None:
        """The detections (boxes, text lines) a step stored, or None."""
        ...


class ContextSteps:
    """:class:`ToolSteps` on an agent's context (the graph's run, or a standalone one).

    Args:
        context: The agent's context: registry, artifact store, result cache, experts,
            settings and model.
        image_id: Id of the run's image in ``context.artifacts`` (with ``image_hash``),
            so it is neither stored nor hashed again.
        image_hash: Content hash of that image.
    """

    def __init__(self, context: AgentContext, *, image_id: str | None = None,
                 image_hash: str | None = None) -> None:
        self.context = context
        self._known: tuple[str, str] | None = (image_id, image_hash) \
            if image_id and image_hash else None
        self._placed: tuple[np.ndarray, str, str] | None = None
        self._n = 0
        self._lock = threading.Lock()
        #: Every step run, in order (the trace of the verifier's expert calls).
        self.evidence: list[Evidence] = []

    def offers(self, tool: str) -> bool:
        return tool in self.context.registry

    def _place(self, image: np.ndarray) -> tuple[str, str]:
        """``(image_id, image_hash)`` of ``image`` in the artifact store (stored once)."""
        if self._placed is not None and self._placed[0] is image:
            return self._placed[1], self._placed[2]
        arts = self.context.artifacts
        if self._known is not None and self._known[0] in arts and \
                arts.get(self._known[0]) is image:
            image_id, digest = self._known
        else:
            digest = image_hash(image)
            image_id = arts.put(image, key=f"img_{digest}")
        self._placed = (image, image_id, digest)
        return image_id, digest

    def new_id(self) -> str:
        with self._lock:
            self._n += 1
            return f"{STEP_PREFIX}{self._n}"

    def run(self, image: np.ndarray, step: Step, *, inputs: Sequence[Evidence] = ()) -> Evidence:
        image_id, digest = self._place(image)
        rec, _ = run_step(step, {"image_id": image_id, "image_hash": digest,
                                 "inputs": {e.step_id: e for e in inputs}}, self.context,
                          keep=False)
        self.evidence.append(rec)
        return rec

    def detections(self, evidence: Evidence) -> Detections | None:
        return self.context.artifacts.find_detections(evidence.artifact_id)


def standalone_steps(*, detector: str = "auto", device: str = "auto",
                     experts: ExpertPool | None = None) -> ContextSteps:
    """:class:`ContextSteps` outside an agent: the built-in tools, a result cache and an
    artifact store of their own, models loaded into ``experts``."""
    from lavr.tools.registry import default_registry

    settings: dict[str, str | int | float | bool | None] = {"detector": detector,
                                                             "device": device}
    return ContextSteps(AgentContext(registry=default_registry(),
                                     experts=experts if experts is not None else ExpertPool(),
                                     settings=settings))


def vqa_through(steps: ToolSteps) -> Callable[[np.ndarray, str], str]:
    """``vqa(image, question) -> reply`` through the ``vqa`` tool step (the agent's model).

    Raises (from the returned function):
        ToolError: The step failed.
    """

    def ask(image: np.ndarray, question: str) -> str:
        rec = steps.run(image, Step(id=steps.new_id(), tool="vqa", args={"question": question},
                                    why="verify: what no expert could tell"))
        if rec.failed:
            raise ToolError("vqa", rec.error or "no reply")
        return str(rec.value)
    return ask
