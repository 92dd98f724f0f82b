"""`lavr batch` local engine vs Ray engine on the same items: identical answers, items/s.

    .venv/bin/python benchmarks/batch_engines.py [--n 50] [--seed 0] [--actors 1]

Generates N scenes with mixed questions (counting, existence, colour, spatial),
runs `lavr batch` with the local engine and with `--engine ray` (a local Ray
started by the command on 127.0.0.1) into two results files, and prints how many
ids have identical answers and evidence, and both engines' items/s (the Ray figure
includes starting Ray and loading the experts in the actor; the local one loading
them in-process).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

QUESTIONS = ("How many circles are there?", "Is there a red square?",
             "What colour is the triangle?", "How many blue objects are there?",
             "Is the red circle left of the blue square?")


def _write_items(folder: Path, n: int, seed: int) -> Path:
    from PIL import Image

    from lavr.apps.synthetic_scenes import render_scene

    (folder / "imgs").mkdir(parents=True)
    lines = []
    for i in range(n):
        Image.fromarray(render_scene(np.random.default_rng([seed, i])).image).save(
            folder / "imgs" / f"{i:03d}.png")
        lines.append(json.dumps({"id": f"q{i:03d}", "image": f"imgs/{i:03d}.png",
                                 "question": QUESTIONS[i % len(QUESTIONS)]}))
    src = folder / "questions.jsonl"
    src.write_text("\n".join(lines) + "\n")
    return src


def _records(path: Path) -> dict[str, dict]:
    return {r["id"]: r for r in map(json.loads, path.read_text().splitlines())}


def _key(rec: dict) -> tuple:
    from lavr.tools.evidence import Evidence

    ev = [(e.step_id, e.tool, json.dumps(e.value, sort_keys=True), e.error)
          for e in map(Evidence.from_record, rec["evidence"])]
    return rec["answer"], rec["error"], tuple(ev)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=50)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--actors", type=int, default=1)
    args = ap.parse_args()
    from lavr.apps.cli import main as lavr

    with tempfile.TemporaryDirectory() as tmp:
        src = _write_items(Path(tmp), args.n, args.seed)
        common = ["--no-progress", "--no-verify"]
        t0 = time.perf_counter()
        code = lavr(["batch", str(src), "--out", f"{tmp}/local.jsonl", *common])
        local_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        code = code or lavr(["batch", str(src), "--out", f"{tmp}/ray.jsonl", "--engine", "ray",
                             "--actors", str(args.actors), *common])
        ray_s = time.perf_counter() - t0
        if code or not Path(tmp, "ray.jsonl").is_file():
            print(f"batch_engines: a lavr batch run failed (exit code {code}; its message is "
                  "above), so there is nothing to compare", file=sys.stderr)
            return code or 1
        local, ray_ = _records(Path(tmp, "local.jsonl")), _records(Path(tmp, "ray.jsonl"))
    same = sum(1 for k in local if k in ray_ and _key(local[k]) == _key(ray_[k]))
    print(f"items: {args.n}; ids in both files: {len(set(local) & set(ray_))}; "
          f"identical answers and evidence: {same}/{args.n}")
    print(f"local engine: {args.n / local_s:.2f} items/s ({local_s:.1f} s, experts loaded "
          "in-process)")
    print(f"ray engine:   {args.n / ray_s:.2f} items/s ({ray_s:.1f} s, incl. Ray start-up "
          f"and {args.actors} actor(s) loading the experts)")
    return 0 if same == args.n else 1


if __name__ == "__main__":
    sys.exit(main())
