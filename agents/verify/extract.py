"""Stage 1 — key concept extraction: what does the text claim about the image?

Rule mode (:class:`RuleExtractor`) reads objects from the detectors' vocabularies
(with synonyms and plurals), numbers ("two", "3", "no"), colour words before a
noun or after "is"/"are", quoted strings said to be written in the image, and
spatial relations between two objects. LLM mode (:class:`LLMExtractor`) asks a
text model with the worked examples in ``prompts/extract.md`` and anchors its
answer in the text; invalid output is re-asked once with the error, then the
rule extractor takes over.

Citations (``[s3]``), pixel boxes (``[12, 30, 60, 80]``) and inline box
attachments are never read as numbers, and sentences about lavr itself ("I
could not ...") are skipped.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from lavr.agents.verify.text import (
    Protected,
    Sentence,
    Token,
    is_plural,
    mask,
    parse_number,
    protected_spans,
    split_sentences,
    tokens,
)
from lavr.agents.verify.types import RELATION_NAMES, Concept
from lavr.core_model.structured import safe_raw_decode
from lavr.core_model.untrusted import data_block
from lavr.tools.labels import COCO_CLASSES, SHAPES_CLASSES, normalise_label
from lavr.tools.vocab import COLOUR_WORDS

logger = logging.getLogger(__name__)

PROMPT_DIR = Path(__file__).parent / "prompts"
#: Generic nouns and the classes they cover (empty tuple: every class).
GENERIC_NOUNS: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(("shape", "shapes", "figure", "figures"), SHAPES_CLASSES),
    **dict.fromkeys(("object", "objects", "thing", "things", "item", "items"), ()),
}
#: Words the detector vocabularies would map to a class but that are rarely objects in prose.
NOT_NOUNS = frozenset({"round", "auto", "individual", "someone", "mobile", "cycle", "one",
                       "controller", "block", "tile", "screen", "monitor"})
QUALIFIERS: dict[str, str] = {
    "largest": "largest", "biggest": "largest", "smallest": "smallest", "tiniest": "smallest",
    "leftmost": "leftmost", "rightmost": "rightmost", "topmost": "topmost",
    "highest": "topmost", "uppermost": "topmost", "lowest": "bottommost",
    "bottommost": "bottommost",
}
_BOX_WORDS = frozenset({"box", "boxes"})
_DEFINITE = frozenset({"the", "this", "that", "these", "those"})
_INDEFINITE = frozenset({"a", "an", "another"})
_AT_LEAST_TWO = frozenset({"several", "many", "multiple", "various", "numerous"})
_AT_LEAST_ONE = frozenset({"some", "any"})
_EVERY = frozenset({"all", "each", "every"})
_ADJECTIVES = frozenset({
    "small", "large", "big", "tiny", "little", "huge", "larger", "smaller", "bigger", "other",
    "single", "more", "visible", "only", "bright", "dark", "light", "solid", "flat", "coloured",
    "colored", "plain", "medium", "medium-sized", "small-sized", "large-sized", "pale", "vivid",
    "second", "third", "first", "last", "separate", "distinct", "further", "additional",
})
_NEGATIONS = frozenset({"not", "never", "without", "isn't", "aren't", "don't", "doesn't",
                        "didn't", "wasn't", "weren't", "cannot", "can't", "nothing", "none"})
_TEXT_CUES = re.compile(
    r"\b(says?|said|saying|reads?|reading|written|writes?|writing|text|words?|sign|signs|label|"
    r"labell?ed|printed|caption|title|letters|inscription|spells?|displays?)\b", re.I)
#: Sentences about lavr or the process, not about the image.
_META = re.compile(
    r"\b(I|we) (need|could not|couldn't|cannot|can't|am unable|was unable|don't know|"
    r"do not know)\b|\bcould not\b|\bplanner\b|\bstep budget\b|\bstep\(s\)|\bunable to\b", re.I)
_RELATION_PATTERNS: tuple[tuple[str, str], ...] = (
    ("to the left of", "left_of"), ("on the left of", "left_of"), ("left of", "left_of"),
    ("to the right of", "right_of"), ("on the right of", "right_of"), ("right of", "right_of"),
    ("on top of", "above"), ("above", "above"), ("over", "above"), ("higher than", "above"),
    ("underneath", "below"), ("beneath", "below"), ("below", "below"), ("under", "below"),
    ("lower than", "below"), ("inside of", "inside"), ("inside", "inside"), ("within", "inside"),
    ("overlaps with", "overlaps"), ("overlapping with", "overlaps"), ("overlaps", "overlaps"),
    ("overlapping", "overlaps"), ("overlap", "overlaps"), ("touches", "overlaps"),
    ("touching", "overlaps"),
)
_REL_ALT = "|".join(re.escape(p) for p, _ in _RELATION_PATTERNS)
_RELATION_RE = re.compile(
    r"^\s*,?\s*(?:which\s+|that\s+)?(?P<verb>is|are|sits|sit|lies|lie|appears|appear|stands|"
    r"stand|was|were|seems to be|seem to be)?(?P<neg>\s+not|n't)?\s*(?:located\s+|positioned\s+|"
    r"placed\s+|directly\s+|just\s+|slightly\s+|somewhat\s+|far\s+|also\s+)*(?P<rel>" + _REL_ALT +
    r")\s*$", re.I)
_RELATION_WORDS = re.compile(r"\b(?P<rel>" + _REL_ALT + r")\b", re.I)


def relations_in(text: str) -> list[tuple[int, int, str]]:
    """Every relation phrase in ``text`` as ``(start, end, relation name)``, in text order."""
    return [(m.start(), m.end(),
             next(n for p, n in _RELATION_PATTERNS if p == m.group("rel").lower()))
            for m in _RELATION_WORDS.finditer(text)]


_COLOUR_ALT = "|".join(sorted(COLOUR_WORDS, key=len, reverse=True))
_PREDICATE_RE = re.compile(
    r"^\s*,?\s*(?:which\s+|that\s+)?(?P<verb>is|are|was|were|looks|look|appears|appear|seems|"
    r"seem)(?P<neg>\s+not|n't)?\s+(?P<mods>(?:(?:all|both|entirely|mostly|fully|coloured|"
    r"colored|painted|in)\s+)*)(?P<colour>" + _COLOUR_ALT + r")\b", re.I)
_MORE_COLOUR_RE = re.compile(r"\s*(?:,\s*and\s+|,\s*or\s+|,\s*|\s+and\s+|\s+or\s+)(?P<colour>"
                             + _COLOUR_ALT + r")\b", re.I)
_ANSWER_NO = re.compile(r"\u2192\s*no\b|->\s*no\b", re.I)


@lru_cache(maxsize=1)
def vocabulary() -> tuple[str, ...]:
    """Class names of the closed-vocabulary detectors, shapes first."""
    return tuple(dict.fromkeys(SHAPES_CLASSES + COCO_CLASSES))


@lru_cache(maxsize=4096)
def noun_label(word: str) -> str | None:
    """The detector class a word names (``"boxes"`` → ``"square"``), else None."""
    if word in NOT_NOUNS or word in COLOUR_WORDS:
        return None
    return normalise_label(word, vocabulary())


@dataclass
class _NP:
    """A noun phrase found while scanning a sentence (internal)."""

    first: int  # token index of the first modifier
    last: int  # token index of the head noun (last token)
    label: str | None
    labels: tuple[str, ...] = ()
    noun: str = ""
    noun_span: tuple[int, int] | None = None
    colour: str | None = None
    colour_span: tuple[int, int] | None = None
    count: int | None = None
    count_span: tuple[int, int] | None = None
    at_least: int = 1
    definite: bool = False
    every: bool = False
    qualifier: str | None = None
    generic: bool = False
    elided: bool = False
    mods: list[str] = field(default_factory=list)


class Extractor(Protocol):
    """Stage 1: the concepts a text asserts (:class:`RuleExtractor`, :class:`LLMExtractor`)."""

    name: str

    def extract(self, text: str) -> list[Concept]:
        """Concepts in ``text``, in text order."""
        ...


class RuleExtractor:
    """Extract concepts with vocabulary and pattern rules (no model needed)."""

    name = "rule"

    def extract(self, text: str) -> list[Concept]:
        """Concepts claimed by ``text``, in text order (ids ``c1``, ``c2`` ...)."""
        spans = protected_spans(text)
        masked = mask(text, spans)
        out: list[Concept] = []
        for sentence in split_sentences(text):
            out.extend(_sentence_concepts(text, masked, spans, sentence, start_id=len(out) + 1))
        return out


# -- noun phrases ----------------------------------------------------------------------------
def _contiguous(text: str, a: Token, b: Token) -> bool:
    """Whether only spaces (or a hyphen) separate tokens ``a`` and ``b`` in the real text."""
    gap = text[a.end:b.start]
    return gap.strip(" -") == "" and "\n" not in gap


def _head_noun(toks: list[Token], i: int, text: str) -> tuple[str | None, tuple[str, ...], int, bool]:
    """Noun at token ``i``: ``(label, generic_labels, width, generic)``; width 0 if none."""
    if i + 1 < len(toks) and _contiguous(text, toks[i], toks[i + 1]):
        two = noun_label(f"{toks[i].word} {toks[i + 1].word}")
        if two and " " in two and toks[i].word not in COLOUR_WORDS:
            return two, (), 2, False
    word = toks[i].word
    if word in GENERIC_NOUNS:
        return None, GENERIC_NOUNS[word], 1, True
    nxt = toks[i + 1].word if i + 1 < len(toks) and _contiguous(text, toks[i], toks[i + 1]) else ""
    if word in COLOUR_WORDS and (nxt in GENERIC_NOUNS or (nxt and noun_label(nxt))):
        return None, (), 0, False  # "orange circle": a colour, not a fruit
    label = noun_label(word)
    if label is None and word in COLOUR_WORDS and i > 0 and \
            _contiguous(text, toks[i - 1], toks[i]) and \
            (toks[i - 1].word in _INDEFINITE | _DEFINITE or parse_number(toks[i - 1].word)):
        label = normalise_label(word, vocabulary())  # "an orange", "two oranges": the fruit
    if label and word in _BOX_WORDS and (re.match(r"\s*\[", text[toks[i].end:]) or
                                         (i > 0 and toks[i - 1].word == "bounding")):
        return None, (), 0, False  # "(box [12, 30, 60, 80])" is a box, not a square
    return (label, (), 1, False) if label else (None, (), 0, False)


def _modifiers(np_: _NP, toks: list[Token], text: str) -> None:
    """Scan back from the noun over colour, number, quantifier, article and adjectives."""
    j = np_.first - 1
    while j >= 0 and _contiguous(text, toks[j], toks[j + 1]):
        w = toks[j].word
        span = (toks[j].start, toks[j].end)
        if w in COLOUR_WORDS and np_.colour is None and np_.count is None and not np_.definite:
            np_.colour, np_.colour_span = COLOUR_WORDS[w], span
        elif w in QUALIFIERS and np_.qualifier is None:
            np_.qualifier = QUALIFIERS[w]
        elif parse_number(w) is not None and np_.count is None and not np_.definite \
                and np_.at_least == 1:
            np_.count, np_.count_span = parse_number(w), span
        elif w == "both" and np_.count is None:
            np_.count, np_.count_span = 2, span
        elif w in _AT_LEAST_TWO and np_.count is None:
            np_.at_least, np_.count_span = 2, span
        elif w in _AT_LEAST_ONE and np_.count is None:
            np_.count_span = span
        elif w in _INDEFINITE and np_.count is None:
            np_.count_span = span
        elif w in _DEFINITE:
            np_.definite = True
        elif w in _EVERY:
            np_.every = True
        elif w in _ADJECTIVES:
            pass
        else:
            break
        np_.mods.append(w)
        np_.first = j
        if w in _INDEFINITE or w in _AT_LEAST_ONE or w == "no":
            # articles and quantifiers open the phrase, except "all the", "all two"
            if j - 1 >= 0 and toks[j - 1].word in _EVERY and _contiguous(text, toks[j - 1], toks[j]):
                np_.every, np_.first = True, j - 1
            break
        j -= 1


def _noun_phrases(toks: list[Token], text: str) -> list[_NP]:
    nps: list[_NP] = []
    i = 0
    while i < len(toks):
        label, generic_labels, width, generic = _head_noun(toks, i, text)
        if not width:
            elided = _elided(toks, i, text, nps)
            if elided is not None:
                nps.append(elided)
                i += 2
                continue
            i += 1
            continue
        last = i + width - 1
        noun = text[toks[i].start:toks[last].end]
        np_ = _NP(first=i, last=last, label=label, labels=generic_labels, noun=noun,
                  noun_span=(toks[i].start, toks[last].end), generic=generic)
        _modifiers(np_, toks, text)
        if np_.generic and np_.count is None and np_.colour is None and np_.qualifier is None:
            i += width  # "objects" alone claims nothing checkable
            continue
        nps.append(np_)
        i += width
    return nps


def _elided(toks: list[Token], i: int, text: str, nps: list[_NP]) -> _NP | None:
    """``"three circles: two red, one blue"``: a number and a colour with the noun left out."""
    if not nps or i + 1 >= len(toks) or not _contiguous(text, toks[i], toks[i + 1]):
        return None
    n = parse_number(toks[i].word)
    colour = COLOUR_WORDS.get(toks[i + 1].word)
    if n is None or colour is None or toks[i].word == "no":
        return None
    if i + 2 < len(toks) and _contiguous(text, toks[i + 1], toks[i + 2]) and \
            _head_noun(toks, i + 2, text)[2]:
        return None
    prev = nps[-1]
    if prev.label is None and not prev.labels:
        return None
    return _NP(first=i, last=i + 1, label=prev.label, labels=prev.labels, noun="",
               colour=colour, colour_span=(toks[i + 1].start, toks[i + 1].end), count=n,
               count_span=(toks[i].start, toks[i].end), generic=prev.generic, elided=True)


def _clause_start(masked: str, sentence: Sentence, pos: int) -> int:
    """Start of the clause holding ``pos`` (after the last , ; : or dash)."""
    cut = max(masked.rfind(c, sentence.start, pos) for c in ",;:\u2014")
    return sentence.start if cut < 0 else cut + 1


def _negated_np(np_: _NP, toks: list[Token], masked: str, sentence: Sentence) -> bool:
    """Whether a negation earlier in the clause denies an indefinite phrase."""
    if np_.count is not None or np_.definite or np_.every or np_.qualifier:
        return False
    start = _clause_start(masked, sentence, toks[np_.first].start)
    return any(t.word in _NEGATIONS or t.word.endswith("n't")
               for t in toks[:np_.first] if t.start >= start)


# -- concepts of one sentence ------------------------------------------------------------------
def _object_concept(cid: str, np_: _NP, toks: list[Token], text: str, sentence: Sentence,
                    masked: str) -> Concept:
    start, end = toks[np_.first].start, toks[np_.last].end
    count = 0 if _negated_np(np_, toks, masked, sentence) else np_.count
    plural = is_plural(np_.noun) if np_.noun else (count or 0) != 1
    return Concept(
        id=cid, kind="object", sentence=sentence.index, span=(start, end), text=text[start:end],
        label=np_.label, labels=list(np_.labels), noun=np_.noun, colour=np_.colour, count=count,
        at_least=np_.at_least if count is None else 0, definite=np_.definite,
        qualifier=np_.qualifier, plural=plural, count_span=np_.count_span,
        colour_span=np_.colour_span, noun_span=np_.noun_span, every=np_.every)


def _predicate(obj: Concept, after: int, limit: int, masked: str, text: str,
               cid: str) -> Concept | None:
    """``"<object> is red"`` / ``"are red and blue"`` right after an object phrase."""
    m = _PREDICATE_RE.match(masked[after:limit])
    if not m:
        return None
    colours = [COLOUR_WORDS[m.group("colour").lower()]]
    spans = [(after + m.start("colour"), after + m.end("colour"))]
    pos = after + m.end()
    while True:
        more = _MORE_COLOUR_RE.match(masked[pos:limit])
        if not more:
            break
        colours.append(COLOUR_WORDS[more.group("colour").lower()])
        spans.append((pos + more.start("colour"), pos + more.end("colour")))
        pos += more.end()
    mods = (m.group("mods") or "").lower().split()
    verb = (after + m.start("verb"), after + m.end("verb"))
    return Concept(
        id=cid, kind="attribute", sentence=obj.sentence, span=(obj.span[0], pos),
        text=text[obj.span[0]:pos], subject=obj.id, colours=colours, colour_spans=spans,
        every=obj.every or "all" in mods or "both" in mods or (obj.plural and not obj.qualifier),
        verb_span=verb, negated=bool(m.group("neg")), label=obj.label, colour=obj.colour)


def _relation(a: Concept, b: Concept, masked: str, text: str, sentence: Sentence,
              cid: str) -> Concept | None:
    between = masked[a.span[1]:b.span[0]]
    m = _RELATION_RE.match(between)
    if not m:
        return None
    phrase = m.group("rel").lower()
    name = next(n for p, n in _RELATION_PATTERNS if p == phrase)
    rel_span = (a.span[1] + m.start("rel"), a.span[1] + m.end("rel"))
    tail = masked[b.span[1]:sentence.end]
    negated = bool(m.group("neg")) or bool(_ANSWER_NO.search(tail))
    return Concept(id=cid, kind="relation", sentence=sentence.index, span=(a.span[0], b.span[1]),
                   text=text[a.span[0]:b.span[1]], subject=a.id, target=b.id, relation=name,
                   relation_span=rel_span, negated=negated)


def _text_concepts(text: str, masked: str, spans: list[Protected], sentence: Sentence,
                   objects: list[Concept], next_id: Callable[[], str]) -> list[Concept]:
    quotes = [p for p in spans if p.kind == "quote" and sentence.start <= p.start < sentence.end]
    if not quotes or not _TEXT_CUES.search(masked[sentence.start:sentence.end]):
        return []
    out = []
    for q in quotes:
        inner = q.inner.strip()
        if not inner:
            continue
        out.append(Concept(id=next_id(), kind="text", sentence=sentence.index,
                           span=(q.start, q.end), text=text[q.start:q.end], quoted=inner))
    return out


def _sentence_concepts(text: str, masked: str, spans: list[Protected], sentence: Sentence, *,
                       start_id: int) -> list[Concept]:
    counter = [start_id]

    def next_id() -> str:
        cid = f"c{counter[0]}"
        counter[0] += 1
        return cid

    if _META.search(masked[sentence.start:sentence.end]):
        return []
    toks = tokens(masked, sentence.start, sentence.end)
    objects = [_object_concept(next_id(), np_, toks, text, sentence, masked)
               for np_ in _noun_phrases(toks, text)]
    out: list[Concept] = list(objects)
    for k, obj in enumerate(objects):
        limit = objects[k + 1].span[0] if k + 1 < len(objects) else sentence.end
        limit = min(limit, _clause_end(masked, obj.span[1], sentence.end))
        attr = _predicate(obj, obj.span[1], limit, masked, text, "")
        if attr is not None:
            attr = attr.model_copy(update={"id": next_id()})
            out.append(attr)
        if k + 1 < len(objects):
            rel = _relation(obj, objects[k + 1], masked, text, sentence, "")
            if rel is not None:
                out.append(rel.model_copy(update={"id": next_id()}))
    out.extend(_text_concepts(text, masked, spans, sentence, objects, next_id))
    return sorted(out, key=lambda c: (c.span[0], int(c.id[1:])))


def _clause_end(masked: str, pos: int, end: int) -> int:
    cuts = [i for i in (masked.find(c, pos, end) for c in ";:\u2014") if i >= 0]
    return min(cuts) if cuts else end


# -- LLM mode --------------------------------------------------------------------------------
class LLMConcept(BaseModel):
    """One concept as the extraction prompt asks a model to write it.

    Attributes:
        kind: ``object``, ``attribute``, ``relation`` or ``text``.
        phrase: The exact words of the text that make the claim.
        label: For objects: the object class, singular ("circle").
        count: For objects: the exact number claimed, 0 for "no", null for
            "a"/"the"/"some".
        colour: For objects: the colour named before the noun.
        subject: For attributes and relations: the phrase of the object.
        colours: For attributes: the colours claimed.
        relation: For relations: one of :data:`RELATION_NAMES`.
        object: For relations: the phrase of the second object.
        quoted: For text: the string said to be written.
        negated: The text denies the attribute or relation.
    """

    model_config = ConfigDict(extra="forbid")

    kind: str
    phrase: str
    label: str | None = None
    count: int | None = Field(default=None, ge=0)
    colour: str | None = None
    subject: str | None = None
    colours: list[str] = Field(default_factory=list)
    relation: str | None = None
    object: str | None = None
    quoted: str | None = None
    negated: bool = False


class ExtractionError(ValueError):
    """A model's extraction could not be used; the message says why (fed back to it)."""


