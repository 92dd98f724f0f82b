"""``lavr demos``: build, list and check in-context demo stores.

* ``lavr demos add --from-trace trace.json [--image PATH] [--store DIR]``: a
  successful run (the JSON of ``lavr ask --json``) becomes a demo.
* ``lavr demos list [--store DIR] [--json]``
* ``lavr demos check [--store DIR]``: exit 0 when every demo is usable, else 2
  with one line per problem.

The store is ``--store DIR``, else ``$LAVR_DEMOS``; ``list`` and ``check`` fall
back to the starter bank shipped with lavr, ``add`` to ``./lavr-demos`` (the
packaged bank is never written to).
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lavr.planners.demos.store import DemoStore

#: Environment variable naming the default demo store.
ENV_DEMOS = "LAVR_DEMOS"
#: Where ``add`` writes without ``--store`` or ``$LAVR_DEMOS``.
DEFAULT_ADD_STORE = "lavr-demos"


def add_parser(sub: Any) -> None:
    """Register ``lavr demos add|list|check``."""
    p = sub.add_parser("demos", help="in-context demo stores: add from a trace, list, check")
    dsub = p.add_subparsers(dest="demos_cmd", required=True, parser_class=type(p))
    a = dsub.add_parser("add", help="add a successful run (lavr ask --json output) as a demo")
    a.add_argument("--from-trace", required=True, metavar="TRACE.json",
                   help="the JSON printed by 'lavr ask --json'")
    a.add_argument("--image", metavar="PATH",
                   help="the run's image (default: the path recorded in the trace)")
    a.add_argument("--store", metavar="DIR", help=f"demo store (default: ${ENV_DEMOS}, else "
                   f"./{DEFAULT_ADD_STORE})")
    a.add_argument("--id", dest="demo_id", help="demo id (default: <task>-<n>)")
    a.add_argument("--task", help="task label (default: the plan's intent)")
    a.add_argument("--force", action="store_true",
                   help="add a run that does not look successful")
    a.set_defaults(func=cmd_add)
    for name, helptext, func in (("list", "list the demos", cmd_list),
                                 ("check", "validate every demo (images, hashes, plans)",
                                  cmd_check)):
        q = dsub.add_parser(name, help=helptext)
        q.add_argument("--store", metavar="DIR", help=f"demo store: a folder, builtin or starter "
                       f"(default: ${ENV_DEMOS}, else the starter bank shipped with lavr)")
        q.add_argument("--json", action="store_true")
        q.set_defaults(func=func)


def _store(path: str | None, *, for_add: bool = False) -> DemoStore:
    from lavr.planners.demos.store import DemoStore, open_store, packaged_store

    chosen = path or os.environ.get(ENV_DEMOS, "").strip() or None
    if chosen is None:
        return DemoStore(DEFAULT_ADD_STORE) if for_add else packaged_store()
    return open_store(chosen)


def cmd_add(args: argparse.Namespace) -> int:
    """``lavr demos add --from-trace``."""
    from lavr.core_model.errors import InputError
    from lavr.core_model.images import load_image
    from lavr.core_model.textfiles import read_text_file
    from lavr.planners.demos.store import demo_from_trace, packaged_store_path

    trace_path = Path(args.from_trace)
    text = read_text_file(trace_path, what="'lavr ask --json' output")
    try:
        trace = json.loads(text)
    except RecursionError:
        raise InputError(f"{trace_path}: JSON nested too deeply") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"{trace_path}: not JSON ({exc.msg}); expected the output of "
                         "'lavr ask --json'") from exc
    if not isinstance(trace, dict):
        raise InputError(f"{trace_path}: expected one JSON object (the output of "
                         "'lavr ask --json')")
    image_path = args.image or (trace.get("image") or {}).get("path")
    if not image_path:
        raise InputError(f"{trace_path}: the trace does not say where its image is; "
                         "give --image PATH")
    store = _store(args.store, for_add=True)
    if store.root.resolve() == packaged_store_path().resolve():
        raise InputError("the starter bank shipped with lavr is read-only; add to your own "
                         "store with --store DIR")
    image = load_image(image_path)
    task = args.task or str((trace.get("plan") or {}).get("intent") or "demo")
    demo_id = args.demo_id or store.next_id(task)
    record = demo_from_trace(trace, [image], demo_id=demo_id, task=args.task,
                             source=str(trace_path), force=args.force)
    rec = store.add(record, [image])
    print(f"added demo {rec.id} ({rec.task}) to {store.root}: {rec.instruction!r} -> "
          f"{rec.response!r}")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    """``lavr demos list``."""
    store = _store(args.store)
    records = store.records()
    if args.json:
        print(json.dumps([r.model_dump(mode="json", exclude_defaults=True) for r in records],
                         indent=2))
        return 0
    print(f"{len(records)} demos in {store.root}")
    for r in records:
        steps = len((r.plan or {}).get("steps", []))
        print(f"  {r.id:14} {r.task or '-':9} {len(r.images)} image(s), {steps} plan step(s): "
              f"{r.instruction}  ->  {r.response}")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    """``lavr demos check``: exit 0 when clean, 2 with the problems otherwise."""
    import sys

    store = _store(args.store)
    problems = store.check()
    if args.json:
        print(json.dumps({"store": str(store.root), "problems": [str(p) for p in problems]},
                         indent=2))
    elif problems:
        for p in problems:  # a problem with the store itself already names it
            text = str(p)
            print(text if text.startswith(f"{store.root}:") else f"{store.root}: {text}",
                  file=sys.stderr)
    else:
        n = len(store.records())
        print(f"{store.root}: {n} demos, all usable")
    return 0 if not problems else 2
