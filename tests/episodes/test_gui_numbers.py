"""Numbers shown on a page: their sign, their properties, their order (pure: drawn images,
a reader that knows what was drawn where; no browser)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from lavr.episodes.gui import numbers
from lavr.episodes.gui.agent import GuiAgent
from lavr.episodes.gui.instruction import parse_instruction
from lavr.episodes.gui.perception import find_elements
from lavr.episodes.loop import Observation

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
BOLD = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"


def _font(path: str, size: int) -> ImageFont.FreeTypeFont:
    if not Path(path).is_file():
        pytest.skip(f"{path} not installed")
    return ImageFont.truetype(path, size)


class _Reader:
    """Reads a box as the text drawn nearest to it; a box that starts right of a drawn
    text's left edge (its minus cut off) reads as the text without its sign; a negative
    number read whole loses its minus (as OCR does: ``-2`` read ``22``)."""

    def __init__(self, drawn: list[tuple[tuple[int, int, int, int], str]]) -> None:
        self.drawn = drawn
        self.calls = 0

    def read(self, image: np.ndarray, boxes: list, *, pad: int = 2) -> list[tuple[str, float]]:
        self.calls += 1
        out = []
        for b in boxes:
            cx, cy = (b[0] + b[2]) / 2, (b[1] + b[3]) / 2
            box, text = min(self.drawn, key=lambda d: abs((d[0][0] + d[0][2]) / 2 - cx)
                            + abs((d[0][1] + d[0][3]) / 2 - cy))
            if text.startswith("-"):
                text = text[1:] if b[0] > box[0] + 2 else "2" + text[1:]
            out.append((text, 0.9))
        return out


def _page(items: list[tuple[tuple[int, int], str, str]], *, banner: bool = True) -> tuple[
        np.ndarray, list[tuple[tuple[int, int, int, int], str]]]:
    """A 160x210 page with a yellow banner; ``items`` are ``((x, y), text, font)`` drawn in
    black; returns the image and where each text's ink is."""
    im = Image.new("RGB", (160, 210), (255, 255, 255))
    draw = ImageDraw.Draw(im)
    if banner:
        draw.rectangle((0, 0, 159, 49), fill=(255, 255, 0))
    drawn = []
    for (x, y), text, path in items:
        font = _font(path, 20)
        draw.text((x, y), text, font=font, fill=(0, 0, 0))
        drawn.append((tuple(int(v) for v in draw.textbbox((x, y), text, font=font)), text))
    return np.asarray(im), drawn


@pytest.mark.parametrize(("text", "order"), [
    ("the numbers in ascending order", "ascending"),
    ("them in increasing order", "ascending"),
    ("the numbers from smallest to largest", "ascending"),
    ("the digits from the highest value to the lowest", "descending"),
    ("the numbers in descending order", "descending"),
    ("the values in order", "ascending"),
])
def test_an_order_asked_for_in_words(text: str, order: str) -> None:
    found = numbers.order_of(text)
    assert found is not None and found[0] == order


def test_no_order_in_words_that_ask_for_none() -> None:
    assert numbers.order_of("the order button") is None
    assert numbers.order_of("from small to small") is None


def test_classes_and_properties_of_numbers() -> None:
    assert numbers.classes_of("the numbers below: as odd or even") == ("odd", "even")
    assert numbers.classes_of("each value as positive, negative or zero") == (
        "positive", "negative", "zero")
    assert numbers.classes_of("primes/composites") == ("prime", "composite")
    assert numbers.classes_of("the odd button") == ()
    assert [numbers.holds(v, "odd") for v in (-5, -4, 0, 7)] == [True, False, False, True]
    assert numbers.holds(-3, "negative") and not numbers.holds(0, "positive")
    assert numbers.holds(7, "prime") and numbers.holds(9, "composite") and not numbers.holds(1, "prime")
    assert numbers.holds(3, "round") is None


