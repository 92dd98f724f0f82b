"""Build the starter demo bank shipped with lavr (``planners/demos/data/demos``).

Every demo is a *successful run*: a synthetic scene (``lavr.apps.evaluate.make_item``,
seeds far from the evaluation seeds), a paraphrase of its question, and the
rule agent's answer, kept only when it is right against the scene's ground
truth and the plan has the expected intent. The record is made with
:func:`lavr.planners.demos.demo_from_trace` — the same path as
``lavr demos add --from-trace`` — so it carries the plan, the reasoning chain
(rationale) and the experts' summary of the image. Scenes whose PNG is large
(noise backgrounds) are skipped to keep the package small.

Run (about a minute on 2 CPU cores)::

    .venv/bin/python scripts/make_demo_bank.py --per-type 8
"""

from __future__ import annotations

import argparse
import io
import logging
import re
import shutil
from pathlib import Path

from PIL import Image

from lavr.agents import VisualAgent
from lavr.apps.evaluate import QUESTION_TYPES, make_item, score
from lavr.apps.synthetic_scenes import SHAPES
from lavr.planners.demos.store import DemoStore, demo_from_trace, packaged_store_path

logger = logging.getLogger("make_demo_bank")

#: First seed used (evaluation uses ``seed * 100_003 + i`` for small seeds).
SEED_BASE = 9_000_000
#: Largest PNG accepted, bytes.
MAX_PNG_BYTES = 12_000
#: Expected plan intent per question type.
INTENT = {"count": "count", "exists": "exists", "colour": "colour", "spatial": "relation",
          "read": "read"}

#: Paraphrases of each generated question form: (pattern, templates).
PARAPHRASES: dict[str, tuple[str, tuple[str, ...]]] = {
    "count": (r"^How many (?P<x>.+) are there\?$", (
        "Count the {x}.", "What is the number of {x} in the picture?",
        "How many {x} can you see?", "Tell me how many {x} there are.",
        "How many {x} are there?")),
    "exists": (r"^Is there a (?P<x>.+)\?$", (
        "Do you see a {x}?", "Does the image contain a {x}?", "Is any {x} visible?",
        "Can you find a {x} here?", "Is there a {x}?")),
    "colour": (r"^What colour is the (?P<x>.+)\?$", (
        "What is the colour of the {x}?", "Which colour is the {x}?",
        "Tell me the colour of the {x}.", "What color is the {x}?",
        "What colour is the {x}?")),
    "spatial": (r"^Is the (?P<x>.+)\?$", (
        "Is the {x}?", "Check: is the {x}?", "Tell me: is the {x}?",
        "Looking at the picture, is the {x}?")),
    "read": (r"^What does the sign say\?$", (
        "What is written on the label?", "Read the text in the image.",
        "What text is printed on the sign?", "What does the label say?",
        "What does the sign say?")),
}


def paraphrase(qtype: str, question: str, j: int) -> str:
    """The ``j``-th paraphrase of a generated question (cycling through the templates)."""
    pattern, templates = PARAPHRASES[qtype]
    m = re.match(pattern, question)
    if not m:
        return question
    return templates[j % len(templates)].format(**m.groupdict())


def png_size(image) -> int:  # noqa: ANN001 - HxWx3 uint8
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, "PNG", optimize=True)
    return len(buf.getvalue())


def detections_right(result, scene) -> bool:  # noqa: ANN001 - AgentResult, Scene
    """Whether every detect step found exactly the scene's objects of each shape it asked for.

    A right final answer can rest on a wrong intermediate step (three triangles
    found where there is one, all orange); such runs are not good demos.
    """
    truth: dict[str, int] = {}
    for o in scene.objects:
        truth[o.shape] = truth.get(o.shape, 0) + 1
    for e in result.evidence:
        if e["tool"] != "detect" or not isinstance(e.get("value"), dict):
            continue
        for label, n in e["value"].items():
            if label in SHAPES and truth.get(label, 0) != n:
                return False
    return True


def build(out: Path, per_type: int) -> DemoStore:
    """Write ``per_type`` checked demos per question type to a fresh store at ``out``."""
    if out.exists():
        shutil.rmtree(out)
    store = DemoStore(out)
    agent = VisualAgent(detector="shapes", verify=False)
    for qtype in QUESTION_TYPES:
        made, tries, seed = 0, 0, SEED_BASE + 10_000 * QUESTION_TYPES.index(qtype)
        while made < per_type:
            seed += 1
            if seed > SEED_BASE + 10_000 * (QUESTION_TYPES.index(qtype) + 1) - 1:
                raise RuntimeError(f"could not make {per_type} {qtype} demos")
            item, scene = make_item(seed, qtype)
            if png_size(scene.image) > MAX_PNG_BYTES:
                continue
            tries += 1
            question = paraphrase(qtype, item.question, made + tries)
            result = agent.run(scene.image, question, cot="chain")
            if (not score(item, result.answer) or result.plan.get("intent") != INTENT[qtype]
                    or not detections_right(result, scene)):
                logger.info("skip seed %d (%s): %r -> %r", seed, qtype, question, result.answer)
                continue
            made += 1
            record = demo_from_trace(
                result.to_dict(), [scene.image], demo_id=f"{qtype}-{made}", task=qtype,
                source=f"synthetic seed={seed} qtype={qtype}")
            store.add(record, [scene.image])
            logger.info("%s-%d: %s -> %s", qtype, made, question, result.answer)
    return store


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--per-type", type=int, default=8)
    p.add_argument("--out", type=Path, default=packaged_store_path())
    args = p.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    store = build(args.out, args.per_type)
    problems = store.check()
    print(f"{len(store)} demos in {args.out}; problems: {len(problems)}")
    for prob in problems:
        print(" ", prob)


if __name__ == "__main__":
    main()
