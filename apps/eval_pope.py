"""``lavr eval pope``: POPE-style object-existence probing, with and without correction.

POPE (Li et al., 2023) asks "Is there a <object> in the image?" for objects
that are there (answer yes) and objects that are not (answer no), the absent
ones drawn three ways: **random**, **popular** (the most frequent objects of the
dataset) and **adversarial** (the objects that most often co-occur with what
is in the image). Metrics: accuracy, precision, recall and F1 of "yes", and
the yes-ratio.

Synthetic mode renders shape scenes; an object is a coloured shape ("red
circle"). Adversarial negatives are ranked first by sharing the shape or the
colour of an object in the image (near misses), then by co-occurrence.

Real mode (``--pope-file``) reads POPE question files (JSON lines with
``question_id``, ``image``, ``text``, ``label``) and COCO val2014 images from
a local folder; nothing is downloaded. ``--answers`` takes another model's
answers (JSON lines with ``question_id`` and ``text``) so the same table shows
that model with and without lavr's correction, as in the Woodpecker paper.

Answerers in the table:

- ``lavr``: the :class:`~lavr.agents.VisualAgent` (verify off), and its
  answer corrected — what the in-loop verify node does;
- ``answers``: the given answer file, and each answer corrected;
- ``simulated``: (synthetic mode, ``--simulate``) a stand-in for a
  hallucinating MLLM that says yes to a share of absent objects; it only shows
  what correction does to such answers and is labelled as simulated.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from lavr.apps.synthetic_scenes import COLOURS, SHAPES, Scene, render_scene

if TYPE_CHECKING:
    from lavr.agents.visual_agent import VisualAgent
    from lavr.core_model.model import MultimodalModel

logger = logging.getLogger(__name__)

SETTINGS = ("random", "popular", "adversarial")
#: Positive (and as many negative) questions per image, as in POPE.
QUESTIONS_PER_IMAGE = 3
CATEGORIES = tuple(f"{c} {s}" for c in COLOURS for s in SHAPES)


@dataclass(frozen=True)
class PopeItem:
    """One POPE question.

    Attributes:
        qid: Question id.
        image: Image key (index into the image list, or a file name).
        question: "Is there a ... in the image?"
        label: ``yes`` or ``no``.
        setting: ``random``, ``popular``, ``adversarial`` or the file's name.
        obj: The object asked about.
    """

    qid: str
    image: str
    question: str
    label: str
    setting: str
    obj: str


def question_for(obj: str) -> str:
    """POPE's question wording."""
    article = "an" if obj[:1] in "aeiou" else "a"
    return f"Is there {article} {obj} in the image?"


def parse_yes_no(answer: str) -> str:
    """POPE's reading of an answer: a leading yes/no, else ``no`` if it says no/not, else yes."""
    low = answer.strip().lower()
    m = re.match(r"\W*(yes|no)\b", low)
    if m:
        return m.group(1)
    return "no" if re.search(r"\b(no|not)\b", low) else "yes"


def metrics(labels: list[str], preds: list[str]) -> dict[str, float]:
    """Accuracy, precision, recall, F1 (positive = yes) and yes-ratio."""
    tp = sum(1 for lab, p in zip(labels, preds, strict=True) if lab == "yes" and p == "yes")
    fp = sum(1 for lab, p in zip(labels, preds, strict=True) if lab == "no" and p == "yes")
    fn = sum(1 for lab, p in zip(labels, preds, strict=True) if lab == "yes" and p == "no")
    tn = sum(1 for lab, p in zip(labels, preds, strict=True) if lab == "no" and p == "no")
    n = max(len(labels), 1)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"n": len(labels), "accuracy": (tp + tn) / n, "precision": precision,
            "recall": recall, "f1": f1, "yes_ratio": (tp + fp) / n}


# -- synthetic POPE ---------------------------------------------------------------------------
def _objects(scene: Scene) -> list[str]:
    return sorted({f"{o.colour} {o.shape}" for o in scene.objects})


def _near_miss(cat: str, present: list[str]) -> bool:
    colour, shape = cat.split()
    return any(p.split()[0] == colour or p.split()[1] == shape for p in present)


