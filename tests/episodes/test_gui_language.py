"""Language, reading and reasoning skills of the GUI agent (pure, no browser, no OCR model)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from lavr.episodes.gui.instruction import Intent
from lavr.episodes.gui.language import (
    assign_fields,
    evaluate_expression,
    lexicon,
    nth_word,
    repair_word,
    repair_words,
)
from lavr.episodes.gui.perception import find_elements

KNOWN = frozenset({"word", "words", "below", "forward", "when", "to", "submit", "the", "text", "with",
                   "down"})


@pytest.mark.parametrize(("seen", "meant"), [
    ("vords", "words"), ("belov", "below"), ("fonvard", "forward"), ("vhen", "when"),
    ("t0", "to"), ("Submic", "Submit"), ("vith", "with"), ("dovin", "down"),
    ("words", "words"),  # known: untouched
    ("KlzTb", "KlzTb"), ("ni", "ni"), ("vxk", "vxk"),  # codes and names: untouched
])
def test_repair_word_undoes_font_confusions_only_into_known_words(seen: str, meant: str) -> None:
    assert repair_word(seen, KNOWN) == meant


def test_repair_words_leaves_quoted_strings_and_fixes_ordinals() -> None:
    assert repair_words('Type "vords" belov, find the Sth vord', KNOWN) == \
        'Type "vords" below, find the 5th word'
    assert repair_words("the Ilth and I2th, by Woodwvard", KNOWN) == \
        "the 11th and 12th, by Woodward"
    assert repair_words("Still Listen Lth", KNOWN) == "Still Listen 1th"
    assert repair_words("the IOth and the Oth", KNOWN) == "the 10th and the Oth"  # (a 1 needed)


def test_a_name_inside_a_sentence_keeps_its_letters() -> None:
    known = KNOWN | {"mama", "forward", "it"}
    # rn read as m would make the name a word: a capitalised word mid-sentence is a name
    assert repair_words("Fonvard it to Marna", known) == "Forward it to Marna"
    assert repair_words("Marna", known) == "Mama"  # (a sentence's first word: repaired)
    assert repair_words("press Submic", known) == "press Submit"  # same width: repaired


def test_the_packaged_lexicon_knows_english_when_installed() -> None:
    words = lexicon()
    if not words:
        pytest.skip("the MiniLM package is not installed")
    assert {"below", "words", "forward"} <= words and "belov" not in words
    assert repair_word("fonvard") == "forward"


@pytest.mark.parametrize(("text", "value"), [
    ("0 - 1 =", -1), ("5 X 4 =", 20), ("7+3*2", 13), ("12 / 4 = ?", 3), ("9 ÷ 2", 4.5),
    ("O + l =", 1), ("hello", None), ("3 +", None), ("", None), ("4 / 0", None),
])
def test_evaluate_expression_parses_without_eval(text: str, value: float | None) -> None:
    assert evaluate_expression(text) == value


def test_nth_word_drops_punctuation() -> None:
    text = "Potenti: Magna habitant congue. Nunc, molestie"
    assert nth_word(text, 1) == "Potenti" and nth_word(text, 4) == "congue"
    assert nth_word(text, -1) == "molestie" and nth_word(text, 9) == ""


@pytest.mark.parametrize("labels", [
    ["Year", "Style", "Producer"], ["Producer:", "Year:", "Style:"],
    ["Ysar", "Stvle", "Prodvcer"],  # as OCR may read them
])
def test_assign_fields_follows_the_labels_not_their_order(labels: list[str]) -> None:
    got = assign_fields("Look for jazz albums produced by Mingus from year 1959.", labels)
    by_label = {labels[j].lower()[:2]: v for j, v in got.items()}
    assert by_label == {"ye" if "ye" in by_label else "ys": "1959", "pr": "Mingus",
                        "st": "jazz"}, got


def test_assign_fields_gives_unnamed_fields_the_modifiers_by_meaning() -> None:
    class Embedder:  # "Kind" is close to "jazz", "Released" to "1959"
        def embed(self, texts):
            table = {"Kind": [1, 0], "Released": [0, 1], "jazz": [0.9, 0.1], "1959": [0.1, 0.9]}
            v = np.array([table.get(t, [0.5, 0.5]) for t in texts], float)
            return v / np.linalg.norm(v, axis=1, keepdims=True)

    got = assign_fields("Look for jazz albums produced by Mingus from 1959",
                        ["Released", "Kind", "Producer"], embedder=Embedder())
    assert got == {2: "Mingus", 1: "jazz", 0: "1959"}


# -- reading the page ------------------------------------------------------------
class _Reader:
    """A fake text reader: the text drawn nearest each box's centre."""

    def __init__(self, texts: dict[tuple[int, int], str]) -> None:
        self.texts = texts

    def read(self, image, boxes, pad=2):
        out = []
        for x1, y1, x2, y2 in boxes:
            cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
            (px, py), t = min(self.texts.items(),
                              key=lambda kv: (kv[0][0] - cx) ** 2 + (kv[0][1] - cy) ** 2)
            out.append((t, 0.9) if abs(py - cy) < 6 and abs(px - cx) < 40 else ("", 0.0))
        return out


