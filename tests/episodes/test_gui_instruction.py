"""The general instruction grammar (pure, no browser)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lavr.episodes.gui.evaluate import STANDARD_TASKS
from lavr.episodes.gui.instruction import (
    Intent,
    clean_instruction,
    parse_instruction,
    split_clauses,
)


def _ops(text: str) -> list[tuple[str, str]]:
    return [(i.op, i.text if i.op == "type" else i.target) for i in parse_instruction(text).intents]


@pytest.mark.parametrize(("text", "ops"), [
    ('Click on the "okay" button.', [("click", "okay")]),
    ('Click on the link "Eget".', [("click", "Eget")]),
    ('Close the dialog box by clicking the "x".', [("click", "x")]),
    ("Click on Tab #2.", [("click", "Tab #2")]),
    ('Enter "Agustina" into the text field and press Submit.', [("type", "Agustina"),
                                                               ("click", "Submit")]),
    ("Select HF2, AU and click Submit.", [("click", "HF2"), ("click", "AU"), ("click", "Submit")]),
    ("Select nothing and click Submit.", [("click", "Submit")]),
    ("Click button ONE, then click button TWO.", [("click", "ONE"), ("click", "TWO")]),
    ("Focus into the 3rd input textbox.", [("click", "")]),
    # sentences no MiniWoB++ task uses
    ('Press the "Save" button, then open the link "Help".', [("click", "Save"), ("click", "Help")]),
    ('Write "hello" in the comment box; then hit Send.', [("type", "hello"), ("click", "Send")]),
    ("Check the second checkbox and click OK.", [("click", ""), ("click", "OK")]),
])
def test_grammar(text: str, ops: list[tuple[str, str]]) -> None:
    plan = parse_instruction(text)
    assert plan.rule == "grammar"
    assert _ops(text) == ops


def test_kinds_ordinals_and_labels() -> None:
    plan = parse_instruction("Check the second checkbox and click OK.")
    assert plan.intents[0].kinds == ("checkbox",) and plan.intents[0].index == 1
    assert parse_instruction("Focus into the 2nd input textbox.").intents[0].index == 1
    assert parse_instruction("Click the last link.").intents[0].index == -1
    tab = parse_instruction("Click on Tab #3.").intents[0]
    assert tab.index == 2  # the label's number is also a position to fall back on
    widget = parse_instruction('Click on a "textarea" widget.').intents[0]
    assert widget.kinds == ("input",) and widget.require_icon is True


def test_login_types_into_labelled_fields_in_order() -> None:
    plan = parse_instruction('Enter the username "karrie" and the password "AU" into the text '
                             'fields and press login.')
    assert [(i.op, i.target, i.text) for i in plan.intents] == [
        ("type", "username", "karrie"), ("type", "password", "AU"), ("click", "login", "")]


def test_both_fields_case_and_field_label() -> None:
    plan = parse_instruction('Enter the password "xY" into both text fields and press submit.')
    assert [(i.op, i.index, i.text) for i in plan.intents[:2]] == [("type", 0, "xY"),
                                                                   ("type", 1, "xY")]
    plan = parse_instruction('Type "agustina" in all upper case letters in the text input and '
                             'press Submit.')
    assert plan.intents[0].text == "AGUSTINA"
    plan = parse_instruction('Type "bob" into the name box and press "Go"')
    assert [(i.op, i.target, i.text) for i in plan.intents] == [("type", "name", "bob"),
                                                                ("click", "Go", "")]


def test_ocr_slips_are_repaired() -> None:
    assert clean_instruction('Click on the "Ok" button:') == 'Click on the "Ok" button.'
    assert clean_instruction('Click on the link "sed" .') == 'Click on the link "sed".'
    assert clean_instruction("Focus into the Ist input textbox.") == \
        "Focus into the 1st input textbox."
    assert clean_instruction("Click on Tab #L") == "Click on Tab #1"
    assert clean_instruction("Find the email by Anne- Marie and stop") == \
        "Find the email by Anne-Marie and stop"  # a name broken at the end of a line
    assert clean_instruction("a well - made - up list") == "a well - made - up list"
    assert clean_instruction('Enter the username\'myron" now.') == 'Enter the username "myron" now.'
    assert _ops("Enter the username 'vina\" and the password \"US\" into the text fields "
                "and press login:") == [("type", "vina"), ("type", "US"), ("click", "login")]
    assert _ops("Select 6hvaa; ky7, FOIKwi and click Submit.") == [
        ("click", "6hvaa"), ("click", "ky7"), ("click", "FOIKwi"), ("click", "Submit")]


def test_clauses_keep_quoted_text_whole() -> None:
    assert split_clauses('Type "then. and click" into the box and press Go.') == [
        'Type "then. and click" into the box', "press Go"]


def test_unknown_and_bad_intent() -> None:
    assert parse_instruction("Dance a little.").rule == "none"
    assert parse_instruction("").intents == ()
    with pytest.raises(ValueError, match="op must be"):
        Intent("fly")


@pytest.mark.parametrize(("text", "source"), [
    ("Read the 3rd word of the story, then write it in the box.", "word:3"),
    ("Find the last word in the note; type that into the field.", "word:-1"),
    ("Compute the sum shown and enter the result in the answer box.", "expression"),
    ("Copy the text shown into the input and press OK.", "page-text"),
    ("Type the text belov into the field.", "page-text"),  # OCR slip repaired first
])
def test_values_worked_out_from_the_screen(text: str, source: str) -> None:
    plan = parse_instruction(text)
    typed = [i for i in plan.intents if i.op == "type"]
    assert len(typed) == 1 and typed[0].source == source and typed[0].text == "", plan
    assert typed[0].kinds == ("input",)


def test_choices_by_meaning_and_free_requests() -> None:
    plan = parse_instruction("Pick items similar t0 happy, fast and press Done:")
    assert [(i.target, i.similar) for i in plan.intents] == [
        ("happy", True), ("fast", True), ("Done", False)]
    plan = parse_instruction("Look for jazz albums produced by Mingus from year 1959.")
    assert [i.op for i in plan.intents] == ["fill", "click"] and plan.rule == "grammar"
    assert plan.intents[0].text.startswith("Look for jazz")
    assert plan.intents[1].target == "Look" and plan.intents[1].index == -1
    # "... when done" is no part of the button's name
    assert _ops("Press submit when you are done.") == [("click", "submit")]
    with pytest.raises(ValueError, match="source must be"):
        Intent("type", source="somewhere")


def test_no_module_keys_behaviour_on_a_miniwob_task_name() -> None:
    """The agent's modules hold no MiniWoB++ task name and no task's query template."""
    root = Path(__file__).resolve().parents[2] / "episodes" / "gui"
    # every task MiniWoB++ ships (when installed) and every task lavr names, written with
    # dashes, spaces or underscores ("tic tac toe", "grid_coordinate")
    tasks = set(STANDARD_TASKS)
    try:
        import miniwob

        html = Path(miniwob.__file__).parent / "html" / "miniwob"
        tasks |= {p.stem for p in html.glob("*.html")}
    except ImportError:
        pass
    assert {"click-color", "grid-coordinate", "tic-tac-toe"} <= tasks
    names = re.compile("|".join(r"\b" + "[-_ ]".join(map(re.escape, t.split("-"))) + r"\b"
                                for t in sorted(tasks, key=len, reverse=True)), re.IGNORECASE)
    assert names.search("play Tic Tac Toe") and names.search("count_shape")
    templates = re.compile(r"into both text fields|expand the section below|"
                           r"close the dialog box by clicking|in the dialog box labeled|"
                           r"math problem|word in the paragraph|movies directed by|"
                           r"words similar to|the text below into|movie|genre|director|"
                           r"best describes the figure|switch between the tabs|for the user|"
                           r"find the email by|and press \"search\", then|exit to home page|"
                           r"session is|click on a|from the list and|with the spinner and|"
                           r"as the time and|an item that starts|through the file tree|"
                           r"expand the sections|the folder or file|guess the number|"
                           r"use the feedback below|win a game of|as the date and|colored box|"
                           r"grid coordinate|shades of [a-z]+ and press|how many .{1,30} items are",
                           re.IGNORECASE)
    # every module of the agent; the environment wrapper and the evaluation name tasks by design
    for path in sorted(p.name for p in root.glob("*.py")
                       if p.name not in ("browser.py", "evaluate.py")):
        src = (root / path).read_text()
        assert not names.search(src), (path, names.search(src))
        assert not templates.search(src), (path, templates.search(src))
    # nor does any other library module (the shared episode loop, tools, planners, agents)
    written = re.compile("|".join(r"\b" + "[-_]".join(map(re.escape, t.split("-"))) + r"\b"
                                  for t in sorted(tasks, key=len, reverse=True)), re.IGNORECASE)
    lib = root.parents[1]
    shared = [*(lib / "episodes").glob("*.py"), *(lib / "episodes" / "embodied").glob("*.py"),
              *(p for d in ("tools", "planners", "agents", "core_model")
                for p in (lib / d).rglob("*.py"))]
    assert len(shared) > 50
    for path in shared:
        found = written.search(path.read_text())
        assert not found, (path.relative_to(lib), found)


def test_widget_grammar() -> None:
    """Menu paths, spinners, time values, start/end constraints and list items."""
    path = parse_instruction("Select Alvera>Terza > Ludovika").intents
    assert [(i.op, i.target) for i in path] == [("hover", "Alvera"), ("hover", "Terza"),
                                               ("click", "Ludovika")]
    # OCR reads '>' between two names as 'z'
    assert [i.op for i in parse_instruction("Select FannizGeorgeta").intents] == ["hover", "click"]
    spin = parse_instruction("Select - 7 with the spinner and hit Submit.").intents
    assert (spin[0].op, spin[0].text) == ("set", "-7") and spin[1].target == "Submit"
    # OCR reads the colon of a time as a dot
    time = parse_instruction("Enter 9.37 PM as the time and press submit:").intents
    assert (time[0].op, time[0].text, time[0].target) == ("type", "9:37 PM", "time")
    auto = parse_instruction('Enter something that starts with "Gua" and ends with "la".').intents
    assert (auto[0].op, auto[0].text) == ("type", "Gua")
    assert (auto[1].op, auto[1].starts, auto[1].ends) == ("click", "Gua", "la")
    # list items split at commas, not at an 'and' inside a name
    items = parse_instruction("Select Heard Island and McDonald Islands, Nicaragua from the "
                              "scroll list and click Submit.").intents
    assert [i.target for i in items] == ["Heard Island and McDonald Islands", "Nicaragua", "Submit"]
    assert [i.target for i in parse_instruction("Select Bob, Al and Jo from the list").intents] == \
        ["Bob", "Al", "Jo"]
    # a purpose clause after ';' (OCR for ',') is split off
    expand = parse_instruction('Expand the sections belov; to find and click on the link "ac".')
    assert [(i.kinds, i.target) for i in expand.intents] == [(("button",), ""), (("link",), "ac")]


def test_widget_values() -> None:
    from lavr.episodes.gui.widgets import fits, masked_keys, read_number

    assert masked_keys("9:37 PM") == "0937P"
    assert masked_keys("21:05") == "0905P"
    assert masked_keys("12/31/2016") == "12/31/2016"
    assert masked_keys("abc") is None
    assert read_number("-1O") == -10.0 and read_number("") is None
    assert fits("Guatemala", "Gua", "Ia")  # OCR's I for l folds
    assert not fits("Guam", "Gua", "la")


def test_case_modifier_survives_ocr_reading_w_as_v():
    plan = parse_instruction('Type "JESS" in all lover case letters in the text input and '
                             'press Submit.')
    assert plan.intents[0].text == "jess"
    assert "lover" not in plan.intents[0].target
