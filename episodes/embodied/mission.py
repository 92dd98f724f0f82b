"""Parse grid-world missions with a small compositional grammar.

The grammar (BabyAI's language, written as rules rather than per-level patterns)::

    mission  := clause { ("," "then" | "then" | "after" "you") clause }
    clause   := action { ("and" | "," "and") action }
    action   := "go" "to" desc | "pick" "up" desc | "open" desc
              | "put" desc "next" "to" desc
    desc     := ("the" | "a" | "an") [colour] noun [location]
    noun     := "door" | "key" | "ball" | "box" | "object"
    location := "on" "your" ("left" | "right") | "in" "front" "of" "you" | "behind" "you"

``A then B`` does A first; ``A after you B`` does B first; the actions of one
clause (``A and B``) may be done in any order. :func:`parse_mission` returns
the clauses as :class:`Mission` stages in execution order.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lavr.core_model.errors import InputError

#: BabyAI's six object colours (the environment's own words, all in lavr.tools.vocab.COLOUR_NAMES).
COLOURS = ("red", "green", "blue", "purple", "yellow", "grey")
NOUNS = ("door", "key", "ball", "box", "object")
DETERMINERS = ("the", "a", "an")
#: Location phrases (as word tuples) and their names.
LOCATIONS = {("on", "your", "left"): "left", ("on", "your", "right"): "right",
             ("in", "front", "of", "you"): "front", ("behind", "you"): "behind"}
#: Verb phrases and the sub-task verb they start.
VERB_PHRASES = {("go", "to"): "goto", ("pick", "up"): "pickup", ("open",): "open",
                ("put",): "putnext"}
_LOC_TEXT = {"left": " on your left", "right": " on your right", "front": " in front of you",
             "behind": " behind you"}


@dataclass(frozen=True)
class ObjectDesc:
    """Which objects a phrase means.

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
        return " ".join(words) + _LOC_TEXT.get(self.loc or "", "")


@dataclass(frozen=True)
class SubTask:
    """One action: a verb, its object and (for ``putnext``) the object to put it next to."""

    verb: str
    obj: ObjectDesc
    other: ObjectDesc | None = None

    def describe(self) -> str:
        """e.g. ``"pick up red key"``."""
        words = {"goto": "go to", "pickup": "pick up", "open": "open", "putnext": "put"}[self.verb]
        tail = f" next to {self.other.describe()}" if self.other else ""
        return f"{words} {self.obj.describe()}{tail}"


@dataclass(frozen=True)
class Mission:
    """A parsed mission.

    Attributes:
        text: The mission as given.
        stages: Clauses in execution order; the sub-tasks of one stage may be
            done in any order, a stage starts when the previous one is done.
    """

    text: str
    stages: tuple[tuple[SubTask, ...], ...]

    def subtasks(self) -> tuple[SubTask, ...]:
        """Every sub-task, in stage order."""
        return tuple(t for stage in self.stages for t in stage)


class _Parser:
    """Recursive descent over the mission's words (commas are words too)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.words = re.findall(r"[a-z]+|,", text.lower())
        self.i = 0

    def error(self, expected: str) -> InputError:
        got = " ".join(self.words[self.i:self.i + 3]) or "the end"
        return InputError(f"cannot parse the mission {self.text!r}: expected {expected} "
                          f"at {got!r} (word {self.i + 1})")

    def peek(self, *words: str) -> bool:
        return tuple(self.words[self.i:self.i + len(words)]) == words

    def take(self, *words: str) -> bool:
        if self.peek(*words):
            self.i += len(words)
            return True
        return False

    def mission(self) -> tuple[tuple[SubTask, ...], ...]:
        stages = [self.clause()]
        while self.i < len(self.words):
            if self.take(",", "then") or self.take("then"):
                stages.append(self.clause())
            elif self.take("after", "you"):
                stages.insert(len(stages) - 1, self.clause())  # done before the clause it follows
            else:
                raise self.error("', then', 'after you', 'and' or the end")
        return tuple(stages)

    def clause(self) -> tuple[SubTask, ...]:
        actions = [self.action()]
        while self.take("and") or self.take(",", "and"):
            actions.append(self.action())
        return tuple(actions)

    def action(self) -> SubTask:
        for phrase, verb in VERB_PHRASES.items():
            if self.take(*phrase):
                obj = self.desc()
                if verb != "putnext":
                    return SubTask(verb, obj)
                if not self.take("next", "to"):
                    raise self.error("'next to'")
                return SubTask(verb, obj, self.desc())
        raise self.error("an action (go to, pick up, open, put)")

    def desc(self) -> ObjectDesc:
        if not any(self.take(d) for d in DETERMINERS):
            raise self.error("'the', 'a' or 'an'")
        colour = next((c for c in COLOURS if self.take(c)), None)
        noun = next((n for n in NOUNS if self.take(n)), None)
        if noun is None:
            raise self.error(f"an object ({', '.join(NOUNS)})")
        loc = next((name for phrase, name in LOCATIONS.items() if self.take(*phrase)), None)
        return ObjectDesc(None if noun == "object" else noun, colour, loc)


def parse_mission(mission: str) -> Mission:
    """Parse a mission.

    Args:
        mission: e.g. ``"pick up the red key, then open the red door"``.

    Returns:
        The :class:`Mission` (``A after you B`` gives stages ``B``, ``A``).

    Raises:
        InputError: The text does not follow the grammar (the message names
            the word where parsing stopped and what was expected there).
    """
    if not isinstance(mission, str) or not mission.strip():
        raise InputError("the mission is empty")
    parser = _Parser(mission.strip().rstrip("."))
    stages = parser.mission()
    if any(t.verb == "open" and t.obj.type not in ("door", None) for s in stages for t in s):
        raise InputError(f"cannot parse the mission {mission!r}: only doors can be opened")
    return Mission(mission, stages)
