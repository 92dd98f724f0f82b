"""The rule planner: the controller when no MLLM is configured.

It recognises question types (how many / is there / what colour / what does it
say / where is / is X left of Y / segment X / what objects are there), finds
the objects, colours and qualifiers mentioned, and writes a :class:`Plan`.
A question it cannot plan gets a plan that gathers general evidence and a note
saying honestly that it could not be planned.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from lavr.core_model.structured import Attempt
from lavr.planners.plan import Plan, Step
from lavr.tools.vocab import COLOUR_WORDS, is_plural

if TYPE_CHECKING:
    from lavr.planners.demos.prompt import IclPrompt
    from lavr.planners.demos.store import DemoRecord

GENERIC_WORDS = {
    "object", "objects", "thing", "things", "item", "items", "shape", "shapes",
    "figure", "figures", "one", "ones",
}
QUALIFIERS: dict[str, str] = {
    "largest": "largest", "biggest": "largest", "smallest": "smallest", "tiniest": "smallest",
    "leftmost": "leftmost", "rightmost": "rightmost", "topmost": "topmost",
    "highest": "topmost", "lowest": "bottommost", "bottommost": "bottommost",
}
#: Plain size words that pick one object only after "the" and before a singular noun
#: ("the big circle" is the largest circle; "big circles" stay all circles).
DEFINITE_QUALIFIERS: dict[str, str] = {
    "big": "largest", "large": "largest", "bigger": "largest", "larger": "largest",
    "small": "smallest", "smaller": "smallest", "little": "smallest", "tiny": "smallest",
}
RELATIONS: list[tuple[str, str]] = [
    (r"\bto the left of\b|\bleft of\b|\bon the left of\b", "left_of"),
    (r"\bto the right of\b|\bright of\b|\bon the right of\b", "right_of"),
    (r"\babove\b|\bover\b|\bon top of\b|\bhigher than\b", "above"),
    (r"\bbelow\b|\bunder\b|\bbeneath\b|\bunderneath\b|\blower than\b", "below"),
    (r"\binside\b|\bwithin\b", "inside"),
    (r"\boverlap(s|ping)?\b|\btouch(es|ing)?\b", "overlaps"),
    (r"\bnearest\b|\bclosest\b|\bnext to\b", "nearest"),
]
STOP_WORDS = {
    "the", "a", "an", "are", "is", "there", "in", "on", "of", "this", "that", "image", "picture",
    "photo", "any", "how", "many", "what", "do", "does", "you", "see", "can", "it", "to", "be",
    "which", "where", "and", "or", "with", "have", "has", "here", "scene", "some", "me", "all",
}


@dataclass
class Mention:
    """An object mentioned in the question."""

    label: str | None  # canonical class, None = any object
    raw: str
    colour: str | None = None
    qualifier: str | None = None
    pos: int = 0

    @property
    def words(self) -> str:
        parts = [p for p in (self.qualifier, self.colour) if p]
        noun = self.raw if self.label is None else self.label
        return " ".join(parts + [noun])


@functools.cache
def _vocabulary() -> tuple[list[str], object]:
    from lavr.tools.detect import COCO_CLASSES, SHAPES_CLASSES, normalise_label

    vocab = list(dict.fromkeys(list(SHAPES_CLASSES) + list(COCO_CLASSES)))
    return vocab, normalise_label


def tokenize(question: str) -> list[str]:
    """Lower-case word tokens (letters, digits, apostrophes, hyphens)."""
    return re.findall(r"[a-z0-9][a-z0-9'\-]*", question.lower())


def find_mentions(question: str) -> list[Mention]:
    """Objects mentioned in ``question`` with their colour and qualifier words."""
    vocab, normalise = _vocabulary()
    toks = tokenize(question)
    mentions: list[Mention] = []
    i = 0
    while i < len(toks):
        label, width = None, 0
        if i + 1 < len(toks):
            label = normalise(f"{toks[i]} {toks[i + 1]}", vocab)
            if label and " " not in label:  # only true two-word classes ("stop sign")
                label = None
            width = 2 if label else 0
        if not label:
            word = toks[i]
            nxt = toks[i + 1] if i + 1 < len(toks) else ""
            # a colour word directly before a noun is a colour, not a fruit ("orange circle")
            is_colour_adj = word in COLOUR_WORDS and (
                nxt in GENERIC_WORDS or (nxt and normalise(nxt, vocab)))
            if not is_colour_adj:
                label = normalise(word, vocab)
                width = 1 if label else 0
        if label or toks[i] in GENERIC_WORDS:
            raw = " ".join(toks[i:i + max(width, 1)])
            m = Mention(label=label, raw=raw, pos=i)
            for back in (1, 2, 3):
                if i - back < 0:
                    break
                w = toks[i - back]
                if m.colour is None and w in COLOUR_WORDS:
                    m.colour = COLOUR_WORDS[w]
                elif m.qualifier is None and w in QUALIFIERS:
                    m.qualifier = QUALIFIERS[w]
                elif m.qualifier is None and w in DEFINITE_QUALIFIERS and \
                        "the" in toks[max(i - 3, 0):i - back] and not is_plural(raw):
                    m.qualifier = DEFINITE_QUALIFIERS[w]
                elif w not in ("the", "a", "an", "and", "most"):
                    break
            mentions.append(m)
            i += max(width, 1)
        else:
            i += 1
    _attach_trailing_colour(toks, mentions)
    return mentions


def _attach_trailing_colour(toks: list[str], mentions: list[Mention]) -> None:
    """'how many circles are red' → the colour belongs to the only mention."""
    if len(mentions) != 1 or mentions[0].colour is not None:
        return
    after = toks[mentions[0].pos + 1:]
    for w in after:
        if w in COLOUR_WORDS:
            mentions[0].colour = COLOUR_WORDS[w]
            return


def classify(question: str, mentions: list[Mention]) -> tuple[str, str]:
    """The question's intent and, for relation questions, the relation."""
    q = " ".join(tokenize(question))
    if re.search(r"\b(segment|mask|masks|outline|silhouette)\b", q):
        return "segment", ""
    if re.search(r"\bwhat does\b.*\bsay\b|\bread\b|\bwritten\b|\bwhat (text|word|words)\b|"
                 r"\bwhat is the (text|word)\b|\bwhat's the (text|word)\b|\bwhich (text|word)\b|"
                 r"\btext say\b|\bsays?\b|\b(text|writing|lettering|inscription)\b", q):
        return "read", ""
    if len(mentions) >= 2 or re.search(r"\bnearest\b|\bclosest\b", q):
        for pattern, rel in RELATIONS:
            if re.search(pattern, q):
                return "relation", rel
    if re.search(r"\bwhat colou?r\b|\bwhich colou?r\b|\bcolou?r of\b|\bcolou?r is\b", q):
        return "colour", ""
    if re.search(r"\bhow many\b|\bcount\b|\bnumber of\b", q):
        return "count", ""
    if re.search(r"^(is|are) there\b|\bany\b|^(do|does|can|could) (you|i|we|the|this|it)\b.*"
                 r"\b(see|have|contain|find|show)\b|^(is|are) (a|an|the|some)\b|\bexists?\b", q):
        return "exists", ""
    if re.search(r"^where\b|\blocate\b|\bwhere is\b|\bwhere are\b|\bfind the\b", q):
        return "locate", ""
    if re.search(r"\bwhat (objects|shapes|things|items)\b|\bwhat is in\b|\bwhat's in\b|\bdescribe\b|"
                 r"\blist\b|\bwhat do you see\b|\bwhat can you see\b|\bwhat is there\b", q):
        return "list", ""
    return "unknown", ""