def build_synthetic(n: int, seed: int) -> tuple[list[Scene], list[PopeItem]]:
    """``n`` scenes and their POPE questions in all three settings (deterministic)."""
    scenes = [render_scene(np.random.default_rng([seed, i, 11]), n_objects=(2, 6))
              for i in range(n)]
    present = [_objects(s) for s in scenes]
    freq = Counter(c for objs in present for c in objs)
    co = Counter((a, b) for objs in present for a in objs for b in objs if a != b)
    items: list[PopeItem] = []
    for idx, objs in enumerate(present):
        rng = np.random.default_rng([seed, idx, 13])
        k = min(QUESTIONS_PER_IMAGE, len(objs))
        positives = [objs[int(i)] for i in rng.choice(len(objs), size=k, replace=False)]
        absent = [c for c in CATEGORIES if c not in objs]
        negatives = {
            "random": [absent[int(i)] for i in rng.choice(len(absent), size=k, replace=False)],
            "popular": sorted(absent, key=lambda c: (-freq[c], c))[:k],
            "adversarial": sorted(absent, key=lambda c: (not _near_miss(c, objs),
                                                         -sum(co[(p, c)] for p in objs), c))[:k],
        }
        for setting in SETTINGS:
            for j, obj in enumerate(positives):
                items.append(PopeItem(f"{setting}-{idx}-p{j}", str(idx), question_for(obj), "yes",
                                      setting, obj))
            for j, obj in enumerate(negatives[setting]):
                items.append(PopeItem(f"{setting}-{idx}-n{j}", str(idx), question_for(obj), "no",
                                      setting, obj))
    return scenes, items


def simulated_answer(item: PopeItem, *, seed: int, false_yes: float = 0.3,
                     false_no: float = 0.05) -> str:
    """A stand-in hallucinating MLLM: right, except yes to ``false_yes`` of absent objects.

    Deterministic per question. Only for showing what correction does to
    yes-biased answers; never reported as a real model.
    """
    rng = np.random.default_rng([seed, zlib.crc32(item.qid.encode())])
    say_yes = item.label == "yes"
    if item.label == "no" and rng.random() < false_yes:
        say_yes = True
    elif item.label == "yes" and rng.random() < false_no:
        say_yes = False
    article = "an" if item.obj[:1] in "aeiou" else "a"
    return (f"Yes, there is {article} {item.obj} in the image." if say_yes
            else f"No, there is no {item.obj} in the image.")


# -- real POPE ----------------------------------------------------------------------------------
def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    """Records of a JSON-lines file (a JSON array is accepted too).

    Raises:
        InputError: Missing, unreadable or not a UTF-8 text file, a line that is not JSON
            or a record that is not an object (:func:`lavr.core_model.textfiles.read_jsonl_file`).
    """
    from lavr.core_model.textfiles import read_jsonl_file

    return read_jsonl_file(path)


def _setting_name(path: Path) -> str:
    for s in SETTINGS:
        if s in path.stem.lower():
            return s
    return path.stem


def load_pope(files: Iterable[str | Path], *, limit: int | None = None) -> list[PopeItem]:
    """POPE questions from question files (``question_id``, ``image``, ``text``, ``label``).

    Args:
        files: POPE question files; the setting is read from the file name
            (``coco_pope_adversarial.json`` → ``adversarial``).
        limit: Keep the first ``limit`` questions of each file.

    Raises:
        InputError: A file is missing or a record lacks a field.
    """
    from lavr.core_model.errors import InputError

    items = []
    for f in files:
        path = Path(f)
        setting = _setting_name(path)
        records = read_jsonl(path)[:limit] if limit else read_jsonl(path)
        for i, rec in enumerate(records):
            missing = [k for k in ("image", "text", "label") if k not in rec]
            if missing:
                raise InputError(f"{path}: record {i} lacks {', '.join(missing)}")
            wrong = [k for k in ("image", "text") if not isinstance(rec[k], str)
                     or not rec[k].strip()]
            if wrong:  # a number here was re.search's TypeError, an internal error
                raise InputError(f"{path}: record {i} needs {' and '.join(wrong)} as "
                                 "non-empty text")
            label = str(rec["label"]).strip().lower()
            if label not in ("yes", "no"):
                raise InputError(f"{path}: record {i} has label {rec['label']!r}, expected yes/no")
            m = re.search(r"is there (?:an? |any )?(.+?) in the (?:image|picture)", rec["text"],
                          re.I)
            items.append(PopeItem(f"{setting}-{rec.get('question_id', i)}", str(rec["image"]),
                                  str(rec["text"]), label, setting,
                                  m.group(1) if m else str(rec["text"])))
    return items


# -- running -----------------------------------------------------------------------------------
Answerer = Callable[[PopeItem], str]


