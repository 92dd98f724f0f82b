"""Screen elements from a drawn screenshot (classical CV, no OCR, no browser)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from lavr.episodes.gui.perception import find_elements, text_similarity


def _screen() -> np.ndarray:
    img = Image.new("RGB", (200, 160), (255, 255, 255))
    d = ImageDraw.Draw(img)
    d.rectangle([0, 0, 199, 30], fill=(255, 255, 0))  # instruction banner
    d.rectangle([10, 40, 70, 60], fill=(239, 239, 239), outline=(118, 118, 118))  # button
    d.text((22, 44), "OK", fill=(0, 0, 0))
    d.rectangle([10, 70, 150, 88], fill=(255, 255, 255), outline=(118, 118, 118))  # text field
    d.rectangle([10, 100, 22, 112], fill=(255, 255, 255), outline=(118, 118, 118))  # checkbox
    d.text((28, 100), "Yes", fill=(0, 0, 0))
    d.text((10, 125), "home", fill=(0, 0, 238))  # link
    d.line([10, 136, 32, 136], fill=(0, 0, 238))
    return np.asarray(img)


def test_finds_each_kind_where_it_was_drawn() -> None:
    parse = find_elements(_screen())
    kinds = {e.kind: e for e in parse.elements}
    assert parse.banner == (0, 0, 200, 31)
    assert set(kinds) >= {"button", "input", "checkbox", "link"}
    bx1, by1, bx2, by2 = kinds["button"].box  # the fill, or the 1-px border ring around it
    assert abs(bx1 - 10.5) <= 1 and abs(by1 - 40.5) <= 1 and abs(bx2 - 70.5) <= 1 and abs(by2 - 60.5) <= 1
    assert kinds["input"].box == (11, 71, 150, 88)
    x1, y1, x2, y2 = kinds["checkbox"].box
    assert (x1, y1) == (11, 101) and x2 - x1 == 11
    assert kinds["checkbox"].text_boxes and kinds["checkbox"].text_boxes[0][0] >= 28
    assert 10 <= kinds["link"].box[0] <= 12
    dets = parse.to_detections()
    assert len(dets) == len(parse.elements)


def test_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="HxWx3 uint8"):
        find_elements(np.zeros((10, 10), np.uint8))


def test_text_similarity_prefers_exact_and_tolerates_ocr_slips() -> None:
    assert text_similarity("Submit", "Submit") > 0.99
    assert text_similarity("Tab #L", "Tab #1") > text_similarity("Tab #2", "Tab #1")
    assert text_similarity("Eget", "Eget") > text_similarity("eget", "Eget")
    assert text_similarity("", "x") == 0.0


@pytest.mark.parametrize(("truth", "ocr"), [
    ('and "w6jzZ" now', 'and "w6jzz" now'),  # a z at the cap height is Z
    ('a "z72vd" b', 'a "272vd" b'),  # a 2 at the x-height is z
    ('say "Sox" ok', 'say "sOX" ok'),  # case from height
    ('press "B1" it', 'press "BI" it'),  # a footed stroke is 1
    ('type "hula" ok', 'type "huIa" ok'),  # a bar inside a lower-case word is l
    ('type "Ignacio" ok', 'type "Ignacio" ok'),  # ... a first one may be a capital
    ('the username "vina" and', "the username 'vina\" and"),  # a ' paired with a " is one too
    ("don't type \"ab\" now", "don't type \"ab\" now"),  # one tick stays an apostrophe
    ('the number "-5" into', 'the number ".5" into'),  # a flat bar above the line: a minus
    ('the number "-17" into', 'the number "_17" into'),
])
def test_refine_quoted_fixes_case_and_look_alikes(truth: str, ocr: str) -> None:
    from lavr.episodes.gui.perception import refine_quoted

    path = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
    if not Path(path).is_file():
        pytest.skip("DejaVu Sans not installed")
    im = Image.new("RGB", (260, 24), (255, 255, 0))
    ImageDraw.Draw(im).text((2, 2), truth, font=ImageFont.truetype(path, 14), fill=(0, 0, 0))
    assert refine_quoted(np.asarray(im), ocr) == truth
    assert refine_quoted(np.asarray(im), "no quotes here") == "no quotes here"


def _quoted_lines() -> list[dict[str, str]]:
    import json

    return json.loads((Path(__file__).parent / "data" / "quoted_lines.json").read_text())


@pytest.mark.parametrize("case", _quoted_lines(), ids=lambda c: c["file"])
def test_quoted_strings_are_reread_by_drawing_their_glyphs(case: dict[str, str]) -> None:
    """Lines of MiniWoB++ banners as Chromium drew them (bold random strings), with what OCR
    read: each quoted glyph is compared with the candidates drawn in the page font."""
    from lavr.episodes.gui.appearance import glyph_fonts
    from lavr.episodes.gui.perception import refine_quoted

    if not glyph_fonts():
        pytest.skip("no sans-serif font to draw glyphs with")
    line = np.asarray(Image.open(Path(__file__).parent / "data" / case["file"]).convert("RGB"))
    assert refine_quoted(line, case["ocr"]) == case["want"]


def test_touching_glyphs_are_cut_into_as_many_as_the_reading_has() -> None:
    from lavr.episodes.gui.appearance import glyph_runs, split_glyphs

    ink = np.zeros((8, 20), bool)
    ink[:, 2:5] = ink[:, 5:9] = True  # two glyphs touching at column 5 ...
    ink[3, 4:6] = False  # ... joined by little ink
    ink[:, 12:15] = True
    runs = glyph_runs(ink)
    assert [r[:2] for r in runs] == [(2, 9), (12, 15)]
    cut = split_glyphs(ink, runs, 3)
    assert len(cut) == 3 and cut[0][0] == 2 and cut[1][1] == 9 and cut[2][:2] == (12, 15)
    assert split_glyphs(ink, runs, 2) == runs


def test_a_reader_at_another_zoom_is_kept_with_the_reader() -> None:
    from lavr.episodes.gui.perception import TextReader

    shared = object()
    a, b = TextReader(reader=shared), TextReader(reader=shared)
    assert a.at_zoom(3.0) is a
    z = a.at_zoom(1.5)
    assert z is a.at_zoom(1.5) and z is not b.at_zoom(1.5)
    assert z.zoom == 1.5 and z.reader is shared


def test_two_lines_joined_only_by_an_icon_beside_them_are_two_runs() -> None:
    from lavr.episodes.gui.perception import text_runs

    ink = np.zeros((30, 80), bool)
    ink[2:9, 2:30] = True  # line 1
    ink[13:20, 2:40] = True  # line 2
    ink[4:18, 60:70] = True  # an icon spanning the gap between them
    boxes = text_runs(ink)
    assert (2, 2, 30, 9) in boxes and (2, 13, 40, 20) in boxes and (60, 4, 70, 18) in boxes
    dotted = np.zeros((12, 30), bool)
    dotted[0:2, 4:6] = True  # the dot of an i over its stem, an icon beside: the i is one run
    dotted[4:11, 4:6] = True
    dotted[0:11, 20:28] = True
    assert text_runs(dotted) == [(4, 0, 6, 11), (20, 0, 28, 11)]


def _ink(rows: list[str]) -> np.ndarray:
    return np.asarray([[c == "#" for c in r] for r in rows])


def test_a_dot_tucked_under_a_letter_is_split_off_it() -> None:
    """A bold ``r.``: the dot sits in the last columns of the ``r``'s run of ink (under its
    arm) without touching it, and is a glyph of its own; a letter whose own stroke reaches
    low in its last columns (an ``L``'s foot, a ``c``) is left whole."""
    from lavr.episodes.gui.perception import split_low_mark

    r_dot = _ink(["#####.", "###...", "##....", "##....", "##.##.", "##.##."])
    assert split_low_mark(r_dot, (0, 6, 0, 5), baseline=5, xtop=0) == [(0, 5, 0, 5), (3, 5, 4, 5)]
    foot = _ink(["##....", "##....", "##....", "##....", "######", "######"])
    assert split_low_mark(foot, (0, 6, 0, 5), baseline=5, xtop=0) == [(0, 6, 0, 5)]
    c = _ink([".####.", "##..##", "##....", "##....", "##..##", ".####."])
    assert split_low_mark(c, (0, 6, 0, 5), baseline=5, xtop=0) == [(0, 6, 0, 5)]
    high = _ink(["##.##.", "##.##.", "##....", "##....", "##....", "##...."])  # a quote, not low
    assert split_low_mark(high, (0, 6, 0, 5), baseline=5, xtop=0) == [(0, 6, 0, 5)]


def test_words_of_a_quoted_sentence_are_prose_and_a_one_word_quote_is_not() -> None:
    from lavr.episodes.gui.perception import _keep_letter, _prose_words

    assert _prose_words('text "Interdum sit'.split()) == {1, 2}  # goes on over the next line
    assert _prose_words('vulputate.". Then'.split()) == {0}  # opened on the line before
    assert _prose_words('the password "w6jzZ" now'.split()) == set()
    assert _prose_words('say "a b" and "c"'.split()) == {1, 2}
    assert _keep_letter("t", "1", prose=True) == "t"
    assert _keep_letter("t", "1", prose=False) == "1"
    assert _keep_letter("7", "T", prose=True) == "T"


def test_box_overlap_and_containment() -> None:
    from lavr.episodes.gui.perception import box_within, boxes_overlap

    assert boxes_overlap((0, 0, 10, 10), (5, 5, 20, 20))
    assert not boxes_overlap((0, 0, 10, 10), (10, 0, 20, 10))  # (edges touching share no area)
    assert box_within((2, 2, 8, 8), (0, 0, 10, 10)) and box_within((0, 0, 11, 10), (0, 0, 10, 10))
    assert not box_within((0, 0, 12, 10), (0, 0, 10, 10))
    assert box_within((0, 0, 12, 10), (0, 0, 10, 10), margin=2)
