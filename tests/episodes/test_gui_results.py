"""Multi-field forms and choosing among results by a criterion (pure; no browser, no OCR model)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from lavr.episodes.gui.agent import GuiAgent
from lavr.episodes.gui.instruction import parse_instruction
from lavr.episodes.gui.language import assign_fields
from lavr.episodes.gui.perception import find_elements
from lavr.episodes.gui.results import (
    Criterion,
    best_index,
    find_criterion,
    read_quantity,
    vertical_shift,
    without_criterion,
)
from lavr.episodes.gui.widgets import augment
from lavr.episodes.loop import Observation

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


# -- the criterion ---------------------------------------------------------------------
@pytest.mark.parametrize(("text", "quantity", "direction"), [
    ("Reserve the cheapest room in Oslo", "price", -1),
    ("pick the most expensive wine", "price", 1),
    ("Choose the least expensive plan", "price", -1),
    ("take the shortest trip to Rome", "duration", -1),
    ("the longest film", "duration", 1),
    ("the earliest train", "time", -1),
    ("the latest bus", "time", 1),
    ("the largest file", "number", 1),
])
def test_superlatives_name_a_quantity_and_a_direction(text: str, quantity: str,
                                                      direction: int) -> None:
    crit = find_criterion(text)
    assert crit is not None and (crit.quantity, crit.direction) == (quantity, direction)


def test_no_superlative_no_criterion_and_it_leaves_the_request() -> None:
    assert find_criterion("Look for jazz albums produced by Mingus") is None
    crit = find_criterion("Reserve the cheapest room in Oslo")
    assert crit is not None
    assert without_criterion("Reserve the cheapest room in Oslo", crit) == "Reserve the room in Oslo"


@pytest.mark.parametrize(("text", "quantity", "value"), [
    ("Reserve for $220", "price", 220.0), ("Buy for S1,020", "price", 1020.0),
    ("for $22O", "price", 220.0), ("price: 99.50 USD", "price", 99.5),
    ("17h 47m", "duration", 17 * 60 + 47), ("1h 5m", "duration", 65), ("45m", "duration", 45),
    ("2 hours", "duration", 120), ("9:10 AM", "time", 550), ("12:05 PM", "time", 725),
    ("12:30 AM", "time", 30), ("21:37", "time", 1297), ("Fri Dec 23 2016", "duration", None),
    ("3:23 PM", "duration", None), ("Duration:", "duration", None), ("no price", "price", None),
    ("about 42 files", "number", 42.0),
    ("1h 4Sm", "duration", 105), ("l7h 47m", "duration", 1067), ("4.52 PM", "time", 1012),
    ("Ilh 31m", "duration", 11 * 60 + 31), ("Sh Om", "duration", 300),
    ("14n 42m", "duration", 14 * 60 + 42), ("3h 2lm", "duration", 201), ("7 men", "duration", None),
])
def test_quantities_are_read_as_ocr_gives_them(text: str, quantity: str,
                                               value: float | None) -> None:
    assert read_quantity(text, quantity) == value


def test_best_index_by_direction_skips_unread_values() -> None:
    low, high = Criterion("cheapest", "price", -1), Criterion("longest", "duration", 1)
    assert best_index([300.0, None, 120.0, 500.0], low) == 2
    assert best_index([300.0, None, 120.0, 500.0], high) == 3
    assert best_index([120.0, 120.0], low) == 0  # the first of equals
    assert best_index([None, None], low) is None


# -- the request --------------------------------------------------------------------------
def test_a_request_with_a_superlative_fills_submits_then_chooses() -> None:
    plan = parse_instruction("Reserve the cheapest two-bed room from: Oslo, Norway to: "
                             "BGO on 12/23/2016.")
    fill, submit, choose = plan.intents
    assert fill.op == "fill" and "cheapest" not in fill.text and "Oslo, Norway" in fill.text
    assert (submit.op, submit.target, submit.best) == ("click", "Reserve", "")
    assert (choose.op, choose.target, choose.best) == ("click", "Reserve", "cheapest")


def test_a_request_without_one_still_fills_and_submits() -> None:
    plan = parse_instruction("Look for jazz albums produced by Mingus from year 1959.")
    assert [i.op for i in plan.intents] == ["fill", "click"]
    assert not any(i.best for i in plan.intents)


def test_fields_take_values_as_written_and_a_date_goes_to_the_date_field() -> None:
    request = "Reserve the two-bed room from: Oslo, Norway to: BGO on 12/23/2016"
    got = assign_fields(request, ["From:", "To:", ""], skip=["Reserve"])
    assert got == {0: "Oslo, Norway", 1: "BGO", 2: "12/23/2016"}
    got = assign_fields(request, ["Check-in date", "To:", "From:"], skip=["Reserve"])
    assert got == {2: "Oslo, Norway", 1: "BGO", 0: "12/23/2016"}
    # OCR reads the comma of a bold name as a semicolon: the value is typed with its comma
    got = assign_fields("Reserve the room from: Oslo; Norway to: BGO", ["From:", "To:"],
                        skip=["Reserve"])
    assert got == {0: "Oslo, Norway", 1: "BGO"}


# -- the screen -----------------------------------------------------------------------------
def _shaded_button(d: ImageDraw.ImageDraw, box: tuple[int, int, int, int], text: str,
                   font: ImageFont.FreeTypeFont) -> None:
    x1, y1, x2, y2 = box
    for y in range(y1 + 1, y2):  # a gradient face, light to dark orange, in a grey frame
        t = (y - y1) / (y2 - y1)
        d.line([(x1 + 1, y), (x2 - 1, y)], fill=(253 - int(16 * t), 215 - int(31 * t),
                                                  116 - int(70 * t)))
    d.rectangle(box, outline=(179, 179, 179))
    d.text((x1 + 12, y1 + 3), text, fill=(0, 0, 0), font=font)


def test_a_button_with_a_shaded_face_is_a_button_and_a_white_panel_is_not() -> None:
    font = ImageFont.truetype(FONT, 11)
    img = Image.new("RGB", (160, 210), (235, 240, 246))
    d = ImageDraw.Draw(img)
    d.rectangle([0, 0, 159, 49], fill=(255, 255, 0))
    _shaded_button(d, (5, 150, 130, 168), "Search", font)
    d.rectangle((5, 60, 130, 100), fill=(255, 255, 255), outline=(120, 120, 120))
    d.text((10, 70), "Depart 3:23 PM", fill=(0, 0, 0), font=font)
    parse, _ = augment(find_elements(np.asarray(img)))
    buttons = parse.of_kind("button")
    assert [b.box for b in buttons] == [(5, 150, 131, 169)], buttons
    (line,) = buttons[0].text_boxes
    assert 12 <= line[0] - 5 <= 20 and line[2] < 70  # the label, not the face's darker rows
    assert not any(e.kind == "text" and e.box[1] >= 149 for e in parse.elements)


def test_a_shaded_face_cut_in_two_by_its_label_is_one_button() -> None:
    """A label as tall as the face (``$`` reaches below it, ``B`` and ``f`` above it) cuts
    the face into parts side by side: they are one button, not none."""
    font = ImageFont.truetype(FONT, 13)
    img = Image.new("RGB", (160, 210), (235, 240, 246))
    d = ImageDraw.Draw(img)
    d.rectangle([0, 0, 159, 49], fill=(255, 255, 0))
    for k, label in enumerate(["Book for $1300", "Book for $1844"]):
        x1, y1, x2, y2 = 29, 80 + 40 * k, 129, 92 + 40 * k  # a face 11 px tall
        for y in range(y1 + 1, y2):
            t = (y - y1) / (y2 - y1)
            d.line([(x1 + 1, y), (x2 - 1, y)], fill=(253 - int(16 * t), 215 - int(31 * t),
                                                      116 - int(70 * t)))
        d.rectangle((x1, y1, x2, y2), outline=(179, 179, 179))
        d.text((x1 + 8, y1), label, fill=(0, 0, 0), font=font)
    parse, _ = augment(find_elements(np.asarray(img)))
    buttons = parse.of_kind("button")
    assert len(buttons) == 2, parse.elements
    assert all(b.width >= 99 and b.box[0] <= 30 for b in buttons)


@pytest.mark.parametrize("name", ["results-shaded-faces-a.png", "results-shaded-faces-b.png"])
def test_a_shaded_face_whose_label_opens_its_rows_keeps_the_whole_label(name: str) -> None:
    """Screenshots of three result cards whose shaded buttons read ``Book for $479``: a
    dithered top row, or a glyph reaching the face's bottom rows, leaves gaps of a pixel or
    three; each face is still a button, and its text boxes hold the price too."""
    img = np.asarray(Image.open(Path(__file__).parent / "data" / name).convert("RGB"))
    parse, _ = augment(find_elements(img))
    buttons = parse.of_kind("button")
    assert len(buttons) == 3, parse.elements
    for b in buttons:
        assert b.text_boxes and max(t[2] for t in b.text_boxes) >= b.box[2] - 15, b


def test_a_price_misread_with_a_lower_case_s_for_its_dollar() -> None:
    assert read_quantity("CBook for s897", "price") == 897.0
    assert read_quantity("mass 5", "price") is None


def test_vertical_shift_measures_a_scroll() -> None:
    rng = np.random.default_rng(0)
    page = rng.integers(0, 255, (400, 60, 3), dtype=np.uint8)
    top = np.full((20, 60, 3), 200, np.uint8)  # a fixed banner

    def view(offset: int) -> np.ndarray:
        return np.concatenate([top, page[offset:offset + 140]])

    assert vertical_shift(view(0), view(50), top=20, most=60) == 50
    assert vertical_shift(view(90), view(40), top=20, most=-60) == -50  # a scroll up
    assert vertical_shift(view(30), view(30), top=20, most=60) == 0


# -- the agent choosing among results on a scrolling page ------------------------------------
class _Page:
    """A results page taller than the view: cards with a duration and a shaded button
    ``Reserve for $N``; scrolling moves the content under a fixed banner; texts are read
    back by where they were drawn (a fake OCR)."""

    BANNER = 50
    VIEW = 160

    def __init__(self, rows: list[tuple[str, int]]) -> None:
        font = ImageFont.truetype(FONT, 10)
        self.height = 20 + 120 * len(rows)
        self.content = Image.new("RGB", (160, self.height), (235, 240, 246))
        d = ImageDraw.Draw(self.content)
        self.texts: list[tuple[tuple[int, int], str]] = []
        for i, (duration, price) in enumerate(rows):
            y = 20 + 120 * i
            d.rectangle((4, y, 150, y + 110), fill=(255, 255, 255))
            for j, line in enumerate(("Depart:", "3:23 PM", "Duration:", duration)):
                d.text((10, y + 8 + 16 * j), line, fill=(0, 0, 0), font=font)
                self.texts.append(((10, y + 8 + 16 * j), line))
            _shaded_button(d, (12, y + 76, 138, y + 100), f"Reserve for ${price}", font)
            self.texts.append(((24, y + 79), f"Reserve for ${price}"))
        self.offset = 0
        self.clicked: tuple[float, float] | None = None

    def screen(self) -> np.ndarray:
        img = Image.new("RGB", (160, self.BANNER + self.VIEW), (255, 255, 0))
        img.paste(self.content.crop((0, self.offset, 160, self.offset + self.VIEW)),
                  (0, self.BANNER))
        return np.asarray(img)

    def scroll(self, amount: int) -> None:
        self.offset = max(0, min(self.offset + amount, self.height - self.VIEW))

    def read(self, image, boxes, pad=2):
        out = []
        for x1, y1, x2, y2 in boxes:
            cy = (y1 + y2) / 2 - self.BANNER + self.offset  # content coordinates
            near = [t for (x, y), t in self.texts if abs(y + 6 - cy) <= 7 and x1 - 16 <= x <= x2]
            out.append((near[0], 0.9) if near else ("", 0.0))
        return out


@pytest.mark.parametrize(("request_", "best"), [
    ("Reserve the cheapest trip from: Oslo to: Rome", 2),
    ("Reserve the shortest trip from: Oslo to: Rome", 1),
    ("Reserve the longest trip from: Oslo to: Rome", 3),
])
def test_the_agent_scrolls_the_results_and_clicks_the_best_ones_button(request_: str,
                                                                       best: int) -> None:
    page = _Page([("5h 10m", 420), ("1h 45m", 610), ("9h 2m", 95), ("17h 47m", 300)])
    agent = GuiAgent(text_reader=page, semantic=False)
    agent.reset(request_)
    while agent._intents and agent._intents[0].best == "":
        agent._intents.popleft()  # the form is another test's: start at the results
    for _ in range(20):
        choice = agent.decide(Observation(image=page.screen(), instruction=request_))
        action = choice.action
        if action.kind == "scroll":
            page.scroll(action.amount)
        elif action.kind == "click":
            page.clicked = (action.x, action.y)
            break
        elif action.kind == "done":
            break
    assert page.clicked is not None, choice.summary
    x, y = page.clicked
    y_content = y - page.BANNER + page.offset
    assert 20 + 120 * best + 76 <= y_content <= 20 + 120 * best + 100, (choice.summary, best)


# -- suggestions under a typed field ---------------------------------------------------------
class _Lines:
    """A fake OCR: the text drawn at each row."""

    def __init__(self, texts: dict[int, str]) -> None:
        self.texts = texts

    def read(self, image, boxes, pad=2):
        return [(next((t for y, t in self.texts.items() if b[1] - 3 <= y <= b[3]), ""), 0.9)
                for b in boxes]


def _field_screen(popup: list[str], *, focus: bool = False) -> np.ndarray:
    font = ImageFont.truetype(FONT, 10)
    img = Image.new("RGB", (160, 210), (235, 240, 246))
    d = ImageDraw.Draw(img)
    d.rectangle([0, 0, 159, 49], fill=(255, 255, 0))
    d.rectangle((8, 84, 128, 101), fill=(255, 255, 255), outline=(0, 0, 0) if focus else (102,) * 3)
    d.rectangle((8, 108, 128, 125), fill=(255, 255, 255), outline=(102, 102, 102))
    d.text((12, 112), "To:", fill=(117, 117, 117), font=font)
    if popup:
        d.rectangle((8, 102, 130, 104 + 14 * len(popup)), fill=(255, 255, 255),
                    outline=(197, 197, 197))
        for i, line in enumerate(popup):
            d.text((12, 104 + 14 * i), line, fill=(51, 51, 51), font=font)
    return np.asarray(img)


def test_the_suggestion_holding_every_word_is_clicked_and_a_plain_field_goes_on() -> None:
    popup = ["Minot, ND (BOT)", "Anvik, AK (ANV)"]
    agent = GuiAgent(text_reader=_Lines({104: popup[0], 118: popup[1]}), semantic=False)
    agent.reset("x")
    agent._typed_box = (8, 84, 128, 101)
    agent._typed_before = _field_screen([])
    after = _field_screen(popup, focus=True)
    lines = agent._popped_lines(agent.perceive(after))
    assert [t for _, t in lines] == popup
    from lavr.episodes.gui.instruction import Intent

    agent._intents.clear()
    agent._intents.append(Intent("click", kinds=("text",), suggest="Anvik, AK"))
    choice = agent.decide(Observation(image=after, instruction="x"), {})
    assert choice.action.kind == "click" and 118 <= choice.action.y <= 131, choice.summary
    # none in view fits: the list is scrolled (the one that fits may be further down)
    agent._intents.appendleft(Intent("click", kinds=("text",), suggest="Rapid City"))
    step = agent.decide(Observation(image=after, instruction="x"), {})
    assert step.action.kind == "scroll" and step.action.amount > 0 and 102 <= step.action.y <= 132
    agent._intents.popleft()
    # a focus ring is no pop-up: the typing paused for a list, none came, the plan goes on
    agent._intents.append(Intent("click", kinds=("text",), suggest="Oslo"))
    plain = _field_screen([], focus=True)
    assert agent._popped_lines(agent.perceive(plain)) == []
    step = agent.decide(Observation(image=plain, instruction="x"), {})
    assert step.action.kind == "done" and not agent._intents  # nothing else was planned


def test_typing_a_value_that_may_be_suggested_pauses_for_the_list() -> None:
    from lavr.episodes.gui.instruction import Intent

    screen = _field_screen([])
    agent = GuiAgent(text_reader=_Lines({}), semantic=False)
    agent.reset("x")
    agent._intents.clear()
    agent._intents.extend([Intent("type", kinds=("input",), index=0, text="Oslo"),
                           Intent("click", kinds=("text",), suggest="Oslo")])
    click = agent.decide(Observation(image=screen, instruction="x"), {})
    typed = agent.decide(Observation(image=screen, instruction="x"), {})
    assert click.action.kind == "click" and 84 <= click.action.y <= 101
    assert (typed.action.kind, typed.action.text) == ("type", "Oslo")
    assert typed.action.amount >= 300  # ms to pause before the screen is seen again


# -- a date field's calendar whose month arrows are the size of a day cell -------------------
def test_a_calendar_whose_arrows_look_like_day_cells_is_still_found() -> None:
    from lavr.episodes.gui import calendars
    from lavr.episodes.gui.perception import ScreenElement, ScreenParse

    cells = []
    for day in range(1, 32):  # December 2016 starts on a Thursday (Sunday first)
        row, col = divmod(4 + day - 1, 7)
        x, y = 15 + 17 * col, 91 + 13 * row
        cells.append(ScreenElement("button", (x, y, x + 15, y + 11), (197, 197, 197)))
    arrows = [ScreenElement("button", (16, 60, 31, 71), (60, 60, 60)),
              ScreenElement("button", (116, 60, 131, 71), (60, 60, 60)),
              ScreenElement("button", (137, 140, 152, 151), (60, 60, 60))]  # a stray control
    parse = ScreenParse(image=np.full((210, 160, 3), 255, np.uint8), elements=cells + arrows)
    cal = calendars.find_calendar(parse)
    assert cal is not None and len(cal.columns) == 7 and len(cal.rows) == 5
    assert cal.day_cell(2016, 12, 23) == cells[22].box
    assert cal.day_cell(2016, 12, 1) == cells[0].box


def test_a_calendar_missing_its_first_week_row_still_maps_days_to_cells() -> None:
    from lavr.episodes.gui.calendars import Calendar

    # October 2016 (Sunday first) starts on a Saturday; the row of the 1st and the row of
    # the 30th and 31st were not seen: the grid shows the 2nd to the 29th in four rows
    cells = tuple((15 + 17 * c, 105 + 13 * r, 30 + 17 * c, 116 + 13 * r)
                  for r in range(4) for c in range(7))
    cal = Calendar(cells=cells, columns=tuple(22.5 + 17 * c for c in range(7)),
                   rows=tuple(110.5 + 13 * r for r in range(4)), title=None, prev=None,
                   next=None, box=(15, 105, 132, 168))
    assert cal.day_cell(2016, 10, 16) == cells[14]  # Sunday of the third row seen
    assert cal.day_cell(2016, 10, 2) == cells[0]
    assert cal.day_cell(2016, 10, 1) is None  # not on the screen
