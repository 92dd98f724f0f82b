"""``lavr gui`` / ``lavr embodied`` command lines."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from lavr.apps.cli import main
from lavr.core_model.errors import InputError
from lavr.episodes.gui.browser import BrowserUnavailableError, check_url, chromium_paths

try:
    chromium_paths()
    _BROWSER = True
except BrowserUnavailableError:
    _BROWSER = False

PAGE = """<!doctype html><html><body style="font-family:sans-serif;margin:20px">
<div>Username</div><input style="width:200px"><br><br>
<button onclick="document.title='hi '+document.querySelector('input').value">Login</button>
<button>Cancel</button></body></html>"""


def test_check_url_keeps_to_local_pages(tmp_path: Path) -> None:
    page = tmp_path / "p.html"
    page.write_text(PAGE)
    assert check_url(str(page)).startswith("file://")
    assert check_url("http://127.0.0.1:8000/x") == "http://127.0.0.1:8000/x"
    with pytest.raises(InputError, match="allow-remote"):
        check_url("https://example.com/")
    assert check_url("https://example.com/", allow_remote=True) == "https://example.com/"
    with pytest.raises(InputError, match="no such file"):
        check_url(str(tmp_path / "missing.html"))


def test_url_refuses_remote_without_opt_in(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["gui", "url", "https://example.com/", 'Click "OK"']) == 2
    assert "allow-remote" in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.skipif(not _BROWSER, reason="chromium/chromedriver not installed")
def test_url_follows_instruction_on_local_page(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    page = tmp_path / "p.html"
    page.write_text(PAGE)
    code = main(["gui", "url", str(page), 'Enter "alice" into the username field and press Login',
                 "--json", "--trace-dir", str(tmp_path / "trace"),
                 "--save-html", str(tmp_path / "report.html")])
    out = json.loads(capsys.readouterr().out)
    assert code == 0, out
    assert out["completed"] is True
    assert [s["action"]["kind"] for s in out["trace"]] == ["click", "type", "click", "done"]
    assert (tmp_path / "trace" / "step_01.png").is_file()
    assert (tmp_path / "report.html").read_text().count("data:image/png;base64,") == 4


def test_embodied_babyai_json(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("minigrid")
    assert main(["embodied", "babyai", "--level", "BabyAI-GoToObj-v0", "--episodes", "2",
                 "--seed", "3", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)  # stdout is the JSON object only
    level = data["levels"][0]
    assert data["view"] == "partial" and data["controller"] == "rules"
    assert level["episodes"] == 2 and level["success_rate"] == 1.0 and level["mean_steps"] > 0
    step = level["runs"][0]["trace"][0]
    assert step["percepts"][0]["tool"] == "grid_cells" and step["controller"] == "rules"


def test_embodied_babyai_html_reports(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("minigrid")
    assert main(["embodied", "babyai", "--level", "BabyAI-GoToRedBall-v0", "--episodes", "1",
                 "--seed", "5", "--save-html", str(tmp_path)]) == 0
    page = (tmp_path / "BabyAI-GoToRedBall-v0-5.html").read_text()
    assert "data:image/png;base64," in page and "grid_cells" in page and "success" in page


def test_embodied_unknown_level_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("minigrid")
    assert main(["embodied", "babyai", "--level", "BabyAI-NoSuchLevel-v0", "--episodes", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert "unknown environment" in err and "Traceback" not in err and len(err.splitlines()) == 1


def test_unknown_task_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("miniwob")
    assert main(["gui", "miniwob", "--task", "no-such-task", "--episodes", "1"]) == 2
    assert "unknown MiniWoB++ task" in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.skipif(not _BROWSER, reason="chromium/chromedriver not installed")
def test_miniwob_html_report_per_episode(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("miniwob")
    # evaluate_task warms the experts before the first (timed) episode
    assert main(["gui", "miniwob", "--task", "click-test", "--episodes", "2", "--seed", "4",
                 "--save-html", str(tmp_path), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)  # stdout stays the JSON object only
    assert data["tasks"][0]["episodes"] == 2 and data["controller"] == "rules"
    runs = data["tasks"][0]["runs"]  # every episode's trace, as lavr embodied babyai --json
    assert len(runs) == 2 and all(r["trace"] for r in runs)
    first = runs[0]["trace"][0]
    assert first["controller"] == "rules" and first["percepts"][0]["tool"] == "screen_elements"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["click-test-4.html", "click-test-5.html"]
    page = (tmp_path / "click-test-4.html").read_text()
    # one inlined picture per step, the perception tool and the outcome on the page
    assert page.count("data:image/png;base64,") >= 1
    assert "screen_elements" in page and "click-test, seed 4" in page


def _pick(kind: str, text: str = ""):
    """A scripted model's reply: click the first described element of ``kind`` (and text)."""
    import re

    def reply(messages) -> str:
        prompt = " ".join(getattr(p, "text", "") for m in messages for p in m.parts)
        for name, k, label in re.findall(r"- (e\d+): (\w+)( \"[^\"]*\")?", prompt):
            if k == kind and text.lower() in label.lower():
                return json.dumps({"action": f"click {name}", "reason": f"the {kind}"})
        return json.dumps({"action": "wait"})
    return reply


