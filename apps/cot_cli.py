"""Command-line options for chain-of-thought and in-context demos, shared by ``ask`` and ``eval``.

``--cot chain|tree|off``, ``--cot-steps N``, ``--cot-prompting``, ``--icl K``,
``--icl-select``, ``--icl-order``, ``--icl-threshold``, ``--icl-seed``,
``--icl-format``, ``--demos PATH``, ``--embedder``; and the printing of a
result's reasoning chain or tree and its demos.
"""

from __future__ import annotations

import argparse
from typing import Any

from lavr.planners.cot import COT_MODES, render_reasoning
from lavr.planners.demos.select import ORDERS, STRATEGIES


def add_reasoning_args(p: argparse.ArgumentParser, *, defaults_from_config: bool = True) -> None:
    """Add the chain-of-thought and demo options to a parser.

    Args:
        p: The subcommand's parser.
        defaults_from_config: Leave unset options as None so ``lavr.toml`` (or
            the agent's defaults) decide.
    """
    g = p.add_argument_group("chain-of-thought and in-context demos")
    g.add_argument("--cot", choices=COT_MODES, default=None,
                   help="reasoning structure: chain (steps tied to evidence), tree (sub-questions, "
                        "DDCoT-style) or off (default)")
    g.add_argument("--cot-steps", type=int, metavar="N", default=None,
                   help="fixed length: at most N reasoning steps and tool calls (default: adaptive)")
    g.add_argument("--cot-prompting", choices=("zero-shot", "few-shot"), default=None,
                   help="a model controller is told to think step by step (zero-shot, default) "
                        "or shown demos with rationales (few-shot; needs --icl)")
    g.add_argument("--icl", type=int, metavar="K", default=None,
                   help="in-context demos shown to a model controller, chosen from the demo "
                        "store (default 6 for a model controller, none for the rules; 0: none)")
    g.add_argument("--icl-select", choices=STRATEGIES, default=None,
                   help="how demos are chosen: auto (default: the store's choice, overlap for "
                        "the built-in demos, similarity for others), similarity, mmr (similar "
                        "but diverse), overlap (shared words) or random")
    g.add_argument("--icl-order", choices=ORDERS, default=None,
                   help="demo order in the prompt (default similar-last)")
    g.add_argument("--icl-threshold", type=float, default=None, metavar="SIM",
                   help="drop demos less similar than this (cosine, -1..1)")
    g.add_argument("--icl-seed", type=int, default=None, help="seed for random choice/order")
    g.add_argument("--icl-format", choices=("auto", "chat", "instruction"), default=None,
                   help="prompt layout for models that see (default auto = chat turns)")
    g.add_argument("--demos", metavar="STORE", default=None,
                   help="demo store: builtin (the built-in plan demos, text only; default), "
                        "starter (the starter bank of demos with images) or a folder")
    g.add_argument("--embedder", choices=("auto", "minilm", "hashing"), default=None,
                   help="text embedder for demo retrieval (default auto: MiniLM when installed)")


def reasoning_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    """Per-call ``cot``, ``cot_steps`` and ``icl`` for ``VisualAgent.run`` from parsed options.

    Options left unset are left out, so the agent's defaults apply.
    """
    out: dict[str, Any] = {}
    cot: dict[str, Any] = {}
    if getattr(args, "cot", None) is not None:
        cot["mode"] = args.cot
    if getattr(args, "cot_prompting", None) is not None:
        cot["prompting"] = args.cot_prompting
    if cot:
        out["cot"] = cot
    if getattr(args, "cot_steps", None) is not None:
        out["cot_steps"] = args.cot_steps
    icl: dict[str, Any] = {}
    for opt, key in (("icl", "k"), ("icl_select", "strategy"), ("icl_order", "order"),
                     ("icl_threshold", "threshold"), ("icl_seed", "seed"),
                     ("icl_format", "format"), ("demos", "store")):
        value = getattr(args, opt, None)
        if value is not None:
            icl[key] = str(value) if key == "store" else value
    if icl:
        out["icl"] = icl
    return out


def agent_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    """Constructor arguments for ``VisualAgent``: the config file's ``cot``, ``cot_steps``,
    ``icl`` and ``demos`` defaults (``[agent]`` in ``lavr.toml``) and ``--embedder``.

    Raises:
        ConfigError: A named config file is missing or invalid.
    """
    from lavr.apps.model_cmd import resolve_config

    agent = resolve_config(args).agent
    out: dict[str, Any] = {k: getattr(agent, k) for k in ("cot", "cot_steps", "icl", "demos")
                           if getattr(agent, k) not in (None, "off")}
    emb = getattr(args, "embedder", None)
    if emb and emb != "auto":
        out["embedder"] = emb
    return out


def reasoning_lines(result: Any) -> list[str]:
    """The result's demos and reasoning chain/tree as printable lines ([] when neither)."""
    lines: list[str] = []
    if getattr(result, "demos", None):
        lines.append(f"Demos ({len(result.demos)}):")
        for d in result.demos:
            score = f" sim {d['score']:.2f}" if d.get("score") is not None else ""
            lines.append(f"  {d['id']} [{d.get('task') or '-'}]{score}: {d['instruction']}")
    reasoning = getattr(result, "reasoning", None)
    if reasoning:
        lines.append(f"Reasoning ({reasoning.get('kind', 'chain')}):")
        lines += ["  " + line for line in render_reasoning(reasoning)]
    return lines
