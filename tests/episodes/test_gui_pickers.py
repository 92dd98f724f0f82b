"""Widgets that open and then offer a choice: calendar date pickers and menus whose items
appear after an opening click (synthetic screens; real screen parser; no OCR model)."""

from __future__ import annotations

import calendar
import datetime as dt

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from lavr.episodes.gui import calendars, popups
from lavr.episodes.gui.agent import GuiAgent
from lavr.episodes.gui.instruction import parse_instruction
from lavr.episodes.gui.perception import find_elements
from lavr.episodes.loop import Observation

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


# -- dates in words --------------------------------------------------------------------------
@pytest.mark.parametrize(("text", "day"), [
    ("01/14/2016", dt.date(2016, 1, 14)), ("1/4/16", dt.date(2016, 1, 4)),
    ("2016-02-29", dt.date(2016, 2, 29)), ("January 14, 2016", dt.date(2016, 1, 14)),
    ("Sept 3rd 2015", dt.date(2015, 9, 3)), ("14 March 2016", dt.date(2016, 3, 14)),
    ("3rd of May, 2017", dt.date(2017, 5, 3)),
])
def test_parse_date_reads_the_usual_ways_of_writing_a_date(text: str, day: dt.date) -> None:
    assert calendars.parse_date(text) == day
    found = calendars.find_date(f"Select {text} as the date.")
    assert found is not None and found[0] == day


def test_parse_date_rejects_what_is_no_date() -> None:
    for text in ("13/40/2016", "2016-02-30", "Marchy 3 2016", "1:30 PM", "42"):
        assert calendars.parse_date(text) is None, text
    assert calendars.find_date("press the button 3 times") is None


def test_read_month_tolerates_ocr_slips_and_steps_count_months() -> None:
    assert calendars.read_month("December 2016") == (2016, 12)
    assert calendars.read_month("0 Decenber 2O16 0") == (2016, 12)  # arrows read as 0, O for 0
    assert calendars.read_month("Su Mo Tu We Th Fr Sa") is None
    assert calendars.read_month("March") is None  # no year
    assert calendars.months_between((2016, 12), dt.date(2016, 1, 14)) == -11
    assert calendars.months_between((2015, 11), dt.date(2017, 2, 1)) == 15


def test_grammar_makes_date_intents_and_opening_clicks() -> None:
    date, submit = parse_instruction("Select 01/14/2016 as the date and hit submit.").intents
    assert (date.op, date.text, date.target) == ("date", "2016-01-14", "date")
    assert submit.op == "click" and submit.target == "submit"
    (picked,) = parse_instruction("Pick March 3, 2016 in the calendar").intents
    assert (picked.op, picked.text) == ("date", "2016-03-03")
    (typed, _) = parse_instruction("Enter 12/31/2016 as the date and press submit").intents
    assert (typed.op, typed.text) == ("type", "12/31/2016")  # typing a date stays typing
    opener, item = parse_instruction('Expand the pie menu below and click on the item '
                                     'labeled "e".').intents
    assert opener.opens and opener.target == "pie menu"
    assert not item.opens and item.target == "e"


# -- a calendar drawn like a date picker -------------------------------------------------------
CELL_W, CELL_H, STEP_X, STEP_Y, LEFT, GRID_TOP = 15, 11, 17, 14, 5, 121


def _calendar_screen(year: int, month: int, *, field: bool = True) -> np.ndarray:
    """A banner, a date field, and under it a picker: a header bar with a round arrow at each
    end and the month's name, weekday initials, and one framed grey cell per day (Sunday
    first)."""
    img = Image.new("RGB", (160, 210), "white")
    d = ImageDraw.Draw(img)
    d.rectangle((0, 0, 159, 49), fill=(255, 255, 0))
    font = ImageFont.truetype(FONT, 8)
    if field:
        d.rectangle((4, 65, 127, 81), outline=(0, 0, 0), fill="white")
    d.rectangle((5, 87, 122, 104), fill=(233, 233, 233))
    d.ellipse((8, 90, 19, 101), fill=(60, 60, 60))
    d.ellipse((108, 90, 119, 101), fill=(60, 60, 60))
    d.text((34, 90), f"{calendar.month_name[month]} {year}", fill=(0, 0, 0), font=font)
    for i, name in enumerate("SMTWTFS"):
        d.text((LEFT + 5 + i * STEP_X, 107), name, fill=(0, 0, 0), font=font)
    start = (dt.date(year, month, 1).weekday() + 1) % 7  # Sunday first
    for day in range(1, calendar.monthrange(year, month)[1] + 1):
        row, col = divmod(start + day - 1, 7)
        x, y = LEFT + col * STEP_X, GRID_TOP + row * STEP_Y
        d.rectangle((x, y, x + CELL_W - 1, y + CELL_H - 1), fill=(230, 230, 230),
                    outline=(197, 197, 197))
        d.text((x + 4, y + 1), str(day), fill=(90, 90, 90), font=ImageFont.truetype(FONT, 7))
    return np.asarray(img)


