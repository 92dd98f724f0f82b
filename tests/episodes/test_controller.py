"""The episode loop's controller role: a scripted model chooses actions; bad replies fall back."""

from __future__ import annotations

import json
import logging

import pytest

from lavr.core_model.scripted import ScriptedModel
from lavr.episodes.controller import ModelController

pytest.importorskip("minigrid")


def _run(model: ScriptedModel, *, seed: int = 1004, max_steps: int = 60):
    from lavr.episodes.embodied.agent import EmbodiedAgent
    from lavr.episodes.embodied.babyai import ACTIONS, BabyAIEnv
    from lavr.episodes.loop import run_episode

    ctl = ModelController(model, EmbodiedAgent(), actions=ACTIONS, retries=1)
    with BabyAIEnv("BabyAI-GoToRedBall-v0") as env:
        return run_episode(env, ctl, seed=seed, max_steps=max_steps, keep_images=False)


def test_model_actions_are_taken_and_the_map_follows_them() -> None:
    # the model turns twice (a full half-turn the rules would not make), then says invalid things
    replies = [json.dumps({"action": "left", "reason": "look around"}),
               json.dumps({"action": "left", "reason": "look around"})]
    replies += [json.dumps({"action": "fly"})] * 200
    ep = _run(ScriptedModel(replies, repeat_last=True))
    first, second = ep.steps[0], ep.steps[1]
    assert first.action.kind == "left" and first.controller == "scripted"
    assert second.action.kind == "left" and "look around" in second.summary
    later = ep.steps[2]
    assert later.controller.startswith("rules (fallback:") and "not allowed" in later.controller
    assert len(later.attempts) == 2 and "not allowed" in later.attempts[0]["error"]
    # the rules kept track of the model's turns, so they still solve the mission
    assert ep.success, ep.to_json()["trace"][-3:]


def test_broken_model_falls_back_to_rules_every_step() -> None:
    ep = _run(ScriptedModel(["not json at all"], repeat_last=True))
    assert ep.success
    assert all(s.controller.startswith("rules (fallback:") for s in ep.steps[:-1])


def test_model_is_shown_state_and_picture() -> None:
    model = ScriptedModel([json.dumps({"action": "forward"})], repeat_last=True)
    _run(model, max_steps=2)
    req = model.requests_for("act")[0]
    text = " ".join(getattr(p, "text", "") for m in req.messages for p in m.parts)
    assert "go to the red ball" in text and "grid_cells" in text and "forward" in text
    assert any(getattr(p, "image", None) is not None for m in req.messages for p in m.parts)


def test_warm_up_loads_the_model_before_timed_episodes(caplog) -> None:
    from lavr.episodes.embodied.agent import EmbodiedAgent
    from lavr.episodes.embodied.babyai import ACTIONS

    model = ScriptedModel({"warmup": ["OK"], "act": [json.dumps({"action": "left"})]})
    ModelController(model, EmbodiedAgent(), actions=ACTIONS).warm_up()
    assert [r.task for r in model.requests] == ["warmup"]
    # a model that fails to warm up is logged, not raised (the episode meets it again)
    failing = ScriptedModel({"act": ["x"]})
    with caplog.at_level(logging.WARNING):
        ModelController(failing, EmbodiedAgent(), actions=ACTIONS).warm_up()
    assert any("warm" in r.getMessage().lower() for r in caplog.records), caplog.records


def test_reports_name_the_model_only_when_one_controls():
    from lavr.episodes.controller import controller_label
    from lavr.episodes.embodied.agent import EmbodiedAgent
    from lavr.episodes.embodied.babyai import ACTIONS

    rules = EmbodiedAgent()
    assert controller_label(rules, "rule") == "rules"  # `--model rule` loads no model
    assert controller_label(rules, None) == "rules"
    ctl = ModelController(ScriptedModel({"act": ["{}"]}), rules, actions=ACTIONS)
    assert controller_label(ctl, "openai:m") == "openai:m"


def test_the_rules_are_told_of_a_model_choice_of_the_same_kind_elsewhere() -> None:
    """A click the model puts somewhere else than the rules would is an overruling too."""
    import numpy as np

    from lavr.episodes.loop import Action, Observation, StepChoice

    class Rules:
        perception = ()

        def __init__(self) -> None:
            self.told: list[Action] = []

        def decide(self, observation, percepts=None):
            return StepChoice(Action.click(10, 10), "click the first button")

        def finished(self) -> bool:
            return False

        def acted(self, action: Action) -> None:
            self.told.append(action)

        def describe_state(self) -> str:
            return "two buttons"

        def candidate_actions(self) -> dict[str, Action]:
            return {"click e1": Action.click(10, 10), "click e2": Action.click(50, 10)}

    rules = Rules()
    reply = json.dumps({"action": "click e2", "reason": "the other one"})
    ctl = ModelController(ScriptedModel([reply, json.dumps({"action": "click e1"})]), rules,
                          actions=("wait",), retries=0)
    obs = Observation(image=np.zeros((20, 60, 3), np.uint8), instruction="click the second button")
    assert ctl.decide(obs, {}).action == Action.click(50, 10)
    assert rules.told == [Action.click(50, 10)]
    assert ctl.decide(obs, {}).action == Action.click(10, 10)  # the rules' own: not re-told
    assert rules.told == [Action.click(50, 10)]
