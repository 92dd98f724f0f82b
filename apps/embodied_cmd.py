"""``lavr embodied``: the embodied agent on BabyAI/MiniGrid levels, from pixels.

    lavr embodied babyai --level BabyAI-GoToRedBall-v0 --episodes 100 --seed 0 [--json]
    lavr embodied babyai --levels all --episodes 100 --seed 0 --view partial
    lavr embodied babyai --level BabyAI-BossLevel-v0 --episodes 3 --save-html /tmp/reports
    lavr embodied babyai --level BabyAI-GoToLocal-v0 --episodes 5 --model openai:...
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

from lavr.apps.episode_cmd import check_run_args, report_dir, report_saver
from lavr.core_model.errors import InputError

if TYPE_CHECKING:
    from lavr.episodes.loop import Policy

ALL_LEVELS = "all"


def add_parser(sub: Any) -> None:
    """Register ``lavr embodied`` on the CLI's subparsers."""
    p = sub.add_parser("embodied", help="embodied agent from RGB pictures: BabyAI/MiniGrid levels")
    esub = p.add_subparsers(dest="embodied_command", required=True, parser_class=type(p))
    b = esub.add_parser("babyai", help="run BabyAI levels and print success rate and mean steps")
    which = b.add_mutually_exclusive_group(required=True)
    which.add_argument("--level", "--env", dest="level",
                       help="one environment id, e.g. BabyAI-GoToRedBall-v0")
    which.add_argument("--levels", "--envs", dest="levels",
                       help=f"comma-separated ids, or '{ALL_LEVELS}' (GoToRedBall to BossLevel)")
    b.add_argument("--view", choices=("partial", "full"), default="partial",
                   help="partial: the standard 7x7 egocentric view (default); full: top-down frame")
    b.add_argument("--episodes", type=int, default=100, help="episodes per level (default 100)")
    b.add_argument("--seed", type=int, default=0, help="seed of the first episode (default 0)")
    b.add_argument("--model", default=None,
                   help="controller model (rule, openai:..., transformers:...); default: rules")
    b.add_argument("--max-steps", type=int, default=None,
                   help="agent-side step budget per episode (default: the level's own limit)")
    b.add_argument("--trace-dir", metavar="DIR", help="write every episode's step pictures here")
    b.add_argument("--save-html", metavar="DIR",
                   help="write one self-contained HTML report per episode into DIR")
    b.add_argument("--json", action="store_true", help="print one JSON object (with traces)")
    b.set_defaults(func=run_babyai)


def _levels(args: argparse.Namespace) -> list[str]:
    """The levels to run, every one checked before the first runs (a bad one loses no work)."""
    from lavr.episodes.embodied.babyai import LEVELS, check_env_id

    if args.level:
        levels = [args.level]
    elif args.levels.strip() == ALL_LEVELS:
        levels = list(LEVELS)
    else:
        levels = [e.strip() for e in args.levels.split(",") if e.strip()]
    if not levels:
        raise InputError("--levels is empty")
    for level in levels:
        check_env_id(level)
    return levels


def _controller(args: argparse.Namespace) -> Policy:
    """The embodied agent, or a model controller over it (``--model``)."""
    from lavr.apps.episode_cmd import controller
    from lavr.episodes.embodied.agent import EmbodiedAgent
    from lavr.episodes.embodied.babyai import ACTIONS

    return controller(args.model, EmbodiedAgent(view=args.view), actions=ACTIONS)


def run_babyai(args: argparse.Namespace) -> int:
    """``lavr embodied babyai``: evaluate levels and print the table (or JSON)."""
    from lavr.episodes.controller import controller_label
    from lavr.episodes.embodied.babyai import evaluate_env

    check_run_args(args)
    levels = _levels(args)
    html_dir = report_dir(args.save_html)  # before any episode runs: a bad folder loses no work
    report_dir(args.trace_dir, flag="--trace-dir")
    agent = _controller(args)
    results = []
    if not args.json:
        print(f"{'level':34} {'episodes':>8} {'success':>8} {'reward':>7} {'steps':>7}")
    for level in levels:
        r = evaluate_env(level, episodes=args.episodes, seed=args.seed, agent=agent,
                         view=args.view, max_steps=args.max_steps, trace_dir=args.trace_dir,
                         on_episode=report_saver(html_dir, level, args.seed),
                         keep_images=html_dir is not None)
        results.append(r)
        if not args.json:
            print(f"{level:34} {len(r.episodes):>8} {r.success_rate:>8.1%} {r.mean_reward:>7.3f} "
                  f"{r.mean_steps:>7.2f}", flush=True)
    if args.json:
        print(json.dumps({"benchmark": "babyai", "view": args.view, "episodes": args.episodes,
                          "seed": args.seed, "controller": controller_label(agent, args.model),
                          "levels": [r.to_json(episodes=True) for r in results]}, indent=2))
    elif html_dir is not None:
        print(f"reports: {html_dir}/")
    return 0
