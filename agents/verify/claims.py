"""Stage 4 — visual claim generation: a verdict for every concept, with evidence.

Claims come in Woodpecker's three kinds: ``counting`` (how many objects of a
class, including existence and absence), ``specific`` (an attribute of
particular objects, or the text written on them) and ``overall`` (relations
between objects, totals over the whole image). Each has a verdict —
``supported``, ``refuted`` or ``unverifiable`` — the evidence ids and boxes
behind it, and for refuted claims what is true instead and how to fix the text.
"""

from __future__ import annotations

from collections.abc import Sequence

from lavr.agents.verify.questions import question_of
from lavr.agents.verify.text import number_word, pluralise, similarity
from lavr.agents.verify.types import Answer, Claim, Concept, Fix, Question

#: A quoted string matches an OCR line at least this similar (see :func:`similarity`).
TEXT_MATCH = 0.7
_RELATION_WORDS = {"left_of": "left of", "right_of": "right of", "above": "above",
                   "below": "below", "inside": "inside", "overlaps": "overlapping"}


def normalise_box(box: Sequence[float], size: tuple[int, int]) -> list[float]:
    """XYXY pixels → XYXY in [0, 1] for an image of ``(width, height)``, 3 decimals."""
    w, h = max(size[0], 1), max(size[1], 1)
    x1, y1, x2, y2 = (float(v) for v in box)
    return [round(min(max(v, 0.0), 1.0), 3) for v in (x1 / w, y1 / h, x2 / w, y2 / h)]


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


def _there(n: int, desc: str) -> str:
    """``there are two red circles`` / ``there is one square`` / ``there are no triangles``."""
    noun = pluralise(desc, n)
    return f"there {'is' if n == 1 else 'are'} {number_word(n)} {noun}"


def _object_text(c: Concept) -> str:
    desc = c.describe() if not c.qualifier else c.model_copy(update={"qualifier": None}).describe()
    if c.count is not None:
        return _there(c.count, desc)
    if c.at_least >= 2:
        return f"there are several {pluralise(desc, 2)}"
    if c.plural and not c.definite and not c.qualifier:
        return f"there are {pluralise(desc, 2)}"
    return f"there is {_article(desc)} {desc}"


def _the(c: Concept) -> str:
    return f"the {c.describe()}" if not c.plural or c.qualifier else f"the {pluralise(c.describe(), 2)}"


def _verb(c: Concept) -> str:
    return "are" if c.plural and not c.qualifier else "is"


def _colours_text(colours: Sequence[str]) -> str:
    items = list(dict.fromkeys(colours))
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