def evaluate(items: list[PopeItem], image_of: Callable[[PopeItem], Any], *,
             answerers: dict[str, Answerer], correct: Callable[[Any, str, str], str],
             progress: bool = True) -> dict[str, Any]:
    """Answer every item with every answerer, correct each answer, and score.

    Args:
        items: POPE questions.
        image_of: The image of an item (array or path).
        answerers: Name → ``item -> answer text``.
        correct: ``(image, answer, question) -> corrected answer`` (the question lets a
            bare "Yes." / "No." be checked: it asserts or denies the question).
        progress: Show a progress bar on stderr.

    Returns:
        ``{"rows": [{answerer, corrected, setting, metrics...}], "flipped": {answerer: n},
        "no_yes_no": {answerer: n}, "questions": n}``.
    """
    from tqdm import tqdm

    answers: dict[tuple[str, str, bool], str] = {}
    cache: dict[tuple[str, str, str], tuple[str, str]] = {}
    changed: Counter[str] = Counter()
    unclear: Counter[str] = Counter()
    todo = [(name, it) for name in answerers for it in items]
    for name, it in tqdm(todo, desc="eval pope", unit="q", disable=not progress, file=sys.stderr):
        key = (name, it.image, it.question)
        if key not in cache:
            raw = answerers[name](it)
            fixed = correct(image_of(it), raw, it.question)
            cache[key] = (raw, fixed)
            changed[name] += int(parse_yes_no(fixed) != parse_yes_no(raw))
            unclear[name] += int(not re.match(r"\W*(yes|no)\b", raw.strip().lower()))
        answers[(name, it.qid, False)], answers[(name, it.qid, True)] = cache[key]
    rows = []
    settings = list(dict.fromkeys(it.setting for it in items))
    for name in answerers:
        for corrected in (False, True):
            for setting in settings:
                sel = [it for it in items if it.setting == setting]
                preds = [parse_yes_no(answers[(name, it.qid, corrected)]) for it in sel]
                rows.append({"answerer": name, "corrected": corrected, "setting": setting,
                             **metrics([it.label for it in sel], preds)})
    return {"rows": rows, "flipped": dict(changed), "no_yes_no": dict(unclear),
            "questions": len(items)}


def format_table(rep: dict[str, Any]) -> str:
    """Plain-text table of a POPE report."""
    lines = [f"{'answerer':28} {'setting':12} {'n':>4} {'acc':>6} {'prec':>6} {'rec':>6} "
             f"{'F1':>6} {'yes':>6}"]
    for r in rep["rows"]:
        name = r["answerer"] + (" + correction" if r["corrected"] else "")
        lines.append(f"{name:28} {r['setting']:12} {r['n']:4d} {r['accuracy']:6.1%} "
                     f"{r['precision']:6.1%} {r['recall']:6.1%} {r['f1']:6.1%} "
                     f"{r['yes_ratio']:6.1%}")
    lines.append(f"({rep['questions']} questions; {rep.get('seconds', 0)} s; distinct answers "
                 f"whose yes/no the correction flipped: {rep['flipped']}; answers without a "
                 f"leading yes/no, read POPE's way: {rep['no_yes_no']})")
    return "\n".join(lines)


def _agent_answerer(agent: VisualAgent, image_of: Callable[[PopeItem], Any]) -> Answerer:
    def answer(item: PopeItem) -> str:
        return agent.run(image_of(item), item.question).answer
    return answer


def run_synthetic(n: int, seed: int, *, agent: VisualAgent, simulate: bool = False,
                  direct_model: MultimodalModel | None = None, progress: bool = True) -> dict[str, Any]:
    """Synthetic POPE with the agent, optionally a real model's own direct answers
    (``direct_model``: no experts, see :mod:`lavr.apps.eval_mllm`) and the simulated MLLM."""
    scenes, items = build_synthetic(n, seed)

    def image_of(it: PopeItem) -> np.ndarray:
        return scenes[int(it.image)].image

    answerers: dict[str, Answerer] = {"lavr": _agent_answerer(agent, image_of)}
    if direct_model is not None:
        from lavr.apps.eval_mllm import answer_direct

        answerers[f"{direct_model.name} direct"] = \
            lambda it: answer_direct(direct_model, image_of(it), it.question)
    if simulate:
        answerers["simulated MLLM"] = lambda it: simulated_answer(it, seed=seed)
    t0 = time.perf_counter()
    rep = evaluate(items, image_of, answerers=answerers,
                   correct=lambda img, text, q: agent.correct(img, text, question=q).corrected,
                   progress=progress)
    rep.update({"suite": "pope", "mode": "synthetic", "n_images": n, "seed": seed,
                "seconds": round(time.perf_counter() - t0, 1)})
    return rep


