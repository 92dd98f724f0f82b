"""The GUI agent as the rules a model controller falls back on.

:class:`GuiRules` wraps a :class:`~lavr.episodes.gui.agent.GuiAgent` so that
:class:`~lavr.episodes.controller.ModelController` can put a model in charge of
a GUI episode. It keeps the agent's choices as the fallback and adds what a
model needs to choose for itself, in words:

- :meth:`describe_state`: the instruction (as read from the screen), the rules'
  plan, and the perceived elements, numbered ``e1``, ``e2`` ... in reading
  order with their kind, text (read by OCR) and centre;
- :meth:`candidate_actions`: ``click eN`` for every element one can act on (and
  every line of text), ``type "T"`` for every text the instruction quotes, the
  plan types or the rules have queued to type, the rules' drag when they drag this
  step (``drag(x, y -> x2, y2)``: a slider's handle, a line drawn on a figure, a sweep
  that selects text), the rules' key press this step and, when the plan handles text
  as text (copy, paste, select, style), the editing chords (``key('C-a')`` select all,
  ``key('C-c')`` copy, ``key('C-v')`` paste), and the ``wait`` and ``done`` the
  controller allows anyway;
- :meth:`compact_state`: the same in short lines for a model trained on compact
  prompts (``e3 button "Submit"``, no positions), :meth:`describe_action` an
  action taken in words (``click input "Name"``) and :meth:`name_of` the
  candidate that stands for an action (how the rules' choices become training
  records for such a model).

Nothing here knows a task or a page: the candidates come from what was perceived.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from lavr.episodes.gui.agent import GuiAgent
from lavr.episodes.gui.perception import INTERACTIVE_KINDS, ScreenParse, read_texts
from lavr.episodes.loop import Action, Observation, Percept, StepChoice

#: Kinds offered as click candidates (text lines too: links and labels may be plain text).
CLICK_KINDS = INTERACTIVE_KINDS + ("text",)
#: Most elements described / offered per step (reading order).
MAX_ELEMENTS = 40
#: Fixed actions a model may always take on a GUI.
GUI_MODEL_ACTIONS = ("wait", "done")
#: Key chords offered when the plan handles text as text: select all, copy, paste.
EDIT_CHORDS = ("C-a", "C-c", "C-v")
#: Plan operations that handle text as text.
EDIT_OPS = ("copy", "paste", "highlight", "style", "clear", "key")
#: Longest element text in a compact state line (characters; longer ones are cut).
COMPACT_TEXT = 24


class GuiRules:
    """A :class:`GuiAgent` with a state description and named candidate actions.

    Args:
        agent: The rule agent (None makes one).
    """

    def __init__(self, agent: GuiAgent | None = None) -> None:
        self.agent = agent if agent is not None else GuiAgent()
        self.perception = self.agent.perception
        self._parse: ScreenParse | None = None
        self._elements: list[Any] = []
        self._queued: list[str] = []  # texts the rules queued to type this episode
        self._drag: Action | None = None  # the rules' drag or key press this step, if so

    @property
    def instruction(self) -> str:
        """The instruction the agent works on (read from the screen on MiniWoB++)."""
        return self.agent.instruction

    def warm_up(self) -> None:
        """Load the agent's experts."""
        self.agent.warm_up()

    def reset(self, instruction: str) -> None:
        """Start an episode."""
        self.agent.reset(instruction)
        self._parse, self._elements, self._drag = None, [], None
        self._queued: list[str] = []

    def acted(self, action: Action) -> None:
        """Pass on the action taken."""
        self.agent.acted(action)

    def finished(self) -> bool:
        """Never finished on the rules' side: the page says when the task is over, or the
        controller says ``done``."""
        return False

    def decide(self, observation: Observation,
               percepts: Mapping[str, Percept] | None = None) -> StepChoice:
        """The rules' choice; also keeps the screen's elements (texts read) for the model."""
        choice = self.agent.decide(observation, percepts)
        self._drag = choice.action if choice.action.kind in ("drag", "key") else None
        parse = self.agent.perceive(observation.image)
        parse = read_texts(parse, self.agent.text_reader, kinds=CLICK_KINDS)
        self._parse = parse
        self._elements = [e for e in parse.elements if e.kind in CLICK_KINDS][:MAX_ELEMENTS]
        for action in self.agent.pending:
            if action.kind == "type" and action.text and action.text not in self._queued:
                self._queued.append(action.text)
        return choice

    def _texts(self) -> list[str]:
        """Texts a model may type: quoted in the instruction, or typed by the rules' plan."""
        out: list[str] = []
        for t in re.findall(r'"([^"]+)"', self.agent.instruction or ""):
            if t not in out:
                out.append(t)
        for intent in self.agent.plan.intents:
            text = getattr(intent, "text", "")
            if getattr(intent, "op", "") == "type" and text and text not in out:
                out.append(text)
        return out + [t for t in self._queued if t not in out]

    def candidate_actions(self) -> dict[str, Action]:
        """This step's actions by name (see the module docstring)."""
        out: dict[str, Action] = {}
        for i, el in enumerate(self._elements, 1):
            x, y = el.click_point
            out[f"click e{i}"] = Action.click(x, y)
        for t in self._texts():
            out[f'type "{t}"'] = Action.type_text(t)
        if any(i.op in EDIT_OPS for i in self.agent.plan.intents):
            for key in EDIT_CHORDS:
                chord = Action.press(key)
                out[chord.describe()] = chord
        if self._drag is not None:  # (a model cannot aim a drag by name; it may take the rules')
            out[self._drag.describe()] = self._drag
        return out

    def _element_at(self, action: Action) -> int | None:
        """Index (0-based) of the offered element holding the action's point: the smallest
        widget, else the smallest text line (a button's label line names the button)."""
        if action.x is None or action.y is None:
            return None
        inside = [(el.kind == "text", el.width * el.height, i)
                  for i, el in enumerate(self._elements)
                  if el.box[0] <= action.x < el.box[2] and el.box[1] <= action.y < el.box[3]]
        return min(inside)[2] if inside else None

    def name_of(self, action: Action) -> str | None:
        """The candidate (or fixed action) that stands for ``action`` this step: ``click eN``
        for a plain click inside an offered element, ``type "T"`` for an offered text, the
        rules' drag or an offered key press by its name, ``wait`` / ``done``; None when none
        does (a click between elements or with a key held, a key not offered, a scroll ...)."""
        if action.kind in GUI_MODEL_ACTIONS:
            return action.kind
        if action.kind == "click" and not action.key:
            i = self._element_at(action)
            return None if i is None else f"click e{i + 1}"
        if action.kind == "type" and action.text in self._texts():
            return f'type "{action.text}"'
        if action.kind in ("drag", "key") and action.describe() in self.candidate_actions():
            return action.describe()
        return None

    def describe_action(self, action: Action) -> str:
        """``action`` in a few words for later prompts: ``click input "Name"``,
        ``type "alice"``, ``wait``; the element named is the one under the click."""
        if action.kind in ("click", "move"):
            i = self._element_at(action)
            if i is None:
                return action.kind
            el = self._elements[i]
            text = f' "{el.text[:COMPACT_TEXT]}"' if el.text else ""
            return f"{action.kind} {el.kind}{text}"
        if action.kind == "type":
            return f'type "{action.text[:COMPACT_TEXT]}"'
        return action.kind

    def compact_state(self) -> tuple[str, list[str]]:
        """The state for a compact act prompt and the action names it does not stand for:
        one line per offered element, ``e3 button "Submit"`` (``click e3``; texts cut at
        :data:`COMPACT_TEXT` characters, no positions), then the ``type "T"`` names."""
        lines = []
        for i, el in enumerate(self._elements, 1):
            text = f' "{el.text[:COMPACT_TEXT]}"' if el.text else ""
            lines.append(f"e{i} {el.kind}{text}")
        names = [n for n in self.candidate_actions() if not n.startswith("click e")]
        return "\n".join(lines), names

    def describe_state(self) -> str:
        """The instruction, the rules' plan and the perceived elements, in words."""
        plan = "; ".join(i.describe() for i in self.agent.plan.intents) or "nothing understood"
        lines = [f"Instruction read from the screen: {self.agent.instruction!r}",
                 f"The rules' plan: {plan}",
                 "Elements on the screen (click one with 'click eN'; 'type \"T\"' types into "
                 "the focused field):"]
        for i, el in enumerate(self._elements, 1):
            x, y = el.click_point
            text = f' "{el.text}"' if el.text else ""
            lines.append(f"- e{i}: {el.kind}{text} at ({x:.0f}, {y:.0f})")
        if not self._elements:
            lines.append("- none")
        if self._drag is not None:
            what = "drag the pointer" if self._drag.kind == "drag" else "press a key"
            lines.append(f"The rules {what} this step: '{self._drag.describe()}'.")
        return "\n".join(lines)
