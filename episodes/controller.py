"""The controller role for episodes: a model chooses the next action, the rules stand by.

:class:`ModelController` wraps a rule controller (the fallback). Every step the
fallback reads the percepts first (so its map and mission state stay current
whatever is chosen), then the model is shown the instruction, the picture (if
it sees images), the fallback's description of the state, the actions
allowed, and asked for one typed JSON object (:class:`ActionChoice`). A reply
that does not parse or names an action that is not allowed goes back to the
model with the problems, a bounded number of times (one
:meth:`~lavr.core_model.model.MultimodalModel.structured` loop, as every model
role); after that the rules' action is taken and the step says so — the same
validate / re-ask / fall back contract as plans. Whatever is chosen is reported to the fallback
(:meth:`Policy.acted`), so it keeps track of the world.

The allowed actions are the fixed ``actions`` (BabyAI's ``left``, ``forward`` ...)
plus, when the fallback has a ``candidate_actions()`` method, the named actions it
offers this step (the GUI agent: ``click e3`` on a perceived element, ``type "alice"``),
each mapped to the concrete :class:`Action` (point, text) it stands for.

A model trained on lavr's compact role prompts (``compact_prompts``, lavr-mllm) is
sent the short act prompt instead (:func:`lavr.planners.roles.compact.act_messages`):
the tag, the instruction, the fallback's state in short lines (its
``compact_state()`` when it has one: a GUI's numbered elements), the latest actions
taken in words, and the other allowed actions by name; no picture.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field

from lavr.core_model.errors import LavrError, ModelOutputError
from lavr.core_model.messages import Message
from lavr.core_model.model import MultimodalModel
from lavr.core_model.structured import json_schema_of, parse_structured
from lavr.episodes.loop import Action, Observation, Percept, PerceptionCall, StepChoice
from lavr.planners.roles import compact

logger = logging.getLogger(__name__)

#: Generation cap per action choice.
ACT_MAX_TOKENS = 96
#: The prompt (a constant, never mutated).
ACT_PROMPT = """You control an agent in an environment, one action per turn.
Instruction: {instruction}

What the agent knows:
{state}

Perception this step:
{percepts}

Allowed actions: {actions}.
The rules would choose: {suggestion}.
Reply with one JSON object: {{"action": "<one allowed action>", "reason": "<a few words>"}}"""


class ActionChoice(BaseModel):
    """The model's action as it writes it."""

    model_config = ConfigDict(extra="ignore")

    action: str = Field(min_length=1, max_length=160)
    reason: str = Field(default="", max_length=300)


class RuleController(Protocol):
    """What a model controller needs from the rules it falls back on."""

    perception: Sequence[PerceptionCall]

    def reset(self, instruction: str) -> None: ...

    def decide(self, observation: Observation, percepts: Mapping[str, Percept]) -> StepChoice: ...

    def acted(self, action: Action) -> None: ...

    def describe_state(self) -> str: ...

    def finished(self) -> bool: ...


