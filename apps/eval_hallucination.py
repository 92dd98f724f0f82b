"""``lavr eval hallucination``: correct captions with injected hallucinations.

Each item is a synthetic scene and a caption written from its exact ground
truth (counts, colours, one spatial relation, the printed text) into which
hallucinations are injected: absent objects, wrong counts, wrong colours,
wrong text and wrong relations. The corrector sees only the image and the
caption. Scores:

- **removed or fixed**: injected hallucinated phrases that no longer appear in
  the corrected caption (inline boxes ignored);
- **kept**: true phrases that still appear;
- **CHAIR_i / CHAIR_s** before and after: the share of object mentions that
  name something absent, and the share of captions with at least one. Object
  mentions are read with the rule extractor and checked against the ground
  truth; an object is its shape, with its colour when the caption gives one;
- **false claims**: claims the ground truth refutes, before and after (this
  also catches wrong fixes).
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from lavr.apps.synthetic_scenes import COLOURS, SHAPES, WORDS, Scene, render_scene
from lavr.tools.vocab import NUMBER_NAMES, pluralise

if TYPE_CHECKING:
    from lavr.agents.verify.pipeline import Corrector
    from lavr.core_model.model import MultimodalModel

logger = logging.getLogger(__name__)

HALLUCINATION_TYPES = ("absent", "count", "colour", "text", "relation")
#: Counts a caption states (0-9), in words.
_NUM = NUMBER_NAMES[:10]
#: Pairs of objects closer than this (box centres, pixels) get no relation sentence.
RELATION_GAP_PX = 25.0
#: A wrong text must be at most this similar to the real one.
MAX_WRONG_TEXT_SIMILARITY = 0.4


@dataclass
class Fact:
    """One atomic statement of a caption.

    Attributes:
        kind: ``count``, ``colour``, ``relation``, ``text`` or ``absent``.
        phrase: Words that appear in the caption exactly when the fact is stated.
        true: Whether the ground truth supports it.
        htype: For injected hallucinations, their type.
    """

    kind: str
    phrase: str
    true: bool = True
    htype: str | None = None


@dataclass
class Caption:
    """A caption as sentences, with the facts each one states."""

    sentences: list[str] = field(default_factory=list)
    facts: list[Fact] = field(default_factory=list)

    @property
    def text(self) -> str:
        """The caption text."""
        return " ".join(self.sentences)


def _num(n: int, rng: np.random.Generator, *, allow_article: bool = True) -> str:
    if n == 1 and allow_article and rng.random() < 0.4:
        return "a"
    return _NUM[n] if n < len(_NUM) else str(n)


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _centre(box: tuple[float, float, float, float]) -> tuple[float, float]:
    return (box[0] + box[2]) / 2, (box[1] + box[3]) / 2


# -- captions from ground truth ----------------------------------------------------------------
@dataclass
class _CountItem:
    shape: str
    colour: str | None
    n: int
    word: str

    @property
    def phrase(self) -> str:
        what = f"{self.colour} {self.shape}" if self.colour else self.shape
        word = "an" if self.word == "a" and what[0] in "aeiou" else self.word
        return f"{word} {pluralise(what, self.n)}"


def _count_items(scene: Scene, rng: np.random.Generator, by_colour: bool) -> list[_CountItem]:
    keys = Counter((o.shape, o.colour if by_colour else None) for o in scene.objects)
    items = [_CountItem(s, c, n, _num(n, rng)) for (s, c), n in keys.items()]
    order = rng.permutation(len(items))
    return [items[int(i)] for i in order]


def _count_sentence(items: list[_CountItem], opener: str) -> str:
    verb = "is" if items[0].n == 1 else "are"
    head = {"there": f"There {verb} ", "see": "I see ", "shows": "The image shows "}[opener]
    return head + _join([i.phrase for i in items]) + "."


def _relation_pair(scene: Scene, rng: np.random.Generator) -> tuple[str, str, str] | None:
    keys = Counter((o.colour, o.shape) for o in scene.objects)
    unique = [o for o in scene.objects if keys[(o.colour, o.shape)] == 1]
    if len(unique) < 2:
        return None
    for _ in range(10):
        i, j = rng.choice(len(unique), size=2, replace=False)
        a, b = unique[int(i)], unique[int(j)]
        (ax, ay), (bx, by) = _centre(a.xyxy), _centre(b.xyxy)
        axis = int(rng.integers(2))
        gap = (bx - ax) if axis == 0 else (by - ay)
        if abs(gap) < RELATION_GAP_PX:
            continue
        if axis == 0:
            rel = "left of" if gap > 0 else "right of"
            rel = ("to the " + rel) if rng.random() < 0.3 else rel
        else:
            rel = "above" if gap > 0 else "below"
        return f"{a.colour} {a.shape}", rel, f"{b.colour} {b.shape}"
    return None


def _flip(rel: str) -> str:
    for a, b in (("left", "right"), ("right", "left"), ("above", "below"), ("below", "above")):
        if a in rel:
            return rel.replace(a, b)
    return rel


def _wrong_text(truth: str, rng: np.random.Generator) -> str:
    from lavr.agents.verify.text import similarity

    options = [w for w in WORDS if similarity(w, truth) <= MAX_WRONG_TEXT_SIMILARITY]
    return str(options[int(rng.integers(len(options)))])


def make_caption(scene: Scene, rng: np.random.Generator, *, n_hallucinations: int) -> Caption:
    """A ground-truth caption of ``scene`` with ``n_hallucinations`` injected.

    Types are drawn at random among those the caption allows (a relation needs
    two distinct objects, text needs a printed label, ...); each type is used
    at most once per caption, so fewer may be injected.
    """
    by_colour = bool(rng.random() < 0.5)
    items = _count_items(scene, rng, by_colour)
    shape_counts = Counter(o.shape for o in scene.objects)
    singles = [s for s, n in shape_counts.items() if n == 1]
    colour_shapes = list(rng.permutation(singles))[:2] if singles else []
    relation = _relation_pair(scene, rng)
    word = scene.texts[0].text if scene.texts else None

    allowed = ["absent", "count"]
    if colour_shapes:
        allowed.append("colour")
    if word is not None:
        allowed.append("text")
    if relation is not None:
        allowed.append("relation")
    chosen = [str(t) for t in rng.permutation(allowed)[:n_hallucinations]]

    cap = Caption()
    # counts (with an absent object possibly slipped into the list)
    count_facts = [Fact("count", i.phrase) for i in items]
    if "count" in chosen:
        k = int(rng.integers(len(items)))
        item = items[k]
        deltas = [d for d in (1, 2, -1) if item.n + d >= 1 and item.n + d < len(_NUM)]
        new_n = item.n + deltas[int(rng.integers(len(deltas)))]
        items[k] = _CountItem(item.shape, item.colour, new_n, _NUM[new_n])
        count_facts[k] = Fact("count", items[k].phrase, False, "count")
    absent_sentence = None
    if "absent" in chosen:
        present = {(o.colour, o.shape) for o in scene.objects}
        options = [(c, s) for c in COLOURS for s in SHAPES if (c, s) not in present]
        colour, shape = options[int(rng.integers(len(options)))]
        fact = Fact("absent", f"{colour} {shape}", False, "absent")
        if rng.random() < 0.5:
            pos = int(rng.integers(len(items) + 1))
            items.insert(pos, _CountItem(shape, colour, 1, "a"))
            count_facts.insert(pos, fact)
        else:
            article = "an" if colour[0] in "aeiou" else "a"
            absent_sentence = (f"There is also {article} {colour} {shape}."
                               if rng.random() < 0.5 else
                               f"{article.capitalize()} {colour} {shape} is in the picture.")
            count_facts.append(fact)
    opener = str(rng.choice(["there", "see", "shows"]))
    cap.sentences.append(_count_sentence(items, opener))
    cap.facts.extend(count_facts)
    if absent_sentence:
        cap.sentences.append(absent_sentence)
    # colours of shapes that occur once
    wrong_colour_at = 0 if "colour" in chosen else -1
    for i, shape in enumerate(colour_shapes):
        colour = next(o.colour for o in scene.objects if o.shape == shape)
        if i == wrong_colour_at:
            options = [c for c in COLOURS if c != colour]
            wrong = options[int(rng.integers(len(options)))]
            cap.sentences.append(f"The {shape} is {wrong}.")
            cap.facts.append(Fact("colour", f"{shape} is {wrong}", False, "colour"))
        else:
            cap.sentences.append(f"The {shape} is {colour}.")
            cap.facts.append(Fact("colour", f"{shape} is {colour}"))
    if relation is not None:
        a, rel, b = relation
        true = "relation" not in chosen
        rel = rel if true else _flip(rel)
        cap.sentences.append(f"The {a} is {rel} the {b}.")
        cap.facts.append(Fact("relation", f"{a} is {rel} the {b}", true,
                              None if true else "relation"))
    if word is not None:
        shown = word if "text" not in chosen else _wrong_text(word, rng)
        verb = str(rng.choice(["says", "reads"]))
        cap.sentences.append(f'The sign {verb} "{shown}".')
        cap.facts.append(Fact("text", f'"{shown}"', shown == word,
                              None if shown == word else "text"))
    return cap


def make_items(n: int, seed: int) -> list[tuple[Scene, Caption]]:
    """``n`` scenes with captions, deterministic for ``seed``; half carry a printed word."""
    out = []
    for i in range(n):
        rng = np.random.default_rng([seed, i, 7])
        text = str(rng.choice(WORDS)) if rng.random() < 0.5 else None
        scene = render_scene(rng, n_objects=(2, 5), text=text)
        out.append((scene, make_caption(scene, rng, n_hallucinations=int(rng.integers(1, 4)))))
    return out


# -- scoring ----------------------------------------------------------------------------------
def _comparable(text: str) -> str:
    from lavr.agents.verify.correct import UNVERIFIED_MARK
    from lavr.agents.verify.text import strip_attachments

    return " ".join(strip_attachments(text).replace(UNVERIFIED_MARK, "").lower().split())


def scene_knowledge(scene: Scene) -> Any:
    """Ground-truth :class:`~lavr.agents.verify.validate.VisualKnowledge` of a scene."""
    from lavr.agents.verify.validate import knowledge_from_objects

    return knowledge_from_objects([(o.shape, o.colour, o.xyxy) for o in scene.objects],
                                  [(t.text, t.xyxy) for t in scene.texts],
                                  image_size=(scene.width, scene.height))


def ground_truth_check(text: str, scene: Scene) -> dict[str, Any]:
    """Read ``text`` with the rule extractor and check every claim against the ground truth.

    Returns:
        ``{"objects": object mentions, "hallucinated_objects": mentions of absent
        objects, "false_claims": refuted claims, "claims": total claims}``.
    """
    from lavr.agents.verify.claims import build_claims
    from lavr.agents.verify.extract import RuleExtractor
    from lavr.agents.verify.questions import formulate
    from lavr.agents.verify.validate import answer_questions

    concepts = RuleExtractor().extract(text)
    questions = formulate(concepts)
    kb = scene_knowledge(scene)
    claims = build_claims(concepts, questions, answer_questions(questions, kb),
                          image_size=kb.image_size)
    by_concept = {c.id: c for c in concepts}
    objects = [k for k in claims if by_concept[k.concept].kind == "object"
               and by_concept[k.concept].count != 0]
    absent = [k for k in objects if k.verdict == "refuted" and k.fix is not None
              and (k.fix.remove or k.fix.colour)]
    return {"objects": len(objects), "hallucinated_objects": len(absent),
            "false_claims": sum(1 for k in claims if k.verdict == "refuted"),
            "true_claims": sum(1 for k in claims if k.verdict == "supported"),
            "claims": len(claims), "false": [k.text for k in claims if k.verdict == "refuted"],
            "false_kinds": [_false_kind(by_concept[k.concept], k) for k in claims
                            if k.verdict == "refuted"]}


def _false_kind(concept: Any, claim: Any) -> str:
    """The hallucination type of a claim the ground truth refutes (the suite's types)."""
    fix = claim.fix
    if concept.kind == "object":
        if fix is not None and fix.colour:
            return "colour"
        return "absent" if fix is not None and fix.remove else "count"
    return {"attribute": "colour", "relation": "relation", "text": "text"}.get(concept.kind,
                                                                              concept.kind)


@dataclass
class ItemResult:
    """Scores of one caption."""

    index: int
    original: str
    corrected: str
    hallucinations: list[dict[str, Any]]
    true_facts: int
    true_kept: int
    before: dict[str, Any]
    after: dict[str, Any]
    seconds: float


def score_item(index: int, scene: Scene, caption: Caption, corrected: str,
               seconds: float = 0.0) -> ItemResult:
    """Score one corrected caption against its facts and the ground truth."""
    after_text = _comparable(corrected)
    halls = []
    true_total = true_kept = 0
    for f in caption.facts:
        present = f.phrase.lower() in after_text
        if f.true:
            true_total += 1
            true_kept += int(present)
        else:
            halls.append({"type": f.htype, "phrase": f.phrase, "resolved": not present})
    return ItemResult(index, caption.text, corrected, halls, true_total, true_kept,
                      ground_truth_check(caption.text, scene),
                      ground_truth_check(corrected, scene), round(seconds, 3))


def made_false_by_correction(result: ItemResult) -> list[str]:
    """False claims (per the ground truth) in the corrected caption that the original lacked.

    Each is something the correction turned wrong: a true fact edited into a
    false one, or a hallucination "fixed" into a different falsehood. The
    ``right before, wrong after`` figure of the suite counts them.
    """
    before = Counter(result.before.get("false", []))
    out = []
    for text in result.after.get("false", []):
        if before[text] > 0:
            before[text] -= 1
        else:
            out.append(text)
    return out


def _rate(num: float, den: float) -> float | None:
    return None if den == 0 else num / den


def summarise(results: list[ItemResult], *, n: int, seed: int, seconds: float,
              captioner: str | None = None) -> dict[str, Any]:
    """Aggregate item scores into the report printed by the CLI."""
    by_type: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for r in results:
        for h in r.hallucinations:
            by_type[h["type"]][0] += int(h["resolved"])
            by_type[h["type"]][1] += 1
    injected = sum(t for _, t in by_type.values())
    resolved = sum(c for c, _ in by_type.values())
    true_total = sum(r.true_facts for r in results)
    true_kept = sum(r.true_kept for r in results)
    made_false = sum(len(made_false_by_correction(r)) for r in results)

    def chair(key: str) -> dict[str, float | None]:
        objs = sum(getattr(r, key)["objects"] for r in results)
        bad = sum(getattr(r, key)["hallucinated_objects"] for r in results)
        caps = sum(1 for r in results if getattr(r, key)["hallucinated_objects"])
        return {"chair_i": _rate(bad, objs), "chair_s": _rate(caps, len(results)),
                "false_claims": sum(getattr(r, key)["false_claims"] for r in results),
                "claims": sum(getattr(r, key)["claims"] for r in results)}

    def kinds(key: str) -> dict[str, int]:
        return dict(sorted(Counter(x for r in results
                                   for x in getattr(r, key).get("false_kinds", [])).items()))

    return {
        "suite": "hallucination", "n": n, "seed": seed, "captioner": captioner,
        "false_by_type": {"before": kinds("before"), "after": kinds("after")},
        "true_claims": {"before": sum(r.before.get("true_claims", 0) for r in results),
                        "after": sum(r.after.get("true_claims", 0) for r in results)},
        "changed": sum(1 for r in results if r.corrected.strip() != r.original.strip()),
        "injected": injected, "removed_or_fixed": resolved,
        "removed_or_fixed_rate": _rate(resolved, injected),
        "true_facts": true_total, "true_kept": true_kept,
        "true_kept_rate": _rate(true_kept, true_total),
        "made_false": made_false,
        "made_false_captions": sum(1 for r in results if made_false_by_correction(r)),
        "per_type": {t: {"injected": tot, "removed_or_fixed": c, "rate": _rate(c, tot)}
                     for t, (c, tot) in sorted(by_type.items())},
        "before": chair("before"), "after": chair("after"),
        "seconds": round(seconds, 1),
        "seconds_per_caption": round(seconds / max(len(results), 1), 2),
    }


def _pct(x: float | None) -> str:
    return "   n/a" if x is None else f"{x:6.1%}"


def format_report(rep: dict[str, Any]) -> str:
    """Plain-text tables of a report."""
    if rep.get("captioner"):
        return _format_model_report(rep)
    lines = [f"hallucination correction — {rep['n']} captions, seed {rep['seed']}",
             "", f"{'hallucination':14} {'injected':>8} {'removed/fixed':>14} {'rate':>7}"]
    for t, v in rep["per_type"].items():
        lines.append(f"{t:14} {v['injected']:8d} {v['removed_or_fixed']:14d} {_pct(v['rate'])}")
    lines.append(f"{'all':14} {rep['injected']:8d} {rep['removed_or_fixed']:14d} "
                 f"{_pct(rep['removed_or_fixed_rate'])}")
    lines.append(f"{'true facts kept':14} {rep['true_facts']:8d} {rep['true_kept']:14d} "
                 f"{_pct(rep['true_kept_rate'])}")
    lines.append(f"right before, wrong after: {rep['made_false']} claim(s) made false by "
                 f"correction in {rep['made_false_captions']} caption(s)")
    lines += ["", f"{'':14} {'CHAIR_i':>8} {'CHAIR_s':>8} {'false claims':>13}"]
    for key in ("before", "after"):
        v = rep[key]
        lines.append(f"{key:14} {_pct(v['chair_i']):>8} {_pct(v['chair_s']):>8} "
                     f"{v['false_claims']:6d} / {v['claims']:<5d}")
    lines.append(f"({rep['seconds']} s, {rep['seconds_per_caption']} s per caption)")
    return "\n".join(lines)


def _format_model_report(rep: dict[str, Any]) -> str:
    """The tables for a model's own captions (no injected facts: claims checked against
    the ground truth before and after correction)."""
    lines = [f"hallucination correction of {rep['captioner']}'s own captions — {rep['n']} "
             f"captions, seed {rep['seed']}", "",
             f"{'':14} {'CHAIR_i':>8} {'CHAIR_s':>8} {'false claims':>13} {'true claims':>12}"]
    for key in ("before", "after"):
        v = rep[key]
        lines.append(f"{key:14} {_pct(v['chair_i']):>8} {_pct(v['chair_s']):>8} "
                     f"{v['false_claims']:6d} / {v['claims']:<5d} {rep['true_claims'][key]:12d}")
    types = sorted(set(rep["false_by_type"]["before"]) | set(rep["false_by_type"]["after"]))
    lines += ["", f"{'false claims':14} {'before':>8} {'after':>8}"]
    for t in types:
        lines.append(f"{t:14} {rep['false_by_type']['before'].get(t, 0):8d} "
                     f"{rep['false_by_type']['after'].get(t, 0):8d}")
    lines.append(f"captions changed by correction: {rep['changed']}; right before, wrong "
                 f"after: {rep['made_false']} claim(s) in {rep['made_false_captions']} caption(s)")
    lines.append(f"({rep['seconds']} s, {rep['seconds_per_caption']} s per caption)")
    return "\n".join(lines)


#: What a captioning model is asked (the alignment records of ``lavr train data``).
CAPTION_PROMPT = "Describe the image."
#: Generation cap for a model's caption.
CAPTION_MAX_TOKENS = 96


def model_caption(model: MultimodalModel, image: np.ndarray, prompt: str = CAPTION_PROMPT) -> str:
    """A vision-language model's own description of ``image``.

    Raises:
        InputError: The model cannot see images.
    """
    from lavr.core_model.errors import InputError
    from lavr.core_model.messages import ImagePart, Message

    if not model.sees_images:
        raise InputError(f"{model.name} is text-only: it cannot describe an image "
                         "(--captioner needs a vision-language model)")
    return model.generate([Message.user(ImagePart(image, "the image"), prompt)],
                          max_new_tokens=CAPTION_MAX_TOKENS, task="caption").strip()


def evaluate_hallucination(n: int, seed: int, *, corrector: Corrector | None = None, progress: bool = True,
                           items_out: list[dict[str, Any]] | None = None,
                           captioner: MultimodalModel | None = None, caption_prompt: str = CAPTION_PROMPT,
                           shard: tuple[int, int] | None = None) -> dict[str, Any]:
    """Run the suite.

    With ``captioner`` (a vision-language model) the captions are the model's own
    descriptions of the same scenes instead of ground-truth captions with injected
    hallucinations; they are scored by their claims against the ground truth (CHAIR,
    false and true claims, before and after correction).

    Args:
        n: Number of captions.
        seed: Random seed (scenes, captions and injections).
        corrector: A :class:`~lavr.agents.verify.pipeline.Corrector` (default: rule mode
            with the built-in experts).
        progress: Show a progress bar on stderr.
        items_out: If given, receives one JSON-able record per caption.
        captioner: A model that writes the captions (see above).
        caption_prompt: What the captioner is asked.
        shard: ``(k, n)``: only every n-th caption from the k-th.
    """
    from tqdm import tqdm

    from lavr.agents.verify.pipeline import Corrector

    corrector = corrector or Corrector()
    results = []
    t0 = time.perf_counter()
    items = list(enumerate(make_items(n, seed)))
    if shard is not None:
        items = items[shard[0]::shard[1]]
    for i, (scene, caption) in tqdm(items, desc="eval hallucination", unit="caption",
                                    disable=not progress, file=sys.stderr):
        t = time.perf_counter()
        if captioner is not None:
            own = model_caption(captioner, scene.image, caption_prompt)
            caption = Caption(sentences=[own])  # no injected facts: claims are scored
        out = corrector.correct(scene.image, caption.text)
        res = score_item(i, scene, caption, out.corrected, time.perf_counter() - t)
        results.append(res)
        if items_out is not None:
            items_out.append(asdict(res))
    return summarise(results, n=len(items), seed=seed, seconds=time.perf_counter() - t0,
                     captioner=captioner.name if captioner is not None else None)


# -- CLI ----------------------------------------------------------------------------------------
def add_eval_parser(esub: Any) -> None:
    """Register ``lavr eval hallucination``."""
    from lavr.apps.model_cmd import _option as model_option

    p = esub.add_parser("hallucination",
                        help="correct synthetic captions with injected hallucinations")
    p.add_argument("--n", type=int, default=100, help="number of captions (default 100)")
    p.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--detector", default="auto")
    p.add_argument("--policy", choices=("keep", "mark", "remove"), default="mark",
                   help="what to do with unverifiable claims (default mark)")
    p.add_argument("--threads", type=int, default=1,
                   help="torch CPU threads for the experts (default 1)")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.add_argument("--items", metavar="PATH", help="write every caption's scores as JSON lines")
    p.add_argument("--captioner", metavar="SPEC",
                   help="captions from this vision-language model describing each scene "
                   "(e.g. lavr-mllm) instead of ground-truth captions with injected "
                   "hallucinations; scored by their claims against the ground truth")
    p.add_argument("--caption-prompt", default=CAPTION_PROMPT,
                   help=f"what --captioner is asked (default {CAPTION_PROMPT!r})")
    p.add_argument("--model-option", action="append", type=model_option, default=[],
                   metavar="KEY=VALUE", help="an option for --captioner's backend (repeatable)")
    p.add_argument("--shard", metavar="K/N", help="only every N-th caption from the K-th "
                   "(0 <= K < N): N processes share one run")
    p.set_defaults(eval_func=run)


def run(args: Any) -> int:
    """The ``lavr eval hallucination`` command."""
    from lavr.agents.verify.pipeline import Corrector
    from lavr.agents.verify.validate import ExpertValidator
    from lavr.core_model.errors import InputError

    if args.n < 1:
        raise InputError(f"--n must be at least 1, got {args.n}")
    if args.items:  # before the run: a bad path loses no work
        from lavr.core_model.textfiles import check_writable_file

        check_writable_file(args.items, flag="--items")
    from lavr.apps.model_cmd import set_threads

    set_threads(args.threads)
    corrector = Corrector(validator=ExpertValidator(detector=args.detector), policy=args.policy)
    captioner = None
    if args.captioner:
        from lavr.core_model.backends import load_model

        captioner = load_model(args.captioner, **dict(args.model_option))
    from lavr.apps.evaluate import parse_shard

    items: list[dict[str, Any]] = []
    rep = evaluate_hallucination(args.n, args.seed, corrector=corrector,
                                 progress=not args.no_progress and not args.json,
                                 items_out=items, captioner=captioner,
                                 caption_prompt=args.caption_prompt,
                                 shard=parse_shard(args.shard))
    if args.items:
        with open(args.items, "w", encoding="utf-8") as fh:
            for rec in items:
                fh.write(json.dumps(rec) + "\n")
    print(json.dumps(rep, indent=2) if args.json else format_report(rep))
    return 0
