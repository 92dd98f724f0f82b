"""Deadlines: wall-clock limits that nested work shares, not per-read timeouts.

A run sets its deadline once (:func:`deadline_scope`); everything inside it — graph
nodes, model calls, HTTP attempts, waits between retries — asks :func:`remaining`
and never plans past it. Scopes nest and can only shorten the deadline: a model
call's own limit inside a run ends at whichever comes first. The deadline lives in a
:mod:`contextvars` variable, so concurrent runs in threads or asyncio tasks each have
their own (LangGraph copies the context into the threads that run its nodes).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass

from lavr.core_model.errors import DeadlineError


@dataclass(frozen=True)
class Deadline:
    """One deadline.

    Attributes:
        at: ``time.monotonic()`` value at which time is up.
        seconds: The length it was set with (for messages).
        what: What it bounds (``the run``, ``the model call``...).
    """

    at: float
    seconds: float
    what: str

    def remaining(self) -> float:
        """Seconds left (negative once passed)."""
        return self.at - time.monotonic()

    def expired(self) -> bool:
        """Whether time is up."""
        return time.monotonic() >= self.at

    def error(self) -> DeadlineError:
        """The error that says this deadline was reached."""
        return DeadlineError(self.what, self.seconds)


_CURRENT: ContextVar[Deadline | None] = ContextVar("lavr_deadline", default=None)


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


def budget(limit: float) -> float:
    """``limit`` seconds, shortened to what the deadline in force leaves (never below 0)."""
    left = remaining()
    return max(0.0, limit if left is None else min(limit, left))


@contextlib.contextmanager
def deadline_scope(seconds: float | None, what: str = "the run", *,
                   at: float | None = None) -> Iterator[Deadline | None]:
    """Run the body under a deadline ``seconds`` from now (or at monotonic time ``at``).

    An enclosing, earlier deadline stays in force. ``seconds=None`` and ``at=None``
    leave the current deadline as it is.

    Yields:
        The deadline in force inside the body.
    """
    outer = _CURRENT.get()
    if seconds is None and at is None:
        yield outer
        return
    end = at if at is not None else time.monotonic() + float(seconds or 0.0)
    length = float(seconds) if seconds is not None else max(0.0, end - time.monotonic())
    mine = Deadline(end, length, what)
    inner = outer if outer is not None and outer.at <= mine.at else mine
    token = _CURRENT.set(inner)
    try:
        yield inner
    finally:
        _CURRENT.reset(token)