def _unknown_noun(question: str) -> str | None:
    """The head noun after 'how many' / 'is there a' / 'what colour is the' / 'where is the'
    / 'segment the' when no detector knows it."""
    m = re.search(r"\b(?:how many|are there any|are there|is there an?|is there any|any|"
                  r"colou?r (?:is|are|of) (?:the|that|this|those|these)|"
                  r"where (?:is|are) (?:the|a|an)|segment (?:the|a|an|all))\s+"
                  r"([a-z][a-z\-]*)", question.lower())
    if not m:
        return None
    word = m.group(1)
    if word in STOP_WORDS or word in COLOUR_WORDS:
        return None
    from lavr.tools.labels import canonical_label

    return canonical_label(word)


class _Builder:
    """Accumulates steps with fresh ids."""

    def __init__(self) -> None:
        self.steps: list[Step] = []
        self.reasoning: list[str] = []

    def add(self, tool: str, why: str, **args: object) -> str:
        sid = f"s{len(self.steps) + 1}"
        self.steps.append(Step(id=sid, tool=tool, args={k: v for k, v in args.items() if v is not None},
                               why=why))
        self.reasoning.append(f"{sid}: {why}")
        return sid


def _object_steps(b: _Builder, mentions: list[Mention], *, need_colour: bool) -> list[str]:
    """Detect (once), name colours if needed, then filter/select per mention.

    Returns the step id that holds each mention's detections.
    """
    generic = any(m.label is None for m in mentions) or not mentions
    labels = [] if generic else list(dict.fromkeys(m.label for m in mentions if m.label))
    what = ", ".join(labels) if labels else "all objects"
    det = b.add("detect", f"find {what} with the detector", labels=labels)
    base = det
    if need_colour or any(m.colour for m in mentions):
        base = b.add("colour", "name the colour of each detected object", source=det)
    out = []
    for m in mentions or [Mention(label=None, raw="objects")]:
        cur = base
        multi_label = len(labels) > 1
        if m.colour or (multi_label and m.label):
            cur = b.add("filter", f"keep only {m.words}", source=base,
                        label=m.label if multi_label or not labels else None, colour=m.colour)
        if m.qualifier:
            cur = b.add("select", f"pick the {m.qualifier} of them", source=cur, which=m.qualifier)
        out.append(cur)
    return out


