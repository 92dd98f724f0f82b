"""``lavr eval synthetic``: generated scenes and questions with exact answers.

Question types: count, exists, colour, spatial (left/right/above/below) and read
(rendered text). Each item is answered by a :class:`~lavr.agents.VisualAgent`
and scored against the scene's ground truth.
"""

from __future__ import annotations

import json
import re
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from lavr.apps.synthetic_scenes import COLOURS, SHAPES, WORDS, Scene, SceneObject, render_scene
from lavr.tools.vocab import NUMBER_WORDS, plural

if TYPE_CHECKING:
    from lavr.agents.visual_agent import VisualAgent
    from lavr.tools.trace import TraceEvent

QUESTION_TYPES = ("count", "exists", "colour", "spatial", "read")


@dataclass
class Item:
    """One evaluation question with its exact answer."""

    qtype: str
    question: str
    answer: str  # normalised expected answer: "3", "yes", "red", "STOP"
    seed: int


def _area(o: SceneObject) -> float:
    return (o.xyxy[2] - o.xyxy[0]) * (o.xyxy[3] - o.xyxy[1])


def _unique(objs: list[SceneObject]) -> list[SceneObject]:
    """Objects whose (colour, shape) is unique in the scene."""
    keys = [(o.colour, o.shape) for o in objs]
    return [o for o in objs if keys.count((o.colour, o.shape)) == 1]


def _q_count(rng: np.random.Generator, scene: Scene) -> tuple[str, str]:
    shape = str(rng.choice(SHAPES))
    if rng.random() < 0.5 and scene.objects:
        colour = str(rng.choice([o.colour for o in scene.objects]))
        n = sum(1 for o in scene.objects if o.shape == shape and o.colour == colour)
        return f"How many {colour} {plural(shape)} are there?", str(n)
    n = sum(1 for o in scene.objects if o.shape == shape)
    return f"How many {plural(shape)} are there?", str(n)


def _q_exists(rng: np.random.Generator, scene: Scene) -> tuple[str, str]:
    if rng.random() < 0.5 and scene.objects:
        o = scene.objects[int(rng.integers(len(scene.objects)))]
        colour, shape = o.colour, o.shape
    else:
        colour, shape = str(rng.choice(list(COLOURS))), str(rng.choice(SHAPES))
    present = any(o.colour == colour and o.shape == shape for o in scene.objects)
    return f"Is there a {colour} {shape}?", "yes" if present else "no"


def _q_colour(rng: np.random.Generator, scene: Scene) -> tuple[str, str] | None:
    by_shape = defaultdict(list)
    for o in scene.objects:
        by_shape[o.shape].append(o)
    singles = [s for s, objs in by_shape.items() if len(objs) == 1]
    if singles and rng.random() < 0.6:
        shape = str(rng.choice(sorted(singles)))
        return f"What colour is the {shape}?", by_shape[shape][0].colour
    if len(scene.objects) >= 2:
        areas = sorted(scene.objects, key=_area, reverse=True)
        if _area(areas[0]) >= 1.5 * _area(areas[1]):
            return "What colour is the largest shape?", areas[0].colour
    return None


def _q_spatial(rng: np.random.Generator, scene: Scene) -> tuple[str, str] | None:
    objs = _unique(scene.objects)
    if len(objs) < 2:
        return None
    i, j = rng.choice(len(objs), size=2, replace=False)
    a, b = objs[int(i)], objs[int(j)]
    ca = ((a.xyxy[0] + a.xyxy[2]) / 2, (a.xyxy[1] + a.xyxy[3]) / 2)
    cb = ((b.xyxy[0] + b.xyxy[2]) / 2, (b.xyxy[1] + b.xyxy[3]) / 2)
    axis = int(rng.integers(2))
    if abs(ca[axis] - cb[axis]) < 20:  # too close to call: ask about the other axis
        axis = 1 - axis
        if abs(ca[axis] - cb[axis]) < 20:
            return None
    if axis == 0:
        rel, truth = ("left of", ca[0] < cb[0]) if rng.random() < 0.5 else ("right of", ca[0] > cb[0])
    else:
        rel, truth = ("above", ca[1] < cb[1]) if rng.random() < 0.5 else ("below", ca[1] > cb[1])
    q = f"Is the {a.colour} {a.shape} {rel} the {b.colour} {b.shape}?"
    return q, "yes" if truth else "no"


