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
    p.add_argument("--examples", metavar="PATH", help="examples.json to offer (default: bundled)")
    p.add_argument("--detector", default="auto", help="detector selected at start (default auto)")
    p.add_argument("--max-steps", type=int, default=12, help="step budget at start (default 12)")
    p.add_argument("--concurrency", type=int, default=2,
                   help="questions answered at once; the rest queue (default 2)")
    p.add_argument("--max-file-size", default="10mb", help="largest upload (default 10mb)")
    p.add_argument("--device", default="auto", help="auto (default), cpu or cuda")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Build and serve the demo until interrupted."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    from lavr.apps.demo_app import build_demo, find_examples, launch

    demo = build_demo(sessions=args.sessions, examples=find_examples(args.examples),
                      default_detector=args.detector, max_steps=args.max_steps,
                      device=args.device)
    print(f"lavr demo on http://{args.host}:{args.port} (Ctrl+C stops it)", flush=True)
    launch(demo, host=args.host, port=args.port, concurrency=args.concurrency,
           max_file_size=args.max_file_size)
    return 0
