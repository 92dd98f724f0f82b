"""Grid-world tiles read from pixels, checked against the environment's own symbolic view."""

from __future__ import annotations

import numpy as np
import pytest

from lavr.tools.base import ArtifactStore, ExpertPool, ToolContext
from lavr.tools.errors import ToolError
from lavr.tools.gridworld import TOOLS, estimate_tile_size, read_tiles
from lavr.tools.registry import ToolRegistry

minigrid = pytest.importorskip("minigrid")

STATES = {0: "open", 1: "closed", 2: "locked"}


def _views(level: str, *, tile: int, seeds: int = 2, steps: int = 12):
    """``(picture, symbolic view, carried)`` along random walks (labels for tests only)."""
    import gymnasium as gym
    from minigrid.wrappers import RGBImgPartialObsWrapper

    env = RGBImgPartialObsWrapper(gym.make(level), tile_size=tile)
    rng = np.random.default_rng(0)
    for seed in range(seeds):
        obs, _ = env.reset(seed=seed)
        for _ in range(steps):
            u = env.unwrapped
            yield obs["image"], u.gen_obs()["image"], u.carrying
            obs, _, term, trunc, _ = env.step(int(rng.integers(0, 6)))
            if term or trunc:
                break
    env.close()


def _label(sym: np.ndarray, i: int, j: int) -> tuple[str, str, str]:
    from minigrid.core.constants import IDX_TO_COLOR, IDX_TO_OBJECT

    kind = IDX_TO_OBJECT[int(sym[i, j, 0])]
    if kind == "empty":
        return ("floor", "", "")
    return (kind, IDX_TO_COLOR[int(sym[i, j, 1])],
            STATES[int(sym[i, j, 2])] if kind == "door" else "")


@pytest.mark.parametrize(("tile", "noise"), [(8, 0), (8, 12), (12, 6), (32, 0)])
def test_egocentric_tiles_match_the_symbolic_view(tile: int, noise: float) -> None:
    """Other tile sizes and pixel noise: nearest prototypes, not exact palette values."""
    rng = np.random.default_rng(1)
    checked = 0
    for image, sym, carried in _views("BabyAI-BossLevel-v0", tile=tile):
        if noise:
            image = np.clip(image + rng.normal(0, noise, image.shape), 0, 255).astype(np.uint8)
        reading = read_tiles(image, cols=7, rows=7)
        assert reading.tile == tile
        for j in range(7):
            for i in range(7):
                t = reading.at(i, j)
                if (i, j) == (3, 6):  # the agent, drawn over what it carries, facing up
                    assert t.agent == 3
                    want = ("floor", "") if carried is None else (carried.type, carried.color)
                    assert (t.type, t.colour) == want
                elif sym[i, j, 0] == 0:  # unseen: drawn unlit
                    assert not t.lit
                else:
                    assert t.lit and (t.type, t.colour, t.state) == _label(sym, i, j), (i, j)
                    checked += 1
    assert checked > 300


def test_full_frame_lattice_and_agent_are_found() -> None:
    import gymnasium as gym

    env = gym.make("BabyAI-GoToLocal-v0", render_mode="rgb_array", highlight=False, tile_size=16)
    env.reset(seed=3)
    frame = env.render()
    assert estimate_tile_size(frame) == 16
    reading = read_tiles(frame)
    u = env.unwrapped
    assert (reading.cols, reading.rows) == (u.width, u.height)
    assert reading.agent() == (int(u.agent_pos[0]), int(u.agent_pos[1]), int(u.agent_dir))
    env.close()


def test_tool_runs_through_the_registry() -> None:
    reg = ToolRegistry(TOOLS)
    image = next(_views("BabyAI-GoToRedBall-v0", tile=8, seeds=1, steps=1))[0]
    ctx = ToolContext(image=image, image_hash="h", artifacts=ArtifactStore(), experts=ExpertPool())
    result = reg.get("grid_cells").run(reg.parse_args("grid_cells", {"cols": 7, "rows": 7}), ctx)
    assert result.value["cols"] == 7 and result.value["agent"] == [3, 6, 3]
    assert "7x7 tiles of 8 px" in result.summary
    assert ctx.artifacts.get(result.artifact_id).at(3, 6).agent == 3
    with pytest.raises(ToolError, match="cols"):
        reg.parse_args("grid_cells", {"cols": 1})


def test_bad_pictures_are_clear_errors() -> None:
    with pytest.raises(ToolError):
        read_tiles(np.zeros((5, 5), np.uint8))
    with pytest.raises(ToolError, match="lattice"):
        read_tiles(np.zeros((7, 7, 3), np.uint8))