def make_item(seed: int, qtype: str) -> tuple[Item, Scene]:
    """Render a scene for ``seed`` and ask a ``qtype`` question about it."""
    for attempt in range(50):
        rng = np.random.default_rng([seed, attempt])
        text = str(rng.choice(WORDS)) if qtype == "read" else None
        scene = render_scene(rng, text=text, n_objects=(1, 6) if qtype != "spatial" else (2, 6))
        if qtype == "read":
            qa: tuple[str, str] | None = ("What does the sign say?", text or "")
        elif qtype == "count":
            qa = _q_count(rng, scene)
        elif qtype == "exists":
            qa = _q_exists(rng, scene)
        elif qtype == "colour":
            qa = _q_colour(rng, scene)
        else:
            qa = _q_spatial(rng, scene)
        if qa is not None:
            return Item(qtype, qa[0], qa[1], seed), scene
    raise RuntimeError(f"could not make a {qtype} question for seed {seed}")


def make_items(n: int, seed: int) -> list[tuple[Item, Scene]]:
    """``n`` items, question types in rotation, deterministic for ``seed``."""
    return [make_item(seed * 100_003 + i, QUESTION_TYPES[i % len(QUESTION_TYPES)])
            for i in range(n)]


def parse_answer(qtype: str, answer: str) -> str:
    """Normalise an answer text for scoring."""
    text = answer.strip()
    low = text.lower()
    if qtype in ("exists", "spatial"):
        m = re.match(r"\W*(yes|no)\b", low)
        return m.group(1) if m else ""
    if qtype == "count":
        for tok in re.findall(r"[a-z]+|\d+", low):
            if tok.isdigit():
                return tok
            if tok in NUMBER_WORDS:
                return str(NUMBER_WORDS[tok])
        return ""
    if qtype == "colour":
        m = re.search(r"\bis (\w+)|\bare (\w+)", low)
        if m:
            return m.group(1) or m.group(2)
        return ""
    quoted = re.findall(r'"([^"]*)"', text)
    return " ".join(quoted)


def score(item: Item, answer: str) -> bool:
    """Whether ``answer`` is right for ``item``."""
    got = parse_answer(item.qtype, answer)
    if item.qtype == "read":
        norm = lambda s: re.sub(r"[^a-z0-9]", "", s.lower())  # noqa: E731
        return norm(got) == norm(item.answer)
    return got == item.answer.lower()


_INTERNALS = (
    (re.compile(r"\[\s*[a-z]\w*\s*(?:,\s*[a-z]\w*\s*)*\]", re.I), "step-id citation"),
    (re.compile(r"\u2192|->"), "arrow"),
    (re.compile(r"\[\s*-?\d+(?:\.\d+)?(?:\s*,\s*-?\d+(?:\.\d+)?){3}\s*\]"), "box"),
    (re.compile(r"\bstep\s+'?s\d+|\bs\d+\b|\bpx\b"), "tool internals"),
)


def plain_problems(answer: str) -> list[str]:
    """What in ``answer`` does not belong in a plain answer (citations, arrows, boxes...).

    Quoted text (what OCR read) is not looked at.
    """
    bare = re.sub(r'"[^"]*"', '""', answer)
    return [what for pattern, what in _INTERNALS if pattern.search(bare)]


def answer_before_verify(steps: Sequence[TraceEvent], answer: str) -> str:
    """The answer as the refiner wrote it (the verify event keeps it when it changed)."""
    for rec in reversed(steps):
        if rec.node == "verify":
            return rec.original_answer or answer
    return answer