def load_prompt(name: str) -> str:
    """A prompt file beside this module (``extract.md``, ``correct.md``)."""
    return (PROMPT_DIR / name).read_text(encoding="utf-8")


def prompt_examples(name: str) -> list[tuple[str, str]]:
    """The worked examples of a prompt: ``(input text, expected output)`` pairs.

    Examples are written as ``Text: ...`` followed by ``Output: ...`` blocks.
    """
    body = load_prompt(name)
    pairs = re.findall(r"^Text: (.*?)\nOutput: (.*?)(?=\n\n|\n*\Z)", body, re.M | re.S)
    return [(t.strip(), o.strip()) for t, o in pairs]


def _json_payload(raw: str) -> Any:
    """The first JSON array or object in a model reply (code fences allowed)."""
    text = raw.strip()
    fence = re.search(r"```(?:json)?\s*(.*?)```", text, re.S)
    if fence:
        text = fence.group(1).strip()
    starts = [i for i in (text.find("["), text.find("{")) if i >= 0]
    if not starts:
        raise ExtractionError("no JSON found; answer with a JSON array of concepts")
    try:
        value, _ = safe_raw_decode(text[min(starts):])
    except ValueError as exc:
        raise ExtractionError(f"invalid JSON: {exc}") from exc
    return value