class ModelController:
    """A model as the episode's controller (see the module docstring).

    Args:
        model: The model.
        fallback: The rule controller (also keeps the map and the mission state).
        actions: Action names the environment accepts.
        retries: Re-asks after an unusable reply.
        max_new_tokens: Generation cap per choice.
        show_suggestion: Show the model what the rules would do (off: the model decides alone).
    """

    def __init__(self, model: MultimodalModel, fallback: RuleController, *,
                 actions: Sequence[str], retries: int = 1,
                 max_new_tokens: int = ACT_MAX_TOKENS, show_suggestion: bool = False) -> None:
        self.model = model
        self.fallback = fallback
        self.actions = tuple(actions)
        self.retries = max(int(retries), 0)
        self.max_new_tokens = max_new_tokens
        self.show_suggestion = show_suggestion
        self.perception = tuple(fallback.perception)
        self._allowed: dict[str, Action] = {a: Action(a) for a in self.actions}
        self.instruction = ""
        self._done: list[str] = []  # the actions taken this episode, in words

    def allowed(self) -> dict[str, Action]:
        """This step's allowed actions by name: the fixed ones, then the fallback's candidates."""
        out = {a: Action(a) for a in self.actions}
        more = getattr(self.fallback, "candidate_actions", None)
        if callable(more):
            out.update(more())
        return out

    def warm_up(self) -> None:
        """Load the fallback's perception experts (if it has any to load) and the model: one
        one-token request (task ``warmup``), so a timed episode does not pay for loading
        weights or opening a connection. A failing model is logged here and met again
        (with the fallback) in the episode."""
        warm = getattr(self.fallback, "warm_up", None)
        if callable(warm):
            warm()
        try:
            self.model.generate([Message.user("Reply with OK.")], max_new_tokens=1,
                                task="warmup")
        except LavrError as exc:
            logger.warning("model warm-up failed: %s", exc)

    def reset(self, instruction: str) -> None:
        """Start an episode (the fallback parses the instruction)."""
        self.instruction = instruction
        self._done = []
        self.fallback.reset(instruction)

    def acted(self, action: Action) -> None:
        """Pass the action taken on to the fallback."""
        self.fallback.acted(action)

    def messages(self, observation: Observation, percepts: Mapping[str, Percept],
                 rules: StepChoice) -> list[Message]:
        """The conversation for one choice (the compact act prompt for a model trained on it)."""
        if compact.wants_compact(self.model):
            return self.compact_messages(observation)
        seen = "\n".join(f"- {p.tool}: {p.summary}" for p in percepts.values()) or "- none"
        suggestion = (f"{rules.action.kind} ({rules.summary})" if self.show_suggestion
                      else "(not shown)")
        text = ACT_PROMPT.format(instruction=observation.instruction,
                                 state=self.fallback.describe_state(), percepts=seen,
                                 actions=", ".join(self._allowed), suggestion=suggestion)
        if self.model.sees_images:
            return [Message.user(observation.image, text)]
        return [Message.user(text)]

    def compact_messages(self, observation: Observation) -> list[Message]:
        """The compact act prompt (module docstring) for this step's allowed actions."""
        instruction = observation.instruction or str(getattr(self.fallback, "instruction", ""))
        view = getattr(self.fallback, "compact_state", None)
        if callable(view):
            state, names = view()
        else:
            state, names = self.fallback.describe_state(), list(self._allowed)
        names = [n for n in names if n in self._allowed]
        names += [a for a in self.actions if a not in names]
        return compact.act_messages(instruction, state, names, self._done)

    def taken(self, action: Action, name: str = "") -> None:
        """Note the action taken this step, in words (the fallback's ``describe_action``
        when it has one, else ``name`` or the action's kind), for later act prompts."""
        describe = getattr(self.fallback, "describe_action", None)
        words = describe(action) if callable(describe) else ""
        self._done.append(words or name or action.kind)

    def _parse(self, raw: str) -> ActionChoice:
        """The reply as an allowed action.

        Raises:
            ModelOutputError: Not the JSON asked for, or an action that is not allowed.
        """
        choice = parse_structured(raw, ActionChoice)
        choice.action = choice.action.strip()
        if choice.action not in self._allowed:
            names = list(self._allowed)
            shown = ", ".join(names[:40]) + (" ..." if len(names) > 40 else "")
            raise ModelOutputError(raw[:200], [f"action {choice.action!r} is not allowed; choose "
                                               f"one of {shown}"])
        return choice

    def decide(self, observation: Observation, percepts: Mapping[str, Percept]) -> StepChoice:
        """The model's action, or the rules' after unusable replies."""
        rules = self.fallback.decide(observation, percepts)
        if self.fallback.finished():
            return rules  # the mission is done by the environment's rules: nothing to choose
        self._allowed = self.allowed()
        got = self.model.structured(
            self.messages(observation, percepts, rules), self._parse, retries=self.retries,
            what="action", json_schema=json_schema_of(ActionChoice), schema_name="action",
            max_new_tokens=self.max_new_tokens, task="act")
        attempts = [a.record() for a in got.attempts]
        if got.ok and got.value is not None:
            action = self._allowed[got.value.action]
            if action != rules.action:  # the model overruled the rules (another kind, or
                self.fallback.acted(action)  # the same kind elsewhere): they are told
            self.taken(action, got.value.action)
            return StepChoice(action, f"{self.model.name}: {got.value.action} "
                                      f"({got.value.reason or action.kind})",
                            point=action.point, overlay=rules.overlay, controller=self.model.name,
                            attempts=attempts)
        why = str(got.failure) if got.failure is not None else "; ".join(got.problems)
        self.taken(rules.action)
        return StepChoice(rules.action, f"rule fallback: {rules.summary}", point=rules.point,
                        overlay=rules.overlay, target=rules.target,
                        controller=f"rules (fallback: {why[:200]})", attempts=attempts)


def controller_label(policy: object, spec: str | None) -> str:
    """What chose the actions, for reports: the ``--model`` spec when a model controls
    ``policy``, else ``rules`` (also for ``--model rule``, which loads no model)."""
    return spec if spec and isinstance(policy, ModelController) else "rules"
