"""Rule-mode semantic refiner: an answer written from evidence only, in two styles.

- ``plain`` (the default): what a person would write — "No, the square is to the
  right of the circle.", "There are three circles.", "The square is green." No
  step ids, boxes, arrows or tool internals; the evidence stays available as
  structured data (cited step ids, boxes) in :class:`~lavr.agents.result.AgentResult`.
- ``grounded``: the same facts with the step ids they rest on (``[s3]``) and
  pixel boxes ``[x1, y1, x2, y2]`` where they help.

Both texts are always written (:class:`Reply`); the agent's ``style`` picks which
one is *the* answer.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from typing import Literal

import numpy as np

from lavr.core_model.structured import Attempt
from lavr.planners.plan import Plan, Step
from lavr.planners.roles.protocols import Reply
from lavr.tools.base import ArtifactStore
from lavr.tools.detections import Detections
from lavr.tools.evidence import Evidence, Status, by_step
from lavr.tools.ops import same_label
from lavr.tools.registry import ToolRegistry, builtin_tools
from lavr.tools.vocab import (
    capitalise,
    count_phrase,
    join_words,
    number_word,
    pluralise,
    quoted,
    split_nouns,
    tally,
    there_be,
)

AnswerStyle = Literal["plain", "grounded"]
#: The answer styles, the default first.
ANSWER_STYLES: tuple[str, ...] = ("plain", "grounded")
#: Image positions named in plain answers (thirds of the width and height).
_RELATION_PHRASES = {"left_of": "to the left of", "right_of": "to the right of",
                     "above": "above", "below": "below", "inside": "inside",
                     "overlaps": "overlapping"}
_OPPOSITE = {"left_of": "right_of", "right_of": "left_of", "above": "below", "below": "above"}


def check_style(style: str) -> str:
    """``style`` if it is an answer style.

    Raises:
        ValueError: Any other value (callers turn it into their layer's input error).
    """
    if style not in ANSWER_STYLES:
        raise ValueError(f"style must be one of {', '.join(ANSWER_STYLES)}, got {style!r}")
    return style


def _box(b: list[float]) -> str:
    return "[" + ", ".join(str(int(round(v))) for v in b) + "]"


def _where(box: list[float], size: list[int] | None) -> str:
    if not size:
        return "in the image"
    w, h = size
    cx, cy = (box[0] + box[2]) / 2 / max(w, 1), (box[1] + box[3]) / 2 / max(h, 1)
    col = "left" if cx < 1 / 3 else "right" if cx > 2 / 3 else "centre"
    row = "top" if cy < 1 / 3 else "bottom" if cy > 2 / 3 else "middle"
    if row == "middle" and col == "centre":
        return "in the centre"
    if row == "middle":
        return f"on the {col}"
    if col == "centre":
        return f"at the {row}"
    return f"at the {row} {col}"


def _cite(ids: list[str]) -> str:
    ids = [i for i in dict.fromkeys(ids) if i]
    return f" [{', '.join(ids)}]" if ids else ""


def _reply(plain: str, grounded: str, cited: list[str]) -> Reply:
    cited = list(dict.fromkeys(c for c in cited if c))
    return Reply(plain=plain, grounded=grounded + _cite(cited), cited=cited)


def _same(text: str, cited: list[str]) -> Reply:
    """A reply whose plain and grounded texts differ only by the citation."""
    return _reply(text, text, cited)


class _Evidence:
    def __init__(self, plan: Plan, records: list[Evidence], artifacts: ArtifactStore,
                 tools: ToolRegistry) -> None:
        self.plan = plan
        self.by_id = by_step(records)
        self.records = records
        self.artifacts = artifacts
        self.tools = tools

    def get(self, sid: str | None) -> Evidence | None:
        return self.by_id.get(sid) if sid else None

    def step(self, sid: str | None) -> Step | None:
        return next((s for s in self.plan.steps if s.id == sid), None)

    def dets(self, sid: str | None) -> Detections | None:
        rec = self.get(sid)
        return None if rec is None else self.artifacts.find_detections(rec.artifact_id)

    def source_of(self, sid: str) -> str | None:
        step = self.step(sid)
        if step is None:
            return None
        return step.args.get("source") or step.args.get("a")

    def answer_objects(self) -> tuple[Detections | None, list[str]] | None:
        """The answer step's objects and its chain of step ids; None when there is no answer."""
        got = self.answer()
        if got is None:
            return None
        sid, _, chain = got
        return self.dets(sid), chain

    def answer(self) -> tuple[str, Evidence, list[str]] | None:
        """``(answer step id, its record, its citation chain)``, or None if it failed."""
        sid = self.plan.answer_step
        rec = self.get(sid)
        if sid is None or rec is None or rec.failed:
            return None
        return sid, rec, self.chain(sid)

    def errors(self) -> list[Evidence]:
        return [r for r in self.records if r.status is Status.ERROR]

    def chain(self, sid: str | None) -> list[str]:
        """sid and the steps it derives from (for citation)."""
        out: list[str] = []
        while sid and sid not in out:
            out.append(sid)
            sid = self.source_of(sid)
        return list(reversed(out))


def _failure(ev: _Evidence) -> Reply:
    errs = ev.errors()
    if not errs:
        return Reply("", "", [])
    first = errs[0]
    if first.user_message:  # the tool already said it for a person
        return _same(first.user_message, [first.step_id])
    reason = str(first.error).removeprefix(f"{first.tool}: ").rstrip(".")
    return _reply(f"I could not answer that: {reason}.",
                  f"I could not gather the evidence: {first.tool} failed ({reason}).",
                  [first.step_id])


def _noun(target: str) -> str:
    return target or "object"


def _answer_count(ev: _Evidence, target: str, exists: bool) -> Reply:
    got = ev.answer()
    if got is None:
        return _failure(ev)
    sid, rec, chain = got
    value = rec.value
    if value is not None and not isinstance(value, (int, float)):
        # a model's plan may end a count on a step that gives objects, not a number
        own = ev.dets(sid)
        if own is None:
            return _reply("I could not count them: the last step of the plan does not give a "
                          "number.", f"The plan's last step ({rec.tool}) does not give a "
                          "number.", chain)
        value = len(own)
    n = int(value or 0)
    dets = ev.dets(ev.source_of(sid) if sid else None)
    boxes = ""
    if dets is not None and 0 < len(dets) <= 6 and len(dets) == n:
        boxes = " at " + ", ".join(_box(b) for b in dets.xyxy.tolist())
    noun = _noun(target)
    parts = _per_class(dets, target) if dets is not None and len(dets) == n else None
    if parts:
        listed = join_words([count_phrase(k, name) for name, k in parts])
        verb = "is" if parts[0][1] == 1 else "are"
        lead = ("Yes, t" if n else "No, t") if exists else "T"
        return _reply(f"{lead}here {verb} {listed}.", f"{lead}here {verb} {listed}{boxes}.", chain)
    if exists:
        if n == 0:
            text = f"No, there is no {pluralise(noun, 1)} in the image."
            return _reply(text, text, chain)
        return _reply(f"Yes, {there_be(n, noun)}.", f"Yes, {there_be(n, noun)}{boxes}.", chain)
    sentence = capitalise(there_be(n, noun))
    return _reply(f"{sentence}.", f"{sentence}{boxes}.", chain)


def _per_class(dets: Detections, target: str) -> list[tuple[str, int]] | None:
    """``[("circle", 3), ("square", 2)]`` when the target names several classes, else None."""
    names = split_nouns(target)
    if len(names) < 2:
        return None
    labels = [str(x) for x in dets.label]
    return [(name, sum(1 for x in labels if same_label(x, name))) for name in names]


def _answer_colour(ev: _Evidence, target: str) -> Reply:
    got = ev.answer_objects()
    if got is None:
        return _failure(ev)
    dets, chain = got
    noun = _noun(target)
    one = pluralise(noun, 1)
    if dets is None or len(dets) == 0:
        return _same(f"I found no {one}, so I cannot name its colour.", chain)
    colours = [str(c) for c in dets.data.get("colour", [])]
    if not colours:
        return _same(f"I could not tell the colour of the {one}.", chain)
    if len(dets) == 1:
        return _reply(f"The {one} is {colours[0]}.",
                      f"The {one} is {colours[0]} (box {_box(dets.xyxy[0].tolist())}).", chain)
    n = len(dets)
    counts = Counter(colours)
    if len(counts) == 1:
        text = f"All {count_phrase(n, noun)} are {colours[0]}."
        if n == 2:
            text = f"Both {pluralise(noun, 2)} are {colours[0]}."
        return _same(text, chain)
    parts = join_words([f"{number_word(k)} {c}" for c, k in counts.most_common()])
    return _same(f"There are {count_phrase(n, noun)}: {parts}.", chain)


def _text_reply(lines: list[str], box: list[float] | None, used: list[str]) -> Reply:
    quoted_lines = [quoted(t) for t in lines]
    if len(lines) == 1:
        where = f" (box {_box(box)})" if box is not None else ""
        return _reply(f"The text reads {quoted_lines[0]}.",
                      f"The text reads {quoted_lines[0]}{where}.", used)
    plain = f"The text has {count_phrase(len(lines), 'line')}: {join_words(quoted_lines)}."
    return _reply(plain, f"The text reads, line by line, {', '.join(quoted_lines)}.", used)


def _answer_read(ev: _Evidence) -> Reply:
    """What the reading tools' steps read (each tool merges its own passes)."""
    tried: list[Evidence] = []
    for tool in ev.tools.answering("read"):
        own = [r for r in ev.records if r.tool == tool.name and not r.skipped]
        tried += own
        reading = tool.reading(own)
        if reading is not None:
            return _text_reply(reading.lines, reading.box, reading.cited)
    if tried and all(r.failed for r in tried):
        return _failure(ev)
    return _same("I could not find any readable text in the image.",
                 [r.step_id for r in tried])


def _answer_locate(ev: _Evidence, target: str, size: list[int] | None) -> Reply:
    got = ev.answer_objects()
    if got is None:
        return _failure(ev)
    dets, chain = got
    noun = _noun(target)
    if dets is None or len(dets) == 0:
        return _same(f"I found no {pluralise(noun, 1)} in the image.", chain)
    boxes = dets.xyxy.tolist()[:6]
    places = [_where(b, size) for b in boxes]
    grounded = [f"{p} (box {_box(b)})" for p, b in zip(places, boxes, strict=True)]
    if len(dets) == 1:
        one = pluralise(noun, 1)
        return _reply(f"The {one} is {places[0]}.", f"The {one} is {grounded[0]}.", chain)
    n = len(dets)
    more = f" and {number_word(n - 6)} more" if n > 6 else ""
    return _reply(f"I found {count_phrase(n, noun)}: "
                  + join_words([f"one {p}" for p in places]) + f"{more}.",
                  f"I found {count_phrase(n, noun)}: " + "; ".join(grounded) + f"{more}.", chain)


def _most_confident(dets: Detections | None) -> tuple[str, list[float]] | None:
    if dets is None or len(dets) == 0:
        return None
    i = int(np.argmax(dets.confidence))
    return dets.describe(i), dets.xyxy[i].tolist()


def _relation_plain(name: str, holds: bool, a: tuple[str, list[float]],
                    b: tuple[str, list[float]]) -> str:
    """``Yes, the square is to the left of the circle.`` / ``No, the square is to the right …``."""
    (a_name, a_box), (b_name, b_box) = a, b
    if holds:
        return f"Yes, the {a_name} is {_RELATION_PHRASES[name]} the {b_name}."
    if name in _OPPOSITE:
        axis = 0 if name in ("left_of", "right_of") else 1
        ca = (a_box[axis] + a_box[axis + 2]) / 2
        cb = (b_box[axis] + b_box[axis + 2]) / 2
        if ca != cb:
            return f"No, the {a_name} is {_RELATION_PHRASES[_OPPOSITE[name]]} the {b_name}."
    if name == "overlaps":
        return f"No, the {a_name} does not overlap the {b_name}."
    return f"No, the {a_name} is not {_RELATION_PHRASES.get(name, name)} the {b_name}."


def _answer_relation(ev: _Evidence, size: list[int] | None) -> Reply:
    sid = ev.plan.answer_step
    rec = ev.get(sid)
    step = ev.step(sid)
    if rec is None:
        return _failure(ev)
    a_ids = ev.chain(step.args.get("a")) if step else []
    b_ids = ev.chain(step.args.get("b")) if step else []
    cited = list(dict.fromkeys(a_ids + b_ids + [sid]))
    if rec.failed:
        reason = str(rec.error).rstrip(".")
        return _reply(_relation_failure(ev, step, reason), f"I could not check that: {reason}.",
                      cited)
    value = rec.value
    summary = rec.summary.removeprefix(f"{rec.tool}: ")
    name = str(step.args.get("relation", "")) if step else ""
    a = _most_confident(ev.dets(step.args.get("a"))) if step else None
    b = _most_confident(ev.dets(step.args.get("b"))) if step else None
    if isinstance(value, bool):
        grounded = f"{'Yes' if value else 'No'}: {summary}."
        if a is None or b is None or name not in _RELATION_PHRASES:
            return _reply(f"{'Yes' if value else 'No'}.", grounded, cited)
        return _reply(_relation_plain(name, value, a, b), grounded, cited)
    if isinstance(value, dict) and value.get("description"):
        target = f" to the {b[0]}" if b is not None else ""
        where = f" {_where(value['box'], size)}" if value.get("box") and size else ""
        return _reply(f"The {value['description']}{where} is the nearest{target}.",
                      f"{summary}.", cited)
    return _reply("I could not decide that from what the experts found.", f"{summary}.", cited)


def _relation_failure(ev: _Evidence, step: Step | None, reason: str) -> str:
    """Plain words for a relation that could not be checked (an object was not found)."""
    if step is not None:
        for key in ("a", "b"):
            dets = ev.dets(step.args.get(key))
            if dets is not None and len(dets) == 0:
                what = _object_words(ev, step.args.get(key)) or "one of the objects"
                return f"I could not check that: I found no {what} in the image."
    return "I could not check that: the experts did not find both objects."


def _object_words(ev: _Evidence, sid: str | None) -> str:
    """What the steps leading to ``sid`` look for, in words (``red circle``)."""
    colour, label = None, None
    for step in (ev.step(i) for i in reversed(ev.chain(sid))):
        if step is None:
            continue
        colour = colour or step.args.get("colour")
        labels = step.args.get("labels") or []
        label = label or step.args.get("label") or (labels[0] if len(labels) == 1 else None)
    return " ".join(str(w) for w in (colour, label) if w)


def _answer_segment(ev: _Evidence, target: str) -> Reply:
    got = ev.answer()
    if got is None:
        return _failure(ev)
    sid, rec, chain = got
    areas = [int(a) for a in (rec.value or [])]
    noun = _noun(target)
    if not areas:
        return _same(f"I found no {pluralise(noun, 1)} to segment.", chain)
    n = len(areas)
    return _reply(f"I outlined {count_phrase(n, noun)}.",
                  f"I segmented {count_phrase(n, noun)}; mask area{'s' if n > 1 else ''} "
                  + ", ".join(f"{a} px" for a in areas) + ".", chain)


def _answer_list(ev: _Evidence) -> Reply:
    got = ev.answer_objects()
    if got is None:
        return _failure(ev)
    dets, chain = got
    if dets is None or len(dets) == 0:
        return _same("I did not find any objects I know.", chain)
    return _same(f"I see {tally((dets.describe(i) for i in range(len(dets))), articles=True)}.",
                 chain)


def _answer_unknown(ev: _Evidence) -> Reply:
    found = []
    ids = []
    for rec in ev.records:
        tool = ev.tools.find(rec.tool)
        phrase = tool.found(rec, ev.artifacts) if tool is not None and rec.ok else None
        if phrase:
            found.append(phrase)
            ids.append(rec.step_id)
    note = ev.plan.note or "I could not work out how to answer this question."
    what = "; ".join(found) if found else "no objects or text I could recognise"
    return _same(f"{note} What I found: {what}.", ids)


def refine_reply(plan: Plan, evidence: list[Evidence], artifacts: ArtifactStore, *,
                 image_size: list[int] | None = None,
                 tools: ToolRegistry | None = None) -> Reply:
    """Write the answer for ``plan`` from ``evidence`` in both styles.

    Args:
        plan: The plan that ran (its intent and target shape the sentence).
        evidence: Evidence records of the run.
        artifacts: Where the detections of the records are.
        image_size: ``[width, height]`` (plain answers name image regions with it).
        tools: The tools whose evidence this is: what they read and found is theirs to
            say (default: the built-in tools).
    """
    ev = _Evidence(plan, evidence, artifacts, tools or builtin_tools())
    target = plan.target
    intent = plan.intent
    if intent in ("count", "exists"):
        reply = _answer_count(ev, target, intent == "exists")
    elif intent == "colour":
        reply = _answer_colour(ev, target)
    elif intent == "read":
        reply = _answer_read(ev)
    elif intent == "locate":
        reply = _answer_locate(ev, target, image_size)
    elif intent == "relation":
        reply = _answer_relation(ev, image_size)
    elif intent == "segment":
        reply = _answer_segment(ev, target)
    elif intent == "list":
        reply = _answer_list(ev)
    else:
        reply = _answer_unknown(ev)
    skipped = [r for r in evidence if r.skipped and "budget" in str(r.error)]
    if skipped:
        note = (f" (The step budget ran out before {count_phrase(len(skipped), 'step')} "
                "could run.)")
        reply = Reply(reply.plain + note, reply.grounded + note, reply.cited)
    elif not reply.plain and plan.answer_step and plan.answer_step not in ev.by_id:
        # the loop stopped on the budget before the answer step was reached (fixed-length CoT)
        text = "I could not answer: the step budget ran out before the answer step could run."
        reply = Reply(text, text, reply.cited)
    return reply


_CITATION_GROUP = re.compile(r"\s*\[\s*[A-Za-z][A-Za-z0-9_]*(?:\s*,\s*[A-Za-z][A-Za-z0-9_]*)*\s*\]")
_BOX_NOTE = re.compile(r"\s*\((?:box(?:es)?\s*)?\[[-0-9., ]+\](?:\s*[,;]\s*\[[-0-9., ]+\])*\)")
_BARE_BOX = re.compile(r"\s*(?:at\s+)?\[\s*-?\d+(?:\.\d+)?(?:\s*,\s*-?\d+(?:\.\d+)?){3}\s*\]"
                       r"(?:\s*,\s*\[\s*-?\d+(?:\.\d+)?(?:\s*,\s*-?\d+(?:\.\d+)?){3}\s*\])*")


#: A checked statement in the tools' notation: ``"<a> is left of <b> → no"`` (a verb, the
#: rest of the clause up to the arrow, and the verdict).
_VERDICT_ARROW = re.compile(r"\b(is|are)\b(?!\s+not\b)([^.;:!?→]*?)\s*(?:→|->)\s*(yes|no)\b",
                            re.I)


def _verdict_in_words(m: re.Match[str]) -> str:
    verb, rest, verdict = m.group(1), m.group(2), m.group(3).lower()
    return f"{verb}{rest}" if verdict == "yes" else f"{verb} not{rest}"


def plain_text(grounded: str) -> str:
    """A grounded answer without step-id citations and boxes (for a model's answer).

    ``"There are two dots at [1, 2, 3, 4], [5, 6, 7, 8] [s1, s2]."`` →
    ``"There are two dots."``. A checked statement copied in the tools' notation
    reads as words: ``"No: the square [..] is below the circle [..] → no."`` →
    ``"No: the square is not below the circle."`` (``→ yes`` simply goes).
    """
    text = _CITATION_GROUP.sub("", grounded)
    text = _BOX_NOTE.sub("", text)
    text = _BARE_BOX.sub("", text)
    text = _VERDICT_ARROW.sub(_verdict_in_words, text)
    text = re.sub(r"\s*(?:→|->)\s*(?:yes|no)\b", "", text, flags=re.I)
    text = re.sub(r"\s+([.,;:!?])", r"\1", text)
    text = re.sub(r"([.,;:!?])\1+", r"\1", text)
    return re.sub(r"\s{2,}", " ", text).strip()


def has_pixel_boxes(text: str) -> bool:
    """Whether ``text`` gives boxes as ``[x1, y1, x2, y2]`` (pixels or otherwise)."""
    return _BARE_BOX.search(text) is not None


class RuleRefiner:
    """The rule refiner as a ``Refiner`` role (:func:`refine_reply`); it never fails.

    Args:
        tools: The agent's tools (default: the built-in tools).
    """

    name = "rule"

    def __init__(self, tools: ToolRegistry | None = None) -> None:
        self.tools = tools

    def refine(self, plan: Plan, evidence: Sequence[Evidence], *, artifacts: ArtifactStore,
               image_size: list[int] | None = None,
               attempts: list[Attempt] | None = None) -> Reply:
        """Both answer styles for ``plan`` from ``evidence`` (``attempts``: unused, no model)."""
        return refine_reply(plan, list(evidence), artifacts, image_size=image_size,
                            tools=self.tools)
