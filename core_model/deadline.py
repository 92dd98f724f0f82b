"""Deadlines: wall-clock limits that nested work shares, not per-read timeouts.

A run sets its deadline once (:func:`deadline_scope`); everything inside it — graph
nodes, model calls, HTTP attempts, waits between retries — asks :func:`remaining`
and never plans past it. Scopes nest and can only shorten the deadline: a model
call's own limit inside a run ends at whichever comes first. The deadline lives in a
:mod:`contextvars` variable, so concurrent runs in threads or asyncio tasks each have
their own (LangGraph copies the context into the threads that run its nodes).

A deadline can also be **cancelled**: a run's scope may carry ``threading.Event``
objects (Stop in the demo, a stream closed early); once one is set the deadline
counts as passed everywhere (:func:`expired`, :func:`remaining`, :func:`check`), so
the same cooperative checks that honour the clock stop the work, and
:meth:`Deadline.wait` returns at once. Scopes nested inside keep the events.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Protocol

from lavr.core_model.errors import DeadlineError, RunStoppedError


class Signal(Protocol):
    """What :meth:`Deadline.wait` and :func:`wait` wait for: a ``threading.Event``, or
    anything with its ``is_set()`` and ``wait(timeout)``."""

    def is_set(self) -> bool: ...

    def wait(self, timeout: float) -> bool: ...


#: How often :meth:`Deadline.wait` looks at the clock and the cancel events, in seconds.
POLL = 0.05


@dataclass(frozen=True)
class Deadline:
    """One deadline.

    Attributes:
        at: ``time.monotonic()`` value at which time is up (``inf``: only a cancel ends it).
        seconds: The length it was set with (for messages).
        what: What it bounds (``the run``, ``the model call``...).
        cancels: Events that end it early when set (Stop, a closed stream).
    """

    at: float
    seconds: float
    what: str
    cancels: tuple[threading.Event, ...] = ()

    def cancelled(self) -> bool:
        """Whether the work was stopped on purpose (a cancel event is set)."""
        return any(event.is_set() for event in self.cancels)

    def remaining(self) -> float:
        """Seconds left (0 or less once passed or cancelled)."""
        left = self.at - time.monotonic()
        return min(left, 0.0) if self.cancelled() else left

    def expired(self) -> bool:
        """Whether time is up (or the work was cancelled)."""
        return self.cancelled() or time.monotonic() >= self.at

    def error(self) -> DeadlineError:
        """The error that says this deadline was reached (or the work stopped)."""
        if self.cancelled():
            return RunStoppedError(self.what, self.seconds)
        return DeadlineError(self.what, self.seconds)

    def wait(self, done: Signal) -> bool:
        """Wait for ``done`` until this deadline passes or is cancelled.

        Returns:
            True when ``done`` was set in time, False when time ran out first.
        """
        while not done.is_set():
            left = self.remaining()
            if left <= 0:
                return done.is_set()
            done.wait(min(POLL, left))
        return True


_CURRENT: ContextVar[Deadline | None] = ContextVar("lavr_deadline", default=None)


def current() -> Deadline | None:
    """The innermost deadline in force (None: no deadline); the tool node, the
    micro-batcher and model calls use it to wait for work and to tell a cancel from
    the clock."""
    return _CURRENT.get()


def remaining(default: float | None = None) -> float | None:
    """Seconds left before the deadline in force (``default`` when there is none)."""
    d = _CURRENT.get()
    return default if d is None else d.remaining()


def expired() -> bool:
    """Whether the deadline in force has passed."""
    d = _CURRENT.get()
    return d is not None and d.expired()


def check() -> None:
    """Raise when the deadline in force has passed.

    Raises:
        DeadlineError: Time is up.
    """
    d = _CURRENT.get()
    if d is not None and d.expired():
        raise d.error()


def wait(done: Signal, *, until: float = math.inf) -> bool:
    """Wait for ``done`` until monotonic time ``until`` or the deadline in force ends
    (passes or is cancelled), whichever comes first.

    Returns:
        True when ``done`` was set in time.
    """
    d = _CURRENT.get()
    while not done.is_set():
        left = until - time.monotonic()
        if d is not None:
            left = min(left, d.remaining())
        if left <= 0:
            return done.is_set()
        done.wait(min(POLL, left))
    return True


def budget(limit: float) -> float:
    """``limit`` seconds, shortened to what the deadline in force leaves (never below 0)."""
    left = remaining()
    return max(0.0, limit if left is None else min(limit, left))


@contextlib.contextmanager
def deadline_scope(seconds: float | None, what: str = "the run", *,
                   at: float | None = None,
                   cancel: threading.Event | None = None) -> Iterator[Deadline | None]:
    """Run the body under a deadline ``seconds`` from now (or at monotonic time ``at``).

    An enclosing, earlier deadline stays in force, and so do its cancel events.
    ``seconds=None`` and ``at=None`` set no time limit (only ``cancel``, if given);
    with neither nor ``cancel`` the current deadline is left as it is.

    Args:
        seconds: Length of the deadline.
        what: What it bounds (for messages).
        at: Monotonic end time instead of ``seconds``.
        cancel: Ends the deadline early when set (Stop).

    Yields:
        The deadline in force inside the body.
    """
    outer = _CURRENT.get()
    if seconds is None and at is None and cancel is None:
        yield outer
        return
    if at is not None:
        end = at
    elif seconds is not None:
        end = time.monotonic() + float(seconds)
    else:
        end = math.inf
    length = float(seconds) if seconds is not None else max(0.0, end - time.monotonic())
    cancels = outer.cancels if outer is not None else ()
    if cancel is not None and cancel not in cancels:
        cancels = (*cancels, cancel)
    if outer is not None and outer.at <= end:
        inner = outer if outer.cancels == cancels else Deadline(outer.at, outer.seconds,
                                                                outer.what, cancels)
    else:
        inner = Deadline(end, length, what, cancels)
    token = _CURRENT.set(inner)
    try:
        yield inner
    finally:
        _CURRENT.reset(token)
