"""One trace event per node/tool event: :class:`TraceEvent`.

The trace is what the CLI prints, the demo shows, the HTML reports draw and evaluation
scores. Every writer builds a :class:`TraceEvent`; every reader reads its attributes.
:meth:`TraceEvent.to_dict` and :meth:`TraceEvent.from_dict` are the only places that
know the flat JSON shape kept in the graph state (and so in LangGraph checkpoints of
the sessions file), printed by ``lavr ask --json`` (``steps``), written by
``lavr batch`` and sent by the demo API.

The JSON shape: ``node``, ``tool``, ``args``, ``summary``, ``seconds`` (rounded to
0.1 ms) and ``error`` always; then each optional field in the order of the class's
fields, only when set (``None`` / ``False`` are left out; ``cached`` is written
whenever it is known, ``false`` included). Unknown keys of older records are ignored.

It lives beside :class:`~lavr.tools.evidence.Evidence`, low in the layers, so the graph
(``lavr.agents``), episodes (``lavr.episodes``) and the demo store (which reads saved
``lavr ask --json`` documents) share it without loading the graph.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, NamedTuple

from lavr.core_model.structured import Attempt

#: The default ``args``: an empty mapping nobody can change (a shared ``{}`` could be).
NO_ARGS: Mapping[str, Any] = MappingProxyType({})


class TraceEvent(NamedTuple):
    """What one node (or tool step, or episode step) did.

    Immutable. A ``NamedTuple`` rather than a frozen dataclass because every question
    builds a few dozen of these on the hot path: construction costs a third of a frozen
    slots dataclass's (0.5 vs 2.0 us here), and ``from_dict`` a third too.

    Attributes:
        node: Graph node (``ingest``, ``plan``, ``execute``, ``tool``, ``decide``,
            ``refine``, ``verify``, ``demos``, ``reason``, ``cache``) or episode event
            (``tool``, ``act``, ``decide``).
        tool: The tool a ``tool``/``execute`` event concerns.
        args: That tool call's arguments (JSON values).
        summary: One line for people.
        seconds: Wall time.
        error: What went wrong (None: nothing).
        step: The plan step id (``s2``) or episode step id (``t3``, ``t3.p1``).
        cached: Whether the tool result came from the result cache (None: not a tool event).
        artifact_id: The tool result's artifact (detections) id.
        journaled: The step finished before the run was interrupted and was read back
            from the sessions file, not run again.
        raw: A model's reply (first 1000 characters) for an attempt event.
        attempt: 1-based model call number of an attempt event (None: not an attempt).
        fallback: The rules took over here (or a check could not run, or time ran out).
        plan: The plan (``Plan.model_dump()``) a ``plan`` event produced or accepted.
        demos: The in-context demos a ``demos`` event chose.
        store: The demo store they came from.
        reasoning: The reasoning chain or tree a ``reason`` event built.
        claims: The claims a ``verify`` event checked.
        mode: How ``verify`` checked them.
        steps: The tool steps ``verify`` ran (``step``, ``tool``, ``args``, ``cached``,
            ``error`` each).
        original_answer: The answer before ``verify`` corrected it (None: unchanged).
        cited: Step ids the ``refine`` event's answer cites.
        answers: The ``refine`` event's answer in every style.
        action: The action an episode's ``act`` event took (``Action.to_json()``).
        controller: Who chose that action (``rules``, a model's name, a fallback note).
    """

    node: str
    tool: str | None = None
    args: Mapping[str, Any] = NO_ARGS
    summary: str = ""
    seconds: float = 0.0
    error: str | None = None
    step: str | None = None
    cached: bool | None = None
    artifact_id: str | None = None
    journaled: bool = False
    raw: str | None = None
    attempt: int | None = None
    fallback: bool = False
    plan: dict[str, Any] | None = None
    demos: list[dict[str, Any]] | None = None
    store: str | None = None
    reasoning: dict[str, Any] | None = None
    claims: list[dict[str, Any]] | None = None
    mode: str | None = None
    steps: list[dict[str, Any]] | None = None
    original_answer: str | None = None
    cited: list[str] | None = None
    answers: dict[str, str] | None = None
    action: dict[str, Any] | None = None
    controller: str | None = None

    @classmethod
    def of_attempt(cls, node: str, attempt: Attempt) -> TraceEvent:
        """The event of one model call (or fallback note) of the role at ``node``."""
        called = attempt.number > 0
        return cls(node, summary=attempt.summary, seconds=attempt.seconds, error=attempt.error,
                   raw=attempt.raw if called else None, attempt=attempt.number if called else None,
                   fallback=attempt.fallback)

    @property
    def is_attempt(self) -> bool:
        """Whether this is one model call of a role (not the role's own event)."""
        return self.attempt is not None

    def to_dict(self) -> dict[str, Any]:
        """The flat JSON-able record (see the module docstring for its shape)."""
        out: dict[str, Any] = {"node": self.node, "tool": self.tool,
                               "args": {} if self.args is NO_ARGS else self.args,
                               "summary": self.summary, "seconds": round(float(self.seconds), 4),
                               "error": self.error}
        for name, value in zip(_OPTIONAL, self[6:], strict=True):
            if value is not None and (value is not False or name == "cached"):
                out[name] = value
        return out

    @classmethod
    def from_dict(cls, rec: dict[str, Any]) -> TraceEvent:
        """Read a record written by :meth:`to_dict` (or by an older lavr: ``args`` may be
        missing or None, unknown keys are ignored)."""
        if isinstance(rec, TraceEvent):
            return rec
        if not isinstance(rec, Mapping) or "node" not in rec:
            raise ValueError(f"a trace step needs a 'node': {str(rec)[:80]}")
        known = rec if _NAMES.issuperset(rec) else {k: v for k, v in rec.items() if k in _NAMES}
        if known.get("args") is None or known.get("summary") is None:
            known = {**known, "args": known.get("args") or {}, "summary": known.get("summary") or ""}
        return cls(**known)


_NAMES = frozenset(TraceEvent._fields)
_OPTIONAL = TraceEvent._fields[6:]  # after node, tool, args, summary, seconds, error


def events(records: list[dict[str, Any]] | list[TraceEvent]) -> list[TraceEvent]:
    """:meth:`TraceEvent.from_dict` of each record (events are passed through)."""
    return [TraceEvent.from_dict(r) for r in records]


def records(trace: list[TraceEvent]) -> list[dict[str, Any]]:
    """:meth:`TraceEvent.to_dict` of each event."""
    return [e.to_dict() for e in trace]
