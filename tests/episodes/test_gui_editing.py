"""Text handled as text: the grammar of copy / paste / highlight / style, paragraphs and
words on synthetic pages, the font-colour control, and the agent's actions for them."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from lavr.core_model.errors import InputError
from lavr.episodes.gui import editing
from lavr.episodes.gui.agent import GuiAgent
from lavr.episodes.gui.browser import split_chord
from lavr.episodes.gui.instruction import parse_instruction
from lavr.episodes.gui.model_rules import GuiRules
from lavr.episodes.gui.perception import ScreenElement, find_elements
from lavr.episodes.loop import Action, Observation

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


# -- grammar ------------------------------------------------------------------------------
def _ops(text: str) -> list[tuple]:
    return [(i.op, i.index, i.require_icon, i.target, i.text, i.colour)
            for i in parse_instruction(text).intents]


@pytest.mark.parametrize(("text", "want"), [
    ("Copy the text in the textarea below, paste it into the textbox and press Submit.",
     [("copy", None, True, "", "", ""), ("paste", None, False, "", "", "")]),
    ("Copy the text from the Znd text area below and paste it into the text input; then press "
     "Submit.", [("copy", 1, True, "", "", ""), ("paste", None, False, "", "", "")]),
    ("Copy the 2nd paragraph and paste it into the text box.",
     [("copy", 1, None, "", "", ""), ("paste", None, False, "", "", "")]),
    ("Copy the text from the text area into the search box.",
     [("copy", None, True, "", "", ""), ("paste", None, False, "", "", "")]),
    ("Highlight the text in the Ist paragraph and click submit:", [("highlight", 0, None, "", "", "")]),
    ("Select all the text of the last paragraph.", [("highlight", -1, None, "", "", "")]),
    ('Highlight "quick brown" and press OK.', [("highlight", None, None, "quick brown", "", "")]),
    ("Using the editor, give everything the style underlined and press Submit.",
     [("style", None, None, "", "underline", "")]),
    ("Using the editor, give the text eget. the style bold and press Submit.",
     [("style", None, None, "eget", "bold", "")]),
    ("Using the editor, give the text Est the style italics and press Submit.",
     [("style", None, None, "Est", "italic", "")]),
    ("Using the editor, give the text morbi the color red.",
     [("style", None, None, "morbi", "colour", "red")]),
    ("Make everything the colour blue and press Submit.",
     [("style", None, None, "", "colour", "blue")]),
    ('Make the word "lorem" bold, then click OK.', [("style", None, None, "lorem", "bold", "")]),
    ("Underline everything.", [("style", None, None, "", "underline", "")]),
    ("Change the colour of ipsum to green.", [("style", None, None, "ipsum", "colour", "green")]),
])
def test_text_edits_are_understood_in_several_wordings(text: str, want: list[tuple]) -> None:
    got = [g for g in _ops(text) if g[0] != "click"]
    assert got == want, parse_instruction(text).intents


@pytest.mark.parametrize("text", [
    "Copy the text shown into the input and press OK.",  # page text typed, not a field copied
    "Select the text field labelled Name.",
    'Select "Apple" from the list and click Submit.',
    "Enter the 2nd word into the text field.",
])
def test_other_requests_are_not_text_edits(text: str) -> None:
    assert not {i.op for i in parse_instruction(text).intents} & {"copy", "paste", "highlight",
                                                                   "style"}


# -- pixels: paragraphs, words, fields, the colour control ----------------------------------
def _page(paragraphs: list[list[str]], *, top: int = 60, pitch: int = 11,
          para_gap: int = 10) -> tuple[np.ndarray, list[list[int]]]:
    """A white page under a yellow banner with wrapped paragraphs; the top of every row."""
    font = ImageFont.truetype(FONT, 10)
    img = Image.new("RGB", (160, 210), (255, 255, 255))
    d = ImageDraw.Draw(img)
    d.rectangle((0, 0, 159, 49), fill=(255, 255, 0))
    y = top
    tops: list[list[int]] = []
    for para in paragraphs:
        tops.append([])
        for line in para:
            d.text((12, y), line, fill=(0, 0, 0), font=font)
            tops[-1].append(y)
            y += pitch
        y += para_gap
    return np.asarray(img), tops


def test_rows_are_grouped_into_paragraphs_by_their_spacing() -> None:
    image, tops = _page([["Lacus, interdum pulvinar", "imperdiet. Cursus."],
                         ["Non, donec morbi.", "Nunc id auctor."],
                         ["Scelerisque. Duis", "quisque in id", "senectus"]])
    blocks = editing.paragraphs(find_elements(image))
    assert [len(b) for b in blocks] == [2, 2, 3]
    for block, want in zip(blocks, tops, strict=True):
        assert all(abs(row[1] - t) <= 4 for row, t in zip(block, want, strict=True))


def test_two_rows_close_together_are_one_paragraph_and_far_apart_two() -> None:
    close, _ = _page([["Lacus, interdum", "pulvinar imperdiet."]])
    apart, _ = _page([["Lacus, interdum"], ["pulvinar imperdiet."]], para_gap=14)
    assert [len(b) for b in editing.paragraphs(find_elements(close))] == [2]
    assert [len(b) for b in editing.paragraphs(find_elements(apart))] == [1, 1]


def test_a_selection_sweeps_from_before_the_first_glyph_to_after_the_last() -> None:
    x, y, x2, y2 = editing.selection_drag((12, 100, 130, 110), (12, 111, 80, 121), width=160)
    assert (x, x2) == (11.0, 81.0) and y == 105.0 and y2 == 116.0
    assert editing.selection_drag((0, 5, 10, 9), (150, 5, 160, 9), width=160)[::2] == (0.0, 159.0)


class _RowReader:
    """A fake OCR: the text drawn on each row, by its top."""

    def __init__(self, rows: dict[int, str]) -> None:
        self.rows = rows

    def read(self, image, boxes, pad=2):
        return [(next((t for y, t in self.rows.items() if abs(b[1] - y) <= 4), ""), 0.9)
                for b in boxes]


def test_a_phrase_is_found_as_the_words_that_read_like_it() -> None:
    image, tops = _page([["Donec ridiculus eget.", "Magna lorem."]])
    parse = find_elements(image)
    rows = editing.paragraphs(parse)[0]
    reader = _RowReader({tops[0][0] + 2: "Donec ridiculus eget.", tops[0][1] + 2: "Magna lorem."})
    found = editing.find_phrase(image, rows, reader, "eget")
    assert found is not None and found.text == "eget."
    # the word's box starts after "ridiculus " and ends at the row's end
    assert rows[0][0] + 60 < found.first[0] and found.last[2] == rows[0][2]
    assert editing.find_phrase(image, rows, reader, "zebra") is None


def _field(box: tuple[int, int, int, int], icon: str = "") -> ScreenElement:
    return ScreenElement("input", box, icon=icon)


def test_text_areas_are_told_from_one_line_fields() -> None:
    fields = [_field((3, 53, 62, 82)), _field((3, 86, 67, 115), "grip"), _field((3, 155, 129, 174))]
    assert [editing.is_text_area(f, fields) for f in fields] == [True, True, False]
    assert editing.choose_field(fields, area=True, index=1).box == (3, 86, 67, 115)
    assert editing.choose_field(fields, area=False, index=None).box == (3, 155, 129, 174)
    # the field copied from is no place to paste into; no kind named: the first other one
    assert editing.choose_field(fields, area=None, index=None,
                                exclude=[(3, 53, 62, 82)]).box == (3, 86, 67, 115)
    assert editing.choose_field(fields, area=True, index=5) is None


def _toolbar(colour_bar: bool = True) -> np.ndarray:
    """A white page, banner, and a toolbar: an A over a bar, B, I and an underlined U."""
    font = ImageFont.truetype(FONT, 12)
    img = Image.new("RGB", (160, 210), (255, 255, 255))
    d = ImageDraw.Draw(img)
    d.rectangle((0, 0, 159, 49), fill=(255, 255, 0))
    d.rectangle((3, 53, 156, 78), outline=(204, 204, 204))
    d.text((13, 57), "A", fill=(60, 60, 60), font=font)
    if colour_bar:
        d.rectangle((11, 72, 24, 73), fill=(180, 180, 180))
    d.text((42, 57), "B", fill=(60, 60, 60), font=font)
    d.text((72, 57), "I", fill=(60, 60, 60), font=font)
    d.text((97, 57), "U", fill=(60, 60, 60), font=font)
    d.rectangle((96, 72, 108, 73), fill=(60, 60, 60))
    return np.asarray(img)


class _GlyphReader:
    """A fake OCR for the toolbar: the letter drawn at each x."""

    def read(self, image, boxes, pad=2):
        letters = {13: "A", 42: "B", 72: "I", 97: "U"}
        return [(next((t for x, t in letters.items() if abs(b[0] - x) <= 4), ""), 0.9)
                for b in boxes]


def test_the_colour_control_is_the_letter_a_over_a_bar() -> None:
    box = editing.colour_control(find_elements(_toolbar()), _GlyphReader())
    assert box is not None and abs(box[0] - 12) <= 3 and box[3] >= 72  # the bar is in it
    # an underlined U is a letter over a bar too, but it does not read A; no bar, no control
    assert editing.colour_control(find_elements(_toolbar(colour_bar=False)), _GlyphReader()) is None


# -- the agent ------------------------------------------------------------------------------
def _run(agent: GuiAgent, image: np.ndarray, instruction: str, n: int) -> list[Action]:
    agent.reset(instruction)
    return [agent.decide(Observation(image=image, instruction=instruction)).action
            for _ in range(n)]


def test_the_agent_sweeps_over_the_paragraph_named() -> None:
    image, tops = _page([["Lacus, interdum pulvinar", "imperdiet. Cursus."],
                         ["Non, donec morbi.", "Nunc id auctor."]])
    agent = GuiAgent(text_reader=_RowReader({}), semantic=False)
    drag = _run(agent, image, "Highlight the text in the 2nd paragraph.", 1)[0]
    assert drag.kind == "drag"
    assert drag.x <= 12 and abs(drag.y - (tops[1][0] + 6)) <= 3
    assert abs(drag.y2 - (tops[1][1] + 6)) <= 3 and drag.x2 > 60


def test_the_agent_copies_a_text_area_and_pastes_into_the_one_line_field() -> None:
    img = Image.new("RGB", (160, 210), (255, 255, 255))
    d = ImageDraw.Draw(img)
    d.rectangle((0, 0, 159, 49), fill=(255, 255, 0))
    d.rectangle((2, 55, 130, 75), outline=(120, 120, 120))  # a one-line field
    d.rectangle((2, 85, 100, 135), outline=(120, 120, 120))  # a text area, taller
    image = np.asarray(img)
    agent = GuiAgent(text_reader=_RowReader({}), semantic=False)
    acts = _run(agent, image, "Copy the text from the text area and paste it into the text box.", 6)
    assert [a.kind for a in acts] == ["click", "key", "key", "click", "key", "key"]
    assert 85 < acts[0].y < 135 and 55 < acts[3].y < 75
    assert [a.key for a in acts if a.kind == "key"] == ["C-a", "C-c", "C-a", "C-v"]


def test_the_agent_styles_everything_with_the_standard_chord() -> None:
    image, _ = _page([["Donec ridiculus eget."]], top=100)
    agent = GuiAgent(text_reader=_RowReader({}), semantic=False)
    acts = _run(agent, image, "Give everything the style bold.", 3)
    assert [a.kind for a in acts] == ["click", "key", "key"]
    assert [a.key for a in acts[1:]] == ["C-a", "C-b"] and 100 <= acts[0].y <= 112


def test_a_model_is_offered_the_editing_chords_and_the_rules_sweep() -> None:
    image, _ = _page([["Lacus, interdum pulvinar"]])
    rules = GuiRules(GuiAgent(text_reader=_RowReader({}), semantic=False))
    rules.reset("Highlight the text in the paragraph and copy it.")
    choice = rules.decide(Observation(image=image, instruction=rules.instruction))
    names = rules.candidate_actions()
    assert {"key('C-a')", "key('C-c')", "key('C-v')"} <= set(names)
    assert rules.name_of(choice.action) == choice.action.describe() and \
        choice.action.kind == "drag"


def test_key_chords_split_into_modifiers_and_key() -> None:
    assert split_chord("C-a") == (("C-",), "a")
    assert split_chord("C-S-<End>") == (("C-", "S-"), "<End>")
    assert split_chord("<Enter>") == ((), "<Enter>")
    assert split_chord("S-") == ((), "S-")  # a lone '-' key after S is no chord
    with pytest.raises(InputError):
        split_chord("")


def _frame(d: ImageDraw.ImageDraw, box: tuple[int, int, int, int], *, grip: bool,
           covered: bool = False) -> None:
    """A text area's frame: 1 px grey lines, rounded (blank) corners, a grip of two strokes."""
    x1, y1, x2, y2 = box
    grey = (118, 118, 118)
    d.line((x1 + 1, y1, x2 - 1, y1), fill=grey)
    d.line((x1 + 1, y2, x2 - 1, y2), fill=grey)
    d.line((x1, y1 + 1, x1, y2 - 1), fill=grey)
    d.line((x2, y1 + 1, x2, y2 - 1), fill=grey)
    if grip:
        for k in (4, 7):  # two '/' strokes of one grey in the corner
            d.line((x2 - 2, y2 - k, x2 - k, y2 - 2), fill=(102, 102, 102))
    if covered:  # text run into the corner, over the grip: anti-aliased greys
        for i, v in enumerate((20, 60, 90, 140, 30, 70)):
            d.line((x2 - 8 + i, y2 - 8, x2 - 8 + i, y2 - 1), fill=(v, v, v))


