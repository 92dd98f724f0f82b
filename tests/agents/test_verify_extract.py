"""Stage 1 (concept extraction) and stage 2 (questions): pure text, no experts."""

from __future__ import annotations

import json

import pytest

from lavr.agents.verify.extract import (
    ExtractionError,
    LLMExtractor,
    RuleExtractor,
    anchor_concepts,
    parse_llm_concepts,
    prompt_examples,
)
from lavr.agents.verify.questions import formulate
from lavr.agents.verify.text import (
    pluralise,
    protected_spans,
    singular,
    split_sentences,
    strip_attachments,
)


def extract(text: str) -> list:
    return RuleExtractor().extract(text)


def objects(text: str) -> list[tuple]:
    return [(c.label, c.colour, c.count, c.at_least) for c in extract(text) if c.kind == "object"]


@pytest.mark.parametrize("text,expected", [
    ("There are two red circles.", [("circle", "red", 2, 0)]),
    ("I see 3 boxes and a gray dot.", [("square", None, 3, 0), ("circle", "grey", None, 1)]),
    ("There are no triangles.", [("triangle", None, 0, 0)]),
    ("There isn't a triangle here.", [("triangle", None, 0, 0)]),
    ("Several people ride bikes.", [("person", None, None, 2), ("bicycle", None, None, 1)]),
    ("An orange circle and an orange.", [("circle", "orange", None, 1), ("orange", None, None, 1)]),
    ("A stop sign stands by the road.", [("stop sign", None, None, 1)]),
])
def test_objects_numbers_colours_synonyms_and_plurals(text, expected):
    assert objects(text) == expected


def test_citations_boxes_and_box_words_are_not_claims():
    text = ("There are two red circles at [12, 30, 60, 80], [100, 30, 160, 80]. [s1, s2, s3] "
            "The square is green (box [241, 109, 272, 137]). [s4]")
    got = extract(text)
    assert [(c.kind, c.label, c.count) for c in got if c.kind == "object"] == [
        ("object", "circle", 2), ("object", "square", None)]
    attr = next(c for c in got if c.kind == "attribute")
    assert attr.colours == ["green"]
    sentences = split_sentences(text)
    assert len(sentences) == 2 and sentences[0].text.endswith("[s1, s2, s3]")


def test_attributes_every_and_elided_nouns():
    got = extract("There are three circles: two red, one blue. All two squares are green and red.")
    objs = [(c.label, c.colour, c.count) for c in got if c.kind == "object"]
    assert objs == [("circle", None, 3), ("circle", "red", 2), ("circle", "blue", 1),
                    ("square", None, 2)]
    attr = next(c for c in got if c.kind == "attribute")
    assert attr.colours == ["green", "red"] and attr.every


def test_quoted_text_needs_a_text_cue():
    assert [c.quoted for c in extract('The sign says "EXIT".') if c.kind == "text"] == ["EXIT"]
    assert [c.quoted for c in extract('The text reads, line by line, "LAB", "3".')
            if c.kind == "text"] == ["LAB", "3"]
    # a quoted word is text, never an object; without a cue it is no claim at all
    assert extract('He called it "circle".') == []


def test_relations_with_negation_and_boxes_between():
    got = extract("The red circle is to the left of the blue square.")
    rel = next(c for c in got if c.kind == "relation")
    assert rel.relation == "left_of" and not rel.negated
    assert got[0].text == "The red circle"
    lavr = ("No: red circle [23,146,77,200] is above blue square [173,32,234,92] \u2192 no. "
            "[s1, s2]")
    rel = next(c for c in extract(lavr) if c.kind == "relation")
    assert rel.relation == "above" and rel.negated
    assert next(c for c in extract("The square is not below the circle.")
                if c.kind == "relation").negated


def test_meta_sentences_and_superlatives():
    assert extract("I need two objects to compare for a spatial question.") == []
    assert extract("I could not find two circles.") == []
    got = extract("The largest shape is purple.")
    assert got[0].qualifier == "largest" and got[0].labels == ["circle", "square", "triangle"]


def test_protected_spans_and_plural_helpers():
    kinds = [p.kind for p in protected_spans('a [1, 2] b "x" c([0.1, 0.2, 0.3, 0.4])')]
    assert kinds == ["bracket", "quote", "bracket"]
    assert pluralise("circle", 2) == "circles" and pluralise("person", 3) == "people"
    assert pluralise("boxes", 1) == "box" and singular("Circles") == "Circle"
    assert strip_attachments("two circles([0.10, 0.20, 0.30, 0.40], [0.5, 0.5, 0.6, 0.6]) ok") \
        == "two circles ok"


def test_questions_are_deduplicated_and_typed():
    concepts = extract("There are two circles. The circle is red. There are two circles. "
                       'The red circle is above the square. The sign says "EXIT".')
    qs = formulate(concepts)
    kinds = [q.kind for q in qs]
    assert kinds.count("count") == 1 and len(qs[0].concepts) == 2
    assert set(kinds) == {"count", "existence", "attribute", "relation", "text"}
    rel = next(q for q in qs if q.kind == "relation")
    assert rel.text == "Is the red circle above the square?"
    assert next(q for q in qs if q.kind == "attribute").text == "What colour is the circle?"


# -- LLM mode -----------------------------------------------------------------------------------
@pytest.mark.parametrize("index", range(len(prompt_examples("extract.md"))))
def test_every_extraction_example_parses_and_agrees_with_rule_mode(index):
    text, output = prompt_examples("extract.md")[index]
    items = parse_llm_concepts(output)
    anchored = anchor_concepts(text, items)
    ruled = extract(text)

    def key(cs: list) -> list:
        return sorted((c.kind, c.label, c.count, c.colour, tuple(c.colours), c.relation, c.quoted)
                      for c in cs)
    assert key(anchored) == key(ruled)


def test_prompt_examples_exist():
    assert len(prompt_examples("extract.md")) >= 5
    for text, output in prompt_examples("correct.md"):
        assert "Claims:" in text and output


def test_bad_llm_output_is_refused_with_a_reason():
    with pytest.raises(ExtractionError, match="relation must be one of"):
        parse_llm_concepts('[{"kind": "relation", "phrase": "x", "relation": "near"}]')
    with pytest.raises(ExtractionError, match="no JSON"):
        parse_llm_concepts("There are circles.")
    with pytest.raises(ExtractionError, match="not in the text"):
        anchor_concepts("A red circle.", parse_llm_concepts(
            '[{"kind": "object", "phrase": "a blue square", "label": "square"}]'))


def test_llm_extractor_retries_then_falls_back_to_rules():
    replies = iter(["not json", json.dumps([{"kind": "object", "phrase": "two dogs",
                                             "label": "dog", "count": 2}])])
    ex = LLMExtractor(lambda prompt: next(replies))
    got = ex.extract("I see two dogs.")
    assert [(c.label, c.count) for c in got] == [("dog", 2)]
    assert len(ex.attempts) == 1 and "no JSON" in ex.attempts[0]["error"]
    always_bad = LLMExtractor(lambda prompt: '[{"kind": "thing", "phrase": "x"}]', retries=1)
    assert [(c.label, c.count) for c in always_bad.extract("There are two cats.")] == [("cat", 2)]
    assert len(always_bad.attempts) == 2
