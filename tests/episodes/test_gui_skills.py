"""Structure, exploration and shape skills of the GUI agent (pure; no browser, no OCR model)."""

from __future__ import annotations

from collections import deque
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from lavr.episodes.gui import shapes, skills
from lavr.episodes.gui.agent import GuiAgent
from lavr.episodes.gui.instruction import Intent, parse_instruction
from lavr.episodes.gui.perception import ScreenElement, ScreenParse
from lavr.episodes.loop import Action, Observation

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


# -- grammar -----------------------------------------------------------------------------
@pytest.mark.parametrize(("text", "figure"), [
    ("Click on a large red circle", ("large", "red", "circle")),
    ("Click on a small item", ("small", "", "")),
    ("Click on a aqua item", ("", "aqua", "")),
    ("Click on a blue letter", ("", "blue", "letter")),
    ("Click on a digit", ("", "", "digit")),
    ("Click on a 7", ("", "", "7")),
    ("Press the big green square.", ("large", "green", "rectangle")),
])
def test_figure_phrases(text: str, figure: tuple[str, str, str]) -> None:
    (intent,) = parse_instruction(text).intents
    assert intent.kinds == ("figure",) and intent.figure == figure


def test_widgets_and_quoted_targets_are_not_figures() -> None:
    for text in ('Click on the "Q" button.', "Click the button.", "Click on the item"):
        assert all(i.figure is None for i in parse_instruction(text).intents), text


def test_describes_use_to_results_and_ocr_ordinals() -> None:
    (intent,) = parse_instruction("Click the button that best describes the figure below.").intents
    assert intent.describes == "figure" and intent.kinds == ("button",)
    plan = parse_instruction('Use the textbox to enter "Renda" and press "Search", then find '
                             'and click the Zth search result.')
    typed, search, result = plan.intents
    assert (typed.op, typed.text) == ("type", "Renda")
    assert search.target == "Search"
    assert result.kinds == ("link",) and result.index == 6 and not result.target


# -- skills on parsed elements ------------------------------------------------------------
def _button(x1: int, y1: int, x2: int, y2: int, text: str = "", fill=(246, 246, 246),
            icon: str = "") -> ScreenElement:
    return ScreenElement("button", (x1, y1, x2, y2), fill, text=text, icon=icon)


def test_tab_bar_and_the_open_tab() -> None:
    tabs = [_button(5, 60, 45, 80, "1", (0, 127, 255)), _button(47, 60, 87, 80, "2"),
            _button(89, 60, 129, 80, "3"), _button(5, 82, 45, 102, "4")]  # a wrapped second row
    lone = _button(10, 150, 60, 170, "Submit")
    bar = skills.tab_bar([*tabs, lone])
    assert [b.text for b in bar] == ["1", "2", "3"]  # the wrapped lone tab forms no run
    assert skills.active_tab(bar).text == "1"
    assert skills.tab_bar([lone, _button(10, 180, 60, 200, "Reset")]) == []  # a column is no bar


def test_dismiss_button_only_for_a_new_dialog_the_plan_does_not_want() -> None:
    ok, cancel = _button(30, 160, 60, 180, "OK"), _button(70, 160, 120, 180, "Cancel")
    assert skills.dismiss_button([ok, cancel], known={"ok"}, wanted={"login"}) is cancel
    assert skills.dismiss_button([ok, cancel], known={"ok", "cancel"}, wanted=set()) is None
    assert skills.dismiss_button([ok, cancel], known={"ok"}, wanted={"cancel"}) is None
    close = _button(130, 60, 145, 75, icon="close")
    assert skills.dismiss_button([ok, close], known={"ok"}, wanted=set()) is close


def test_pager_links_and_next() -> None:
    def link(x: int, y: int, text: str) -> ScreenElement:
        return ScreenElement("link", (x, y, x + 8, y + 10), (0, 0, 238), text=text)

    items = [link(5, 100, "Riley"), link(5, 130, "Tora"), link(5, 160, "Rex")]
    pager = [link(40, 195, "<"), link(55, 195, "I"), link(70, 195, "2"), link(85, 195, ">")]
    found = skills.pager_links(items + pager)
    assert found == pager  # "I" (a misread 1) sits on the pager's row
    assert skills.pager_next(found).text == ">"
    numbers = [link(40, 195, "1"), link(55, 195, "2"), link(70, 195, "3")]
    assert skills.pager_next(numbers).text == "2"
    assert skills.pager_next(numbers, page=2).text == "3"
    assert skills.pager_next([*numbers, link(85, 195, "?")], page=3).text == "?"  # misread >