@pytest.mark.parametrize(("text", "value"), [("12", 12), ("-5", -5), ("l0", 10), ("S", 5),
                                              ("3.5", 3.5), ("Odd", None), ("1 2", 12),
                                              ("", None), ("x7", None), ("So", None),
                                              ("Is", None), ("Go", None), ("1O", 10)])
def test_a_short_text_that_is_one_number(text: str, value: float | None) -> None:
    assert numbers.parse_number(text) == value


def test_a_minus_sign_is_found_from_its_ink() -> None:
    img, drawn = _page([((20, 60), "-2", BOLD), ((80, 60), "22", BOLD), ((20, 100), "7", FONT),
                        ((80, 100), "-10", FONT)])
    boxes = [b for b, _ in drawn]
    starts = [numbers.minus_bar(img, b) for b in boxes]
    assert starts[1] is None and starts[2] is None
    assert starts[0] is not None and boxes[0][0] < starts[0] < boxes[0][2] - 6
    assert starts[3] is not None and boxes[3][0] < starts[3] < boxes[3][2] - 12


def test_numbers_are_read_with_their_sign_and_sorted() -> None:
    img, drawn = _page([((20, 60), "-2", BOLD), ((90, 70), "5", FONT), ((40, 130), "11", FONT),
                        ((110, 160), "0", FONT)])
    shown = numbers.shown_numbers(find_elements(img), _Reader(drawn))
    assert sorted(n.value for n in shown) == [-2, 0, 5, 11]
    assert [n.value for n in numbers.in_order(shown, "descending")] == [11, 5, 0, -2]


def test_numbers_are_clicked_in_order_where_they_were_first_seen() -> None:
    img, drawn = _page([((100, 60), "3", FONT), ((20, 90), "1", FONT), ((60, 150), "2", FONT)])
    agent = GuiAgent(text_reader=_Reader(drawn), semantic=False)  # type: ignore[arg-type]
    agent.reset("Click on the numbers in ascending order.")
    first = agent.decide(Observation(img, "Click on the numbers in ascending order."))
    centre = {t: ((b[0] + b[2]) / 2, (b[1] + b[3]) / 2) for b, t in drawn}
    assert first.action.kind == "click"
    # the three numbers' elements hold their ink's centres (within the element's box)
    points = [(first.action.x, first.action.y)] + [(a.x, a.y) for a in agent.pending]
    assert len(points) == 3
    for (x, y), want in zip(points, ("1", "2", "3"), strict=True):
        assert abs(x - centre[want][0]) <= 3 and abs(y - centre[want][1]) <= 4
    # the page may cover the numbers now: the queued clicks go on regardless
    covered = img.copy()
    covered[55:200] = 255
    for _ in range(2):
        assert agent.decide(Observation(covered, "x")).action.kind == "click"


def test_each_number_gets_the_choice_beside_it_that_names_its_class() -> None:
    from lavr.episodes.gui.perception import ScreenElement, ScreenParse

    img, drawn = _page([((70, 60), "-3", BOLD), ((70, 100), "-2", BOLD), ((74, 140), "4", BOLD)])
    reader = _Reader(drawn)
    elements = []
    for (x1, y1, x2, y2), _ in drawn:
        elements.append(ScreenElement("text", (x1, y1, x2, y2), text_boxes=((x1, y1, x2, y2),)))
        cy = (y1 + y2) // 2
        elements.append(ScreenElement("button", (10, cy - 12, 55, cy + 12), text="Odd"))
        elements.append(ScreenElement("button", (105, cy - 12, 150, cy + 12), text="Even"))
    agent = GuiAgent(text_reader=reader, semantic=False)  # type: ignore[arg-type]
    agent.reset("Mark the numbers below as odd or even and press submit when done.")
    parse = ScreenParse(img, elements, banner=(0, 0, 160, 50))
    intent = agent.plan.intents[0]
    assert intent.classes == ("odd", "even")
    step = agent._mark_classes(intent, parse)
    clicks = [(step.action.x, step.action.y)] + [(a.x, a.y) for a in agent.pending]
    rows = [(e.box[1] + e.box[3]) / 2 for e in elements if e.kind == "text"]
    assert [x < 80 for x, _ in clicks] == [True, False, False]  # -3 odd, -2 even, 4 even
    assert all(abs(y - r) <= 12 for (_, y), r in zip(clicks, rows, strict=True))