def test_text_areas_are_found_by_their_frames_even_when_text_covers_them() -> None:
    img = Image.new("RGB", (160, 210), (255, 255, 255))
    d = ImageDraw.Draw(img)
    d.rectangle((0, 0, 159, 49), fill=(255, 255, 0))
    _frame(d, (2, 52, 112, 82), grip=True, covered=True)  # grip under text: like the next one
    _frame(d, (2, 85, 140, 115), grip=True)
    _frame(d, (2, 120, 90, 150), grip=False)  # a frame of the same look without a grip
    for y in (58, 91, 126):  # text inside
        d.rectangle((5, y, 80, y + 8), fill=(0, 0, 0))
    image = np.asarray(img)
    areas = editing.framed_areas(find_elements(image))
    assert [a.box for a in areas] == [(2, 52, 113, 83), (2, 85, 141, 116), (2, 120, 91, 151)]
    # a panel framed the same way but of another height is no text area
    d.rectangle((0, 50, 159, 209), fill=(255, 255, 255))
    _frame(d, (2, 85, 140, 115), grip=True)
    _frame(d, (2, 140, 140, 200), grip=False)
    assert [a.box for a in editing.framed_areas(find_elements(np.asarray(img)))] == \
        [(2, 85, 141, 116)]


@pytest.mark.parametrize(("text", "want"), [
    ("Press Ctrl+C.", [("key", "C-c", 1)]),
    ("Hit the Escape key", [("key", "<Escape>", 1)]),
    ("Press control-shift-z", [("key", "C-S-z", 1)]),
    ("Press the down arrow key 3 times and press Submit.", [("key", "<ArrowDown>", 3)]),
    ("Press the Tab key twice", [("key", "<Tab>", 2)]),
    ("Press the down arrow key 1000000 times", [("key", "<ArrowDown>", 100)]),  # (at most)
    ("Select all the text in the text area and copy it.",
     [("highlight", "", None), ("key", "C-c", 1)]),
    ("Highlight the 2nd paragraph and cut it.", [("highlight", "", 1), ("key", "C-x", 1)]),
    ("Cut the text from the text area and paste it into the text box.",
     [("copy", "cut", None), ("paste", "", None)]),
    ("Clear the text field and type \"abc\" into it.", [("clear", "", None)]),
    ("Delete the text in the 2nd text area.", [("clear", "", 1)]),
])
def test_key_presses_cutting_and_clearing_are_understood(text: str, want: list[tuple]) -> None:
    got = [(i.op, i.text, i.index) for i in parse_instruction(text).intents
           if i.op not in ("click", "type")]
    assert got == want, parse_instruction(text).intents


