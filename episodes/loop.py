"""The episode loop shared by the GUI and the embodied agents.

An :class:`Environment` hands out :class:`Observation` objects — pixels and the
instruction, nothing else — and takes :class:`Action` objects. Each step
:func:`run_episode`

1. observes;
2. runs the policy's perception tools (:class:`PerceptionCall`: a tool name
   and arguments) from a :class:`~lavr.tools.registry.ToolRegistry` on the
   observation, through the same argument validation and result cache as a
   visual question's steps;
3. lets the controller (a :class:`Policy`: rules, or
   :class:`~lavr.episodes.controller.ModelController`) choose the next action
   from the observation and the percepts;
4. acts, and decides whether the episode is done (the environment ended it,
   the controller said ``done``, or the step budget is spent).

Every step is traced (:class:`StepRecord`: percepts with timings, the
controller that chose, the action, the picture with the chosen point);
:meth:`Episode.to_json` is the ``--json`` form, :meth:`Episode.save_trace`
draws PNG files and :meth:`Episode.save_html` writes a self-contained report.

Environment bookkeeping (reward, episode end, the benchmark's own info such as
a DOM) stays in :class:`Transition` and never reaches the policy.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from lavr.episodes.draw import draw_step
from lavr.episodes.report import episode_html
from lavr.tools.base import ArtifactStore, ExpertPool, ResultCache, ToolContext
from lavr.tools.detections import Detections
from lavr.tools.errors import ToolError
from lavr.tools.registry import ToolRegistry
from lavr.tools.trace import TraceEvent

logger = logging.getLogger(__name__)

#: Action kinds of the GUI agent; embodied agents use their own names.
GUI_ACTIONS = ("click", "move", "drag", "type", "key", "scroll", "wait", "watch", "done")


@dataclass(frozen=True)
class Action:
    """One action.

    Attributes:
        kind: ``click``, ``move`` (the pointer only: hover), ``drag`` (press at ``(x, y)``,
            move to ``(x2, y2)``, release there), ``type``, ``key``, ``scroll``, ``wait`` or
            ``done`` for
            the GUI (``watch``: look at the page for ``amount`` ms, keeping every screen seen,
            :attr:`Observation.frames`); ``left``, ``right``, ``forward``, ``pickup``, ``drop``,
            ``toggle`` or ``done`` for embodied agents.
        x: Click/scroll point, or where a drag presses, pixels (None for others).
        y: Click/scroll point, or where a drag presses, pixels.
        text: Text to type (``type``).
        key: Key name for ``key``, e.g. ``"<Enter>"`` or ``"a"``, or a chord with modifier
            prefixes (``"C-a"``: control + a selects all, ``"C-c"`` copies, ``"C-v"`` pastes,
            ``"C-S-<End>"``; ``C-`` control, ``S-`` shift, ``A-`` alt, ``M-`` meta); for
            ``click``, a modifier held during the click (``"C-"``: control, which adds to a
            list's selection; ``"S-"``: shift, which extends a text selection).
        amount: Scroll amount in pixels, positive scrolls down; for ``key``, how many
            times the key is pressed (0 and 1: once); for ``wait``, milliseconds to pause; for ``watch``, milliseconds to look;
            for ``type``, milliseconds to pause after typing before the screen is seen
            (what the typing makes pop up shows in the same step); for ``move``, milliseconds
            the pointer rests there before the screen is seen.
        x2: Where a ``drag`` releases, pixels (None for other kinds).
        y2: Where a ``drag`` releases, pixels.
        via: Points ``(x, y)`` a ``drag`` passes through, in order, between press and
            release (the last leg's direction matters to widgets such as sortable grids).
    """

    kind: str
    x: float | None = None
    y: float | None = None
    text: str = ""
    key: str = ""
    amount: int = 0
    x2: float | None = None
    y2: float | None = None
    via: tuple[tuple[float, float], ...] = ()

    @classmethod
    def click(cls, x: float, y: float) -> Action:
        """Click at ``(x, y)`` pixels."""
        return cls("click", x=float(x), y=float(y))

    @classmethod
    def hover(cls, x: float, y: float, *, pause_ms: int = 0) -> Action:
        """Move the pointer to ``(x, y)`` without clicking (opens menus that open on hover),
        and let it rest there ``pause_ms`` before the screen is seen."""
        return cls("move", x=float(x), y=float(y), amount=int(pause_ms))

    @classmethod
    def drag(cls, x: float, y: float, x2: float, y2: float, *,
             via: tuple[tuple[float, float], ...] = (), pace_ms: int = 0) -> Action:
        """Press the button at ``(x, y)``, move (through the ``via`` points) to ``(x2, y2)``
        and release there, pixels (moves a slider's handle, draws a line, drags an item);
        ``pace_ms``: each step of the move takes this long (a page that turns a thing by the
        pointer's speed, sampled on a timer, sees a fast drag as no move at all)."""
        return cls("drag", x=float(x), y=float(y), x2=float(x2), y2=float(y2),
                   via=tuple((float(a), float(b)) for a, b in via), amount=int(pace_ms))

    @classmethod
    def type_text(cls, text: str, *, pause_ms: int = 0) -> Action:
        """Type ``text`` into the focused element (then pause ``pause_ms`` before looking)."""
        return cls("type", text=text, amount=int(pause_ms))

    @classmethod
    def press(cls, key: str, times: int = 1) -> Action:
        """Press one key or chord (``"<Enter>"``, ``"<Tab>"``, ``"a"``, ``"C-c"`` ...),
        ``times`` times."""
        return cls("key", key=key, amount=int(times) if times > 1 else 0)

    @classmethod
    def watch(cls, ms: int) -> Action:
        """Look at the page for ``ms`` milliseconds, as many screenshots as the page gives,
        all kept (what flashes or moves meanwhile is seen, in one step)."""
        return cls("watch", amount=int(ms))

    @classmethod
    def scroll(cls, x: float, y: float, amount: int) -> Action:
        """Scroll at ``(x, y)`` by ``amount`` pixels (positive: down)."""
        return cls("scroll", x=float(x), y=float(y), amount=int(amount))

    @property
    def point(self) -> tuple[float, float] | None:
        """``(x, y)`` if the action has a point."""
        return None if self.x is None or self.y is None else (self.x, self.y)

    @property
    def end(self) -> tuple[float, float] | None:
        """``(x2, y2)``, where a drag releases, if set."""
        return None if self.x2 is None or self.y2 is None else (self.x2, self.y2)

    def describe(self) -> str:
        """Short text, e.g. ``click(80, 112)`` or ``type("abc")``."""
        if self.kind in ("click", "scroll", "move") and self.point is not None:
            extra = f", {self.amount:+d}" if self.kind == "scroll" else \
                f", {self.key}" if self.key else ""
            return f"{self.kind}({self.x:.0f}, {self.y:.0f}{extra})"
        if self.kind == "drag" and self.point is not None and self.end is not None:
            through = "".join(f" -> {a:.0f}, {b:.0f}" for a, b in self.via)
            return f"drag({self.x:.0f}, {self.y:.0f}{through} -> {self.x2:.0f}, {self.y2:.0f})"
        if self.kind == "type":
            return f"type({self.text!r})"
        if self.kind == "key":
            return f"key({self.key!r})" + (f" x{self.amount}" if self.amount > 1 else "")
        if self.kind in ("wait", "watch") and self.amount > 0:
            return f"{self.kind}({self.amount} ms)"
        return self.kind

    def to_json(self) -> dict[str, Any]:
        """JSON-able dict with the fields that are set."""
        out: dict[str, Any] = {"kind": self.kind}
        if self.point is not None:
            out["x"], out["y"] = round(self.x or 0.0, 1), round(self.y or 0.0, 1)
        if self.end is not None:
            out["x2"], out["y2"] = round(self.x2 or 0.0, 1), round(self.y2 or 0.0, 1)
        if self.via:
            out["via"] = [[round(a, 1), round(b, 1)] for a, b in self.via]
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
        frames: The screens seen while the last action watched the page (``watch``), oldest
            first, each ``HxWx3 uint8 RGB`` like ``image`` (which comes after them); empty
            after other actions.
    """

    image: np.ndarray
    instruction: str
    frames: tuple[np.ndarray, ...] = ()


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
class StepChoice:
    """A policy's choice for one step, with what it saw.

    Attributes:
        action: The action to take (``done`` ends the episode from the agent's side).
        summary: One line on why, for the trace.
        point: The chosen point, pixels (drawn on the trace image).
        overlay: Perceived elements/objects to draw on the trace image.
        target: Box of the chosen element, XYXY pixels.
        controller: Who chose (``rules``, a model's name, or a fallback note).
        attempts: A model controller's replies and their problems.
    """

    action: Action
    summary: str = ""
    point: tuple[float, float] | None = None
    overlay: Detections | None = None
    target: tuple[float, float, float, float] | None = None
    controller: str = "rules"
    attempts: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class PerceptionCall:
    """A perception tool a policy wants run on every observation.

    Attributes:
        tool: Registered tool name, e.g. ``grid_cells``.
        args: The tool's arguments (validated against its ``Args`` model).
    """

    tool: str
    args: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class Percept:
    """One perception tool's result on one observation.

    Attributes:
        tool: Tool name.
        args: Arguments as validated.
        summary: The tool's one-line summary (or the error).
        value: The tool's small JSON-able value.
        artifact: The object the tool stored (e.g. a ``TileReading``), or None.
        seconds: Time the tool took (0 when cached).
        cached: The result came from the result cache.
        error: The tool's error message, or ``""``.
    """

    tool: str
    args: dict[str, Any]
    summary: str
    value: Any = None
    artifact: Any = None
    seconds: float = 0.0
    cached: bool = False
    error: str = ""

    def to_json(self) -> dict[str, Any]:
        """JSON-able record (no artifact)."""
        out: dict[str, Any] = {"tool": self.tool, "args": self.args, "summary": self.summary,
                               "seconds": round(self.seconds, 4), "cached": self.cached}
        if self.error:
            out["error"] = self.error
        return out


class Environment(Protocol):
    """Anything the loop can act in."""

    def reset(self, *, seed: int | None = None) -> Observation:
        """Start an episode and return the first observation."""

    def step(self, action: Action) -> Transition:
        """Apply one action."""


class Policy(Protocol):
    """A controller: chooses actions from observations and percepts.

    Attributes:
        perception: Perception tools to run on every observation before :meth:`decide`.
    """

    perception: Sequence[PerceptionCall]

    def reset(self, instruction: str) -> None:
        """Forget the previous episode; plan for ``instruction``."""

    def decide(self, observation: Observation, percepts: Mapping[str, Percept]) -> StepChoice:
        """Choose the next action."""

    def acted(self, action: Action) -> None:
        """The action actually taken this step (another controller may have chosen it)."""


class Perceiver:
    """Runs perception tools on observations through a registry and a result cache.

    Args:
        registry: The tools.
        cache: Result cache keyed by (image content, tool, args); repeated views are free.
    """

    def __init__(self, registry: ToolRegistry, *, cache: ResultCache | None = None) -> None:
        self.registry = registry
        self.cache = cache if cache is not None else ResultCache(max_entries=256)
        self.artifacts = ArtifactStore()
        self.experts = ExpertPool()

    def run(self, image: np.ndarray, calls: Sequence[PerceptionCall]) -> dict[str, Percept]:
        """Every call's :class:`Percept`, by tool name (errors are recorded, not raised)."""
        digest = hashlib.sha1(np.ascontiguousarray(image).tobytes()).hexdigest()
        ctx = ToolContext(image=image, image_hash=digest, artifacts=self.artifacts,
                          experts=self.experts, cache=self.cache)
        out: dict[str, Percept] = {}
        for call in calls:
            out[call.tool] = self._one(call, ctx)
        return out

    def _one(self, call: PerceptionCall, ctx: ToolContext) -> Percept:
        start = time.perf_counter()
        try:
            tool = self.registry.get(call.tool)
            args = self.registry.parse_args(call.tool, dict(call.args))
        except ToolError as exc:
            return Percept(call.tool, dict(call.args), str(exc), error=str(exc))
        key = ResultCache.key(ctx.image_hash, call.tool, args) if tool.cacheable else None
        hit = self.cache.get(key) if key is not None else None
        if hit is not None:
            result, artifact = hit
            return Percept(call.tool, args.model_dump(), result.summary, result.value, artifact,
                           0.0, True)
        try:
            result = tool.run(args, ctx)
        except ToolError as exc:
            return Percept(call.tool, args.model_dump(), str(exc), error=str(exc),
                           seconds=time.perf_counter() - start)
        artifact = self.artifacts.get(result.artifact_id) if result.artifact_id else None
        if result.artifact_id:
            self.artifacts.discard(result.artifact_id)
        if key is not None:
            self.cache.put(key, (result, artifact))
        return Percept(call.tool, args.model_dump(), result.summary, result.value, artifact,
                       time.perf_counter() - start)


def episode_registry() -> ToolRegistry:
    """The perception tools episodes use (the grid-world tile reader, the screen parser)."""
    from lavr.episodes.gui.tools import TOOLS as GUI_TOOLS
    from lavr.tools.gridworld import TOOLS

    return ToolRegistry([*TOOLS, *GUI_TOOLS])


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
        percepts: The perception tools' results this step.
        controller: Who chose the action (``rules``, a model's name, or a fallback note).
        attempts: The model controller's replies and problems, when it was asked.
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
    percepts: list[Percept] = field(default_factory=list)
    controller: str = "rules"
    attempts: list[dict[str, Any]] = field(default_factory=list)

    def records(self) -> list[TraceEvent]:
        """The step as trace events, the same type as a visual question's: one ``tool``
        event per perception tool (step ids ``t3.p1`` ...) and one ``act`` event for the
        controller's choice (``summary`` = ``"action: why"``, plus ``action`` and
        ``controller``)."""
        sid = f"t{self.step}"
        out = [TraceEvent("tool", step=f"{sid}.p{i}", tool=p.tool, args=p.args,
                          summary=p.summary, seconds=p.seconds, cached=p.cached,
                          error=p.error or None)
               for i, p in enumerate(self.percepts, 1)]
        out.append(TraceEvent("act", step=sid, action=self.action.to_json(),
                              summary=f"{self.action.describe()}: {self.summary}",
                              controller=self.controller, seconds=self.seconds))
        return out

    def to_json(self) -> dict[str, Any]:
        """JSON-able dict (no pixels)."""
        out: dict[str, Any] = {"step": self.step, "action": self.action.to_json(),
                               "summary": self.summary, "seconds": round(self.seconds, 3),
                               "reward": round(float(self.reward), 4),
                               "controller": self.controller}
        if self.percepts:
            out["percepts"] = [p.to_json() for p in self.percepts]
        if self.attempts:
            out["attempts"] = self.attempts
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

    def decision(self, rec: StepRecord) -> TraceEvent:
        """The ``decide`` record after step ``rec``: ``continue``, or ``done`` and why."""
        last = rec is self.steps[-1]
        if not last:
            summary = f"continue: reward {rec.reward:.3f}"
        else:
            why = {"env": "the environment ended the episode", "agent": "the controller said done",
                   "budget": "the step budget is spent"}.get(self.ended_by, self.ended_by)
            summary = (f"done: {why}, {'success' if self.success else 'not solved'}, "
                       f"reward {self.reward:.3f}")
        return TraceEvent("decide", step=f"t{rec.step}", summary=summary)

    def records(self) -> list[TraceEvent]:
        """The whole trace as events of a visual question's type (see
        :meth:`StepRecord.records`), each step followed by its ``decide`` record; the demo
        and the HTML report render these."""
        return [r for rec in self.steps for r in (*rec.records(), self.decision(rec))]

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

    def save_html(self, path: str | Path, *, title: str = "", scale: int = 4) -> Path:
        """Write the self-contained HTML report (:func:`lavr.episodes.report.episode_html`)."""
        out = Path(path)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(episode_html(self, title=title, scale=scale), encoding="utf-8")
        return out


def run_episode(env: Environment, policy: Policy, *, seed: int | None = None, max_steps: int = 20,
                keep_images: bool = True, perceiver: Perceiver | None = None) -> Episode:
    """Run one episode: observe, perceive, choose, act, until the episode is done.

    Args:
        env: The environment.
        policy: The controller; it sees only :class:`Observation` objects and percepts.
        seed: Seed for ``env.reset``.
        max_steps: Step budget (decisions, ``done`` included).
        keep_images: Keep each step's observation image in the trace.
        perceiver: Runs the policy's perception tools (default: one over
            :func:`episode_registry`, made when the policy asks for any).

    Returns:
        The :class:`Episode`; ``success`` comes from ``info["success"]`` of the
        environment's last transition (False if it never said).

    Raises:
        ValueError: ``max_steps`` < 1.
    """
    if max_steps < 1:
        raise ValueError(f"max_steps must be >= 1, got {max_steps}")
    calls = tuple(policy.perception)
    if calls and perceiver is None:
        perceiver = Perceiver(episode_registry())
    obs = env.reset(seed=seed)
    policy.reset(obs.instruction)
    episode = Episode(instruction=obs.instruction)
    for step in range(1, max_steps + 1):
        start = time.perf_counter()
        percepts = perceiver.run(obs.image, calls) if perceiver is not None and calls else {}
        decision = policy.decide(obs, percepts)
        seconds = time.perf_counter() - start
        rec = StepRecord(step, decision.action, decision.summary, seconds,
                         image=obs.image if keep_images else None, point=decision.point,
                         overlay=decision.overlay, target=decision.target,
                         percepts=list(percepts.values()), controller=decision.controller,
                         attempts=decision.attempts)
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
