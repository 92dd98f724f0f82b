"""Finding information in longer content: a form filled from a table by its labels, the last
word of a text area, an entry of a paged list and the value beside one of its labels, weak
text matches read again, and word forms told apart by the case of their first letter."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from lavr.episodes.gui.agent import CASE_SLIP, GuiAgent, _case_fit, _names_word
from lavr.episodes.gui.instruction import parse_instruction
from lavr.episodes.gui.reading import (
    area_lines,
    area_text,
    monospace_pitch,
    property_value,
)
from lavr.episodes.loop import Observation


class _Reader:
    """A fake text reader: the text drawn nearest each box's centre (by its centre)."""

    def __init__(self, texts: dict[tuple[int, int], str]) -> None:
        self.texts = texts
        self.zoom = 3.0

    def at_zoom(self, zoom: float) -> _Reader:
        return self

    def read(self, image, boxes, pad=2):
        out = []
        for x1, y1, x2, y2 in boxes:
            cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
            (px, py), t = min(self.texts.items(),
                              key=lambda kv: (kv[0][0] - cx) ** 2 + (kv[0][1] - cy) ** 2)
            out.append((t, 0.9) if abs(py - cy) < 6 and abs(px - cx) < 40 else ("", 0.0))
        return out


def _screen() -> tuple[Image.Image, ImageDraw.ImageDraw]:
    img = Image.new("RGB", (160, 210), (255, 255, 255))
    d = ImageDraw.Draw(img)
    d.rectangle([0, 0, 159, 49], fill=(255, 255, 0))
    return img, d


def _drive(agent: GuiAgent, image: np.ndarray, steps: int = 12) -> list:
    actions = []
    for _ in range(steps):
        step = agent.decide(Observation(image=image, instruction="x"), {})
        actions.append(step.action)
        if step.action.kind == "done":
            break
    return actions


# -- the grammar ----------------------------------------------------------------------------
def test_each_label_value_request_plans_a_fill_from_the_page_then_submit() -> None:
    plan = parse_instruction("Enter the value that corresponds with each label into the form "
                             "and submit vhen done.")
    assert [(i.op, i.source) for i in plan.intents] == [("fill", "lookup"), ("click", "")]
    assert plan.intents[1].target == "Submit" and plan.intents[1].kinds == ("button",)
    # a single label's value is still one typed value
    one = parse_instruction("Enter the value of Last name into the text field and press Submit.")
    assert (one.intents[0].op, one.intents[0].key) == ("type", "Last name")


def test_the_last_word_of_a_text_area_scrolls_it_then_types_from_it() -> None:
    plan = parse_instruction("Find the last word in the text area, enter it into the text field "
                             "and hit Submit.")
    ops = [(i.op, i.source, i.area) for i in plan.intents]
    assert ops == [("scroll", "", "textarea"), ("type", "word:-1", "textarea"), ("click", "", "")]
    assert plan.intents[0].text == "down"
    # the page's text, as before, when no area is named
    plain = parse_instruction("Find the 2nd word in the paragraph and type it into the textbox.")
    assert [(i.op, i.source, i.area) for i in plain.intents] == [("type", "word:2", "")]


@pytest.mark.parametrize(("text", "key", "scope"), [
    ("Find Casie in the contact book and click on their address.", "address", "Casie"),
    ("Find Verile in the contact book and click on their phone number", "phone number", "Verile"),
    ("Locate Bo in the list and click his email:", "email", "Bo"),
])
def test_find_an_entry_then_click_a_property_of_it(text: str, key: str, scope: str) -> None:
    plan = parse_instruction(text)
    assert len(plan.intents) == 1
    i = plan.intents[0]
    assert (i.op, i.source, i.key, i.scope) == ("click", "lookup", key, scope)


def test_find_clauses_that_name_no_entry_are_unchanged() -> None:
    plan = parse_instruction('Use the textbox to enter "Rex" and press "Search", then find and '
                             "click the 3rd search result.")
    assert [i.op for i in plan.intents] == ["type", "click", "click"]
    assert not any(i.scope or i.source == "lookup" for i in plan.intents)