def shard_items(items: list[Any], shard: tuple[int, int] | None) -> list[tuple[int, Any]]:
    """``(index, item)`` pairs of shard ``(k, n)``: every n-th item from the k-th (all: None).

    Shards of one run are disjoint and together hold every item, so separate
    processes (one per core or machine) can share a run and add their counts.
    """
    k, of = shard or (0, 1)
    return [(i, it) for i, it in enumerate(items) if i % of == k]


def parse_shard(text: str | None) -> tuple[int, int] | None:
    """``"K/N"`` (0 <= K < N) as ``(K, N)``; None stays None.

    Raises:
        InputError: Anything else.
    """
    from lavr.core_model.errors import InputError

    if text is None:
        return None
    m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
    if not m or not int(m.group(1)) < int(m.group(2)):
        raise InputError(f"--shard takes K/N with 0 <= K < N (e.g. 0/2), got {text!r}")
    return int(m.group(1)), int(m.group(2))


def evaluate_synthetic(n: int, seed: int, *, agent: VisualAgent | None = None, progress: bool = True,
                       failures: list[dict[str, Any]] | None = None,
                       run_kwargs: dict[str, Any] | None = None,
                       shard: tuple[int, int] | None = None) -> dict[str, Any]:
    """Run the synthetic suite (or one shard of it, see :func:`shard_items`).

    ``run_kwargs`` go to every ``agent.run`` call (``cot``, ``cot_steps``, ``icl``).

    Returns:
        ``{"n", "seed", "overall", "per_type": {qtype: {"n", "correct", "accuracy"}},
        "seconds", "mean_steps", "right_before_wrong_after", "turned_wrong", "not_plain",
        "not_plain_answers"}``: answers the verify node turned from right to wrong,
        and plain-style answers that show citations, arrows, boxes or step ids.
    """
    from tqdm import tqdm

    from lavr.agents import VisualAgent
    from lavr.apps.plan_eval import PlanReport, plan_outcome, score_plan

    agent = agent or VisualAgent()
    items = [it for _, it in shard_items(make_items(n, seed), shard)]
    n = len(items)
    per: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    turned_wrong: list[dict[str, Any]] = []
    not_plain: list[dict[str, Any]] = []
    steps = 0
    plans = PlanReport(agent.model.name if agent.model is not None else "rule")
    t0 = time.perf_counter()
    bar = tqdm(items, desc="eval synthetic", unit="q", disable=not progress, file=sys.stderr)
    for item, scene in bar:
        res = agent.run(scene.image, item.question, **(run_kwargs or {}))
        own, first_try = plan_outcome(res.plan, res.steps, agent.context.registry)
        # attempt records repeat time the plan node's own records already cover
        plan_seconds = sum(s.seconds for s in res.steps if s.node == "plan" and not s.is_attempt)
        plans.scores.append(score_plan(item.question, item.qtype, own, agent.context.registry,
                                       first_try=first_try, seconds=plan_seconds))
        ok = score(item, res.answer)
        if res.style == "plain" and plain_problems(res.answer):
            not_plain.append({**asdict(item), "got": res.answer,
                              "problems": plain_problems(res.answer)})
        before = answer_before_verify(res.steps, res.answer)
        if score(item, before) and not ok:
            turned_wrong.append({**asdict(item), "before": before, "got": res.answer})
        per[item.qtype][0] += int(ok)
        per[item.qtype][1] += 1
        steps += sum(1 for s in res.steps if s.node == "tool")
        if not ok and failures is not None:
            failures.append({**asdict(item), "got": res.answer})
        done = sum(c for c, _ in per.values())
        total = sum(t for _, t in per.values())
        bar.set_postfix(acc=f"{done / total:.1%}")
    correct = sum(c for c, _ in per.values())
    return {
        "n": n, "seed": seed, "shard": list(shard) if shard else None,
        "overall": correct / max(n, 1),
        "per_type": {k: {"n": t, "correct": c, "accuracy": c / t} for k, (c, t) in sorted(per.items())},
        "seconds": round(time.perf_counter() - t0, 2), "mean_steps": steps / max(n, 1),
        "model": plans.planner, "plan": plans.to_dict(),
        "right_before_wrong_after": len(turned_wrong), "turned_wrong": turned_wrong,
        "not_plain": len(not_plain), "not_plain_answers": not_plain,
    }


