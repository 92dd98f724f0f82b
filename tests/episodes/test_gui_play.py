"""Skills of the GUI agent that play with the page: search with feedback, date fields."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import pytest

from lavr.episodes.gui.feedback import NumberSearch, number_range, read_hint
from lavr.episodes.gui.instruction import parse_instruction
from lavr.episodes.gui.widgets import date_order, masked_keys

if TYPE_CHECKING:
    from lavr.episodes.gui.agent import GuiAgent
    from lavr.episodes.loop import Action


@pytest.mark.parametrize(("text", "span"), [
    ("Guess a number between 0-9, then press the button.", (0, 9)),
    ("Guess the number between 0- 9 and press Submit: Use the feedback below.", (0, 9)),
    ("Find the secret number from 1 to 100 using the hints.", (1, 100)),
    ("Work out which number between 20 and 5 the page has in mind.", (5, 20)),
    ("Click the button between 1 and 3.", None),  # no number to find
    ("Find the number between 10 and 20 and click it.", None),  # on the page, to act on
    ("Find a number from 1 to 5 in the list and select it; you have three tries.", (1, 5)),
    ("Guess the number and press Submit.", None),  # no range
])
def test_number_range(text: str, span: tuple[int, int] | None) -> None:
    assert number_range(text) == span


@pytest.mark.parametrize(("text", "hint"), [
    ("The number is higher than 4.", ("higher", 4)),
    ("The number is lower than 14.", ("lower", 14)),
    ("Too high!", ("lower", None)),
    ("Your guess 3 is too low", ("higher", 3)),
    ("Correct!", ("correct", None)),
    ("Waiting for your guess...", None),
    ("Incorrect, try again", None),
])
def test_read_hint(text: str, hint: tuple[str, int | None] | None) -> None:
    assert read_hint(text) == hint


@pytest.mark.parametrize("answer", range(0, 10))
def test_number_search_finds_every_answer_by_bisection(answer: int) -> None:
    search = NumberSearch(0, 9)
    for _ in range(4):  # ceil(log2(10)) tries
        tried = search.next_try()
        search.tries.append(tried)
        if tried == answer:
            break
        search.update("higher" if answer > tried else "lower", tried)
    assert search.tries[-1] == answer, search.tries


def test_number_search_survives_a_misread_hint() -> None:
    search = NumberSearch(0, 9)
    search.update("lower", 4)  # misread: the answer is 7
    search.update("higher", 3)
    assert search.low <= search.high  # never an empty belief
    assert search.low <= search.next_try() <= search.high


def test_guess_instruction_plans_one_search() -> None:
    plan = parse_instruction("Guess the number betveen 0- 9 and press Submit: Use the feedback "
                             "below to find the right number:")
    assert [(i.op, i.text) for i in plan.intents] == [("guess", "0..9")]


@pytest.mark.parametrize(("mask", "order", "keys"), [
    ("mm/dd/yyyy", "mdy", "05/20/2010"),
    ("dd/mm/yyyy", "dmy", "20/05/2010"),
    ("yyyy-mm-dd", "ymd", "2010-05-20"),
    ("dd.mm.yyyy", "dmy", "20.05.2010"),
    ("", "mdy", "05/20/2010"),          # no placeholder read: month first
    ("05-20-2010", "mdy", "05/20/2010"),  # a filled field shows no order
])
def test_date_keys_follow_the_way_the_field_shows_dates(mask: str, order: str, keys: str) -> None:
    assert date_order(mask) == order
    assert masked_keys("05/20/2010", mask) == keys
    assert masked_keys("2010-05-20", mask) == keys


# -- board games ---------------------------------------------------------------------------
def _board_image(marks: str) -> np.ndarray:
    """A 160x210 page: a yellow banner, then a 3x3 grid of framed cells holding crosses
    (``X``), rings (``O``) or nothing (``.``), row by row."""
    import cv2

    img = np.full((210, 160, 3), 255, np.uint8)
    img[:50] = (255, 255, 0)
    colours = [(220, 40, 40), (40, 160, 40), (40, 90, 200)]
    for i, m in enumerate(marks):
        r, c = divmod(i, 3)
        x1, y1 = 13 + 45 * c, 63 + 44 * r
        cv2.rectangle(img, (x1, y1), (x1 + 39, y1 + 39), colours[(r + c) % 3], 2)
        if m == "X":
            cv2.line(img, (x1 + 5, y1 + 5), (x1 + 34, y1 + 34), (0, 0, 0), 4)
            cv2.line(img, (x1 + 34, y1 + 5), (x1 + 5, y1 + 34), (0, 0, 0), 4)
        elif m == "O":
            cv2.circle(img, (x1 + 20, y1 + 20), 15, (60, 60, 60), 3)
    return img


def test_find_board_reads_the_grid_and_its_marks() -> None:
    from lavr.episodes.gui.board import find_board
    from lavr.episodes.gui.perception import find_elements

    board = find_board(find_elements(_board_image("XO.|.X.|..O".replace("|", ""))))
    assert board is not None and board.size == 3
    assert board.describe() == "XO./.X./..O"
    x1, y1, x2, y2 = board.cells[4]
    assert abs((x1 + x2) / 2 - 78) <= 2 and abs((y1 + y2) / 2 - 127) <= 2
    assert find_board(find_elements(np.full((210, 160, 3), 255, np.uint8))) is None


@pytest.mark.parametrize(("marks", "ours", "move"), [
    ("XX.OO....", "X", 2),   # complete our row
    ("XX.OO....", "O", 5),   # complete theirs (O's row) before blocking
    ("X.X.O....", "O", 1),   # block their row
    ("O...X...O", "X", 1),   # two corners against us: an edge, never a corner (a fork follows)
])
def test_best_move_wins_blocks_and_avoids_forks(marks: str, ours: str, move: int) -> None:
    from lavr.episodes.gui.board import best_move

    assert best_move(tuple(m if m != "." else "" for m in marks), 3, ours) == move


def test_best_move_never_loses_to_a_perfect_opponent() -> None:
    """Against every reply of an opponent who may play anything, our moves never lose."""
    from lavr.episodes.gui.board import best_move, winner

    def worst(marks: tuple[str, ...], our_turn: bool) -> int:
        if winner(marks, 3) or all(marks):
            return {"X": 1, "O": -1, "": 0}[winner(marks, 3)]
        if our_turn:
            i = best_move(marks, 3, "X")
            return worst(marks[:i] + ("X",) + marks[i + 1:], False)
        return min(worst(marks[:i] + ("O",) + marks[i + 1:], True)
                   for i, m in enumerate(marks) if not m)

    empty = ("",) * 9
    assert worst(empty, True) >= 0  # we start
    assert worst(empty, False) >= 0  # they start


def test_game_instruction_plans_one_game() -> None:
    from lavr.episodes.gui.instruction import game_mark

    assert [(i.op, i.text) for i in parse_instruction(
        "Playing as 'X', win a game of tic tac toe.").intents] == [("play", "X")]
    assert game_mark("You are O; win the game.") == "O"
    assert game_mark("Click the X button.") == ""


def test_agent_plays_the_board_it_sees_and_waits_for_the_opponent() -> None:
    """The instruction given as text, the board from pixels: the agent completes its line,
    waits while the opponent is to move, and stops once a line is complete."""
    from lavr.episodes.gui.agent import GuiAgent
    from lavr.episodes.loop import Observation

    agent = GuiAgent(text_reader=_NoReader(), semantic=False)
    said = "Playing as 'X', win the game."
    agent.reset(said)
    step = agent.decide(Observation(_board_image("XX.OO...."), said))
    assert step.action.kind == "click"
    assert abs(step.action.x - 123) <= 2 and abs(step.action.y - 83) <= 2  # row 1, column 3
    agent.reset(said)
    assert agent.decide(Observation(_board_image("X..O....X"), said)).action.kind == "wait"
    agent.reset(said)
    assert agent.decide(Observation(_board_image("XXXOO...."), said)).action.kind == "done"


class _NoReader:
    """A text reader for screens with nothing to read (no OCR model)."""

    def read(self, image: np.ndarray, boxes, *, pad: int = 2):
        return [("", 0.0) for _ in boxes]


class _SaysReader:
    """A text reader that reads ``text`` wherever it looks (no OCR model)."""

    text = ""

    def read(self, image: np.ndarray, boxes, *, pad: int = 2):
        return [(self.text, 0.99) for _ in boxes]


def _form_image(note: str) -> np.ndarray:
    """A banner, a line of text (``note`` drawn: only its pixels matter), a field, a button."""
    import cv2

    img = np.full((210, 160, 3), 255, np.uint8)
    img[:50] = (255, 255, 0)
    cv2.putText(img, note, (10, 70), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1)
    cv2.rectangle(img, (10, 90), (50, 110), (120, 120, 120), 1)
    cv2.rectangle(img, (60, 86), (150, 114), (230, 230, 230), -1)
    cv2.rectangle(img, (60, 86), (150, 114), (100, 100, 100), 1)
    return img


def _searching(said: str) -> tuple[GuiAgent, _SaysReader, Callable[[str], Action]]:
    """A GUI agent told ``said``, the reader of its page (waiting for a guess), and its next
    action on a form whose line of text is drawn as ``note``."""
    from lavr.episodes.gui.agent import GuiAgent
    from lavr.episodes.loop import Observation

    reader = _SaysReader()
    agent = GuiAgent(text_reader=reader, semantic=False)
    agent.reset(said)
    reader.text = "Waiting for your guess..."
    return agent, reader, lambda note: agent.decide(Observation(_form_image(note), said)).action


def test_agent_searches_with_the_pages_feedback() -> None:
    """Try the middle, read the hint once the page's text changed, narrow, try again."""
    _, reader, act = _searching("Guess the number between 0-9 and press Submit.")
    first = act("waiting")
    assert first.kind == "click" and 10 <= first.x <= 50
    kinds = [act("waiting") for _ in range(2)]
    assert [(a.kind, a.text or a.key) for a in kinds] == [("type", "4"), ("key", "<Enter>")]
    # the page has not answered yet (its text is unchanged): wait, do not try again
    assert act("waiting").kind == "wait"
    reader.text = "The number is higher than 4."
    clear = act("higher 4")
    assert (clear.kind, clear.key) == ("key", "<Backspace>")
    assert act("higher 4").text == "7"  # 5..9 still possible
    act("higher 4")
    reader.text = "Correct!"
    assert act("correct").kind == "done"