def parse_llm_concepts(raw: str) -> list[LLMConcept]:
    """Validate a model's extraction reply.

    Raises:
        ExtractionError: Not a JSON list of valid concepts.
    """
    value = _json_payload(raw)
    if isinstance(value, dict):
        value = value.get("concepts", value)
    if not isinstance(value, list):
        raise ExtractionError("expected a JSON array of concepts")
    out = []
    for i, item in enumerate(value):
        try:
            c = LLMConcept.model_validate(item)
        except ValidationError as exc:
            msgs = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            raise ExtractionError(f"concept {i}: {msgs}") from exc
        if c.kind not in ("object", "attribute", "relation", "text"):
            raise ExtractionError(f"concept {i}: kind must be object, attribute, relation or "
                                  f"text, got {c.kind!r}")
        if c.kind == "relation" and c.relation not in RELATION_NAMES:
            raise ExtractionError(f"concept {i}: relation must be one of "
                                  f"{', '.join(RELATION_NAMES)}, got {c.relation!r}")
        if c.kind == "text" and not c.quoted:
            raise ExtractionError(f"concept {i}: a text concept needs 'quoted'")
        out.append(c)
    return out


def _find(text: str, phrase: str, start: int = 0) -> tuple[int, int] | None:
    m = re.search(re.escape(phrase.strip()), text[start:], re.I)
    if m is None and start:
        m = re.search(re.escape(phrase.strip()), text, re.I)
        start = 0
    return (start + m.start(), start + m.end()) if m else None


