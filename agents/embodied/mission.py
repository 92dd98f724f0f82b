"""Parse BabyAI missions ("go to the red ball", "pick up a key on your left", ...).

The grammar is BabyAI's: an object description is ``the|a [colour] type
[location]`` with type ``door|key|ball|box|object`` and location ``on your
left|on your right|in front of you|behind you``; instructions are ``go to D``,
``pick up D``, ``open D`` and ``put D next to D``, joined by ``, then``,
``and`` or ``after you``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lavr.core_model.errors import InputError

COLOURS = ("red", "green", "blue", "purple", "yellow", "grey")
TYPES = ("door", "key", "ball", "box", "object")
#: Surface text of each location name.
LOCATIONS = {"on your left": "left", "on your right": "right", "in front of you": "front",
             "behind you": "behind"}
VERBS = ("goto", "pickup", "open", "putnext")

_C, _T, _L = "|".join(COLOURS), "|".join(TYPES), "|".join(LOCATIONS)
_DESC = rf"(?:the|a|an) (?:({_C}) )?({_T})(?: ({_L}))?"
_INSTR = [
    ("putnext", re.compile(rf"^put {_DESC} next to {_DESC}$")),
    ("goto", re.compile(rf"^go to {_DESC}$")),
    ("pickup", re.compile(rf"^pick up {_DESC}$")),
    ("open", re.compile(rf"^open {_DESC}$")),
]


@dataclass(frozen=True)
class ObjectDesc:
    """Which objects an instruction means.

    Attributes:
        type: ``door``, ``key``, ``ball``, ``box`` or None (any object).
        colour: A colour name or None (any colour).
        loc: ``left``, ``right``, ``front``, ``behind`` (relative to the agent's
            starting cell and heading, in its starting room) or None.
    """

    type: str | None = None
    colour: str | None = None
    loc: str | None = None

    def describe(self) -> str:
        """e.g. ``"red ball"`` or ``"door on your left"``."""
        words = [w for w in (self.colour, self.type or "object") if w]
        loc = {"left": " on your left", "right": " on your right", "front": " in front of you",
               "behind": " behind you"}.get(self.loc or "", "")
        return " ".join(words) + loc


@dataclass(frozen=True)
class SubTask:
    """One instruction: a verb, its object and (for ``putnext``) the object to put it next to."""

    verb: str
    obj: ObjectDesc
    other: ObjectDesc | None = None

    def describe(self) -> str:
        """e.g. ``"pick up red key"``."""
        words = {"goto": "go to", "pickup": "pick up", "open": "open", "putnext": "put"}[self.verb]
        tail = f" next to {self.other.describe()}" if self.other else ""
        return f"{words} {self.obj.describe()}{tail}"


def _desc(colour: str | None, type_: str | None, loc: str | None) -> ObjectDesc:
    return ObjectDesc(type=None if type_ in (None, "object") else type_, colour=colour or None,
                      loc=LOCATIONS.get(loc) if loc else None)


def _single(text: str) -> SubTask:
    for verb, rx in _INSTR:
        m = rx.match(text)
        if m is None:
            continue
        if verb == "putnext":
            return SubTask(verb, _desc(m[1], m[2], m[3]), _desc(m[4], m[5], m[6]))
        return SubTask(verb, _desc(m[1], m[2], m[3]))
    raise InputError(f"cannot parse the BabyAI instruction {text!r}")


def parse_mission(mission: str) -> tuple[SubTask, ...]:
    """Sub-tasks of a mission, in the order they must be done.

    Args:
        mission: e.g. ``"pick up the red key, then open the red door"``.

    Returns:
        The sub-tasks in execution order (``A after you B`` gives ``B, A``).

    Raises:
        InputError: The text is not BabyAI's grammar.
    """
    text = re.sub(r"\s+", " ", mission.strip().lower()).rstrip(".")
    if ", then " in text:
        a, b = text.split(", then ", 1)
        return parse_mission(a) + parse_mission(b)
    if " after you " in text:
        a, b = text.split(" after you ", 1)
        return parse_mission(b) + parse_mission(a)
    if " and " in text:
        a, b = text.split(" and ", 1)
        return parse_mission(a) + parse_mission(b)
    return (_single(text),)
