"""The synthetic evaluator scores plain answers and still rejects wrong ones."""

from __future__ import annotations

import pytest

from lavr.apps.evaluate import Item, answer_before_verify, plain_problems, score
from lavr.tools.trace import TraceEvent

RIGHT = [
    (Item("count", "How many circles are there?", "3", 0), "There are three circles."),
    (Item("count", "How many red squares are there?", "0", 0), "There are no red squares."),
    (Item("count", "How many circles are there?", "1", 0), "There is one circle."),
    (Item("exists", "Is there a red circle?", "yes", 0), "Yes, there is one red circle."),
    (Item("exists", "Is there a red circle?", "no", 0), "No, there is no red circle in the image."),
    (Item("colour", "What colour is the square?", "green", 0), "The square is green."),
    (Item("colour", "What colour is the largest shape?", "red", 0), "The largest shape is red."),
    (Item("spatial", "Is the square left of the circle?", "no", 0),
     "No, the square is to the right of the circle."),
    (Item("read", "What does the sign say?", "OPEN", 0), 'The text reads "OPEN".'),
]
WRONG = [
    (RIGHT[0][0], "There are four circles."), (RIGHT[0][0], "There are 2 circles."),
    (RIGHT[1][0], "There is one red square."), (RIGHT[3][0], "No, there is no red circle."),
    (RIGHT[4][0], "Yes, there is one red circle."), (RIGHT[5][0], "The square is blue."),
    (RIGHT[7][0], "Yes, the square is to the left of the circle."),
    (RIGHT[8][0], 'The text reads "QPEN".'), (RIGHT[8][0], "The text reads OPEN."),
    (RIGHT[0][0], "I could not answer that: the detector failed."), (RIGHT[5][0], ""),
    (RIGHT[7][0], "The square is to the right of the circle."),
]


@pytest.mark.parametrize(("item", "answer"), RIGHT)
def test_plain_answers_are_scored_right(item, answer):
    assert score(item, answer)
    assert plain_problems(answer) == []


@pytest.mark.parametrize(("item", "answer"), WRONG)
def test_wrong_answers_are_rejected(item, answer):
    assert not score(item, answer)


@pytest.mark.parametrize(("answer", "what"), [
    ("No: square [1,2,3,4] is left of circle → no. [s1, s2]",
     {"arrow", "box", "step-id citation", "tool internals"}),
    ("There are two circles at [10, 20, 30, 40].", {"box"}),
    ("a (step 's2') has 7 objects", {"tool internals"}),
    ('The text reads "s1 [s2] → 3".', set())])  # read text is quoted, not judged
def test_plain_problems(answer, what):
    assert set(plain_problems(answer)) == what


def test_answer_before_verify_is_the_refiners():
    steps = [TraceEvent("refine", summary="a"),
             TraceEvent("verify", original_answer="There are two circles.")]
    assert answer_before_verify(steps, "There are three circles.") == "There are two circles."
    assert answer_before_verify([TraceEvent("verify")], "x") == "x"
