"""``lavr serve``: the agent as an HTTP JSON API on Ray Serve (see :mod:`lavr.apps.serve_app`).

Runs on a local Ray started by the command (127.0.0.1) or on a cluster (``--address``);
needs ``pip install 'lavr[ray]'``.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from lavr.core_model.errors import InputError

#: Default largest request body, in bytes (an image as base64 is 4/3 of its size).
DEFAULT_MAX_BYTES = 16 * 1024 * 1024


# -- the command --------------------------------------------------------------------------------
def add_parser(sub: Any) -> None:
    """Register ``lavr serve``."""
    from lavr.apps.cli import add_agent_args

    p = sub.add_parser("serve", help="serve the agent over HTTP on Ray Serve")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument("--address", default=None,
                   help="Ray cluster address (default: start a local Ray on 127.0.0.1)")
    p.add_argument("--max-bytes", type=int, default=DEFAULT_MAX_BYTES,
                   help=f"largest request body (default {DEFAULT_MAX_BYTES})")
    p.add_argument("--max-replicas", type=int, default=2,
                   help="autoscaling ceiling of each deployment (default 2)")
    p.add_argument("--batch-size", type=int, default=8, help="images per detector call (8)")
    p.add_argument("--batch-wait-ms", type=float, default=5.0,
                   help="how long a detector call waits for others in a replica (default 5)")
    add_agent_args(p)
    p.set_defaults(func=cmd_serve)


def start(args: argparse.Namespace) -> bool:
    """Start Ray (or connect to ``--address``) and deploy; True when Ray was started here.

    Raises:
        InputError: Ray Serve missing, bad options, or Ray unreachable.
    """
    from lavr.apps.batch_ray import _gpus, _init, import_ray
    from lavr.apps.cli import check_agent_args

    if not 1 <= args.port <= 65535:
        raise InputError(f"--port must be 1..65535, got {args.port}")
    if args.max_bytes < 1024:
        raise InputError(f"--max-bytes must be at least 1024, got {args.max_bytes}")
    if args.max_replicas < 1:
        raise InputError(f"--max-replicas must be at least 1, got {args.max_replicas}")
    if args.batch_size < 1:  # was refused inside the replica: a deployment that never came up
        raise InputError(f"--batch-size must be at least 1, got {args.batch_size}")
    if args.batch_wait_ms < 0:
        raise InputError(f"--batch-wait-ms must be >= 0, got {args.batch_wait_ms}")
    check_agent_args(args)
    try:
        from lavr.apps.serve_app import build_app, import_serve
    except ImportError as exc:
        raise InputError(f"lavr serve needs Ray Serve and FastAPI ({exc}); "
                         "pip install 'lavr[ray]'") from exc
    serve = import_serve()
    ray = import_ray()
    for name in ("RAY_SERVE_PROXY_READY_CHECK_TIMEOUT_S", "RAY_SERVE_PROXY_HEALTH_CHECK_TIMEOUT_S"):
        os.environ.setdefault(name, "60")  # a busy machine starts the HTTP proxy slowly
    started = _init(ray, args.address)
    serve.start(http_options={"host": args.host, "port": args.port})
    serve.run(build_app(args, gpus=_gpus(ray)), name="lavr", route_prefix="/")
    return started


def cmd_serve(args: argparse.Namespace) -> int:
    """Run ``lavr serve`` until Ctrl-C or SIGTERM."""
    import signal
    import time

    def stop(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    started = start(args)
    print(f"lavr serving on http://{args.host}:{args.port} (POST /v1/ask, POST /v1/correct, "
          "GET /healthz); Ctrl-C stops", file=sys.stderr)
    signal.signal(signal.SIGINT, stop)  # Ray installs its own handlers: take them back
    signal.signal(signal.SIGTERM, stop)
    try:
        while True:
            time.sleep(1)
    except KeyboardInterrupt:
        print("lavr serve: stopping", file=sys.stderr)
    finally:
        from ray import serve

        serve.shutdown()
        if started:
            import ray

            ray.shutdown()
    return 0


__all__ = ["DEFAULT_MAX_BYTES", "add_parser", "cmd_serve", "start"]
