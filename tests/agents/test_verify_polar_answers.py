"""A yes/no answer that restates the asked relation gets the yes/no its verdict implies.

lavr-mllm's refiner wrote "No: blue square is below green triangle." for "Is the blue
square below the green triangle?" (the square is above): the "No" was right, the
relation words were not. Verify fixed the relation and also flipped the "No", making a
right answer wrong (11 of 200 synthetic questions). With the question known, the yes/no
of a sentence that restates the asked relation follows the verdict instead.
"""

from __future__ import annotations

import pytest

from lavr.agents import VisualAgent
from lavr.apps.evaluate import make_item
from lavr.core_model.scripted import ScriptedModel

#: A generated scene with a blue square above a green triangle.
SEED = 100041
QUESTION = "Is the blue square below the green triangle?"


def spatial_scene(seed: int, question: str):
    """The image of generated spatial item ``seed``, checked to ask ``question`` (answer no)."""
    item, scene = make_item(seed, "spatial")
    assert item.question == question and item.answer == "no"
    return scene.image


@pytest.fixture(scope="module")
def scene():
    return spatial_scene(SEED, QUESTION)


def answer(image, question: str, reply: str) -> str:
    model = ScriptedModel({"refine": [reply]}, repeat_last=True)
    model.compact_prompts = True
    agent = VisualAgent(model=model, model_roles="refine", detector="shapes")
    return agent.run(image, question).answer


@pytest.mark.parametrize("question,reply,want", [
    # restates the asked relation, which is false: "No" stays, the relation is fixed
    (QUESTION, "No: blue square is below green triangle. [s5]",
     "No: blue square is above green triangle."),
    # the same with a wrong "Yes": it becomes "No"
    (QUESTION, "Yes: blue square is below green triangle. [s5]",
     "No: blue square is above green triangle."),
    # restates the asked relation, which holds: "No" becomes "Yes"
    ("Is the blue square above the green triangle?",
     "No: blue square is above green triangle. [s5]",
     "Yes: blue square is above green triangle."),
    # a right answer with its reason (not the asked relation) is left alone
    (QUESTION, "No, the blue square is above the green triangle. [s5]",
     "No, the blue square is above the green triangle."),
])
def test_the_yes_no_follows_the_verdict_of_the_asked_relation(scene, question, reply, want):
    assert answer(scene, question, reply) == want


def test_without_a_question_a_refuted_reason_still_flips_the_answer(scene):
    fixed = VisualAgent(detector="shapes").correct(
        scene, "No, the blue square is below the green triangle.", attach_boxes=False)
    assert fixed.corrected == "Yes, the blue square is above the green triangle."


#: A generated scene with an orange square apart from a green circle (the square is
#: not above it).
APART_SEED = 200029
APART_QUESTION = "Is the orange square above the green circle?"


@pytest.fixture(scope="module")
def apart():
    return spatial_scene(APART_SEED, APART_QUESTION)


@pytest.mark.parametrize("question,want", [
    # the yes/no answers the relation, not whether the square is there: it stays "No"
    (APART_QUESTION, "No"),
    # the question asks whether the square is there: the "No" flips
    ("Is there an orange square in the image?", "Yes"),
    # no question known: the answer is read as being about the square (as before)
    (None, "Yes"),
])
def test_an_existence_answer_flips_only_when_the_question_asks_existence(apart, question, want):
    fixed = VisualAgent(detector="shapes").correct(
        apart, "No, there is no orange square in the image.", question=question,
        attach_boxes=False)
    assert fixed.corrected.split(",")[0] == want, fixed.corrected


@pytest.mark.parametrize("question,reply,want", [
    # a bare yes/no asserts or denies the question: the question's claims are checked
    ("Is there an orange square in the image?", "No.", "Yes."),
    ("Is there an orange square in the image?", "yes", "yes"),
    ("Is there a purple triangle in the image?", "Yes.", "No."),
    ("Is there a purple triangle in the image?", "No [s1].", "No [s1]."),
    (APART_QUESTION, "Yes.", "No."),
    (APART_QUESTION, "No.", "No."),
    ("Is the green circle above the orange square?", "No.", "Yes."),
    # without the question a bare answer claims nothing and stays as it is
    (None, "Yes.", "Yes."),
])
def test_a_bare_yes_no_follows_the_verdict_on_the_question(apart, question, reply, want):
    fixed = VisualAgent(detector="shapes").correct(apart, reply, question=question)
    assert fixed.corrected == want