def _form(below: bool) -> tuple[np.ndarray, dict[tuple[int, int], str]]:
    """Three fields; labels left of them on white, or white below them on a dark panel."""
    img = Image.new("RGB", (160, 210), (255, 255, 255))
    d = ImageDraw.Draw(img)
    d.rectangle([0, 0, 159, 49], fill=(255, 255, 0))
    texts = {}
    if below:
        d.rectangle([4, 54, 155, 185], fill=(51, 51, 51))
    for k, label in enumerate(["Producer", "Year", "Style"]):
        y = 60 + 40 * k
        x = 12 if below else 60
        d.rectangle([x, y, 148, y + 17], fill=(255, 255, 255), outline=(118, 118, 118))
        lx, ly = (12, y + 20) if below else (6, y + 4)
        d.text((lx, ly), label, fill=(255, 255, 255) if below else (0, 0, 0))
        texts[(lx + 3 * len(label), ly + 5)] = label
    d.rectangle([50, 190, 110, 205], fill=(239, 239, 239), outline=(118, 118, 118))
    return np.asarray(img), texts


@pytest.mark.parametrize("below", [False, True])
def test_field_labels_left_of_or_below_the_fields(below: bool) -> None:
    from lavr.episodes.gui.reading import field_labels, label_boxes

    image, texts = _form(below)
    parse = find_elements(image)
    inputs = parse.of_kind("input")
    assert len(inputs) == 3
    found = label_boxes(parse, inputs)
    assert all(f is not None for f in found)
    for inp, (box, dist) in zip(inputs, found, strict=True):
        if below:
            assert box[1] >= inp.box[3] and dist <= 8
        else:
            assert box[2] <= inp.box[0]
    assert field_labels(parse, inputs, _Reader(texts)) == ["Producer", "Year", "Style"]


def test_text_rows_join_the_runs_of_one_line() -> None:
    from lavr.episodes.gui.reading import text_rows

    img = Image.new("RGB", (160, 210), (255, 255, 255))
    d = ImageDraw.Draw(img)
    d.rectangle([0, 0, 159, 49], fill=(255, 255, 0))
    d.text((5, 20), "instruction", fill=(0, 0, 0))  # the banner is no page text
    for x, glyph in ((20, "7"), (60, "+"), (100, "3"), (140, "=")):  # far apart: one row
        d.text((x, 60), glyph, fill=(0, 0, 0))
    d.text((20, 80), "second line", fill=(0, 0, 0))
    d.rectangle([20, 100, 140, 118], fill=(255, 255, 255), outline=(118, 118, 118))
    d.text((24, 104), "typed", fill=(0, 0, 0))  # inside a text field: not page text
    rows = text_rows(find_elements(np.asarray(img)))
    assert len(rows) == 2, rows
    assert rows[0][0] <= 21 and rows[0][2] >= 141 and 58 <= rows[0][1] <= 63
    assert 78 <= rows[1][1] <= 83