def anchor_concepts(text: str, items: list[LLMConcept]) -> list[Concept]:
    """Turn a model's concepts into :class:`Concept` records with spans in ``text``.

    Each object phrase is re-read with the rule extractor's phrase parser to get
    the spans of its number, colour and noun; the model's label, count and
    colour win where the model gave them.

    Raises:
        ExtractionError: A phrase is not in the text, or refers to an unknown object.
    """
    sentences = split_sentences(text)
    spans = protected_spans(text)
    masked = mask(text, spans)

    def sentence_of(pos: int) -> Sentence:
        return next((s for s in sentences if s.start <= pos < max(s.end, s.start + 1)),
                    sentences[-1])

    out: list[Concept] = []
    objects: dict[str, Concept] = {}
    cursor = 0
    for i, item in enumerate(items):
        where = _find(text, item.phrase, cursor)
        if where is None:
            raise ExtractionError(f"concept {i}: phrase {item.phrase!r} is not in the text")
        cid = f"c{len(out) + 1}"
        sent = sentence_of(where[0])
        if item.kind == "object":
            obj = _anchor_object(cid, item, text, masked, where, sent)
            objects[item.phrase.lower()] = obj
            out.append(obj)
            cursor = where[0]
            continue
        if item.kind == "text":
            q = _find(text, item.quoted or "", where[0]) or where
            out.append(Concept(id=cid, kind="text", sentence=sent.index, span=q,
                               text=text[q[0]:q[1]], quoted=item.quoted))
            continue
        subject = _lookup(objects, item.subject, i, "subject")
        if item.kind == "attribute":
            colours = [COLOUR_WORDS.get(c.lower(), c.lower()) for c in item.colours]
            cspans = [s for c in item.colours if (s := _find(text, c, where[0])) is not None]
            out.append(Concept(id=cid, kind="attribute", sentence=sent.index, span=where,
                               text=text[where[0]:where[1]], subject=subject.id, colours=colours,
                               colour_spans=cspans[:len(colours)],
                               every=subject.plural and not subject.qualifier,
                               negated=item.negated, label=subject.label, colour=subject.colour))
        else:
            target = _lookup(objects, item.object, i, "object")
            words = next(p for p, n in _RELATION_PATTERNS if n == item.relation)
            rel_span = _find(text, words, subject.span[1])
            out.append(Concept(id=cid, kind="relation", sentence=sent.index, span=where,
                               text=text[where[0]:where[1]], subject=subject.id, target=target.id,
                               relation=item.relation, relation_span=rel_span,
                               negated=item.negated))
    return out


