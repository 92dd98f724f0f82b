"""Numbers shown on a page: reading them (with their sign), their properties, their order.

* :func:`shown_numbers` — the numbers the page shows as text (or on controls), each with
  its box; a leading minus sign, a short flat bar that OCR often drops or reads as a
  digit, is found from the ink and the digits after it are read on their own.
* :func:`holds` — whether a number has a property named by a word (``odd``, ``even``,
  ``positive``, ``negative``, ``prime`` ...), for requests that sort numbers into classes
  (``label each number as even or odd``).
* :func:`pick_of` / :func:`picked` — which of the numbers a request means (``the largest
  number``, ``every number greater than 5``, ``all the even numbers``) and those numbers;
  :func:`passes` — whether one number passes such a test (``<45.3``, ``odd``);
  :func:`money_number` — a price read as a number (``$45.30``); :func:`currency_sign` —
  where the digits start after a ``$`` drawn taller than them (OCR reads it as a ``5``).
* :func:`order_of` / :func:`in_order` — an order asked for in words (``ascending``,
  ``from largest to smallest``) and the numbers sorted by it.

Pixels only: ``HxWx3 uint8 RGB`` screenshots and XYXY pixel boxes.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from lavr.episodes.gui.language import NUMBER_WORDS
from lavr.episodes.gui.perception import ScreenParse, TextReader, box_within

logger = logging.getLogger(__name__)

Box = tuple[int, int, int, int]

#: Widget kinds a number is never read from when only page text is wanted.
WIDGETS = ("button", "input", "checkbox", "radio", "link")


def _is_prime(n: int) -> bool:
    return n >= 2 and all(n % d for d in range(2, math.isqrt(n) + 1))


#: Properties of a whole number named by a word, and the test for each.
PROPERTIES: dict[str, Callable[[float], bool]] = {
    "odd": lambda v: v == int(v) and int(v) % 2 == 1,
    "even": lambda v: v == int(v) and int(v) % 2 == 0,
    "positive": lambda v: v > 0,
    "negative": lambda v: v < 0,
    "zero": lambda v: v == 0,
    "prime": lambda v: v == int(v) and _is_prime(int(v)),
    "composite": lambda v: v == int(v) and int(v) > 1 and not _is_prime(int(v)),
    "whole": lambda v: v == int(v),
    "integer": lambda v: v == int(v),
    "fraction": lambda v: v != int(v),
    "decimal": lambda v: v != int(v),
}


def holds(value: float, word: str) -> bool | None:
    """Whether ``value`` has the property ``word`` names (None: no property of that name)."""
    test = PROPERTIES.get(word.lower().rstrip("s") if word.lower() not in PROPERTIES else
                          word.lower())
    return None if test is None else bool(test(value))


#: ``even or odd``, ``odd/even``, ``positive or negative``: two or more property words.
_CLASSES = re.compile(r"\b(" + "|".join(PROPERTIES) + r")s?\b((?:\s*(?:,|/|\bor\b)\s*(?:"
                      + "|".join(PROPERTIES) + r")s?\b)+)", re.IGNORECASE)


def classes_of(text: str) -> tuple[str, ...]:
    """The classes a request sorts numbers into (``as even or odd`` -> ``("even", "odd")``),
    or ``()`` when it names fewer than two property words joined by ``or`` / ``/``."""
    m = _CLASSES.search(text)
    if m is None:
        return ()
    words = [m[1].lower()] + [w.lower() for w in re.findall(r"[a-z]+", m[2], flags=re.I)
                              if w.lower() != "or"]
    words = [w[:-1] if w not in PROPERTIES and w[:-1] in PROPERTIES else w for w in words]
    return tuple(dict.fromkeys(words)) if len(set(words)) >= 2 else ()


_ASC = r"ascending|increasing|rising|growing"
_DESC = r"descending|decreasing|falling|reverse|backwards?"
_LOW = r"smallest|lowest|least|low|small|min(?:imum)?|fewest"
_HIGH = r"largest|biggest|highest|greatest|most|high|large|big|max(?:imum)?"
_ORDER = re.compile(rf"\b(?:in\s+)?(?:(?:an?|the)\s+)?({_ASC}|{_DESC}|numerical|alphabetical|"
                    r"alphabetic|lexicographic(?:al)?)\s+"
                    r"(?:order|sequence)\b|\bin\s+(?:the\s+)?(?:right\s+|correct\s+)?order\b|"
                    rf"\bfrom\s+(?:the\s+)?({_LOW}|{_HIGH})\s+(?:\w+\s+)?to\s+(?:the\s+)?"
                    rf"({_LOW}|{_HIGH})\b|\b((?:{_ASC}|{_DESC}|alphabetical)ly)\b",
                    re.IGNORECASE)


def order_of(text: str) -> tuple[str, str] | None:
    """``(order, the words that said it)`` for an order asked for in words: ``ascending``
    (``in ascending / increasing / numerical order``, ``from smallest to largest``, ``in
    order``), ``descending`` (``from the highest to the lowest``) or ``alphabetical`` (of
    words); None when the text asks for no order."""
    m = _ORDER.search(text)
    if m is None:
        return None
    word = (m[1] or m[4] or "").lower()
    if word.startswith(("alphabetic", "lexicographic")):
        return "alphabetical", m[0]
    if m[2]:
        first_low = re.fullmatch(_LOW, m[2], flags=re.IGNORECASE) is not None
        last_low = re.fullmatch(_LOW, m[3], flags=re.IGNORECASE) is not None
        if first_low == last_low:
            return None
        return ("ascending" if first_low else "descending"), m[0]
    if re.match(_DESC, word, flags=re.IGNORECASE):
        return "descending", m[0]
    return "ascending", m[0]  # ascending, numerical, "in order"


@dataclass(frozen=True)
class ShownNumber:
    """A number shown on the page.

    Attributes:
        value: The number (a minus sign drawn before it included).
        box: Where it is, XYXY pixels.
        text: The text read there (digits only when a minus bar was found and cut off).
        kind: The kind of element it was read from (``text``, ``button`` ...).
    """

    value: float
    box: Box
    text: str
    kind: str = "text"

    @property
    def center(self) -> tuple[float, float]:
        """``(x, y)`` centre of the box."""
        return (self.box[0] + self.box[2]) / 2.0, (self.box[1] + self.box[3]) / 2.0


def _ink_in(image: np.ndarray, box: Box, contrast: float) -> np.ndarray | None:
    """Ink of ``box``: pixels whose grey differs from the box's border (its background) by
    more than ``contrast``; None for an empty box."""
    x1, y1, x2, y2 = box
    patch = image[y1:y2, x1:x2]
    if patch.size == 0:
        return None
    grey = patch.astype(np.float32).mean(axis=2)
    bg = float(np.median(np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])))
    return np.abs(grey - bg) > contrast


def minus_bar(image: np.ndarray, box: Box) -> int | None:
    """The x where the digits start when the ink in ``box`` begins with a minus sign — a
    flat bar (at least twice as wide as tall, at most a third of the ink's height, about
    halfway down it) apart from the ink to its right; else None."""
    x1 = box[0]
    ink = _ink_in(image, box, 80)
    if ink is None:
        return None
    cols = np.flatnonzero(ink.any(axis=0))
    rows = np.flatnonzero(ink.any(axis=1))
    if len(cols) < 3 or len(rows) < 3:
        return None
    height = rows[-1] - rows[0] + 1
    # the first run of inked columns
    start = cols[0]
    end = start
    while end + 1 < ink.shape[1] and ink[:, end + 1].any():
        end += 1
    if end + 1 >= ink.shape[1] or not ink[:, end + 1:].any():
        return None  # nothing after it: a lone dash is no number
    bar = ink[:, start:end + 1]
    bar_rows = np.flatnonzero(bar.any(axis=1))
    bh, bw = bar_rows[-1] - bar_rows[0] + 1, end - start + 1
    mid = (bar_rows[0] + bar_rows[-1]) / 2.0
    centre = (rows[0] + rows[-1]) / 2.0
    if bw >= 2 * bh and bh * 3 <= height and abs(mid - centre) <= height * 0.25:
        return x1 + end + 1
    return None


def currency_sign(image: np.ndarray, box: Box) -> int | None:
    """The x where the digits start when the ink in ``box`` begins with a currency sign
    drawn taller than the digits (a ``$``: its stroke reaches above and below them; OCR
    reads it as a ``5`` or ``S``); else None. Glyphs are runs of inked columns; the first
    must reach at least 1 px above and below all of the others, which are two or more."""
    x1 = box[0]
    ink = _ink_in(image, box, 60)
    if ink is None:
        return None
    cols = ink.any(axis=0)
    glyphs: list[tuple[int, int]] = []
    start = None
    for x, on in enumerate([*cols, False]):
        if on and start is None:
            start = x
        elif not on and start is not None:
            glyphs.append((start, x))
            start = None
    if len(glyphs) < 3:
        return None
    spans = []
    for a, b in glyphs:
        rows = np.flatnonzero(ink[:, a:b].any(axis=1))
        spans.append((int(rows[0]), int(rows[-1])))
    top = min(t for t, _ in spans[1:])
    bottom = max(b for _, b in spans[1:])
    above, below = top - spans[0][0], spans[0][1] - bottom
    if above >= 0 and below >= 0 and above + below >= 2:
        return x1 + glyphs[1][0]
    return None


_NUMBER_TEXT = re.compile(r"[-+\u2212\u2013]?\d+(?:[.,]\d+)?")
#: OCR look-alikes of digits in a text that is all one number.
_LOOKALIKES = str.maketrans({"O": "0", "o": "0", "D": "0", "l": "1", "I": "1", "i": "1",
                             "|": "1", "S": "5", "s": "5", "Z": "2", "z": "2", "B": "8",
                             "g": "9", "q": "9", "b": "6", "G": "6", "A": "4", "T": "7"})


def parse_number(text: str) -> float | None:
    """The one number a short text is (``-5``, ``12``, ``3.5``; OCR look-alikes such as
    ``O l S`` folded to digits where the text has a digit or is one character: ``l0``,
    ``S``), or None when it holds anything else (a word made of look-alike letters, ``So``,
    ``Is``, ``Go``, is a word)."""
    t = re.sub(r"\s+", "", text).strip(".:;'\"`")
    if not t:
        return None
    if not _NUMBER_TEXT.fullmatch(t) and (len(t) == 1 or re.search(r"\d", t)):
        t = t.translate(_LOOKALIKES)
    if not _NUMBER_TEXT.fullmatch(t):
        return None
    return float(t.replace("\u2212", "-").replace("\u2013", "-").replace(",", "."))


def shown_numbers(parse: ScreenParse, reader: TextReader, *,
                  kinds: Sequence[str] = ("text",)) -> list[ShownNumber]:
    """The numbers shown by the elements of ``kinds`` (below the banner), in reading order.

    Each element whose text is one number counts; a text element inside a widget does not.
    A minus drawn as a short flat bar before the digits (OCR drops it, or reads it as a
    digit) is found from the ink: the digits after it are read on their own and negated.
    """
    image = parse.image
    widgets = [e.box for e in parse.elements if e.kind in WIDGETS]
    cands = []
    for e in parse.of_kind(*kinds):
        if e.kind == "text" and any(box_within(e.box, w) for w in widgets):
            continue
        boxes = e.text_boxes or (e.box,)
        if len(boxes) != 1:
            continue
        cands.append((e, boxes[0]))
    if not cands:
        return []
    plain = reader.read(image, [b for _, b in cands])
    cut: dict[int, Box] = {}
    for i, (_, b) in enumerate(cands):
        start = minus_bar(image, b)
        if start is not None:
            cut[i] = (start, b[1], b[2], b[3])
    digits = dict(zip(cut, reader.read(image, list(cut.values())), strict=True)) if cut else {}
    out = []
    for i, ((e, _box), (text, _)) in enumerate(zip(cands, plain, strict=True)):
        value = None
        if i in digits:
            rest = parse_number(digits[i][0])
            if rest is not None:
                value, text = -abs(rest), "-" + digits[i][0]
        if value is None:
            value = parse_number(text)
        if value is not None:
            out.append(ShownNumber(value, e.box, text, e.kind))
    logger.info("numbers shown: %s", [(n.value, n.box) for n in out])
    return out


_MAX = r"largest|biggest|greatest|highest|maximum|max|most|larger|bigger|greater|higher"
_MIN = r"smallest|lowest|least|minimum|min|fewest|smaller|lower|lesser"
_NUM = r"(-?\d+(?:\.\d+)?)"
_PICKS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(rf"\bat\s+least\s+{_NUM}", re.IGNORECASE), ">="),
    (re.compile(rf"\bat\s+most\s+{_NUM}", re.IGNORECASE), "<="),
    (re.compile(rf"\b(?:(?:greater|larger|bigger|more|higher)\s+than|above|over)\s+{_NUM}",
                re.IGNORECASE), ">"),
    (re.compile(rf"\b(?:(?:less|smaller|lower|fewer)\s+than|below|under)\s+{_NUM}",
                re.IGNORECASE), "<"),
    (re.compile(rf"\b(?:equal\s+to|exactly)\s+{_NUM}", re.IGNORECASE), "=="),
    (re.compile(rf"\b(?:{_MAX})\b", re.IGNORECASE), "max"),
    (re.compile(rf"\b(?:{_MIN})\b", re.IGNORECASE), "min"),
    (re.compile(r"\b(" + "|".join(PROPERTIES) + r")\b", re.IGNORECASE), "is"),
)


def money_number(text: str) -> float | None:
    """The one number a short text shows, a currency sign and thousands commas dropped
    (``$45.30``, ``S45.30`` as OCR reads a ``$``, ``1,250``), else None (see
    :func:`parse_number`)."""
    t = re.sub(r"\s+", "", text).strip(".:;'\"`")
    t = re.sub(r"^(?:[$\u20ac\u00a3]|S(?=\d))", "", t)
    t = re.sub(r"(?<=\d),(?=\d{3}(?:\D|$))", "", t)
    return parse_number(t)


def passes(value: float, pick: str) -> bool:
    """Whether one number passes a test of :func:`pick_of` (``<7``, ``>=3``, ``odd``)."""
    return bool(picked([ShownNumber(value, (0, 0, 0, 0), "")], pick))


def pick_of(text: str) -> str | None:
    """Which numbers a request picks: ``max`` / ``min`` (``the largest number``), a
    comparison ``>5``, ``<3``, ``>=0``, ``<=9``, ``==4`` (``greater than 5`` or ``five``,
    ``at most 9``) or a property word (``even``: ``all the even numbers``); None when it
    picks none."""
    text = re.sub(r"\b(than|least|most|to|above|below|over|under|exactly)\s+(" +
                  "|".join(NUMBER_WORDS) + r")\b",
                  lambda m: f"{m[1]} {NUMBER_WORDS[m[2].lower()]}", text, flags=re.IGNORECASE)
    for pattern, kind in _PICKS:
        m = pattern.search(text)
        if m is None:
            continue
        if kind in ("max", "min"):
            return kind
        if kind == "is":
            return m[1].lower()
        return kind + m[1]
    return None


def picked(items: Sequence[ShownNumber], pick: str) -> list[ShownNumber]:
    """The numbers of ``items`` that ``pick`` (:func:`pick_of`) means, in reading order; the
    one largest (``max``) or smallest (``min``) as a list of one."""
    if not items:
        return []
    if pick == "max":
        return [max(items, key=lambda n: n.value)]
    if pick == "min":
        return [min(items, key=lambda n: n.value)]
    m = re.fullmatch(r"(>=|<=|==|>|<)(-?\d+(?:\.\d+)?)", pick)
    if m:
        bound = float(m[2])
        test = {">": bound.__lt__, "<": bound.__gt__, ">=": bound.__le__, "<=": bound.__ge__,
                "==": bound.__eq__}[m[1]]
        return [n for n in items if test(n.value)]
    return [n for n in items if holds(n.value, pick)]


def in_order(items: Sequence[ShownNumber], order: str) -> list[ShownNumber]:
    """``items`` sorted by ``order`` (``ascending`` or ``descending``; ``alphabetical`` by
    their text, case-blind); ties keep reading order."""
    if order == "alphabetical":
        return sorted(items, key=lambda n: n.text.strip().lower())
    return sorted(items, key=lambda n: n.value, reverse=order == "descending")
