"""The embodied agent on BabyAI: grammar, map against the environment's own state, episodes."""

from __future__ import annotations

import ast
import re
import time
from pathlib import Path

import numpy as np
import pytest

from lavr.core_model.errors import InputError
from lavr.episodes.embodied.mission import ObjectDesc, SubTask, parse_mission

ROOT = Path(__file__).resolve().parents[2]


# --------------------------------------------------------------------------- grammar


def test_mission_grammar_is_compositional() -> None:
    assert parse_mission("go to the red ball").stages == ((SubTask("goto", ObjectDesc("ball", "red")),),)
    assert parse_mission("pick up a key on your left").stages == (
        (SubTask("pickup", ObjectDesc("key", None, "left")),),)
    after = parse_mission("open the door after you pick up the blue key").stages
    assert [[t.verb for t in s] for s in after] == [["pickup"], ["open"]]
    put = parse_mission("put the green ball next to a box in front of you").stages[0][0]
    assert put.other == ObjectDesc("box", None, "front")
    both = parse_mission("go to a purple object behind you and open a door, then pick up a ball")
    assert [[t.verb for t in s] for s in both.stages] == [["goto", "open"], ["pickup"]]
    assert both.stages[0][0].obj == ObjectDesc(None, "purple", "behind")
    chain = parse_mission("go to the red door, then go to the grey key, then open a door")
    assert len(chain.stages) == 3


@pytest.mark.parametrize("text", ["dance", "go to the", "go to the red ball twice",
                                  "put the red ball near a box", "open the red ball", ""])
def test_mission_grammar_errors_name_the_place(text: str) -> None:
    with pytest.raises(InputError, match="mission"):
        parse_mission(text)


# --------------------------------------------------------------------------- map vs environment

minigrid = pytest.importorskip("minigrid")


def _true_cell(env, pos: tuple[int, int]) -> tuple[str, str, str]:
    """The environment's own cell (tests only; the agent never reads it)."""
    o = env.unwrapped.grid.get(*pos)
    if o is None:
        return ("floor", "", "")
    state = ""
    if o.type == "door":
        state = "locked" if o.is_locked else "open" if o.is_open else "closed"
    return (o.type, o.color, state)


@pytest.mark.parametrize("level", ["BabyAI-UnlockLocal-v0", "BabyAI-BossLevel-v0"])
def test_map_from_egocentric_views_matches_the_world(level: str) -> None:
    """Dead-reckoned map cells, carried back to world coordinates, equal the real grid."""
    from lavr.episodes.embodied.agent import EmbodiedAgent
    from lavr.episodes.embodied.babyai import ACTIONS, BabyAIEnv
    from lavr.episodes.loop import Action, Perceiver, episode_registry

    agent = EmbodiedAgent(view="partial")
    perceiver = Perceiver(episode_registry())
    rng = np.random.default_rng(0)
    with BabyAIEnv(level) as env:
        obs = env.reset(seed=4)
        agent.reset(obs.instruction)
        u = env._env.unwrapped
        (sx, sy), sd = tuple(int(v) for v in u.agent_pos), int(u.agent_dir)
        for _ in range(40):
            agent.decide(obs, perceiver.run(obs.image, agent.perception))
            kind = ACTIONS[int(rng.choice([0, 1, 2, 2, 2, 5]))]
            agent.acted(Action(kind))
            obs = env.step(Action(kind)).observation
        agent.decide(obs, perceiver.run(obs.image, agent.perception))
        w = agent.world
        fx, fy = [(1, 0), (0, 1), (-1, 0), (0, -1)][sd]

        def to_world(p: tuple[int, int]) -> tuple[int, int]:  # agent frame: start (0,0) facing +x
            return sx + p[0] * fx - p[1] * fy, sy + p[0] * fy + p[1] * fx

        assert to_world(w.pos) == tuple(int(v) for v in u.agent_pos)
        assert len(w.floor) + len(w.things) > 30
        for p in w.floor:
            assert _true_cell(env._env, to_world(p))[0] == "floor", p
        for p, thing in w.things.items():
            t = thing.tile
            assert _true_cell(env._env, to_world(p)) == (t.type, t.colour, t.state), p


# --------------------------------------------------------------------------- episodes

# Fixed-seed episodes of the partial (7x7 egocentric) view; seeds are not among the
# 0-99 used for the README's figures.
SOLVED = [
    ("BabyAI-GoToRedBall-v0", 1000), ("BabyAI-GoToLocal-v0", 1000),
    ("BabyAI-PickupLoc-v0", 1000), ("BabyAI-OpenDoor-v0", 1000),
    ("BabyAI-UnlockLocal-v0", 1000), ("BabyAI-PutNextLocal-v0", 1000),
    ("BabyAI-GoTo-v0", 1001), ("BabyAI-BossLevel-v0", 1002),
]


#: CPU seconds one fixed-seed episode may take once perception is warm (they take well under
#: one second each on a 2-core CI machine; CPU time, so a loaded machine does not fail it).
EPISODE_CPU_BUDGET = 8.0


