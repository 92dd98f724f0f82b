"""Orchestration of one question, quickly: wall vs the tools' own time, and a tools-cached run.

    .venv/bin/python benchmarks/orchestration.py [--n 30]

"How many red circles are there?" on N generated scenes, twice (tool cache cleared
before each round; verify and answer cache off): end-to-end wall, the tools' own
seconds, the rest (orchestration) and process CPU; then the same questions again with
the tool results cached (wall vs CPU: a gap there is waiting, not work).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import ORCHESTRATION_QUESTION, _timed_pass, warm_agent  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=30)
    args = ap.parse_args()
    agent, images = warm_agent(args.n)
    question = ORCHESTRATION_QUESTION
    e2e = tools = 0.0
    c0 = time.process_time()
    for _ in range(2):
        agent.context.cache.clear()
        wall, worked = _timed_pass(agent, images, question)
        e2e, tools = e2e + wall, tools + worked
    cpu = time.process_time() - c0
    n = 2 * args.n
    t0, c0 = time.perf_counter(), time.process_time()
    for img in images:
        agent.run(img, question)
    cached_wall = (time.perf_counter() - t0) / args.n
    cached_cpu = (time.process_time() - c0) / args.n
    print(f"end-to-end {e2e / n * 1e3:.2f} ms/question (CPU {cpu / n * 1e3:.1f} ms), tools "
          f"{tools / n * 1e3:.2f} ms, orchestration {(e2e - tools) / n * 1e3:.2f} ms = "
          f"{(e2e - tools) / e2e:.1%}; tools-cached run {cached_wall * 1e3:.2f} ms wall, "
          f"{cached_cpu * 1e3:.2f} ms CPU; load average {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
