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
                                              ("", None), ("x7", None)])
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


def test_a_question_about_the_sides_of_the_shape_becomes_a_count_intent() -> None:
    plan = parse_instruction("Press the button that correctly denotes how many sides the shape has.")
    (intent,) = plan.intents
    assert intent.count and intent.part == "sides" and intent.kinds == ("button",)
    (intent,) = parse_instruction("How many corners does the polygon have?").intents
    assert intent.part == "sides"
    assert parse_instruction("How many red circles are there?").intents[0].part == ""
