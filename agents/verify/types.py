"""Typed records passed between the five correction stages.

Stage 1 extracts :class:`Concept` records from text, stage 2 turns them into
:class:`Question` records, stage 3 answers them with :class:`Answer` records
(backed by tool steps' :class:`~lavr.tools.evidence.Evidence`), stage 4 writes :class:`Claim` records with a
verdict, and stage 5 rewrites the text. Character spans index the *original*
text and are half-open ``(start, end)``. Boxes are XYXY pixels unless the name
ends in ``_n`` (normalised to [0, 1]).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Span = tuple[int, int]
Verdict = Literal["supported", "refuted", "unverifiable"]
ClaimKind = Literal["counting", "specific", "overall"]
ConceptKind = Literal["object", "attribute", "text", "relation"]
QuestionKind = Literal["existence", "count", "attribute", "text", "relation"]
#: What to do with claims the experts cannot check: leave them, mark them, drop them.
UnverifiablePolicy = Literal["keep", "mark", "remove"]
#: Relations the validator can decide from boxes.
RELATION_NAMES = ("left_of", "right_of", "above", "below", "inside", "overlaps")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Concept(_Model):
    """One thing the text asserts about the image (stage 1).

    ``object`` concepts are noun phrases ("two red circles"); ``attribute``,
    ``relation`` and ``text`` concepts refer to object concepts by id.

    Attributes:
        id: ``c1``, ``c2`` ... in text order.
        kind: ``object``, ``attribute`` (colour predicate), ``text`` (quoted
            string said to be written in the image) or ``relation``.
        sentence: Index of the sentence it sits in.
        span: Character span of the whole phrase in the original text.
        text: The phrase as written.
        label: Canonical detector class of an object (None: any object).
        labels: For generic nouns ("shapes"): the classes they cover (empty: all).
        noun: The head noun as written ("circles").
        colour: Colour named before the noun ("red circle").
        count: Exact number claimed (0 for "no circles"); None when only
            existence is claimed ("a circle", "the circle", "circles").
        at_least: Lower bound when ``count`` is None.
        definite: Introduced by "the"/"this"/"that".
        qualifier: A superlative picking one object: ``largest``, ``smallest``,
            ``leftmost``, ``rightmost``, ``topmost`` or ``bottommost``.
        plural: Noun is plural.
        count_span: Span of the number or quantifier word.
        colour_span: Span of the colour word before the noun.
        noun_span: Span of the head noun.
        subject: Object concept id an attribute/relation/text concept is about.
        target: Second object concept id of a relation.
        colours: Colours of an attribute claim ("the circle is red").
        colour_spans: Spans of those colour words.
        every: Attribute claimed of every object ("the circles are all red").
        verb_span: Span of the verb ("is"/"are") of an attribute claim.
        relation: One of :data:`RELATION_NAMES`.
        relation_span: Span of the relation words ("left of").
        negated: The sentence denies the relation or attribute.
        quoted: The quoted string of a ``text`` concept.
    """

    id: str
    kind: ConceptKind
    sentence: int = 0
    span: Span
    text: str
    label: str | None = None
    labels: list[str] = Field(default_factory=list)
    noun: str = ""
    colour: str | None = None
    count: int | None = None
    at_least: int = 1
    definite: bool = False
    qualifier: str | None = None
    plural: bool = False
    count_span: Span | None = None
    colour_span: Span | None = None
    noun_span: Span | None = None
    subject: str | None = None
    target: str | None = None
    colours: list[str] = Field(default_factory=list)
    colour_spans: list[Span] = Field(default_factory=list)
    every: bool = False
    verb_span: Span | None = None
    relation: str | None = None
    relation_span: Span | None = None
    negated: bool = False
    quoted: str | None = None

    def describe(self) -> str:
        """The object in words, without a number: ``"red circle"``."""
        noun = self.label or (self.noun or "object")
        words = [w for w in (self.qualifier, self.colour, noun) if w]
        return " ".join(words)


class ObjectQuery(_Model):
    """Which objects a question is about: a class, an optional colour and qualifier.

    Attributes:
        label: Canonical class (None: any object, or the classes in ``labels``).
        labels: Classes a generic noun covers ("shapes"); empty: every class.
        colour: Colour the objects must have.
        qualifier: Pick one object (``largest``, ``leftmost`` ...) after filtering.
    """

    label: str | None = None
    labels: list[str] = Field(default_factory=list)
    colour: str | None = None
    qualifier: str | None = None

    def describe(self, plural: bool = False) -> str:
        """``"red circle"`` / ``"red circles"`` / ``"object"``."""
        from lavr.agents.verify.text import pluralise

        noun = self.label or ("shape" if self.labels else "object")
        noun = pluralise(noun, 2) if plural else noun
        return " ".join(w for w in (self.qualifier, self.colour, noun) if w)


class Question(_Model):
    """A verification question (stage 2).

    Attributes:
        id: ``q1``, ``q2`` ...
        kind: ``existence``, ``count``, ``attribute``, ``text`` or ``relation``.
        text: The question in words (what a VQA model would be asked).
        concepts: Ids of the concepts it checks.
        subject: The objects asked about.
        target: The second objects of a relation question.
        attribute: The attribute asked about (``colour``).
        relation: The relation asked about.
        quoted: The text asked about.
    """

    id: str
    kind: QuestionKind
    text: str
    concepts: list[str] = Field(default_factory=list)
    subject: ObjectQuery | None = None
    target: ObjectQuery | None = None
    attribute: str | None = None
    relation: str | None = None
    quoted: str | None = None


class Answer(_Model):
    """The answer to one question (stage 3).

    Attributes:
        question: Question id.
        status: ``ok`` or ``unavailable`` (no expert could answer).
        value: ``count``/``existence``: int; ``attribute``: list of colour
            names of the matching objects; ``text``: list of text lines;
            ``relation``: bool (None when undecidable).
        by_colour: For count questions: matching objects per colour (all
            colours, ignoring the colour asked for) — used to suggest fixes.
        boxes: Boxes supporting the answer, XYXY pixels.
        evidence: Evidence ids.
        source: Which expert answered (``detector``, ``ocr``, ``vqa``, ``scene`` ...).
        note: Why it is unavailable, or anything worth telling.
        best: For ``text``: the line most similar to the quoted text.
        similarity: For ``text``: similarity of ``best`` to the quoted text (0..1).
        truth: For ``relation``: the relation that does hold on the same axis.
        low: For counts: how many matching objects the detector is sure of.
        high: For counts: how many there may be, counting uncertain detections
            of other classes that could be this object misread.
    """

    question: str
    status: Literal["ok", "unavailable"] = "ok"
    value: Any = None
    by_colour: dict[str, int] = Field(default_factory=dict)
    boxes: list[list[float]] = Field(default_factory=list)
    evidence: list[str] = Field(default_factory=list)
    source: str = ""
    note: str = ""
    best: str | None = None
    similarity: float | None = None
    truth: str | None = None
    low: int | None = None
    high: int | None = None


class Fix(_Model):
    """How to repair a refuted claim (stage 4 → 5).

    Exactly one of the fields is set: ``remove`` drops the claim, the others
    replace one part of it.
    """

    remove: bool = False
    count: int | None = None
    colour: str | None = None
    colours: list[str] = Field(default_factory=list)
    relation: str | None = None
    text: str | None = None
    polarity: bool | None = None


class Claim(_Model):
    """A visual claim with its verdict (stage 4).

    Attributes:
        id: ``k1``, ``k2`` ...
        kind: ``counting`` (how many of a class, incl. existence), ``specific``
            (an attribute or text of particular objects) or ``overall``
            (relations between objects, totals over the whole image).
        text: The claim in words, as the input text makes it.
        verdict: ``supported``, ``refuted`` or ``unverifiable``.
        concept: The concept id it checks.
        sentence: Sentence index in the original text.
        evidence: Evidence ids behind the verdict.
        boxes: Supporting boxes, XYXY pixels.
        boxes_n: The same boxes normalised to [0, 1].
        truth: What the experts found instead, in words (refuted claims).
        reason: Why the verdict, in one line.
        fix: How the corrector should repair it (refuted claims).
    """

    id: str
    kind: ClaimKind
    text: str
    verdict: Verdict
    concept: str
    sentence: int = 0
    evidence: list[str] = Field(default_factory=list)
    boxes: list[list[float]] = Field(default_factory=list)
    boxes_n: list[list[float]] = Field(default_factory=list)
    truth: str | None = None
    reason: str = ""
    fix: Fix | None = None

    def public(self) -> dict[str, Any]:
        """JSON-able record for the CLI and traces (no internal fix data)."""
        return {"id": self.id, "kind": self.kind, "text": self.text, "verdict": self.verdict,
                "truth": self.truth, "reason": self.reason, "evidence": self.evidence,
                "boxes": self.boxes_n, "boxes_px": self.boxes}