def test_a_long_try_is_cleared_whole() -> None:
    """A try with more digits than the usual eight Backspaces is cleared before the next."""
    _, reader, act = _searching("Find the number between 0 and 100000000000 by guessing.")
    act("waiting")  # click the field
    typed = act("waiting")
    assert typed.text == "50000000000"
    act("waiting")  # Enter
    reader.text = "Too high!"
    clear = act("too high")
    assert (clear.kind, clear.key) == ("key", "<Backspace>") and clear.amount >= len(typed.text)


def test_the_same_hint_twice_is_read_as_the_answer_to_the_new_try() -> None:
    """A page that answers two tries with the same words ('Too low!') is believed once it
    has had time to change them (it was taken as 'no answer yet' until the agent gave up)."""
    _, reader, act = _searching("Guess the number between 0-9 and press Submit.")
    for _ in range(3):  # click, type 4, Enter
        act("waiting")
    reader.text = "Too low!"
    typed = []
    for _ in range(12):
        action = act("too low")
        assert action.kind != "done", "gave up on a repeated hint"
        if action.kind == "type":
            typed.append(action.text)
        if len(typed) == 2:
            break
    assert typed == ["7", "8"]  # 5..9, then 8..9


def test_a_search_without_a_field_ends_after_a_few_waits() -> None:
    """No field to type a try into: the agent waits a little, then stops (it waited for ever)."""
    from lavr.episodes.gui.agent import GuiAgent
    from lavr.episodes.loop import Observation

    agent = GuiAgent(text_reader=_SaysReader(), semantic=False)
    said = "Guess the number between 0-9 and press Submit."
    agent.reset(said)
    blank = np.full((210, 160, 3), 255, np.uint8)
    kinds = [agent.decide(Observation(blank, said)).action.kind for _ in range(agent.max_waits + 1)]
    assert kinds == ["wait"] * agent.max_waits + ["done"]


def test_text_there_before_the_first_try_is_not_its_answer() -> None:
    """Words on the page before any try ('the right number') never answer the first try."""
    from lavr.episodes.loop import Observation

    said = "Guess the number between 0-9 and press Submit."
    agent, reader, _ = _searching(said)
    reader.text = "Type the right number in the box"
    steps = [agent.decide(Observation(_form_image("static"), said)) for _ in range(9)]
    kinds = [s.action.kind for s in steps]
    assert kinds.count("type") == 1 and "done" in kinds, kinds  # one try, then no answer
    done = steps[kinds.index("done")]
    assert "gave up" in done.summary and "correct" not in done.summary, done.summary