@pytest.mark.slow
@pytest.mark.skipif(not _BROWSER, reason="chromium/chromedriver not installed")
def test_model_controller_on_a_page_takes_valid_choices_and_falls_back(tmp_path: Path) -> None:
    from lavr.core_model.scripted import ScriptedModel
    from lavr.episodes.controller import ModelController
    from lavr.episodes.gui.browser import PageEnv
    from lavr.episodes.gui.model_rules import GUI_MODEL_ACTIONS, GuiRules
    from lavr.episodes.loop import run_episode

    page = tmp_path / "p.html"
    page.write_text(PAGE)
    instruction = 'Enter "alice" into the username field and press Login'
    # the model clicks the field, types a quoted text, then names an element that is not
    # there (twice: re-asked once) -> the rules' click on Login; then it says done
    model = ScriptedModel([_pick("input"), json.dumps({"action": 'type "alice"'}),
                           json.dumps({"action": "click e99"}), json.dumps({"action": "click e99"}),
                           json.dumps({"action": "done", "reason": "logged in"})])
    ctl = ModelController(model, GuiRules(), actions=GUI_MODEL_ACTIONS, retries=1)
    with PageEnv(page.resolve().as_uri(), instruction) as env:
        ep = run_episode(env, ctl, max_steps=6, keep_images=True)
        title = env._driver.title
    steps = ep.steps
    assert [s.action.kind for s in steps] == ["click", "type", "click", "done"], ep.to_json()
    assert steps[0].controller == "scripted" and "click e" in steps[0].summary
    assert steps[1].controller == "scripted" and steps[1].action.text == "alice"
    assert steps[2].controller.startswith("rules (fallback:") and "not allowed" in \
        steps[2].controller and len(steps[2].attempts) == 2
    assert steps[3].controller == "scripted"
    assert title == "hi alice"  # the model's click and typing and the rules' click all landed
    # the model was told the state and the candidates in words
    prompt = " ".join(getattr(p, "text", "") for m in model.requests_for("act")[0].messages
                      for p in m.parts)
    assert "e1:" in prompt and 'type "alice"' in prompt and "click e1" in prompt
    report = ep.to_json()
    assert [s["controller"] for s in report["trace"]][:2] == ["scripted", "scripted"]


