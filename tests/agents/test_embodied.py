"""The embodied agent on BabyAI: perception checked against environment labels, then episodes."""

from __future__ import annotations

import pytest

from lavr.agents.embodied.mission import ObjectDesc, SubTask, parse_mission
from lavr.core_model.errors import InputError

pytest.importorskip("minigrid")


def _truth(env) -> dict:
    """Labels from the environment's own state (tests only; the agent never reads it)."""
    u = env.unwrapped
    out = {}
    for x in range(u.width):
        for y in range(u.height):
            o = u.grid.get(x, y)
            if o is not None:
                state = ""
                if o.type == "door":
                    state = "locked" if o.is_locked else "open" if o.is_open else "closed"
                out[(x, y)] = (o.type, o.color, state)
    return out


@pytest.mark.parametrize("env_id", ["BabyAI-GoToLocal-v0", "BabyAI-Open-v0",
                                    "BabyAI-UnlockLocal-v0"])
def test_perception_matches_labels(env_id: str) -> None:
    import gymnasium as gym
    import minigrid  # noqa: F401

    from lavr.agents.embodied.perception import perceive_frame

    env = gym.make(env_id, render_mode="rgb_array", highlight=False)
    for seed in range(3):
        env.reset(seed=seed)
        for _ in range(3):
            gm = perceive_frame(env.render())
            got = {p: (c.type, c.colour, c.state) for p, c in gm.cells.items()}
            assert got == _truth(env)
            assert gm.agent == tuple(int(v) for v in env.unwrapped.agent_pos)
            assert gm.heading == env.unwrapped.agent_dir
            env.step(2)  # forward (labels follow the environment wherever it goes)
    env.close()


def test_mission_grammar() -> None:
    assert parse_mission("go to the red ball") == (SubTask("goto", ObjectDesc("ball", "red")),)
    assert parse_mission("pick up a key on your left") == (
        SubTask("pickup", ObjectDesc("key", None, "left")),)
    tasks = parse_mission("open the door after you pick up the blue key")
    assert [t.verb for t in tasks] == ["pickup", "open"]
    put = parse_mission("put the green ball next to a box")[0]
    assert put.other == ObjectDesc("box")
    with pytest.raises(InputError, match="cannot parse"):
        parse_mission("dance")


@pytest.mark.parametrize(("env_id", "seeds"), [
    ("BabyAI-GoToRedBall-v0", (7, 8)), ("BabyAI-GoToLocal-v0", (7, 8)),
    ("BabyAI-PickupLoc-v0", (7, 8)), ("BabyAI-OpenDoor-v0", (7,)), ("BabyAI-UnlockLocal-v0", (7,)),
])
def test_solves_fixed_seeds(env_id: str, seeds: tuple[int, ...]) -> None:
    from lavr.agents.embodied.babyai import evaluate_env

    for seed in seeds:
        result = evaluate_env(env_id, episodes=1, seed=seed)
        ep = result.episodes[0]
        assert ep.success, ep.to_json()["trace"][-3:]
