"""CPU time of the verify node per question, beside the whole run's.

    .venv/bin/python benchmarks/verify_cpu.py [--n 30] [--stream]

Asks "How many red circles are there?" about --n generated scenes (experts warm,
verify on) and prints the verify node's CPU milliseconds per question: its thread's
CPU time (other processes on a loaded machine do not inflate it) and the whole
process's CPU time while the node runs (which also counts tool steps the node hands
to a worker thread; nothing else runs then), its wall time, and its share of the
process's CPU time. ``--stream``: the runs are driven by LangGraph
(``VisualAgent.stream``) instead of the plain runner (``VisualAgent.run``). Run it on
two commits one after the other to compare them under the same load.
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=30)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--stream", action="store_true",
                    help="drive the runs by LangGraph (VisualAgent.stream)")
    args = ap.parse_args()
    import lavr.agents.graph as graph
    from lavr.agents import AgentResult, VisualAgent
    from lavr.apps.synthetic_scenes import render_scene

    images = [render_scene(np.random.default_rng([args.seed, i])).image for i in range(args.n)]
    node = graph.NODES["verify"]
    cpu = [0.0, 0.0]

    def timed(state, runtime):
        t0, p0 = time.thread_time(), time.process_time()
        try:
            return node(state, runtime)
        finally:
            cpu[0] += time.thread_time() - t0
            cpu[1] += time.process_time() - p0

    graph.NODES["verify"] = timed  # before the agent compiles its graph
    agent = VisualAgent(verify=True)

    def run(image, question):
        if not args.stream:
            return agent.run(image, question)
        return [e for e in agent.stream(image, question) if isinstance(e, AgentResult)][-1]

    run(images[0], "How many circles are there?")  # load the detector
    cpu[:] = [0.0, 0.0]
    wall = 0.0
    t0 = time.process_time()
    for image in images:
        res = run(image, "How many red circles are there?")
        wall += sum(s.seconds for s in res.steps if s.node == "verify")
    total = time.process_time() - t0
    print(f"verify node CPU {cpu[0] / args.n * 1000:.2f} ms/question (thread; process "
          f"{cpu[1] / args.n * 1000:.2f}), wall "
          f"{wall / args.n * 1000:.1f} ms/question; whole run CPU {total / args.n * 1000:.1f} "
          f"ms/question; verify share of CPU {cpu[0] / total:.1%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