@pytest.mark.parametrize(("argv", "message"), [
    (["--tasks", " , "], "--tasks names no task"),
    (["--tasks", "evaluation"], "the task set 'evaluation' is empty"),  # all developed now
    (["--task", "click-test", "--save-html", "{file}"], "is a file, not a folder"),
    (["--task", "click-test", "--save-html", "/proc/lavr-no-such/x"], "cannot create"),
])
def test_miniwob_bad_options_end_in_one_line_before_any_episode(argv, message, tmp_path, capsys):
    a_file = tmp_path / "f.txt"
    a_file.write_text("x")
    argv = [a.replace("{file}", str(a_file)) for a in argv]
    assert main(["gui", "miniwob", *argv, "--episodes", "1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err


DRAG_PAGE = """<!doctype html><html><body style="margin:0">
<div id="pad" style="width:300px;height:200px;background:#eee"></div><script>
var log = [];
var pad = document.getElementById('pad');
pad.addEventListener('mousedown', e => log.push('down ' + e.clientX + ',' + e.clientY));
document.addEventListener('mousemove', e => { if (e.buttons) log.push('move'); });
document.addEventListener('mouseup', e => {
  log.push('up ' + e.clientX + ',' + e.clientY);
  document.title = log.filter(s => s !== 'move').join(' | ') + ' | moves ' +
    log.filter(s => s === 'move').length; });
</script></body></html>"""


@pytest.mark.skipif(not _BROWSER, reason="chromium/chromedriver not installed")
def test_page_env_drags_press_moves_release(tmp_path: Path) -> None:
    from lavr.episodes.gui.browser import DRAG_STEP_PX, DRAG_STEPS, PageEnv
    from lavr.episodes.loop import Action

    page = tmp_path / "drag.html"
    page.write_text(DRAG_PAGE)
    titles = []
    with PageEnv(page.resolve().as_uri(), "drag") as env:
        for x2, y2 in ((220, 130), (30, 30)):
            env.reset()
            env.step(Action.drag(20, 30, x2, y2))
            titles.append(env._driver.title)
    # pressed at the start, moved with the button held in steps of at most DRAG_STEP_PX (and
    # at least DRAG_STEPS of them), released at the end
    long_moves = math.ceil(math.hypot(200, 100) / DRAG_STEP_PX)
    assert long_moves > DRAG_STEPS
    assert titles[0] == f"down 20,30 | up 220,130 | moves {long_moves}", titles[0]
    assert titles[1] == f"down 20,30 | up 30,30 | moves {DRAG_STEPS}", titles[1]
    with PageEnv(page.resolve().as_uri(), "drag") as env:  # through a point: across, then down
        env.reset()
        env.step(Action.drag(20, 30, 100, 150, via=((100, 30),)))
        bent = env._driver.title
    assert bent == f"down 20,30 | up 100,150 | moves {80 // 8 + 120 // 8}", bent


COPY_PAGE = """<!doctype html><html><body style="margin:0">
<textarea id="a" style="position:absolute;left:10px;top:10px;width:200px;height:60px">one two
three</textarea>
<input id="b" style="position:absolute;left:10px;top:100px;width:200px">
<p id="p" style="position:absolute;left:10px;top:140px;margin:0;font:16px sans-serif">Lorem ipsum</p>
</body></html>"""


@pytest.mark.skipif(not _BROWSER, reason="chromium/chromedriver not installed")
def test_page_env_key_chords_copy_paste_and_a_drag_selects(tmp_path: Path) -> None:
    from lavr.episodes.gui.browser import PageEnv
    from lavr.episodes.loop import Action

    page = tmp_path / "copy.html"
    page.write_text(COPY_PAGE)
    with PageEnv(page.resolve().as_uri(), "copy") as env:
        env.reset()
        for action in (Action.click(100, 40), Action.press("C-a"), Action.press("C-c"),
                       Action.click(100, 110), Action.press("C-v")):
            env.step(action)
        pasted = env._driver.execute_script("return document.getElementById('b').value")
        env.step(Action.drag(11, 150, 113, 150))  # from the first glyph to just past the last
        selected = env._driver.execute_script("return window.getSelection().toString()")
    assert pasted == "one two\nthree".replace("\n", "") or pasted == "one two three", pasted
    assert selected.strip() == "Lorem ipsum", selected


RANGE_PAGE = """<!doctype html><html><body style="font-family:sans-serif;margin:20px">
<div>Volume</div>
<input id="r" type="range" min="0" max="50" value="12" style="width:200px"
 oninput="document.getElementById('v').textContent=this.value">
<span id="v" style="font-size:16px">12</span><br><br>
<button onclick="document.title='sent '+document.getElementById('r').value">Send</button>
</body></html>"""


@pytest.mark.skipif(not _BROWSER, reason="chromium/chromedriver not installed")
def test_url_sets_a_native_range_slider(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    page = tmp_path / "range.html"
    page.write_text(RANGE_PAGE)
    code = main(["gui", "url", str(page), "Set the slider to 30 and press Send", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["completed"] is True, out
    steps = out["trace"]
    # its handle focused, the arrows pressed by the difference, the value read, then Send
    assert [s["action"]["kind"] for s in steps] == ["click", "key", "click", "done"], steps
    assert steps[1]["action"] == {"kind": "key", "key": "<ArrowRight>", "amount": 18}
    assert "shows 30" in steps[2]["summary"] and "Send" in steps[2]["summary"]


def test_a_task_that_cannot_run_loses_no_other_task(monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    """A task whose page or browser fails is named on one line of stderr; the other tasks'
    results are still printed, and the exit code says so."""
    pytest.importorskip("miniwob")
    from lavr.episodes.gui import evaluate
    from lavr.episodes.loop import Episode, TaskResult

    def fake(task: str, **kwargs) -> TaskResult:
        if task == "click-test-2":
            raise KeyError(f"{task} does not have a field extractor.")
        return TaskResult(task=task, seed=kwargs["seed"],
                          episodes=[Episode("", reward=1.0, success=True, ended_by="done")])

    monkeypatch.setattr(evaluate, "evaluate_task", fake)
    code = main(["gui", "miniwob", "--tasks", "click-test,click-test-2,click-button",
                 "--episodes", "1", "--json"])
    captured = capsys.readouterr()
    assert code == 1
    data = json.loads(captured.out)
    assert [t["task"] for t in data["tasks"]] == ["click-test", "click-button"]
    assert data["mean_success_rate"] == 1.0
    assert data["failed_tasks"] == [{"task": "click-test-2", "error":
                                     "KeyError: 'click-test-2 does not have a field extractor.'"}]
    assert "click-test-2: could not run: KeyError" in captured.err
    assert "Traceback" not in captured.err
