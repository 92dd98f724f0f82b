"""lavr durability and concurrency benchmark: kill -9, resume, two processes, concurrent runs.

    .venv/bin/python benchmarks/durability.py [--kills 10] [--turns 19] [--seed 0] [--json]

Prints, from real processes on one SQLite sessions file (shapes detector,
rule controller, verify on, generated scenes with count / exists / colour /
spatial / read questions):

  * kill -9 at ``--kills`` random points of a session run (a uniform random
    moment between the start of the run and its usual end, in a process whose
    experts are already loaded, as in a server): after each kill,
    ``PRAGMA integrity_check``, whether the run was left unfinished, ``lavr ask
    --resume`` (a new process) and whether it re-ran a tool step that had
    finished before the kill, then the next question on the thread;
  * two processes continuing one thread, ``--turns`` each: turns lost and
    errors, with the per-thread lease and (for comparison) without it;
  * 20 threads and 20 asyncio tasks on one agent vs the same 20 runs
    sequentially: equal answers and traces, wall time.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
THREAD = "bench"


# -- the child process: one session run, printing each node as it finishes -------------------
def _counted_agent(db: str, log: str | None, *, lease: bool = True) -> Any:
    """A default agent on ``db``; with ``log``, its tools append ``end <tool> <image> <args>``."""
    from lavr.agents import VisualAgent
    from lavr.tools.registry import default_registry

    registry = default_registry()
    if log:
        _count_calls(registry, log)
    agent = VisualAgent(detector="shapes", registry=registry, sessions=db)
    if not lease:  # the behaviour before the per-thread lease, for comparison
        agent._lease = lambda thread_id: contextlib.nullcontext()  # type: ignore[method-assign]
    return agent


def _count_calls(registry: Any, log: str) -> None:
    for tool in registry.tools():
        tool.run = _logging_run(tool.run, tool.name, log)  # type: ignore[method-assign]


def _logging_run(run: Any, name: str, log: str) -> Any:
    def logged(args: Any, ctx: Any) -> Any:
        result = run(args, ctx)
        key = json.dumps(args.model_dump(mode="json"), sort_keys=True)
        with open(log, "a") as f:
            f.write(f"end {name} {ctx.image_hash} {key}\n")
        return result
    return logged


def child(argv: list[str]) -> int:
    """``child DB LOG resume|IMAGE.npy QUESTION warm|cold``: one run on the thread, nodes
    printed.

    ``warm``: the process first answers warm-up questions on another thread
    (experts loaded, as in a long-lived server), then prints ``ready`` and starts
    the run; a run to be killed is warm, so the kill lands in the run and not in
    loading. ``cold``: no warm-up (a resume or the next question in a new process;
    the experts it needs load on first use).
    """
    db, log, what, warm = argv[0], argv[1], argv[2], argv[4] == "warm"
    from lavr.apps.synthetic_scenes import render_scene

    agent = _counted_agent(db, None)
    if warm:
        image = render_scene(np.random.default_rng(12345), text="WARM").image
        agent.chat(image, "What does the sign say?", thread_id="warm-up")
        agent.chat(None, "How many red circles are there?", thread_id="warm-up")
    _count_calls(agent.context.registry, log)  # from now on (the cache holds only warm-up)
    print("ready", flush=True)
    if what == "resume":
        events = agent.resume(THREAD)
    else:
        events = agent.stream(np.load(what), argv[3], thread_id=THREAD)
    for event in events:
        print(getattr(event, "node", "result"), flush=True)
    return 0


def turns(argv: list[str]) -> int:
    """``turns DB NAME N lease|nolease``: N follow-up questions on the thread; errors printed."""
    db, name, n, lease = argv[0], argv[1], int(argv[2]), argv[3] == "lease"
    agent = _counted_agent(db, None, lease=lease)
    for i in range(n):
        try:
            agent.chat(None, f"How many shapes are there? ({name}{i})", thread_id=THREAD)
        except Exception as exc:  # noqa: BLE001 - counted by the parent
            print(f"error {type(exc).__name__}: {exc}", flush=True)
    return 0


# -- the parent ------------------------------------------------------------------------------
def _py(*args: str) -> list[str]:
    return [sys.executable, str(Path(__file__).resolve()), *args]


def _integrity(db: Path) -> str:
    """``ok``, or what ``PRAGMA integrity_check`` (or opening the file) reported."""
    conn = sqlite3.connect(db)
    try:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])
    except sqlite3.DatabaseError as exc:
        return f"error: {exc}"
    finally:
        conn.close()


def _items(n: int, seed: int) -> list[tuple[np.ndarray, str]]:
    from lavr.apps.evaluate import make_items

    return [(scene.image, item.question) for item, scene in make_items(n, seed)]


def _run_child(db: Path, log: Path, what: str, question: str = "", *,
               kill_after: float | None = None, warm: bool = True
               ) -> tuple[int, list[str], float | None]:
    """Run a child; with ``kill_after``, SIGKILL it that many seconds after it is ready.

    Returns the exit code, the nodes it reported and the seconds from ``ready``
    to its result (None when it died first).
    """
    with open(log.with_suffix(".err"), "a") as err:  # kept: why a child failed
        proc = subprocess.Popen(_py("child", str(db), str(log), what, question,
                                    "warm" if warm else "cold"),
                                stdout=subprocess.PIPE, stderr=err, text=True)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    t0 = time.perf_counter()
    nodes: list[str] = []
    took = None
    timer = None
    if kill_after is not None:
        timer = threading.Timer(kill_after, lambda: proc.send_signal(signal.SIGKILL))
        timer.start()
    for line in proc.stdout:
        nodes.append(line.strip())
        if nodes[-1] == "result":
            took = time.perf_counter() - t0
    code = proc.wait()
    if timer is not None:
        timer.cancel()
    return code, nodes, took


def _checkpoints(db: Path) -> int:
    """Checkpoints saved on the benchmark's thread so far."""
    return _count(db, "checkpoints WHERE thread_id = ?", THREAD)


