"""The LLM refiner: the model as semantic refiner.

The model writes the answer from the evidence lines only (never the pixels),
citing step ids in square brackets. A reply is usable when it is non-empty,
not overlong, cites only steps that exist, and cites at least one step when
any step succeeded. Otherwise it is re-asked with the problems; when still
unusable :meth:`LLMRefiner.refine` raises and the refine node uses the rule
refiner instead.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Sequence
from typing import Any

from lavr.core_model.errors import LavrError, ModelError, ModelOutputError, log_recovered
from lavr.core_model.messages import Message
from lavr.core_model.model import MultimodalModel
from lavr.planners import compact
from lavr.planners.llm import ModelRole, format_evidence, render_prompt, successful_steps
from lavr.planners.plan import Plan

logger = logging.getLogger(__name__)

REFINE_MAX_TOKENS = 256
#: Longest accepted answer, in characters.
MAX_ANSWER_CHARS = 1500
_CITATION = re.compile(r"\[([A-Za-z][A-Za-z0-9_]*(?:\s*,\s*[A-Za-z][A-Za-z0-9_]*)*)\]")


def citations(text: str) -> list[str]:
    """Step ids cited as ``[s1]`` or ``[s1, s3]``, in order of first appearance."""
    ids: list[str] = []
    for m in _CITATION.finditer(text):
        for sid in m.group(1).split(","):
            sid = sid.strip()
            if sid and sid not in ids:
                ids.append(sid)
    return ids


def answer_problems(answer: str, plan: Plan, evidence: Sequence[dict[str, Any]], *,
                    max_chars: int = MAX_ANSWER_CHARS) -> list[str]:
    """Why an answer cannot be used (empty list: usable)."""
    text = answer.strip()
    if not text:
        return ["the answer is empty"]
    problems = []
    if len(text) > max_chars:
        problems.append(f"the answer is {len(text)} characters long; keep it under {max_chars}")
    known = {e["step_id"] for e in evidence} | {s.id for s in plan.steps}
    cited = citations(text)
    unknown = [c for c in cited if c not in known]
    if unknown:
        problems.append(f"it cites {', '.join(unknown)}, which are not steps "
                        f"(steps: {', '.join(sorted(known)) or 'none'})")
    ok = successful_steps(evidence)
    if ok and not [c for c in cited if c in known]:
        problems.append("it cites no evidence; cite the step ids you used in square brackets, "
                        f"e.g. [{ok[-1]}]")
    return problems


class LLMRefiner(ModelRole):
    """The model as semantic refiner (see the module docstring).

    Args:
        model: The model.
        retries: Re-asks after an unusable answer.
        max_new_tokens: Generation cap per answer.
        max_chars: Longest accepted answer.
    """

    def __init__(self, model: MultimodalModel, *, retries: int = 1,
                 max_new_tokens: int = REFINE_MAX_TOKENS,
                 max_chars: int = MAX_ANSWER_CHARS) -> None:
        self.retries = max(int(retries), 0)
        self.max_chars = max_chars
        self._init_role(model, max_new_tokens)


    def messages(self, plan: Plan, evidence: Sequence[dict[str, Any]]) -> list[Message]:
        """The conversation sent to the model: the role prompt with question and evidence."""
        if compact.wants_compact(self.model):
            return compact.refine_messages(plan, evidence)
        prompt = render_prompt("refine.md", question=plan.question,
                               evidence=format_evidence(plan, evidence))
        if plan.note:
            prompt += f"\n\nNote for the user: {plan.note}"
        return [Message.user(prompt)]

    def refine(self, plan: Plan, evidence: Sequence[dict[str, Any]], *,
               image_size: list[int] | None = None) -> tuple[str, list[str]]:
        """Write the answer.

        Args:
            plan: The plan that ran (its question is answered).
            evidence: Evidence records (``step_id``, ``summary``, ``error``...).
            image_size: ``[width, height]``, mentioned when boxes are cited.

        Returns:
            ``(answer, cited_step_ids)``.

        Raises:
            ModelOutputError: No usable answer after the re-asks.
            ModelError: The model failed.
        """
        attempts: list[dict[str, Any]] = []
        self._local.attempts = attempts
        msgs = self.messages(plan, evidence)
        if image_size and not compact.wants_compact(self.model):
            msgs[0] = Message.user(msgs[0].text + f"\n\nImage size: {image_size[0]}x"
                                   f"{image_size[1]} pixels; boxes are [x1, y1, x2, y2] pixels.")
        total = self.retries + 1
        problems: list[str] = []
        raw = ""
        for i in range(1, total + 1):
            t0 = time.perf_counter()
            try:
                raw = self.model.generate(msgs, max_new_tokens=self._max_tokens(),
                                          task="refine")
            except LavrError as exc:
                attempts.append(self._record(i, total, t0, error=f"model failed: {exc}"))
                raise
            except Exception as exc:  # noqa: BLE001 - a backend bug must not end the run
                log_recovered(logger, exc, "%s crashed while refining; the rule refiner writes "
                              "the answer", self.name)
                attempts.append(self._record(i, total, t0, error=f"model crashed: {exc}"))
                raise ModelError(f"{self.name} crashed: {type(exc).__name__}: {exc}") from exc
            answer = raw.strip()
            problems = answer_problems(answer, plan, evidence, max_chars=self.max_chars)
            attempts.append(self._record(i, total, t0, raw=raw,
                                         error="; ".join(problems) if problems else None))
            if not problems:
                known = {e["step_id"] for e in evidence}
                return answer, [c for c in citations(answer) if c in known]
            msgs = msgs + [Message.assistant(raw), Message.user(
                "That answer cannot be used: " + "; ".join(problems)
                + ". Write the answer again.")]
        raise ModelOutputError(raw, problems)

    def _record(self, i: int, total: int, t0: float, *, raw: str = "",
                error: str | None = None) -> dict[str, Any]:
        verdict = "usable" if error is None else "rejected"
        return {"summary": f"{self.name} answer attempt {i}/{total}: {verdict}",
                "error": error, "seconds": round(time.perf_counter() - t0, 4),
                "raw": raw[:1000], "attempt": i}