# -- shapes ------------------------------------------------------------------------------
def _figures_screen() -> np.ndarray:
    if not Path(FONT).is_file():
        pytest.skip("DejaVu Sans not installed")
    img = Image.new("RGB", (160, 210), (255, 255, 255))
    d = ImageDraw.Draw(img)
    d.rectangle([0, 0, 159, 49], fill=(255, 255, 0))  # banner
    d.ellipse([10, 60, 29, 79], fill=(255, 0, 0))  # large red circle
    d.rectangle([50, 60, 59, 69], fill=(0, 0, 255))  # small blue square
    d.polygon([(90, 79), (100, 60), (110, 79)], fill=(0, 128, 0))  # large green triangle
    font = ImageFont.truetype(FONT, 20)
    d.text((10, 100), "7", font=font, fill=(0, 0, 0))  # large black digit
    d.text((60, 100), "k", font=font, fill=(255, 0, 255))  # large magenta letter
    d.text((110, 100), "R", font=ImageFont.truetype(FONT, 10), fill=(0, 255, 255))  # small
    return np.asarray(img)


def test_find_figures_names_shapes_glyphs_colours_and_sizes() -> None:
    figs = shapes.find_figures(_figures_screen(), top=50)
    got = {(f.kind, f.char) for f in figs}
    assert got == {("circle", ""), ("rectangle", ""), ("triangle", ""), ("digit", "7"),
                   ("letter", "k"), ("letter", "R")}, [f.describe() for f in figs]
    by = {f.kind if f.shape != "glyph" else f.char: f for f in figs}
    assert by["circle"].colour == "red" and by["circle"].size == "large"
    assert by["rectangle"].colour == "blue" and by["rectangle"].size == "small"
    assert by["triangle"].colour == "green"
    assert shapes.colour_matches("magenta", by["k"].colour)
    assert shapes.colour_matches("aqua", by["R"].colour) and by["R"].size == "small"
    assert shapes.matches(by["7"], "large", "black", "digit")
    assert not shapes.matches(by["7"], "", "", "letter")
    assert shapes.matches(by["circle"], "large", "", "")
    assert not shapes.matches(by["rectangle"], "large", "", "")


class _Reader:
    """A text reader that knows what is written where (no OCR model)."""

    def __init__(self, texts: dict[tuple[int, int], str]) -> None:
        self.texts = texts

    def read(self, image: np.ndarray, boxes, *, pad: int = 2):
        return [(self.texts.get((b[0], b[1]), ""), 0.99) for b in boxes]


def test_agent_clicks_the_figure_and_the_button_naming_it() -> None:
    img = _figures_screen()
    agent = GuiAgent(text_reader=_Reader({}), semantic=False)
    parse = ScreenParse(image=img, elements=[], banner=(0, 0, 160, 50))
    (intent,) = parse_instruction("Click on a small aqua letter").intents
    choice = agent.choose(intent, parse)
    assert choice is not None and 108 <= choice.element.click_point[0] <= 120
    (intent,) = parse_instruction("Click on a large green triangle").intents
    assert 90 <= agent.choose(intent, parse).element.click_point[0] <= 110
    # the button that best describes the (largest) figure: a circle
    canvas = img.copy()
    canvas[100:130] = 255  # keep only the shapes
    canvas[55:85, 40:160] = 255  # and only the circle
    buttons = [ScreenElement("button", (10, 150, 60, 165), text_boxes=((12, 152, 58, 163),)),
               ScreenElement("button", (70, 150, 120, 165), text_boxes=((72, 152, 118, 163),))]
    agent = GuiAgent(text_reader=_Reader({(12, 152): "Triangle", (72, 152): "Circle"}),
                     semantic=False)
    parse = ScreenParse(image=canvas, elements=buttons, banner=(0, 0, 160, 50))
    intent = Intent("click", kinds=("button",), describes="figure")
    assert agent.choose(intent, parse).element.box == (70, 150, 120, 165)