def _count(db: Path, table: str, *params: str) -> int:
    """Rows in ``table`` (0 when it does not exist yet)."""
    conn = sqlite3.connect(db)
    try:
        return int(conn.execute(f"SELECT COUNT(*) FROM {table}", params).fetchone()[0])
    except sqlite3.OperationalError:
        return 0
    finally:
        conn.close()


def _ends(log: Path) -> list[str]:
    return [ln for ln in log.read_text().splitlines() if ln.startswith("end")] \
        if log.exists() else []


def bench_kills(work: Path, kills: int, seed: int) -> dict[str, Any]:
    """``kills`` kill -9 at a uniform random moment of a run, each on a new question.

    A kill that comes after the run has already answered is not a point of
    the run: it is counted apart (``finished_first``), the estimate of a run's
    length becomes that run's, and another question is asked.
    """
    rng = np.random.default_rng(seed)
    db = work / "kill.sqlite"
    items = _items(3 * kills + 2, seed)
    paths = []
    for i, (image, _) in enumerate(items):
        paths.append(work / f"img{i}.npy")
        np.save(paths[-1], image)
    # a finished first turn; its length (ready -> result, warm) is the first estimate
    # of a run's length
    code, _, usual = _run_child(db, work / "warm.log", str(paths[0]), items[0][1])
    assert code == 0 and usual is not None
    rows: list[dict[str, Any]] = []
    finished_first = 0
    bad_after_answer: list[str] = []
    for j in range(1, len(items)):
        if len(rows) == kills:
            break
        at = float(rng.uniform(0, usual))
        log = work / f"kill{j}.log"
        saved_before = _checkpoints(db)
        code, nodes, took = _run_child(db, log, str(paths[j]), items[j][1], kill_after=at)
        if took is not None:  # answered before the kill
            finished_first += 1
            usual = took
            if (state := _integrity(db)) != "ok":
                bad_after_answer.append(state)
                break
            continue
        assert code == -signal.SIGKILL, f"child exited with {code}"
        row: dict[str, Any] = {"kill_at_s": round(at, 3), "question": items[j][1],
                               "last_node": nodes[-1] if nodes else "(none)",
                               "integrity": _integrity(db),
                               "checkpoints_written": _checkpoints(db) - saved_before,
                               "journaled_steps": _count(db, "lavr_steps")}
        before = _ends(log)
        from lavr.agents import VisualAgent

        probe = VisualAgent(sessions=db)
        row["unfinished"] = probe.unfinished(THREAD)
        probe.sessions.close()
        if row["unfinished"]:  # resume in a new process with the same counting tools
            code, nodes, took = _run_child(db, log, "resume", warm=False)
            row["resume_exit"] = code
            row["resumed_answered"] = code == 0 and took is not None
            if code != 0:  # the child's last stderr line says why
                lines = log.with_suffix(".err").read_text().strip().splitlines()
                row["resume_error"] = lines[-1][:300] if lines else ""
        row["tool_steps_finished_before_kill"] = len(before)
        after = _ends(log)
        row["finished_steps_rerun"] = sum(after.count(e) - 1 for e in set(before))
        code, nodes, took = _run_child(db, work / f"next{j}.log", str(paths[(j + 1) % len(paths)]),
                                       "How many shapes are there?", warm=False)
        row["next_question_answered"] = code == 0 and took is not None
        row["integrity_after"] = _integrity(db)
        rows.append(row)
        print(f"  kill {len(rows):2d} at {at:5.2f}s (last node {row['last_node']:>7}): "
              f"integrity {row['integrity']}, checkpoints written "
              f"{row['checkpoints_written']}, unfinished {row['unfinished']}, "
              f"resume exit {row.get('resume_exit', '-')}, tool steps finished before the "
              f"kill {len(before)} (journaled {row['journaled_steps']}), re-run "
              f"{row['finished_steps_rerun']}, next question "
              f"{'answered' if row['next_question_answered'] else 'FAILED'}, integrity "
              f"after {row['integrity_after']}"
              + (f"; resume error: {row['resume_error']}" if row.get("resume_error") else ""),
              flush=True)
        if row["integrity"] != "ok" or row["integrity_after"] != "ok":
            break  # keep the damaged file for a look (the work folder is kept)
    return {"rows": rows, "kills": len(rows), "finished_first": finished_first,
            "integrity_bad_after_answer": bad_after_answer,
            "integrity_ok": sum(r["integrity"] == "ok" and r["integrity_after"] == "ok"
                                for r in rows),
            "unfinished": sum(r["unfinished"] for r in rows),
            "killed_before_first_checkpoint": sum(r["checkpoints_written"] == 0 for r in rows),
            "finished_unnoticed": sum(r["checkpoints_written"] > 0 and not r["unfinished"]
                                      for r in rows),
            "resumed_ok": sum(bool(r.get("resumed_answered")) for r in rows if r["unfinished"]),
            "finished_steps_before_kills": sum(r["tool_steps_finished_before_kill"]
                                               for r in rows),
            "finished_steps_rerun": sum(r["finished_steps_rerun"] for r in rows),
            "next_answered": sum(r["next_question_answered"] for r in rows)}


