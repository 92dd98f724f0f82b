"""``lavr demo``: serve the Gradio demo (see :mod:`lavr.apps.demo_app`).

This module stays light (no Gradio import) because the CLI imports it to build
its parser; Gradio is imported when the command runs.
"""

from __future__ import annotations

import argparse
import os
from typing import Any


def add_parser(sub: Any) -> None:
    """Register ``lavr demo`` on the CLI's subparsers."""
    p = sub.add_parser("demo", help="serve the Gradio demo in the browser (local, offline)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=7860, help="port (default 7860)")
    p.add_argument("--sessions", metavar="PATH",
                   help="SQLite file keeping conversations across restarts (default: in memory)")
    p.add_argument("--examples", metavar="PATH",
                   help="JSON list of {image, question} to offer (default: the starter examples)")
    p.add_argument("--model", action="append", default=[], metavar="[NAME=]SPEC",
                   help="a model web clients may pick by NAME (repeatable; the first is the "
                        "default): rule, gemma, openai:<model>@<url>, transformers:<id>. "
                        "Default: the config file's [model] spec, else rule. Clients never "
                        "send model strings or URLs")
    p.add_argument("--config", default=None, metavar="PATH",
                   help="lavr.toml whose [model] (spec, options, roles) is offered when no "
                        "--model is given, and whose [agent] sets the defaults")
    p.add_argument("--detector", default="auto", help="detector selected at start (default auto)")
    p.add_argument("--max-steps", type=int, default=12, help="step budget at start (default 12)")
    p.add_argument("--concurrency", type=int, default=2,
                   help="questions answered at once; the rest queue (default 2)")
    p.add_argument("--max-file-size", default="10mb", help="largest upload (default 10mb)")
    p.add_argument("--device", default="auto", help="auto (default), cpu or cuda")
    p.set_defaults(func=run)


def offered_models(args: argparse.Namespace) -> list[Any]:
    """The operator's models: each ``--model``, else the config file's ``[model]``.

    Raises:
        InputError: A bad model string or config file.
    """
    from lavr.apps.demo_app import ModelChoice, model_choice
    from lavr.apps.model_cmd import resolve_config

    flags = list(args.model or [])
    args.model = None  # resolve_config reads one --model; the demo's list is handled here
    cfg = resolve_config(args)
    if flags:
        return [model_choice(text) for text in flags]
    m = cfg.model
    choice = model_choice(m.spec)
    return [ModelChoice(choice.name, choice.spec, options=dict(m.options),
                        roles=tuple(m.roles), retries=m.retries)]


def check_args(args: argparse.Namespace) -> None:
    """Refuse bad options in one line before Gradio loads or a port is taken.

    Raises:
        InputError: A bad port or concurrency; SettingsError: a bad detector, step budget,
            device or sessions file.
    """
    from lavr.agents.settings import RunSettings
    from lavr.core_model.errors import InputError

    if not 1 <= args.port <= 65535:  # was a hang (99999) or a bind() OverflowError
        raise InputError(f"--port must be 1..65535, got {args.port}")
    if args.concurrency < 1:
        raise InputError(f"--concurrency must be at least 1, got {args.concurrency}")
    RunSettings.checked(detector=args.detector, max_steps=args.max_steps, device=args.device,
                        sessions=args.sessions)


def run(args: argparse.Namespace) -> int:
    """Build and serve the demo until interrupted."""
    check_args(args)
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    from lavr.apps.demo_app import build_demo, find_examples, launch

    models = offered_models(args)
    examples = find_examples(args.examples)
    demo = build_demo(sessions=args.sessions, examples=examples, models=models,
                      default_detector=args.detector, max_steps=args.max_steps,
                      device=args.device)
    print(f"lavr demo on http://{args.host}:{args.port} (Ctrl+C stops it)", flush=True)
    launch(demo, host=args.host, port=args.port, concurrency=args.concurrency,
           max_file_size=args.max_file_size)
    return 0