def test_requests_about_numbers_become_intents() -> None:
    plan = parse_instruction("Mark the numbers belov: as cdd or even and press submit vhen done:")
    assert [i.classes for i in plan.intents] == [("odd", "even"), ()]
    assert plan.intents[1].target.lower() == "submit"
    plan = parse_instruction("Label each number as positive or negative, then press Submit.")
    assert plan.intents[0].classes == ("positive", "negative")
    plan = parse_instruction("Click the numbers from largest to smallest.")
    assert [i.order for i in plan.intents] == ["descending"]
    assert parse_instruction('Click the "Order" button.').intents[0].order == ""


@pytest.mark.parametrize("sides", [3, 4, 5, 6, 7, 8])
@pytest.mark.parametrize("turn", [0, 17, 40, 73])
def test_the_sides_of_a_drawn_polygon_are_counted_at_any_rotation(sides: int, turn: int) -> None:
    from lavr.episodes.gui.shapes import count_corners

    im = Image.new("RGB", (160, 120), (255, 255, 255))
    draw = ImageDraw.Draw(im)
    angle = np.radians(turn) + 2 * np.pi * np.arange(sides + 1) / sides
    pts = [(80 + 35 * np.cos(a), 60 + 35 * np.sin(a)) for a in angle]
    draw.line(pts, fill=(0, 0, 0), width=3)  # an outline whose start is not joined
    assert count_corners(np.asarray(im), (40, 20, 122, 102)) == sides
    filled = Image.new("RGB", (160, 120), (255, 255, 255))
    ImageDraw.Draw(filled).polygon(pts[:-1], fill=(200, 30, 30))
    assert count_corners(np.asarray(filled), (40, 20, 122, 102)) == sides


@pytest.mark.parametrize("turn", [0, 25])
def test_a_concave_polygon_keeps_its_inner_corners(turn: int) -> None:
    from lavr.episodes.gui.shapes import count_corners

    angle = np.radians(turn) + np.pi * np.arange(11) / 5  # a five-pointed star: 10 sides
    radius = np.where(np.arange(11) % 2 == 0, 38, 16)
    pts = [(80 + r * np.cos(a), 60 + r * np.sin(a)) for r, a in zip(radius, angle, strict=True)]
    for fill in (False, True):
        im = Image.new("RGB", (160, 120), (255, 255, 255))
        draw = ImageDraw.Draw(im)
        if fill:
            draw.polygon(pts[:-1], fill=(0, 0, 200))
        else:
            draw.line(pts, fill=(0, 0, 0), width=3)
        assert count_corners(np.asarray(im), (38, 18, 124, 104)) == 10


def test_a_question_about_the_sides_of_the_shape_becomes_a_count_intent() -> None:
    plan = parse_instruction("Press the button that correctly denotes how many sides the shape has.")
    (intent,) = plan.intents
    assert intent.count and intent.part == "sides" and intent.kinds == ("button",)
    (intent,) = parse_instruction("How many corners does the polygon have?").intents
    assert intent.part == "sides"
    assert parse_instruction("How many red circles are there?").intents[0].part == ""
    (intent,) = parse_instruction("Type the number of sides of the shape into the box.").intents
    assert intent.op == "type" and intent.source == "count" and intent.part == "sides"
    im = Image.new("RGB", (160, 210), (255, 255, 255))
    draw = ImageDraw.Draw(im)
    draw.rectangle((0, 0, 159, 49), fill=(255, 255, 0))
    angle = 0.3 + 2 * np.pi * np.arange(6) / 5
    draw.line([(80 + 35 * np.cos(a), 110 + 35 * np.sin(a)) for a in angle], fill=(0, 0, 0), width=3)
    agent = GuiAgent(text_reader=_Reader([((0, 0, 1, 1), "")]), semantic=False)  # type: ignore[arg-type]
    assert agent._derive(intent, find_elements(np.asarray(im))) == "5"


