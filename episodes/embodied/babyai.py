"""BabyAI/MiniGrid environments as pixel observations, and their evaluation.

:class:`BabyAIEnv` hands the agent only pixels and the mission text: with
``view="partial"`` (the default) BabyAI's standard 7x7 egocentric RGB view
(minigrid's ``RGBImgPartialObsWrapper``, 8 px tiles, the field of view drawn
lit), with ``view="full"`` the full top-down frame (``highlight=False``).
The environment's state stays inside: ``info`` carries ``success`` (the
episode ended with a positive reward) for scoring only. ``minigrid`` and
``gymnasium`` are imported lazily.
"""

from __future__ import annotations

import contextlib
import io
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from lavr.core_model.errors import InputError, LavrError
from lavr.episodes.embodied.agent import VIEWS, EmbodiedAgent
from lavr.episodes.loop import (
    Action,
    Episode,
    Observation,
    Perceiver,
    Policy,
    TaskResult,
    Transition,
    episode_registry,
    run_episode,
)

logger = logging.getLogger(__name__)

#: Action names in MiniGrid's order (``env.actions``).
ACTIONS = ("left", "right", "forward", "pickup", "drop", "toggle", "done")
#: The BabyAI level ladder, GoToRedBall to BossLevel: the 19 levels of the BabyAI
#: paper plus the other single-task levels minigrid registers (names for the
#: CLI's ``--levels all`` only; no code depends on which level runs).
LEVELS = (
    "BabyAI-GoToRedBallGrey-v0", "BabyAI-GoToRedBall-v0", "BabyAI-GoToRedBallNoDists-v0",
    "BabyAI-GoToObj-v0", "BabyAI-GoToLocal-v0", "BabyAI-GoToRedBlueBall-v0",
    "BabyAI-GoToDoor-v0", "BabyAI-GoToObjDoor-v0", "BabyAI-GoToObjMaze-v0", "BabyAI-GoTo-v0",
    "BabyAI-GoToOpen-v0", "BabyAI-GoToSeq-v0", "BabyAI-GoToImpUnlock-v0",
    "BabyAI-PickupLoc-v0", "BabyAI-PickupDist-v0", "BabyAI-PickupAbove-v0", "BabyAI-Pickup-v0",
    "BabyAI-UnblockPickup-v0", "BabyAI-PutNextLocal-v0", "BabyAI-PutNextS7N4-v0",
    "BabyAI-OpenRedDoor-v0", "BabyAI-OpenDoor-v0", "BabyAI-OpenDoorLoc-v0",
    "BabyAI-OpenTwoDoors-v0", "BabyAI-OpenDoorsOrderN4-v0", "BabyAI-Open-v0",
    "BabyAI-UnlockLocal-v0", "BabyAI-Unlock-v0", "BabyAI-UnlockPickup-v0",
    "BabyAI-BlockedUnlockPickup-v0", "BabyAI-UnlockToUnlock-v0", "BabyAI-KeyInBox-v0",
    "BabyAI-ActionObjDoor-v0", "BabyAI-FindObjS7-v0", "BabyAI-KeyCorridor-v0",
    "BabyAI-OneRoomS20-v0", "BabyAI-MoveTwoAcrossS8N9-v0",
    "BabyAI-Synth-v0", "BabyAI-SynthLoc-v0", "BabyAI-SynthSeq-v0",
    "BabyAI-MiniBossLevel-v0", "BabyAI-BossLevelNoUnlock-v0", "BabyAI-BossLevel-v0",
)
#: Default tile size in pixels per view (8 is the wrapper's standard).
DEFAULT_TILE = {"partial": 8, "full": 16}
#: Ids of the environments the agent plays (gymnasium registers many others).
MINIGRID_PREFIXES = ("BabyAI-", "MiniGrid-")


class EnvironmentUnavailableError(LavrError):
    """minigrid/gymnasium are not installed."""


def check_env_id(env_id: str) -> Any:
    """Refuse an id that is not a registered BabyAI/MiniGrid environment; the ``gymnasium``
    module (MiniGrid's environments registered).

    Raises:
        EnvironmentUnavailableError: minigrid or gymnasium is not installed.
        InputError: Not a BabyAI/MiniGrid environment id (a few that are, named).
    """
    try:
        import gymnasium as gym
        import minigrid  # noqa: F401  (registers the environments)
    except ImportError as exc:
        raise EnvironmentUnavailableError(
            f"minigrid/gymnasium not installed ({exc}); pip install 'lavr[embodied]'") from exc
    if env_id not in gym.registry or not env_id.startswith(MINIGRID_PREFIXES):
        known = sorted(k for k in gym.registry if k.startswith(MINIGRID_PREFIXES))
        shown = repr(env_id) if len(env_id) <= 80 else repr(env_id[:77] + "...")
        raise InputError(f"unknown environment {shown} (e.g. {', '.join(known[:4])})")
    return gym


