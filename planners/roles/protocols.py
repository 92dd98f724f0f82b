"""The four roles as typed interfaces: :class:`Planner`, :class:`Decider`, :class:`Refiner`,
:class:`Reasoner`.

The graph's nodes call roles only through these; each has a rule implementation
and a model implementation in this package. A model role appends one
:class:`~lavr.core_model.structured.Attempt` per model call (re-asks and the
fallback note included) to the ``attempts`` list it is given; the node turns
them into trace records. Rule roles make no model calls and append nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable

import numpy as np

from lavr.core_model.structured import Attempt
from lavr.planners.cot import CotOptions, ReasoningChain, ReasoningTree
from lavr.planners.demos.prompt import IclPrompt
from lavr.planners.demos.store import DemoRecord
from lavr.planners.plan import Plan, Step
from lavr.tools.base import ArtifactStore
from lavr.tools.evidence import Evidence


@dataclass
class Decision:
    """What the decision maker chose.

    Attributes:
        action: ``continue`` (run pending steps), ``more`` (new steps added) or ``stop``.
        reason: One line for the trace.
        new_steps: Steps to append to the plan (for ``more``).
    """

    action: Literal["continue", "more", "stop"]
    reason: str
    new_steps: list[Step] = field(default_factory=list)


@dataclass(frozen=True)
class Reply:
    """One answer in both styles.

    Attributes:
        plain: Plain English, no citations or boxes.
        grounded: The same with step-id citations and pixel boxes.
        cited: Step ids the answer rests on, in order.
    """

    plain: str
    grounded: str
    cited: list[str] = field(default_factory=list)

    def text(self, style: str) -> str:
        """The answer in ``style`` (``plain`` or ``grounded``)."""
        return self.grounded if style == "grounded" else self.plain

    def texts(self) -> dict[str, str]:
        """``{"plain": ..., "grounded": ...}``."""
        return {"plain": self.plain, "grounded": self.grounded}



@runtime_checkable
class Planner(Protocol):
    """The controller: a question (and the image, when it sees) in, a :class:`Plan` out.

    Attributes:
        name: Shown in the trace.
        sees_images: Whether :meth:`plan` wants the image.
        reads_demos: Whether :meth:`plan` reads in-context demos and chain-of-thought
            instructions (``icl``).
    """

    name: str
    sees_images: bool
    reads_demos: bool

    def shows_demo(self, demo: DemoRecord) -> bool:
        """Whether this controller can show ``demo`` (the ``demos`` node picks among those).

        A controller written before this method existed (``name``, ``sees_images``,
        ``reads_demos`` and the full ``plan``) is still taken as one by :func:`as_planner`,
        which lets it show every demo that has a plan."""
        ...

    def plan(self, question: str, *, image: np.ndarray | None = None,
             icl: IclPrompt | None = None, attempts: list[Attempt] | None = None) -> Plan:
        """Plan ``question``; a ``LavrError`` (no usable plan) sends the node to the rules."""
        ...


@runtime_checkable
class Decider(Protocol):
    """The decision maker: after each round, continue, stop or add steps."""

    name: str

    def decide(self, plan: Plan, evidence: list[Evidence], *, budget_left: int,
               attempts: list[Attempt] | None = None) -> Decision:
        """Decide after a round (never raises: a model decider falls back to the rules)."""
        ...


@runtime_checkable
class Refiner(Protocol):
    """The semantic refiner: the answer, in every style, from the evidence only."""

    name: str

    def refine(self, plan: Plan, evidence: Sequence[Evidence], *, artifacts: ArtifactStore,
               image_size: list[int] | None = None,
               attempts: list[Attempt] | None = None) -> Reply:
        """Write the answer; a ``LavrError`` (no usable answer) sends the node to the rules."""
        ...


@runtime_checkable
class Reasoner(Protocol):
    """Builds the reasoning chain or tree from the final plan and the evidence."""

    name: str

    def reason(self, plan: Plan, evidence: Sequence[Evidence], *, options: CotOptions,
               image: np.ndarray | None = None) -> ReasoningChain | ReasoningTree | None:
        """The chain or tree for ``options`` (None: chain-of-thought is off)."""
        ...


class SimplePlanner(Protocol):
    """Any object with ``plan(question) -> Plan``: what users may hand the agent as controller."""

    def plan(self, question: str) -> Plan:
        """Plan ``question``."""
        ...


class QuestionPlanner:
    """A :class:`Planner` around any object with a ``plan(question) -> Plan`` method.

    Users may hand :class:`~lavr.agents.VisualAgent` such a simple controller; it
    sees neither the image nor demos.
    """

    sees_images = False
    reads_demos = False

    def __init__(self, planner: SimplePlanner) -> None:
        self.planner = planner
        self.name: str = type(planner).__name__

    def shows_demo(self, demo: DemoRecord) -> bool:
        """Never: a simple controller reads no demos."""
        return False

    def plan(self, question: str, *, image: np.ndarray | None = None,
             icl: IclPrompt | None = None, attempts: list[Attempt] | None = None) -> Plan:
        """The wrapped planner's plan for ``question``."""
        result: Plan = self.planner.plan(question)
        return result


class DemoPlanner:
    """A :class:`Planner` around a controller that has all of one but :meth:`~Planner.shows_demo`
    (written before it existed): it is shown every demo that has a plan, and is otherwise
    the controller itself (its image, demos and attempts still reach its ``plan``)."""

    def __init__(self, planner: object) -> None:
        self.planner = planner

    def __getattr__(self, name: str) -> object:
        return getattr(self.__dict__["planner"], name)

    def shows_demo(self, demo: DemoRecord) -> bool:
        """Every demo with a plan."""
        return demo.plan is not None

    def plan(self, question: str, *, image: np.ndarray | None = None,
             icl: IclPrompt | None = None, attempts: list[Attempt] | None = None) -> Plan:
        """The wrapped controller's plan."""
        result: Plan = self.planner.plan(  # type: ignore[attr-defined]
            question, image=image, icl=icl, attempts=attempts)
        return result


def as_planner(planner: Planner | SimplePlanner) -> Planner:
    """``planner`` as a :class:`Planner`: a simple ``plan(question)`` object is wrapped in a
    :class:`QuestionPlanner`, a full controller without ``shows_demo`` in a :class:`DemoPlanner`."""
    if isinstance(planner, Planner):
        return planner
    if all(hasattr(planner, a) for a in ("name", "sees_images", "reads_demos")):
        return DemoPlanner(planner)  # type: ignore[return-value]
    return QuestionPlanner(planner)