class RulePlanner:
    """Turns a question into a :class:`Plan` with pattern rules."""

    name = "rule"
    sees_images = False
    reads_demos = False

    def shows_demo(self, demo: DemoRecord) -> bool:
        """Never: the rules read only the question."""
        return False

    def plan(self, question: str, *, image: np.ndarray | None = None, icl: IclPrompt | None = None,
             attempts: list[Attempt] | None = None) -> Plan:
        """Plan ``question``; never raises on odd text (see module docstring).

        ``image``, ``icl`` and ``attempts`` are part of the :class:`Planner` interface;
        the rules read only the question. So the plan is worked out once per question
        (many images asked the same question reuse it); every call returns a new
        :class:`Plan`.
        """
        if type(self) is not RulePlanner or self.name != RulePlanner.name:
            return self._plan(question)  # a subclass or renamed planner: no shared memo
        return Plan.model_validate_json(_planned(question))

    def _plan(self, question: str) -> Plan:
        mentions = find_mentions(question)
        intent, relation = classify(question, mentions)
        b = _Builder()
        target = ", ".join(m.words for m in mentions)
        note = ""
        answer: str | None = None
        if intent == "read":
            answer = b.add("ocr", "read all text in the image")
            target = "text"
        elif intent in ("count", "exists", "locate", "segment", "colour"):
            if not mentions:
                raw = _unknown_noun(question)
                if raw:
                    mentions = [Mention(label=raw, raw=raw)]
                    target = raw
            several = [m for m in mentions if m.label]
            if intent in ("count", "exists") and len(several) > 1 and len(several) == len(
                    mentions) and not any(m.colour or m.qualifier for m in mentions):
                # "how many circles and squares": one detection of every class named
                mentions = [Mention(label=None, raw=target, pos=0)]
                labels = list(dict.fromkeys(m.label for m in several if m.label))
                ids = [b.add("detect", f"find {', '.join(labels)} with the detector",
                             labels=labels)]
            else:
                ids = _object_steps(b, mentions[:1], need_colour=intent == "colour")
            answer = ids[0]
            if intent == "count" or intent == "exists":
                answer = b.add("count", f"count the {target or 'objects'}", source=ids[0])
            elif intent == "segment":
                answer = b.add("segment", f"segment the {target or 'objects'}", source=ids[0])
        elif intent == "relation":
            ms = mentions[:2]
            if len(ms) < 2 and relation == "nearest" and ms:
                ms = [ms[0], Mention(label=None, raw="objects")]
            if len(ms) < 2:
                intent = "unknown"
                note = "I need two objects to compare for a spatial question."
            else:
                a, c = _object_steps(b, ms, need_colour=False)
                answer = b.add("relation", f"check whether {ms[0].words} is "
                               f"{relation.replace('_', ' ')} {ms[1].words}", a=a, b=c,
                               relation=relation)
                target = f"{ms[0].words} / {ms[1].words}"
        elif intent == "list":
            ids = _object_steps(b, [], need_colour=True)
            answer = ids[0]
            target = "objects"
        if intent == "unknown":
            note = note or ("The rule planner could not work out how to answer this question "
                            "(it handles counting, existence, colour, reading text, location, "
                            "left/right/above/below/inside/nearest, segmentation and listing "
                            "objects).")
            b = _Builder()
            det = b.add("detect", "find all objects to report what is there", labels=[])
            b.add("colour", "name their colours", source=det)
            b.add("ocr", "read any text")
            answer = None
        return Plan(question=question, intent=intent, steps=b.steps, answer_step=answer,
                    target=target, relation=relation, reasoning=b.reasoning, planner=self.name,
                    note=note)


@functools.lru_cache(maxsize=2048)
def _planned(question: str) -> str:
    """The rule planner's plan of ``question`` as JSON (memoised)."""
    return RulePlanner()._plan(question).model_dump_json()
