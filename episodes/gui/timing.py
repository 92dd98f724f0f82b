"""Time on the page: a stated pause between two actions, and the pointer kept on a figure.

Two skills a GUI agent needs when a page is timed rather than still:

* **a pause of a stated length** (``click ONE, wait 2 seconds, then click TWO``):
  :func:`pause_seconds` reads the duration from a ``wait``/``pause`` clause and a
  :class:`Pacer` times it from the moment the action before it was sent, so the action
  after it goes when the stated time is up — not after the time plus however long the
  screenshots and perception of the steps between took;
* **a sequence shown, then repeated** (``push the buttons in the order displayed``):
  :func:`replay_phrase` recognises the request; the agent watches the buttons (a ``watch``
  action: screenshots as fast as the browser gives them for a few seconds, in one step),
  notes each one that lights up (gets lighter than the colour it rests in) in order, and
  once a look sees nothing new clicks them in that order (:class:`Flashes`);
* **the pointer kept on a figure** (``keep your mouse inside the circle as it moves``,
  ``keep the mouse hovered over the coloured square``): :func:`follow_phrase` finds the
  figure words; the agent then moves the pointer onto the figure wherever it is seen, step
  after step, until the page ends the task (see
  :meth:`lavr.episodes.gui.agent.GuiAgent._follow`).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable

import numpy as np

from lavr.episodes.gui.language import NUMBER_WORDS

logger = logging.getLogger(__name__)

#: Verbs of a clause that pauses (``wait 2 seconds``).
PAUSE_VERBS = frozenset({"wait", "pause"})
#: Seconds per unit word of a duration.
_UNITS = {"ms": 0.001, "millisecond": 0.001, "milliseconds": 0.001, "s": 1.0, "sec": 1.0,
          "secs": 1.0, "second": 1.0, "seconds": 1.0, "minute": 60.0, "minutes": 60.0,
          "min": 60.0, "mins": 60.0}
_DURATION = re.compile(r"^(?:for\s+|about\s+|exactly\s+|another\s+)*(?P<n>half\s+a|a\s+half|"
                       r"\d+(?:\.\d+)?|[a-z]+)\s*(?P<unit>[a-z]+)\b", re.IGNORECASE)
#: Words that put the pointer in a clause about keeping it somewhere.
_POINTER = re.compile(r"^(?:your|the|my)?\s*(?:mouse(?:\s+pointer|\s+cursor)?|pointer|cursor)\s+"
                      r"(?:(?:hovered|hovering|held|kept|resting|placed|positioned|staying)\s+)?"
                      r"(?:inside|within|over|on\s+top\s+of|on|in|above|upon)\s+(?P<what>.+)$",
                      re.IGNORECASE)
#: A trailing "as / while it moves (around)" says nothing about which figure.
_MOVING = re.compile(r"\s+(?:as|while|when|wherever)\s+(?:it|they)\s+(?:moves?|goes|travels).*$",
                     re.IGNORECASE)
#: Words of a figure phrase that mean "the one drawn in colour" (the others are grey).
COLOURED_WORDS = frozenset({"colored", "coloured", "highlighted", "lit", "marked"})
#: Verbs that keep the pointer somewhere.
KEEP_VERBS = frozenset({"keep", "hold", "hover", "follow", "track", "chase"})
#: Longest single pause the environment takes, milliseconds (longer ones are split).
MAX_PAUSE_MS = 2000
#: Step overhead assumed before one was measured, seconds (screenshot, perception).
DEFAULT_OVERHEAD_S = 0.35
#: The pause before the timed action leaves this many overheads for the last step.
OVERHEAD_MARGIN = 1.5


def pause_seconds(verb: str, obj: str) -> float | None:
    """The length of a pause a clause asks for, seconds; None for another clause.

    ``wait 1 seconds``, ``wait for two seconds``, ``pause 500 ms``, ``wait a second``,
    ``wait half a second``; the verb must be a pause verb (:data:`PAUSE_VERBS`).
    """
    if verb.lower() not in PAUSE_VERBS:
        return None
    m = _DURATION.match(obj.strip())
    if not m or m["unit"].lower() not in _UNITS:
        return None
    n = m["n"].lower()
    if n in ("a", "an"):
        value = 1.0
    elif re.fullmatch(r"half\s+a|a\s+half", n):
        value = 0.5
    elif n in NUMBER_WORDS:
        value = float(NUMBER_WORDS[n])
    else:
        try:
            value = float(n)
        except ValueError:
            return None
    return value * _UNITS[m["unit"].lower()]


def follow_phrase(verb: str, obj: str) -> tuple[str, bool] | None:
    """The figure a clause keeps the pointer on, or None for another clause.

    ``keep your mouse inside the circle as it moves around`` -> ``("circle", False)``;
    ``keep the mouse hovered over the colored square`` -> ``("square", True)``: the figure
    words, and whether the phrase asks for the figure drawn in colour.
    """
    if verb.lower() not in KEEP_VERBS:
        return None
    m = _POINTER.match(obj.strip(" .!"))
    if not m:
        return None
    what = _MOVING.sub("", m["what"]).strip(" .!")
    words = what.split()
    coloured = any(w.lower() in COLOURED_WORDS for w in words)
    what = " ".join(w for w in words if w.lower() not in COLOURED_WORDS)
    return (what, coloured) if what else None


#: Verbs that press controls.
_PRESS_VERBS = frozenset({"push", "press", "click", "tap", "hit", "select", "repeat", "replay"})
_REPLAY = re.compile(r"^(?:the\s+|all\s+the\s+)?(?:colou?red\s+)?(?:buttons?|keys?|squares?|tiles?|pads?|"
                     r"lights?|boxes)\s+in\s+the\s+(?:same\s+)?(?:order|sequence)\s+(?:in\s+which\s+)?"
                     r"(?:(?:that\s+)?(?:they|it)\s+(?:(?:are|were|get|got)\s+)?|as\s+)?(?:displayed|shown|"
                     r"flashed|flash|lit(?:\s+up)?|light\s+up|highlighted|played|blinked|blink|"
                     r"presented|demonstrated)\b", re.IGNORECASE)
#: A flash: the control's colour is at least this far (CIE Lab distance) from its resting one.
FLASH_DISTANCE = 12.0
#: Watching ends when nothing flashed at all for this long (s) since it began.
WATCH_LIMIT_S = 5.0
#: The first look at the page (ms: a sequence of flashes a few seconds long is seen whole,
#: in one step), and each look after it (until one sees nothing new).
FIRST_LOOK_MS = 3000
NEXT_LOOK_MS = 800


def replay_phrase(verb: str, obj: str) -> bool:
    """Whether a clause asks to repeat a sequence the page shows by lighting controls up
    (``push the buttons in the order displayed``)."""
    return verb.lower() in _PRESS_VERBS and bool(_REPLAY.match(obj.strip(" .!")))


class Flashes:
    """The order in which controls light up, watched one screenshot at a time.

    Args:
        boxes: The controls, ``(x1, y1, x2, y2)`` pixels, as seen at rest.
        rest: Their resting colours (mean RGB of each box's middle).
        start: When watching began, seconds (a monotonic clock).
    """

    def __init__(self, boxes: list[tuple[int, int, int, int]], rest: list[np.ndarray],
                 start: float) -> None:
        self.boxes = boxes
        self.rest = rest
        self.start = start
        self.order: list[int] = []  # indexes of the boxes, in the order they lit up
        self.lit: set[int] = set()
        self.changed = False  # the last look saw something light up or go out

    @staticmethod
    def colours(image: np.ndarray, boxes: list[tuple[int, int, int, int]]) -> list[np.ndarray]:
        """Mean RGB of the middle half of each box."""
        out = []
        for x1, y1, x2, y2 in boxes:
            w, h = x2 - x1, y2 - y1
            patch = image[y1 + h // 4:y2 - h // 4, x1 + w // 4:x2 - w // 4].reshape(-1, 3)
            out.append(patch.astype(np.float32).mean(axis=0))
        return out

    def look(self, frames: list[np.ndarray] | tuple[np.ndarray, ...]) -> None:
        """One look: the screenshots seen since the last one, oldest first."""
        self.changed = False
        for frame in frames:
            self.see(frame)

    def see(self, image: np.ndarray) -> None:
        """One screenshot: note the controls that just lit up."""
        from lavr.tools.colour import lab

        shown = lab(np.asarray(self.colours(image, self.boxes)))
        rest = lab(np.asarray(self.rest))
        dist = np.linalg.norm(shown - rest, axis=1)
        # a control lights up: lighter than it rests; one seen darker than its "rest" was lit
        # when watching began, and rests in this colour
        lit = {i for i, d in enumerate(dist) if d > FLASH_DISTANCE and shown[i, 0] > rest[i, 0]}
        for i in range(len(self.boxes)):
            if shown[i, 0] < rest[i, 0] - 1.0:
                self.rest[i] = self.colours(image, [self.boxes[i]])[0]
        for i in sorted(lit - self.lit, key=lambda i: -dist[i]):
            self.order.append(i)
        if lit != self.lit:
            self.changed = True
        self.lit = lit

    def describe(self, now: float) -> str:
        """E.g. ``2 lit up so far (1, 3), 1.4 s``."""
        order = ", ".join(str(i + 1) for i in self.order)
        return f"{len(self.order)} lit up so far ({order}), {now - self.start:.1f} s"

    def done(self, now: float) -> bool:
        """Whether the sequence is over (something flashed, then a look saw nothing new), or
        nothing is going to show."""
        if self.order:
            return not self.lit and not self.changed
        return now - self.start >= WATCH_LIMIT_S


class Pacer:
    """Times a pause from the action before it, so the action after it goes on time.

    The agent tells the pacer when it sends an action (:meth:`sent`) and when it is asked for
    the next one (:meth:`asked`, which measures how long a step takes outside the agent); a
    pause clause starts a deadline (:meth:`start`); until it is near, :meth:`wait_ms` gives
    the pause to send now (it leaves time for one more step); then :meth:`hold` is how long
    to hold the next action back so that it goes at the deadline.

    Args:
        clock: Seconds, monotonic (``time.monotonic``; a fake in tests).
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.sent_at: float | None = None  # when the last action (not a pause) was sent
        self.deadline: float | None = None
        self.overhead = DEFAULT_OVERHEAD_S
        self._returned: tuple[float, float] | None = None  # (when, pause in s) of the last step

    def reset(self) -> None:
        """Forget the episode."""
        self.sent_at = self.deadline = None
        self._returned = None

    def asked(self) -> None:
        """The agent is asked for its next action: measure the step that just ended."""
        if self._returned is None:
            return
        when, paused = self._returned
        gap = max(0.0, self.clock() - when - paused)
        # the largest recent step counts most: a late action costs more than an early one
        self.overhead = max(gap, 0.5 * (self.overhead + gap))
        self._returned = None

    def sent(self, kind: str, amount: int = 0) -> None:
        """An action of ``kind`` leaves the agent now (``amount``: a pause's milliseconds)."""
        now = self.clock()
        if kind not in ("wait", "watch", "done"):
            self.sent_at = now
        self._returned = (now, amount / 1000.0 if kind in ("wait", "watch", "move", "type") else 0.0)

    def start(self, seconds: float) -> None:
        """A pause of ``seconds`` after the last action sent (or from now)."""
        base = self.sent_at if self.sent_at is not None else self.clock()
        self.deadline = base + max(0.0, seconds)
        logger.info("pause of %.2f s: %.2f s left", seconds, self.deadline - self.clock())

    def wait_ms(self) -> int:
        """The pause to send now, milliseconds (0: the deadline is near enough to act)."""
        if self.deadline is None:
            return 0
        left = self.deadline - self.clock() - OVERHEAD_MARGIN * self.overhead
        return int(min(left * 1000.0, MAX_PAUSE_MS)) if left > 0.05 else 0

    def hold(self) -> float:
        """Seconds to hold the next action back so it goes at the deadline (which ends)."""
        if self.deadline is None:
            return 0.0
        left, self.deadline = self.deadline - self.clock(), None
        return max(0.0, left)
