"""The GUI agent as the rules a model controller falls back on.

:class:`GuiRules` wraps a :class:`~lavr.episodes.gui.agent.GuiAgent` so that
:class:`~lavr.episodes.controller.ModelController` can put a model in charge of
a GUI episode. It keeps the agent's choices as the fallback and adds what a
model needs to choose for itself, in words:

- :meth:`describe_state`: the instruction (as read from the screen), the rules'
  plan, and the perceived elements, numbered ``e1``, ``e2`` ... in reading
  order with their kind, text (read by OCR) and centre;
- :meth:`candidate_actions`: ``click eN`` for every element one can act on (and
  every line of text), ``type "T"`` for every text the instruction quotes or the
  plan types, and the ``wait`` and ``done`` the controller allows anyway.

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
        self._parse, self._elements = None, []

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
        parse = self.agent.perceive(observation.image)
        parse = read_texts(parse, self.agent.text_reader, kinds=CLICK_KINDS)
        self._parse = parse
        self._elements = [e for e in parse.elements if e.kind in CLICK_KINDS][:MAX_ELEMENTS]
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
        return out

    def candidate_actions(self) -> dict[str, Action]:
        """This step's actions by name (see the module docstring)."""
        out: dict[str, Action] = {}
        for i, el in enumerate(self._elements, 1):
            x, y = el.click_point
            out[f"click e{i}"] = Action.click(x, y)
        for t in self._texts():
            out[f'type "{t}"'] = Action.type_text(t)
        return out

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
        return "\n".join(lines)