def test_agent_fills_the_fields_by_label_and_works_out_values() -> None:
    from lavr.episodes.gui.agent import GuiAgent

    image, texts = _form(True)
    agent = GuiAgent(text_reader=_Reader(texts), semantic=False)
    parse = agent.perceive(image)
    todo = agent._fill_intents(Intent("fill", kinds=("input",),
                                      text="Look for jazz albums produced by Mingus from year "
                                           "1959"), parse)
    inputs = parse.of_kind("input")
    assert [(t.text, t.at) for t in todo if t.op == "type"] == [("Mingus", inputs[0].center),
                                                                ("1959", inputs[1].center),
                                                                ("jazz", inputs[2].center)]
    # each typed value is followed by a click on the suggestion that may pop up for it
    assert [t.suggest for t in todo] == ["", "Mingus", "", "1959", "", "jazz"]
    img = Image.new("RGB", (160, 210), (255, 255, 255))
    ImageDraw.Draw(img).text((10, 60), "shown text", fill=(0, 0, 0))
    page = find_elements(np.asarray(img))

    class Const:  # reads every row as one given text
        def __init__(self, text: str) -> None:
            self.text = text

        def read(self, image, boxes, pad=2):
            return [(self.text, 0.9) for _ in boxes]

    agent.text_reader = Const("7 x 6 =")
    assert agent._derive(Intent("type", source="expression"), page) == "42"
    agent.text_reader = Const("Lorem ipsum, dolor sit")
    assert agent._derive(Intent("type", source="word:3"), page) == "dolor"
    assert agent._derive(Intent("type", source="page-text"), page) == "Lorem ipsum, dolor sit"


def test_unreadable_text_is_matched_by_its_look() -> None:
    from lavr.episodes.gui.appearance import ink_patch, quoted_word, similarity, word_box

    def boxes(size: int, n: int) -> np.ndarray:  # n outlined squares, like missing-font glyphs
        img = Image.new("RGB", (n * (size + 3) + 6, size + 6), (255, 255, 255))
        d = ImageDraw.Draw(img)
        for i in range(n):
            x = 3 + i * (size + 3)
            d.rectangle([x, 3, x + size, 3 + size], outline=(0, 0, 0))
        return np.asarray(img)

    def full(a: np.ndarray) -> tuple[int, int, int, int]:
        return (0, 0, a.shape[1], a.shape[0])

    small3, big3, big2 = boxes(6, 3), boxes(10, 3), boxes(10, 2)
    img = Image.new("RGB", (40, 18), (255, 255, 255))
    ImageDraw.Draw(img).text((4, 3), "OK", fill=(0, 0, 0))
    ok = np.asarray(img)
    want = ink_patch(small3, full(small3))
    scores = [similarity(want, ink_patch(a, full(a))) for a in (big3, big2, ok)]
    assert scores[0] > 0.5 and scores[0] > scores[1] + 0.1 and scores[0] > scores[2] + 0.1, scores
    assert ink_patch(np.full((10, 10, 3), 255, np.uint8), (0, 0, 10, 10)) is None
    # where a quoted word is drawn on a line of text: the quote marks are left out
    line = Image.new("RGB", (200, 16), (255, 255, 0))
    d = ImageDraw.Draw(line)
    d.text((2, 2), "Click", fill=(0, 0, 0))
    d.text((40, 2), "on", fill=(0, 0, 0))
    d.text((60, 2), '"', fill=(0, 0, 0))
    d.rectangle([66, 4, 72, 12], outline=(0, 0, 0))
    d.rectangle([75, 4, 81, 12], outline=(0, 0, 0))
    d.text((84, 2), '"', fill=(0, 0, 0))
    d.text((110, 2), "now", fill=(0, 0, 0))
    box = word_box(np.asarray(line), 'Click on "LD" now', '"LD"', offset=(10, 20))
    assert box is not None and 10 + 64 <= box[0] <= 10 + 66 and 10 + 82 <= box[2] <= 10 + 84, box
    assert quoted_word('Click on "LD" now', "LD") and not quoted_word("Click on LD", "LD")


# -- looking a label's value up on the page ----------------------------------------------
@pytest.mark.parametrize(("what", "key"), [
    ("the value of Last name", "Last name"), ('the value of "Color"', "Color"),
    ("the entry for Year of Birth in the table", "Year of Birth"),
    ("the value of Gender shown in the table", "Gender"), ("Country's value", "Country"),
    ("the value", ""), ("the 2nd word", ""), ("your answer", ""),
])
def test_lookup_key_names_the_label_whose_value_is_asked_for(what: str, key: str) -> None:
    from lavr.episodes.gui.instruction import lookup_key

    assert lookup_key(what) == key