def _lookup(objects: dict[str, Concept], phrase: str | None, i: int, role: str) -> Concept:
    if not phrase:
        raise ExtractionError(f"concept {i}: needs '{role}' naming an object phrase")
    key = phrase.lower().strip()
    for k, obj in objects.items():
        if k == key or key in k or k in key:
            return obj
    raise ExtractionError(f"concept {i}: {role} {phrase!r} is not one of the object phrases "
                          f"listed before it")


def _anchor_object(cid: str, item: LLMConcept, text: str, masked: str, where: tuple[int, int],
                   sent: Sentence) -> Concept:
    toks = tokens(masked, where[0], where[1])
    nps = _noun_phrases(toks, text)
    if nps:
        obj = _object_concept(cid, nps[-1], toks, text, sent, masked)
    else:  # a noun outside the detector vocabularies: the last word is the noun
        if not toks:
            raise ExtractionError(f"object phrase {item.phrase!r} has no words")
        last = toks[-1]
        obj = Concept(id=cid, kind="object", sentence=sent.index, span=where,
                      text=text[where[0]:where[1]], label=None, noun=text[last.start:last.end],
                      noun_span=(last.start, last.end), plural=is_plural(last.word))
        for t in toks[:-1]:
            if parse_number(t.word) is not None and obj.count_span is None:
                obj.count_span = (t.start, t.end)
            if t.word in COLOUR_WORDS and obj.colour_span is None:
                obj.colour_span = (t.start, t.end)
    update: dict[str, Any] = {"span": where, "text": text[where[0]:where[1]]}
    if item.label:
        update["label"] = noun_label(item.label.lower()) or item.label.lower()
    if item.count is not None:
        update["count"] = item.count
        update["at_least"] = 0
    if item.colour:
        update["colour"] = COLOUR_WORDS.get(item.colour.lower(), item.colour.lower())
    return obj.model_copy(update=update)


