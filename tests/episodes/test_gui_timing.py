"""Time on a page and colour fields: a stated pause timed from the action before it, the
pointer kept on a moving figure, a colour field set by its hex code (pure: drawn images, a
reader that knows what was drawn where, a fake clock; no browser)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from lavr.episodes.gui import agent as agent_mod
from lavr.episodes.gui import swatches
from lavr.episodes.gui.agent import GuiAgent
from lavr.episodes.gui.instruction import parse_instruction
from lavr.episodes.gui.timing import Pacer, follow_phrase, pause_seconds
from lavr.episodes.loop import Observation

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


class _Reader:
    """Reads a box as the text drawn nearest to it."""

    def __init__(self, drawn: list[tuple[tuple[int, int, int, int], str]]) -> None:
        self.drawn = drawn

    def read(self, image: np.ndarray, boxes: list, *, pad: int = 2) -> list[tuple[str, float]]:
        out = []
        for b in boxes:
            cx, cy = (b[0] + b[2]) / 2, (b[1] + b[3]) / 2
            _, text = min(self.drawn, key=lambda d: abs((d[0][0] + d[0][2]) / 2 - cx)
                          + abs((d[0][1] + d[0][3]) / 2 - cy))
            out.append((text, 0.9))
        return out


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


# -- the grammar -------------------------------------------------------------------------
@pytest.mark.parametrize(("obj", "seconds"), [
    ("1 seconds", 1.0), ("for two seconds", 2.0), ("a second", 1.0), ("half a second", 0.5),
    ("500 ms", 0.5), ("3 secs", 3.0),
])
def test_a_pause_of_a_stated_length(obj: str, seconds: float) -> None:
    assert pause_seconds("wait", obj) == pytest.approx(seconds)


def test_no_pause_without_a_duration_or_a_pause_verb() -> None:
    assert pause_seconds("wait", "until the button appears") is None
    assert pause_seconds("click", "2 seconds") is None


def test_a_click_a_pause_and_a_click_in_one_sentence() -> None:
    plan = parse_instruction("Click button ONE, wait 3 seconds, then click button TWO.")
    assert [(i.op, i.target, i.seconds) for i in plan.intents] == [
        ("click", "ONE", 0.0), ("wait", "", 3.0), ("click", "TWO", 0.0)]


@pytest.mark.parametrize(("verb", "obj", "found"), [
    ("keep", "your mouse inside the circle as it moves around", ("the circle", False)),
    ("Keep", "the mouse hovered over the colored square", ("the square", True)),
    ("keep", "the pointer on the red dot", ("the red dot", False)),
    ("keep", "the form open", None),
    ("click", "the mouse over the circle", None),
])
def test_the_pointer_kept_on_a_figure(verb: str, obj: str, found: tuple[str, bool] | None) -> None:
    assert follow_phrase(verb, obj) == found


def test_following_plans_name_the_figure() -> None:
    (chase,) = parse_instruction("Keep your mouse inside the circle as it moves around.").intents
    assert chase.op == "follow" and chase.figure == ("", "", "circle")
    (hover,) = parse_instruction("Keep the mouse hovered over the colored square.").intents
    assert hover.op == "follow" and hover.figure == ("", "coloured", "rectangle")


@pytest.mark.parametrize(("text", "colour"), [
    ("Select aqua with the color picker and hit Submit.", "aqua"),
    ("Select pink ith the color picker and hit Submit:", "pink"),  # OCR lost the w
    ("Select the following color lime with the color picker and hit Submit.", "lime"),
])
def test_a_colour_chosen_with_a_picker(text: str, colour: str) -> None:
    first, submit = parse_instruction(text).intents
    assert first.op == "colour" and first.colour == colour
    assert submit.op == "click" and submit.target == "Submit"


def test_other_colour_sentences_are_no_picker() -> None:
    ops = [i.op for i in parse_instruction("Click on the blue coloured box.").intents]
    assert "colour" not in ops


# -- the pause, timed ---------------------------------------------------------------------
def test_the_pacer_times_the_pause_from_the_action_before_it() -> None:
    clock = _Clock()
    pacer = Pacer(clock)
    pacer.sent("click")  # t = 100.0
    clock.now += 0.4  # the step after the click took 0.4 s
    pacer.asked()
    pacer.start(3.0)  # deadline 103.0
    ms = pacer.wait_ms()
    assert 1000 < ms <= 2000  # a long wait first, but it leaves time for more steps
    pacer.sent("wait", ms)
    clock.now += ms / 1000 + 0.4
    pacer.asked()
    left = pacer.wait_ms()
    assert left < 1000
    if left:
        pacer.sent("wait", left)
        clock.now += left / 1000 + 0.4
        pacer.asked()
        assert pacer.wait_ms() == 0
    hold = pacer.hold()
    assert clock.now + hold == pytest.approx(103.0)
    assert pacer.hold() == 0.0  # the deadline is spent


def test_a_pause_already_over_holds_nothing() -> None:
    clock = _Clock()
    pacer = Pacer(clock)
    pacer.sent("click")
    clock.now += 1.5
    pacer.asked()
    pacer.start(1.0)
    assert pacer.wait_ms() == 0 and pacer.hold() == 0.0


def _buttons_page() -> tuple[np.ndarray, list[tuple[tuple[int, int, int, int], str]]]:
    im = Image.new("RGB", (160, 210), (255, 255, 255))
    draw = ImageDraw.Draw(im)
    draw.rectangle((0, 0, 159, 49), fill=(255, 255, 0))
    drawn = []
    for (x, y), label in (((20, 80), "ONE"), ((90, 150), "TWO")):
        draw.rectangle((x, y, x + 40, y + 24), fill=(220, 220, 220), outline=(120, 120, 120))
        if Path(FONT).is_file():
            font = ImageFont.truetype(FONT, 11)
            draw.text((x + 8, y + 6), label, font=font, fill=(0, 0, 0))
        else:
            draw.rectangle((x + 10, y + 9, x + 30, y + 15), fill=(0, 0, 0))
        drawn.append(((x + 8, y + 6, x + 32, y + 18), label))
    return np.asarray(im), drawn


def test_the_agent_pauses_between_the_clicks_and_holds_the_second(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = _Clock()
    slept: list[float] = []

    def sleep(s: float) -> None:
        slept.append(s)
        clock.now += s

    monkeypatch.setattr(agent_mod.time, "sleep", sleep)
    text = "Click button ONE, wait 2 seconds, then click button TWO."
    image, drawn = _buttons_page()
    agent = GuiAgent(text_reader=_Reader(drawn), semantic=False)  # type: ignore[arg-type]
    agent.reset(text)
    agent._pacer = Pacer(clock)
    first = agent.decide(Observation(image, text))
    assert first.action.kind == "click" and first.action.x < 80
    clicked_at = clock.now
    actions = []
    for _ in range(6):
        clock.now += 0.3  # each step outside the agent
        step = agent.decide(Observation(image, text))
        actions.append(step.action)
        if step.action.kind == "wait":
            clock.now += step.action.amount / 1000
        else:
            break
    last = actions[-1]
    assert last.kind == "click" and last.x > 80  # button TWO ...
    assert clock.now - clicked_at == pytest.approx(2.0)  # ... exactly 2 s after ONE
    assert all(a.kind == "wait" and a.amount > 0 for a in actions[:-1])


# -- the pointer kept on a figure ------------------------------------------------------------
def _disc_page(cx: float, cy: float, *, r: int = 20) -> np.ndarray:
    img = np.full((210, 160, 3), 255, np.uint8)
    img[:50] = (255, 255, 0)
    yy, xx = np.mgrid[:210, :160]
    img[((xx - cx) ** 2 + (yy - cy) ** 2 <= r * r) & (yy >= 50)] = 0
    return img


def test_the_pointer_follows_a_moving_circle_and_rests_on_it() -> None:
    text = "Keep your mouse inside the circle as it moves around."
    agent = GuiAgent(text_reader=_Reader([((0, 0, 1, 1), "")]), semantic=False)  # type: ignore[arg-type]
    agent.reset(text)
    step = agent.decide(Observation(_disc_page(60, 120), text))
    assert step.action.kind == "move" and abs(step.action.x - 60) <= 3 and abs(step.action.y - 120) <= 3
    step = agent.decide(Observation(_disc_page(62, 121), text))
    assert step.action.kind == "wait"  # still on it
    step = agent.decide(Observation(_disc_page(110, 160), text))  # it moved away
    assert step.action.kind == "move" and abs(step.action.x - 110) <= 15 and abs(step.action.y - 160) <= 15
    assert step.action.x >= 110 - 1  # aimed where it is going, not behind it


def test_the_coloured_square_is_followed_among_grey_ones() -> None:
    img = np.full((210, 160, 3), 255, np.uint8)
    img[:50] = (255, 255, 0)
    for x, y in ((20, 70), (90, 80), (40, 150)):
        img[y:y + 20, x:x + 20] = (60, 60, 60)
    img[140:160, 110:130] = (0, 160, 0)
    text = "Keep the mouse hovered over the colored square."
    agent = GuiAgent(text_reader=_Reader([((0, 0, 1, 1), "")]), semantic=False)  # type: ignore[arg-type]
    agent.reset(text)
    step = agent.decide(Observation(img, text))
    assert step.action.kind == "move" and 110 <= step.action.x <= 130 and 140 <= step.action.y <= 160


# -- a colour field ------------------------------------------------------------------------------
def _colour_field_page(fill: tuple[int, int, int], code: str) -> tuple[
        np.ndarray, list[tuple[tuple[int, int, int, int], str]]]:
    im = Image.new("RGB", (160, 210), (255, 255, 255))
    draw = ImageDraw.Draw(im)
    draw.rectangle((0, 0, 159, 49), fill=(255, 255, 0))
    draw.rectangle((10, 75, 90, 95), fill=fill)
    draw.rectangle((14, 80, 60, 90), fill=(255, 255, 255))  # the code's ink, white on the colour
    draw.rectangle((100, 75, 150, 97), fill=(230, 230, 230), outline=(150, 150, 150))
    draw.rectangle((108, 82, 140, 90), fill=(0, 0, 0))  # "Submit"
    return np.asarray(im), [((14, 80, 60, 90), code), ((108, 82, 140, 90), "Submit")]


def test_hex_codes_read_from_a_field() -> None:
    assert swatches.hex_code("AB2S67") == "ab2567"
    assert swatches.hex_code("#00ff7F") == "00ff7f"
    assert swatches.hex_code("Submit") == ""
    assert swatches.hex_code("(0198E3") == "0198e3"  # the field's edge read as a bracket
    assert swatches.hex_code("|0198E3") == "0198e3"  # ... or its text cursor as a bar
    assert swatches.rgb_hex((171, 37, 103)) == "ab2567"


def test_a_colour_field_is_set_by_typing_the_colour_over_its_code() -> None:
    image, drawn = _colour_field_page((171, 37, 103), "AB2567")
    patches = swatches.text_patches(image, exclude=[(0, 0, 160, 50)])
    assert any(p.rgb == (171, 37, 103) for p in patches)
    text = "Select aqua with the color picker and hit Submit."
    agent = GuiAgent(text_reader=_Reader(drawn), semantic=False)  # type: ignore[arg-type]
    agent.reset(text)
    step = agent.decide(Observation(image, text))
    assert step.action.kind == "click" and 10 <= step.action.x <= 90 and 75 <= step.action.y <= 95
    assert [a.describe() for a in agent.pending] == ["key('C-a')", "type('00FFFF')"]


# -- a sequence shown, then repeated -----------------------------------------------------------
_PADS = [((20, 60, 70, 110), (66, 134, 244), (147, 222, 255)),
         ((80, 60, 130, 110), (244, 66, 66), (255, 160, 160)),
         ((20, 120, 70, 170), (66, 244, 125), (188, 255, 160)),
         ((80, 120, 130, 170), (231, 242, 21), (250, 255, 170))]


def _pads(lit: int | None) -> np.ndarray:
    img = np.full((210, 160, 3), 255, np.uint8)
    img[:50] = (255, 255, 0)
    for i, (box, rest, light) in enumerate(_PADS):
        x1, y1, x2, y2 = box
        img[y1:y2, x1:x2] = light if i == lit else rest
    return img


def test_the_buttons_are_pressed_in_the_order_they_lit_up() -> None:
    text = "Push the buttons in the order displayed."
    agent = GuiAgent(text_reader=_Reader([((0, 0, 1, 1), "")]), semantic=False)  # type: ignore[arg-type]
    agent.reset(text)
    step = agent.decide(Observation(_pads(None), text))
    assert step.action.kind == "watch" and step.action.amount > 2000  # one long look
    # rest, 2 lit, rest, 0 lit, 0 lit (the same flash seen twice), rest, 0 lit again, rest
    seen = tuple(_pads(lit) for lit in (None, 2, None, 0, 0, None, 0, None))
    step = agent.decide(Observation(_pads(None), text, frames=seen))
    assert step.action.kind == "watch"  # something happened in that look: look again
    step = agent.decide(Observation(_pads(None), text, frames=(_pads(None),) * 3))
    clicks = [step.action, *agent.pending]
    assert [a.kind for a in clicks] == ["click"] * 3
    centres = [((b[0] + b[2]) / 2, (b[1] + b[3]) / 2) for b, _, _ in _PADS]
    assert [min(range(4), key=lambda i: abs(centres[i][0] - a.x) + abs(centres[i][1] - a.y))
            for a in clicks] == [2, 0, 0]


def test_a_look_at_the_page_is_one_action() -> None:
    from lavr.episodes.loop import Action

    look = Action.watch(800)
    assert look.kind == "watch" and look.describe() == "watch(800 ms)"


def test_a_pointer_move_may_rest_before_the_screen_is_seen() -> None:
    from lavr.episodes.loop import Action

    rest = Action.hover(10, 20, pause_ms=300)
    assert rest.kind == "move" and rest.amount == 300 and rest.to_json()["amount"] == 300
    assert Action.hover(10, 20).amount == 0


# -- on a local page in Chromium ---------------------------------------------------------------
FLASH_PAGE = """<!doctype html><html><body style="margin:20px">
<style>button{width:50px;height:50px;border:0;margin:3px}</style>
<button id="b1" style="background:#4286f4"></button><button id="b2" style="background:#f44242"></button><br>
<button id="b3" style="background:#42f47d"></button><button id="b4" style="background:#e7f215"></button>
<script>
var light = {b1: '#93deff', b2: '#ffa0a0', b3: '#bcffa0', b4: '#faffaa'};
var seq = ['b3', 'b1', 'b3', 'b4'], pushed = [];
seq.forEach(function(id, i) { setTimeout(function() {
  var b = document.getElementById(id), rest = b.style.background;
  b.style.background = light[id];
  setTimeout(function() { b.style.background = rest; }, 250); }, 600 * (i + 1)); });