# -- a form filled from a table by its labels -------------------------------------------------
def _table_and_form() -> tuple[np.ndarray, dict[tuple[int, int], str]]:
    """A table of label and value cells, then a form whose field labels are two of them."""
    img, d = _screen()
    texts: dict[tuple[int, int], str] = {}
    rows = [("Gender", "Female"), ("Color", "teal"), ("Country", "Peru"), ("Last name", "Ono")]
    for r, (k, v) in enumerate(rows):
        y = 54 + r * 16
        for c, t in enumerate((k, v)):
            x = 4 + c * 76
            d.rectangle([x, y, x + 74, y + 14], outline=(200, 200, 200))
            d.text((x + 3, y + 2), t, fill=(0, 0, 0))
            texts[(x + 3 + 3 * len(t), y + 7)] = t
    for r, label in enumerate(("Country:", "Gender:")):
        y = 124 + r * 20
        d.text((4, y + 3), label, fill=(0, 0, 0))
        texts[(4 + 3 * len(label), y + 8)] = label
        d.rectangle([60, y, 150, y + 16], fill=(255, 255, 255), outline=(118, 118, 118))
    d.rectangle([4, 170, 60, 188], fill=(239, 239, 239), outline=(118, 118, 118))
    d.text((12, 174), "Submit", fill=(0, 0, 0))
    texts[(30, 179)] = "Submit"
    return np.asarray(img), texts


def test_each_empty_field_gets_the_value_its_label_has_in_the_table() -> None:
    image, texts = _table_and_form()
    agent = GuiAgent(text_reader=_Reader(texts), semantic=False)
    agent.reset("Enter the value that corresponds with each label into the form and submit "
                "when done.")
    actions = _drive(agent, image)
    typed = [(a.text, y) for a, y in zip(actions[1:], [b.y for b in actions], strict=False)
             if a.kind == "type"]
    # the field's own label ("Country:") is not the value's label: the table's cell is
    assert [t for t, _ in typed] == ["Peru", "Female"]
    assert [round(y) for _, y in typed] == [132, 152]  # (each into its own field)
    last = [a for a in actions if a.kind == "click"][-1]
    assert 170 <= last.y <= 188  # then Submit


# -- the last word of a text area --------------------------------------------------------------
MONO = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"


def _text_area(lines: list[str], *, grip: bool = True) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """A text area (a monospaced font, as browsers draw one) with a resize grip."""
    img, d = _screen()
    box = (4, 55, 156, 120)
    d.rectangle(box, fill=(255, 255, 255), outline=(118, 118, 118))
    font = ImageFont.truetype(MONO, 10)
    for k, line in enumerate(lines):
        d.text((8, 58 + 12 * k), line, fill=(0, 0, 0), font=font)
    if grip:  # two parallel / strokes in the corner
        for off in (3, 7):
            for t in range(off):
                d.point((box[2] - 3 - t, box[3] - 3 - off + t), fill=(102, 102, 102))
    return np.asarray(img), box


def test_area_lines_leave_out_the_grip_and_lines_cut_by_the_edges() -> None:
    image, box = _text_area(["Lorem ipsum dolor", "sit amet elit", "sed do"])
    lines = area_lines(image, box)
    assert len(lines) == 3
    assert lines[-1][2] < 60  # the last line ends with its word, not at the grip
    # a first line half scrolled out of view (cut by the area's top edge) is no line
    top = lines[0][1] + 5
    assert len(area_lines(image, (box[0], top - 2, box[2], box[3]))) == 2
    # a whole line that touches the edge is still a line
    assert len(area_lines(image, (box[0], lines[0][1] - 2, box[2], lines[-1][3] + 2))) == 3


