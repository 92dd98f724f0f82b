"""The rule decision maker: after each round, stop or ask for more evidence."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from lavr.core_model.structured import Attempt
from lavr.planners.plan import Plan, Step
from lavr.tools.evidence import Evidence

#: Upsampling used when a first OCR pass found nothing.
RETRY_ZOOM = 2.5
#: OCR lines read with less confidence than this are read again, zoomed.
REREAD_BELOW = 0.8
#: Upsampling for re-reading one uncertain line.
REREAD_ZOOM = 2.0
#: At most this many lines are re-read.
MAX_REREADS = 3


@dataclass
class Decision:
    """What the decision maker chose.

    Attributes:
        action: ``continue`` (run pending steps), ``more`` (new steps added) or ``stop``.
        reason: One line for the trace.
        new_steps: Steps to append to the plan (for ``more``).
    """

    action: Literal["continue", "more", "stop"]
    reason: str
    new_steps: list[Step] = field(default_factory=list)


def _next_id(plan: Plan) -> str:
    used = {s.id for s in plan.steps}
    i = len(plan.steps) + 1
    while f"s{i}" in used:
        i += 1
    return f"s{i}"


class RuleDecider:
    """Stops when every step has run; retries OCR with zoom when it read nothing."""

    name = "rule"

    def decide(self, plan: Plan, evidence: list[Evidence], *, budget_left: int,
               attempts: list[Attempt] | None = None) -> Decision:
        """Decide after a round.

        Args:
            plan: The current plan.
            evidence: Evidence so far.
            budget_left: Tool calls still allowed.
            attempts: Unused (the rules call no model); part of the ``Decider`` interface.
        """
        done = {e.step_id for e in evidence}
        pending = [s.id for s in plan.steps if s.id not in done]
        if pending and budget_left > 0:
            return Decision("continue", f"{len(pending)} planned step(s) still to run: "
                            + ", ".join(pending))
        if pending:
            return Decision("stop", f"step budget spent; {len(pending)} step(s) not run")
        if plan.intent == "read" and budget_left > 0:
            decision = self._read_more(plan, evidence, budget_left)
            if decision is not None:
                return decision
        return Decision("stop", "all planned evidence gathered")

    def _read_more(self, plan: Plan, evidence: list[Evidence],
                   budget_left: int) -> Decision | None:
        """More OCR evidence: zoom when nothing was read, re-read uncertain lines."""
        ocr = [e for e in evidence if e.tool == "ocr" and e.ok]
        if not ocr:
            return None
        zoomed = [e for e in ocr if float(e.arg("zoom", 1.0)) > 1.0]
        if not zoomed and not any(e.value for e in ocr):
            step = Step(id=_next_id(plan), tool="ocr", args={"zoom": RETRY_ZOOM},
                        why=f"no text read at 1x; read again upsampled {RETRY_ZOOM}x "
                            "for small text")
            return Decision("more", "OCR found nothing; trying again with zoom", [step])
        if zoomed:
            return None
        first = ocr[0]
        scores = first.scores
        boxes = first.boxes
        weak = [(i, s) for i, s in enumerate(scores) if s < REREAD_BELOW and i < len(boxes)]
        weak = weak[:min(MAX_REREADS, budget_left)]
        if not weak:
            return None
        steps = []
        for i, score in weak:
            x1, y1, x2, y2 = boxes[i]
            pad = 0.15 * (y2 - y1) + 4
            region = [round(max(0.0, x1 - pad), 1), round(max(0.0, y1 - pad), 1),
                      round(x2 + pad, 1), round(y2 + pad, 1)]
            sid = _next_id(plan.model_copy(update={"steps": plan.steps + steps}))
            steps.append(Step(id=sid, tool="ocr",
                              args={"region": region, "zoom": REREAD_ZOOM},
                              why=f"line {i + 1} was read with confidence {score:.2f}; "
                                  f"read it again zoomed {REREAD_ZOOM}x"))
        return Decision("more", f"{len(steps)} OCR line(s) uncertain; re-reading zoomed", steps)
