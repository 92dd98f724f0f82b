"""Micro-batching: concurrent single-item expert calls grouped into one batched call.

Many questions answered at once (``lavr batch --workers N``, a server) each ask an
expert about one image. :class:`MicroBatcher` lets those calls meet: the first
caller becomes the *leader*, waits at most ``max_wait_s`` for others (or until
``max_size`` items are queued), runs the batch function once on the whole list,
and hands every caller its own result. Callers that arrive while a batch is
running queue up and go together in the next one, so with ``max_wait_s=0`` a lone
caller pays nothing and a busy expert still batches.

With ``lanes=N`` up to N batches run at the same time (each in its leader's thread),
for an expert with N replicas (see :mod:`lavr.tools.detect`): one leader gathers at a
time, and the next may start gathering as soon as the previous one has its batch and a
lane is free. ``lanes=1`` is a single queue in front of one model.

No background thread is started: batches run in the callers' threads.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from lavr.core_model import deadline

X = TypeVar("X")
Y = TypeVar("Y")


@dataclass(eq=False)  # compared by identity: ``list.remove`` finds this very call
class _Pending(Generic[X]):
    item: X
    queued: bool = True  # in ``_pending``, not yet taken into a batch
    done: bool = False
    result: Any = None
    error: BaseException | None = None


@dataclass
class BatchStats:
    """Counters of a :class:`MicroBatcher` (read them for tests and benchmarks).

    Attributes:
        calls: Single-item calls served.
        batches: Batched calls made.
        largest: Largest batch so far.
    """

    calls: int = 0
    batches: int = 0
    largest: int = 0

    @property
    def mean_size(self) -> float:
        """Average batch size (0 before the first batch)."""
        return self.calls / self.batches if self.batches else 0.0


class MicroBatcher(Generic[X, Y]):
    """Group concurrent calls of ``fn(items) -> results`` into batches.

    Args:
        fn: Batched function: a list of items in, one result per item out (same order).
        max_size: Most items in one call.
        max_wait_s: How long a leader waits for more items before running a batch
            that is not full (0: run at once; callers that come during a run still
            join the next batch).
        lanes: Most batches running at once (``fn`` must then be safe to call from
            that many threads at the same time).

    Raises:
        ValueError: ``max_size`` or ``lanes`` below 1, or a negative wait.
    """

    def __init__(self, fn: Callable[[list[X]], Sequence[Y]], *, max_size: int = 8,
                 max_wait_s: float = 0.0, lanes: int = 1) -> None:
        if max_size < 1:
            raise ValueError(f"max_size must be at least 1, got {max_size}")
        if max_wait_s < 0:
            raise ValueError(f"max_wait_s must be >= 0, got {max_wait_s}")
        if lanes < 1:
            raise ValueError(f"lanes must be at least 1, got {lanes}")
        self.fn = fn
        self.max_size = max_size
        self.max_wait_s = max_wait_s
        self.lanes = lanes
        self.stats = BatchStats()
        self._cond = threading.Condition()
        self._pending: list[_Pending[X]] = []
        self._running = 0  # batches gathering or running
        self._gathering = False

    def __call__(self, item: X) -> Y:
        """Submit one item and block until its result is ready.

        Raises:
            BaseException: Whatever the batch function raised for the batch the item was in.
        """
        mine: _Pending[X] = _Pending(item)
        with self._cond:
            self._pending.append(mine)
            self._cond.notify_all()  # a gathering leader may now have a full batch
            while not mine.done:
                # wait while a leader gathers, every lane is taken, or a batch has mine
                if self._gathering or self._running >= self.lanes or not mine.queued:
                    run = deadline.current()
                    self._cond.wait(None if run is None else deadline.POLL)
                    if run is not None and run.expired() and mine.queued:
                        self._pending.remove(mine)  # not in a batch yet: give up
                        mine.queued = False
                        raise run.error()
                    continue
                self._running += 1
                self._gathering = True
                try:
                    batch = self._gather()
                finally:
                    self._gathering = False
                self._cond.notify_all()  # the next leader may gather while this batch runs
                self._cond.release()
                try:
                    self._run(batch)
                finally:
                    self._cond.acquire()
                    self._running -= 1
                    self.stats.calls += len(batch)
                    self.stats.batches += 1
                    self.stats.largest = max(self.stats.largest, len(batch))
                    self._cond.notify_all()
        if mine.error is not None:
            raise mine.error
        return mine.result

    def _gather(self) -> list[_Pending[X]]:
        """Called by the leader with the lock held: wait for a full batch or the deadline."""
        until = time.monotonic() + self.max_wait_s
        while len(self._pending) < self.max_size:
            left = until - time.monotonic()
            if left <= 0:
                break
            self._cond.wait(left)
        batch = self._pending[:self.max_size]
        del self._pending[:self.max_size]
        for p in batch:
            p.queued = False
        return batch

    def _run(self, batch: list[_Pending[X]]) -> None:
        """Run the batch function outside the lock and fill every pending result."""
        try:
            results = list(self.fn([p.item for p in batch]))
            if len(results) != len(batch):
                raise RuntimeError(f"batch function returned {len(results)} results for "
                                   f"{len(batch)} items")
            for p, r in zip(batch, results, strict=True):
                p.result = r
        except BaseException as exc:  # noqa: BLE001 - handed to every caller in the batch
            for p in batch:
                p.error = exc
        for p in batch:
            p.done = True