@pytest.mark.parametrize("text", ["Press Enter", "Press the A button", "Hit the Submit button",
                                  "Delete the email from Ann."])
def test_a_key_word_without_key_or_modifier_stays_a_click(text: str) -> None:
    assert all(i.op not in ("key", "clear") for i in parse_instruction(text).intents)


def test_a_phrase_may_wrap_onto_the_next_row() -> None:
    image, tops = _page([["Donec ridiculus eget", "magna lorem."]])
    parse = find_elements(image)
    rows = editing.paragraphs(parse)[0]
    reader = _RowReader({tops[0][0] + 2: "Donec ridiculus eget", tops[0][1] + 2: "magna lorem."})
    found = editing.find_phrase(image, rows, reader, "eget magna")
    assert found is not None and found.text == "eget magna"
    assert found.first[1] == rows[0][1] and found.last[1] == rows[1][1]  # two rows
    assert found.last[0] == rows[1][0]  # ... ending with the second row's first word


def test_the_agent_clears_a_field_and_presses_named_keys() -> None:
    img = Image.new("RGB", (160, 210), (255, 255, 255))
    d = ImageDraw.Draw(img)
    d.rectangle((0, 0, 159, 49), fill=(255, 255, 0))
    d.rectangle((2, 55, 130, 75), outline=(120, 120, 120))
    image = np.asarray(img)
    agent = GuiAgent(text_reader=_RowReader({}), semantic=False)
    acts = _run(agent, image, "Clear the text field, then press the Escape key twice.", 4)
    assert [(a.kind, a.key) for a in acts] == [("click", ""), ("key", "C-a"), ("key", "<Delete>"),
                                               ("key", "<Escape>")]
    assert 55 < acts[0].y < 75 and acts[3].amount == 2


