"""Stage 5 — correction: rewrite the text so that it says only what the experts support.

Rule mode (:class:`RuleCorrector`) edits sentences in place:

- a refuted count is replaced by the detected number (noun and "there is/are"
  agree); a wrong colour, text or relation word is replaced by what the experts
  found;
- an object that is not in the image is dropped from its list ("two circles
  and a green triangle" → "two circles"), or its sentence is dropped when the
  sentence is about it; a yes/no answer flips instead ("Yes, there is a green
  triangle" → "No, there is no green triangle");
- unverifiable claims are kept, marked ``(unverified)`` or dropped, per the
  policy;
- supported content is never removed: a sentence that holds a supported claim
  is edited, never dropped — a refuted part that cannot be cut out alone is
  marked ``(the vision experts disagree)``; a yes/no answer whose stated
  relation is refuted flips its yes/no with the relation words;
- supported objects get their boxes inline as ``entity([x1, y1, x2, y2])``
  (normalised), except in sentences that already give pixel boxes.

Protected spans — citations like ``[s3]``, pixel boxes, quoted strings — are
never touched except to fix a refuted quoted string.

LLM mode (:class:`LLMCorrector`) asks a text model with ``prompts/correct.md``;
the pipeline re-checks its rewrite and falls back to rule mode if it is still wrong.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass

from lavr.agents.verify.claims import normalise_box
from lavr.agents.verify.extract import load_prompt, relations_in
from lavr.agents.verify.text import (
    Sentence,
    format_box_n,
    mask,
    number_word,
    pluralise,
    protected_spans,
    split_sentences,
)
from lavr.agents.verify.types import Claim, Concept, UnverifiablePolicy
from lavr.core_model.errors import InputError
from lavr.core_model.untrusted import data_block

logger = logging.getLogger(__name__)

UNVERIFIED_MARK = " (unverified)"
#: Marks a refuted claim that shares its sentence with supported ones (kept, not dropped).
DISPUTED_MARK = " (the vision experts disagree)"
_NEGATION = re.compile(r"\s+not\b|n't\b", re.I)
#: At most this many boxes are attached to one mention.
MAX_INLINE_BOXES = 6
_LIST_SEP = re.compile(r"^\s*(?:,\s*and|,\s*or|,|and|or|&)\s*$", re.I)
_PIXEL_BOX = re.compile(r"\[\s*-?\d+(?:\.\d+)?(?:\s*,\s*-?\d+(?:\.\d+)?){3}\s*\]")
_YES_NO = re.compile(r"^\s*(yes|no)\b", re.I)
_THERE_BE = re.compile(r"\b(there)(\s+)(is|are)(\s+)$", re.I)
_OPPOSITE_WORDS = {"left": "right", "right": "left", "above": "below", "below": "above",
                   "over": "under", "under": "over", "beneath": "above", "underneath": "above",
                   "higher": "lower", "lower": "higher", "on top of": "below"}


@dataclass
class _Edit:
    start: int
    end: int
    text: str


def _apply(base: str, offset: int, edits: list[_Edit]) -> str:
    """Apply non-overlapping edits (absolute positions) to ``base`` starting at ``offset``."""
    out, pos = [], offset
    for e in sorted(edits, key=lambda e: (e.start, e.end)):
        if e.start < pos:
            logger.debug("dropping overlapping edit %r", e)
            continue
        out.append(base[pos - offset:e.start - offset])
        out.append(e.text)
        pos = e.end
    out.append(base[pos - offset:])
    return "".join(out)


def _fix_articles(text: str) -> str:
    """``a`` / ``an`` agreeing with the next word (``a orange`` → ``an orange``)."""
    def repl(m: re.Match[str]) -> str:
        art, word = m.group(1), m.group(3)
        want = "an" if word[:1].lower() in "aeiou" and not word.lower().startswith(("one", "uni"))\
            else "a"
        if art[0].isupper():
            want = want.capitalize()
        return want + m.group(2) + word
    return re.sub(r"\b(an?|An?)(\s+)([A-Za-z]\w*)", repl, text)


def _case_like(word: str, like: str) -> str:
    return word.capitalize() if like[:1].isupper() else word


def _opposite_phrase(phrase: str, relation: str) -> str:
    low = phrase.lower()
    if low in _OPPOSITE_WORDS:
        return _case_like(_OPPOSITE_WORDS[low], phrase)
    for word, opp in _OPPOSITE_WORDS.items():
        if re.search(rf"\b{word}\b", low):
            return re.sub(rf"\b{word}\b", opp, phrase, count=1, flags=re.I)
    return relation.replace("_", " ")


_BARE_POLAR = re.compile(r"^\W*(yes|no)\W*(?:\[[^\[\]]*\])?\W*$", re.I)


def bare_polar(text: str) -> str | None:
    """``yes`` or ``no`` when ``text`` is nothing but a yes/no ("Yes.", "no [s2]"), else None.

    Such an answer makes no claim of its own: what it asserts (yes) or denies
    (no) is the question's proposition, so it can be checked only with the question.
    """
    m = _BARE_POLAR.match(text)
    return m.group(1).lower() if m else None


def proposition_holds(concepts: list[Concept], claims: list[Claim]) -> bool | None:
    """Whether the proposition of a yes/no question holds, from the verdicts of its claims.

    The question's concepts are read as a statement ("Is there a red circle?" → there
    is a red circle; "Is the square left of the circle?" → it is). An object asked
    about without a number holds when it is there at all (a refuted count of a
    present object does not refute it); anything else holds when supported. False
    when a claim is refuted, True when all are supported, None otherwise (nothing
    checkable, or something unverifiable and nothing refuted).
    """
    by_concept = {k.concept: k for k in claims}
    verdicts: list[bool | None] = []
    for c in concepts:
        k = by_concept.get(c.id)
        if k is None:
            continue
        if k.verdict == "supported":
            verdicts.append(True)
        elif k.verdict == "refuted":
            present_anyway = (c.kind == "object" and c.count is None and k.fix is not None
                              and not k.fix.remove and not k.fix.colour
                              and bool(k.fix.count))
            verdicts.append(present_anyway)
        else:
            verdicts.append(None)
    if not verdicts:
        return None
    if False in verdicts:
        return False
    return True if all(verdicts) else None


def answer_like(said: str, holds: bool) -> str:
    """``said`` (a bare yes/no answer) with the yes/no ``holds`` implies, its case and
    punctuation kept."""
    m = re.search(r"(yes|no)", said, re.I)
    if m is None:
        return said
    want = _case_like("yes" if holds else "no", m.group(1))
    if m.group(1).isupper() and len(m.group(1)) > 1:
        want = want.upper()
    return said[:m.start()] + want + said[m.end():]


class RuleCorrector:
    """Sentence-editing corrector (no model needed).

    Args:
        policy: What to do with unverifiable claims: ``keep``, ``mark`` (append
            ``(unverified)``) or ``remove``.
        attach_boxes: Whether supported objects get ``entity([x1, y1, x2, y2])``
            boxes (normalised) inline.
    """

    name = "rule"

    def __init__(self, *, policy: UnverifiablePolicy = "mark", attach_boxes: bool = True) -> None:
        if policy not in ("keep", "mark", "remove"):
            raise InputError(f"policy must be keep, mark or remove, got {policy!r}")
        self.policy = policy
        self.attach_boxes = attach_boxes

    def correct(self, text: str, concepts: list[Concept], claims: list[Claim], *,
                question: str | None = None) -> str:
        """The corrected text ("" when nothing survives).

        Args:
            text: The text to correct.
            concepts: Its stage-1 concepts.
            claims: Their verdicts.
            question: The question ``text`` answers, when known: a yes/no answer that
                restates the asked relation then gets the yes/no its verdict implies.
        """
        masked = mask(text, protected_spans(text))
        by_concept = {k.concept: k for k in claims}
        pieces: list[str] = []
        prev_end = 0
        sentences = split_sentences(text)
        for s in sentences:
            mine = [c for c in concepts if c.sentence == s.index]
            new = _SentenceEditor(self, text, masked, s, mine, by_concept,
                                  question=question).run()
            gap = text[prev_end:s.start]
            prev_end = s.end
            if new is None:
                continue
            pieces.append(("" if not pieces else gap) + new)
        tail = text[prev_end:] if sentences else text
        return ("".join(pieces) + tail).strip()

    def removes(self, claim: Claim | None) -> bool:
        """Whether ``claim`` is to be dropped from the text."""
        if claim is None:
            return False
        if claim.verdict == "refuted":
            return bool(claim.fix and claim.fix.remove)
        return claim.verdict == "unverifiable" and self.policy == "remove"

    def marks(self, claim: Claim | None) -> bool:
        """Whether ``claim`` gets the ``(unverified)`` mark."""
        return claim is not None and claim.verdict == "unverifiable" and self.policy == "mark"


class _SentenceEditor:
    """Edits one sentence; :meth:`run` returns the new sentence or None to drop it."""

    def __init__(self, owner: RuleCorrector, text: str, masked: str, sentence: Sentence,
                 concepts: list[Concept], claims: dict[str, Claim], *,
                 question: str | None = None) -> None:
        self.owner = owner
        self.question = question or ""
        self.text = text
        self.masked = masked
        self.s = sentence
        self.concepts = concepts
        self.objects = sorted((c for c in concepts if c.kind == "object"), key=lambda c: c.span)
        self.claims = claims
        self.edits: list[_Edit] = []
        self.has_boxes = bool(_PIXEL_BOX.search(sentence.text))

    def claim(self, c: Concept) -> Claim | None:
        return self.claims.get(c.id)

    def participant(self, c: Concept) -> bool:
        return any(o.subject == c.id or o.target == c.id for o in self.concepts
                   if o.kind in ("attribute", "relation"))

    # -- whole sentence -------------------------------------------------------------------------
    def supported(self) -> bool:
        """Whether the sentence holds content the experts support (then it is never dropped).

        That is a yes/no answer, or a supported claim other than an object that
        only takes part in a refuted relation or attribute ("the yellow circle"
        in "the purple triangle is left of the yellow circle" when there is no
        purple triangle).
        """
        if _YES_NO.match(self.masked[self.s.start:self.s.end]):
            return True
        removed = [c for c in self.concepts if self.owner.removes(self.claim(c))]
        in_removed = {x for c in removed for x in (c.subject, c.target) if x}
        in_removed |= {o.id for o in self.concepts if o.kind != "object" and any(
            o.subject == c.id or o.target == c.id for c in removed)}
        for c in self.concepts:
            k = self.claim(c)
            if k is None or k.verdict != "supported":
                continue
            if c.kind != "object" or c.id not in in_removed:
                return True
        return False

    def mark_once(self, at: int, mark: str) -> None:
        """Add ``mark`` at ``at`` unless the sentence already carries a mark."""
        if not any(e.text in (DISPUTED_MARK, UNVERIFIED_MARK) and e.text == mark
                   for e in self.edits):
            self.edits.append(_Edit(at, at, mark))

    def run(self) -> str | None:
        """The corrected sentence; None drops it (only when it holds no supported claim)."""
        if not self.concepts:
            return self.s.text
        flipped = self.yes_no()
        if flipped is not None:
            return flipped
        answered = self.yes_no_relation()
        if answered is not None:
            return answered
        keep = self.supported()
        for c in self.concepts:
            if c.kind != "object" and self.owner.removes(self.claim(c)):
                if not keep:
                    return None
                self.mark_once(c.span[1], self.disputed(c))
        for c in self.objects:
            if self.owner.removes(self.claim(c)) and self.participant(c):
                if not keep:
                    return None
                self.mark_once(c.span[1], self.disputed(c))
        lists = self.lists()
        for group in lists:
            if not self.edit_list(group):
                if not keep:
                    return None
                for c in group:
                    self.mark_once(c.span[1], self.disputed(c))
        for c in self.concepts:
            self.edit_other(c)
        self.agree_there(lists)
        new = _apply(self.s.text, self.s.start, self.edits)
        if new[:1].islower() and self.s.text[:1].isupper():
            new = new[0].upper() + new[1:]
        return new

    def disputed(self, c: Concept) -> str:
        """The mark for a claim that cannot be cut out without losing supported ones."""
        k = self.claim(c)
        if k is not None and k.verdict == "unverifiable":
            return UNVERIFIED_MARK
        return DISPUTED_MARK

    def asks(self, c: Concept) -> bool:
        """Whether the question asks about relation ``c`` itself: the same relation, with
        ``c``'s subject named before it and its target after it ("Is the square below the
        circle?" for "the square is below the circle")."""
        found = relations_in(self.question)
        if len(found) != 1 or found[0][2] != c.relation:
            return False
        start, end, _ = found[0]

        def named(cid: str | None, segment: str) -> bool:
            o = next((x for x in self.objects if x.id == cid), None)
            words = {w for w in (o.noun, o.label) if w} if o is not None else set()
            return any(re.search(rf"\b{re.escape(w)}", segment, re.I) for w in words)

        return named(c.subject, self.question[:start]) and named(c.target, self.question[end:])

    def yes_no_relation(self) -> str | None:
        """A yes/no answer resting on one relation gets the yes/no its verdict implies.

        "No, the square is to the right of the circle." states the relation the
        answer rests on; when the boxes show the opposite, both the relation
        words and the yes/no change ("Yes, the square is to the left of the
        circle."). A denied relation ("No, the circle is not inside the square.")
        loses its "not". When the sentence restates the relation the question asks
        about ("Is the square below the circle?" → "No: the square is below the
        circle."), the yes/no is the verdict itself: refuted → "No" with the relation
        words fixed, supported → "Yes". None when the sentence is not such an answer.
        """
        m = _YES_NO.match(self.masked[self.s.start:self.s.end])
        rels = [c for c in self.concepts if c.kind == "relation"]
        if not m or len(rels) != 1:
            return None
        c = rels[0]
        k = self.claim(c)
        if k is None or k.verdict not in ("supported", "refuted"):
            return None
        if any((o := self.claim(x)) is not None and o.verdict == "refuted"
               for x in self.concepts if x is not c):
            return None  # something else is wrong too: the general editor handles it
        asked = not c.negated and self.asks(c)
        said = m.group(1).lower()
        if k.verdict == "supported":
            if not asked or said == "yes":
                return None
            return _apply(self.s.text, self.s.start, [
                _Edit(self.s.start + m.start(1), self.s.start + m.end(1), _case_like("yes", m.group(1)))])
        if k.fix is None or c.relation_span is None:
            return None
        want = "no" if asked else ("no" if said == "yes" else "yes")
        edits = [] if want == said else [_Edit(self.s.start + m.start(1),
                                               self.s.start + m.end(1), _case_like(want, m.group(1)))]
        if k.fix.relation:
            phrase = self.text[c.relation_span[0]:c.relation_span[1]]
            edits.append(_Edit(c.relation_span[0], c.relation_span[1],
                               _opposite_phrase(phrase, k.fix.relation)))
        elif c.negated:
            subject = next((o for o in self.objects if o.id == c.subject), None)
            start = subject.span[1] if subject is not None else self.s.start
            neg = _NEGATION.search(self.text, start, c.relation_span[0])
            if neg is None:
                return None
            edits.append(_Edit(neg.start(), neg.end(), ""))
        else:
            return None
        return _apply(self.s.text, self.s.start, edits)

    def asks_existence(self, c: Concept) -> bool:
        """Whether the yes/no of the answer is about object ``c`` being there: the question
        is unknown, or it names ``c`` and asks no relation ("Is there a purple circle?",
        not "Is the purple circle left of the square?", whose yes/no is about the relation).
        """
        if not self.question:
            return True
        if relations_in(self.question):
            return False
        words = {w for w in (c.noun, c.label) if w}
        return any(re.search(rf"\b{re.escape(w)}", self.question, re.I) for w in words)

    def yes_no(self) -> str | None:
        """A yes/no answer whose one object claim is refuted flips; None if not that case.

        Only when the yes/no answers whether the object is there (:meth:`asks_existence`):
        "No, there is no purple circle." to "Is the purple circle left of the square?"
        keeps its "No" (the relation decides it); the general editor fixes the reason.
        """
        m = _YES_NO.match(self.masked[self.s.start:self.s.end])
        others = [c for c in self.concepts if c.kind != "object"]
        if not m or len(self.objects) != 1 or others:
            return None
        c = self.objects[0]
        if not self.asks_existence(c):
            return None
        k = self.claim(c)
        if k is None or k.verdict != "refuted" or k.fix is None:
            return None
        said_yes = m.group(1).lower() == "yes"
        cite = re.search(r"(\s*\[[^\[\]]*\])\s*$", self.s.text)
        cite_text = cite.group(1) if cite and not _PIXEL_BOX.fullmatch(cite.group(1).strip()) else ""
        desc = c.model_copy(update={"qualifier": None}).describe()
        if said_yes and (k.fix.remove or k.fix.colour):
            return f"No, there is no {desc} in the image.{cite_text}"
        if not said_yes and k.fix.count:
            n = k.fix.count
            boxes = self.attachment(k) if self.owner.attach_boxes else ""
            noun = pluralise(desc, n)
            return (f"Yes, there {'is' if n == 1 else 'are'} {number_word(n)} {noun}{boxes}."
                    f"{cite_text}")
        return None

    # -- objects and lists --------------------------------------------------------------------
    def lists(self) -> list[list[Concept]]:
        groups: list[list[Concept]] = []
        for c in self.objects:
            if groups and not self.participant(c) and not self.participant(groups[-1][-1]) and \
                    _LIST_SEP.match(self.text[groups[-1][-1].span[1]:c.span[0]]):
                groups[-1].append(c)
            else:
                groups.append([c])
        return groups

    def edit_list(self, group: list[Concept]) -> bool:
        """Edit a list of objects; False when every item is dropped (drop the sentence)."""
        kept = [c for c in group if not self.owner.removes(self.claim(c))]
        if not kept:
            return False
        if len(kept) == len(group):
            for c in group:
                new = self.object_surface(c)
                if new != self.text[c.span[0]:c.span[1]]:
                    self.edits.append(_Edit(c.span[0], c.span[1], new))
            return True
        items = [self.object_surface(c) for c in kept]
        joined = items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
        self.edits.append(_Edit(group[0].span[0], group[-1].span[1], joined))
        return True

    def attachment(self, k: Claim) -> str:
        boxes = k.boxes_n[:MAX_INLINE_BOXES]
        if not boxes:
            return ""
        return "(" + ", ".join(format_box_n(b) for b in boxes) + ")"

    def box_source(self, c: Concept, k: Claim) -> Claim:
        """The claim whose boxes to attach: a supported attribute of the object narrows them."""
        for other in self.concepts:
            if other.kind == "attribute" and other.subject == c.id:
                ak = self.claim(other)
                if ak is not None and ak.verdict == "supported" and ak.boxes_n:
                    return ak
        return k

    def object_surface(self, c: Concept) -> str:
        """The object phrase with its count, noun and colour fixed and boxes attached."""
        k = self.claim(c)
        start = c.span[0]
        local: list[_Edit] = []
        fix = k.fix if k is not None and k.verdict == "refuted" else None
        if fix is not None and fix.count is not None and c.count_span is not None:
            like = self.text[c.count_span[0]:c.count_span[1]]
            word = number_word(fix.count, like="" if like.lower() in ("no", "a", "an") else like)
            local.append(_Edit(c.count_span[0], c.count_span[1], _case_like(word, like)))
            if c.noun_span is not None:
                noun = self.text[c.noun_span[0]:c.noun_span[1]]
                local.append(_Edit(c.noun_span[0], c.noun_span[1], pluralise(noun, fix.count)))
        if fix is not None and fix.colour and c.colour_span is not None:
            like = self.text[c.colour_span[0]:c.colour_span[1]]
            local.append(_Edit(c.colour_span[0], c.colour_span[1], _case_like(fix.colour, like)))
        if k is not None and self.owner.attach_boxes and not self.has_boxes and \
                (k.verdict == "supported" or (fix is not None and fix.count)):
            at = c.noun_span[1] if c.noun_span is not None else c.span[1]
            if not self.text.startswith("([", at):  # not boxed already (a corrected text)
                local.append(_Edit(at, at, self.attachment(self.box_source(c, k))))
        if self.owner.marks(k) and not self.participant(c):
            local.append(_Edit(c.span[1], c.span[1], UNVERIFIED_MARK))  # else its clause is marked
        new = _apply(self.text[c.span[0]:c.span[1]], start, local)
        return _fix_articles(new) if fix is not None else new

    def agree_there(self, lists: list[list[Concept]]) -> None:
        """``there is`` / ``there are`` agreeing with the first object after it."""
        if not lists:
            return
        first = next((c for c in lists[0] if not self.owner.removes(self.claim(c))), None)
        if first is None:
            return
        m = _THERE_BE.search(self.text[self.s.start:lists[0][0].span[0]])
        if m is None:
            return
        k = self.claim(first)
        n = k.fix.count if k is not None and k.fix is not None and k.fix.count is not None \
            else first.count
        # "there is no square" / "there are no squares": with no objects the noun decides
        plural = first.plural if n is None or n == 0 else n != 1
        verb = "are" if plural else "is"
        if m.group(3).lower() != verb:
            pos = self.s.start + m.start(3)
            self.edits.append(_Edit(pos, pos + len(m.group(3)), _case_like(verb, m.group(3))))

    # -- attributes, text, relations -----------------------------------------------------------
    def edit_other(self, c: Concept) -> None:
        k = self.claim(c)
        if c.kind == "object" or k is None:
            return
        if self.owner.marks(k):
            self.edits.append(_Edit(c.span[1], c.span[1], UNVERIFIED_MARK))
            return
        fix = k.fix if k.verdict == "refuted" else None
        if fix is None:
            return
        if c.kind == "attribute" and fix.colours and c.colour_spans:
            first, last = c.colour_spans[0], c.colour_spans[-1]
            items = fix.colours
            words = items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
            like = self.text[first[0]:first[1]]
            self.edits.append(_Edit(first[0], last[1], _case_like(words, like)))
        elif c.kind == "text" and fix.text is not None:
            open_q, close_q = self.text[c.span[0]], self.text[c.span[1] - 1]
            self.edits.append(_Edit(c.span[0], c.span[1], f"{open_q}{fix.text}{close_q}"))
        elif c.kind == "relation" and fix.relation and c.relation_span is not None:
            phrase = self.text[c.relation_span[0]:c.relation_span[1]]
            self.edits.append(_Edit(c.relation_span[0], c.relation_span[1],
                                    _opposite_phrase(phrase, fix.relation)))