class _Builder:
    def __init__(self, concepts: list[Concept], questions: list[Question], answers: list[Answer],
                 image_size: tuple[int, int]) -> None:
        self.concepts = concepts
        self.objects = {c.id: c for c in concepts if c.kind == "object"}
        self.questions = questions
        self.answers = {a.question: a for a in answers}
        self.size = image_size
        self.claims: dict[str, Claim] = {}

    def answer(self, concept: Concept) -> Answer | None:
        q = question_of(concept.id, self.questions)
        return None if q is None else self.answers.get(q.id)

    def claim(self, concept: Concept, kind: str, text: str, ans: Answer | None, **kw: object) -> Claim:
        boxes = kw.pop("boxes", None)
        if boxes is None:
            boxes = ans.boxes if ans is not None else []
        claim = Claim(id=f"k{len(self.claims) + 1}", kind=kind, text=text, concept=concept.id,
                      sentence=concept.sentence, evidence=list(ans.evidence) if ans else [],
                      boxes=[list(b) for b in boxes],
                      boxes_n=[normalise_box(b, self.size) for b in boxes], **kw)
        self.claims[concept.id] = claim
        return claim

    def unverifiable(self, concept: Concept, kind: str, text: str, ans: Answer | None) -> Claim:
        reason = (ans.note if ans is not None and ans.note else "no expert could check this")
        return self.claim(concept, kind, text, ans, verdict="unverifiable", reason=reason,
                          boxes=[])

    # -- objects ---------------------------------------------------------------------------
    def mentioned_elsewhere(self, c: Concept) -> bool:
        """Whether the text introduces other objects of the same class (not "the ..." ones)."""
        return any(o.id != c.id and o.label == c.label and o.labels == c.labels
                   and not o.definite for o in self.objects.values())

    def colour_swap(self, c: Concept, ans: Answer) -> str | None:
        """A colour that makes the claim true, when the text introduces no other such object.

        "There is a green circle" about a red circle becomes "a red circle"; but
        "a square and a purple square" about one green square drops the second
        mention instead of describing the same square twice.
        """
        if not c.colour or not ans.by_colour or self.mentioned_elsewhere(c):
            return None
        for colour, n in ans.by_colour.items():
            ok = n == c.count if c.count is not None else n >= c.at_least
            if colour != c.colour and ok:
                return colour
        return None

    def object_claim(self, c: Concept) -> Claim:
        ans = self.answer(c)
        text = _object_text(c)
        kind = "counting" if c.label or c.labels else "overall"
        if ans is None or ans.status != "ok" or ans.value is None:
            return self.unverifiable(c, kind, text, ans)
        n = int(ans.value)
        desc = c.model_copy(update={"qualifier": None}).describe()
        ok = n == c.count if c.count is not None else n >= c.at_least
        if ok:
            return self.claim(c, kind, text, ans, verdict="supported",
                              reason=f"the detector found {n}")
        low = n if ans.low is None else ans.low
        high = n if ans.high is None else ans.high
        possible = low <= c.count <= high if c.count is not None else high >= c.at_least
        if possible:
            return self.claim(c, kind, text, ans, verdict="unverifiable", boxes=[],
                              reason=f"the detector is unsure: it found {n} ({low} with "
                                     f"confidence, up to {high} counting uncertain boxes)")
        truth = _there(n, desc)
        swap = self.colour_swap(c, ans) if n == 0 else None
        if swap is not None:
            k = ans.by_colour[swap]
            fix = Fix(colour=swap)
            truth = _there(k, c.model_copy(update={"colour": swap, "qualifier": None}).describe())
            reason = f"the detector found no {desc}, but {number_word(k)} {swap} one(s)"
        elif n == 0:
            fix = Fix(remove=True)
            reason = f"the detector found no {desc}"
        elif low != high:
            # the number is wrong, but with uncertain detections (a shape that may be
            # misread) the right one is not known: the claim is dropped, not guessed
            fix = Fix(remove=True)
            truth = f"there are {number_word(low)} to {number_word(high)} {pluralise(desc, 2)}"
            reason = (f"the detector found {n} ({low} with confidence, up to {high} counting "
                      f"uncertain ones), not {c.count if c.count is not None else 'several'}")
        else:
            fix = Fix(count=n)
            reason = f"the detector found {n}, not {c.count if c.count is not None else 'several'}"
        return self.claim(c, kind, text, ans, verdict="refuted", truth=truth, fix=fix,
                          reason=reason, boxes=ans.boxes)

    # -- attributes, text, relations -------------------------------------------------------------
    def subject_refuted(self, concept: Concept, kind: str, text: str,
                        subject_ids: Sequence[str | None]) -> Claim | None:
        for sid in subject_ids:
            sub = self.claims.get(sid or "")
            if sub is not None and sub.verdict == "refuted" and sub.fix is not None and \
                    (sub.fix.remove or sub.fix.colour):
                obj = self.objects[sid or ""]
                return self.claim(concept, kind, text, None, verdict="refuted", fix=Fix(remove=True),
                                  truth=sub.truth, reason=f"{obj.describe()} is not in the image",
                                  boxes=[])
        return None

    def attribute_claim(self, c: Concept) -> Claim:
        subject = self.objects[c.subject or ""]
        text = f"{_the(subject)} {_verb(subject)} {'not ' if c.negated else ''}" \
               f"{_colours_text(c.colours)}"
        gone = self.subject_refuted(c, "specific", text, [c.subject])
        if gone is not None:
            return gone
        ans = self.answer(c)
        if ans is None or ans.status != "ok":
            return self.unverifiable(c, "specific", text, ans)
        found = [str(x) for x in ans.value]
        if not found:
            return self.claim(c, "specific", text, ans, verdict="unverifiable",
                              reason="the object was not found", boxes=[])
        claimed = set(c.colours)
        if c.every:
            holds = set(found) == claimed or (set(found) <= claimed and len(claimed) == 1)
        else:
            holds = bool(claimed & set(found))
        if c.negated:
            holds = not (claimed & set(found))
        if holds:
            keep = [b for b, col in zip(ans.boxes, found, strict=False) if col in claimed] \
                if not c.negated else ans.boxes
            return self.claim(c, "specific", text, ans, verdict="supported",
                              reason=f"the colour expert says {_colours_text(found)}",
                              boxes=keep or ans.boxes)
        distinct = list(dict.fromkeys(found))
        truth = f"{_the(subject)} {_verb(subject)} {_colours_text(distinct)}"
        if c.negated or (not c.every and len(distinct) > 1) or len(distinct) > 3:
            fix = Fix(remove=True)
        else:
            fix = Fix(colours=distinct)
        return self.claim(c, "specific", text, ans, verdict="refuted", truth=truth, fix=fix,
                          reason=f"the colour expert says {_colours_text(found)}")

    def text_claim(self, c: Concept) -> Claim:
        text = f'the text "{c.quoted}" is written in the image'
        ans = self.answer(c)
        if ans is None or ans.status != "ok":
            return self.unverifiable(c, "specific", text, ans)
        lines = [str(t) for t in ans.value or []]
        if (ans.similarity or 0.0) >= TEXT_MATCH:
            return self.claim(c, "specific", text, ans, verdict="supported",
                              reason=f'OCR read "{ans.best}"')
        if not lines:
            return self.claim(c, "specific", text, ans, verdict="refuted", fix=Fix(remove=True),
                              truth="no text was read", reason="OCR read no text", boxes=[])
        quoted_elsewhere = [o.quoted or "" for o in self.concepts
                            if o.kind == "text" and o.id != c.id]
        free = [t for t in lines
                if not any(similarity(t, q) >= TEXT_MATCH for q in quoted_elsewhere)] or lines
        best = max(free, key=lambda t: similarity(c.quoted or "", t))
        return self.claim(c, "specific", text, ans, verdict="refuted", fix=Fix(text=best),
                          truth=f'the text reads "{best}"',
                          reason=f"OCR read {', '.join(repr(t) for t in lines)}")

    def relation_claim(self, c: Concept) -> Claim:
        a, b = self.objects[c.subject or ""], self.objects[c.target or ""]
        words = _RELATION_WORDS.get(c.relation or "", c.relation or "")
        text = f"{_the(a)} {_verb(a)} {'not ' if c.negated else ''}{words} {_the(b)}"
        gone = self.subject_refuted(c, "overall", text, [c.subject, c.target])
        if gone is not None:
            return gone
        ans = self.answer(c)
        if ans is None or ans.status != "ok" or ans.value is None:
            return self.unverifiable(c, "overall", text, ans)
        holds = bool(ans.value) != c.negated
        if holds:
            return self.claim(c, "overall", text, ans, verdict="supported",
                              reason="the boxes agree")
        if not c.negated and ans.truth:
            truth_words = _RELATION_WORDS[ans.truth]
            return self.claim(c, "overall", text, ans, verdict="refuted", fix=Fix(relation=ans.truth),
                              truth=f"{_the(a)} {_verb(a)} {truth_words} {_the(b)}",
                              reason=f"the boxes show {truth_words}")
        return self.claim(c, "overall", text, ans, verdict="refuted", fix=Fix(remove=True),
                          truth=f"it is {'' if c.negated else 'not '}{words}",
                          reason="the boxes disagree")


def build_claims(concepts: list[Concept], questions: list[Question], answers: list[Answer], *,
                 image_size: tuple[int, int]) -> list[Claim]:
    """One claim per concept, object claims first so others can depend on them.

    Args:
        concepts: Stage-1 concepts.
        questions: Stage-2 questions.
        answers: Stage-3 answers.
        image_size: ``(width, height)`` in pixels, for normalised boxes.

    Returns:
        Claims in text order of their concepts, ids ``k1``, ``k2`` ...
    """
    b = _Builder(concepts, questions, answers, image_size)
    for c in concepts:
        if c.kind == "object":
            b.object_claim(c)
    for c in concepts:
        if c.kind == "attribute" and c.subject in b.objects:
            b.attribute_claim(c)
        elif c.kind == "text":
            b.text_claim(c)
        elif c.kind == "relation" and c.subject in b.objects and c.target in b.objects:
            b.relation_claim(c)
    order = {c.id: i for i, c in enumerate(concepts)}
    claims = sorted(b.claims.values(), key=lambda k: order[k.concept])
    return [k.model_copy(update={"id": f"k{i + 1}"}) for i, k in enumerate(claims)]
