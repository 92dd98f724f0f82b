"""One evidence record per tool step: :class:`Evidence`.

The graph state, the decider, the refiner, chain-of-thought, verification, the
demo and :class:`~lavr.agents.result.AgentResult` all read this one type; nothing
reads evidence by string key. :meth:`Evidence.to_record` and
:meth:`Evidence.from_record` are the only places that know the flat JSON shape
(``step_id``, ``summary``, ``value`` ...) written to result files, session
databases and demo stores.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from enum import Enum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class ToolResult(BaseModel):
    """What one tool call returns.

    Attributes:
        summary: One or two sentences for the LLM and the trace.
        value: A small JSON-able value (count, bool, colour name, text, list).
        artifact_id: Id of a :class:`Detections` (or image) in the artifact store.
        boxes: Up to a few XYXY pixel boxes worth citing.
    """

    summary: str
    value: Any = None
    artifact_id: str | None = None
    boxes: list[list[float]] = Field(default_factory=list)


class Status(str, Enum):
    """How a step ended: ``ok`` (a result), ``error`` (it ran and failed), ``skipped``
    (it never ran: a failed dependency, the step budget or the run's deadline)."""

    OK = "ok"
    ERROR = "error"
    SKIPPED = "skipped"


def jsonable(value: Any) -> Any:
    """Plain JSON types only (numpy scalars and arrays, pydantic models converted).

    A fresh copy: containers are new, tuples become lists. A value that is plain
    JSON already (``dict`` with ``str`` keys, ``list``, ``tuple``, ``str``, ``int``,
    ``float``, ``bool``, None; subclasses not included) is copied directly, anything
    else goes through a JSON round trip; both give the same result.
    """
    try:
        return _plain_copy(value)
    except (_NotPlain, RecursionError):  # RecursionError: a cycle, which JSON reports
        return json.loads(json.dumps(value, default=_json_default))


class _NotPlain(Exception):
    """A value :func:`_plain_copy` leaves to the JSON round trip."""


def _plain_copy(value: Any) -> Any:
    kind = type(value)
    if value is None or kind is str or kind is int or kind is float or kind is bool:
        return value
    if kind is list or kind is tuple:
        return [_plain_copy(v) for v in value]
    if kind is dict:
        out = {}
        for k, v in value.items():
            if type(k) is not str:  # JSON would turn the key into text
                raise _NotPlain
            out[k] = _plain_copy(v)
        return out
    raise _NotPlain


def _json_default(obj: Any) -> Any:
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if hasattr(obj, "item"):
        return obj.item()
    if hasattr(obj, "model_dump"):
        return obj.model_dump(mode="json")
    return str(obj)


class Evidence(BaseModel):
    """What one plan step produced.

    Attributes:
        step_id: The plan step's id (``s1``).
        tool: The tool the step called.
        args: The step's arguments (JSON values).
        result: The tool's result (None when the step failed or was skipped).
        status: :class:`Status`.
        error: Why the step failed or was skipped (None when ``ok``).
        seconds: Wall time of the call.
        cached: Whether the result came from the result cache.
        scores: Confidences of the detections the step produced (first 50).
        user_message: Sentences for the person who asked, when the failure has them.
    """

    model_config = ConfigDict(frozen=True)

    step_id: str
    tool: str
    args: dict[str, Any] = Field(default_factory=dict)
    result: ToolResult | None = None
    status: Status = Status.OK
    error: str | None = None
    seconds: float = 0.0
    cached: bool = False
    scores: list[float] = Field(default_factory=list)
    user_message: str | None = None

    # -- construction ---------------------------------------------------------------------
    @classmethod
    def success(cls, step_id: str, tool: str, args: Mapping[str, Any], result: ToolResult, *,
                seconds: float = 0.0, cached: bool = False,
                scores: Iterable[float] = ()) -> Evidence:
        """A step that returned ``result`` (its value and boxes made JSON-able)."""
        clean = result.model_copy(update={"value": jsonable(result.value),
                                          "boxes": jsonable(result.boxes)})
        return cls(step_id=step_id, tool=tool, args=jsonable(dict(args)), result=clean,
                   seconds=round(float(seconds), 4), cached=cached, scores=list(scores))

    @classmethod
    def failure(cls, step_id: str, tool: str, args: Mapping[str, Any], error: str, *,
                skipped: bool = False, seconds: float = 0.0,
                user_message: str | None = None) -> Evidence:
        """A step that failed (``skipped``: never ran) with ``error``."""
        return cls(step_id=step_id, tool=tool, args=jsonable(dict(args)), error=error,
                   status=Status.SKIPPED if skipped else Status.ERROR,
                   seconds=round(float(seconds), 4), user_message=user_message)

    # -- reading --------------------------------------------------------------------------
    @property
    def ok(self) -> bool:
        """Whether the step gave a result."""
        return self.status is Status.OK

    @property
    def failed(self) -> bool:
        """Whether the step gave no result (an error or skipped)."""
        return self.status is not Status.OK

    @property
    def skipped(self) -> bool:
        """Whether the step never ran."""
        return self.status is Status.SKIPPED

    @property
    def summary(self) -> str:
        """The result's summary, or why there is none."""
        return self.result.summary if self.result is not None else (self.error or "")

    @property
    def value(self) -> Any:
        """The result's small JSON value (None without a result)."""
        return None if self.result is None else self.result.value

    @property
    def artifact_id(self) -> str | None:
        """Id of the step's detections (or image) in the artifact store."""
        return None if self.result is None else self.result.artifact_id

    @property
    def boxes(self) -> list[list[float]]:
        """XYXY pixel boxes worth citing."""
        return [] if self.result is None else self.result.boxes

    def arg(self, name: str, default: Any = None) -> Any:
        """One argument of the step."""
        return self.args.get(name, default)

    # -- the flat JSON shape --------------------------------------------------------------
    def to_record(self) -> dict[str, Any]:
        """The flat JSON record (result files, session databases, demo stores)."""
        rec = {"step_id": self.step_id, "tool": self.tool, "args": self.args,
               "summary": self.summary, "value": self.value, "artifact_id": self.artifact_id,
               "boxes": self.boxes, "error": self.error, "seconds": self.seconds,
               "cached": self.cached, "skipped": self.skipped, "status": self.status.value,
               "scores": self.scores}
        if self.user_message:
            rec["user_message"] = self.user_message
        return rec

    @classmethod
    def from_record(cls, rec: Mapping[str, Any] | Evidence) -> Evidence:
        """Read a flat record written by :meth:`to_record` (or an older one without
        ``status``); an :class:`Evidence` is returned as is."""
        if isinstance(rec, Evidence):
            return rec
        error = rec.get("error")
        status = rec.get("status") or ("skipped" if rec.get("skipped") else
                                       "error" if error else "ok")
        result = None
        if status == "ok":
            result = ToolResult(summary=str(rec.get("summary") or ""), value=rec.get("value"),
                                artifact_id=rec.get("artifact_id"),
                                boxes=list(rec.get("boxes") or []))
        return cls(step_id=str(rec.get("step_id", "")), tool=str(rec.get("tool", "")),
                   args=dict(rec.get("args") or {}), result=result, status=Status(status),
                   error=error, seconds=float(rec.get("seconds") or 0.0),
                   cached=bool(rec.get("cached")), scores=list(rec.get("scores") or []),
                   user_message=rec.get("user_message"))


def by_step(evidence: Iterable[Evidence]) -> dict[str, Evidence]:
    """Evidence by step id (a later record for a step replaces an earlier one)."""
    return {e.step_id: e for e in evidence}


#: Types the graph state holds that a checkpointer must be allowed to rebuild.
STATE_TYPES: tuple[type, ...] = (Evidence, ToolResult, Status)
