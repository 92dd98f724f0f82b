"""Rule plans for GUI instructions (pure, no browser)."""

from __future__ import annotations

import pytest

from lavr.episodes.gui.instruction import Intent, parse_instruction


@pytest.mark.parametrize(("text", "rule", "ops"), [
    ('Click on the "okay" button.', "click-quoted-button", [("click", "okay")]),
    ('Click on the link "Eget".', "click-link", [("click", "Eget")]),
    ('Close the dialog box by clicking the "x".', "close-dialog", [("click", "x")]),
    ("Click on Tab #2.", "click-tab", [("click", "Tab #2")]),
    ('Enter "Agustina" into the text field and press Submit.', "enter-text",
     [("type", ""), ("click", "Submit")]),
    ("Select HF2, AU and click Submit.", "select",
     [("click", "HF2"), ("click", "AU"), ("click", "Submit")]),
    ("Select nothing and click Submit.", "select", [("click", "Submit")]),
    ("Click button ONE, then click button TWO.", "button-sequence",
     [("click", "ONE"), ("click", "TWO")]),
    ("Focus into the 3rd input textbox.", "focus-nth", [("click", "")]),
])
def test_rules(text: str, rule: str, ops: list[tuple[str, str]]) -> None:
    plan = parse_instruction(text)
    assert plan.rule == rule
    assert [(i.op, i.target) for i in plan.intents] == ops


def test_login_types_into_labelled_fields_in_order() -> None:
    plan = parse_instruction('Enter the username "karrie" and the password "AU" into the text '
                             'fields and press login.')
    assert [(i.op, i.target, i.text) for i in plan.intents] == [
        ("type", "username", "karrie"), ("type", "password", "AU"), ("click", "login", "")]


def test_case_transform_and_nth_index() -> None:
    plan = parse_instruction('Type "agustina" in all upper case letters in the text input and '
                             'press Submit.')
    assert plan.intents[0].text == "AGUSTINA"
    assert parse_instruction("Focus into the 2nd input textbox.").intents[0].index == 1


def test_generic_fallback_and_unknown() -> None:
    plan = parse_instruction('Type "bob" into the name box and press "Go"')
    assert plan.rule == "generic"
    assert [(i.op, i.text or i.target) for i in plan.intents] == [("type", "bob"), ("click", "Go")]
    assert parse_instruction("Dance a little.").intents == ()


def test_intent_rejects_unknown_op() -> None:
    with pytest.raises(ValueError, match="op must be"):
        Intent("hover")
