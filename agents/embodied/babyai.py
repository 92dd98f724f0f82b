"""BabyAI/MiniGrid environments as pixel observations, and their evaluation.

:class:`BabyAIEnv` renders the full top-down frame (``render_mode="rgb_array"``,
``highlight=False``) and hands the agent only that frame and the mission text.
The environment's state stays inside: ``info`` carries ``success`` (the
episode ended with a positive reward) for scoring only. ``minigrid`` and
``gymnasium`` are imported lazily.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from lavr.agents.embodied.agent import EmbodiedAgent
from lavr.agents.gui.loop import Action, Episode, Observation, TaskResult, Transition, run_episode
from lavr.core_model.errors import InputError, LavrError

logger = logging.getLogger(__name__)

#: Action names in MiniGrid's order (``env.actions``).
ACTIONS = ("left", "right", "forward", "pickup", "drop", "toggle", "done")
#: BabyAI levels the agent is measured on (see the README).
SUPPORTED_ENVS = (
    "BabyAI-GoToRedBallGrey-v0", "BabyAI-GoToRedBall-v0", "BabyAI-GoToRedBallNoDists-v0",
    "BabyAI-GoToObj-v0", "BabyAI-GoToLocal-v0", "BabyAI-GoToRedBlueBall-v0", "BabyAI-GoToDoor-v0",
    "BabyAI-GoTo-v0", "BabyAI-PickupDist-v0", "BabyAI-PickupLoc-v0", "BabyAI-Pickup-v0",
    "BabyAI-OpenDoor-v0", "BabyAI-OpenRedDoor-v0", "BabyAI-Open-v0", "BabyAI-UnlockLocal-v0",
    "BabyAI-PutNextLocal-v0",
)


class EnvironmentUnavailableError(LavrError):
    """minigrid/gymnasium are not installed."""


class BabyAIEnv:
    """One BabyAI/MiniGrid environment seen as full top-down RGB frames.

    Args:
        env_id: A registered id such as ``"BabyAI-GoToRedBall-v0"``.
        tile: Tile size of the rendered frame in pixels.

    Raises:
        InputError: Unknown environment id.
        EnvironmentUnavailableError: minigrid or gymnasium is missing.
    """

    def __init__(self, env_id: str, *, tile: int = 32) -> None:
        try:
            import gymnasium as gym
            import minigrid  # noqa: F401  (registers the environments)
        except ImportError as exc:
            raise EnvironmentUnavailableError(
                f"minigrid/gymnasium not installed ({exc}); pip install 'lavr[embodied]'") from exc
        if env_id not in gym.registry:
            known = sorted(k for k in gym.registry if k.startswith(("BabyAI-", "MiniGrid-")))
            raise InputError(f"unknown environment {env_id!r} (e.g. {', '.join(known[:4])})")
        self.env_id = env_id
        self._env = gym.make(env_id, render_mode="rgb_array", highlight=False, tile_size=tile)
        self._mission = ""

    def _observation(self) -> Observation:
        return Observation(np.asarray(self._env.render(), dtype=np.uint8), self._mission)

    def reset(self, *, seed: int | None = None) -> Observation:
        """Start an episode; the observation is the frame and the mission."""
        obs, _ = self._env.reset(seed=seed)
        self._mission = str(obs["mission"])
        return self._observation()

    def step(self, action: Action) -> Transition:
        """Take one of :data:`ACTIONS`."""
        if action.kind not in ACTIONS:
            raise InputError(f"BabyAI actions are {', '.join(ACTIONS)}; got {action.kind!r}")
        _, reward, terminated, truncated, _ = self._env.step(ACTIONS.index(action.kind))
        done = bool(terminated or truncated)
        return Transition(self._observation(), float(reward), done,
                          {"success": bool(terminated and reward > 0), "truncated": bool(truncated)})

    def close(self) -> None:
        """Release the environment."""
        self._env.close()

    def __enter__(self) -> BabyAIEnv:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def evaluate_env(env_id: str, *, episodes: int, seed: int = 0, agent: EmbodiedAgent | None = None,
                 max_steps: int | None = None, trace_dir: str | Path | None = None,
                 on_episode: Callable[[int, Episode], None] | None = None) -> TaskResult:
    """Run ``episodes`` seeded episodes (episode ``i`` uses ``seed + i``).

    Args:
        env_id: BabyAI/MiniGrid environment id.
        episodes: Number of episodes (>= 1).
        seed: Seed of the first episode.
        agent: The policy; None makes an :class:`EmbodiedAgent`.
        max_steps: Agent-side step budget; None leaves it to the environment's
            own time limit.
        trace_dir: Write each episode's frames under ``trace_dir/env_id/seed``.
        on_episode: Called after each episode with its index and result.

    Raises:
        ValueError: ``episodes`` < 1.
    """
    if episodes < 1:
        raise ValueError(f"episodes must be >= 1, got {episodes}")
    agent = agent if agent is not None else EmbodiedAgent()
    result = TaskResult(task=env_id, seed=seed)
    start = time.perf_counter()
    with BabyAIEnv(env_id) as env:
        budget = max_steps or 100_000  # the environment truncates at its own limit
        for i in range(episodes):
            ep = run_episode(env, agent, seed=seed + i, max_steps=budget,
                             keep_images=trace_dir is not None)
            result.episodes.append(ep)
            if trace_dir is not None:
                ep.save_trace(Path(trace_dir) / env_id / str(seed + i), scale=1)
            logger.info("%s seed %d: %s in %d steps", env_id, seed + i,
                        "success" if ep.success else "FAIL", ep.n_actions)
            if on_episode is not None:
                on_episode(i, ep)
    result.seconds = time.perf_counter() - start
    return result


def describe_result(result: TaskResult) -> dict[str, Any]:
    """JSON-able summary of an evaluation."""
    return result.to_json()
