"""``lavr batch --engine ray``: the same job as a Ray Data pipeline.

The questions become a Ray dataset; ``map_batches`` sends batches of them to a pool
of actors. Each actor holds one agent with its experts loaded once (one GPU per
actor when the cluster has GPUs) and answers a batch by running the graph per item
in threads, so the batch's detector calls meet in the micro-batcher and the model
sees lists of images. Result lines come back to the driver as they are produced
and are appended to the same results file as the local engine writes, so a rerun
skips what is done, and the lines are those of the local engine.

Runs on a local Ray started by the command (``ray.init`` on 127.0.0.1, stopped
afterwards) or on an existing cluster (``--address``). Needs ``pip install 'lavr[ray]'``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys
import time
from typing import Any

import numpy as np

from lavr.apps.batch import (
    BatchItem,
    ResultWriter,
    answer_item,
    configure_batching,
    encode_record,
)
from lavr.core_model.errors import InputError

logger = logging.getLogger(__name__)


def import_ray() -> Any:
    """The ``ray`` module with Ray Data.

    Raises:
        InputError: Ray is not installed (names the extra to install).
    """
    try:
        import ray
        import ray.data  # noqa: F401 - the engine needs Ray Data
    except ImportError as exc:
        raise InputError(f"--engine ray needs Ray Data ({exc}); pip install 'lavr[ray]'") from exc
    return ray


class AgentActor:
    """A Ray Data actor: one agent (experts loaded once) answering batches of questions.

    Args:
        args: The ``lavr batch`` options (agent flags, ``--workers``, batching).
    """

    def __init__(self, args: argparse.Namespace) -> None:
        from concurrent.futures import ThreadPoolExecutor

        from lavr.apps.cli import agent_from_args
        from lavr.apps.cot_cli import reasoning_kwargs

        self.agent = agent_from_args(args)
        # the actor's share of the machine is the one CPU (or GPU) Ray gives it
        configure_batching(self.agent, batch_size=args.batch_size,
                           batch_wait_ms=args.batch_wait_ms, lanes=getattr(args, "lanes", 0),
                           cores=1)
        self.run_kwargs = reasoning_kwargs(args)
        self.pool = ThreadPoolExecutor(max_workers=args.workers, thread_name_prefix="lavr-ray")

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Answer one batch: columns ``id``, ``image``, ``question``, ``extra`` (JSON) in,
        column ``line`` (the results-file line, JSON) out."""
        items = [BatchItem(str(i), str(im), str(q), json.loads(str(e)))
                 for i, im, q, e in zip(batch["id"], batch["image"], batch["question"],
                                        batch["extra"], strict=True)]
        records = self.pool.map(lambda it: answer_item(self.agent, it, run_kwargs=self.run_kwargs), items)
        return {"line": np.array([encode_record(r) for r in records], dtype=object)}


def _gpus(ray: Any) -> float:
    return float(ray.cluster_resources().get("GPU", 0.0))


#: Attempts at starting a local Ray: Ray gives its node 30 s to register, which a loaded
#: machine can miss (its start-up processes are ordinary Python programs).
LOCAL_START_ATTEMPTS = 3
#: Object store of a local Ray: the jobs pass file names and result lines, not pixels.
LOCAL_OBJECT_STORE_BYTES = 512 * 2**20


def start_local_ray(ray: Any, *, num_cpus: int | None = None,
                    attempts: int = LOCAL_START_ATTEMPTS) -> None:
    """Start Ray on this machine (127.0.0.1), lean and with retries.

    No dashboard, no usage-stats reporting, no idle workers started ahead of need and
    a small object store, so fewer processes compete for the cores while the node
    registers; the raylet waits up to 120 s for its agents; a start that times out (Ray's "node timed out during startup ... GCS
    overloaded" on a busy machine) is shut down and tried again.

    Raises:
        InputError: Every attempt failed (one line: the last error).
    """
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    # The raylet waits this long for its (Python) metrics agent to start, then aborts;
    # the default is about 15 s, which a loaded machine misses ("Timed out waiting for
    # file .../metrics_agent_port_...").
    os.environ.setdefault("RAY_agent_register_timeout_ms", "120000")
    os.environ.setdefault("RAY_prestart_worker_first_driver", "0")
    last = ""
    for attempt in range(1, attempts + 1):
        try:
            ray.init(num_cpus=num_cpus or os.cpu_count() or 1, include_dashboard=False,
                     _node_ip_address="127.0.0.1", log_to_driver=False,
                     object_store_memory=LOCAL_OBJECT_STORE_BYTES)
            return
        except Exception as exc:  # noqa: BLE001 - Ray raises plain Exception on a slow start
            last = " ".join(str(exc).split()) or type(exc).__name__
            logger.warning("local Ray did not start (attempt %d of %d): %s", attempt, attempts,
                           last)
            with contextlib.suppress(Exception):
                ray.shutdown()
    raise InputError(f"could not start a local Ray ({attempts} attempts; the machine may be "
                     f"too busy): {last}")


def _init(ray: Any, address: str | None) -> bool:
    """Connect to ``address`` or start a local Ray on 127.0.0.1; True when this call started it.

    Raises:
        InputError: The cluster cannot be reached, or a local Ray does not start.
    """
    if ray.is_initialized():
        return False
    if not address:
        start_local_ray(ray)
        return True
    try:
        ray.init(address=address, log_to_driver=False)
    except Exception as exc:  # noqa: BLE001 - one line for the user, whatever Ray raised
        raise InputError(f"could not reach the Ray cluster at {address}: "
                         f"{' '.join(str(exc).split())}") from exc
    return True


def run_ray(items: list[BatchItem], args: argparse.Namespace, *, out: str,
            progress: bool = True) -> dict[str, Any]:
    """Answer ``items`` on Ray Data and append each result line to ``out``.

    Args:
        items: Questions not yet in ``out``.
        args: ``lavr batch`` options: agent flags, ``--actors``, ``--workers`` (threads
            per actor), ``--batch-size``, ``--batch-wait-ms``, ``--address``.
        out: The results file.
        progress: Show Ray Data's progress bars.

    Returns:
        ``{"answered", "errors", "seconds", "items_per_s"}``.

    Raises:
        InputError: Ray missing or unreachable.
    """
    ray = import_ray()
    started = _init(ray, args.address)
    try:
        ctx = ray.data.DataContext.get_current()
        ctx.enable_progress_bars = progress
        rows = [{"id": it.id, "image": it.image, "question": it.question,
                 "extra": json.dumps(it.extra)} for it in items]
        gpus = _gpus(ray)
        remote: dict[str, Any] = {"num_gpus": 1} if gpus >= 1 else {"num_cpus": 1}
        ds = ray.data.from_items(rows).map_batches(
            AgentActor, fn_constructor_kwargs={"args": args}, batch_size=args.batch_size,
            concurrency=args.actors, batch_format="numpy", **remote)
        answered = errors = 0
        t0 = time.perf_counter()
        with ResultWriter(out) as writer:
            for row in ds.iter_rows():
                line = str(row["line"])
                writer.write_line(line)
                answered += 1
                errors += json.loads(line)["error"] is not None
                logger.info("wrote %s", json.loads(line)["id"])
        seconds = time.perf_counter() - t0
    finally:
        if started:
            ray.shutdown()
    if progress:
        print(file=sys.stderr)
    return {"answered": answered, "errors": errors, "seconds": seconds,
            "items_per_s": answered / seconds if seconds > 0 else 0.0}