document.querySelectorAll('button').forEach(function(b) { b.onclick = function() {
  pushed.push(b.id); document.title = pushed.join(','); }; });
</script></body></html>"""

PAUSE_PAGE = """<!doctype html><html><body style="margin:20px;font-family:sans-serif">
<button id="one" style="font-size:16px">ONE</button><br><br><br>
<button id="two" style="font-size:16px;margin-left:60px">TWO</button>
<script>
var t0 = null;
document.getElementById('one').onclick = function() { t0 = Date.now(); };
document.getElementById('two').onclick = function() { document.title = 'gap ' + (Date.now() - t0); };
</script></body></html>"""


def _browser() -> bool:
    from lavr.episodes.gui.browser import BrowserUnavailableError, chromium_paths

    try:
        chromium_paths()
    except BrowserUnavailableError:
        return False
    return True


@pytest.mark.slow
def test_a_page_that_flashes_its_buttons_is_watched_and_replayed(tmp_path: Path) -> None:
    if not _browser():
        pytest.skip("chromium/chromedriver not installed")
    from lavr.episodes.gui.browser import PageEnv
    from lavr.episodes.loop import run_episode

    page = tmp_path / "flash.html"
    page.write_text(FLASH_PAGE)
    text = "Push the buttons in the order displayed."
    agent = GuiAgent(semantic=False)
    with PageEnv(page.resolve().as_uri(), text, settle_s=0.05) as env:
        run_episode(env, agent, max_steps=12)
        title = env._driver.title
    assert title == "b3,b1,b3,b4", title


@pytest.mark.slow
def test_a_stated_pause_between_two_clicks_on_a_page(tmp_path: Path) -> None:
    if not _browser():
        pytest.skip("chromium/chromedriver not installed")
    from lavr.episodes.gui.browser import PageEnv
    from lavr.episodes.loop import run_episode

    page = tmp_path / "pause.html"
    page.write_text(PAUSE_PAGE)
    text = 'Click the button "ONE", wait 2 seconds, then click the button "TWO".'
    with PageEnv(page.resolve().as_uri(), text) as env:
        run_episode(env, GuiAgent(semantic=False), max_steps=10)
        title = env._driver.title
    assert title.startswith("gap "), title
    assert abs(int(title.split()[1]) - 2000) <= 250, title


def test_a_colour_word_misread_or_missing_still_makes_a_picker_request() -> None:
    (intent, _) = parse_instruction("Select nawy with the color picker and hit Submit.").intents
    assert intent.op == "colour" and intent.colour == "navy"
    (intent, _) = parse_instruction("Select the following color with the color picker and "
                                    "hit Submit.").intents
    assert intent.op == "colour" and intent.colour == ""  # the swatch shown says which


def test_a_button_another_step_names_is_not_taken_for_a_hidden_label() -> None:
    """Button ONE half covered by button TWO (its label unreadable): ONE is the button whose
    label is hidden, not "the only button" (TWO is the next step's), and it is clicked, not
    opened like a section."""
    im = Image.new("RGB", (160, 210), (255, 255, 255))
    draw = ImageDraw.Draw(im)
    draw.rectangle((0, 0, 159, 49), fill=(255, 255, 0))
    draw.rectangle((40, 120, 80, 160), fill=(220, 220, 220), outline=(120, 120, 120))  # ONE
    draw.rectangle((60, 90, 100, 130), fill=(220, 220, 220), outline=(120, 120, 120))  # TWO
    if not Path(FONT).is_file():
        pytest.skip(f"{FONT} not installed")
    draw.text((68, 104), "TWO", font=ImageFont.truetype(FONT, 11), fill=(0, 0, 0))
    image = np.asarray(im)
    text = "Click button ONE, wait 1 seconds, then click button TWO."
    agent = GuiAgent(text_reader=_Reader([((68, 104, 92, 116), "TWO")]), semantic=False)  # type: ignore[arg-type]
    agent.reset(text)
    step = agent.decide(Observation(image, text))
    assert step.action.kind == "click"
    assert step.action.y > 131 or step.action.x < 59  # on ONE's uncovered part
    assert "ONE" in step.summary and "open" not in step.summary


def test_the_picker_is_closed_with_a_click_on_nothing_before_the_submit() -> None:
    image, drawn = _colour_field_page((171, 37, 103), "AB2567")
    text = "Select aqua with the color picker and hit Submit."
    agent = GuiAgent(text_reader=_Reader(drawn), semantic=False)  # type: ignore[arg-type]
    agent.reset(text)
    agent.decide(Observation(image, text))
    for _ in agent.pending:
        agent.decide(Observation(image, text))
    step = agent.decide(Observation(image, text))
    x, y = int(step.action.x), int(step.action.y)
    assert step.action.kind == "click" and y > 50
    assert (image[max(0, y - 4):y + 5, max(0, x - 4):x + 5] == 255).all()  # on nothing


def test_a_weak_match_among_buttons_alike_is_clicked_not_opened() -> None:
    """Two buttons of one look (as section headers are), the target's label read with noise
    ("ONEI Ch" for ONE): the weakly matched button is the target, not a section to open
    before looking further (which opened the other button)."""
    if not Path(FONT).is_file():
        pytest.skip(f"{FONT} not installed")
    im = Image.new("RGB", (160, 210), (255, 255, 255))
    draw = ImageDraw.Draw(im)
    draw.rectangle((0, 0, 159, 49), fill=(255, 255, 0))
    font = ImageFont.truetype(FONT, 11)
    for (x, y), label in (((20, 110), "TWO"), ((90, 70), "ONE")):
        draw.rectangle((x, y, x + 40, y + 40), fill=(220, 220, 220), outline=(120, 120, 120))
        draw.text((x + 8, y + 14), label, font=font, fill=(0, 0, 0))
    image = np.asarray(im)
    drawn = [((28, 124, 52, 136), "TWe"), ((98, 84, 122, 96), "ONEI Ch")]
    text = "Click button ONE."
    agent = GuiAgent(text_reader=_Reader(drawn), semantic=False)  # type: ignore[arg-type]
    agent.reset(text)
    step = agent.decide(Observation(image, text))
    assert step.action.kind == "click" and step.action.x > 85 and "open" not in step.summary
