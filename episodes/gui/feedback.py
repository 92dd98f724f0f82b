"""Search with feedback: act, read the page's answer, narrow a belief, act again.

A page that answers each try with a hint (``The number is higher than 4.``, ``too low``,
``Correct!``) is solved by a search over what is still possible. This module holds the
pure parts, over text only:

* :func:`number_range` — the range an instruction names (``between 0 and 9``,
  ``from 1 to 100``, ``between 0-9``);
* :func:`read_hint` — what a line of the page says about the last try: the answer is
  ``higher``, ``lower``, or the try was ``correct`` (and the number the hint names, when
  it names one);
* :class:`NumberSearch` — the belief (the integers still possible) and the next try
  (bisection).

The GUI agent (:mod:`lavr.episodes.gui.agent`) types each try, submits it and reads the
page; nothing here names a page or a benchmark task.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

Hint = Literal["higher", "lower", "correct"]

_NUM = r"(-?\d+)"
_RANGE = re.compile(rf"\b(?:between|from)\s+{_NUM}\s*(?:-|\u2013|to|and)\s*{_NUM}", re.IGNORECASE)
#: An instruction that asks to find a number by trying (``guess a number``, ``find the
#: secret number``, ``work out which number``).
_SEARCH = re.compile(r"\b(?:guess|find|work out|figure out|discover)\b[^.]*?\bnumber\b",
                     re.IGNORECASE)
#: Words that say the page answers tries (a number to find by trying, not one to pick).
_TRYING = re.compile(r"\b(?:guess\w*|secret|hints?|feedback|clues?|tries|trying)\b", re.IGNORECASE)
#: Verbs that act on what was found (``find the number between 1 and 5 and click it``).
_ACT_ON = re.compile(r"\b(?:click|tap|select|choose|pick|press|hit)\b", re.IGNORECASE)
#: Words of a hint that the answer is above the try (``higher``, ``too low``) ...
_UP = re.compile(r"\b(?:higher|greater|larger|bigger|more|above)\b|\btoo\s+(?:low|small)\b",
                 re.IGNORECASE)
#: ... below it ...
_DOWN = re.compile(r"\b(?:lower|less|smaller|fewer|below)\b|\btoo\s+(?:high|big|large)\b",
                   re.IGNORECASE)
#: ... or that the try was right.
_RIGHT = re.compile(r"\b(?:correct|right|you\s+got\s+it|well\s+done|success)\b", re.IGNORECASE)


def number_range(instruction: str) -> tuple[int, int] | None:
    """``(low, high)`` of an instruction that asks to find a number in a range, else None.

    >>> number_range("Find the secret number from 1 to 100 with the hints.")
    (1, 100)
    """
    if not _SEARCH.search(instruction):
        return None
    if _ACT_ON.search(instruction) and not _TRYING.search(instruction):
        return None  # a number to find on the page and act on, not one to find by trying
    m = _RANGE.search(instruction)
    if m is None:
        return None
    a, b = int(m[1]), int(m[2])
    return (a, b) if a <= b else (b, a)


def read_hint(text: str) -> tuple[Hint, int | None] | None:
    """What one line of the page says about the last try, with the number it names.

    ``The number is higher than 4.`` -> ``("higher", 4)`` (the answer is above 4);
    ``Too high!`` -> ``("lower", None)``; ``Correct!`` -> ``("correct", None)``; a line
    with no hint (``Waiting for your guess...``) -> None.
    """
    low = text.lower()
    nums = re.findall(r"-?\d+", low)
    number = int(nums[-1]) if nums else None
    # "too high" says the answer is lower: the "too" phrases are checked before the words
    too = re.search(r"\btoo\s+(low|small|high|big|large)\b", low)
    if too:
        return ("higher" if too[1] in ("low", "small") else "lower"), number
    up, down = _UP.search(low), _DOWN.search(low)
    if up and not down:
        return "higher", number
    if down and not up:
        return "lower", number
    if _RIGHT.search(low) and not re.search(r"\b(?:not|in)correct\b|\bwrong\b", low):
        return "correct", number
    return None


@dataclass
class NumberSearch:
    """The integers still possible, narrowed by hints; tries by bisection.

    Attributes:
        low: Smallest number still possible.
        high: Largest number still possible.
        tries: Numbers tried so far, in order.
    """

    low: int
    high: int
    tries: list[int] = field(default_factory=list)

    def next_try(self) -> int:
        """The middle of what is still possible (the low end when the belief is empty)."""
        if self.low > self.high:
            return self.low
        return (self.low + self.high) // 2

    def update(self, hint: Hint, tried: int) -> None:
        """Narrow the belief by a hint about ``tried``."""
        if hint == "higher":
            self.low = max(self.low, tried + 1)
        elif hint == "lower":
            self.high = min(self.high, tried - 1)
        else:
            self.low = self.high = tried
        if self.low > self.high:  # a misread hint: widen back to the untried numbers
            self.low, self.high = min(self.low, self.high), max(self.low, self.high)


# -- a spot found by the pointer: the page answers each position with a "temperature" ---
#: Words a page answers a pointer position with, from far from the spot sought (0) to on it.
HEAT_WORDS = {"freezing": 0, "frozen": 0, "ice": 0, "icy": 0, "cold": 1, "colder": 1,
              "cool": 2, "cooler": 2, "tepid": 2, "lukewarm": 2, "warm": 3, "warmer": 3,
              "hot": 4, "hotter": 4, "burning": 5, "boiling": 5}
#: The heat of the word the instruction names (``the HOT area``) when it names none.
HOT = HEAT_WORDS["hot"]
#: A search area's cells (columns x rows) visited first: no point of the area is far from
#: one of their centres.
COARSE_GRID = (3, 3)
#: Step (px) of the refinement around the warmest point, per heat below the goal.
REFINE_STEP = 7.0


def read_heat(text: str) -> int | None:
    """How near a page's answer says the pointer is (:data:`HEAT_WORDS`: ``ICE COLD`` -> 0,
    ``Warm`` -> 3, ``HOT`` -> 4), or None when the text names no temperature. A word read
    with a zero for an ``o`` counts (``C0LD``); several words: the coldest (``ice cold``)."""
    words = re.findall(r"[a-z0-9]+", text.lower().replace("0", "o"))
    heats = [HEAT_WORDS[w] for w in words if w in HEAT_WORDS]
    return min(heats) if heats else None


def heat_goal(instruction: str) -> int | None:
    """The heat an instruction asks to find (``click on the HOT area`` -> :data:`HOT`), or
    None when it asks for no spot by temperature."""
    m = re.search(r"\b(" + "|".join(HEAT_WORDS) + r")\s+(?:area|spot|zone|region|place|point|"
                  r"location|part|square|cell)\b", instruction, re.IGNORECASE)
    return HEAT_WORDS[m[1].lower()] if m else None


@dataclass
class HeatSearch:
    """A search with the pointer for the spot a page calls hot, inside ``area``.

    The area's :data:`COARSE_GRID` cell centres are visited first (the middle one first),
    until a position is warmer than the coldest answer; then points around the warmest one
    so far (a pattern search: the eight ways round it, :data:`REFINE_STEP` px per heat below
    the goal, then half as far), until an answer reaches ``goal``.

    Attributes:
        area: ``(x1, y1, x2, y2)`` pixels of the area searched.
        goal: The heat to reach (:data:`HOT`).
        tried: ``(x, y, heat)`` of every position answered so far.
    """

    area: tuple[int, int, int, int]
    goal: int = HOT
    tried: list[tuple[float, float, int]] = field(default_factory=list)

    def best(self) -> tuple[float, float, int] | None:
        """The warmest position so far (the first of equally warm ones)."""
        if not self.tried:
            return None
        top = max(h for _, _, h in self.tried)
        return next(t for t in self.tried if t[2] == top)

    def refined(self) -> int:
        """Positions tried since the warmest answer so far first came."""
        best = self.best()
        return 0 if best is None else len(self.tried) - 1 - self.tried.index(best)

    def found(self) -> bool:
        """Whether a position reached the goal."""
        best = self.best()
        return best is not None and best[2] >= self.goal

    def next_point(self) -> tuple[float, float] | None:
        """The next position to try, or None when nothing is left to try."""
        best = self.best()
        floor = min((h for _, _, h in self.tried), default=0)
        if best is None or best[2] <= floor and not self._refining():
            for p in self._coarse():
                if not self._near_tried(p, 4.0):
                    return p
            if best is None:
                return None
        step = REFINE_STEP * max(self.goal - best[2], 1)
        for scale in (1.0, 0.5):
            for dx, dy in ((0, -1), (1, 0), (0, 1), (-1, 0), (1, -1), (1, 1), (-1, 1), (-1, -1)):
                p = (best[0] + dx * step * scale, best[1] + dy * step * scale)
                if self._inside(p) and not self._near_tried(p, step * scale / 2):
                    return p
        return None

    def _refining(self) -> bool:
        return len({h for _, _, h in self.tried}) > 1

    def _coarse(self) -> list[tuple[float, float]]:
        x1, y1, x2, y2 = self.area
        cols, rows = COARSE_GRID
        pts = [(x1 + (x2 - x1) * (c + 0.5) / cols, y1 + (y2 - y1) * (r + 0.5) / rows)
               for r in range(rows) for c in range(cols)]
        cx, cy = (x1 + x2) / 2.0, (y1 + y2) / 2.0
        return sorted(pts, key=lambda p: (p[0] - cx) ** 2 + (p[1] - cy) ** 2 > 1.0)

    def _inside(self, p: tuple[float, float]) -> bool:
        x1, y1, x2, y2 = self.area
        return x1 + 2 <= p[0] <= x2 - 2 and y1 + 2 <= p[1] <= y2 - 2

    def _near_tried(self, p: tuple[float, float], dist: float) -> bool:
        return any((p[0] - x) ** 2 + (p[1] - y) ** 2 < dist * dist for x, y, _ in self.tried)
