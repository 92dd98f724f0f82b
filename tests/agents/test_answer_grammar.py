"""The refiner's answers are grammatical English for every intent, count 0-12 and noun.

The evidence is built by hand (detections with 0-12 objects), so every branch of
the rule refiner is written out in both styles and read back.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from lavr.planners.plan import Plan, Step
from lavr.planners.roles.rule_refiner import ANSWER_STYLES, refine_reply
from lavr.tools.base import ArtifactStore
from lavr.tools.detections import Detections
from lavr.tools.evidence import Evidence
from lavr.tools.vocab import NUMBER_NAMES, count_phrase, plural, pluralise, singular

#: noun as a plan's target → (singular, plural) a person would write.
NOUNS = {
    "circle": ("circle", "circles"), "objects": ("object", "objects"),
    "person": ("person", "people"), "people": ("person", "people"), "box": ("box", "boxes"),
    "boxes": ("box", "boxes"), "bus": ("bus", "buses"), "glass": ("glass", "glasses"),
    "wine glass": ("wine glass", "wine glasses"), "sheep": ("sheep", "sheep"),
    "red circle": ("red circle", "red circles"), "butterfly": ("butterfly", "butterflies"),
    "circle, square": ("circle and square", "circles and squares"),
}
COUNTS = range(13)
INTENTS = ("count", "exists", "colour", "locate", "segment", "list", "relation", "read")
#: Patterns no answer may contain.
BAD = [
    (re.compile(r"\b\w+(?:es|s)es\b(?<!buses)(?<!glasses)(?<!boxes)"), "double plural"),
    (re.compile(r"\b\w+, \w+s\b(?! and)"), "list with one plural"),
    (re.compile(r"\b(?:one|1|a|an) (?:\w+ )?(?:circles|objects|people|boxes|buses|glasses)\b"),
     "singular count, plural noun"),
    (re.compile(r"\b(?:two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|[02-9]|1\d) "
                r"(?:red |wine )?(?:circle|object|person|box|bus|glass|butterfly)\b(?! and)"),
     "plural count, singular noun"),
    (re.compile(r"\bthere is (?:two|three|four|five|six|seven|eight|nine|ten|eleven|twelve)\b", re.I),
     "is with a plural"),
    (re.compile(r"\bthere are (?:one|a|an)\b", re.I), "are with one"),
    (re.compile(r"\ba (?=[aeiou])|\ban (?![aeiou])", re.I), "a/an"),
    (re.compile(r"\s[.,;:]|\.\.|,,|  "), "spacing"),
]


def _dets(n: int, *, label: str = "circle", colours: list[str] | None = None) -> Detections:
    xyxy = np.array([[10 + 20 * i, 10 + 15 * i, 30 + 20 * i, 30 + 15 * i] for i in range(n)],
                    np.float32).reshape(n, 4)
    data = {"colour": np.array(colours, dtype=object)} if colours is not None else {}
    return Detections(xyxy, np.linspace(0.9, 0.5, n).astype(np.float32) if n else
                      np.zeros(0, np.float32), np.array([label] * n, dtype=object), data=data)


def _case(intent: str, n: int, noun: str) -> tuple[Plan, list[Evidence], ArtifactStore]:
    store = ArtifactStore()
    label = singular(noun.split(",")[0])
    colours = (["red", "blue"] * 7)[:n]
    dets = _dets(n, label=label, colours=colours)
    det_id = store.put(dets)
    rec = {"step_id": "s1", "tool": "detect", "args": {"labels": [label]}, "error": None,
           "summary": "detect", "value": n, "artifact_id": det_id, "boxes": dets.xyxy.tolist()}
    steps = [Step(id="s1", tool="detect", args={"labels": [label]})]
    evidence = [rec]
    if intent in ("count", "exists"):
        steps.append(Step(id="s2", tool="count", args={"source": "s1"}))
        evidence.append({"step_id": "s2", "tool": "count", "args": {"source": "s1"},
                         "error": None, "summary": f"count: {n}", "value": n, "boxes": []})
    elif intent == "colour":
        rec["tool"], steps[0] = "colour", Step(id="s1", tool="colour", args={"source": "s0"})
    elif intent == "segment":
        steps.append(Step(id="s2", tool="segment", args={"source": "s1"}))
        evidence.append({"step_id": "s2", "tool": "segment", "args": {"source": "s1"},
                         "error": None, "summary": "segment", "value": [100 + i for i in range(n)],
                         "boxes": []})
    elif intent == "list":
        rec["artifact_id"] = store.put(_dets(n, label=label, colours=colours))
    elif intent == "relation":
        other = store.put(_dets(max(n, 1), label="square"))
        steps += [Step(id="s2", tool="detect", args={"labels": ["square"]}),
                  Step(id="s3", tool="relation", args={"a": "s1", "b": "s2",
                                                        "relation": "left_of"})]
        evidence += [{"step_id": "s2", "tool": "detect", "error": None, "summary": "detect",
                      "artifact_id": other, "boxes": []},
                     {"step_id": "s3", "tool": "relation", "error": None if n else "a has no objects",
                      "summary": "relation: x is left of y → yes", "value": n % 2 == 0,
                      "boxes": []}]
    elif intent == "read":
        lines = [f"LINE {i}" for i in range(n)]
        steps = [Step(id="s1", tool="ocr")]
        evidence = [{"step_id": "s1", "tool": "ocr", "args": {}, "error": None,
                     "summary": "ocr", "value": lines, "boxes": [[1, 2, 3, 4]] * n,
                     "scores": [0.9] * n}]
    answer_step = steps[-1].id
    plan = Plan(question="q?", intent=intent, target=noun, steps=steps, answer_step=answer_step)
    return plan, [Evidence.from_record(r) for r in evidence], store


@pytest.mark.parametrize("intent", INTENTS)
@pytest.mark.parametrize("noun", list(NOUNS))
def test_answers_are_grammatical_for_every_count(intent, noun):
    one, many = NOUNS[noun]
    for n in COUNTS:
        plan, evidence, store = _case(intent, n, noun)
        reply = refine_reply(plan, evidence, store, image_size=[320, 320])
        for style in ANSWER_STYLES:
            text = reply.text(style)
            assert text and text[0].isupper() and text.rstrip("]").rstrip(" [s0123,")[-1] in ".)", \
                (style, text)
            for pattern, what in BAD:
                assert not pattern.search(text), f"{what}: {text!r} ({intent}, {n}, {noun})"
        plain = reply.plain
        assert "[s" not in plain and "→" not in plain and not re.search(r"\[\d", plain), plain
        if intent in ("count", "exists") and "," in noun:  # a count per class
            circles = count_phrase(n, "circle")
            lead = "" if intent == "count" else "Yes, t" if n else "No, t"
            want = f"{lead or 'T'}here {'is' if n == 1 else 'are'} {circles} and no squares."
            assert plain == want
            continue
        if intent == "count":
            want = f"There is one {one}." if n == 1 else f"There are {NUMBER_NAMES[n]} {many}."
            assert plain == want
        if intent == "exists":
            assert plain == (f"No, there is no {one} in the image." if n == 0 else
                             f"Yes, there {'is' if n == 1 else 'are'} {count_phrase(n, noun)}.")
        if intent == "segment" and n:
            assert plain == f"I outlined {NUMBER_NAMES[n]} {one if n == 1 else many}."
        if intent == "read" and n > 1:
            assert plain.startswith(f"The text has {NUMBER_NAMES[n]} lines: ")


@pytest.mark.parametrize(("noun", "n", "want"), [
    ("objects", 4, "objects"), ("circle", 0, "circles"), ("circle", 1, "circle"),
    ("circles", 1, "circle"), ("person", 3, "people"), ("people", 1, "person"),
    ("box", 2, "boxes"), ("bus", 2, "buses"), ("bus", 1, "bus"), ("glass", 1, "glass"),
    ("sheep", 5, "sheep"), ("butterfly", 2, "butterflies"), ("day", 2, "days"),
    ("circle, square", 3, "circles and squares"), ("circles and squares", 1, "circle and square"),
    ("wine glass", 2, "wine glasses"), ("text", 2, "text")])
def test_pluralise(noun, n, want):
    assert pluralise(noun, n) == want


def test_plural_is_idempotent():
    for noun in ("circle", "person", "box", "bus", "butterfly", "glass", "wine glass"):
        assert plural(plural(noun)) == plural(noun)
        assert singular(plural(noun)) == noun


def test_the_big_circle_names_one_circle():
    """``What colour is the big circle?`` picks the largest circle, and the answer names one."""
    from lavr.planners.roles.rule_planner import RulePlanner

    plan = RulePlanner().plan("What colour is the big circle?")
    assert [s.tool for s in plan.steps][-1] == "select"
    store = ArtifactStore()
    big = _dets(1, colours=["blue"])
    steps = {s.id: s for s in plan.steps}
    evidence = [Evidence.from_record({"step_id": sid, "tool": s.tool, "args": s.args,
                                      "error": None, "summary": "", "value": None,
                                      "artifact_id": store.put(big), "boxes": []})
                for sid, s in steps.items()]
    reply = refine_reply(plan, evidence, store)
    assert reply.plain == "The largest circle is blue."
    assert RulePlanner().plan("How many big circles are there?").steps[-1].tool == "count"


def test_how_many_of_two_classes_counts_both():
    """"How many circles and squares" detects both classes; the answer names both."""
    from lavr.planners.roles.rule_planner import RulePlanner

    plan = RulePlanner().plan("How many circles and squares are there?")
    assert plan.steps[0].args["labels"] == ["circle", "square"]
    assert [s.tool for s in plan.steps] == ["detect", "count"]
    plan_, evidence, store = _case("count", 5, plan.target)
    plan_.steps[0].args["labels"] = ["circle", "square"]
    dets = store.get(evidence[0].artifact_id)
    dets.label[:] = ["circle", "circle", "circle", "square", "square"]
    assert refine_reply(plan_, evidence, store).plain == "There are three circles and two squares."
