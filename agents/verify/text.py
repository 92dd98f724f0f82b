"""Text helpers for the corrector: protected spans, sentences, tokens, numbers, plurals.

Protected spans are parts of a text that must never be read as claims or
edited: bracket groups (citations like ``[s1, s3]`` and pixel boxes like
``[12, 30, 60, 80]``), inline box attachments ``([0.1, 0.2, 0.3, 0.4])`` and
quoted strings (read as text claims, not as object words).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lavr.tools.vocab import (  # noqa: F401 - re-exported for the corrector's modules
    NUMBER_WORDS,
    is_plural,
    number_word,
    parse_number,
    pluralise,
    singular,
)

_QUOTE_PAIRS = {'"': '"', "\u201c": "\u201d"}
_BRACKET_RE = re.compile(r"\(\s*\[[^\[\]]*\](?:\s*[,;]\s*\[[^\[\]]*\])*\s*\)|\[[^\[\]]*\]")
_TOKEN_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9'\u2019\-]*")
#: Matches inline box attachments ``([x1, y1, x2, y2], ...)`` written by the corrector.
ATTACHMENT_RE = re.compile(r"\(\[[-0-9., ]+\](?:, \[[-0-9., ]+\])*\)")


@dataclass(frozen=True)
class Protected:
    """A span that is not parsed for objects.

    Attributes:
        start: First character.
        end: One past the last character.
        kind: ``bracket`` (citations, boxes, attachments) or ``quote``.
        inner: For quotes, the text between the quote marks.
    """

    start: int
    end: int
    kind: str
    inner: str = ""


@dataclass(frozen=True)
class Sentence:
    """One sentence of a text.

    Attributes:
        index: Position among the sentences.
        start: First character (in the full text).
        end: One past the last character, including a trailing citation group.
        text: ``full_text[start:end]``.
    """

    index: int
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Token:
    """A lower-cased word with its span in the full text."""

    word: str
    start: int
    end: int


def protected_spans(text: str) -> list[Protected]:
    """Quoted strings and bracket groups, in order, non-overlapping."""
    spans: list[Protected] = []
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch in _QUOTE_PAIRS:
            close = text.find(_QUOTE_PAIRS[ch], i + 1)
            if close > i + 1 and "\n" not in text[i:close]:
                spans.append(Protected(i, close + 1, "quote", text[i + 1:close]))
                i = close + 1
                continue
        if ch in "([":
            m = _BRACKET_RE.match(text, i)
            if m:
                spans.append(Protected(i, m.end(), "bracket"))
                i = m.end()
                continue
        i += 1
    return spans


def mask(text: str, spans: list[Protected]) -> str:
    """``text`` with every protected span replaced by spaces (offsets unchanged)."""
    chars = list(text)
    for p in spans:
        chars[p.start:p.end] = " " * (p.end - p.start)
    return "".join(chars)


def split_sentences(text: str) -> list[Sentence]:
    """Split at ``.``, ``!``, ``?``, ``;`` or newlines outside protected spans.

    A fragment made only of bracket groups (a citation such as ``[s1, s2]``
    written after the full stop) joins the sentence before it.
    """
    masked = mask(text, protected_spans(text))
    bounds: list[tuple[int, int]] = []
    start = 0
    for m in re.finditer(r"[.!?;]+(?=\s|$)|\n+", masked):
        end = m.end()
        if masked[start:end].strip():
            bounds.append((start, end))
            start = end
    if text[start:].strip():
        bounds.append((start, len(text)))
    bounds = [(s, _citation_end(text, e)) for s, e in bounds]
    bounds = [(max(s, bounds[i - 1][1]) if i else s, e) for i, (s, e) in enumerate(bounds)]
    bounds = [(s, e) for s, e in bounds if e > s]
    merged: list[tuple[int, int]] = []
    for s, e in bounds:
        if merged and not re.search(r"[A-Za-z0-9]", masked[s:e]) and text[s:e].strip():
            merged[-1] = (merged[-1][0], e)
        else:
            merged.append((s, e))
    out = []
    for i, (s, e) in enumerate(merged):
        while s < e and text[s].isspace():
            s += 1
        out.append(Sentence(i, s, e, text[s:e]))
    return out


def _citation_end(text: str, end: int) -> int:
    """``end`` moved past bracket groups right after a full stop (``". [s1, s2]"``)."""
    while True:
        m = re.match(r"[ \t]*(\[[^\[\]\n]*\])", text[end:])
        if not m:
            return end
        end += m.end()


def tokens(masked: str, start: int = 0, end: int | None = None) -> list[Token]:
    """Word tokens of ``masked[start:end]`` with full-text spans, lower-cased."""
    end = len(masked) if end is None else end
    return [Token(m.group(0).lower().replace("\u2019", "'"), m.start(), m.end())
            for m in _TOKEN_RE.finditer(masked, start, end)]


def normalise_text(text: str) -> str:
    """Lower-case letters and digits only: ``"Lab 3!"`` → ``"lab3"``."""
    return re.sub(r"[^a-z0-9]", "", text.lower())


def similarity(a: str, b: str) -> float:
    """Similarity of two strings in [0, 1] after :func:`normalise_text` (1 = equal)."""
    from difflib import SequenceMatcher

    na, nb = normalise_text(a), normalise_text(b)
    if not na and not nb:
        return 1.0
    if not na or not nb:
        return 0.0
    return SequenceMatcher(None, na, nb).ratio()


def format_box_n(box_n: list[float]) -> str:
    """``[0.12, 0.30, 0.25, 0.41]``: a normalised box with two decimals."""
    return "[" + ", ".join(f"{v:.2f}" for v in box_n) + "]"


def strip_attachments(text: str) -> str:
    """``text`` without inline box attachments ``([...])`` the corrector added."""
    return ATTACHMENT_RE.sub("", text)