def test_the_last_line_of_an_area_is_read_and_a_monospaced_misread_fixed() -> None:
    drawn = ["Cursus justo. Facilisis", "aliquam nisl viverra", "fermentum."]
    image, box = _text_area(drawn)
    lines = area_lines(image, box)

    class Reader:  # at 3x the last line loses a letter ('rm' read 'm'); 2x reads it whole
        zoom = 3.0

        def __init__(self, zoom: float = 3.0) -> None:
            self.zoom = zoom

        def at_zoom(self, zoom: float) -> Reader:
            return Reader(zoom)

        def read(self, image, boxes, pad=2):
            out = []
            for b in boxes:
                k = lines.index(b)
                text = drawn[k]
                if k == 2 and self.zoom != 2.0:
                    text = "fementum."
                out.append((text, 0.9))
            return out

    assert monospace_pitch(list(zip(lines, drawn, strict=True))) == pytest.approx(6.0, rel=0.1)
    assert area_text(image, box, Reader(), last=True) == "fermentum."
    assert area_text(image, box, Reader()) == " ".join(drawn)


def test_monospace_pitch_is_none_for_lines_of_unlike_widths_per_letter() -> None:
    lines = [((0, 0, 60, 8), "iiiiiiiiiiii"), ((0, 10, 100, 18), "mmmmmmmmmmmm"),
             ((0, 20, 80, 28), "abcdefghijkl")]
    assert monospace_pitch(lines) is None


def test_the_agent_types_the_last_word_of_the_area_into_the_other_field() -> None:
    img, d = _screen()
    area = (4, 55, 156, 110)
    d.rectangle(area, fill=(255, 255, 255), outline=(118, 118, 118))
    texts = {}
    for k, line in enumerate(["Nunc id auctor.", "Eget tortor."]):
        d.text((8, 60 + 12 * k), line, fill=(0, 0, 0))
        texts[(8 + 3 * len(line), 65 + 12 * k)] = line
    d.rectangle([4, 116, 130, 132], fill=(255, 255, 255), outline=(118, 118, 118))
    d.rectangle([4, 140, 60, 158], fill=(239, 239, 239), outline=(118, 118, 118))
    d.text((12, 144), "Submit", fill=(0, 0, 0))
    texts[(30, 149)] = "Submit"
    image = np.asarray(img)
    agent = GuiAgent(text_reader=_Reader(texts), semantic=False)
    agent.reset("Find the last word in the text area, enter it into the text field and hit "
                "Submit.")
    actions = _drive(agent, image)
    kinds = [a.kind for a in actions]
    assert kinds[:2] == ["scroll", "click"]  # (the area does not move: its end is in view)
    assert 116 <= actions[1].y <= 132  # the one-line field, not the area
    assert actions[2].kind == "type" and actions[2].text == "tortor"
    assert actions[3].kind == "click" and 140 <= actions[3].y <= 158


# -- an entry of a paged list, and the value beside one of its labels -------------------------
def test_property_value_finds_a_label_named_by_one_of_its_words() -> None:
    cells = [((6, 60, 40, 70), "Phone:"), ((46, 60, 110, 70), "531-159-6223"),
             ((6, 76, 40, 86), "Email:"), ((46, 76, 120, 86), "ann@mail.io")]
    assert property_value(cells, "phone number")[0] == "531-159-6223"
    assert property_value(cells, "email")[0] == "ann@mail.io"
    assert property_value(cells, "fax number") is None