class BabyAIEnv:
    """One BabyAI/MiniGrid environment seen as RGB pictures.

    Args:
        env_id: A registered id such as ``"BabyAI-GoToRedBall-v0"``.
        view: ``partial`` (the 7x7 egocentric view) or ``full`` (top-down frame).
        tile: Tile size in pixels (default: :data:`DEFAULT_TILE`).

    Raises:
        InputError: Unknown environment id or view.
        EnvironmentUnavailableError: minigrid or gymnasium is missing.
    """

    def __init__(self, env_id: str, *, view: str = "partial", tile: int | None = None) -> None:
        if view not in VIEWS:
            raise InputError(f"view must be one of {', '.join(VIEWS)}, got {view!r}")
        gym = check_env_id(env_id)
        self.env_id = env_id
        self.view = view
        tile = tile or DEFAULT_TILE[view]
        if view == "partial":
            from minigrid.wrappers import RGBImgPartialObsWrapper

            self._env = RGBImgPartialObsWrapper(gym.make(env_id), tile_size=tile)
        else:
            self._env = gym.make(env_id, render_mode="rgb_array", highlight=False, tile_size=tile)
        self._mission = ""

    def _observation(self, obs: dict[str, Any]) -> Observation:
        image = obs["image"] if self.view == "partial" else self._env.render()
        return Observation(np.asarray(image, dtype=np.uint8), self._mission)

    def reset(self, *, seed: int | None = None) -> Observation:
        """Start an episode; the observation is the picture and the mission."""
        with contextlib.redirect_stdout(io.StringIO()):  # minigrid prints rejected samples
            obs, _ = self._env.reset(seed=seed)
        self._mission = str(obs["mission"])
        return self._observation(obs)

    def step(self, action: Action) -> Transition:
        """Take one of :data:`ACTIONS`."""
        if action.kind not in ACTIONS:
            raise InputError(f"BabyAI actions are {', '.join(ACTIONS)}; got {action.kind!r}")
        obs, reward, terminated, truncated, _ = self._env.step(ACTIONS.index(action.kind))
        done = bool(terminated or truncated)
        return Transition(self._observation(obs), float(reward), done,
                          {"success": bool(terminated and reward > 0), "truncated": bool(truncated)})

    def close(self) -> None:
        """Release the environment."""
        self._env.close()

    def __enter__(self) -> BabyAIEnv:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def evaluate_env(env_id: str, *, episodes: int, seed: int = 0, agent: Policy | None = None,
                 view: str = "partial", max_steps: int | None = None,
                 trace_dir: str | Path | None = None, keep_images: bool = False,
                 on_episode: Callable[[int, Episode], None] | None = None) -> TaskResult:
    """Run ``episodes`` seeded episodes (episode ``i`` uses ``seed + i``).

    Args:
        env_id: BabyAI/MiniGrid environment id.
        episodes: Number of episodes (>= 1).
        seed: Seed of the first episode.
        agent: The controller; None makes an :class:`EmbodiedAgent` for ``view``.
        view: ``partial`` or ``full``.
        max_steps: Agent-side step budget; None leaves it to the environment's
            own time limit.
        trace_dir: Write each episode's frames under ``trace_dir/env_id/seed``.
        keep_images: Keep every step's picture in the episodes (for HTML reports).
        on_episode: Called after each episode with its index and result.

    Raises:
        ValueError: ``episodes`` < 1.
    """
    if episodes < 1:
        raise ValueError(f"episodes must be >= 1, got {episodes}")
    agent = agent if agent is not None else EmbodiedAgent(view=view)
    result = TaskResult(task=env_id, seed=seed)
    perceiver = Perceiver(episode_registry())
    start = time.perf_counter()
    with BabyAIEnv(env_id, view=view) as env:
        budget = max_steps or 100_000  # the environment truncates at its own limit
        for i in range(episodes):
            ep = run_episode(env, agent, seed=seed + i, max_steps=budget,
                             keep_images=keep_images or trace_dir is not None,
                             perceiver=perceiver)
            result.episodes.append(ep)
            if trace_dir is not None:
                ep.save_trace(Path(trace_dir) / env_id / str(seed + i), scale=4 if view ==
                              "partial" else 1)
            logger.info("%s seed %d: %s in %d steps", env_id, seed + i,
                        "success" if ep.success else "FAIL", ep.n_actions)
            if on_episode is not None:
                on_episode(i, ep)
    result.seconds = time.perf_counter() - start
    return result