TextModel = Callable[[str], str]


class LLMExtractor:
    """Extract concepts with a text model and the worked examples in ``prompts/extract.md``.

    Args:
        generate: ``prompt -> reply`` (any text or multimodal model).
        retries: How many times invalid output is sent back with the error.
        fallback: Used when the model's output stays invalid (rule extractor by default).
    """

    name = "llm"

    def __init__(self, generate: TextModel, *, retries: int = 1,
                 fallback: RuleExtractor | None = None) -> None:
        self.generate = generate
        self.retries = retries
        self.fallback = fallback or RuleExtractor()
        self.attempts: list[dict[str, str]] = []

    def extract(self, text: str) -> list[Concept]:
        """Concepts in ``text``; falls back to rule mode after ``retries`` bad replies."""
        prompt = load_prompt("extract.md").replace(
            "{text}", "\n" + data_block("text to read", text))
        self.attempts = []
        for _ in range(self.retries + 1):
            reply = self.generate(prompt)
            try:
                return anchor_concepts(text, parse_llm_concepts(reply))
            except ExtractionError as exc:
                logger.info("LLM extraction rejected: %s", exc)
                self.attempts.append({"reply": reply[:500], "error": str(exc)})
                prompt += (f"\n\nYour previous answer was invalid: {exc}. Answer again with "
                           f"only the JSON array.")
        logger.warning("LLM extraction failed %d times; using rule extraction",
                       len(self.attempts))
        return self.fallback.extract(text)
