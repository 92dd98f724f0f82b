"""The LLM refiner: the model as semantic refiner.

The model writes the answer from the evidence lines only (never the pixels),
citing step ids in square brackets. The evidence reaches the model as a
quoted data block (text read from the image is data, never instructions). A
reply is usable when it is non-empty, not overlong, cites only steps that
exist, cites at least one step when any step succeeded, and states only
numbers and quoted text that the cited evidence shows. Otherwise it is re-asked with the problems; when still
unusable :meth:`LLMRefiner.refine` raises and the refine node uses the rule
refiner instead.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence

from lavr.core_model.errors import ModelOutputError
from lavr.core_model.messages import Message
from lavr.core_model.model import MultimodalModel
from lavr.core_model.structured import Attempt
from lavr.planners.plan import Plan
from lavr.planners.roles import compact
from lavr.planners.roles.model_role import (
    ModelRole,
    format_evidence,
    render_prompt,
    successful_steps,
)
from lavr.planners.roles.protocols import Reply
from lavr.planners.roles.rule_refiner import plain_text
from lavr.tools.base import ArtifactStore
from lavr.tools.evidence import Evidence
from lavr.tools.vocab import parse_number

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


def answer_problems(answer: str, plan: Plan, evidence: Sequence[Evidence], *,
                    max_chars: int = MAX_ANSWER_CHARS,
                    image_size: Sequence[int] | None = None) -> list[str]:
    """Why an answer cannot be used (empty list: usable).

    Besides form (empty, too long, unknown or missing citations), numbers and
    quoted text must be grounded in the evidence the answer cites
    (:func:`ungrounded`).
    """
    text = answer.strip()
    if not text:
        return ["the answer is empty"]
    problems = []
    if not re.search(r"\w", _BOX_GROUP.sub(" ", _CITATION.sub(" ", text))):
        problems.append("it says nothing besides citations and boxes; write the answer in "
                        "words")
    if len(text) > max_chars:
        problems.append(f"the answer is {len(text)} characters long; keep it under {max_chars}")
    known = {e.step_id for e in evidence} | {s.id for s in plan.steps}
    cited = citations(text)
    unknown = [c for c in cited if c not in known]
    if unknown:
        problems.append(f"it cites {', '.join(unknown)}, which are not steps "
                        f"(steps: {', '.join(sorted(known)) or 'none'})")
    ok = successful_steps(evidence)
    if ok and not [c for c in cited if c in known]:
        problems.append("it cites no evidence; cite the step ids you used in square brackets, "
                        f"e.g. [{ok[-1]}]")
    used = [e for e in evidence if e.step_id in cited and e.ok]
    if used:
        problems += ungrounded(text, used, image_size=image_size)
    return problems


_BOX_GROUP = re.compile(r"\[\s*-?\d+(?:\.\d+)?(?:\s*,\s*-?\d+(?:\.\d+)?){3}\s*\]")
_QUOTED = re.compile(r'"([^"]*)"|\u201c([^\u201d]*)\u201d')
_NUMBER = re.compile(r"(?<![\w.])(\d+)(?![\w.]|\.\d)|\b(two|three|four|five|six|seven|eight|nine|"
                     r"ten|eleven|twelve)\b", re.I)


def _numbers_in(text: str) -> set[int]:
    """Whole numbers written in ``text`` outside boxes and quotes (digits or words)."""
    bare = _QUOTED.sub(" ", _BOX_GROUP.sub(" ", _CITATION.sub(" ", text)))
    found: set[int] = set()
    for m in _NUMBER.finditer(bare):
        value = int(m.group(1)) if m.group(1) else parse_number(m.group(2).lower())
        if value is not None:
            found.add(value)
    return found


def _evidence_facts(records: Sequence[Evidence]) -> tuple[set[int], list[str]]:
    """Numbers and text lines that evidence records state (for grounding checks)."""
    numbers: set[int] = set()
    texts: list[str] = []
    for rec in records:
        summary = rec.summary
        numbers |= _numbers_in(summary)
        texts += [a or b for a, b in _QUOTED.findall(summary)]
        value = rec.value
        if isinstance(value, bool):
            continue
        if isinstance(value, (int, float)):
            numbers.add(int(value))
        elif isinstance(value, list):
            numbers.add(len(value))
            texts += [str(v) for v in value if isinstance(v, str)]
        numbers.add(len(rec.boxes))
    return numbers, texts


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def ungrounded(answer: str, records: Sequence[Evidence], *,
               image_size: Sequence[int] | None = None) -> list[str]:
    """What ``answer`` states that the cited ``records`` do not show (empty: grounded).

    Checkable statements are numbers (outside boxes and quotes) and quoted
    text: every number must be one the cited evidence states (a count, a
    number of lines or boxes, a number in a summary) and every quoted string
    must be text the cited evidence read. Numbers inside read text do not
    count: text on an image saying "answer 42" does not make 42 a count.
    """
    numbers, texts = _evidence_facts(records)
    numbers |= set(image_size or [])
    cited = ", ".join(r.step_id for r in records)
    problems = []
    loose = sorted(_numbers_in(answer) - numbers)
    if loose:
        problems.append(f"it says {', '.join(str(n) for n in loose)}, which the cited evidence "
                        f"[{cited}] does not show; state only numbers the evidence gives")
    known = [_norm(t) for t in texts]
    for a, b in _QUOTED.findall(_BOX_GROUP.sub(" ", answer)):
        quoted = _norm(a or b)
        if quoted and not any(quoted in k or (k and k in quoted and len(k) >= len(quoted) // 2)
                              for k in known):
            problems.append(f'it quotes "{a or b}", which the cited evidence [{cited}] did not '
                            "read; quote only text the evidence shows")
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
        super().__init__(model, retries=retries, max_new_tokens=max_new_tokens)
        self.max_chars = max_chars

    def messages(self, plan: Plan, evidence: Sequence[Evidence]) -> list[Message]:
        """The conversation sent to the model: the role prompt with question and evidence."""
        if compact.wants_compact(self.model):
            return compact.refine_messages(plan, evidence)
        prompt = render_prompt("refine.md", question=plan.question,
                               evidence=format_evidence(plan, evidence))
        if plan.note:
            prompt += f"\n\nNote for the user: {plan.note}"
        return [Message.user(prompt)]

    def refine(self, plan: Plan, evidence: Sequence[Evidence], *,
               artifacts: ArtifactStore | None = None, image_size: list[int] | None = None,
               attempts: list[Attempt] | None = None) -> Reply:
        """Write the answer.

        Args:
            plan: The plan that ran (its question is answered).
            evidence: The run's evidence.
            artifacts: Unused (the model reads the evidence lines, never the pixels).
            image_size: ``[width, height]``, mentioned when boxes are cited.
            attempts: Receives one record per model call (for the trace).

        Returns:
            The model's text as the grounded answer, the same without citations and
            boxes as the plain one, and the steps it cites.

        Raises:
            ModelOutputError: No usable answer after the re-asks.
            ModelError: The model failed.
        """
        msgs = self.messages(plan, evidence)
        if image_size and not compact.wants_compact(self.model):
            msgs[0] = Message.user(msgs[0].text + f"\n\nImage size: {image_size[0]}x"
                                   f"{image_size[1]} pixels; boxes are [x1, y1, x2, y2] pixels.")

        def parse(raw: str) -> str:
            answer = raw.strip()
            problems = answer_problems(answer, plan, evidence, max_chars=self.max_chars,
                                       image_size=image_size)
            if problems:
                raise ModelOutputError(raw, problems)
            return answer

        answer = self.ask(msgs, parse, what="answer", reask=_reask, attempts=attempts,
                          task="refine").unwrap()
        known = {e.step_id for e in evidence}
        return Reply(plain=plain_text(answer) or answer, grounded=answer,
                     cited=[c for c in citations(answer) if c in known])


def _reask(problems: list[str]) -> str:
    return "That answer cannot be used: " + "; ".join(problems) + ". Write the answer again."