def test_agent_dismisses_a_dialog_that_appeared_and_redoes_the_interrupted_intent() -> None:
    first = np.full((210, 160, 3), 255, np.uint8)
    later = first.copy()
    later[100:110] = 0  # something changed: the dialog
    ok = ScreenElement("button", (10, 180, 40, 195), text="OK")
    agent = GuiAgent(text_reader=_Reader({}), semantic=False)
    agent.reset('Enter "bob" into the text field and press OK.')
    typing = agent.plan.intents[0]
    agent._first_parse = ScreenParse(image=first, elements=[ok])
    agent._parse_cache = None
    agent.perceive = lambda image: ScreenParse(  # type: ignore[method-assign]
        image=image, elements=[ok, ScreenElement("button", (60, 120, 110, 135), text="Cancel")])
    agent._intents.popleft()
    agent._last_intent = typing
    agent._pending = deque([Action.type_text("bob")])
    agent._check_dialog = True
    step = agent._decide(later, "")
    assert step.action.kind == "click" and step.point == (85.0, 127.5)
    assert "dismiss" in step.summary
    assert agent._intents[0] == typing and not agent._pending  # typed again after the dialog


def test_list_items_their_more_control_and_scope_phrases() -> None:
    img = Image.new("RGB", (160, 210), (255, 255, 255))
    d = ImageDraw.Draw(img)
    d.rectangle([0, 0, 159, 49], fill=(255, 255, 0))
    for y in (52, 114):  # two items with a 1-px border
        d.rectangle([4, y, 145, y + 61], outline=(225, 232, 237))
    d.rectangle([5, 115, 144, 174], fill=(245, 248, 250))  # the second one highlighted
    d.text((10, 60), "Carmella @abc", fill=(0, 0, 0))
    d.text((10, 120), "Emelia @deneen", fill=(0, 0, 0))
    for x in (120, 125, 130):  # "..." in the second item only
        d.rectangle([x, 165, x + 2, 167], fill=(150, 160, 170))
    image = np.asarray(img)
    seps = skills.separators(image, top=50)
    assert seps == [52, 113, 114, 175]  # the highlighted fill is no rule, its border is
    assert skills.row_band((10, 120, 60, 130), seps, 210, top=50) == (114, 175)
    assert skills.more_control(image, (52, 113), top=50) is None
    x, y = skills.more_control(image, (114, 175), top=50)
    assert abs(x - 126.5) <= 1 and abs(y - 166.5) <= 1
    (intent,) = parse_instruction('For the user @leo, click on the "Mute" button.').intents
    assert (intent.scope, intent.target) == ("@leo", "Mute")
    (intent,) = parse_instruction('For the user @leo.click on the "Share via DM" button.').intents
    assert (intent.scope, intent.target) == ("@leo", "Share via DM")  # OCR's '.' for ','


def test_a_menu_border_keeps_its_lines_apart_from_the_page_behind() -> None:
    from lavr.episodes.gui.perception import find_elements

    if not Path(FONT).is_file():
        pytest.skip("DejaVu Sans not installed")
    img = Image.new("RGB", (160, 210), (255, 255, 255))
    d = ImageDraw.Draw(img)
    font = ImageFont.truetype(FONT, 11)
    for i, word in enumerate(["Pavla", "Auctor", "Calhoun"]):  # the page, behind the menu
        d.text((4, 70 + 19 * i), word, font=font, fill=(0, 0, 0))
    d.line([40, 60, 40, 150], fill=(169, 169, 169))  # the menu's left border
    for i, word in enumerate(["Share via DM", "Copy link", "Embed", "Mute @leo"]):
        d.text((44, 62 + 20 * i), word, font=font, fill=(0, 0, 0))
    texts = [e.box for e in find_elements(np.asarray(img)).elements if e.kind == "text"]
    menu = [b for b in texts if b[0] >= 41]
    assert len(menu) == 4, texts  # one line per entry, none joined to the page's words
    assert all(b[2] <= 40 for b in texts if b[0] < 40), texts