class _Book:
    """A paged contact list: one entry a page (a name, then ``Phone:`` and ``Email:`` with
    their values as blue links), and a pager ``<  n  >`` of blue links under it."""

    def __init__(self, people: list[tuple[str, str, str]]) -> None:
        self.people = people
        self.page = 0
        self.clicked: list[tuple[float, float]] = []

    def screen(self) -> np.ndarray:
        img, d = _screen()
        self.texts: dict[tuple[int, int], str] = {}
        name, phone, email = self.people[self.page]
        d.text((6, 56), name, fill=(0, 0, 0))
        self.texts[(6 + 3 * len(name), 61)] = name
        for r, (label, value) in enumerate((("Phone:", phone), ("Email:", email))):
            y = 76 + 16 * r
            d.text((6, y), label, fill=(0, 0, 0))
            self.texts[(6 + 3 * len(label), y + 5)] = label
            d.text((46, y), value, fill=(0, 0, 238))
            d.line([(46, y + 11), (46 + 6 * len(value), y + 11)], fill=(0, 0, 238))
            self.texts[(46 + 3 * len(value), y + 5)] = value
        for x, t in ((50, "<"), (76, str(self.page + 1)), (100, ">")):
            d.text((x, 150), t, fill=(0, 0, 238))
            d.line([(x, 161), (x + 6, 161)], fill=(0, 0, 238))
            self.texts[(x + 3, 155)] = t
        return np.asarray(img)

    def read(self, image, boxes, pad=2):
        return _Reader(self.texts).read(image, boxes, pad)

    def click(self, x: float, y: float) -> None:
        self.clicked.append((x, y))
        if 145 <= y <= 165 and x >= 95 and self.page + 1 < len(self.people):
            self.page += 1


def test_the_agent_turns_pages_until_the_entry_shows_then_clicks_its_value() -> None:
    book = _Book([("Ann", "111-222-3333", "ann@x.io"), ("Bo", "444-555-6666", "bo@y.io"),
                  ("Cy", "777-888-9999", "cy@z.io")])
    agent = GuiAgent(text_reader=book, semantic=False)
    agent.reset("Find Cy in the contact book and click on their phone number.")
    for _ in range(10):
        step = agent.decide(Observation(image=book.screen(), instruction="x"), {})
        if step.action.kind == "click":
            book.click(step.action.x, step.action.y)
            if book.page == 2 and book.clicked[-1][1] < 140:
                break
        elif step.action.kind == "done":
            break
    assert book.page == 2, step.summary
    x, y = book.clicked[-1]
    assert 76 <= y <= 88 and x >= 46, step.summary  # Cy's phone number, not its label


# -- weak matches read again; case; short words --------------------------------------------
def test_case_fit_tells_word_forms_apart_by_a_first_letter_drawn_differently() -> None:
    assert _case_fit("Faucibus", "faucibus.") == CASE_SLIP
    assert _case_fit("faucibus.", "faucibus.") == 1.0
    assert _case_fit("Sed", "sed") == 1.0  # (S and s look alike: OCR may mix them up)
    assert _case_fit("Amet", "amet") == CASE_SLIP


def test_a_short_control_word_must_read_exactly() -> None:
    assert _names_word("id.", "rid") == 0.0
    assert _names_word("rid", "rid") == 1.0
    assert _names_word("Delet", "delete") >= 0.8


def test_a_weak_match_is_read_again_at_other_zooms() -> None:
    from lavr.episodes.gui.perception import ScreenElement, find_elements

    img, d = _screen()
    for x, word in ((10, "viverra"), (90, "tortor")):
        d.text((x, 80), word, fill=(0, 0, 238))
        d.line([(x, 91), (x + 6 * len(word), 91)], fill=(0, 0, 238))
    image = np.asarray(img)

    class Reader:
        def __init__(self, zoom: float = 3.0) -> None:
            self.zoom = zoom

        def at_zoom(self, zoom: float) -> Reader:
            return Reader(zoom)

        def read(self, image, boxes, pad=2):
            out = []
            for b in boxes:
                if b[0] < 60:
                    out.append(("viverra" if self.zoom == 2.0 else "vivena", 0.9))
                else:
                    out.append(("tortor", 0.9))
            return out

    agent = GuiAgent(text_reader=Reader(), semantic=False)
    links = [e for e in find_elements(image).elements if e.kind == "link"]
    assert len(links) == 2 and all(isinstance(e, ScreenElement) for e in links)
    agent.reset('Click on the link "viverra".')
    step = agent.decide(Observation(image=image, instruction="x"), {})
    assert step.action.kind == "click" and step.action.x < 60, step.summary


