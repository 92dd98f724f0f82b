"""The compact act prompt (lavr-mllm as the episode controller) and the parsing of its replies."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from lavr.core_model.scripted import ScriptedModel
from lavr.episodes.controller import ModelController
from lavr.episodes.gui.model_rules import GUI_MODEL_ACTIONS
from lavr.episodes.loop import Action, Observation, StepChoice
from lavr.planners.roles import compact


def test_act_prompt_is_tagged_short_and_keeps_the_latest_actions() -> None:
    done = [f"click button \"B{i}\"" for i in range(8)]
    [msg] = compact.act_messages(" Click OK. ", 'e1 button "OK"', ['type "x"', "wait", "done"],
                                 done)
    lines = msg.text.splitlines()
    assert lines[0] == "Act: Click OK."
    assert lines[1] == 'e1 button "OK"'
    assert lines[2] == "done: " + "; ".join(done[-compact.ACT_HISTORY:])
    assert lines[3] == 'actions: type "x", wait, done'
    assert not msg.images
    assert json.loads(compact.act_reply('type "x"')) == {"action": 'type "x"'}


class _Rules:
    """A rule controller with two buttons and one text to type; it always clicks e1."""

    perception = ()
    points = {"click e1": (10.0, 10.0), "click e2": (50.0, 10.0)}

    def __init__(self) -> None:
        self.instruction = ""

    def reset(self, instruction: str) -> None:
        self.instruction = "Click Submit"  # as read from the screen (the observation has none)

    def decide(self, observation, percepts) -> StepChoice:
        return StepChoice(Action.click(*self.points["click e1"]), "rules: click OK")

    def acted(self, action: Action) -> None:
        pass

    def finished(self) -> bool:
        return False

    def describe_state(self) -> str:
        return "a long description a compact model is not sent"

    def candidate_actions(self) -> dict[str, Action]:
        return {name: Action.click(*p) for name, p in self.points.items()} | {
            'type "bob"': Action.type_text("bob")}

    def compact_state(self) -> tuple[str, list[str]]:
        return 'e1 button "OK"\ne2 button "Submit"', ['type "bob"']

    def describe_action(self, action: Action) -> str:
        names = {p: n for n, p in self.points.items()}
        label = {"click e1": "OK", "click e2": "Submit"}.get(names.get((action.x, action.y), ""))
        return f'click button "{label}"' if label else action.kind


def _controller(replies: list[str], *, compact_prompts: bool = True) -> tuple[
        ModelController, ScriptedModel]:
    model = ScriptedModel(replies, name="mllm")
    model.compact_prompts = compact_prompts
    ctl = ModelController(model, _Rules(), actions=GUI_MODEL_ACTIONS, retries=1)
    ctl.reset("")
    return ctl, model


def test_a_compact_model_gets_the_act_prompt_and_its_valid_choice_is_taken() -> None:
    obs = Observation(np.zeros((20, 60, 3), np.uint8), "")
    ctl, model = _controller(['{"action":"click e2"}', 'Sure! {"action": "click e9"}',
                              "no json", '{"action":"type \\"bob\\""}'])
    first = ctl.decide(obs, {})
    assert first.action == Action.click(50.0, 10.0) and first.controller == "mllm"
    second = ctl.decide(obs, {})  # e9 is not offered, re-asked once, then the rules' click
    assert second.controller.startswith("rules (fallback:") and len(second.attempts) == 2
    assert "not allowed" in second.attempts[0]["error"]
    assert second.action == Action.click(10.0, 10.0)
    third = ctl.decide(obs, {})
    assert third.action == Action.type_text("bob") and third.controller == "mllm"
    prompts = [r.messages for r in model.requests_for("act")]
    first_prompt = prompts[0][0].text
    assert first_prompt == ('Act: Click Submit\ne1 button "OK"\ne2 button "Submit"\n'
                            'actions: type "bob", wait, done')
    assert all(not m.images for p in prompts for m in p)  # the state is in words: no picture
    # the actions taken so far are shown in words, the model's and the rules' alike
    assert prompts[-1][0].text.splitlines()[-2] == \
        'done: click button "Submit"; click button "OK"'


def test_a_model_not_trained_on_compact_prompts_gets_the_full_prompt() -> None:
    obs = Observation(np.zeros((20, 60, 3), np.uint8), "")
    ctl, model = _controller(['{"action":"click e1"}'], compact_prompts=False)
    ctl.decide(obs, {})
    text = model.requests_for("act")[0].text
    assert "Act:" not in text and "a long description" in text and "click e2" in text


_BROWSER = shutil.which("chromium") is not None and shutil.which("chromedriver") is not None
PAGE = """<!doctype html><html><body style="font-family:sans-serif;margin:20px">
<div>Username</div><input style="width:200px"><br><br>
<button onclick="document.title='hi '+document.querySelector('input').value">Login</button>
<button>Cancel</button></body></html>"""


@pytest.mark.slow
@pytest.mark.skipif(not _BROWSER, reason="chromium/chromedriver not installed")
def test_compact_model_drives_a_page_and_rules_choices_name_candidates(tmp_path: Path) -> None:
    from lavr.episodes.gui.browser import PageEnv
    from lavr.episodes.gui.model_rules import GuiRules
    from lavr.episodes.loop import run_episode

    def reply(messages) -> str:  # reads only the compact prompt's lines
        text = messages[-1].text
        if "done:" not in text:
            return compact.act_reply("click " + re.search(r"^(e\d+) input$", text, re.M)[1])
        if "type" not in text.split("done:")[1].split("\n")[0]:
            return compact.act_reply(re.search(r'^actions: (type "[^"]+")', text, re.M)[1])
        if "Login" not in text.split("done:")[1].split("\n")[0]:
            return compact.act_reply("click " + re.search(r'^(e\d+) button "Login"', text,
                                                          re.M)[1])
        return compact.act_reply("done")

    model = ScriptedModel([reply], repeat_last=True, name="mllm")
    model.compact_prompts = True
    rules = GuiRules()
    ctl = ModelController(model, rules, actions=GUI_MODEL_ACTIONS, retries=1)
    page = tmp_path / "p.html"
    page.write_text(PAGE)
    instruction = 'Enter "alice" into the username field and press Login'
    with PageEnv(page.resolve().as_uri(), instruction) as env:
        ep = run_episode(env, ctl, max_steps=6, keep_images=False)
        title = env._driver.title
    assert [s.action.kind for s in ep.steps] == ["click", "type", "click", "done"], ep.to_json()
    assert all(s.controller == "mllm" for s in ep.steps)
    assert title == "hi alice"
    # the rules' own actions name the candidates the model would have to choose
    assert rules.name_of(Action.type_text("alice")) == 'type "alice"'
    assert rules.name_of(Action("wait")) == "wait"
    assert rules.name_of(Action("key", key="<Enter>")) is None
    state, names = rules.compact_state()
    login = re.search(r'^e(\d+) button "Login"', state, re.M)
    assert login and names == ['type "alice"']
    x, y = rules.candidate_actions()[f"click e{login[1]}"].x, \
        rules.candidate_actions()[f"click e{login[1]}"].y
    assert rules.name_of(Action.click(x, y)) == f"click e{login[1]}"
    assert rules.describe_action(Action.click(x, y)) == 'click button "Login"'
    assert rules.name_of(Action.click(-5, -5)) is None