def test_agent_searches_behind_tabs_then_returns_to_the_best_weak_match() -> None:
    from lavr.episodes.gui.agent import Choice

    tabs = [_button(5, 60, 45, 80, "1", (0, 127, 255)), _button(47, 60, 87, 80, "2"),
            _button(89, 60, 129, 80, "3")]
    image = np.full((210, 160, 3), 255, np.uint8)
    parse = ScreenParse(image=image, elements=tabs)
    agent = GuiAgent(text_reader=_Reader({}), semantic=False)
    agent.reset('Click on the link "vitae".')
    weak = Choice(ScreenElement("link", (10, 100, 30, 110), text="vae"), 0.6, "weak")
    first = agent._explore_tabs(parse, weak, image)  # tab 1 is open: try tab 2
    assert first is not None and first.point == tabs[1].center
    second = agent._explore_tabs(parse, None, image)
    assert second is not None and second.point == tabs[2].center
    back = agent._explore_tabs(parse, None, image)  # all seen: back to tab 1 and its "vae"
    assert back is not None and back.point == tabs[0].center and "best match" in back.summary
    assert agent._explore_tabs(parse, weak, image) is None  # now the weak match is taken


def test_screen_figures_is_a_registered_tool() -> None:
    from lavr.episodes.loop import Perceiver, PerceptionCall, episode_registry

    percepts = Perceiver(episode_registry()).run(_figures_screen(), [PerceptionCall("screen_figures")])
    got = percepts["screen_figures"]
    assert not got.error, got.error
    assert got.summary.startswith("6 figures:") and "large red circle" in got.summary
    assert {(f["kind"], f["char"]) for f in got.value} >= {("digit", "7"), ("letter", "k")}


