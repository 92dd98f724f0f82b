"""What the detector step's hand-off to a worker thread costs, question by question.

    .venv/bin/python benchmarks/handoff.py [--n 30] [--rounds 3]

"How many red circles are there?" on N generated scenes (tool cache cleared before each
question, verify and answer cache off), each question asked twice in a row: once with
the detector in a worker thread the graph can stop waiting for (as lavr runs a step
that may block) and once in the graph's own thread (as lavr runs a detector call that
only computes, once its last step was short), the order alternating. Prints, for
each, the median end-to-end wall, the detector's own seconds and the orchestration
(wall minus the tools' own seconds, as ``orchestration.py`` counts it).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import ORCHESTRATION_QUESTION, _tool_seconds, warm_agent  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=30)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    agent, images = warm_agent(args.n)
    question = ORCHESTRATION_QUESTION
    detector = agent.context.registry.get("detect")
    runs: dict[bool, list[tuple[float, float, float]]] = {True: [], False: []}
    try:
        for rnd in range(args.rounds):
            for i, img in enumerate(images):
                for watched in ((True, False) if (i + rnd) % 2 else (False, True)):
                    # this instance only (a class attribute): a call that may block, or none
                    detector.watched = watched
                    detector.may_block = (lambda args, ctx: True) if watched else \
                        (lambda args, ctx: False)
                    agent.context.cache.clear()
                    t0 = time.perf_counter()
                    res = agent.run(img, question)
                    wall = time.perf_counter() - t0
                    own = sum(s.seconds for s in res.steps if s.tool == "detect")
                    runs[watched].append((wall, own, wall - _tool_seconds(res)))
    finally:
        vars(detector).pop("watched", None)
        vars(detector).pop("may_block", None)
    for watched, rows in runs.items():
        wall, own, orch = (statistics.median(col) * 1e3 for col in zip(*rows, strict=True))
        where = "worker thread (hand-off)" if watched else "graph's thread (inline)"
        print(f"detector in the {where}: end-to-end {wall:.2f} ms, detector {own:.2f} ms, "
              f"orchestration {orch:.3f} ms (medians of {len(rows)})")
    print(f"load average {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