@pytest.fixture(scope="module")
def warm_perception() -> None:
    """Load the tile prototypes (the perception expert) before any timed episode."""
    from lavr.tools.gridworld import load_prototypes

    assert load_prototypes()


@pytest.mark.parametrize(("level", "seed"), SOLVED)
def test_solves_fixed_seeds_from_the_egocentric_view(level: str, seed: int,
                                                     warm_perception: None) -> None:
    from lavr.episodes.embodied.babyai import evaluate_env

    start = time.process_time()
    ep = evaluate_env(level, episodes=1, seed=seed).episodes[0]
    cpu = time.process_time() - start
    assert ep.success, ep.to_json()["trace"][-3:]
    assert all(s.percepts and s.percepts[0].tool == "grid_cells" for s in ep.steps)
    assert cpu < EPISODE_CPU_BUDGET, f"{level} seed {seed}: {cpu:.1f} s CPU"


# BossLevel seeds whose failures (loops until the step limit) led to the commitments and
# the put-next rules: a re-plan undoing the first turn of "free my hands" (10012), a
# drop/pick-up swing between two put-next sub-tasks (10056), fetching an object with
# nowhere to take it yet (10096).
@pytest.mark.parametrize("seed", [10012, 10056, 10096])
def test_boss_level_loops_fixed(seed: int, warm_perception: None) -> None:
    from lavr.episodes.embodied.babyai import evaluate_env

    ep = evaluate_env("BabyAI-BossLevel-v0", episodes=1, seed=seed).episodes[0]
    assert ep.success and ep.n_actions < 300, ep.to_json()["trace"][-3:]


# Episodes where the agent gave up with nothing left to explore: the only way on was an
# unseen cell behind the agent or behind an object (a doorway behind a ball).
@pytest.mark.parametrize(("level", "seed"), [("BabyAI-MiniBossLevel-v0", 10012),
                                             ("BabyAI-BlockedUnlockPickup-v0", 10047)])
def test_looks_behind_itself_and_objects_before_giving_up(level: str, seed: int,
                                                           warm_perception: None) -> None:
    from lavr.episodes.embodied.babyai import evaluate_env

    ep = evaluate_env(level, episodes=1, seed=seed).episodes[0]
    assert ep.success, ep.to_json()["trace"][-3:]
    assert any(s.summary.startswith("exploring what is hidden") for s in ep.steps)


def test_full_view_still_works() -> None:
    from lavr.episodes.embodied.babyai import evaluate_env

    ep = evaluate_env("BabyAI-GoToLocal-v0", episodes=1, seed=1000, view="full").episodes[0]
    assert ep.success, ep.to_json()["trace"][-3:]


def test_episode_html_report(tmp_path: Path) -> None:
    from lavr.episodes.embodied.babyai import evaluate_env

    ep = evaluate_env("BabyAI-GoToRedBall-v0", episodes=1, seed=1003,
                      keep_images=True).episodes[0]
    page = ep.save_html(tmp_path / "r.html").read_text()
    assert page.count("<details") == len(ep.steps)
    assert page.count("data:image/png;base64,") == len(ep.steps)
    assert "grid_cells" in page and ep.instruction in page
    # per step: picture, perception, the action and who chose it, the decision
    assert page.count("perception <strong>grid_cells</strong>") == len(ep.steps)
    assert page.count("class='act'>action <strong>") == len(ep.steps)
    assert page.count("chosen by rules") == len(ep.steps)
    assert page.count("decision: continue") == len(ep.steps) - 1
    assert "decision: done: the environment ended the episode, success" in page


# --------------------------------------------------------------------------- no level names


def _code_strings(tree: ast.AST) -> list[tuple[int, str, bool]]:
    """``(line, text, in LEVELS)`` of every string constant but docstrings and ``help=`` prose."""
    docs = {id(n.body[0].value) for n in ast.walk(tree)
            if isinstance(n, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
            and n.body and isinstance(n.body[0], ast.Expr)
            and isinstance(n.body[0].value, ast.Constant)}
    docs |= {id(c) for n in ast.walk(tree) if isinstance(n, ast.keyword) and n.arg == "help"
             for c in ast.walk(n.value)}
    levels = {id(c) for n in ast.walk(tree) if isinstance(n, ast.Assign)
              and any(isinstance(t, ast.Name) and t.id == "LEVELS" for t in n.targets)
              for c in ast.walk(n.value)}
    return [(n.lineno, n.value, id(n) in levels) for n in ast.walk(tree)
            if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docs]


def test_no_module_keys_behaviour_on_a_level_name() -> None:
    """Level names appear only in the evaluation's list of levels, never in logic."""
    level = re.compile(r"BabyAI-\w+|GoTo[A-Z]\w+|BossLevel|PutNext[A-Z]\w*|Unlock[A-Z]\w*")
    found = []
    for folder in ("tools", "episodes", "apps"):
        for path in (ROOT / folder).rglob("*.py"):
            for line, text, listed in _code_strings(ast.parse(path.read_text())):
                if level.search(text) and not listed:
                    found.append(f"{path.relative_to(ROOT)}:{line}: {text[:60]!r}")
    assert not found, found
