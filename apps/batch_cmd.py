"""``lavr batch``: the command (inputs, results file and engines in :mod:`lavr.apps.batch`,
the Ray engine in :mod:`lavr.apps.batch_ray`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from lavr.apps.batch import configure_batching, load_items, pending, run_local
from lavr.core_model.errors import InputError
from lavr.core_model.textfiles import check_writable_file


# -- the command --------------------------------------------------------------------------------
def add_parser(sub: Any) -> None:
    """Register ``lavr batch``."""
    from lavr.apps.cli import add_agent_args

    p = sub.add_parser("batch", help="answer many questions into a resumable JSON-lines file")
    p.add_argument("input", help='JSON lines of {"id", "image", "question"}, a POPE question '
                   "file, or a folder of images (with --question)")
    p.add_argument("--out", required=True, metavar="PATH",
                   help="results file (JSON lines, appended; ids already in it are skipped)")
    p.add_argument("--question", help="the question for every image of a folder input")
    p.add_argument("--image-dir", metavar="DIR",
                   help="folder relative image paths are read from (default: the input's)")
    p.add_argument("--workers", type=int, default=16,
                   help="questions in flight at once (threads; per actor with --engine ray; "
                   "default 16)")
    p.add_argument("--batch-size", type=int, default=8,
                   help="most images per expert call across workers (default 8; 1: no batching)")
    p.add_argument("--batch-wait-ms", type=float, default=20.0,
                   help="how long an expert call waits for others to batch with (default 20)")
    from lavr.tools.detect import MAX_LANES

    p.add_argument("--lanes", type=int, default=0,
                   help="detector calls running at once, each on its own copy of the model "
                   f"(default 0: one per CPU core up to {MAX_LANES}, 1 on a GPU; per actor "
                   "with --engine ray)")
    p.add_argument("--actors", type=int, default=1,
                   help="--engine ray: agent actors, each with its own experts (default 1)")
    p.add_argument("--limit", type=int, default=None, help="only the first N items")
    p.add_argument("--engine", choices=("local", "ray"), default="local",
                   help="local threads (default) or a Ray Data pipeline (pip install 'lavr[ray]')")
    p.add_argument("--address", default=None,
                   help="Ray cluster address (--engine ray; default: start a local Ray)")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    add_agent_args(p)
    p.set_defaults(func=cmd_batch)


def check_args(args: argparse.Namespace) -> None:
    """Raises InputError for option values out of range."""
    if args.workers < 1:
        raise InputError(f"--workers must be at least 1, got {args.workers}")
    if args.batch_size < 1:
        raise InputError(f"--batch-size must be at least 1, got {args.batch_size}")
    if args.batch_wait_ms < 0:
        raise InputError(f"--batch-wait-ms must be >= 0, got {args.batch_wait_ms}")
    if args.lanes < 0:
        raise InputError(f"--lanes must be 0 (automatic) or more, got {args.lanes}")
    if args.limit is not None and args.limit < 1:
        raise InputError(f"--limit must be at least 1, got {args.limit}")
    if args.actors < 1:
        raise InputError(f"--actors must be at least 1, got {args.actors}")
    if args.address and args.engine != "ray":
        raise InputError("--address is for --engine ray")
    check_writable_file(args.out, flag="--out")
    if args.image_dir and not Path(args.image_dir).expanduser().is_dir():
        raise InputError(f"--image-dir {args.image_dir}: no such folder")


def cmd_batch(args: argparse.Namespace) -> int:
    """Run ``lavr batch``."""
    from lavr.apps.cli import agent_from_args, check_agent_args
    from lavr.apps.cot_cli import reasoning_kwargs

    check_args(args)
    items = load_items(args.input, question=args.question, image_dir=args.image_dir)
    if args.limit:
        items = items[:args.limit]
    todo = pending(items, args.out)
    skipped = len(items) - len(todo)
    if skipped:
        print(f"{skipped} of {len(items)} items already in {args.out}; answering the other "
              f"{len(todo)}", file=sys.stderr)
    if not todo:
        print(f"nothing to do: all {len(items)} items are in {args.out}")
        return 0
    progress = not args.no_progress
    if args.engine == "ray":
        from lavr.apps.batch_ray import import_ray, run_ray

        import_ray()  # a missing Ray is a one-line error before anything loads
        check_agent_args(args)  # bad agent options fail here, not inside an actor
        report = run_ray(todo, args, out=args.out, progress=progress)
    else:
        agent = agent_from_args(args)
        configure_batching(agent, batch_size=args.batch_size, batch_wait_ms=args.batch_wait_ms,
                           lanes=args.lanes)
        report = run_local(todo, agent, args.out, workers=args.workers,
                           run_kwargs=reasoning_kwargs(args), progress=progress)
    print(f"answered {report['answered']} items in {report['seconds']:.1f} s "
          f"({report['items_per_s']:.2f} items/s), {report['errors']} with an error; "
          f"results in {args.out}")
    return 0