def test_a_request_for_a_labels_value_types_it_then_does_the_rest() -> None:
    from lavr.episodes.gui.instruction import parse_instruction

    plan = parse_instruction("Enter the value of Last name into the text field and press Submit.")
    first, second = plan.intents
    assert (first.op, first.source, first.key) == ("type", "lookup", "Last name")
    assert second.op == "click" and second.target == "Submit"
    plan = parse_instruction('Type the value of "Year of Birth" in the box, then click OK')
    assert [i.key for i in plan.intents] == ["Year of Birth", ""]


def _table(rows: list[list[str]], *, cell: tuple[int, int] = (70, 16), grey: bool = True,
           ) -> tuple[np.ndarray, dict[tuple[int, int], str]]:
    """A table of ``rows`` (cells bordered, every other row shaded) below a banner, with a
    text field and a button under it; the texts drawn, by their centres."""
    img = Image.new("RGB", (160 + 80 * (len(rows[0]) > 2), 210), (255, 255, 255))
    d = ImageDraw.Draw(img)
    d.rectangle([0, 0, img.width - 1, 49], fill=(255, 255, 0))
    texts = {}
    w, h = cell
    for r, row in enumerate(rows):
        for c, t in enumerate(row):
            x, y = 6 + c * (w + 4), 54 + r * (h + 2)
            d.rectangle([x, y, x + w, y + h], fill=(221, 221, 221) if grey and r % 2 else
                        (255, 255, 255), outline=(200, 200, 200))
            d.text((x + 3, y + 3), t, fill=(0, 0, 0))
            texts[(x + 3 + 3 * len(t), y + 8)] = t
    y = 58 + len(rows) * (h + 2)
    d.rectangle([6, y, 130, y + 16], fill=(255, 255, 255), outline=(118, 118, 118))
    d.rectangle([6, y + 22, 60, y + 40], fill=(239, 239, 239), outline=(118, 118, 118))
    d.text((14, y + 27), "Submit", fill=(0, 0, 0))
    texts[(32, y + 32)] = "Submit"
    return np.asarray(img), texts


@pytest.mark.parametrize(("key", "value"), [
    ("Last name", "Reynolds"), ("First name", "Melodee"), ("Year of Birth", "1947"),
    ("Language", "Bengali"), ("Nickname", None),
])
def test_value_of_a_label_in_a_table_of_label_and_value_columns(key: str, value: str | None) -> None:
    from lavr.episodes.gui.reading import page_cells, value_of

    image, texts = _table([["Gender", "Male"], ["First name", "Melodee"], ["Year of Birth", "1947"],
                           ["Language", "Bengali"], ["Last name", "Reynolds"]])
    cells = page_cells(find_elements(image), _Reader(texts))
    assert {t for _, t in cells} >= {"Gender", "Male", "Last name", "Reynolds", "Submit"}
    found = value_of(cells, key)
    assert (found[0] if found else None) == value


def test_value_of_a_column_header_is_the_cell_below_it() -> None:
    from lavr.episodes.gui.reading import page_cells, value_of

    image, texts = _table([["Name", "City", "Age"], ["Ann", "Oslo", "31"]], grey=False)
    cells = page_cells(find_elements(image), _Reader(texts))
    assert value_of(cells, "City")[0] == "Oslo"
    assert value_of(cells, "Age")[0] == "31"


def test_repair_words_makes_look_alike_letters_of_a_number_with_a_unit_digits() -> None:
    known = KNOWN | {"sin", "bin", "lin"}
    assert repair_words("Choose Sft 1Oin, 6ft lin and 3Okg", known) == \
        "Choose 5ft 10in, 6ft 1in and 30kg"
    assert repair_words("the Sin and the Bin, 5ft 6 in", known) == "the Sin and the Bin, 5ft 6 in"
    assert repair_words('type "Sft" now', known) == 'type "Sft" now'  # quoted: as written


def test_value_of_a_label_read_in_one_cell_with_its_value() -> None:
    from lavr.episodes.gui.reading import value_of

    cells = [((6, 60, 90, 70), "First name: Ann"), ((6, 80, 100, 90), "Last name: Smith"),
             ((6, 100, 40, 110), "Age:"), ((50, 100, 70, 110), "31")]
    assert value_of(cells, "Last name")[0] == "Smith"
    assert value_of(cells, "Age")[0] == "31"  # (a label alone in its cell: the cell beside)
    assert value_of(cells, "Nickname") is None