def _cell_of(year: int, month: int, day: int) -> tuple[float, float]:
    start = (dt.date(year, month, 1).weekday() + 1) % 7
    row, col = divmod(start + day - 1, 7)
    return LEFT + col * STEP_X + CELL_W / 2, GRID_TOP + row * STEP_Y + CELL_H / 2


class _MonthReader:
    """A text reader that reads a month's name and year on the header's title (the one
    line between the weekday initials' row and the field), nothing elsewhere (no OCR model)."""

    def __init__(self, text: str = "") -> None:
        self.text = text

    def read(self, image: np.ndarray, boxes, *, pad: int = 2):
        return [(self.text if 87 <= b[1] and b[3] <= 104 else "", 0.99) for b in boxes]


def test_find_calendar_sees_the_grid_its_header_and_arrows() -> None:
    parse = find_elements(_calendar_screen(2016, 3))
    cal = calendars.find_calendar(parse)
    assert cal is not None and len(cal.cells) == 31 and len(cal.columns) == 7
    assert cal.prev is not None and cal.prev[0] <= 12 and cal.next is not None and cal.next[2] >= 116
    assert cal.title is not None and cal.prev[2] < cal.title[0] < cal.title[2] < cal.next[0]
    x1, y1, x2, y2 = cal.day_cell(2016, 3, 14)
    assert abs((x1 + x2) / 2 - _cell_of(2016, 3, 14)[0]) <= 1
    assert abs((y1 + y2) / 2 - _cell_of(2016, 3, 14)[1]) <= 1
    # a page with buttons but no grid of seven columns is no calendar
    assert calendars.find_calendar(find_elements(np.full((210, 160, 3), 255, np.uint8))) is None


def test_day_cell_by_weekday_when_the_grid_shows_other_months_days_too() -> None:
    cells = [(5 + c * 17, 121 + r * 14, 20 + c * 17, 132 + r * 14) for r in range(6) for c in range(7)]
    cal = calendars.Calendar(cells=tuple(cells), columns=tuple(12.5 + c * 17 for c in range(7)),
                             rows=tuple(126.5 + r * 14 for r in range(6)), title=None, prev=None,
                             next=None, box=(5, 121, 122, 216))
    # 1 March 2016 is a Tuesday: row 0, column 2 (Sunday first); the 14th is row 2, column 1
    assert cal.day_cell(2016, 3, 1) == cells[2]
    assert cal.day_cell(2016, 3, 14) == cells[2 * 7 + 1]
    assert cal.day_cell(2016, 3, 32) is None


def test_agent_steps_the_arrows_toward_the_month_then_clicks_the_day() -> None:
    reader = _MonthReader("March 2016")
    agent = GuiAgent(text_reader=reader, semantic=False)
    said = "Select 01/14/2016 as the date and hit submit."
    agent.reset(said)
    step = agent.decide(Observation(_calendar_screen(2016, 3), said))
    assert step.action.kind == "click" and step.action.x < 20 and 90 <= step.action.y <= 102
    assert "2 month(s) back" in step.summary
    reader.text = "February 2016"  # the header is read again after each click
    step = agent.decide(Observation(_calendar_screen(2016, 2), said))
    assert step.action.kind == "click" and step.action.x < 20 and "1 month(s) back" in step.summary
    reader.text = "January 2016"
    step = agent.decide(Observation(_calendar_screen(2016, 1), said))
    x, y = _cell_of(2016, 1, 14)
    assert step.action.kind == "click" and abs(step.action.x - x) <= 1 and abs(step.action.y - y) <= 1
    assert agent._intents[0].target == "submit"  # the date is chosen; submit comes next
    # going forward uses the other arrow
    reader.text = "March 2016"
    agent.reset("Select 05/02/2016 as the date")
    step = agent.decide(Observation(_calendar_screen(2016, 3), "Select 05/02/2016 as the date"))
    assert step.action.x > 100 and "2 month(s) on" in step.summary


def test_agent_opens_the_picker_from_its_field_else_types_the_date() -> None:
    screen = _calendar_screen(2016, 3).copy()
    screen[86:] = 255  # the picker is closed
    agent = GuiAgent(text_reader=_MonthReader(""), semantic=False)
    said = "Select 01/14/2016 as the date"
    agent.reset(said)
    step = agent.decide(Observation(screen, said))
    assert step.action.kind == "click" and 65 <= step.action.y <= 81 and "open the picker" in step.summary
    kinds = [agent.decide(Observation(screen, said)).action.kind for _ in range(2)]
    assert kinds == ["wait", "wait"]  # no calendar shows yet
    step = agent.decide(Observation(screen, said))  # none came: the field takes the date typed
    assert step.action.kind == "click" and agent._pending[0].text == "01/14/2016"


# -- a menu that opens into a ring of labelled slices -----------------------------------------
RING = {"P": (80, 75), "y": (118, 105), "e": (118, 150), "f": (80, 178), "2": (42, 150),
        "Y": (42, 105)}