@pytest.mark.parametrize(("text", "want"), [
    ("Select the word lorem.", [("highlight", "lorem")]),
    ('Select the word "Apple" and copy it.', [("highlight", "Apple"), ("key", "C-c")]),
    ("Highlight the words ipsum dolor in the 1st paragraph.", [("highlight", "ipsum dolor")]),
    ("Highlight the text below and click submit.", [("highlight", "")]),
    ("Enter the text from the text area into the text box.", [("copy", ""), ("paste", "")]),
])
def test_words_to_select_and_a_field_retyped_are_understood(text: str, want: list[tuple]) -> None:
    got = [(i.op, i.target or (i.text if i.op == "key" else ""))
           for i in parse_instruction(text).intents if i.op != "click"]
    assert got == want, parse_instruction(text).intents


@pytest.mark.parametrize(("text", "op"), [
    ('Select "Apple" from the list.', "click"),
    ("Type the text shown into the input.", "type"),
    ("Enter the 2nd word in the paragraph into the field.", "type"),
])
def test_choices_and_page_text_typing_stay_as_they_were(text: str, op: str) -> None:
    assert [i.op for i in parse_instruction(text).intents] == [op]


def test_selecting_words_similar_to_others_is_a_choice_by_meaning_not_a_highlight() -> None:
    """'select words similar to A, B' clicks the checkboxes closest in meaning (the editing
    grammar once took it for selecting the text 'similar to A, B'); 'highlight' still selects."""
    from lavr.episodes.gui.instruction import parse_instruction

    intents = parse_instruction("Select vords similar t0 murder, adore and click Submit.").intents
    assert [(i.op, i.target, i.similar) for i in intents[:2]] == [
        ("click", "murder", True), ("click", "adore", True)]
    assert parse_instruction("Select the words lorem ipsum").intents[0].op == "highlight"