def run_real(files: list[str], images: str, *, agent: VisualAgent, answers: str | None = None,
             limit: int | None = None, skip_agent: bool = False,
             progress: bool = True) -> dict[str, Any]:
    """POPE on local COCO images and question files (nothing is downloaded).

    Raises:
        InputError: Missing files, folder or images, or answers for unknown questions.
    """
    from lavr.core_model.errors import InputError

    folder = Path(images)
    if not folder.is_dir():
        raise InputError(f"{images}: not a folder of images")
    items = load_pope(files, limit=limit)
    missing = sorted({it.image for it in items if not (folder / it.image).is_file()})
    if missing:
        raise InputError(f"{len(missing)} image(s) missing from {images}, e.g. {missing[0]}")

    def image_of(it: PopeItem) -> Path:
        return folder / it.image

    answerers: dict[str, Answerer] = {}
    if not skip_agent:
        answerers["lavr"] = _agent_answerer(agent, image_of)
    if answers:
        given = {str(r.get("question_id")): str(r.get("text", r.get("answer", "")))
                 for r in read_jsonl(answers)}

        def from_file(it: PopeItem) -> str:
            qid = it.qid.split("-", 1)[1]
            if qid not in given:
                raise InputError(f"{answers}: no answer for question_id {qid}")
            return given[qid]
        answerers["answers"] = from_file
    if not answerers:
        raise InputError("nothing to evaluate: give --answers or drop --skip-agent")
    t0 = time.perf_counter()
    rep = evaluate(items, image_of, answerers=answerers,
                   correct=lambda img, text, q: agent.correct(img, text, question=q).corrected,
                   progress=progress)
    rep.update({"suite": "pope", "mode": "real", "files": [str(f) for f in files],
                "seconds": round(time.perf_counter() - t0, 1)})
    return rep


# -- CLI ----------------------------------------------------------------------------------------
def add_eval_parser(esub: Any) -> None:
    """Register ``lavr eval pope``."""
    p = esub.add_parser("pope", help="POPE object probing (synthetic, or local COCO + POPE files)")
    p.add_argument("--n", type=int, default=30,
                   help="synthetic images per setting (default 30; 6 questions each)")
    p.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    p.add_argument("--simulate", action="store_true",
                   help="add a simulated yes-biased MLLM to show correction on hallucinations")
    p.add_argument("--direct-model", metavar="SPEC",
                   help="synthetic mode: add this vision-language model's own answers (no "
                   "experts), with and without correction, e.g. lavr-mllm")
    p.add_argument("--pope-file", action="append", metavar="PATH",
                   help="a POPE question file (repeatable): real mode")
    p.add_argument("--images", metavar="DIR", help="folder of COCO val2014 images (real mode)")
    p.add_argument("--answers", metavar="PATH",
                   help="another model's answers (JSON lines: question_id, text) to correct")
    p.add_argument("--limit", type=int, help="first N questions of each POPE file")
    p.add_argument("--skip-agent", action="store_true",
                   help="real mode: only evaluate --answers (no lavr answers)")
    p.add_argument("--detector", default="auto")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.set_defaults(eval_func=run)


def run(args: Any) -> int:
    """The ``lavr eval pope`` command."""
    from lavr.agents import VisualAgent
    from lavr.apps.model_cmd import set_threads
    from lavr.core_model.errors import InputError

    set_threads(args.threads)
    agent = VisualAgent(detector=args.detector, verify=False)
    progress = not args.no_progress and not args.json
    if args.pope_file:
        if not args.images:
            raise InputError("--pope-file needs --images DIR (local COCO val2014 images)")
        rep = run_real(args.pope_file, args.images, agent=agent, answers=args.answers,
                       limit=args.limit, skip_agent=args.skip_agent, progress=progress)
    else:
        if args.n < 1:
            raise InputError(f"--n must be at least 1, got {args.n}")
        if args.answers:
            raise InputError("--answers needs --pope-file (answers refer to POPE question ids)")
        direct = None
        if args.direct_model:
            from lavr.core_model.backends import load_model

            direct = load_model(args.direct_model)
        rep = run_synthetic(args.n, args.seed, agent=agent, simulate=args.simulate,
                            direct_model=direct, progress=progress)
    print(json.dumps(rep, indent=2) if args.json else format_table(rep))
    return 0