# -- a pattern copied from an example into a grid of checkboxes ------------------------
def _example(on: list[str], *, x: int = 90, y: int = 60, cell: int = 12, pitch: int = 15,
             panel: tuple[int, int, int] = (34, 34, 34), lit: tuple[int, int, int] = (255, 255, 255),
             dim: tuple[int, int, int] = (102, 102, 102)) -> np.ndarray:
    img = np.full((210, 160, 3), 255, np.uint8)
    img[y - 4:y + pitch * len(on) + 2, x - 4:x + pitch * len(on[0]) + 2] = panel
    for r, row in enumerate(on):
        for c, v in enumerate(row):
            img[y + r * pitch:y + r * pitch + cell, x + c * pitch:x + c * pitch + cell] = \
                lit if v == "#" else dim
    return img


def test_a_lattice_of_boxes_is_a_table_and_a_gap_in_it_is_none() -> None:
    from lavr.episodes.gui.patterns import largest_lattice, lattice

    boxes = [(10 + 17 * c, 60 + 16 * r, 23 + 17 * c, 73 + 16 * r) for r in range(3) for c in range(2)]
    table = lattice(boxes[::-1])
    assert table is not None and [len(r) for r in table] == [2, 2, 2]
    assert table[0][0] == boxes[0] and table[2][1] == boxes[5]
    assert lattice(boxes[:-1]) is None  # a crossing without its box
    far = [(120, 20, 133, 33), (140, 190, 153, 203)]
    assert largest_lattice(boxes + far) == table


@pytest.mark.parametrize(("lit", "dim", "panel"), [
    ((255, 255, 255), (102, 102, 102), (34, 34, 34)),   # white on dark, the rest grey
    ((0, 0, 0), (220, 220, 220), (255, 255, 255)),      # black on white, the rest light
    ((200, 30, 30), (240, 240, 240), (250, 250, 250)),  # a red figure
])
def test_the_example_cells_that_stand_out_from_their_panel_are_on(
        lit: tuple[int, int, int], dim: tuple[int, int, int], panel: tuple[int, int, int]) -> None:
    from lavr.episodes.gui.patterns import find_example

    seven = ["####", "#..#", "...#", "..#.", "..#.", ".#..", ".#.."]
    img = _example(seven, lit=lit, dim=dim, panel=panel)
    img[60:73, 10:23] = 250  # something else on the page (the grid itself is left out)
    on = find_example(img, 7, 4, cell=13, exclude=(5, 55, 80, 180))
    assert on is not None
    assert ["".join("#" if v else "." for v in row) for row in on] == seven
    assert find_example(img, 5, 4, cell=13, exclude=(5, 55, 80, 180)) is None


