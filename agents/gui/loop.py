"""The perceive–plan–act loop shared by the GUI and the embodied agents.

An :class:`Environment` hands out :class:`Observation` objects — pixels and the
instruction, nothing else — and takes :class:`Action` objects. A
:class:`Policy` turns an observation into a :class:`Decision`. :func:`run_episode`
alternates the two under a step budget and keeps a trace (one
:class:`StepRecord` per decision, with the screenshot and the chosen point)
that :meth:`Episode.save_trace` draws to PNG files.

Environment bookkeeping (reward, episode end, the benchmark's own info such as
a DOM) stays in :class:`Transition` and never reaches the policy.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from PIL import Image, ImageDraw

from lavr.tools.detections import Detections
from lavr.tools.draw import draw_detections

logger = logging.getLogger(__name__)

#: Action kinds of the GUI agent; embodied agents use their own names.
GUI_ACTIONS = ("click", "type", "key", "scroll", "wait", "done")


@dataclass(frozen=True)
class Action:
    """One action.

    Attributes:
        kind: ``click``, ``type``, ``key``, ``scroll``, ``wait`` or ``done`` for
            the GUI; ``left``, ``right``, ``forward``, ``pickup``, ``drop``,
            ``toggle`` or ``done`` for embodied agents.
        x: Click/scroll point, pixels (None for others).
        y: Click/scroll point, pixels.
        text: Text to type (``type``).
        key: Key name for ``key``, e.g. ``"<Enter>"`` or ``"a"``.
        amount: Scroll amount in pixels, positive scrolls down.
    """

    kind: str
    x: float | None = None
    y: float | None = None
    text: str = ""
    key: str = ""
    amount: int = 0

    @classmethod
    def click(cls, x: float, y: float) -> Action:
        """Click at ``(x, y)`` pixels."""
        return cls("click", x=float(x), y=float(y))

    @classmethod
    def type_text(cls, text: str) -> Action:
        """Type ``text`` into the focused element."""
        return cls("type", text=text)

    @classmethod
    def press(cls, key: str) -> Action:
        """Press one key (``"<Enter>"``, ``"<Tab>"``, ``"a"`` ...)."""
        return cls("key", key=key)

    @classmethod
    def scroll(cls, x: float, y: float, amount: int) -> Action:
        """Scroll at ``(x, y)`` by ``amount`` pixels (positive: down)."""
        return cls("scroll", x=float(x), y=float(y), amount=int(amount))

    @property
    def point(self) -> tuple[float, float] | None:
        """``(x, y)`` if the action has a point."""
        return None if self.x is None or self.y is None else (self.x, self.y)

    def describe(self) -> str:
        """Short text, e.g. ``click(80, 112)`` or ``type("abc")``."""
        if self.kind in ("click", "scroll") and self.point is not None:
            extra = f", {self.amount:+d}" if self.kind == "scroll" else ""
            return f"{self.kind}({self.x:.0f}, {self.y:.0f}{extra})"
        if self.kind == "type":
            return f"type({self.text!r})"
        if self.kind == "key":
            return f"key({self.key!r})"
        return self.kind

    def to_json(self) -> dict[str, Any]:
        """JSON-able dict with the fields that are set."""
        out: dict[str, Any] = {"kind": self.kind}
        if self.point is not None:
            out["x"], out["y"] = round(self.x or 0.0, 1), round(self.y or 0.0, 1)
        if self.text:
            out["text"] = self.text
        if self.key:
            out["key"] = self.key
        if self.amount:
            out["amount"] = self.amount
        return out


@dataclass(frozen=True)
class Observation:
    """What a policy may see: pixels and the instruction.

    Attributes:
        image: ``HxWx3 uint8 RGB`` screenshot or rendered frame.
        instruction: The task in words (MiniWoB++ utterance, BabyAI mission, user text).
    """

    image: np.ndarray
    instruction: str


@dataclass(frozen=True)
class Transition:
    """What an environment returns after an action.

    Attributes:
        observation: The next observation.
        reward: Reward for this step.
        done: The episode has ended.
        info: Bookkeeping for logs and scoring only (never shown to the policy).
    """

    observation: Observation
    reward: float = 0.0
    done: bool = False
    info: dict[str, Any] = field(default_factory=dict)


@dataclass
class Decision:
    """A policy's choice for one step, with what it saw.

    Attributes:
        action: The action to take (``done`` ends the episode from the agent's side).
        summary: One line on why, for the trace.
        point: The chosen point, pixels (drawn on the trace image).
        overlay: Perceived elements/objects to draw on the trace image.
        target: Box of the chosen element, XYXY pixels.
    """

    action: Action
    summary: str = ""
    point: tuple[float, float] | None = None
    overlay: Detections | None = None
    target: tuple[float, float, float, float] | None = None


class Environment(Protocol):
    """Anything the loop can act in."""

    def reset(self, *, seed: int | None = None) -> Observation:
        """Start an episode and return the first observation."""

    def step(self, action: Action) -> Transition:
        """Apply one action."""


class Policy(Protocol):
    """Anything that chooses actions from observations."""

    def reset(self, instruction: str) -> None:
        """Forget the previous episode; plan for ``instruction``."""

    def decide(self, observation: Observation) -> Decision:
        """Choose the next action."""


@dataclass
class StepRecord:
    """One step of an episode's trace.

    Attributes:
        step: 1-based step number.
        action: The action taken.
        summary: The policy's one-line reason.
        seconds: Time the policy took to decide.
        reward: Reward the environment returned for the action.
        image: The observation the decision was made on (``HxWx3``), if kept.
        point: Chosen point in pixels.
        overlay: Elements/objects perceived.
        target: Box of the chosen element.
    """

    step: int
    action: Action
    summary: str
    seconds: float
    reward: float = 0.0
    image: np.ndarray | None = None
    point: tuple[float, float] | None = None
    overlay: Detections | None = None
    target: tuple[float, float, float, float] | None = None

    def to_json(self) -> dict[str, Any]:
        """JSON-able dict (no pixels)."""
        out: dict[str, Any] = {"step": self.step, "action": self.action.to_json(),
                               "summary": self.summary, "seconds": round(self.seconds, 3),
                               "reward": round(float(self.reward), 4)}
        if self.point is not None:
            out["point"] = [round(float(v), 1) for v in self.point]
        if self.target is not None:
            out["target"] = [round(float(v), 1) for v in self.target]
        return out


@dataclass
class Episode:
    """The result of :func:`run_episode`.

    Attributes:
        instruction: The instruction the policy was given.
        steps: The trace; ``done``/``wait`` decisions included.
        reward: Sum of rewards.
        success: The environment reported success (see the environment's ``info``).
        ended_by: ``env`` (the environment ended it), ``agent`` (the policy said
            done) or ``budget`` (step budget spent).
        info: The environment's last ``info`` (bookkeeping only).
    """

    instruction: str
    steps: list[StepRecord] = field(default_factory=list)
    reward: float = 0.0
    success: bool = False
    ended_by: str = "budget"
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def n_actions(self) -> int:
        """Actions sent to the environment (everything but ``done``)."""
        return sum(1 for s in self.steps if s.action.kind != "done")

    def to_json(self) -> dict[str, Any]:
        """JSON-able dict (no pixels)."""
        return {"instruction": self.instruction, "success": self.success,
                "reward": round(float(self.reward), 4), "steps": self.n_actions,
                "ended_by": self.ended_by, "trace": [s.to_json() for s in self.steps]}

    def save_trace(self, directory: str | Path, *, scale: int = 3) -> list[Path]:
        """Write one PNG per step (perceived elements, chosen element and point drawn) and trace.json.

        Args:
            directory: Output folder (created).
            scale: Images are enlarged by this integer factor for legibility.

        Returns:
            The files written.
        """
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        files: list[Path] = []
        for rec in self.steps:
            if rec.image is None:
                continue
            path = out / f"step_{rec.step:02d}.png"
            draw_step(rec, scale=scale).save(path)
            files.append(path)
        js = out / "trace.json"
        js.write_text(json.dumps(self.to_json(), indent=2))
        files.append(js)
        return files


def draw_step(rec: StepRecord, *, scale: int = 3) -> Image.Image:
    """A step's image with perceived elements, the chosen element and point, and the action.

    Args:
        rec: A step with ``image`` set.
        scale: Integer enlargement (nearest neighbour) before drawing.

    Returns:
        An RGB PIL image.
    """
    if rec.image is None:
        raise ValueError(f"step {rec.step} has no image to draw")
    image = np.asarray(Image.fromarray(rec.image).resize(
        (rec.image.shape[1] * scale, rec.image.shape[0] * scale), Image.NEAREST))
    if rec.overlay is not None and len(rec.overlay):
        dets = Detections(rec.overlay.xyxy * scale, rec.overlay.confidence, rec.overlay.label,
                          text=rec.overlay.text, data=dict(rec.overlay.data))
        captions = [str(dets.label[i]) + (f' "{dets.text[i]}"' if dets.text is not None
                                          and dets.text[i] else "") for i in range(len(dets))]
        img = draw_detections(image, dets, captions=captions)
    else:
        img = Image.fromarray(image)
    draw = ImageDraw.Draw(img)
    if rec.target is not None:
        draw.rectangle([v * scale for v in rec.target], outline=(255, 0, 0), width=3)
    if rec.point is not None:
        x, y = rec.point[0] * scale, rec.point[1] * scale
        r = 3 * scale
        draw.ellipse([x - r, y - r, x + r, y + r], outline=(255, 0, 0), width=2)
        draw.line([x - 2 * r, y, x + 2 * r, y], fill=(255, 0, 0), width=2)
        draw.line([x, y - 2 * r, x, y + 2 * r], fill=(255, 0, 0), width=2)
    draw.rectangle([0, 0, img.size[0], 14], fill=(0, 0, 0))
    draw.text((3, 1), f"{rec.step}: {rec.action.describe()}  {rec.summary}"[:160], fill=(255, 255, 255))
    return img


def run_episode(env: Environment, policy: Policy, *, seed: int | None = None, max_steps: int = 20,
                keep_images: bool = True) -> Episode:
    """Run one episode: observe, decide, act, until the environment or the policy ends it.

    Args:
        env: The environment.
        policy: The policy; it sees only :class:`Observation` objects.
        seed: Seed for ``env.reset``.
        max_steps: Step budget (decisions, ``done`` included).
        keep_images: Keep each step's observation image in the trace.

    Returns:
        The :class:`Episode`; ``success`` comes from ``info["success"]`` of the
        environment's last transition (False if it never said).

    Raises:
        ValueError: ``max_steps`` < 1.
    """
    if max_steps < 1:
        raise ValueError(f"max_steps must be >= 1, got {max_steps}")
    obs = env.reset(seed=seed)
    policy.reset(obs.instruction)
    episode = Episode(instruction=obs.instruction)
    for step in range(1, max_steps + 1):
        start = time.perf_counter()
        decision = policy.decide(obs)
        seconds = time.perf_counter() - start
        rec = StepRecord(step, decision.action, decision.summary, seconds,
                         image=obs.image if keep_images else None, point=decision.point,
                         overlay=decision.overlay, target=decision.target)
        episode.steps.append(rec)
        logger.debug("step %d: %s  %s (%.2fs)", step, decision.action.describe(),
                     decision.summary, seconds)
        if decision.action.kind == "done":
            episode.ended_by = "agent"
            break
        tr = env.step(decision.action)
        rec.reward = float(tr.reward)
        episode.reward += float(tr.reward)
        episode.info = tr.info
        obs = tr.observation
        if tr.done:
            episode.ended_by = "env"
            break
    episode.success = bool(episode.info.get("success", False))
    return episode


@dataclass
class TaskResult:
    """Aggregate of one task's seeded episodes (any benchmark).

    Attributes:
        task: Task or environment name.
        seed: Seed of the first episode (episode ``i`` uses ``seed + i``).
        episodes: The episodes, in order.
        seconds: Wall time for the task, browser start included.
    """

    task: str
    seed: int
    episodes: list[Episode] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def success_rate(self) -> float:
        """Fraction of episodes the task reported as solved."""
        return sum(e.success for e in self.episodes) / max(len(self.episodes), 1)

    @property
    def mean_reward(self) -> float:
        """Mean episode reward (MiniWoB++ and BabyAI both discount it by time)."""
        return sum(e.reward for e in self.episodes) / max(len(self.episodes), 1)

    @property
    def mean_steps(self) -> float:
        """Mean number of actions per episode."""
        return sum(e.n_actions for e in self.episodes) / max(len(self.episodes), 1)

    def to_json(self, *, episodes: bool = False) -> dict[str, Any]:
        """JSON-able summary; with ``episodes`` each episode's trace too."""
        out: dict[str, Any] = {
            "task": self.task, "episodes": len(self.episodes), "seed": self.seed,
            "success_rate": round(self.success_rate, 4), "mean_reward": round(self.mean_reward, 4),
            "mean_steps": round(self.mean_steps, 2), "seconds": round(self.seconds, 1)}
        if episodes:
            out["runs"] = [e.to_json() for e in self.episodes]
        return out
