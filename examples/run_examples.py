"""Run ``lavr ask`` on every bundled example and print a summary.

Usage::

    python examples/run_examples.py [--lavr PATH] [--examples FILE] [-- EXTRA LAVR ARGS]

Each entry of ``examples/examples.json`` is ``{"image": ..., "question": ...}``.
``image`` is a path relative to the repository root, or ``ultralytics:NAME`` for
a file in the installed ultralytics package's ``assets/`` folder (for example
``ultralytics:bus.jpg``). One failing example does not stop the others; the
exit status is 1 when any example failed.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_EXAMPLES = ROOT / "examples" / "examples.json"
ULTRALYTICS_PREFIX = "ultralytics:"


@dataclass
class Outcome:
    """What happened to one example."""

    image: str
    question: str
    ok: bool
    seconds: float
    note: str = ""


def resolve_image(ref: str) -> Path:
    """Turn an example's ``image`` field into a path on disk.

    Raises:
        FileNotFoundError: The file (or the ultralytics package) is not there.
    """
    if ref.startswith(ULTRALYTICS_PREFIX):
        name = ref[len(ULTRALYTICS_PREFIX) :]
        # find_spec locates the package without importing it (importing
        # ultralytics pulls in torch and takes seconds).
        spec = importlib.util.find_spec("ultralytics")
        if spec is None or not spec.submodule_search_locations:
            raise FileNotFoundError(
                f"{ref}: the ultralytics package is not installed (pip install 'lavr[detect]')"
            )
        path = Path(next(iter(spec.submodule_search_locations))) / "assets" / name
    else:
        path = Path(ref)
        if not path.is_absolute():
            path = ROOT / path
    if not path.is_file():
        raise FileNotFoundError(f"{ref}: no such file ({path})")
    return path


def default_lavr() -> str:
    """The ``lavr`` script beside this interpreter, else the one on PATH."""
    beside = Path(sys.executable).parent / "lavr"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which("lavr") or "lavr"


def load_examples(path: Path) -> list[dict[str, str]]:
    """Read and check the examples file (a JSON list of {image, question})."""
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, list):
        raise SystemExit(f"{path}: expected a JSON list of {{image, question}} objects")
    for i, item in enumerate(data):
        if not isinstance(item, dict) or not {"image", "question"} <= item.keys():
            raise SystemExit(f"{path}: entry {i} needs 'image' and 'question', got {item!r}")
    return data


def run_one(lavr: str, image_ref: str, question: str, extra: list[str]) -> Outcome:
    """Run ``lavr ask`` on one example; its output goes straight to the terminal."""
    start = time.perf_counter()
    try:
        image = resolve_image(image_ref)
    except FileNotFoundError as exc:
        print(f"  skipped: {exc}", flush=True)
        return Outcome(image_ref, question, False, 0.0, "image not found")
    cmd = [lavr, "ask", str(image), question, *extra]
    try:
        proc = subprocess.run(cmd, check=False)
    except OSError as exc:
        return Outcome(
            image_ref, question, False, time.perf_counter() - start, f"cannot run {lavr}: {exc}"
        )
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        return Outcome(image_ref, question, False, seconds, f"exit status {proc.returncode}")
    return Outcome(image_ref, question, True, seconds)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lavr", default=None, help="the lavr executable (default: beside python)")
    parser.add_argument(
        "--examples", type=Path, default=DEFAULT_EXAMPLES, help="examples JSON file"
    )
    parser.add_argument(
        "extra", nargs="*", help="extra arguments passed to every `lavr ask` (after --)"
    )
    args = parser.parse_args(argv)

    lavr = args.lavr or default_lavr()
    examples = load_examples(args.examples)
    outcomes: list[Outcome] = []
    for i, ex in enumerate(examples, start=1):
        header = f" [{i}/{len(examples)}] {ex['image']} — {ex['question']} "
        print(f"\n{'=' * 8}{header}{'=' * max(8, 72 - len(header))}", flush=True)
        outcome = run_one(lavr, ex["image"], ex["question"], args.extra)
        status = "ok" if outcome.ok else f"FAILED ({outcome.note})"
        print(f"--> {status} in {outcome.seconds:.1f}s", flush=True)
        outcomes.append(outcome)

    failed = [o for o in outcomes if not o.ok]
    print(
        f"\n{'=' * 8} summary: {len(outcomes) - len(failed)}/{len(outcomes)} examples ok {'=' * 8}"
    )
    for o in outcomes:
        mark = "ok  " if o.ok else "FAIL"
        print(
            f"  {mark} {o.seconds:6.1f}s  {o.image}  {o.question}"
            + (f"  [{o.note}]" if o.note else "")
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
