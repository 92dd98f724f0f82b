"""Stage 2 — question formulation: what must be looked at to check each concept?

Every concept becomes one verification question (existence, count, attribute,
text or relation). Identical questions are asked once and answer every concept
that needs them.
"""

from __future__ import annotations

from lavr.agents.verify.text import pluralise
from lavr.agents.verify.types import Concept, ObjectQuery, Question

_RELATION_WORDS = {"left_of": "left of", "right_of": "right of", "above": "above",
                   "below": "below", "inside": "inside", "overlaps": "overlapping"}


def query_of(concept: Concept) -> ObjectQuery:
    """The objects an object concept is about."""
    return ObjectQuery(label=concept.label, labels=list(concept.labels), colour=concept.colour,
                       qualifier=concept.qualifier)


def _the(q: ObjectQuery) -> str:
    return f"the {q.describe()}"


def _question_for(concept: Concept, objects: dict[str, Concept]) -> Question | None:
    """The question that checks ``concept`` (id left empty)."""
    if concept.kind == "object":
        q = query_of(concept)
        if concept.count is not None:
            return Question(id="", kind="count", subject=q.model_copy(update={"qualifier": None}),
                            text=f"How many {q.model_copy(update={'qualifier': None}).describe(True)}"
                                 f" are there in the image?")
        existence = q.model_copy(update={"qualifier": None})
        return Question(id="", kind="existence", subject=existence,
                        text=f"Is there a {existence.describe()} in the image?")
    if concept.kind == "attribute":
        subject = objects.get(concept.subject or "")
        if subject is None:
            return None
        q = query_of(subject)
        verb = "are" if subject.plural and not subject.qualifier else "is"
        noun = pluralise(q.describe(), 2) if verb == "are" else q.describe()
        return Question(id="", kind="attribute", attribute="colour", subject=q,
                        text=f"What colour {verb} the {noun}?")
    if concept.kind == "text":
        return Question(id="", kind="text", quoted=concept.quoted,
                        text="What text is written in the image?")
    if concept.kind == "relation":
        a, b = objects.get(concept.subject or ""), objects.get(concept.target or "")
        if a is None or b is None or concept.relation is None:
            return None
        qa, qb = query_of(a), query_of(b)
        return Question(id="", kind="relation", subject=qa, target=qb, relation=concept.relation,
                        text=f"Is {_the(qa)} {_RELATION_WORDS[concept.relation]} {_the(qb)}?")
    return None


def _key(q: Question) -> str:
    return q.model_dump_json(exclude={"id", "concepts", "text"})


def formulate(concepts: list[Concept]) -> list[Question]:
    """Verification questions for ``concepts`` (ids ``q1``, ``q2`` ...), deduplicated.

    Text questions all share one reading of the image, so there is at most one
    per distinct quoted string.
    """
    objects = {c.id: c for c in concepts if c.kind == "object"}
    by_key: dict[str, Question] = {}
    for concept in concepts:
        q = _question_for(concept, objects)
        if q is None:
            continue
        key = _key(q)
        if key not in by_key:
            by_key[key] = q.model_copy(update={"id": f"q{len(by_key) + 1}"})
        by_key[key].concepts.append(concept.id)
    return list(by_key.values())


def question_of(concept_id: str, questions: list[Question]) -> Question | None:
    """The question that checks a concept, if any."""
    return next((q for q in questions if concept_id in q.concepts), None)
