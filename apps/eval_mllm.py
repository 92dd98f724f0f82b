"""The MLLM alone vs. the MLLM using experts: ``lavr ask --direct`` and ``lavr eval mllm``.

``--direct`` asks the model about the image with no experts (the ``vqa`` prompt
on the whole image): the baseline the survey compares agents against.
``lavr eval mllm`` runs the synthetic questions (optionally in held-out
phrasings) both ways on the same items and reports, per question type, the
direct accuracy, the with-experts accuracy, plan validity (no rule fallback)
and plan accuracy, seconds per question and the process's peak memory.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from lavr.core_model.messages import ImagePart, Message
from lavr.core_model.model import MultimodalModel

if TYPE_CHECKING:
    from pathlib import Path

    from lavr.planners.demos.select import IclOptions, SelectedDemo
    from lavr.planners.demos.store import DemoRecord, DemoStore

#: Generation cap for a direct answer.
DIRECT_MAX_TOKENS = 48
MODES = ("direct", "experts")


def direct_messages(model: MultimodalModel, image: np.ndarray, question: str, *,
                    demos: Sequence[SelectedDemo | DemoRecord] = (),
                    store: DemoStore | None = None) -> list[Message]:
    """What ``--direct`` sends: the ``vqa`` expert's prompt on the whole image, after any
    in-context demos as (image, instruction, answer) turns."""
    from lavr.planners.demos.prompt import icl_messages
    from lavr.planners.roles import compact
    from lavr.tools.vqa import VQA_PROMPT

    if compact.wants_compact(model):
        return compact.vqa_messages(question, image, demos=demos, store=store)
    if demos:
        return icl_messages(list(demos), store, question, image, system=VQA_PROMPT)
    return [Message.system(VQA_PROMPT), Message.user(ImagePart(image, "the image"), question)]


def answer_direct(model: MultimodalModel, image: np.ndarray, question: str, *,
                  demos: Sequence[SelectedDemo | DemoRecord] = (),
                  store: DemoStore | None = None) -> str:
    """The model's own answer from the pixels, no experts (``demos``: in-context demos
    from ``store`` shown first, with their images).

    Raises:
        InputError: The model cannot see images.
    """
    from lavr.core_model.errors import InputError

    if not model.sees_images:
        raise InputError(f"{model.name} is text-only: it cannot answer from the image alone "
                         "(--direct needs a vision-language model)")
    return model.generate(direct_messages(model, image, question, demos=demos, store=store),
                          max_new_tokens=DIRECT_MAX_TOKENS, task="vqa").strip()


def cmd_ask_direct(args: argparse.Namespace) -> int:
    """``lavr ask IMG Q --model SPEC --direct``."""
    from lavr.apps.model_cmd import resolve_config
    from lavr.core_model.backends import load_model
    from lavr.core_model.errors import InputError
    from lavr.core_model.images import load_image

    cfg = resolve_config(args)
    spec = args.model or cfg.model.spec
    if not spec or spec.strip().lower() in ("rule", "none"):
        raise InputError("--direct needs a vision-language model: add --model SPEC, "
                         "e.g. --model lavr-mllm")
    if not args.image:
        raise InputError("--direct needs an image")
    options = {**cfg.model.options, **dict(args.model_option)}
    model = load_model(spec, **options)
    image = load_image(args.image)
    t0 = time.perf_counter()
    answer = answer_direct(model, image, args.question)
    seconds = time.perf_counter() - t0
    if args.json:
        print(json.dumps({"question": args.question, "answer": answer, "model": model.name,
                          "direct": True, "seconds": round(seconds, 3)}, indent=2))
    else:
        print(f"Q: {args.question}")
        print(f"A: {answer}")
        print(f"({model.name} alone, no experts, {seconds:.2f} s)", file=sys.stderr)
    return 0


def peak_rss_mb() -> float:
    """This process's peak resident memory so far, MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def evaluate_mllm(model: MultimodalModel | str, *, n: int, seed: int, phrasings: str = "original",
                  modes: tuple[str, ...] = MODES, detector: str = "auto",
                  roles: str | None = None, retries: int = 0,
                  progress: bool = True, shard: tuple[int, int] | None = None,
                  icl: IclOptions | dict[str, Any] | int | None = None,
                  demos: DemoStore | str | Path | None = None) -> dict[str, Any]:
    """Direct and with-experts accuracy of ``model`` on the same synthetic items.

    Args:
        model: A model string or object.
        phrasings: ``original`` (the generated questions), ``train`` or ``heldout``
            (:data:`lavr.apps.train_data.PHRASINGS`).
        modes: ``direct`` and/or ``experts``.
        roles: Roles the model takes with experts (default all).
        retries: Re-asks after an unusable reply (default 0: first replies only).
        shard: ``(k, n)``: only every n-th item from the k-th
            (:func:`lavr.apps.evaluate.shard_items`).
        icl: In-context demos (:class:`~lavr.planners.demos.select.IclOptions`, a dict or
            k): chosen per question from the demo store and shown with their images,
            to the direct answer (vqa turns) and to the controller with experts.
        demos: The demo store for ``icl`` (default: ``starter``, the starter bank with
            images; ``builtin`` holds text-only plan demos).
    """
    from tqdm import tqdm

    from lavr.agents import VisualAgent
    from lavr.apps.evaluate import make_items, score, shard_items
    from lavr.apps.plan_eval import PlanReport, plan_outcome, score_plan
    from lavr.apps.train_data import phrase
    from lavr.core_model.backends import load_model
    from lavr.planners.demos.select import DemoSelector, IclOptions
    from lavr.planners.demos.store import open_store

    resolved = load_model(model) if isinstance(model, str) else model
    icl_opts = IclOptions.coerce(icl) if icl is not None else None
    store = open_store("starter" if demos is None else demos) \
        if icl_opts is not None and icl_opts.k else None
    selector = DemoSelector(store) if store is not None else None
    agent = VisualAgent(detector=detector, verify=False, model=resolved, model_roles=roles,
                        model_retries=retries, icl=icl_opts,
                        demos=store) \
        if "experts" in modes else None
    model_tools = set(agent.context.registry.asking_model()) if agent is not None else set()
    items = shard_items(make_items(n, seed), shard)
    n = len(items)
    per: dict[str, dict[str, list[int]]] = {m: defaultdict(lambda: [0, 0]) for m in modes}
    seconds = dict.fromkeys(modes, 0.0)
    by_role: dict[str, float] = defaultdict(float)
    plans = PlanReport(resolved.name)
    rows = []
    for k, (item, scene) in tqdm(items, desc="eval mllm", unit="q", disable=not progress,
                                 file=sys.stderr):
        question = item.question if phrasings == "original" else phrase(
            item.qtype, item.question, k // 5, split=phrasings)
        row: dict[str, Any] = {"qtype": item.qtype, "question": question, "gold": item.answer}
        if "direct" in modes:
            t0 = time.perf_counter()
            chosen = selector.select(question, scene.image, icl_opts) \
                if selector is not None and icl_opts is not None else []
            got = answer_direct(resolved, scene.image, question, demos=chosen, store=store)
            seconds["direct"] += time.perf_counter() - t0
            ok = score(item, got)
            per["direct"][item.qtype][0] += int(ok)
            per["direct"][item.qtype][1] += 1
            row["direct"] = got
        if agent is not None:
            t0 = time.perf_counter()
            res = agent.run(scene.image, question)
            seconds["experts"] += time.perf_counter() - t0
            for s in res.steps:
                if s.node in ("plan", "decide", "refine") and not s.is_attempt:
                    by_role[s.node] += s.seconds
                elif s.tool in model_tools:
                    by_role["vqa (tool)"] += s.seconds
            own, first_try = plan_outcome(res.plan, res.steps, agent.context.registry)
            plan_s = sum(s.seconds for s in res.steps if s.node == "plan" and not s.is_attempt)
            plans.scores.append(score_plan(item.question, item.qtype, own,
                                           agent.context.registry, first_try=first_try,
                                           seconds=plan_s))
            ok = score(item, res.answer)
            per["experts"][item.qtype][0] += int(ok)
            per["experts"][item.qtype][1] += 1
            row["experts"] = res.answer
        rows.append(row)
    report: dict[str, Any] = {"model": resolved.name, "n": n, "seed": seed,
                              "shard": list(shard) if shard else None,
                              "phrasings": phrasings, "peak_rss_mb": round(peak_rss_mb()),
                              "icl": icl_opts.model_dump(include={"k", "strategy", "seed"})
                              if icl_opts is not None else None,
                              "rows": rows}
    for m in modes:
        correct = sum(c for c, _ in per[m].values())
        report[m] = {"accuracy": correct / max(n, 1),
                     "seconds_per_question": round(seconds[m] / max(n, 1), 3),
                     "per_type": {t: {"n": tot, "correct": c, "accuracy": c / tot}
                                  for t, (c, tot) in sorted(per[m].items())}}
    if agent is not None:
        report["plan"] = plans.to_dict()
        report["experts"]["seconds_per_question_by_role"] = {
            k: round(v / max(n, 1), 3) for k, v in sorted(by_role.items())}
    return report


def format_report(report: dict[str, Any]) -> str:
    """A plain-text table: one row per question type."""
    modes = [m for m in MODES if m in report]
    plan = report.get("plan", {}).get("per_type", {})
    head = f"{'type':8} {'n':>4}" + "".join(f" {m:>8}" for m in modes)
    if plan:
        head += f" {'plan ok':>8} {'plan acc':>8}"
    lines = [head]
    types = sorted(report[modes[0]]["per_type"])
    for t in types:
        n = report[modes[0]]["per_type"][t]["n"]
        line = f"{t:8} {n:4d}" + "".join(
            f" {report[m]['per_type'][t]['accuracy']:8.1%}" for m in modes)
        if t in plan:
            line += f" {plan[t]['validity']:8.1%} {plan[t]['accuracy']:8.1%}"
        lines.append(line)
    line = f"{'overall':8} {report['n']:4d}" + "".join(
        f" {report[m]['accuracy']:8.1%}" for m in modes)
    if plan:
        line += f" {report['plan']['validity']:8.1%} {report['plan']['accuracy']:8.1%}"
    lines.append(line)
    icl = report.get("icl")
    shown = f", demos {icl['strategy']}-{icl['k']}" if icl and icl.get("k") else ""
    lines.append(f"({report['model']}, phrasings {report['phrasings']}{shown}; s/question: "
                 + ", ".join(f"{m} {report[m]['seconds_per_question']}" for m in modes)
                 + f"; peak memory {report['peak_rss_mb']} MB)")
    roles = report.get("experts", {}).get("seconds_per_question_by_role")
    if roles:
        lines.append("(with experts, s/question by node: "
                     + ", ".join(f"{k} {v}" for k, v in roles.items()) + ")")
    return "\n".join(lines)


def run_cli(args: argparse.Namespace) -> int:
    """``lavr eval mllm``."""
    from lavr.apps.evaluate import parse_shard
    from lavr.apps.model_cmd import set_threads
    from lavr.core_model.errors import InputError

    if args.n < 1:
        raise InputError(f"--n must be at least 1, got {args.n}")
    from lavr.planners.demos.select import MAX_K

    if args.icl is not None and args.icl > MAX_K:  # was pydantic's error as an internal one
        raise InputError(f"--icl shows at most {MAX_K} demos, got {args.icl}")
    if not args.model or args.model.strip().lower() in ("rule", "none"):
        raise InputError(f"lavr eval mllm measures a vision-language model; --model "
                         f"{args.model!r} is none (e.g. --model lavr-mllm)")
    if args.out:  # before the run: a bad path loses no work
        from lavr.core_model.textfiles import check_writable_file

        check_writable_file(args.out, flag="--out")
    set_threads(args.threads)
    modes = tuple(m.strip() for m in args.modes.split(",") if m.strip())
    if not modes or any(m not in MODES for m in modes):
        raise InputError(f"--modes takes {', '.join(MODES)}, got {args.modes!r}")
    report = evaluate_mllm(args.model, n=args.n, seed=args.seed, phrasings=args.phrasings,
                           modes=modes, detector=args.detector, roles=args.roles,
                           retries=args.model_retries,
                           progress=not args.no_progress and not args.json,
                           shard=parse_shard(args.shard),
                           icl=None if args.icl is None else {"k": args.icl,
                                                              "strategy": args.icl_select,
                                                              "seed": args.icl_seed},
                           demos=args.demos)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as fh:
            json.dump(report, fh, indent=1)
    if args.json:
        print(json.dumps({k: v for k, v in report.items() if k != "rows"}, indent=2))
    else:
        print(format_report(report))
    return 0


def add_eval_parser(esub: Any) -> None:
    """Register ``lavr eval mllm``."""
    p = esub.add_parser("mllm", help="a vision-language model alone (--direct) vs. with the "
                        "experts, per question type")
    p.add_argument("--model", default="lavr-mllm", help="model string (default lavr-mllm)")
    p.add_argument("--roles", default=None, help="roles with experts (default all)")
    p.add_argument("--model-retries", type=int, default=0,
                   help="re-asks after an unusable reply (default 0)")
    p.add_argument("--n", type=int, default=50)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--phrasings", choices=("original", "train", "heldout"), default="original",
                   help="ask the generated questions as generated, or in the training or "
                   "held-out phrasings")
    p.add_argument("--modes", default="direct,experts", help="direct,experts (default both)")
    p.add_argument("--detector", default="auto")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    p.add_argument("--shard", metavar="K/N", help="only every N-th question from the K-th "
                   "(0 <= K < N): N processes share one run")
    p.add_argument("--icl", type=int, default=None, metavar="K",
                   help="show K in-context demos with their images (0: none; default: the "
                   "agent's default, which shows lavr-mllm no demos)")
    p.add_argument("--icl-select", choices=("similarity", "mmr", "random"),
                   default="similarity", help="how demos are chosen (default similarity)")
    p.add_argument("--icl-seed", type=int, default=0, help="seed of random demo choice")
    p.add_argument("--demos", metavar="STORE", help="demo store for --icl: starter (the starter "
                   "bank, default), builtin or a folder")
    p.add_argument("--out", help="write the full report (every answer) as JSON")
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--json", action="store_true")
    p.set_defaults(eval_func=run_cli)