def bench_two_processes(work: Path, n: int, seed: int, *, lease: bool) -> dict[str, Any]:
    db = work / f"two-{'lease' if lease else 'nolease'}.sqlite"
    image = work / "two.npy"
    np.save(image, _items(1, seed + 7)[0][0])
    assert _run_child(db, work / "two.log", str(image), "How many shapes are there?")[0] == 0
    arg = "lease" if lease else "nolease"
    procs = [subprocess.Popen(_py("turns", str(db), name, str(n), arg), stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True) for name in "AB"]
    errors = []
    for p in procs:
        out, _ = p.communicate(timeout=1800)
        errors += [ln for ln in out.splitlines() if ln.startswith("error")]
    from lavr.agents import VisualAgent

    agent = VisualAgent(detector="shapes", sessions=db)
    last = agent.chat(None, "How many shapes are there now?", thread_id=THREAD)
    asked = {t["question"] for t in last.history}
    kept = sum(f"({name}{i})" in q for name in "AB" for i in range(n) for q in asked)
    agent.sessions.close()
    return {"lease": lease, "turns": 2 * n, "kept_in_history": kept, "lost": 2 * n - kept,
            "errors": len(errors), "error_kinds": sorted({e.split(":")[0] for e in errors}),
            "integrity": _integrity(db)}


