"""Training data for ``lavr-mllm`` from the agent's own successful runs (``lavr train data``).

For each generated scene (:func:`lavr.apps.evaluate.make_item`, seeds far from
the evaluation seeds) a question is asked in one of several phrasings and the
rule agent answers it with the experts. A run is kept only when its answer is
right against the scene's ground truth, its plan has the expected intent and
its detections match the scene (as the demo bank is made). A kept run gives
one record per role, built with the same compact prompts the roles send a
trained model (:mod:`lavr.planners.roles.compact`):

- ``plan``: image + question → the run's plan as JSON;
- ``decide``: question + evidence → the rule decision (stop, or more steps);
- ``refine``: question + evidence → the run's cited answer;
- ``vqa``: image + question → a short answer from the scene's ground truth;
- ``caption`` (alignment): image → a description from the ground truth.

Phrasings are split: ``train`` phrasings for training, ``heldout`` ones
never trained on (for measuring), and so are the seed ranges.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from lavr.core_model.messages import ImagePart, Message

logger = logging.getLogger(__name__)

ROLES = ("plan", "decide", "refine", "vqa")
KINDS = ROLES + ("caption",)
#: First scene seed per split (evaluation uses ``seed * 100_003 + i`` for small seeds).
SEED_BASE = {"train": 20_000_000, "heldout": 30_000_000}
#: Expected plan intent per question type.
INTENT = {"count": "count", "exists": "exists", "colour": "colour", "spatial": "relation",
          "read": "read"}
#: Each generated question form: (pattern, train phrasings, held-out phrasings).
PHRASINGS: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    "count": (r"^How many (?P<x>.+) are there\?$", (
        "How many {x} are there?", "Count the {x}.", "How many {x} can you see?",
        "What is the number of {x} in the picture?", "Tell me how many {x} there are.",
        "how many {x}?"), (
        "How many {x} does the image show?", "Give the number of {x}.")),
    "exists": (r"^Is there a (?P<x>.+)\?$", (
        "Is there a {x}?", "Do you see a {x}?", "Does the image contain a {x}?",
        "Is any {x} visible?", "Can you find a {x} here?"), (
        "Is a {x} present in the picture?", "Does the picture have a {x}?")),
    "colour": (r"^What colour is the (?P<x>.+)\?$", (
        "What colour is the {x}?", "What is the colour of the {x}?", "Which colour is the {x}?",
        "Tell me the colour of the {x}.", "What color is the {x}?"), (
        "Which color does the {x} have?", "Name the colour of the {x}.")),
    "spatial": (r"^Is the (?P<x>.+)\?$", (
        "Is the {x}?", "Check: is the {x}?", "Tell me: is the {x}?"), (
        "Looking at the picture, is the {x}?", "In the image, is the {x}?")),
    "read": (r"^What does the sign say\?$", (
        "What does the sign say?", "What is written on the label?",
        "Read the text in the image.", "What text is printed on the sign?"), (
        "What does the label say?", "Which words are written in the image?")),
}


def phrase(qtype: str, question: str, j: int, *, split: str = "train") -> str:
    """The ``j``-th phrasing (cycling) of a generated question in ``split``."""
    pattern, train, heldout = PHRASINGS[qtype]
    m = re.match(pattern, question)
    if not m:
        return question
    templates = train if split == "train" else heldout
    return templates[j % len(templates)].format(**m.groupdict())


def vqa_answer(qtype: str, answer: str) -> str:
    """A short answer sentence for the ground truth (what the ``vqa`` role learns to say)."""
    if qtype in ("exists", "spatial"):
        return answer.capitalize() + "."
    if qtype == "count":
        return f"There are {answer}." if answer != "1" else "There is 1."
    if qtype == "colour":
        return f"It is {answer}."
    return f'It says "{answer}".'


def _where(box: Sequence[float], width: int, height: int) -> str:
    cx, cy = (box[0] + box[2]) / 2 / width, (box[1] + box[3]) / 2 / height
    row = "top" if cy < 1 / 3 else "bottom" if cy > 2 / 3 else "middle"
    col = "left" if cx < 1 / 3 else "right" if cx > 2 / 3 else "centre"
    return "centre" if (row, col) == ("middle", "centre") else f"{row} {col}"


def caption(scene: Any) -> str:
    """A description of a scene from its ground truth, objects left to right."""
    objs = sorted(scene.objects, key=lambda o: o.xyxy[0])
    parts = [f"a {o.colour} {o.shape} at {_where(o.xyxy, scene.width, scene.height)}"
             for o in objs]
    text = f"{len(objs)} shape{'s' if len(objs) != 1 else ''}: " + "; ".join(parts) + "."
    for t in scene.texts:
        text += f' Text: "{t.text}".'
    return text


def chat_record(messages: Sequence[Message], reply: str, image_paths: Sequence[str], *,
                role: str, **meta: Any) -> dict[str, Any]:
    """lavr messages + reply as a JSON-able chat record (image parts in order of ``image_paths``)."""
    out = []
    for m in messages:
        if m.role == "system":
            continue
        content: list[dict[str, Any]] = []
        for p in m.parts:
            if isinstance(p, ImagePart):
                content.append({"type": "image"})
            else:
                content.append({"type": "text", "text": p.text})
        out.append({"role": m.role, "content": content})
    out.append({"role": "assistant", "content": reply})
    n = sum(1 for m in out for p in (m["content"] if isinstance(m["content"], list) else [])
            if p["type"] == "image")
    return {"messages": out, "images": list(image_paths[:n]), "role": role, **meta}


def _detections_right(result: Any, scene: Any) -> bool:
    from lavr.apps.synthetic_scenes import SHAPES

    truth = Counter(o.shape for o in scene.objects)
    for e in result.evidence:
        if isinstance(e.value, dict):  # objects counted by label (the detector's value)
            if any(k in SHAPES and truth.get(k, 0) != n for k, n in e.value.items()):
                return False
    return True


def role_records(result: Any, question: str, image: np.ndarray, image_path: str, *,
                 qtype: str, gold: str, roles: Iterable[str], max_steps: int,
                 meta: dict[str, Any]) -> list[dict[str, Any]]:
    """The records one successful run gives, for ``roles``."""
    from lavr.planners.plan import Plan
    from lavr.planners.roles import compact
    from lavr.planners.roles.rule_decider import RuleDecider

    plan = Plan.model_validate(result.plan)
    used = sum(1 for e in result.evidence)
    out = []
    for role in roles:
        if role == "plan":
            msgs, reply = compact.plan_messages(question, image), compact.plan_reply(plan)
        elif role == "decide":
            left = max(max_steps - used, 0)
            d = RuleDecider().decide(plan, result.evidence, budget_left=left)
            reply = compact.decision_reply(d.action if d.action != "continue" else "stop",
                                           d.reason, d.new_steps)
            msgs = compact.decide_messages(plan, result.evidence, left)
        elif role == "refine":
            # the grounded text: it cites step ids, as a model refiner's answer must
            msgs, reply = compact.refine_messages(plan, result.evidence), result.answer_grounded
        elif role == "vqa":
            msgs, reply = compact.vqa_messages(question, image), vqa_answer(qtype, gold)
        else:
            continue
        out.append(chat_record(msgs, reply, [image_path], role=role, **meta))
    return out


def build(out: str | Path, *, n: int, seed: int = 0, split: str = "train",
          kinds: Sequence[str] = KINDS, max_steps: int = 12, detector: str = "shapes",
          progress: bool = True) -> dict[str, Any]:
    """Write ``n`` scenes' records to ``out/records.jsonl`` with images in ``out/images``.

    Returns:
        Counts: scenes tried and kept, records per kind.
    """
    from PIL import Image
    from tqdm import tqdm

    from lavr.agents import VisualAgent
    from lavr.apps.evaluate import QUESTION_TYPES, make_item, score

    out = Path(out)
    (out / "images").mkdir(parents=True, exist_ok=True)
    agent = VisualAgent(detector=detector, verify=False, max_steps=max_steps)
    counts: Counter[str] = Counter()
    base = SEED_BASE[split] + 100_000 * seed
    roles = [k for k in kinds if k in ROLES]
    with (out / "records.jsonl").open("w", encoding="utf-8") as fh:
        for i in tqdm(range(n), desc=f"role data ({split})", unit="scene", disable=not progress,
                      file=sys.stderr):
            qtype = QUESTION_TYPES[i % len(QUESTION_TYPES)]
            item, scene = make_item(base + i, qtype)
            question = phrase(qtype, item.question, i // len(QUESTION_TYPES), split=split)
            rel = f"images/{base + i}.png"
            Image.fromarray(scene.image).save(out / rel, optimize=True)
            meta = {"qtype": qtype, "answer": item.answer, "seed": base + i,
                    "question": question}
            if "caption" in kinds:
                msgs = [Message.user(ImagePart(scene.image, "the image"), "Describe the image.")]
                fh.write(json.dumps(chat_record(msgs, caption(scene), [rel], role="caption",
                                                **meta)) + "\n")
                counts["caption"] += 1
            counts["scenes"] += 1
            if not roles:
                continue
            result = agent.run(scene.image, question)
            if not (score(item, result.answer) and result.plan.get("intent") == INTENT[qtype]
                    and _detections_right(result, scene)):
                logger.info("skip %d (%s): %r -> %r", base + i, qtype, question, result.answer)
                continue
            counts["kept"] += 1
            for rec in role_records(result, question, scene.image, rel, qtype=qtype,
                                    gold=item.answer, roles=roles, max_steps=max_steps,
                                    meta=meta):
                fh.write(json.dumps(rec) + "\n")
                counts[rec["role"]] += 1
    return dict(counts)
