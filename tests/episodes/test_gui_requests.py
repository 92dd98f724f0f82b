"""Requests in free language about one item of a list: parsing, and acting on synthetic screens."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from lavr.episodes.gui import skills
from lavr.episodes.gui.agent import GuiAgent
from lavr.episodes.gui.instruction import parse_instruction
from lavr.episodes.gui.perception import ScreenElement, ScreenParse
from lavr.episodes.gui.requests import ItemRequest, parse_item_request


@pytest.mark.parametrize(("text", "want"), [
    ("Forward Marjie's email to Missie please.", ItemRequest("forward", "Marjie", "Missie")),
    ("Foward the email by Marjie to Missie please.", ItemRequest("forward", "Marjie", "Missie")),
    ("Find the email by Audrey and fonvard that email to Hedy.",
     ItemRequest("forward", "Audrey", "Hedy")),
    ("Send Bo the message you got from Ann.", ItemRequest("forward", "Ann", "Bo")),
    ("Bo wants the email Ann sent to you.", ItemRequest("forward", "Ann", "Bo")),
    ("Please forward to Bo the email by Ann.", ItemRequest("forward", "Ann", "Bo")),
    ("Delete all messages from Coletta.", ItemRequest("delete", "Coletta")),
    ("Bobine'$ email should be deleted from the inbox:", ItemRequest("delete", "Bobine")),
    ("Please delete Amargo $ emails.", ItemRequest("delete", "Amargo")),
    ("Get rid of the email from Ann.", ItemRequest("delete", "Ann")),
    ("Mark Ann's email as imporant.", ItemRequest("star", "Ann")),
    ("Find the email by Cathrine and click the star icon t0 mark it as important:",
     ItemRequest("star", "Cathrine")),
    ('Email Kiley the message, "Amet, a. Nunc."', ItemRequest("reply", "Kiley", text="Amet, a. Nunc.")),
    ('respond to Ann with "see you"', ItemRequest("reply", "Ann", text="see you")),
    ('Find the email by Bettine and reply to them with the text "Gravida."',
     ItemRequest("reply", "Bettine", text="Gravida.")),
    ('Send "see you" to Ann', ItemRequest("reply", "Ann", text="see you")),
    ('Hi Ann, I\'ll "be late".', ItemRequest("reply", "Ann", text="be late")),  # text + one person
    ("Throw away Ann's message.", ItemRequest("delete", "Ann")),
    ("put the mail from Ann in the bin", ItemRequest("delete", "Ann")),
    ("Tell Ann in a mail \"ok\"", ItemRequest("reply", "Ann", text="ok")),  # 'in' is no 'bin'

    ("Let Bo receive the mail by Ann.", ItemRequest("forward", "Ann", "Bo")),
    ("Resend Ann's mail back to Bo", ItemRequest("forward", "Ann", "Bo")),  # no name: an action
])
def test_requests_in_free_words_name_action_item_and_arguments(text: str, want: ItemRequest) -> None:
    assert parse_item_request(text) == want


def test_meaning_recognises_an_action_word_spelling_does_not() -> None:
    class Embedder:  # "scrap" means delete; everything else means nothing alike
        def embed(self, texts):
            vecs = np.zeros((len(texts), 3))
            for i, t in enumerate(texts):
                vecs[i, 0 if t in ("scrap", "delete") else 1 + i % 2] = 1.0
            return vecs

    text = "Scrap the message from Ann."
    assert parse_item_request(text) is None
    assert parse_item_request(text, embedder=Embedder()) == ItemRequest("delete", "Ann")


@pytest.mark.parametrize("text", [
    'For the user @leo, click on the "Reply" button.',  # a quoted control: a widget click
    "Forward the email to Bo.",  # whose email?
    "Reply to Ann.",  # with what?
    "Click the star.",  # no item
    'Enter "Ann" into the text field and press Submit.',
    'Write "Ann" into the Name field.',  # a widget instruction with a name in it
])
def test_not_item_requests(text: str) -> None:
    plan = parse_instruction(text)
    assert all(i.op != "act" for i in plan.intents)


def test_an_item_request_plans_one_act_intent() -> None:
    (intent,) = parse_instruction("Find the email by Ann and forward that email to Bo.").intents
    assert (intent.op, intent.action, intent.scope, intent.recipient) == ("act", "forward", "Ann", "Bo")
    assert intent.describe() == 'forward the item of "Ann" to "Bo"'


def _font(size: int):
    from lavr.episodes.gui.appearance import glyph_fonts

    return ImageFont.truetype(glyph_fonts()[0], size) if glyph_fonts() else None


def _inbox() -> np.ndarray:
    """Two rows, each: a name, a light star and a bin-like mark beside it; rules between."""
    img = Image.new("RGB", (160, 210), (255, 255, 255))
    d = ImageDraw.Draw(img)
    d.rectangle([0, 0, 159, 49], fill=(255, 255, 0))
    for y0, name in ((52, "Audrey"), (92, "Cora")):
        d.text((8, y0 + 8), name, fill=(0, 0, 0))
        d.text((112, y0 + 6), "\u2606", font=_font(16), fill=(180, 180, 180))
        d.rectangle([134, y0 + 10, 142, y0 + 24], outline=(170, 170, 170))
        d.line([132, y0 + 9, 144, y0 + 9], fill=(170, 170, 170))
        d.line([0, y0 + 39, 159, y0 + 39], fill=(200, 200, 200))
    return np.asarray(img)


def test_an_icon_the_font_has_no_symbol_for_is_the_other_icon_of_the_toolbar() -> None:
    from lavr.episodes.gui.appearance import symbol_patches

    if _font(16) is None or not symbol_patches("star"):
        pytest.skip("no font with a star symbol")
    image = _inbox()
    star, _ = skills.icon_named(image, (52, 91), ("star",))
    beside = skills.icon_beside(image, (52, 91), star)
    assert beside is not None and 130 <= beside[0] <= 134 and beside[2] >= 142
    lone = image.copy()
    lone[52:91, 130:150] = 255  # no other icon: nothing to eliminate
    assert skills.icon_beside(lone, (52, 91), star) is None


class _Reader:
    def __init__(self, texts: dict[tuple[int, int], str]) -> None:
        self.texts = texts

    def read(self, image: np.ndarray, boxes, *, pad: int = 2):
        return [(self.texts.get((b[0], b[1]), ""), 0.99) for b in boxes]


def test_agent_deletes_in_the_row_and_opens_the_item_to_reply() -> None:
    from lavr.episodes.gui.appearance import symbol_patches

    if _font(16) is None or not symbol_patches("star"):
        pytest.skip("no font with a star symbol")
    image = _inbox()
    names = [ScreenElement("text", (8, 60, 44, 70), text="Audrey"),
             ScreenElement("text", (8, 100, 30, 110), text="Cora")]
    agent = GuiAgent(text_reader=_Reader({}), semantic=False)
    agent.perceive = lambda im: ScreenParse(image=im, elements=names,  # type: ignore[method-assign]
                                            banner=(0, 0, 160, 50))
    agent.reset("Please get rid of the email from Cora.")
    step = agent._decide(image, "")
    assert step.action.kind == "click" and 130 <= step.point[0] <= 146 and 98 <= step.point[1] <= 118
    agent.reset('Reply to the email from Cora with "thanks"')
    step = agent._decide(image, "")  # no reply control in the row: open the item
    assert step.action.kind == "click" and step.point == names[1].center
    assert agent._act_phase == "opened"


def test_blank_field_after_a_label_and_a_blank_text_area() -> None:
    img = Image.new("RGB", (160, 210), (255, 255, 255))
    d = ImageDraw.Draw(img)
    d.text((4, 60), "to:", fill=(0, 0, 0))
    d.text((4, 80), "subject: Hi", fill=(0, 0, 0))
    d.line([0, 95, 159, 95], fill=(200, 200, 200))
    d.line([150, 200, 156, 194], fill=(120, 120, 120))  # a resize grip in the corner
    image = np.asarray(img)
    x, y = skills.blank_after(image, (4, 60, 18, 70))
    assert x > 60 and 60 <= y <= 70
    assert skills.blank_after(image, (4, 80, 44, 90)) is None  # the value is written there
    box = skills.blank_area(image, top=50)
    assert box is not None and 95 <= box[1] <= 97 and box[3] == 210


def test_marks_at_the_end_of_a_quoted_word_are_read_from_their_glyphs() -> None:
    """A text to write is typed verbatim: ``eu:"`` drawn as u . " . is ``eu.".``; ``Amet;``
    drawn with a comma is ``Amet,``; a word ending in a letter is left alone."""
    from lavr.episodes.gui.perception import _end_punctuation

    letter, dot, quote, comma = (0, 5, 2, 7), (7, 9, 6, 7), (10, 13, 0, 2), (7, 9, 6, 9)
    colon = (7, 9, 2, 7)
    assert _end_punctuation('eu:"', [letter, letter, dot, quote, dot], baseline=7, xtop=2) == 'eu.".'
    assert _end_punctuation("Amet;", [letter] * 4 + [comma], baseline=7, xtop=2) == "Amet,"
    short_tail = (7, 9, 7, 8)  # a comma one pixel below the line, a dot on it
    assert _end_punctuation("Amet;", [letter] * 4 + [short_tail], baseline=7, xtop=2) == "Amet,"
    assert _end_punctuation("Amet,", [letter] * 4 + [(7, 9, 7, 7)], baseline=7, xtop=2) == "Amet."
    assert _end_punctuation("Amet.", [letter] * 4 + [colon], baseline=7, xtop=2) == "Amet:"
    assert _end_punctuation("Amet", [letter] * 4, baseline=7, xtop=2) == "Amet"


def test_a_double_quote_drawn_as_two_apart_ticks_is_one_mark() -> None:
    """``"E",`` whose closing quote is two glyphs (ticks 3 px apart, not merged by the line
    cut) stays ``"E",`` (it was read ``"E"",``: the quote added twice); two quotes far
    apart are two marks."""
    from lavr.episodes.gui.perception import _end_punctuation

    tick_a, tick_b, letter = (0, 1, 0, 2), (4, 5, 0, 2), (8, 13, 0, 7)
    tick_c, tick_d, comma = (16, 17, 0, 2), (20, 21, 0, 2), (24, 25, 6, 9)
    glyphs = [tick_a, tick_b, letter, tick_c, tick_d, comma]
    assert _end_punctuation('"E",', glyphs, baseline=7, xtop=2) == '"E",'
    assert _end_punctuation('"E"', glyphs[:5], baseline=7, xtop=2) == '"E"'
    far = (40, 41, 0, 2)
    assert _end_punctuation("E'", [letter, tick_c, far], baseline=7, xtop=2) == 'E""'


def test_a_recipient_is_typed_as_the_page_spells_the_name() -> None:
    from collections import deque

    from lavr.episodes.gui.instruction import Intent

    agent = GuiAgent(text_reader=_Reader({}), semantic=False)
    intent = Intent("act", scope="Rea", action="forward", recipient="Elvira")
    agent._intents = deque([intent])
    seen = ScreenParse(image=np.zeros((10, 10, 3), np.uint8), elements=[
        ScreenElement("text", (0, 0, 9, 9), text="Elwira"),
        ScreenElement("text", (0, 0, 9, 9), text="Rea")])
    assert agent._respell_recipient(intent, seen).recipient == "Elwira"
    exact = ScreenParse(image=seen.image, elements=[*seen.elements,
                                                     ScreenElement("text", (0, 0, 9, 9), text="Elvira")])
    assert agent._respell_recipient(intent, exact).recipient == "Elvira"  # the name as read is there
    other = ScreenParse(image=seen.image, elements=[ScreenElement("text", (0, 0, 9, 9), text="Bobine")])
    assert agent._respell_recipient(intent, other).recipient == "Elvira"


@pytest.mark.parametrize(("text", "want"), [
    ("Delte the mail from Kim.", ItemRequest("delete", "Kim")),
    ("Fowrard Marjie the email from Missie.", ItemRequest("forward", "Missie", "Marjie")),
])
def test_a_misspelt_action_word_opening_the_sentence_is_no_name(text: str, want: ItemRequest) -> None:
    """A first word that is no English word is a name, unless it is spelt like an action
    word (any slip, not a listed one): ``Delte`` is no person to forward the mail to."""
    assert parse_item_request(text) == want


def test_the_clauses_after_an_item_request_are_kept() -> None:
    """``forward Ann's mail to Bo, then click Submit``: the request is one ``act`` intent and
    the clause after it is planned as usual (it was dropped before)."""
    from lavr.episodes.gui.instruction import parse_instruction

    plan = parse_instruction("Forward the email from Ann to Bo, then click Submit.").intents
    assert [i.op for i in plan] == ["act", "click"]
    assert (plan[0].action, plan[0].scope, plan[0].recipient) == ("forward", "Ann", "Bo")
    assert plan[1].target == "Submit"
    plan = parse_instruction('Reply to Kim with "on my way" and then press Done').intents
    assert [(i.op, i.target) for i in plan] == [("act", ""), ("click", "Done")]
    assert plan[0].text == "on my way"
    assert [i.op for i in parse_instruction("Forward the email from Ann to Bo.").intents] == ["act"]