def test_ui_detector_never_trains_on_evaluation_tasks() -> None:
    """The UI detector's data generator skips every evaluation-only task and its variants."""
    import importlib.util
    from pathlib import Path

    from lavr.episodes.gui.evaluate import DEVELOPED_TASKS, EVALUATION_TASKS, RESERVED_TASKS

    path = Path(__file__).resolve().parents[2] / "scripts" / "train_ui_detector.py"
    spec = importlib.util.spec_from_file_location("train_ui_detector", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert all(module.held_out(t) for t in EVALUATION_TASKS + RESERVED_TASKS)
    assert not module.held_out("form-sequence-3") and not module.held_out("drag-shapes-2")
    # with a held-out set (none is left now), its tasks and their variants are skipped
    module.held_out_prefixes = lambda: ("hot-cold", "use-colorwheel-2")
    assert module.held_out("use-colorwheel-2-x") and not module.held_out("use-colorwheel")
    assert module.held_out("hot-cold-nodelay") and not module.held_out("hot-cold")  # developed
    assert not any(module.held_out(t) for t in DEVELOPED_TASKS)
    assert not set(DEVELOPED_TASKS) & set(EVALUATION_TASKS)
    assert not set(RESERVED_TASKS) & (set(DEVELOPED_TASKS) | set(EVALUATION_TASKS))


def test_an_icon_named_by_a_word_is_found_by_its_symbol() -> None:
    """'click the star icon': the light outline star in an item's row, not the other mark
    beside it nor the text; no icon word, or a word no symbol is named by: None."""
    from lavr.episodes.gui.appearance import glyph_fonts, symbol_patches
    from lavr.episodes.gui.skills import named_icon

    if not glyph_fonts() or not symbol_patches("star"):
        pytest.skip("no font with a star symbol")
    img = Image.new("RGB", (160, 40), (255, 255, 255))
    d = ImageDraw.Draw(img)
    d.text((4, 10), "Audrey", fill=(0, 0, 0))
    d.text((110, 8), "\u2606", font=ImageFont.truetype(glyph_fonts()[0], 16), fill=(180, 180, 180))
    d.rectangle([134, 12, 142, 26], outline=(170, 170, 170))  # another mark: a box
    d.line([132, 11, 144, 11], fill=(170, 170, 170))
    found = named_icon(np.asarray(img), (0, 40), "star icon mark as important")
    assert found is not None
    (x1, y1, x2, y2), score = found
    assert 108 <= x1 <= 114 and x2 <= 128 and score > 0.45
    assert named_icon(np.asarray(img), (0, 40), "mark as important") is None
    assert named_icon(np.asarray(img), (0, 40), "zzzq icon") is None


def _theme_icon(name: str, size: int = 14) -> Image.Image | None:
    """The theme's symbolic icon ``name`` drawn light grey on white at ``size`` px."""
    from lavr.episodes.gui.appearance import ICON_THEMES

    for theme in ICON_THEMES:
        for path in theme.glob(f"64x64/*/{name}-symbolic.symbolic.png"):
            alpha = Image.open(path).convert("RGBA").getchannel("A").resize((size, size))
            tile = Image.new("RGB", (size, size), (255, 255, 255))
            tile.paste((200, 200, 200), mask=alpha)
            return tile
    return None


def test_icons_named_by_an_action_word_from_the_icon_theme_and_by_elimination() -> None:
    """A row of controls: a heart, a share sign, a reply arrow and a mark no icon of the
    vocabulary looks like. 'Like' finds the heart (a synonym: love), 'Share' the share
    sign; a word no icon is named by finds the unknown mark only by elimination."""
    from lavr.episodes.gui.appearance import theme_icons

    tiles = [_theme_icon(n) for n in ("mail-reply-sender", "emote-love", "emblem-shared")]
    if not theme_icons() or any(t is None for t in tiles):
        pytest.skip("no icon theme with these icons installed")
    img = Image.new("RGB", (160, 40), (255, 255, 255))
    for i, tile in enumerate(tiles):
        img.paste(tile, (10 + 40 * i, 14))
    ImageDraw.Draw(img).rectangle([130, 14, 137, 27], fill=(200, 200, 200))  # an unknown mark
    ImageDraw.Draw(img).rectangle([133, 17, 140, 24], fill=(255, 255, 255))
    ImageDraw.Draw(img).line([131, 27, 143, 15], fill=(200, 200, 200), width=2)
    page = np.asarray(img)
    found = {w: skills.named_icon(page, (0, 40), w) for w in ("Like", "Share", "Reply")}
    assert {w: f[0][0] // 40 for w, f in found.items() if f} == {"Like": 1, "Share": 2, "Reply": 0}
    assert skills.named_icon(page, (0, 40), "Zorble") is None
    guess = skills.named_icon(page, (0, 40), "Zorble", by_elimination=True)
    assert guess is not None and guess[0][0] >= 128
    assert skills.icon_word("the star icon of it") == "star" and skills.icon_word("Share via DM") == ""


@pytest.mark.parametrize(("text", "scope", "many", "target"), [
    ('Click the "Share" button on all posts by @annis and then click Submit.', "@annis", -1, "Share"),
    ('Click the "Retweet" button on 2 posts by @leo and then click Submit.', "@leo", 2, "Retweet"),
    ('Press the "Like" button on one post by @ann, then press Submit.', "@ann", 1, "Like"),
    ("Star every message from Lana, then click Submit.", None, None, None),
])
def test_grammar_of_quantified_list_items(text: str, scope: str | None, many: int | None,
                                          target: str | None) -> None:
    first, *rest = parse_instruction(text).intents or (None,)
    if scope is None:  # no quoted control: a request about an item in free words
        assert first is not None and (first.op, first.action, first.scope, first.items) == \
            ("act", "star", "Lana", None)
        return
    assert (first.scope, first.items, first.target) == (scope, many, target)
    assert [i.target for i in rest] == ["Submit"] and rest[0].scope == ""


# -- scrolling an area to its end ------------------------------------------------------------
@pytest.mark.parametrize(("text", "kinds", "direction"), [
    ("Scroll to the bottom of the textarea", ("input",), "down"),
    ("scroll all the way down the list", (), "down"),
    ("Scroll up to the top of the page", (), "up"),
])
def test_a_scroll_clause_names_the_area_and_the_end(text: str, kinds: tuple[str, ...],
                                                    direction: str) -> None:
    (intent,) = parse_instruction(text).intents
    assert (intent.op, intent.kinds, intent.text) == ("scroll", kinds, direction)


def test_scrolling_an_area_until_it_stops_moving_then_the_rest_of_the_request() -> None:
    """A grey (disabled) text area of many lines and a field with the hint ``Name`` below it:
    the area is scrolled until a scroll leaves it unchanged, then the name is typed into
    the field its hint names (not into the text area, the first field)."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (160, 210), (255, 255, 255))
    d = ImageDraw.Draw(img)
    d.rectangle([0, 0, 159, 49], fill=(255, 255, 0))
    d.rectangle([4, 60, 150, 130], fill=(235, 235, 235), outline=(118, 118, 118))
    for k in range(5):
        d.text((8, 63 + 13 * k), "lorem ipsum dolor", fill=(0, 0, 0))
    d.rectangle([4, 140, 130, 158], fill=(255, 255, 255), outline=(118, 118, 118))
    d.text((8, 144), "Name", fill=(160, 160, 160))
    before = np.asarray(img)
    img2 = img.copy()
    ImageDraw.Draw(img2).rectangle([6, 62, 148, 128], fill=(235, 235, 235))  # scrolled on
    ImageDraw.Draw(img2).text((8, 70), "the end.", fill=(0, 0, 0))
    after = np.asarray(img2)

    class Reader:  # the hint reads "Name"; nothing else needs reading here
        def read(self, image, boxes, *, pad=2):
            return [("Name" if 140 <= (b[1] + b[3]) / 2 <= 158 else "", 0.99) for b in boxes]

    agent = GuiAgent(text_reader=Reader(), semantic=False)
    agent.reset('Scroll to the bottom of the textarea, enter the name "Ann" then press "Agree"')
    first = agent.decide(Observation(before, ""))
    assert first.action.kind == "scroll" and first.action.amount > 0
    assert 60 <= first.point[1] <= 130  # on the text area, not the page's middle
    second = agent.decide(Observation(after, ""))
    assert second.action.kind == "scroll"  # it moved: on
    third = agent.decide(Observation(after, ""))  # it did not move: its end; type the name
    assert third.action.kind == "click" and 140 <= third.point[1] <= 158, third.summary
    assert agent.pending[0].text == "Ann"


def test_a_focused_slider_handle_is_no_checkbox() -> None:
    """A MiniWoB++ page as Chromium drew it after a slider's handle was moved with the keys:
    the focused handle looks like a small box; the 2nd checkbox is still the 2nd of the
    three checkboxes below it."""
    image = np.asarray(Image.open(Path(__file__).parent / "data" /
                                  "focused_slider_and_checkboxes.png").convert("RGB"))
    agent = GuiAgent(text_reader=_Reader({}), semantic=False)
    parse = agent.perceive(image)
    assert len(parse.of_kind("checkbox")) == 4  # the handle is parsed as one
    (intent,) = parse_instruction("click the 2nd checkbox").intents
    choice = agent.choose(intent, parse)
    assert choice is not None and 32 <= choice.element.center[0] <= 43
    assert choice.element.center[1] > 85


# -- ordering a number of each listed item ------------------------------------------------------
@pytest.mark.parametrize(("text", "verb", "many", "names"), [
    ("Order one of each item: Garlic bread, Spaghetti and Meatballs", "order", 1,
     ["Garlic bread", "Spaghetti and Meatballs"]),
    ("Add 2 of each of the following: milk, eggs and bread", "add", 2, ["milk", "eggs", "bread"]),
    ("buy one of each: Spinach and goat cheese dip", "buy", 1, ["Spinach and goat cheese dip"]),
])
def test_a_request_for_some_of_each_item_steps_each_items_count_up(
        text: str, verb: str, many: int, names: list[str]) -> None:
    from lavr.episodes.gui.instruction import INCREASE, quantity_request

    assert quantity_request(text) == (verb, many, names)
    plan = parse_instruction(text).intents
    assert [(i.target, i.scope) for i in plan[:-1]] == [(INCREASE, n) for n in names
                                                        for _ in range(many)]
    assert plan[-1].target == verb.capitalize() and not plan[-1].scope


def test_no_quantity_request_without_each() -> None:
    from lavr.episodes.gui.instruction import quantity_request

    assert quantity_request("Order 3 items that are vegan") is None
    assert quantity_request("Select Garlic bread from the list") is None


def test_the_symbol_a_word_names_and_lines_of_one_wrapped_name() -> None:
    from lavr.episodes.gui.agent import _symbols_named, _wrapped_lines

    assert _symbols_named("plus") == {"+"} and "-" in _symbols_named("minus")
    assert _symbols_named("star") == frozenset() and _symbols_named("Reply") == frozenset()
    lines = [ScreenElement("text", (3, 100, 60, 110), text="Spinach and"),
             ScreenElement("text", (2, 113, 90, 123), text="goat cheese dip"),
             ScreenElement("text", (128, 104, 141, 116), text="+"),
             ScreenElement("text", (3, 150, 60, 160), text="Chicken wings")]
    joined = _wrapped_lines(lines)
    assert [e.text for e in joined] == ["Spinach and goat cheese dip"]
    assert joined[0].box == (2, 100, 90, 123)


def _menu_page(items: list[list[str]], top: int = 50) -> np.ndarray:
    """Items of a menu between grey rules, each a name (its lines given) with - and + at the
    right."""
    img = Image.new("RGB", (160, 210), (255, 255, 255))
    d = ImageDraw.Draw(img)
    d.rectangle([0, 0, 159, top - 1], fill=(255, 255, 0))
    font = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", 11)
    y = top + 4
    for lines in items:
        d.line([(0, y), (140, y)], fill=(170, 170, 170))
        for k, line in enumerate(lines):
            d.text((3, y + 4 + 13 * k), line, fill=(0, 0, 0), font=font)
        d.text((108, y + 6), "-", fill=(0, 0, 0), font=font)
        d.text((128, y + 4), "+", fill=(0, 0, 0), font=font)
        y += 10 + 13 * len(lines)
    return np.asarray(img)


def test_the_plus_of_an_item_whose_name_wraps() -> None:
    said = [["Caesar Salad"], ["Spinach and", "goat cheese", "dip"], ["Chicken wings"]]
    image = _menu_page(said)
    agent = GuiAgent(text_reader=_Reader({}), semantic=False)
    parse = agent.perceive(image)
    lines = sorted((e for e in parse.elements if e.kind == "text" and e.center[0] < 100),
                   key=lambda e: e.box[1])
    flat = [t for item in said for t in item]
    assert len(lines) == len(flat), [e.box for e in lines]
    agent.text_reader = _Reader({(e.box[0], e.box[1]): t for e, t in zip(lines, flat, strict=True)}
                                | {(e.box[0], e.box[1]): "+" for e in parse.elements
                                   if e.kind == "text" and e.center[0] > 120})
    (first, _) = parse_instruction("Order one of each item: Spinach and goat cheese dip").intents
    choice = agent._scoped(first, parse, image)
    assert choice is not None and not hasattr(choice, "action"), choice
    assert choice.element.center[0] > 120 and 70 <= choice.element.center[1] <= 100


# -- a dropdown the page draws itself ------------------------------------------------------------
def _select_page(options: list[str] | None) -> np.ndarray:
    """A select box (light fill, a pale triangle at its right end) above three buttons; with
    ``options``, its list drawn open under it."""
    img = Image.new("RGB", (160, 210), (255, 255, 255))
    d = ImageDraw.Draw(img)
    d.rectangle([0, 0, 159, 49], fill=(255, 255, 0))
    d.rectangle([40, 62, 120, 100], fill=(247, 247, 247), outline=(200, 200, 200))
    d.polygon([(96, 80), (103, 80), (99, 84)], fill=(180, 180, 180))  # the triangle
    font = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", 11)
    for k, label in enumerate(["Yes", "No", "Maybe"]):
        y = 110 + 32 * k
        d.rectangle([45, y, 115, y + 22], fill=(239, 239, 239), outline=(118, 118, 118))
        d.text((62, y + 5), label, fill=(0, 0, 0), font=font)
    if options is not None:
        d.rectangle([40, 101, 120, 209], fill=(248, 248, 248), outline=(200, 200, 200))
        for k, opt in enumerate(options):
            d.text((60, 108 + 22 * k), opt, fill=(68, 68, 68), font=font)
    return np.asarray(img)


def test_a_box_with_a_pale_triangle_is_a_dropdown_opened_to_choose_in_its_list() -> None:
    from lavr.episodes.gui.perception import ink_mask, text_runs

    closed, opened = _select_page(None), _select_page(["5ft 9in", "5ft 10in", "6 ft"])
    runs = text_runs(ink_mask(opened)[101:], gap=7, offset=(0, 101))
    texts = {(r[0], r[1]): t for r, t in zip(sorted(runs, key=lambda r: r[1]),
                                             ["5ft 9in", "5ft 10in", "6 ft"], strict=True)}
    agent = GuiAgent(text_reader=_Reader(texts), semantic=False)
    parse = agent.perceive(closed)
    drops = [e for e in parse.elements if e.icon == "dropdown"]
    assert [e.kind for e in drops] == ["button"]
    assert [e.icon for e in parse.of_kind("button") if e.box[1] > 105] == ["", "", ""]
    agent.reset('Choose 6 ft from the dropdown, then click the button labeled "No".')
    first = agent.decide(Observation(closed, ""))
    assert first.action.kind == "click" and 62 <= first.point[1] <= 100  # open it
    second = agent.decide(Observation(opened, ""))
    assert second.action.kind == "click" and 148 <= second.point[1] <= 160, second.summary
    assert '"6 ft"' in second.summary


def _two_selects_page(left: list[str] | None, right: list[str] | None) -> np.ndarray:
    """Two select boxes side by side (light fill, a pale triangle at the right end), each
    with its list drawn open under it when given."""
    img = Image.new("RGB", (160, 210), (255, 255, 255))
    d = ImageDraw.Draw(img)
    d.rectangle([0, 0, 159, 49], fill=(255, 255, 0))
    font = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", 11)
    for x, options in ((4, left), (84, right)):
        d.rectangle([x, 62, x + 72, 100], fill=(247, 247, 247), outline=(200, 200, 200))
        d.polygon([(x + 56, 80), (x + 63, 80), (x + 59, 84)], fill=(180, 180, 180))
        if options is not None:
            d.rectangle([x, 101, x + 72, 209], fill=(248, 248, 248), outline=(200, 200, 200))
            for k, opt in enumerate(options):
                d.text((x + 8, 108 + 22 * k), opt, fill=(68, 68, 68), font=font)
    return np.asarray(img)


def test_a_target_not_in_one_dropdowns_list_is_looked_for_in_the_next() -> None:
    from lavr.episodes.gui.perception import ink_mask, text_runs

    if not Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf").exists():
        pytest.skip("DejaVu Sans not installed")
    left, right = ["Red", "Blue"], ["Oslo", "Rome"]
    texts = {}
    for opened, options in ((_two_selects_page(left, None), left),
                            (_two_selects_page(None, right), right)):
        runs = sorted(text_runs(ink_mask(opened)[101:], gap=7, offset=(0, 101)), key=lambda r: r[1])
        texts.update({(r[0], r[1]): t for r, t in zip(runs, options, strict=True)})
    agent = GuiAgent(text_reader=_Reader(texts), semantic=False)
    closed = _two_selects_page(None, None)
    assert [e.icon for e in agent.perceive(closed).of_kind("button")] == ["dropdown", "dropdown"]
    agent.reset('Choose "Rome" from the dropdown.')
    first = agent.decide(Observation(closed, ""))
    assert first.action.kind == "click" and first.point[0] < 80  # the first dropdown opened
    second = agent.decide(Observation(_two_selects_page(left, None), ""))
    if second.action.kind == "scroll":  # (its list scrolled once: it does not move)
        second = agent.decide(Observation(_two_selects_page(left, None), ""))
    assert second.action.kind == "click" and second.point[0] > 80, second.summary  # the next
    third = agent.decide(Observation(_two_selects_page(None, right), ""))
    assert third.action.kind == "click" and '"Rome"' in third.summary
    assert 130 <= third.point[1] <= 142 and third.point[0] > 80
