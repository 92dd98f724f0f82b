"""Choosing among results by a criterion the request names (no OCR or widgets here).

A request such as ``Reserve the cheapest room ...`` or ``pick the shortest trip``
names a *superlative*: a quantity each result shows (a price, a duration, a time
of day, a plain number) and a direction (smallest or largest). This module holds

* :data:`SUPERLATIVES` — a small table of superlative words, each mapped to the
  quantity it compares and the direction (``cheapest`` -> price, smallest);
* :func:`find_criterion` — the superlative in a request, if any;
* :func:`read_quantity` — the quantity a result's text shows, read by OCR and
  tolerant to its slips (``$22O``, ``S220``, ``17h 47m``, ``9:10 AM``);
* :func:`best_index` — which of the results' values is best by the criterion;
* :class:`ResultsSearch` and :func:`vertical_shift` — the bookkeeping of a list longer
  than the view: each result keyed by its place in the list's content, the scroll offset
  measured from the screenshots before and after each scroll.

The agent (:mod:`lavr.episodes.gui.agent`) reads each result's text on the
screen, scrolling through a list longer than the view, and clicks the action
button of the best one.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from lavr.episodes.gui.language import DIGIT_LOOKALIKES

#: Quantities a result may show.
QUANTITIES = ("price", "duration", "time", "number")

#: Superlative -> (quantity compared, +1 largest / -1 smallest). Multi-word phrases first.
SUPERLATIVES: tuple[tuple[str, str, int], ...] = (
    ("least expensive", "price", -1), ("most expensive", "price", 1),
    ("lowest priced", "price", -1), ("highest priced", "price", 1),
    ("cheapest", "price", -1), ("priciest", "price", 1), ("dearest", "price", 1),
    ("shortest", "duration", -1), ("quickest", "duration", -1), ("fastest", "duration", -1),
    ("longest", "duration", 1), ("slowest", "duration", 1),
    ("earliest", "time", -1), ("latest", "time", 1),
    ("smallest", "number", -1), ("lowest", "number", -1), ("fewest", "number", -1),
    ("largest", "number", 1), ("biggest", "number", 1), ("highest", "number", 1),
)


@dataclass(frozen=True)
class Criterion:
    """What makes a result the one to choose.

    Attributes:
        word: The superlative as the request says it (``cheapest``).
        quantity: One of :data:`QUANTITIES`.
        direction: ``-1``: the smallest value wins; ``+1``: the largest.
    """

    word: str
    quantity: str
    direction: int

    def describe(self) -> str:
        """``cheapest (smallest price)``."""
        return f"{self.word} ({'smallest' if self.direction < 0 else 'largest'} {self.quantity})"


def find_criterion(text: str) -> Criterion | None:
    """The superlative a request names (the first of :data:`SUPERLATIVES` found), or None."""
    low = text.lower()
    for word, quantity, direction in SUPERLATIVES:
        if re.search(rf"\b{word}\b", low):
            return Criterion(word, quantity, direction)
    return None


def without_criterion(text: str, criterion: Criterion) -> str:
    """``text`` with the superlative taken out (it says which result, not what to fill in)."""
    out = re.sub(rf"\s*\b{criterion.word}\b", "", text, count=1, flags=re.IGNORECASE)
    return re.sub(r"\s+", " ", out).strip()


_DIGITS = str.maketrans({k: v for k, v in DIGIT_LOOKALIKES.items() if k not in "sS"})
_PRICE = re.compile(r"[$\u20ac\u00a3]\s*([\dOoIl|,]+(?:\.\d{1,2})?)|"
                    r"(?<![A-Za-z])[Ss]\s*(\d[\dOoIl|,]*(?:\.\d{1,2})?)|"
                    r"(\d[\d,]*(?:\.\d{1,2})?)\s*(?:USD|EUR|dollars?)\b")
_DURATION = re.compile(r"(?<![\d:])(\d{1,3})\s*h(?:ours?|rs?)?\.?\s*(?:(\d{1,2})\s*m(?:in(?:utes?)?)?)?"
                       r"(?![a-z])|(?<![\d:])(\d{1,3})\s*[nb]\s*(\d{1,2})\s*m(?![a-z])|"
                       r"(?<![\d:])(\d{1,3})\s*m(?:in(?:utes?)?)?(?![a-z])", re.IGNORECASE)
#: (OCR reads this font's small ``h`` as ``n`` or ``b``: ``14n 42m``, taken only with minutes.)
_TIME = re.compile(r"(?<![\d.])(\d{1,2})\s*[:.]\s*(\d{2})(?::\d{2})?\s*(?:([AaPp])\.?\s*[Mm]\.?)?"
                   r"(?![\d])")
_NUMBER = re.compile(r"(?<![\w.])-?\d[\d,]*(?:\.\d+)?")


def _amount(text: str) -> float | None:
    t = text.translate(_DIGITS).replace(",", "")
    try:
        return float(t)
    except ValueError:
        return None


_LOOKALIKE = "OoIl|SsZzB"


def _fold_digits(text: str) -> str:
    """Look-alike letters made digits where they stand among digits (``1h 4Sm`` ->
    ``1h 45m``, ``l7h`` -> ``17h``); words stay as they are."""
    table = str.maketrans({k: v for k, v in DIGIT_LOOKALIKES.items() if k in _LOOKALIKE})
    # a number with its unit (``Ilh`` for ``11h``, ``4Sm``): every look-alike in it
    text = re.sub(rf"(?<![A-Za-z\d])[\d{_LOOKALIKE}]{{1,3}}(?=[hm]\b)",
                  lambda m: m[0].translate(table), text)
    for _ in range(2):
        text = re.sub(rf"(?<=\d)[{_LOOKALIKE}](?=[\d{_LOOKALIKE}]*(?:[hmHM]\b|\s|$|[:.,]))|"
                      rf"(?<![A-Za-z])[{_LOOKALIKE}](?=\d)", lambda m: m[0].translate(table), text)
    return text


def read_quantity(text: str, quantity: str) -> float | None:
    """The first value of ``quantity`` in ``text`` (as OCR read it), or None.

    ``price``: ``$220``, ``S 1,020``, ``$22O`` -> 220.0 / 1020.0 / 220.0 (a price is marked by
    a currency); ``duration`` in minutes: ``17h 47m`` -> 1067, ``45m`` -> 45, ``2 hours``
    -> 120; ``time`` of day in minutes after midnight: ``9:10 AM`` -> 550, ``12:05 PM`` ->
    725, ``21:37`` -> 1297; ``number``: the first plain number.
    """
    if quantity == "price":
        m = _PRICE.search(text)
        return _amount(next(g for g in m.groups() if g)) if m else None
    text = _fold_digits(text)
    if quantity == "duration":
        m = _DURATION.search(text)
        if not m:
            return None
        if m[1]:
            return int(m[1]) * 60.0 + (int(m[2]) if m[2] else 0)
        if m[3]:
            return int(m[3]) * 60.0 + int(m[4])
        return float(m[5])
    if quantity == "time":
        m = _TIME.search(text)
        if not m:
            return None
        hour, minute = int(m[1]), int(m[2])
        if hour > 23 or minute > 59:
            return None
        half = (m[3] or "").lower()
        if half:
            hour = hour % 12 + (12 if half == "p" else 0)
        return hour * 60.0 + minute
    m = _NUMBER.search(text.translate(_DIGITS))
    return _amount(m[0]) if m else None


def best_index(values: Sequence[float | None], criterion: Criterion) -> int | None:
    """Index of the best value by ``criterion`` (the first of equals); None when no value."""
    known = [(v, i) for i, v in enumerate(values) if v is not None]
    if not known:
        return None
    if criterion.direction < 0:
        return min(known, key=lambda t: (t[0], t[1]))[1]
    return max(known, key=lambda t: (t[0], -t[1]))[1]


# -- a list longer than the view ---------------------------------------------------
@dataclass
class ResultsSearch:
    """What is known of a list of results while scrolling through it.

    Attributes:
        values: ``{row: value}`` — each result by where its button sits in the list's
            content (pixels from the content's top, :attr:`offset` added to its screen
            ``y``), with the value of the criterion's quantity it shows (None: not read).
        offset: How far (px) the content has been scrolled down since the list was first seen.
        before: The screen before the last scroll, and the amount asked for.
        rechecked: The last scroll moved less than asked once already (looked again).
        at_end: The bottom of the list has been seen.
        bottom: The offset at which the bottom was in view.
        waits: Steps spent waiting for the results to show.
        returns: Scrolls taken back towards the best result.
    """

    values: dict[int, float | None] = field(default_factory=dict)
    offset: int = 0
    before: tuple[np.ndarray, int] | None = None
    rechecked: bool = False
    at_end: bool = False
    bottom: int = 0
    waits: int = 0
    returns: int = 0

    def row(self, screen_y: float) -> int:
        """The key of the result whose button's top is at ``screen_y`` now (rows seen before
        within :data:`ROW_SNAP` px are the same row)."""
        y = int(round(screen_y)) + self.offset
        near = [k for k in self.values if abs(k - y) <= ROW_SNAP]
        return min(near, key=lambda k: abs(k - y)) if near else y


#: Rows of a list whose buttons' tops differ by at most this (px) after scrolling are one.
ROW_SNAP = 4


def vertical_shift(before: np.ndarray, after: np.ndarray, *, top: int, most: int) -> int:
    """How many pixels the content below ``top`` moved up from ``before`` to ``after``
    (``HxWx3`` screenshots; negative: down), searched from 0 to ``most`` px (``most`` < 0:
    a scroll up, from ``most`` to 0); the shift whose overlapping rows differ least."""
    a = before[top:].astype(np.int16)
    b = after[top:].astype(np.int16)
    h = a.shape[0]
    best, best_err = 0, float("inf")
    for d in range(min(most, 0), max(most, 0) + 1):
        if abs(d) >= h - 8:
            continue
        # content at row r of `before` is at row r - d of `after`
        pa = a[max(d, 0):h + min(d, 0)]
        pb = b[max(-d, 0):h - max(d, 0)]
        err = float(np.abs(pa - pb).mean())
        if err < best_err - 1e-9:
            best, best_err = d, err
    return best
