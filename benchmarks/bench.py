"""lavr benchmark: figures measured side by side in one run.

    .venv/bin/python benchmarks/bench.py [--n 40] [--batch-n 200] [--seed 0] [--json]

Prints:
  * orchestration: wall time per question outside the tools' own work (ms and share of
    end-to-end, verify node off; a tool step's seconds are the time its tool worked, so
    thread hand-offs, graph nodes, hashing and the result count as orchestration), and
    the extra time of the verify node;
  * repeat-question speedup from the result cache (same agent, same question);
  * framework throughput ÷ raw expert throughput on the same images (the agent
    answering "How many circles are there?" one question at a time vs the bare
    ultralytics model);
  * `lavr batch` throughput (the command's local engine: worker threads, the
    micro-batched detector in lanes — model copies predicting side by side, one per
    core by default —, images read from PNG files) ÷ the bare per-image ultralytics
    loop (`model.predict(path)`, ultralytics' defaults) on the same images, over
    --batch-n generated scenes, for the default set-up and for one lane (the
    set-up before lanes);
  * peak RSS of this process;
  * cold-start seconds of `lavr ask` (a new process, median of 3).

torch's thread count is first read after lavr has loaded its detector, as in `lavr ask`
or a user's script that uses only lavr: ultralytics, imported first, sets
``OMP_NUM_THREADS=1`` when it is unset, and torch reads it on first use, so torch runs at
one thread unless the environment says otherwise. (Until 2 Dec 22:50 this script asked
torch for its thread count at its start, which fixed torch at one thread per core; every
figure then ran at torch's 2 threads on 2 cores, and the agent took about 1.6x the CPU
time per question that `lavr ask` takes.)
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def _scenes(n: int, seed: int) -> list[np.ndarray]:
    from lavr.apps.synthetic_scenes import render_scene

    return [render_scene(np.random.default_rng([seed, i])).image for i in range(n)]


#: The question the orchestration figures time.
ORCHESTRATION_QUESTION = "How many red circles are there?"


def warm_agent(n: int):
    """An agent (verify and answer cache off) with its detector loaded, and ``n`` scenes."""
    from lavr.agents import VisualAgent

    agent = VisualAgent(verify=False, answer_cache=False)
    images = _scenes(n, 3)
    agent.run(images[0], "How many circles are there?")  # load the detector
    return agent, images


def _tool_seconds(result) -> float:
    return sum(s.seconds for s in result.steps if s.node == "tool")


def _timed_pass(agent, images: list[np.ndarray], question: str) -> tuple[float, float]:
    """One pass of ``question`` over ``images``: wall seconds end to end, and the
    seconds the tools themselves worked."""
    e2e = tools = 0.0
    for img in images:
        t0 = time.perf_counter()
        res = agent.run(img, question)
        e2e += time.perf_counter() - t0
        tools += _tool_seconds(res)
    return e2e, tools


def bench_agent(images: list[np.ndarray]) -> dict[str, float]:
    """Overhead share and cache speedup, with experts already loaded (verify node off:
    its own expert calls are reported separately by :func:`bench_verify`)."""
    from lavr.agents import VisualAgent

    agent = VisualAgent(verify=False)
    agent.run(images[0], "How many circles are there?")  # load the detector
    question = ORCHESTRATION_QUESTION
    c0 = time.process_time()
    e2e, tools = _timed_pass(agent, images, question)
    e2e_cpu = time.process_time() - c0
    first = e2e / len(images)
    t0 = time.perf_counter()
    for img in images:
        agent.run(img, question)
    repeat = (time.perf_counter() - t0) / len(images)
    return {"e2e_s_per_q": first, "e2e_cpu_ms_per_q": e2e_cpu / len(images) * 1000,
            "overhead_share": (e2e - tools) / e2e,
            "overhead_s_per_q": (e2e - tools) / len(images),
            "repeat_s_per_q": repeat, "cache_speedup": first / repeat}


def bench_orchestration_cpu(images: list[np.ndarray]) -> dict[str, float]:
    """CPU milliseconds per question of everything but model work: "How many circles are
    there?" asked again with the answer cache off, so the whole graph runs and the
    detector's result comes from the tool cache (CPU time is not inflated by other
    processes waiting for the cores, as wall time is on a loaded machine)."""
    from lavr.agents import VisualAgent

    agent = VisualAgent(verify=False, answer_cache=False)
    question = "How many circles are there?"
    for img in images:
        agent.run(img, question)
    t0 = time.process_time()
    for img in images:
        agent.run(img, question)
    return {"orchestration_cpu_ms_per_q": (time.process_time() - t0) / len(images) * 1000}


def bench_verify(images: list[np.ndarray]) -> dict[str, float]:
    """Extra time per question of the in-loop verify (Woodpecker) node."""
    from lavr.agents import VisualAgent

    agent = VisualAgent(verify=True)
    agent.run(images[0], "How many circles are there?")
    total = 0.0
    for img in images:
        res = agent.run(img, ORCHESTRATION_QUESTION)
        total += sum(s.seconds for s in res.steps if s.node == "verify")
    return {"verify_s_per_q": total / len(images)}


def bench_throughput(images: list[np.ndarray]) -> dict[str, float]:
    """Images per second: agent (detect + count) vs the bare ultralytics model."""
    from ultralytics import YOLO

    from lavr.agents import VisualAgent
    from lavr.tools.detect import WEIGHTS_DIR

    model = YOLO(str(WEIGHTS_DIR / "shapes-yolo11n.pt"))
    model.predict(images[0], imgsz=320, verbose=False, device="cpu")
    t0 = time.perf_counter()
    for img in images:
        model.predict(img[..., ::-1], imgsz=320, verbose=False, device="cpu")
    raw = len(images) / (time.perf_counter() - t0)
    agent = VisualAgent(verify=False)
    agent.run(images[0], "How many circles are there?")
    agent.context.cache.clear()
    t0 = time.perf_counter()
    for img in images:
        agent.run(img, "How many circles are there?")
    framework = len(images) / (time.perf_counter() - t0)
    return {"raw_img_per_s": raw, "framework_img_per_s": framework,
            "framework_over_raw": framework / raw}


#: ``lavr batch`` set-ups timed side by side: (workers, batch size, lanes; 0: automatic);
#: the first is the command's default and the one the issue's target is checked on.
BATCH_SETUPS = ((16, 8, 0), (16, 8, 1), (32, 16, 1))


def bench_batch(n: int, seed: int, *, setups: tuple[tuple[int, int, int], ...] = BATCH_SETUPS,
                wait_ms: float = 20.0, rounds: int = 4) -> dict[str, float]:
    """``lavr batch``'s local engine vs the bare per-image ultralytics loop, same image files.

    Both start from the same PNG files: the bare loop is ``model.predict(path)`` per
    image (ultralytics reads the file); it is also timed on images already decoded in
    memory (``bare_arrays``), a stricter baseline, and, as a reference only, with
    torch at the other thread count (``bare_ref``: one thread per core when torch's
    count is 1 — what a script that imports torch before ultralytics gets —, else 1;
    on a crowded machine a 2-thread OpenMP team can spin at its barriers and slow a
    loop several-fold). ``lavr batch`` runs the whole agent
    (verify off) and writes the results file, once per set-up of ``setups``
    ((workers, batch size, lanes); the first is the default). The bare loop runs with
    torch's own thread count, set again before each of its passes (a lane sets its
    own thread's count, but torch also keeps a process-wide one).
    """
    import torch
    from PIL import Image
    from ultralytics import YOLO

    from lavr.agents import VisualAgent
    from lavr.apps.batch import configure_batching, load_items, run_local
    from lavr.tools.detect import WEIGHTS_DIR

    torch_threads = torch.get_num_threads()
    ref_threads = (os.cpu_count() or 1) if torch_threads == 1 else 1
    images = _scenes(n, seed + 1000)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp, "scenes")
        folder.mkdir()
        paths = [folder / f"{i:04d}.png" for i in range(n)]
        for path, img in zip(paths, images, strict=True):
            Image.fromarray(img).save(path)
        bgr = [np.ascontiguousarray(img[..., ::-1]) for img in images]
        model = YOLO(str(WEIGHTS_DIR / "shapes-yolo11n.pt"))
        model.predict(bgr[0], imgsz=320, verbose=False, device="cpu")
        # Warm-up images (not timed): every set-up answers them once, so each lane's model
        # copy is loaded and warm before the timed passes, as the bare loop's model is.
        warm = Path(tmp, "warm")
        warm.mkdir()
        for i, img in enumerate(_scenes(32, seed + 2000)):
            Image.fromarray(img).save(warm / f"{i:04d}.png")
        warm_items = load_items(warm, question="How many circles are there?")
        agents, plans = [], []
        for k, (workers, size, lanes) in enumerate(setups):
            agent = VisualAgent(verify=False)
            plans.append(configure_batching(agent, batch_size=size, batch_wait_ms=wait_ms,
                                            lanes=lanes))
            run_local(warm_items, agent, Path(tmp, f"warm{k}.jsonl"), workers=workers,
                      progress=False)
            agents.append(agent)
        items = load_items(folder, question="How many circles are there?")
        # Alternate the measurements over slices of the images (A B C A B C ...), so a
        # change in the machine's load hits all of them alike.
        wall = {k: 0.0 for k in ("bare", "arrays", "ref", *range(len(setups)))}
        cpu = dict(wall)  # process CPU seconds (all threads)
        for part in range(rounds):
            sl = slice(part * n // rounds, (part + 1) * n // rounds)
            torch.set_num_threads(torch_threads)
            t0, c0 = time.perf_counter(), time.process_time()
            for path in paths[sl]:
                model.predict(str(path), imgsz=320, verbose=False, device="cpu")
            wall["bare"] += time.perf_counter() - t0
            cpu["bare"] += time.process_time() - c0
            t0, c0 = time.perf_counter(), time.process_time()
            for img in bgr[sl]:
                model.predict(img, imgsz=320, verbose=False, device="cpu")
            wall["arrays"] += time.perf_counter() - t0
            cpu["arrays"] += time.process_time() - c0
            torch.set_num_threads(ref_threads)  # a reference only: the baseline is the above
            t0, c0 = time.perf_counter(), time.process_time()
            for path in paths[sl]:
                model.predict(str(path), imgsz=320, verbose=False, device="cpu")
            wall["ref"] += time.perf_counter() - t0
            cpu["ref"] += time.process_time() - c0
            torch.set_num_threads(torch_threads)
            for k, ((workers, _, _), agent) in enumerate(zip(setups, agents, strict=True)):
                t0, c0 = time.perf_counter(), time.process_time()
                report = run_local(items[sl], agent, Path(tmp, f"out{k}.jsonl"),
                                   workers=workers, progress=False)
                wall[k] += time.perf_counter() - t0
                cpu[k] += time.process_time() - c0
                if report["errors"] or report["answered"] != len(items[sl]):
                    raise RuntimeError(f"lavr batch answered {report['answered']} items, "
                                       f"{report['errors']} with an error")
        answers = [{r["id"]: r["answer"] for r in map(json.loads, Path(tmp, f"out{k}.jsonl")
                                                       .read_text().splitlines())}
                   for k in range(len(setups))]
    same = sum(all(a[i] == answers[0][i] for a in answers) for i in answers[0])
    bare, bare_arrays = n / wall["bare"], n / wall["arrays"]
    out: dict[str, Any] = {
        "batch_n": n, "batch_same_answers": same, "bare_loop_img_per_s": bare, "bare_arrays_img_per_s": bare_arrays,
        "bare_loop_cpu_ms_per_img": cpu["bare"] / n * 1000,
        "bare_arrays_cpu_ms_per_img": cpu["arrays"] / n * 1000, "batch_wait_ms": wait_ms,
        "bare_loop_threads": torch_threads, "bare_ref_threads": ref_threads,
        "bare_ref_img_per_s": n / wall["ref"],
        "bare_ref_cpu_ms_per_img": cpu["ref"] / n * 1000,
        "batch_setups": [{"workers": w, "batch_size": b, "lanes": plans[k][0],
                          "lane_threads": plans[k][1], "img_per_s": n / wall[k],
                          "cpu_ms_per_img": cpu[k] / n * 1000,
                          "over_bare": n / wall[k] / bare,
                          "over_bare_arrays": n / wall[k] / bare_arrays}
                         for k, (w, b, _) in enumerate(setups)]}
    first = out["batch_setups"][0]
    out.update(batch_workers=first["workers"], batch_size=first["batch_size"],
               lavr_batch_img_per_s=first["img_per_s"],
               lavr_batch_cpu_ms_per_img=first["cpu_ms_per_img"],
               batch_over_bare=first["over_bare"], batch_over_bare_arrays=first["over_bare_arrays"])
    return out


def bench_cold_start() -> dict[str, float]:
    lavr = Path(sys.executable).parent / "lavr"
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        subprocess.run([str(lavr), "ask", str(REPO / "examples" / "shapes_1.png"),
                        "How many circles are there?"], check=True, capture_output=True,
                       env={**os.environ, "HF_HUB_OFFLINE": "1"})
        times.append(time.perf_counter() - t0)
    return {"cold_start_s": statistics.median(times)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=40, help="images per measurement")
    ap.add_argument("--batch-n", type=int, default=200, help="scenes for the lavr batch figure")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-cold-start", action="store_true", help="skip the cold-start figure")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    images = _scenes(args.n, args.seed)
    report = {"n": args.n, "seed": args.seed, "cpu_count": os.cpu_count(),
              "load_avg_start": os.getloadavg()}
    report.update(bench_agent(images))  # torch first used by lavr (see the top)
    import torch

    report.update(torch_threads=torch.get_num_threads(),
                  omp_num_threads=os.environ.get("OMP_NUM_THREADS"))
    report.update(bench_orchestration_cpu(images))
    report.update(bench_verify(images))
    report.update(bench_throughput(images))
    report.update(bench_batch(args.batch_n, args.seed))
    report["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    report["load_avg_end"] = os.getloadavg()
    if not args.no_cold_start:
        report.update(bench_cold_start())
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    load = " / ".join(" ".join(f"{v:.2f}" for v in report[k])
                      for k in ("load_avg_start", "load_avg_end"))
    print(f"lavr benchmark  (n={args.n} images, seed={args.seed}, {report['cpu_count']} CPUs, "
          f"torch threads={report['torch_threads']}, OMP_NUM_THREADS={report['omp_num_threads']})")
    print(f"  load average (1, 5, 15 min) at start / end    {load}")
    print(f"  end-to-end, 'How many red circles are there?'  {report['e2e_s_per_q'] * 1000:8.1f} ms/question"
          f"  (CPU {report['e2e_cpu_ms_per_q']:.1f} ms, all threads)")
    print(f"  orchestration (outside experts)               {report['overhead_s_per_q'] * 1000:8.2f} ms/question")
    print(f"  orchestration share of end-to-end             {report['overhead_share']:8.1%}")
    print(f"  orchestration CPU time (graph run, tools cached) {report['orchestration_cpu_ms_per_q']:5.2f} ms/question")
    print(f"  repeat question (cache hits)                  {report['repeat_s_per_q'] * 1000:8.1f} ms/question")
    print(f"  cache speedup                                 {report['cache_speedup']:8.1f}x")
    print(f"  verify node (claim check) adds                {report['verify_s_per_q'] * 1000:8.1f} ms/question")
    print(f"  raw expert (ultralytics predict)              {report['raw_img_per_s']:8.1f} img/s")
    print(f"  framework (agent: detect + count)             {report['framework_img_per_s']:8.1f} img/s")
    print(f"  framework / raw throughput                    {report['framework_over_raw']:8.2f}")
    print(f"  bare per-image ultralytics loop, files ({report['batch_n']})  {report['bare_loop_img_per_s']:8.1f} img/s"
          f"  (CPU {report['bare_loop_cpu_ms_per_img']:.1f} ms/img)")
    print(f"  bare loop on decoded arrays                   {report['bare_arrays_img_per_s']:8.1f} img/s"
          f"  (CPU {report['bare_arrays_cpu_ms_per_img']:.1f} ms/img)")
    ref = f"bare loop on files, torch {report['bare_ref_threads']} thread(s) (reference)"
    print(f"  {ref:<46}{report['bare_ref_img_per_s']:8.1f} img/s"
          f"  (CPU {report['bare_ref_cpu_ms_per_img']:.1f} ms/img)")
    for k, setup in enumerate(report["batch_setups"]):
        threads = setup["lane_threads"] or report["torch_threads"]
        name = (f"lavr batch, {setup['workers']} workers, batch {setup['batch_size']}, "
                f"{setup['lanes']} lane{'s' if setup['lanes'] != 1 else ''} x {threads} thr"
                + (" (default)" if k == 0 else ""))
        print(f"  {name:<62}{setup['img_per_s']:8.1f} img/s  (CPU {setup['cpu_ms_per_img']:.1f}"
              f" ms/img)  / bare loop: {setup['over_bare']:.2f} (files), "
              f"{setup['over_bare_arrays']:.2f} (arrays)")
    print(f"  lavr batch answers identical across set-ups   {report['batch_same_answers']:5d} of "
          f"{report['batch_n']}")
    print(f"  peak RSS                                      {report['peak_rss_mb']:8.0f} MB")
    checks = [("orchestration <= 2 ms / question", report["overhead_s_per_q"] <= 0.002),
              ("orchestration <= 5 % of end-to-end", report["overhead_share"] <= 0.05),
              ("repeat question >= 20x faster", report["cache_speedup"] >= 20),
              ("lavr batch >= 1.2x bare loop (files)", report["batch_over_bare"] >= 1.2
               and report["batch_same_answers"] == report["batch_n"])]
    print("  issue 13 targets: " + "; ".join(f"{name} {'met' if ok else 'NOT met'}"
                                            for name, ok in checks))
    busiest = max(report["load_avg_start"][0], report["load_avg_end"][0])
    if busiest > report["cpu_count"]:
        print(f"  (load average {busiest:.1f} on {report['cpu_count']} CPUs: other processes "
              "took most of the cores, so these are not figures of record; a process with "
              "more busy threads gets a larger share of a loaded machine, which favours the "
              "multi-lane set-up over the bare loop)")
    if "cold_start_s" in report:
        print(f"  cold start of `lavr ask` (median of 3)        {report['cold_start_s']:8.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