# -- LLM mode ---------------------------------------------------------------------------------
def claims_digest(claims: list[Claim]) -> str:
    """Claims as prompt lines: ``- [refuted] there are three circles → there are two circles``."""
    lines = []
    for k in claims:
        line = f"- [{k.verdict}] {k.text}"
        if k.verdict == "refuted" and k.truth:
            line += f" → true: {k.truth}"
        if k.verdict == "supported" and k.boxes_n:
            line += " boxes: " + ", ".join(format_box_n(b) for b in k.boxes_n[:MAX_INLINE_BOXES])
        lines.append(line)
    return "\n".join(lines) or "- (no checkable claims)"


def clean_rewrite(reply: str) -> str:
    """A model's rewrite without code fences, labels or surrounding quotes."""
    text = reply.strip()
    fence = re.search(r"```(?:\w+)?\s*(.*?)```", text, re.S)
    if fence:
        text = fence.group(1).strip()
    text = re.sub(r"^(corrected( text)?|output|answer)\s*:\s*", "", text, flags=re.I).strip()
    if len(text) > 1 and text[0] == text[-1] == '"' and text.count('"') == 2:
        text = text[1:-1]
    return text


class LLMCorrector:
    """Rewrites the text with a model and the examples in ``prompts/correct.md``.

    Args:
        generate: ``prompt -> reply``.
        policy: Unverifiable-claim policy, stated in the prompt.
    """

    name = "llm"

    def __init__(self, generate: Callable[[str], str], *,
                 policy: UnverifiablePolicy = "mark") -> None:
        self.generate = generate
        self.policy = policy

    def prompt(self, text: str, claims: list[Claim], *, feedback: str = "") -> str:
        """The filled-in correction prompt."""
        policy = {"keep": "keep unverifiable claims as they are",
                  "mark": "keep unverifiable claims and append (unverified) to them",
                  "remove": "remove unverifiable claims"}[self.policy]
        body = load_prompt("correct.md")
        body = body.replace("{policy}", policy).replace(
            "{claims}", data_block("claims and what the vision experts found", claims_digest(claims)))
        body = body.replace("{text}", "\n" + data_block("text to correct", text))
        if feedback:
            body += f"\n\nYour previous rewrite still had problems: {feedback}. Rewrite again."
        return body

    def correct(self, text: str, claims: list[Claim], *, feedback: str = "") -> str:
        """The model's rewrite of ``text`` given the claims' verdicts."""
        return clean_rewrite(self.generate(self.prompt(text, claims, feedback=feedback)))


def box_suffix(boxes: list[list[float]], size: tuple[int, int]) -> str:
    """``([x1, y1, x2, y2], ...)`` for pixel boxes in an image of ``(width, height)``."""
    return "(" + ", ".join(format_box_n(normalise_box(b, size)) for b in boxes) + ")"