def test_the_gap_between_the_lines_of_a_highlighted_item_is_no_rule() -> None:
    from lavr.episodes.gui import skills

    img, d = _screen()
    for y in (90, 130, 170):  # the list's rules
        d.line([(0, y), (159, y)], fill=(200, 200, 200))
    d.rectangle([0, 131, 159, 169], fill=(225, 236, 250))  # the item under the pointer
    for y in (94, 134, 144):  # lines of text (short words), two in it two rows apart
        d.rectangle([6, y, 40, y + 7], fill=(0, 0, 0))
    d.rectangle([100, 133, 120, 167], fill=(90, 90, 90))  # its icons, beside both lines
    seps = skills.separators(np.asarray(img), top=50)
    assert seps == [90, 130, 170]


def test_a_word_initial_letter_drawn_alike_in_both_cases_takes_its_case_from_its_height() -> None:
    from lavr.episodes.gui.reading import case_by_height

    image, box = _text_area(["Aenean sit diam ut.", "Urna sed ac."])
    lines = area_lines(image, box)
    pitch = monospace_pitch([(lines[0], "Aenean sit diam ut."), (lines[1], "Urna sed ac. xx")]) \
        or (lines[0][2] - lines[0][0]) / 18.5
    assert case_by_height(image, lines[0], "Aenean sit diam Ut.", pitch) == "Aenean sit diam ut."
    assert case_by_height(image, lines[1], "Urna Sed ac.", pitch) == "Urna sed ac."
    assert case_by_height(image, lines[1], "urna sed ac.", pitch) == "Urna sed ac."
    assert case_by_height(image, lines[1], "Urna sed", pitch) == "Urna sed"  # (length unfit)


def test_a_table_cell_whose_text_wraps_is_one_cell_and_rows_stay_apart() -> None:
    from lavr.episodes.gui.reading import value_of, wrapped_cells

    cells = [((6, 58, 32, 66), "Color"), ((63, 58, 90, 66), "white"),
             ((6, 74, 41, 82), "Year of"), ((7, 85, 30, 93), "Birth"), ((64, 80, 87, 88), "1992"),
             ((7, 101, 27, 109), "Last"), ((7, 114, 34, 120), "name"),
             ((64, 107, 91, 115), "Elliott"), ((6, 128, 43, 136), "Gender"),
             ((63, 128, 86, 136), "Male"), ((6, 150, 45, 160), "Country"),
             ((64, 144, 150, 152), "Northern Mariana"), ((64, 155, 97, 163), "Islands")]
    joined = {t for _, t in wrapped_cells(cells)}
    assert {"Year of Birth", "Last name", "Northern Mariana Islands", "Color", "Gender"} <= joined
    assert value_of(cells, "Last name")[0] == "Elliott"
    assert value_of(cells, "Country")[0] == "Northern Mariana Islands"
    # the next row of a table (a cell of the other column starts beside it) is no continuation
    rows = [((7, 106, 55, 116), "Language"), ((94, 106, 123, 116), "Malay"),
            ((7, 122, 58, 130), "Last name"), ((93, 122, 137, 130), "Villarreal")]
    assert len(wrapped_cells(rows)) == 4


def test_the_label_and_value_lines_of_an_entry_are_not_one_wrapped_cell() -> None:
    from lavr.episodes.gui.reading import property_value, wrapped_cells

    cells = [((6, 96, 120, 104), "Phone: 531-159-6223"), ((6, 106, 138, 114), "Email: ann@x.io"),
             ((6, 116, 130, 124), "Address: 4330 Garcia Ct"), ((6, 126, 40, 134), "Unit 16")]
    assert len(wrapped_cells(cells)) == 4
    assert property_value(cells, "address")[0] == "4330 Garcia Ct"
    assert property_value(cells, "email")[0] == "ann@x.io"