def _menu_screens() -> tuple[np.ndarray, np.ndarray]:
    """Before: a banner and a round dark button. After: a ring of orange slices around it,
    one label each (dark, one white on a darker slice)."""
    before = Image.new("RGB", (160, 210), "white")
    d = ImageDraw.Draw(before)
    d.rectangle((0, 0, 159, 49), fill=(255, 255, 0))
    d.ellipse((61, 111, 99, 149), fill=(70, 70, 70))
    after = before.copy()
    d = ImageDraw.Draw(after)
    for i, start in enumerate(range(-120, 240, 60)):
        d.pieslice((18, 65, 142, 195), start, start + 60,
                   fill=(227, 76, 38) if i % 2 else (240, 101, 41))
    d.ellipse((55, 105, 105, 155), fill="white")
    d.ellipse((61, 111, 99, 149), fill=(70, 70, 70))
    font = ImageFont.truetype(FONT, 16)
    for label, (x, y) in RING.items():
        d.text((x, y), label, fill="white" if label == "f" else (51, 51, 51), font=font,
               anchor="mm")
    return np.asarray(before), np.asarray(after)


class _RingReader:
    """A text reader that knows which label is drawn nearest each box (no OCR model)."""

    def read(self, image: np.ndarray, boxes, *, pad: int = 2):
        out = []
        for b in boxes:
            cx, cy = (b[0] + b[2]) / 2, (b[1] + b[3]) / 2
            label, (x, y) = min(RING.items(), key=lambda t: abs(t[1][0] - cx) + abs(t[1][1] - cy))
            out.append((label if abs(x - cx) + abs(y - cy) <= 8 else "", 0.9))
        return out


def test_appeared_labels_finds_every_label_dark_or_light() -> None:
    before, after = _menu_screens()
    boxes, ink = popups.appeared_labels(before, after, top=50)
    centres = [((b[0] + b[2]) / 2, (b[1] + b[3]) / 2) for b in boxes]
    for label, (x, y) in RING.items():
        assert any(abs(cx - x) <= 4 and abs(cy - y) <= 5 for cx, cy in centres), label
    assert len(boxes) <= len(RING) + 1
    assert ink.shape == after.shape[:2] and popups.ink_picture(ink)[ink].max() == 0
    assert popups.appeared_labels(before, before, top=50)[0] == []  # nothing changed


def test_case_by_height_and_label_similarity() -> None:
    boxes = [(0, 0, 8, 16), (10, 4, 18, 16), (20, 0, 28, 16)]
    assert popups.case_by_height([("Z", 0.2), ("Z", 0.2), ("z", 0.3)], boxes) == ["Z", "z", "Z"]
    assert popups.label_similarity("Z", "2") == 0.9  # a target read as a digit look-alike
    assert popups.label_similarity("2", "2") > popups.label_similarity("Z", "2")
    assert popups.label_similarity("P", "e") < 0.5
    assert 0.8 <= popups.label_similarity("w", "v") < popups.label_similarity("v", "v")


def test_agent_opens_the_menu_then_chooses_among_what_appeared() -> None:
    before, after = _menu_screens()
    agent = GuiAgent(text_reader=_RingReader(), semantic=False)
    said = 'Expand the pie menu below and click on the item labeled "e".'
    agent.reset(said)
    step = agent.decide(Observation(before, said))
    assert step.action.kind == "click" and abs(step.action.x - 80) <= 2 and abs(step.action.y - 130) <= 2
    step = agent.decide(Observation(after, said))
    while step.action.kind == "wait":  # the layout changed: settle first
        step = agent.decide(Observation(after, said))
    x, y = RING["e"]
    assert step.action.kind == "click" and abs(step.action.x - x) <= 4 and abs(step.action.y - y) <= 5
    assert "appeared" in step.summary
    # the page took no notice (the menu is still open, the label still there): reopen, click again
    step = agent.decide(Observation(after, said))
    assert step.action.kind == "click" and abs(step.action.x - 80) <= 2 and "reopen" in step.summary
    opener, again = agent._pending  # then open it again and click the label at once
    assert abs(opener.x - 80) <= 2 and abs(again.x - x) <= 4 and abs(again.y - y) <= 5


def test_agent_tries_the_month_keys_once_in_the_field_it_opened_then_arrows() -> None:
    reader = _MonthReader("")
    agent = GuiAgent(text_reader=reader, semantic=False)
    said = "Select 01/14/2016 as the date"
    agent.reset(said)
    closed = _calendar_screen(2016, 3).copy()
    closed[86:] = 255
    assert "open the picker" in agent.decide(Observation(closed, said)).summary
    reader.text = "March 2016"
    step = agent.decide(Observation(_calendar_screen(2016, 3), said))
    assert (step.action.kind, step.action.key, step.action.amount) == ("key", "<PageUp>", 2)
    # the header did not move: the keys do nothing here, the arrows take over
    step = agent.decide(Observation(_calendar_screen(2016, 3), said))
    assert step.action.kind == "click" and step.action.x < 20 and "previous arrow" in step.summary