def format_table(report: dict[str, Any]) -> str:
    """A plain-text table of a report."""
    plan = report.get("plan", {}).get("per_type", {})
    lines = [f"{'type':10} {'n':>5} {'correct':>8} {'accuracy':>9}"
             + (f" {'plan acc':>9}" if plan else "")]
    for k, v in report["per_type"].items():
        extra = f" {plan[k]['accuracy']:9.1%}" if k in plan else ""
        lines.append(f"{k:10} {v['n']:5d} {v['correct']:8d} {v['accuracy']:9.1%}{extra}")
    total = sum(v["correct"] for v in report["per_type"].values())
    extra = f" {report['plan']['accuracy']:9.1%}" if plan else ""
    lines.append(f"{'overall':10} {report['n']:5d} {total:8d} {report['overall']:9.1%}{extra}")
    lines.append(f"({report['seconds']} s, {report['mean_steps']:.1f} tool calls per question)")
    if "right_before_wrong_after" in report:
        lines.append(f"right before verify, wrong after: {report['right_before_wrong_after']}")
    if "not_plain" in report:
        lines.append(f"plain answers with citations, arrows, boxes or step ids: "
                     f"{report['not_plain']}")
    if plan:
        p = report["plan"]
        lines.append(f"planner {p['planner']}: plan validity {p['validity']:.1%} (first try "
                     f"{p['first_try_validity']:.1%}), plan accuracy {p['accuracy']:.1%}, "
                     f"{p['seconds_per_plan']} s per plan")
    return "\n".join(lines)


def run_synthetic_cli(args: Any) -> int:
    """The ``lavr eval synthetic`` command."""
    from lavr.agents import VisualAgent
    from lavr.core_model.errors import InputError

    if args.n < 1:
        raise InputError(f"--n must be at least 1, got {args.n}")
    if args.failures:  # before the run: a bad path loses no work
        from lavr.core_model.textfiles import check_writable_file

        check_writable_file(args.failures, flag="--failures")
    from lavr.apps.model_cmd import model_agent_kwargs

    failures: list[dict[str, Any]] = []
    kwargs = model_agent_kwargs(args)
    if getattr(args, "plan_only", False):
        return _plan_only(args, kwargs)
    from lavr.apps.cot_cli import agent_kwargs, reasoning_kwargs

    agent = VisualAgent(detector=args.detector, **kwargs, **agent_kwargs(args))
    report = evaluate_synthetic(args.n, args.seed, agent=agent,
                                progress=not args.no_progress and not args.json, failures=failures,
                                run_kwargs=reasoning_kwargs(args),
                                shard=parse_shard(getattr(args, "shard", None)))
    if args.failures:
        with open(args.failures, "w", encoding="utf-8") as fh:
            for f in failures:
                fh.write(json.dumps(f) + "\n")
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(format_table(report))
    return 0


def _plan_only(args: Any, kwargs: dict[str, Any]) -> int:
    """``lavr eval synthetic --plan-only``: plan validity and accuracy, no experts run."""
    from tqdm import tqdm

    from lavr.agents import VisualAgent
    from lavr.apps.plan_eval import evaluate_planner, format_plan_report

    agent = VisualAgent(detector=args.detector, **kwargs)
    items = make_items(args.n, args.seed)
    bar = tqdm(total=len(items), desc="eval plans", unit="q", file=sys.stderr,
               disable=args.no_progress or args.json)
    report = evaluate_planner(agent.context.planner, [(i.question, i.qtype) for i, _ in items],
                              agent.context.registry, images=[s.image for _, s in items],
                              progress=lambda done, total: bar.update(1),
                              reasoning=agent.context.reasoning)
    bar.close()
    data = report.to_dict()
    if args.failures:
        with open(args.failures, "w", encoding="utf-8") as fh:
            for s in report.scores:
                if not s.accurate:
                    fh.write(json.dumps(asdict(s)) + "\n")
    print(json.dumps(data, indent=2) if args.json else format_plan_report(data))
    return 0
