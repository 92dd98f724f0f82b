"""Colour swatches, shades, counting figures (pure: drawn images, no browser)."""

from __future__ import annotations

import numpy as np
import pytest

from lavr.episodes.gui import shapes
from lavr.episodes.gui.instruction import parse_instruction
from lavr.episodes.gui.perception import ScreenParse, read_instruction
from lavr.episodes.gui.swatches import closest, find_swatches, hue_gap, shades_of
from lavr.tools.colour import colour_rgb, nearest_colour_word


def _page(boxes: list[tuple[tuple[int, int, int, int], tuple[int, int, int]]]) -> np.ndarray:
    img = np.full((120, 160, 3), 255, np.uint8)
    for (x1, y1, x2, y2), rgb in boxes:
        img[y1:y2, x1:x2] = rgb
    return img


def test_finds_flat_patches_pale_ones_too_and_not_widgets_with_text() -> None:
    img = _page([((10, 10, 22, 22), (250, 235, 235)),   # a pale tint: 5 grey levels off white
                 ((40, 10, 52, 22), (200, 30, 30)),
                 ((70, 10, 120, 24), (239, 239, 239)),  # a button ...
                 ((10, 40, 11, 90), (0, 0, 0))])        # a rule, not a patch
    img[14:20, 80:100] = 0                                # ... with a label inside
    found = find_swatches(img)
    assert [s.rgb for s in found] == [(250, 235, 235), (200, 30, 30)]
    assert found[1].box == (40, 10, 52, 22)


def test_a_white_box_inside_a_frame_is_a_swatch() -> None:
    img = _page([((20, 20, 52, 52), (0, 0, 0)), ((21, 21, 51, 51), (255, 255, 255))])
    assert [s.box for s in find_swatches(img)] == [(21, 21, 51, 51)]


def test_closest_colour_and_shades_by_hue() -> None:
    img = _page([((10, 10, 22, 22), (128, 128, 0)), ((30, 10, 42, 22), (255, 255, 0)),
                 ((50, 10, 62, 22), (231, 192, 192)), ((70, 10, 82, 22), (118, 61, 61)),
                 ((90, 10, 102, 22), (55, 169, 55)), ((110, 10, 122, 22), (128, 128, 128))])
    found = find_swatches(img)
    olive = colour_rgb("olive")
    assert olive is not None and closest(found, olive)[0][1].rgb == (128, 128, 0)
    red = colour_rgb("red")
    assert red is not None
    assert [s.rgb for s in shades_of(found, red)] == [(231, 192, 192), (118, 61, 61)]
    assert shades_of(found, (128, 128, 128)) == []  # a grey is a shade of nothing
    assert hue_gap(350, 10) == 20


@pytest.mark.parametrize(("rgb", "word"), [((128, 128, 0), "olive"), ((0, 255, 255), "cyan"),
                                           ((250, 250, 250), "white"), ((120, 0, 130), "purple")])
def test_a_swatch_reads_as_the_nearest_colour_word(rgb: tuple[int, int, int], word: str) -> None:
    assert nearest_colour_word(rgb) == word


class _Reader:
    """Reads a crop as the number of ink columns it holds (enough to check the splicing)."""

    def read(self, image: np.ndarray, boxes: list) -> list[tuple[str, float]]:
        out = []
        for x1, y1, x2, y2 in boxes:
            ink = image[y1:y2, x1:x2].mean(axis=2) < 100
            out.append((f"<{int(ink.any(axis=0).sum())}>", 0.9))
        return out


def test_a_picture_in_the_instruction_is_read_as_its_word() -> None:
    img = np.full((100, 160, 3), 255, np.uint8)
    img[:40] = (255, 255, 0)
    img[10:18, 5:25] = 0        # "text" left of the swatch
    img[9:19, 30:40] = 0        # the swatch's frame ...
    img[10:18, 31:39] = (128, 128, 0)
    img[10:18, 45:75] = 0       # ... and text right of it
    parse = ScreenParse(img, [], banner=(0, 0, 160, 40))
    text = read_instruction(parse, _Reader(), pictures=[((31, 10, 39, 18), "olive")])
    assert text == "<20> olive <30>"  # the frame is read as neither side's text


@pytest.mark.parametrize(("text", "want"), [
    ("Click on the olive colored box.", ("olive", False)),
    ("Click the light-coloured tile.", None),  # not a colour word: no colour intent
    ("Select all the shades of red and press Submit.", ("red", True)),
    ("Pick every tint of blue.", ("blue", True)),
])
def test_grammar_of_colours(text: str, want: tuple[str, bool] | None) -> None:
    first = parse_instruction(text).intents[0]
    assert ((first.colour, first.shades) if first.colour else None) == want
    if "Submit" in text:  # the selection, then the button
        assert [i.target for i in parse_instruction(text).intents] == ["", "Submit"]


@pytest.mark.parametrize(("text", "figure"), [
    ("How many large yellow items are there?", ("large", "yellow", "")),
    ("How many small red 6s are there?", ("small", "red", "6")),
    ("How many Bs are there?", ("", "", "B")),
    ("How many US are there?", ("", "", "U")),  # OCR capitalised the plural s
    ("How many shapes are there?", ("", "", "shape")),
    ("how many blue triangles do you see", ("", "blue", "triangle")),
    ("How many items are there?", ("", "", "")),
])
def test_grammar_of_counting_questions(text: str, figure: tuple[str, str, str]) -> None:
    (intent,) = parse_instruction(text).intents
    assert intent.count and intent.figure == figure and "button" in intent.kinds


