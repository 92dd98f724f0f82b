"""Measurements for chain-of-thought and in-context demos.

* ``lavr eval icl-retrieval``: precision@k of demo selection on a labelled demo
  bank — the share of the k chosen demos whose task type is the question's —
  for random choice, similarity (text only, text + image, raw text or question
  form) and MMR, on fresh synthetic questions.
* ``lavr eval reasoning --grid icl|cot``: the synthetic suite under several
  configurations with one agent (the model loads once): answer accuracy, plan
  validity and plan accuracy (:mod:`lavr.apps.plan_eval`), tool calls and
  seconds per question. ``icl``: no demos (k=0), the controller's built-in
  demos, random-k and retrieved-k; ``cot``: off, chain, tree (adaptive) and
  chain/tree at a fixed length.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from lavr.apps.evaluate import evaluate_synthetic, make_items

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
    from lavr.planners.demos import open_store
    from lavr.planners.select import DemoSelector, IclOptions, precision_at_k

    items = make_items(n, seed)
    selector = DemoSelector(open_store(store), embedder=embedder)
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


def grid(kind: str, ks: Sequence[int], steps: Sequence[int]) -> list[tuple[str, dict[str, Any]]]:
    """Named per-call options (``run`` keyword arguments) for a grid."""
    if kind == "icl":
        out: list[tuple[str, dict[str, Any]]] = [("k=0 (no demos)", {"icl": 0}),
                                                 ("built-in demos", {})]
        for k in ks:
            out.append((f"random-{k}", {"icl": {"k": k, "strategy": "random"}}))
            out.append((f"retrieved-{k}", {"icl": {"k": k, "strategy": "similarity"}}))
        return out
    out = [("off", {"cot": "off"}), ("chain", {"cot": "chain"}), ("tree", {"cot": "tree"})]
    for n in steps:
        out.append((f"chain, {n} steps", {"cot": "chain", "cot_steps": n}))
        out.append((f"tree, {n} steps", {"cot": "tree", "cot_steps": n}))
    return out


def run_grid(agent: Any, configs: Sequence[tuple[str, dict[str, Any]]], *, n: int, seed: int,
             progress: bool = False, log: Any = None) -> list[dict[str, Any]]:
    """The synthetic suite once per configuration; one row per configuration."""
    rows = []
    for name, kwargs in configs:
        t0 = time.perf_counter()
        rep = evaluate_synthetic(n, seed, agent=agent, progress=progress, run_kwargs=kwargs)
        plan = rep.get("plan", {})
        row = {"config": name, "run_kwargs": kwargs, "n": n, "answer_accuracy": rep["overall"],
               "plan_validity": plan.get("validity"), "plan_accuracy": plan.get("accuracy"),
               "tool_calls": round(rep["mean_steps"], 2),
               "seconds_per_question": round((time.perf_counter() - t0) / max(n, 1), 2),
               "per_type": rep["per_type"], "plan_per_type": plan.get("per_type")}
        rows.append(row)
        if log is not None:
            log(row)
    return rows


def format_grid(rows: Sequence[dict[str, Any]]) -> str:
    """Markdown table of :func:`run_grid` rows."""
    lines = ["| configuration | answer acc. | plan validity | plan acc. | tool calls | s/question |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        pv = "–" if r["plan_validity"] is None else f"{r['plan_validity']:.0%}"
        pa = "–" if r["plan_accuracy"] is None else f"{r['plan_accuracy']:.0%}"
        lines.append(f"| {r['config']} | {r['answer_accuracy']:.0%} | {pv} | {pa} | "
                     f"{r['tool_calls']:.1f} | {r['seconds_per_question']:.1f} |")
    return "\n".join(lines)


def _ints(text: str) -> list[int]:
    try:
        return [int(x) for x in text.split(",") if x.strip()]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected numbers like 2,4,8, got {text!r}") from exc


def add_eval_parser(esub: Any) -> None:
    """Register ``lavr eval icl-retrieval`` and ``lavr eval reasoning``."""
    r = esub.add_parser("icl-retrieval", help="precision@k of in-context demo selection")
    r.add_argument("--n", type=int, default=100, help="questions (default 100)")
    r.add_argument("--seed", type=int, default=7)
    r.add_argument("--k", type=_ints, default=[1, 2, 4, 8], help="k values (default 1,2,4,8)")
    r.add_argument("--demos", default=None, help="demo store (default: the starter bank)")
    r.add_argument("--embedder", choices=("auto", "minilm", "hashing"), default=None)
    r.add_argument("--json", action="store_true")
    r.set_defaults(eval_func=run_retrieval_cli)
    g = esub.add_parser("reasoning", help="chain-of-thought or in-context demo configurations "
                        "on the synthetic suite")
    g.add_argument("--grid", choices=("icl", "cot"), required=True)
    g.add_argument("--n", type=int, default=10, help="questions (default 10)")
    g.add_argument("--seed", type=int, default=1)
    g.add_argument("--k", type=_ints, default=[2, 4, 8], help="icl grid k values (default 2,4,8)")
    g.add_argument("--steps", type=_ints, default=[2],
                   help="cot grid fixed lengths (default 2)")
    g.add_argument("--detector", default="auto")
    g.add_argument("--embedder", choices=("auto", "minilm", "hashing"), default=None)
    g.add_argument("--out", default=None, help="append each row as a JSON line to this file")
    g.add_argument("--json", action="store_true")
    g.add_argument("--no-progress", action="store_true")
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
    kwargs = model_agent_kwargs(args)
    if args.embedder not in (None, "auto"):
        kwargs["embedder"] = args.embedder
    agent = VisualAgent(detector=args.detector, **kwargs)
    configs = grid(args.grid, args.k, args.steps)

    def log(row: dict[str, Any]) -> None:
        print(f"{row['config']}: answer {row['answer_accuracy']:.0%}, plan "
              f"{row['plan_accuracy']}, {row['tool_calls']} tool calls, "
              f"{row['seconds_per_question']} s/q", file=sys.stderr, flush=True)
        if args.out:
            with open(args.out, "a", encoding="utf-8") as fh:
                fh.write(json.dumps({**row, "model": kwargs.get("model"), "seed": args.seed})
                         + "\n")

    rows = run_grid(agent, configs, n=args.n, seed=args.seed,
                    progress=not args.no_progress and not args.json, log=log)
    print(json.dumps(rows, indent=2) if args.json else format_grid(rows))
    return 0
