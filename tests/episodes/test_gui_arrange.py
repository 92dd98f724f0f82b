"""Reordering a list or grid by dragging: the layout of equal items from boxes and pixels, the
places and sort orders the grammar reads, where a drag must end, and the agent's drags
(pure; no browser, no OCR model: a scripted reader)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from lavr.episodes.gui import arrange, numbers
from lavr.episodes.gui.agent import GuiAgent
from lavr.episodes.gui.arrange import Layout, Place, find_layout, parse_place, sort_order
from lavr.episodes.gui.instruction import parse_instruction

LIST = [(10, 57 + 28 * i, 144, 83 + 28 * i) for i in range(5)]
GRID = [(7 + 46 * c, 57 + 46 * r, 47 + 46 * c, 97 + 46 * r) for r in range(3) for c in range(3)]


# -- layout --------------------------------------------------------------------------------
def test_layout_is_the_largest_group_of_equal_boxes_on_a_lattice() -> None:
    submit = (3, 200, 102, 229)
    lay = find_layout([submit, *reversed(LIST)])
    assert lay is not None and lay.boxes == tuple(LIST) and lay.describe() == "list of 5 (5x1)"
    grid = find_layout([*GRID[::-1], submit])
    assert grid is not None and grid.boxes == tuple(GRID) and (len(grid.rows), len(grid.cols)) == (3, 3)
    assert grid.cell(5) == (1, 2) and grid.at(2, 0) == 6
    row = find_layout([(10 + 40 * i, 60, 45 + 40 * i, 80) for i in range(3)])
    assert row is not None and (len(row.rows), len(row.cols)) == (1, 3)
    # boxes of one size strewn about are no list; one box is none
    assert find_layout([(0, 60, 20, 80), (37, 91, 57, 111), (90, 140, 110, 160)]) is None
    assert find_layout([submit]) is None
    # a list whose items wrap their text: one width, heights of their own, stacked closely
    wrapped = [(10, 57, 144, 83), (10, 86, 144, 125), (10, 128, 144, 154), (10, 157, 144, 183)]
    lay = find_layout([submit, *wrapped])
    assert lay is not None and lay.boxes == tuple(wrapped) and lay.describe() == "list of 4 (4x1)"
    assert lay.cell(2) == (2, 0)
    tabs = [(5, 60, 45, 80), (47, 60, 110, 80), (112, 60, 150, 80)]  # a row, widths free
    lay = find_layout(tabs)
    assert lay is not None and lay.boxes == tuple(tabs) and (len(lay.rows), len(lay.cols)) == (1, 3)
    # a button as wide as the list right after it is no item
    button = (10, 171 + 26 + 3, 144, 171 + 26 + 3 + 30)
    lay = find_layout([*LIST, button])
    assert lay is not None and lay.boxes == tuple(LIST)
    # the same widths strewn down the page are no list
    assert find_layout([(10, 57, 144, 83), (10, 120, 144, 130), (10, 170, 144, 200)]) is None


# -- places and orders ---------------------------------------------------------------------
@pytest.mark.parametrize(("phrase", "place"), [
    ("to the 3rd position.", Place("index", n=3)),
    ("into the second slot", Place("index", n=2)),
    ("to position 4", Place("index", n=4)),
    ("to the last place", Place("index", n=-1)),
    ("to the top.", Place("end", row=-1)),
    ("to the end of the list", Place("end", row=1)),
    ("up by one position.", Place("offset", row=-1)),
    ("down by one", Place("offset", row=1)),
    ("two places down", Place("offset", row=2)),
    ("left by one.", Place("offset", col=-1)),
    ("1 step to the right", Place("offset", col=1)),
    ("to the top left.", Place("cell", row=0, col=0)),
    ("to the bottom center", Place("cell", row=2, col=1)),
    ("to the center.", Place("cell", row=1, col=1)),
    ("to the center right", Place("cell", row=1, col=2)),
    ("to the left-middle square", Place("cell", row=1, col=0)),
    ("above Ann Lee", Place("item", n=-1, name="Ann Lee")),
    ('right below "Bo"', Place("item", n=1, name="Bo")),
    ("to the right of Cy", Place("item", n=1, name="Cy")),
    ("so it is first", Place("index", n=1)),
    ("so that it is the last one", Place("index", n=-1)),
    ("to be 2nd", Place("index", n=2)),
    ("at the top of the list", Place("end", row=-1)),
])
def test_places_an_instruction_names(phrase: str, place: Place) -> None:
    got = parse_place(phrase)
    assert got == place
    assert Place.from_spec(got.spec()) == got


@pytest.mark.parametrize("phrase", ["into the text field", "to 40", "to the Submit button", "",
                                    "by hand", "first"])
def test_other_phrases_are_no_place(phrase: str) -> None:
    assert parse_place(phrase) is None


@pytest.mark.parametrize(("text", "order"), [
    ("Sort the numbers in increasing order, starting with the lowest number at the top of the "
     "list.", "ascending"),
    ("Sort the list from highest to lowest", "descending"),
    ("Arrange the names alphabetically", "ascending"),
    ("Put the numbers in descending order", "descending"),
    ("Order the items with the smallest at the bottom", "descending"),
    ("Sort the numbers, largest last", "ascending"),
    ("Click the button", None),
])
def test_sort_orders(text: str, order: str | None) -> None:
    assert sort_order(text) == order


@pytest.mark.parametrize(("text", "target", "place"), [
    ("Drag Theodosia to the 3rd position.", "Theodosia", Place("index", n=3)),
    ("Drag Sara-Ann to the Ist position:", "Sara-Ann", Place("index", n=1)),  # OCR's "Ist"
    ("Drag Drucy up by one.", "Drucy", Place("offset", row=-1)),
    ('Move "Ann Lee" below Bo, then press Submit', "Ann Lee", Place("item", n=1, name="Bo")),
    ("Please move the item Kim to the bottom right.", "Kim", Place("cell", row=2, col=2)),
])
def test_grammar_of_moves(text: str, target: str, place: Place) -> None:
    first = parse_instruction(text).intents[0]
    assert (first.op, first.target, Place.from_spec(first.place)) == ("reorder", target, place)


def test_grammar_of_sorting_and_what_it_leaves_alone() -> None:
    intents = parse_instruction("Sort the names alphabetically and click OK.").intents
    assert (intents[0].op, intents[0].place) == ("reorder", "sort:ascending")
    assert intents[1].target == "OK"
    (intent,) = parse_instruction("Sort the numbers from largest to smallest.").intents
    assert intent.place == "sort:descending"
    assert parse_instruction("Move the slider to 40").intents[0].kinds == ("slider",)
    assert parse_instruction('Put "abc" into the text field').intents[0].op == "type"
    assert parse_instruction("Drag it to the top").intents == ()
    # "order" as a request, not a sort; "order" with an order named sorts
    assert all(i.op != "reorder" for i in parse_instruction("Order a cheeseburger with fries.").intents)
    assert all(i.op != "reorder" for i in parse_instruction("Rank the movies").intents)
    (intent,) = parse_instruction("Rank the numbers from lowest to highest").intents
    assert intent.place == "sort:ascending"


# -- where an item goes and how --------------------------------------------------------------
def test_resolve_places_in_a_list_and_a_grid() -> None:
    lst = Layout(tuple(LIST), tuple(b[1] for b in LIST), (10,))
    assert lst.resolve(Place("index", n=3), 4) == 2
    assert lst.resolve(Place("end", row=1), 0) == 4
    assert lst.resolve(Place("offset", row=-1), 2) == 1
    assert lst.resolve(Place("offset", row=-1), 0) is None  # (the top has nothing above)
    assert lst.resolve(Place("cell", row=1, col=1), 0) == 2  # the middle of a list
    names = ["Ann", "Bo", "Cy", "Di", "Ed"]
    assert lst.resolve(Place("item", n=-1, name="Di"), 0, names=names) == 2  # Ann before Di
    assert lst.resolve(Place("item", n=-1, name="Bo"), 4, names=names) == 1  # Ed before Bo
    assert lst.resolve(Place("item", n=1, name="Bo"), 4, names=names) == 2
    assert lst.resolve(Place("item", n=1, name="Zed"), 4, names=names) is None
    grid = find_layout(GRID)
    assert grid is not None
    assert grid.resolve(Place("offset", row=-1), 7) == 4  # up by one from the bottom middle
    assert grid.resolve(Place("offset", col=1), 5) is None  # right of the right column
    assert grid.resolve(Place("cell", row=2, col=2), 0) == 8
    assert grid.resolve(Place("cell", row=1, col=0), 8) == 3
    assert grid.resolve(Place("end", row=-1), 7) == 1  # to the top: the same column


def test_drop_point_lies_past_the_middle_of_the_target_in_the_moves_direction() -> None:
    lst = Layout(tuple(LIST), tuple(b[1] for b in LIST), (10,))
    x, y = lst.drop_point(4, 2)  # up: above the middle of item 3
    assert x == 77 and y == pytest.approx(126 - 6.5)
    x, y = lst.drop_point(0, 3)  # down: below the middle of item 4
    assert y == pytest.approx(154 + 6.5)
    grid = find_layout(GRID)
    assert grid is not None
    x, y = grid.drop_point(0, 8)  # to the right and down
    assert (x, y) == (119 + 10, 169 + 10)
    x, y = grid.drop_point(7, 4)  # straight up: the same column
    assert (x, y) == (73, 123 - 10)


def test_next_sort_move() -> None:
    assert arrange.next_sort_move([-26.0, 20.0, -56.0, -38.0], "ascending") == (2, 0)
    assert arrange.next_sort_move([-56.0, -26.0, 20.0, -38.0], "ascending") == (3, 1)
    assert arrange.next_sort_move([-56.0, -38.0, -26.0, 20.0], "ascending") is None
    assert arrange.next_sort_move([1.0, 3.0, 2.0], "descending") == (1, 0)
    assert arrange.next_sort_move(["bo", "ann", "cy"], "ascending") == (1, 0)


# -- pixels ----------------------------------------------------------------------------------
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


def _list_screen(texts: list[str]) -> np.ndarray:
    """A sortable list: grey boxes, each with the same drag handle and its own text (DejaVu
    Sans 12 px, the browser's font, when installed)."""
    from PIL import ImageFont

    font = ImageFont.truetype(FONT, 12) if Path(FONT).exists() else None
    img = Image.new("RGB", (160, 210), (255, 255, 255))
    d = ImageDraw.Draw(img)
    d.rectangle([0, 0, 159, 49], fill=(255, 255, 0))
    for (x1, y1, x2, y2), text in zip(LIST, texts, strict=False):
        d.rectangle([x1, y1, x2 - 1, y2 - 1], fill=(246, 246, 246), outline=(197, 197, 197))
        d.polygon([(17, y1 + 7), (20, y1 + 4), (23, y1 + 7)], fill=(40, 40, 40))  # the handle
        d.rectangle([19, y1 + 7, 21, y1 + 14], fill=(40, 40, 40))
        d.polygon([(17, y1 + 14), (20, y1 + 17), (23, y1 + 14)], fill=(40, 40, 40))
        d.text((30, y1 + 6), text, fill=(60, 60, 60), font=font)
    return np.asarray(img)


def test_item_text_boxes_leave_out_the_mark_every_item_shows() -> None:
    from lavr.episodes.gui.perception import ink_mask

    image = _list_screen(["-93", "18", "5", "-83"])
    boxes = arrange.item_text_boxes(image, ink_mask(image), LIST[:4])
    assert len(boxes) == 4
    for box in boxes:
        assert box is not None and box[0] >= 29  # the text, not the handle at x 17-23
    assert arrange.item_text_boxes(image, ink_mask(image), LIST[4:]) == [None]  # empty box


class _Reader:
    """Scripted OCR: the text of the item whose row a box lies in."""

    def __init__(self, texts: list[str]) -> None:
        self.texts = texts

    def read(self, image: np.ndarray, boxes: list) -> list[tuple[str, float]]:
        out = []
        for b in boxes:
            row = next((i for i, r in enumerate(LIST) if r[1] <= b[1] < r[3]), None)
            out.append((self.texts[row] if row is not None and row < len(self.texts) else "",
                        0.9))
        return out


def _observe(agent: GuiAgent, image: np.ndarray, instruction: str):
    from lavr.episodes.loop import Observation

    return agent.decide(Observation(image=image, instruction=instruction))


def test_agent_drags_the_named_item_then_checks_it_moved() -> None:
    names = ["Andriana", "Theadora", "Martelle", "Laurette", "Theodosia"]
    agent = GuiAgent(text_reader=_Reader(names), semantic=False)
    agent.reset("Drag Theodosia to the 3rd position.")
    step = _observe(agent, _list_screen(names), "Drag Theodosia to the 3rd position.")
    assert step.action.kind == "drag"
    assert step.action.point == (77.0, 182.0)  # the middle of the last item
    assert step.action.end == (77.0, pytest.approx(126 - 6.5))  # above the middle of item 3
    # the page reordered: the item is in place, the plan is done
    moved = ["Andriana", "Theadora", "Theodosia", "Martelle", "Laurette"]
    agent.text_reader = _Reader(moved)
    step = _observe(agent, _list_screen(moved), "Drag Theodosia to the 3rd position.")
    assert step.action.kind == "done"


def test_agent_sorts_one_drag_at_a_time_and_gives_up_when_nothing_moves() -> None:
    said = "Sort the numbers in increasing order."
    values = ["-26", "20", "-56", "-38"]
    agent = GuiAgent(text_reader=_Reader(values), semantic=False)
    agent.reset(said)
    step = _observe(agent, _list_screen(values), said)
    assert step.action.kind == "drag" and step.action.point == (77.0, 126.0)  # -56 ...
    assert step.action.end[1] < 70  # ... to the top
    for _ in range(2):  # the page does not respond: the same list twice more
        step = _observe(agent, _list_screen(values), said)
    assert step.action.kind == "done" and "gave up" in step.summary
    ordered = ["-56", "-38", "-26", "20"]
    agent = GuiAgent(text_reader=_Reader(ordered), semantic=False)
    agent.reset(said)
    step = _observe(agent, _list_screen(ordered), said)
    assert step.action.kind == "done" and "in order" in step.summary


def test_a_lone_minus_ocr_may_drop_is_seen_in_the_glyphs() -> None:
    from lavr.episodes.gui.perception import ink_mask

    if not Path(FONT).exists():
        pytest.skip("DejaVu Sans not installed")
    image = _list_screen(["-93", "18", "-5", "7-1"])
    boxes = arrange.item_text_boxes(image, ink_mask(image), LIST[:4])
    assert [numbers.minus_bar(image, b) is not None for b in boxes if b is not None] == \
        [True, False, True, False]


def test_ocr_slips_in_move_and_draw_instructions_are_repaired() -> None:
    from lavr.episodes.gui.instruction import clean_instruction

    assert clean_instruction("Drag Carol to the Znd position:") == "Drag Carol to the 2nd position."
    assert clean_instruction("Drav & vertical line").startswith("Draw a vertical")
    assert clean_instruction("Click salt & pepper") == "Click salt & pepper"
    # a second verb joined by '&' keeps it; "drag and drop" is the drag
    assert clean_instruction("Click & hold the button") == "Click & hold the button"
    for said in ("Drag and drop the red circle onto the box", "Drag & drop the red circle onto "
                 "the box", "Drag-and-drop the red circle onto the box"):
        assert clean_instruction(said) == "Drag the red circle onto the box"
        (move,) = parse_instruction(said).intents
        assert (move.op, move.figure) == ("move", ("", "red", "circle"))


def test_a_grid_move_across_rows_and_columns_goes_along_the_row_then_the_column() -> None:
    from lavr.episodes.loop import Action

    grid = find_layout(GRID)
    assert grid is not None
    via, end = grid.drag_path(2, 3)  # top right -> centre left
    assert via == ((27.0 - 10, 77.0),)  # left along the top row, past the left column's middle
    assert end == (27.0 - 10, 123.0 + 10)  # then down that column, past the target's middle
    via, end = grid.drag_path(8, 0)  # bottom right -> top left
    assert via == ((17.0, 169.0),) and end == (17.0, 77.0 - 10)
    assert grid.drag_path(7, 4) == ((), grid.drop_point(7, 4))  # one column: straight
    a = Action.drag(119, 169, 17, 67, via=via)
    assert a.via == ((17.0, 169.0),)
    assert a.describe() == "drag(119, 169 -> 17, 169 -> 17, 67)"
    assert a.to_json()["via"] == [[17.0, 169.0]]
    assert "via" not in Action.drag(1, 2, 3, 4).to_json()


def test_item_numbers_are_read_glyph_by_glyph_where_ocr_slips() -> None:
    if not Path(FONT).exists():
        pytest.skip("DejaVu Sans not installed")
    shown = ["-39", "-2", "18", "-61"]
    # OCR as it read this list once: a minus taken for a 2, a 3 lost
    agent = GuiAgent(text_reader=_Reader(["-9", "22", "18", "-61"]), semantic=False)
    image = _list_screen(shown)
    parse = agent.perceive(image)
    layout, texts = agent._layout(parse)
    assert texts == ["-9", "22", "18", "-61"]
    assert agent._item_values(parse, layout, texts) == [-39.0, -2.0, 18.0, -61.0]


def test_agent_swaps_two_items_with_two_drags() -> None:
    said = "Swap Bo and Di."
    (intent,) = parse_instruction(said).intents
    assert (intent.target, Place.from_spec(intent.place)) == ("Bo", Place("item", n=0, name="Di"))
    names = ["Ann", "Bo", "Cy", "Di", "Ed"]
    agent = GuiAgent(text_reader=_Reader(names), semantic=False)
    agent.reset(said)
    step = _observe(agent, _list_screen(names), said)
    assert step.action.kind == "drag" and step.action.point[1] == 98.0  # Bo (item 2) ...
    assert 154 < step.action.end[1] < 168  # ... down past Di's middle (item 4)
    moved = ["Ann", "Cy", "Di", "Bo", "Ed"]
    agent.text_reader = _Reader(moved)
    step = _observe(agent, _list_screen(moved), said)
    assert step.action.kind == "drag" and step.action.point[1] == 126.0  # Di, now item 3 ...
    assert 84 < step.action.end[1] < 98  # ... up past the middle of item 2
    swapped = ["Ann", "Di", "Cy", "Bo", "Ed"]
    agent.text_reader = _Reader(swapped)
    step = _observe(agent, _list_screen(swapped), said)
    assert step.action.kind == "done"