def test_a_shape_is_a_geometric_shape_and_sizes_follow_the_text_size() -> None:
    circle = shapes.Figure((0, 0, 10, 10), "circle")
    letter = shapes.Figure((0, 0, 10, 10), "glyph", char="k")
    assert shapes.matches(circle, "", "", "shape") and not shapes.matches(letter, "", "", "shape")
    # every figure drawn at the text's size is small, even with no larger one beside it
    assert shapes._size_classes([10.0, 11.0, 9.0], 10.0) == ["small"] * 3
    assert shapes._size_classes([20.0, 10.0], 10.0) == ["large", "small"]
    assert shapes._size_classes([10.0, 11.0, 9.0]) == [""] * 3  # no text: only relative


def _plot() -> np.ndarray:
    """Axes crossing at (80, 100), a blue mark every 30 px on both, labels -2..2 drawn."""
    from PIL import Image, ImageDraw, ImageFont

    img = Image.new("RGB", (160, 200), "white")
    draw = ImageDraw.Draw(img)
    draw.line([(5, 100), (155, 100)], fill=(128, 128, 128), width=2)
    draw.line([(80, 25), (80, 175)], fill=(128, 128, 128), width=2)
    font = ImageFont.truetype("DejaVuSans-Bold.ttf", 10)
    for k in (-2, -1, 0, 1, 2):
        for x, y in ((80 + 30 * k, 100), (80, 100 - 30 * k)):
            draw.ellipse([x - 4, y - 4, x + 4, y + 4], fill=(0, 0, 255), outline=(0, 0, 0))
        if k:
            draw.text((80 + 30 * k - 5, 106), str(k), fill="black", font=font)
            draw.text((64 if k > 0 else 60, 100 - 30 * k - 6), str(k), fill="black", font=font)
    return np.asarray(img)


def test_axes_lines_labels_and_marks() -> None:
    from lavr.episodes.gui import plots

    img = _plot()
    axes = plots.find_axes(img)
    assert axes is not None and abs(axes.col - 80.5) <= 1 and abs(axes.row - 100.5) <= 1
    xs, ys = plots.label_boxes(img, axes)
    x_values = sorted(v for b in xs if (v := plots.read_label(img, b)) is not None)
    assert x_values == [-2, -1, 1, 2]
    assert len(ys) == 4
    assert len(plots.marks(img)) == 9  # the origin's mark is shared by both axes


def test_fit_axis_outvotes_a_misread_label_and_lattice_needs_equal_steps() -> None:
    from lavr.episodes.gui.plots import fit_axis, lattice_axis

    fit = fit_axis([(-2, 20.0), (-1, 50.0), (1, 110.0), (2, 140.0), (8, 150.0)])
    assert fit is not None and abs(fit.origin - 80) < 1 and abs(fit.scale - 30) < 1
    assert fit_axis([(1, 10.0)]) is None
    lat = lattice_axis([20, 50, 80, 110], 80, sign=-1)
    assert lat is not None and lat.pixel(1) == 50
    assert lattice_axis([20, 50, 95], 80, sign=1) is None


def test_grammar_of_plot_points() -> None:
    (intent,) = parse_instruction("Click on the grid coordinate (-2,1).").intents
    assert intent.coord == (-2.0, 1.0)
    (intent,) = parse_instruction("Click the point ( 0.5, -3 ) on the graph.").intents
    assert intent.coord == (0.5, -3.0)


def _blocks(img: np.ndarray, x: int, y: int, n: int, *, per_row: int = 3) -> None:
    """``n`` bordered blocks (12 px, 2 px apart), ``per_row`` to a row, from (x, y)."""
    for i in range(n):
        bx, by = x + 14 * (i % per_row), y + 14 * (i // per_row)
        img[by:by + 12, bx:bx + 12] = 0
        img[by + 1:by + 11, bx + 1:bx + 11] = (127, 176, 255)


@pytest.mark.parametrize(("left", "right", "mark", "want"), [
    (4, 7, "+", "4 + 7"), (1, 1, "+", "1 + 1"), (8, 2, "-", "8 - 2"), (5, 3, "", "5 + 3")])
def test_drawn_blocks_count_in_groups_joined_by_their_sign(left: int, right: int, mark: str,
                                                           want: str) -> None:
    img = np.full((120, 160, 3), 255, np.uint8)
    _blocks(img, 5, 20, left)
    _blocks(img, 105, 20, right)
    if mark:
        img[38:41, 65:85] = 0  # the bar of both signs
    if mark == "+":
        img[29:50, 73:76] = 0
    figs = shapes.find_figures(img)
    assert shapes.count_expression(img, figs, "", "", "rectangle") == want
    assert shapes.count_expression(img, figs, "", "", "circle") == ""
    assert len(shapes.clusters([f for f in figs if f.shape == "rectangle"])) == 2


def test_grammar_of_counts_typed_as_values() -> None:
    (typed, submit) = parse_instruction(
        "Type the total number of blocks into the textbox and press Submit.").intents
    assert (typed.op, typed.source, typed.figure) == ("type", "count", ("", "", "rectangle"))
    assert submit.target == "Submit"
    (typed,) = parse_instruction("Enter how many red circles there are into the field.").intents
    assert typed.figure == ("", "red", "circle")
    # a sum of numbers shown is arithmetic, not a count
    (typed,) = parse_instruction("Type the sum of the numbers into the box.").intents
    assert typed.source == "expression"