def test_a_checked_box_holds_a_mark() -> None:
    from lavr.episodes.gui.patterns import is_checked

    img = np.full((40, 60, 3), 255, np.uint8)
    for x in (5, 30):  # two frames
        img[10:23, x:x + 13] = (118, 118, 118)
        img[11:22, x + 1:x + 12] = 255
    img[11:22, 31:42] = (0, 117, 255)  # a blue face ...
    for i in range(6):  # ... with a white tick
        img[18 - i // 2, 33 + i] = 255
    assert not is_checked(img, (5, 10, 18, 23)) and is_checked(img, (30, 10, 43, 23))


def test_a_request_to_copy_an_example_into_checkboxes() -> None:
    plan = parse_instruction('Drav the number "0" in the checkboxes using the example on the '
                             "right and press Submit when finished:")
    assert [i.pattern for i in plan.intents] == [True, False]
    assert plan.intents[1].target == "Submit"
    plan = parse_instruction("Copy the pattern shown into the grid of check boxes, then click OK.")
    assert plan.intents[0].pattern and plan.intents[0].kinds == ("checkbox",)
    assert not parse_instruction("Check the box next to apple.").intents[0].pattern


# -- as many figures as possible ----------------------------------------------------------
def _discs(centres: list[tuple[int, int]], r: int = 18) -> np.ndarray:
    img = np.full((210, 160, 3), 255, np.uint8)
    img[:50] = (255, 255, 0)
    yy, xx = np.mgrid[:210, :160]
    for cx, cy in centres:
        img[((xx - cx) ** 2 + (yy - cy) ** 2 <= r * r) & (yy >= 50)] = 0
    return img


def test_as_many_figures_as_possible_clicks_each_where_it_is_and_waits_for_more() -> None:
    from lavr.episodes.gui import agent as agent_mod

    text = "Click as many moving circles as possible."
    (intent,) = parse_instruction(text).intents
    assert intent.repeat and intent.figure == ("", "", "circle")
    agent = GuiAgent(text_reader=_Reader([((0, 0, 1, 1), "")]), semantic=False)  # type: ignore[arg-type]
    agent.reset(text)
    # a whole disc and one cut by the page's edge: the whole one first, then the cut one
    step = agent.decide(Observation(_discs([(80, 120), (-10, 90)]), text))
    assert step.action.kind == "click" and abs(step.action.x - 80) <= 2 and abs(step.action.y - 120) <= 2
    step = agent.decide(Observation(_discs([(-8, 92)]), text))
    assert step.action.kind == "click" and step.action.x < 12 and abs(step.action.y - 92) <= 8
    # nothing to click on a still page: a few waits, then the plan goes on (and ends)
    blank = _discs([])
    kinds = [agent.decide(Observation(blank, text)).action.kind
             for _ in range(agent_mod.REPEAT_WAITS + 1)]
    assert kinds == ["wait"] * agent_mod.REPEAT_WAITS + ["done"]


def test_a_page_that_moves_by_itself_is_waited_on_longer() -> None:
    from lavr.episodes.gui import agent as agent_mod

    text = "Click on as many black circles as you can"
    agent = GuiAgent(text_reader=_Reader([((0, 0, 1, 1), "")]), semantic=False)  # type: ignore[arg-type]
    agent.reset(text)
    blank, other = _discs([]), _discs([])
    other[200:, :] = (200, 200, 255)  # something moved (not a circle)
    kinds = [agent.decide(Observation(page, text)).action.kind
             for page in [blank, other] * (agent_mod.REPEAT_WAITS + 2)]
    assert kinds == ["wait"] * len(kinds)


# -- menus: items with icons, labels that wrap, submenus, an icon pictured in the request --
def _icon(kind: str) -> np.ndarray:
    """9x9 ink masks of a few icons (two lenses that differ only by a plus / minus)."""
    m = np.zeros((9, 9), bool)
    yy, xx = np.mgrid[:9, :9]
    if kind in ("zoom-in", "zoom-out"):
        ring = np.abs(np.hypot(yy - 3.5, xx - 4.5) - 3.2) < 0.9
        m |= ring
        m[6:9, 0:2] = True  # the handle
        m[3:5, 3:7] = True  # minus
        if kind == "zoom-in":
            m[2:6, 4:6] = True  # plus
    elif kind == "play":
        m |= (xx >= 2) & (np.abs(yy - 4) <= (xx - 2) * 0.6)
    elif kind == "stop":
        m[2:7, 2:7] = True
    elif kind == "disk":
        m[0:9, 0:9] = True
        m[1:4, 2:7] = False
    return m


def _menu_page(picture: str, rows: list[tuple[str, str]]) -> tuple[np.ndarray, list[tuple[int, int, int, int]]]:
    """A page with a yellow banner saying "... with the <picture> icon." and a grey menu of
    rows (icon, label); returns it and the banner's text line box."""
    font = _font(FONT, 11)
    im = Image.new("RGB", (160, 210), (255, 255, 255))
    draw = ImageDraw.Draw(im)
    draw.rectangle((0, 0, 159, 49), fill=(255, 255, 0))
    draw.text((3, 20), "with the", font=font, fill=(0, 0, 0))
    draw.text((66, 20), "icon.", font=font, fill=(0, 0, 0))
    draw.rectangle((5, 60, 80, 60 + 17 * len(rows)), fill=(240, 240, 240))
    for i, (_, label) in enumerate(rows):
        draw.text((26, 63 + 17 * i), label, font=font, fill=(51, 51, 51))
    img = np.asarray(im).copy()
    img[21:30, 52:61][_icon(picture)] = (68, 68, 68)
    for i, (icon, _) in enumerate(rows):
        img[64 + 17 * i:73 + 17 * i, 10:19][_icon(icon)] = (68, 68, 68)
    return img, [(3, 19, 100, 33)]


def test_the_item_whose_icon_is_pictured_in_the_instruction() -> None:
    from lavr.episodes.gui.skills import leading_marks, pictured_mark

    rows = [("disk", "Save"), ("zoom-in", "Zoom In"), ("zoom-out", "Zoom Out"), ("stop", "Stop")]
    for k, (icon, _) in enumerate(rows):
        img, lines = _menu_page(icon, rows)
        marks = leading_marks(img, top=50)
        assert len(marks) == len(rows)  # (the labels' words are no marks)
        found = pictured_mark(img, lines, img, top=50)
        assert found is not None and 64 + 17 * k <= found[0][1] < 73 + 17 * k, icon  # (lens twins too)
    img, lines = _menu_page("play", rows)  # not in this menu (a closed submenu holds it)
    assert pictured_mark(img, lines, img, top=50) is None


def test_a_label_after_a_mark_read_as_signs() -> None:
    from lavr.episodes.gui.agent import _after_mark

    assert [_after_mark(t) for t in ("14 Prev", "> Play", "~1 Next", "Zoom In", "A list", "Save")] \
        == ["Prev", "Play", "Next", "", "", ""]


def test_a_label_wrapped_beside_its_icon_is_read_as_its_lines() -> None:
    from lavr.episodes.gui.widgets import _wrapped

    ink = np.zeros((40, 80), bool)
    ink[14:23, 2:11] = True  # an icon centred on the two lines
    ink[5:14, 16:45] = True  # "Zoom"
    ink[22:31, 16:33] = True  # "Out"
    assert _wrapped(ink, (2, 5, 45, 31)) == ((16, 5, 45, 14), (16, 22, 33, 31))
    ink[14:22, 16:45] = True  # one tall line is one line
    assert _wrapped(ink, (2, 5, 45, 31)) == ((2, 5, 45, 31),)


def test_an_icon_pictured_in_a_request_is_no_menu_path() -> None:
    for text in ('Click the "Menu" button; and then find and click on the item viith the > icon.',
                 'Click the "Menu" button, and then find and click on the item with the icon.',
                 "Click on the item with the 0 icon:", "click on the item viith the -i icon.",
                 "click on the item with the '4 icon."):
        assert parse_instruction(text).intents[-1].pictured, text
    assert not parse_instruction("click the button with the star icon").intents[0].pictured
    plan = parse_instruction("Select Fruit > Apple")
    assert [i.op for i in plan.intents] == ["hover", "click"]


@pytest.mark.parametrize(("text", "pick"), [
    ("the largest number", "max"), ("the smallest value", "min"),
    ("every number greater than 5", ">5"), ("the numbers less than -2", "<-2"),
    ("all numbers at least 10", ">=10"), ("all the even numbers", "even"),
    ("every number bigger than seven", ">7"), ("the larger one", "max"),
    ("numbers under 4", "<4"), ("at most three", "<=3"),
    ("the prime numbers", "prime"), ("the numbers", None),
])
def test_which_numbers_a_request_picks(text: str, pick: str | None) -> None:
    assert numbers.pick_of(text) == pick


def test_the_numbers_a_request_picks_are_clicked() -> None:
    img, drawn = _page([((100, 60), "3", FONT), ((20, 90), "12", FONT), ((60, 150), "-7", BOLD),
                        ((120, 170), "8", FONT)])
    shown = numbers.shown_numbers(find_elements(img), _Reader(drawn))
    assert [n.value for n in numbers.picked(shown, "max")] == [12]
    assert [n.value for n in numbers.picked(shown, "min")] == [-7]
    assert sorted(n.value for n in numbers.picked(shown, ">3")) == [8, 12]
    assert sorted(n.value for n in numbers.picked(shown, "even")) == [8, 12]
    assert numbers.picked(shown, "==4") == []
    text = "Click the largest number."
    agent = GuiAgent(text_reader=_Reader(drawn), semantic=False)  # type: ignore[arg-type]
    agent.reset(text)
    step = agent.decide(Observation(img, text))
    box = next(b for b, t in drawn if t == "12")
    assert step.action.kind == "click" and box[0] - 2 <= step.action.x <= box[2] + 2
    assert not agent.pending


def test_on_a_still_page_each_figure_is_clicked_once() -> None:
    text = "Click as many circles as possible."
    agent = GuiAgent(text_reader=_Reader([((0, 0, 1, 1), "")]), semantic=False)  # type: ignore[arg-type]
    agent.reset(text)
    page = _discs([(40, 100), (110, 150)])  # clicking them changes nothing
    steps = [agent.decide(Observation(page, text)).action for _ in range(6)]
    clicks = sorted((round(a.x), round(a.y)) for a in steps if a.kind == "click")
    assert len(clicks) == 2 and abs(clicks[0][0] - 40) <= 2 and abs(clicks[1][0] - 110) <= 2
    assert steps[-1].kind == "done"


def test_words_are_clicked_in_alphabetical_order() -> None:
    assert numbers.order_of("the words in alphabetical order") == ("alphabetical",
                                                                    "in alphabetical order")
    text = "Click the words in alphabetical order."
    (intent,) = parse_instruction(text).intents
    assert intent.order == "alphabetical" and intent.kinds == ("text", "link")
    img, drawn = _page([((100, 60), "pear", FONT), ((20, 90), "apple", FONT),
                        ((60, 150), "Mango", FONT)])
    agent = GuiAgent(text_reader=_Reader(drawn), semantic=False)  # type: ignore[arg-type]
    agent.reset(text)
    first = agent.decide(Observation(img, text))
    points = [(first.action.x, first.action.y)] + [(a.x, a.y) for a in agent.pending]
    centre = {t: ((b[0] + b[2]) / 2, (b[1] + b[3]) / 2) for b, t in drawn}
    assert len(points) == 3
    for (x, y), want in zip(points, ("apple", "Mango", "pear"), strict=True):
        assert abs(x - centre[want][0]) <= 4 and abs(y - centre[want][1]) <= 4


def test_an_item_not_on_screen_opens_the_submenus_by_hover_then_by_click() -> None:
    from lavr.episodes.gui.instruction import Intent
    from lavr.episodes.gui.perception import ScreenElement, ScreenParse

    img = np.full((210, 160, 3), 255, np.uint8)
    parse = ScreenParse(img, [ScreenElement("text", (10, 60, 70, 70), text="Save"),
                              ScreenElement("text", (10, 77, 70, 87), text="Playbac >"),
                              ScreenElement("text", (10, 94, 70, 104), text="0 Zoom In")],
                        banner=(0, 0, 160, 50))
    agent = GuiAgent(text_reader=_Reader([((0, 0, 1, 1), "")]), semantic=False)  # type: ignore[arg-type]
    agent.reset('Click on the item labeled "Prev".')
    intent = Intent("click", target="Prev", kinds=("text",))
    first = agent._explore(intent, parse, img)
    assert first is not None and first.action.kind == "move" and abs(first.action.y - 82) <= 1
    agent._hovered = None
    second = agent._explore(intent, parse, img)
    assert second is not None and second.action.kind == "click" and abs(second.action.y - 82) <= 1
    assert agent._explore(intent, parse, img) is None  # nothing else opens
    # a button or link ending with an arrow is hovered, never clicked: it goes on, not opens
    parse = ScreenParse(img, [ScreenElement("button", (10, 150, 70, 170), text="Next >"),
                              ScreenElement("link", (90, 150, 150, 160), text="More >")],
                        banner=(0, 0, 160, 50))
    agent.reset('Click on the item labeled "Prev".')
    kinds = []
    while (step := agent._explore(intent, parse, img)) is not None and len(kinds) < 6:
        kinds.append(step.action.kind)
        agent._hovered = None
    assert "move" in kinds and "click" not in kinds


def test_an_example_drawn_as_a_second_grid_of_checkboxes() -> None:
    from lavr.episodes.gui.patterns import checkbox_example, lattices

    img = np.full((210, 160, 3), 255, np.uint8)
    on = ["#.", ".#", "##"]

    def box(x: int, y: int, checked: bool) -> tuple[int, int, int, int]:
        img[y:y + 13, x:x + 13] = (118, 118, 118)
        img[y + 1:y + 12, x + 1:x + 12] = (0, 117, 255) if checked else (255, 255, 255)
        return (x, y, x + 13, y + 13)

    boxes = [box(10 + 17 * c, 60 + 17 * r, False) for r in range(3) for c in range(2)]
    boxes += [box(90 + 17 * c, 60 + 17 * r, on[r][c] == "#") for r in range(3) for c in range(2)]
    tables = lattices(boxes)
    assert len(tables) == 2
    pair = checkbox_example(img, tables)
    assert pair is not None
    grid, example = pair
    assert grid[0][0] == boxes[0]
    assert ["".join("#" if v else "." for v in row) for row in example] == on
    assert checkbox_example(img, tables[:1]) is None


def test_an_icon_without_a_label_is_found_from_its_picture_too() -> None:
    from lavr.episodes.gui.skills import leading_marks, pictured_mark

    img, lines = _menu_page("play", [("disk", "Save")])
    img = img.copy()
    for k, icon in enumerate(("stop", "play", "zoom-in")):  # a toolbar of bare icons
        img[150:159, 20 + 30 * k:29 + 30 * k][_icon(icon)] = (68, 68, 68)
    assert len(leading_marks(img, top=50)) == 1 and len(leading_marks(img, top=50, lone=True)) == 4
    found = pictured_mark(img, lines, img, top=50)
    assert found is not None and 50 <= found[0][0] < 59 and found[0][1] >= 150


def test_a_menu_left_open_without_the_item_clicked_is_tried_again() -> None:
    font = _font(FONT, 11)

    def menu(submenu: bool) -> tuple[np.ndarray, list]:
        im = Image.new("RGB", (160, 210), (255, 255, 255))
        draw = ImageDraw.Draw(im)
        draw.rectangle((0, 0, 159, 49), fill=(255, 255, 0))
        rows = [((10, 60), "Save"), ((10, 80), "Playback >")] + \
            ([((90, 80), "Next")] if submenu else [])
        drawn = []
        for (x, y), t in rows:
            draw.text((x, y), t, font=font, fill=(0, 0, 0))
            drawn.append((tuple(int(v) for v in draw.textbbox((x, y), t, font=font)), t))
        return np.asarray(im), drawn

    text = 'Click on the item labeled "Next".'
    opened, drawn = menu(True)
    closed, _ = menu(False)
    agent = GuiAgent(text_reader=_Reader(drawn), semantic=False)  # type: ignore[arg-type]
    agent.reset(text)
    first = agent.decide(Observation(opened, text))
    assert first.action.kind == "click" and first.action.x > 85
    # the submenu closed instead of taking the click; the menu is still open
    kinds = [agent.decide(Observation(closed, text)).action.kind for _ in range(3)]
    assert "move" in kinds and "done" not in kinds  # its submenu is opened again
