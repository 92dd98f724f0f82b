"""Measurements for chain-of-thought and in-context demos.

* ``lavr eval icl-retrieval``: precision@k of demo selection on a labelled demo
  bank — the share of the k chosen demos whose task type is the question's —
  for random choice, similarity (text only, text + image, raw text or question
  form) and MMR, on fresh synthetic questions.
* ``lavr eval reasoning --grid icl|cot``: the synthetic suite under several
  configurations with one agent (the model loads once): answer accuracy, plan
  validity and plan accuracy (:mod:`lavr.apps.plan_eval`), tool calls and
  seconds per question. ``icl``: no demos (k=0), the default (six built-in
  plan demos, store ``builtin``), and random-k and retrieved-k from the starter
  bank; ``cot``: off, chain, tree (adaptive) and chain/tree at a fixed length;
  ``cot-few-shot``: chain/tree with k retrieved starter-bank demos that show
  their rationales.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from lavr.apps.evaluate import make_items, score

if TYPE_CHECKING:
    from lavr.agents.visual_agent import VisualAgent

#: Selection configurations measured by ``icl-retrieval``: (name, IclOptions fields).
RETRIEVAL_CONFIGS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("random", {"strategy": "random"}),
    ("similarity, raw text", {"strategy": "similarity", "text_view": "raw", "image_weight": 0.0}),
    ("similarity, question form", {"strategy": "similarity", "image_weight": 0.0}),
    ("similarity, form + image 0.1", {"strategy": "similarity", "image_weight": 0.1}),
    ("similarity, form + image 0.25", {"strategy": "similarity", "image_weight": 0.25}),
    ("mmr 0.7, form + image 0.1", {"strategy": "mmr", "image_weight": 0.1}),
)


def retrieval_precision(n: int, seed: int, ks: Sequence[int], *, store: str | None = None,
                        embedder: str | None = None,
                        configs: Sequence[tuple[str, dict[str, Any]]] = RETRIEVAL_CONFIGS
                        ) -> dict[str, Any]:
    """Mean precision@k of each selection configuration on ``n`` synthetic questions.

    Returns:
        ``{"n", "seed", "store", "embedder", "ks", "rows": [{"config", "p@k": {k: p}}]}``.
    """
    from lavr.planners.demos.select import DemoSelector, IclOptions, precision_at_k
    from lavr.planners.demos.store import open_store

    items = make_items(n, seed)
    selector = DemoSelector(open_store("starter" if store is None else store), embedder=embedder)
    rows = []
    for name, fields in configs:
        row: dict[str, float] = {}
        for k in ks:
            opts = IclOptions(k=k, seed=seed, **fields)
            p = [precision_at_k(selector.select(it.question, sc.image, opts), it.qtype)
                 for it, sc in items]
            row[str(k)] = float(np.mean(p))
        rows.append({"config": name, "p@k": row})
    tasks = [d.task for d in selector.demos()]
    return {"n": n, "seed": seed, "store": str(selector.store.root),
            "embedder": selector.embedder.name, "ks": list(ks), "rows": rows,
            "bank": {t: tasks.count(t) for t in sorted(set(tasks))}}


def format_retrieval(report: dict[str, Any]) -> str:
    """Markdown table of :func:`retrieval_precision`."""
    ks = [str(k) for k in report["ks"]]
    lines = ["| selection | " + " | ".join(f"P@{k}" for k in ks) + " |",
             "|---|" + "---|" * len(ks)]
    for r in report["rows"]:
        lines.append(f"| {r['config']} | " + " | ".join(f"{r['p@k'][k]:.2f}" for k in ks) + " |")
    lines.append(f"\n({report['n']} questions, seed {report['seed']}, embedder "
                 f"{report['embedder']}, bank {report['bank']})")
    return "\n".join(lines)


#: Random and retrieved demos in the grids come from the starter bank (demos with images,
#: answers and rationales); "built-in demos" is the agent's default (store ``builtin``).
STARTER: dict[str, Any] = {"store": "starter"}


def grid(kind: str, ks: Sequence[int], steps: Sequence[int]) -> list[tuple[str, dict[str, Any]]]:
    """Named per-call options (``run`` keyword arguments) for a grid."""
    if kind == "icl":
        out: list[tuple[str, dict[str, Any]]] = [("k=0 (no demos)", {"icl": 0}),
                                                 ("built-in demos", {})]
        for k in ks:
            out.append((f"random-{k}", {"icl": {"k": k, "strategy": "random", **STARTER}}))
            out.append((f"retrieved-{k}", {"icl": {"k": k, "strategy": "similarity",
                                                   **STARTER}}))
        return out
    if kind == "cot-few-shot":
        few = {"mode": "chain", "prompting": "few-shot"}
        return [(f"chain, few-shot, retrieved-{k}", {"cot": few, "icl": {"k": k, **STARTER}})
                for k in ks] + \
            [(f"tree, few-shot, retrieved-{k}", {"cot": {**few, "mode": "tree"},
                                                 "icl": {"k": k, **STARTER}}) for k in ks]
    out = [("off", {"cot": "off"}), ("chain", {"cot": "chain"}), ("tree", {"cot": "tree"})]
    for n in steps:
        out.append((f"chain, {n} steps", {"cot": "chain", "cot_steps": n}))
        out.append((f"tree, {n} steps", {"cot": "tree", "cot_steps": n}))
    return out


def evaluate_config(agent: VisualAgent, items: Sequence[tuple[Any, Any]], run_kwargs: dict[str, Any]
                    ) -> dict[str, Any]:
    """One configuration over ``items``: answer and plan metrics, per question type too.

    ``own_plan_answer_accuracy`` counts only answers that rest on the
    controller's own plan (a rule-planner fallback counts as wrong), so a model
    that fails to plan is not credited with the rule planner's answers.
    """
    from lavr.apps.plan_eval import PlanReport, plan_outcome, score_plan

    registry = agent.context.registry
    plans = PlanReport(agent.model.name if agent.model is not None else "rule")
    right = own_right = calls = chain = 0
    per: dict[str, list[int]] = {}
    t0 = time.perf_counter()
    for item, scene in items:
        res = agent.run(scene.image, item.question, **run_kwargs)
        own, first_try = plan_outcome(res.plan, res.steps, registry)
        plans.scores.append(score_plan(
            item.question, item.qtype, own, registry, first_try=first_try,
            seconds=sum(s.seconds for s in res.steps if s.node == "plan")))
        ok = score(item, res.answer)
        right += ok
        own_right += ok and own is not None
        calls += sum(1 for s in res.steps if s.node == "tool")
        r = res.reasoning or {}
        chain += len(r.get("steps", [])) if r.get("kind") == "chain" else \
            _count_nodes(r.get("children", []))
        per.setdefault(item.qtype, [0, 0])
        per[item.qtype][0] += ok
        per[item.qtype][1] += 1
    n = max(len(items), 1)
    plan = plans.to_dict()
    return {"answer_accuracy": right / n, "own_plan_answer_accuracy": own_right / n,
            "plan_validity": plan["validity"], "plan_accuracy": plan["accuracy"],
            "tool_calls": round(calls / n, 2), "reasoning_steps": round(chain / n, 2),
            "seconds_per_question": round((time.perf_counter() - t0) / n, 2),
            "per_type": {k: {"n": t, "correct": c} for k, (c, t) in sorted(per.items())},
            "plan_per_type": plan["per_type"]}


def _count_nodes(nodes: Sequence[dict[str, Any]]) -> int:
    return sum(1 + _count_nodes(n.get("children", [])) for n in nodes)


def run_grid(agent: VisualAgent, configs: Sequence[tuple[str, dict[str, Any]]], *, n: int, seed: int,
             log: Any = None) -> list[dict[str, Any]]:
    """The synthetic suite (``n`` questions, ``seed``) once per configuration.

    Expert results are cached across configurations (same images, same tool
    calls), so seconds per question measure mostly the controller.
    """
    items = make_items(n, seed)
    rows = []
    for name, kwargs in configs:
        row = {"config": name, "run_kwargs": kwargs, "n": n,
               **evaluate_config(agent, items, kwargs)}
        rows.append(row)
        if log is not None:
            log(row)
    return rows


def format_grid(rows: Sequence[dict[str, Any]]) -> str:
    """Markdown table of :func:`run_grid` rows."""
    lines = ["| configuration | answer acc. | answer acc., own plan | plan validity | plan acc. "
             "| tool calls | reasoning steps | s/question |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['config']} | {r['answer_accuracy']:.0%} | "
                     f"{r['own_plan_answer_accuracy']:.0%} | {r['plan_validity']:.0%} | "
                     f"{r['plan_accuracy']:.0%} | {r['tool_calls']:.1f} | "
                     f"{r['reasoning_steps']:.1f} | {r['seconds_per_question']:.1f} |")
    return "\n".join(lines)


def _ints(text: str) -> list[int]:
    """Comma-separated demo counts (``2,4,8``), each 0..MAX_K (a larger one was pydantic's
    ValidationError as an internal error)."""
    from lavr.planners.demos.select import MAX_K

    try:
        values = [int(x) for x in text.split(",") if x.strip()]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected numbers like 2,4,8, got {text!r}") from exc
    if any(not 0 <= v <= MAX_K for v in values):
        raise argparse.ArgumentTypeError(f"expected numbers from 0 to {MAX_K}, got {text!r}")
    return values


def add_eval_parser(esub: Any) -> None:
    """Register ``lavr eval icl-retrieval`` and ``lavr eval reasoning``."""
    r = esub.add_parser("icl-retrieval", help="precision@k of in-context demo selection")
    r.add_argument("--n", type=int, default=100, help="questions (default 100)")
    r.add_argument("--seed", type=int, default=7)
    r.add_argument("--k", type=_ints, default=[1, 2, 4, 8], help="k values (default 1,2,4,8)")
    r.add_argument("--demos", default=None, help="demo store (default: starter, the starter "
                   "bank, whose demos are labelled by task)")
    r.add_argument("--embedder", choices=("auto", "minilm", "hashing"), default=None)
    r.add_argument("--json", action="store_true")
    r.set_defaults(eval_func=run_retrieval_cli)
    g = esub.add_parser("reasoning", help="chain-of-thought or in-context demo configurations "
                        "on the synthetic suite")
    g.add_argument("--grid", choices=("icl", "cot", "cot-few-shot"), required=True,
                   help="icl: k=0, built-in, random-k, retrieved-k; cot: off, chain, tree and "
                        "fixed lengths; cot-few-shot: chain/tree with k retrieved demos "
                        "showing their rationales")
    g.add_argument("--n", type=int, default=10, help="questions (default 10)")
    g.add_argument("--seed", type=int, default=1)
    g.add_argument("--k", type=_ints, default=[2, 4, 8], help="icl grid k values (default 2,4,8)")
    g.add_argument("--steps", type=_ints, default=[2],
                   help="cot grid fixed lengths (default 2)")
    g.add_argument("--detector", default="auto")
    g.add_argument("--embedder", choices=("auto", "minilm", "hashing"), default=None)
    g.add_argument("--out", default=None, help="append each row as a JSON line to this file")
    g.add_argument("--json", action="store_true")
    from lavr.apps.model_cmd import add_model_args

    add_model_args(g)
    g.set_defaults(eval_func=run_grid_cli)


def run_retrieval_cli(args: argparse.Namespace) -> int:
    """``lavr eval icl-retrieval``."""
    from lavr.core_model.errors import InputError

    if args.n < 1 or not args.k or min(args.k) < 1:
        raise InputError("--n and every --k must be at least 1")
    emb = None if args.embedder in (None, "auto") else args.embedder
    report = retrieval_precision(args.n, args.seed, args.k, store=args.demos, embedder=emb)
    print(json.dumps(report, indent=2) if args.json else format_retrieval(report))
    return 0


def run_grid_cli(args: argparse.Namespace) -> int:
    """``lavr eval reasoning``."""
    from lavr.agents import VisualAgent
    from lavr.apps.model_cmd import model_agent_kwargs
    from lavr.core_model.errors import InputError

    if args.n < 1:
        raise InputError(f"--n must be at least 1, got {args.n}")
    if args.out:  # before the run: a bad path loses no work
        from lavr.core_model.textfiles import check_writable_file

        check_writable_file(args.out, flag="--out")
    kwargs = model_agent_kwargs(args)
    if args.embedder not in (None, "auto"):
        kwargs["embedder"] = args.embedder
    agent = VisualAgent(detector=args.detector, **kwargs)
    configs = grid(args.grid, args.k, args.steps)

    def log(row: dict[str, Any]) -> None:
        print(f"{row['config']}: answer {row['answer_accuracy']:.0%} (own plan "
              f"{row['own_plan_answer_accuracy']:.0%}), plan validity "
              f"{row['plan_validity']:.0%}, accuracy {row['plan_accuracy']:.0%}, "
              f"{row['tool_calls']} tool calls, {row['seconds_per_question']} s/q",
              file=sys.stderr, flush=True)
        if args.out:
            with open(args.out, "a", encoding="utf-8") as fh:
                fh.write(json.dumps({**row, "model": kwargs.get("model"), "seed": args.seed})
                         + "\n")

    rows = run_grid(agent, configs, n=args.n, seed=args.seed, log=log)
    print(json.dumps(rows, indent=2) if args.json else format_grid(rows))
    return 0