def bench_concurrency(seed: int, n: int = 20) -> dict[str, Any]:
    from lavr.agents import VisualAgent

    items = _items(n, seed + 11)

    def sig(r: Any) -> tuple:
        return (r.answer, tuple(r.cited), tuple((s.node, s.tool, s.summary) for s in r.steps))

    t0 = time.perf_counter()
    seq_agent = VisualAgent(detector="shapes")
    seq = [sig(seq_agent.run(img, q)) for img, q in items]
    t_seq = time.perf_counter() - t0

    agent = VisualAgent(detector="shapes")
    t0 = time.perf_counter()
    with ThreadPoolExecutor(n) as pool:
        thr = list(pool.map(lambda it: sig(agent.run(*it)), items))
    t_thr = time.perf_counter() - t0

    agent2 = VisualAgent(detector="shapes")

    async def main() -> list[Any]:
        asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(n))
        return await asyncio.gather(*(agent2.arun(img, q) for img, q in items))

    t0 = time.perf_counter()
    tasks = [sig(r) for r in asyncio.run(main())]
    t_async = time.perf_counter() - t0
    return {"runs": n, "threads_equal": sum(a == b for a, b in zip(thr, seq, strict=True)),
            "tasks_equal": sum(a == b for a, b in zip(tasks, seq, strict=True)),
            "sequential_s": round(t_seq, 2), "threads_s": round(t_thr, 2),
            "tasks_s": round(t_async, 2)}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["child"]:
        return child(argv[1:])
    if argv[:1] == ["turns"]:
        return turns(argv[1:])
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--kills", type=int, default=10)
    ap.add_argument("--turns", type=int, default=19, help="turns per process (two processes)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--parts", default="kill,two,concurrency",
                    help="comma-separated parts: kill, two (with and without the lease), "
                    "two-lease, concurrency (default kill,two,concurrency)")
    args = ap.parse_args(argv)
    parts = set(args.parts.split(","))
    warnings.filterwarnings("ignore")  # torch/easyocr deprecation noise
    out: dict[str, Any] = {}
    work = Path(tempfile.mkdtemp(prefix="lavr-durability-"))
    print(f"(work folder {work}: kept when a check fails)", flush=True)
    if "kill" in parts:
        print(f"kill -9 at {args.kills} random points of a session run:", flush=True)
        k = out["kill"] = bench_kills(work, args.kills, args.seed)
        print(f"kill -9: {k['kills']} kills mid-run ({k['finished_first']} more came after "
              f"the answer): integrity ok {k['integrity_ok']}/{k['kills']}, left unfinished "
              f"{k['unfinished']} ({k['killed_before_first_checkpoint']} more before the run's "
              f"first checkpoint: nothing to resume; {k['finished_unnoticed']} with "
              f"checkpoints but not seen as unfinished), resumed to an answer "
              f"{k['resumed_ok']}/{k['unfinished']}, "
              f"tool steps finished before the kills {k['finished_steps_before_kills']}, "
              f"re-run {k['finished_steps_rerun']}, next question answered "
              f"{k['next_answered']}/{k['kills']}", flush=True)
    if parts & {"two", "two-lease"}:
        print("two processes on one thread:", flush=True)
        out["two_processes"] = [bench_two_processes(work, args.turns, args.seed,
                                                    lease=lease)
                                for lease in ((True, False) if "two" in parts else (True,))]
        for r in out["two_processes"]:
            print(f"  {'with' if r['lease'] else 'without'} the lease: {r['lost']} of "
                  f"{r['turns']} turns lost, {r['errors']} errors {r['error_kinds']}, "
                  f"integrity {r['integrity']}", flush=True)
    if "concurrency" in parts:
        print("20 threads / 20 asyncio tasks on one agent vs sequential:", flush=True)
        c = out["concurrency"] = bench_concurrency(args.seed)
        print(f"  threads equal {c['threads_equal']}/{c['runs']} ({c['threads_s']} s), "
              f"asyncio tasks equal {c['tasks_equal']}/{c['runs']} ({c['tasks_s']} s), "
              f"sequential {c['sequential_s']} s", flush=True)
    failed = bool(out.get("kill", {}).get("integrity_bad_after_answer")) or any(
        r["integrity"] != "ok" or r["integrity_after"] != "ok"
        for r in out.get("kill", {}).get("rows", [])) or any(
        r["integrity"] != "ok" for r in out.get("two_processes", []))
    if not failed:
        shutil.rmtree(work, ignore_errors=True)
    if args.json:
        print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
