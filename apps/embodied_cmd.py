"""``lavr embodied``: the pixel-only embodied agent on BabyAI/MiniGrid levels.

    lavr embodied babyai --env BabyAI-GoToRedBall-v0 --episodes 100 --seed 0 [--json]
    lavr embodied babyai --envs all-supported --episodes 100 --seed 0
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from lavr.core_model.errors import InputError

ALL_SUPPORTED = "all-supported"


def add_parser(sub: Any) -> None:
    """Register ``lavr embodied`` on the CLI's subparsers."""
    p = sub.add_parser("embodied", help="embodied agent from RGB frames: BabyAI/MiniGrid levels")
    esub = p.add_subparsers(dest="embodied_command", required=True, parser_class=type(p))
    b = esub.add_parser("babyai", help="run BabyAI levels and print success rate and mean steps")
    which = b.add_mutually_exclusive_group(required=True)
    which.add_argument("--env", help="one environment id, e.g. BabyAI-GoToRedBall-v0")
    which.add_argument("--envs", help=f"comma-separated ids, or '{ALL_SUPPORTED}'")
    b.add_argument("--episodes", type=int, default=100, help="episodes per level (default 100)")
    b.add_argument("--seed", type=int, default=0, help="seed of the first episode (default 0)")
    b.add_argument("--trace-dir", metavar="DIR", help="write every episode's frames here")
    b.add_argument("--json", action="store_true", help="print one JSON object")
    b.set_defaults(func=run_babyai)


def run_babyai(args: argparse.Namespace) -> int:
    """``lavr embodied babyai``: evaluate levels and print the table."""
    from lavr.agents.embodied.agent import EmbodiedAgent
    from lavr.agents.embodied.babyai import SUPPORTED_ENVS, evaluate_env

    if args.episodes < 1:
        raise InputError(f"--episodes must be >= 1, got {args.episodes}")
    if args.env:
        envs = [args.env]
    elif args.envs == ALL_SUPPORTED:
        envs = list(SUPPORTED_ENVS)
    else:
        envs = [e.strip() for e in args.envs.split(",") if e.strip()]
    agent = EmbodiedAgent()
    results = []
    if not args.json:
        print(f"{'environment':30} {'episodes':>8} {'success':>8} {'reward':>7} {'steps':>7}")
    for env_id in envs:
        r = evaluate_env(env_id, episodes=args.episodes, seed=args.seed, agent=agent,
                         trace_dir=args.trace_dir)
        results.append(r)
        if not args.json:
            print(f"{env_id:30} {len(r.episodes):>8} {r.success_rate:>8.1%} {r.mean_reward:>7.3f} "
                  f"{r.mean_steps:>7.2f}", flush=True)
    if args.json:
        print(json.dumps({"benchmark": "babyai", "episodes": args.episodes, "seed": args.seed,
                          "envs": [r.to_json() for r in results]}, indent=2))
    return 0
