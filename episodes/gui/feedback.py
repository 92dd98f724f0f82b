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
