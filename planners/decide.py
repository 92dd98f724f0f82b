"""The rule decision maker: after each round, stop or ask for more evidence."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from lavr.planners.plan import Plan, Step

#: Upsampling used when a first OCR pass found nothing.
RETRY_ZOOM = 2.5


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

    def decide(self, plan: Plan, evidence: list[dict[str, Any]], *, budget_left: int) -> Decision:
        """Decide after a round.

        Args:
            plan: The current plan.
            evidence: Evidence records so far (``step_id``, ``tool``, ``value``, ``error``...).
            budget_left: Tool calls still allowed.
        """
        done = {e["step_id"] for e in evidence}
        pending = [s.id for s in plan.steps if s.id not in done]
        if pending and budget_left > 0:
            return Decision("continue", f"{len(pending)} planned step(s) still to run: "
                            + ", ".join(pending))
        if pending:
            return Decision("stop", f"step budget spent; {len(pending)} step(s) not run")
        if plan.intent == "read" and budget_left > 0:
            ocr = [e for e in evidence if e["tool"] == "ocr"]
            zoomed = any(float(e.get("args", {}).get("zoom", 1.0)) > 1.0 for e in ocr)
            if ocr and not zoomed and not any(e.get("value") for e in ocr):
                step = Step(id=_next_id(plan), tool="ocr", args={"zoom": RETRY_ZOOM},
                            why=f"no text read at 1x; read again upsampled {RETRY_ZOOM}x "
                                "for small text")
                return Decision("more", "OCR found nothing; trying again with zoom", [step])
        return Decision("stop", "all planned evidence gathered")
