"""Structured output: find the JSON in a model's reply and validate it with pydantic.

Models wrap JSON in code fences, add a sentence before it, leave trailing
commas or keep talking after the closing brace. :func:`extract_json` tolerates
those; :func:`parse_structured` validates the result against a pydantic model
and raises :class:`~lavr.core_model.errors.ModelOutputError` whose
``problems`` are phrased so the model can fix its reply.

:meth:`~lavr.core_model.model.MultimodalModel.structured` asks, validates and re-asks
with the problems; it returns a :class:`Structured` — the value and every
:class:`Attempt` — which every model role (planner, decider, refiner) is built on.

Replies are untrusted: before anything is decoded, a reply longer than
:data:`MAX_REPLY_CHARS` or nested deeper than :data:`MAX_JSON_DEPTH` is refused
(Python's decoder recurses per level, so ``[[[[...`` 50,000 deep would otherwise
raise ``RecursionError``), and at most :data:`MAX_JSON_STARTS` start positions are
tried, so a long reply cannot make parsing quadratic.
"""

from __future__ import annotations

import copy
import functools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError

from lavr.core_model.errors import LavrError, ModelOutputError

T = TypeVar("T", bound=BaseModel)
V = TypeVar("V")

#: Longest model reply that is parsed, in characters.
MAX_REPLY_CHARS = 100_000
#: Deepest nesting of arrays and objects accepted in a reply.
MAX_JSON_DEPTH = 40
#: Positions of ``{`` or ``[`` tried as the start of the JSON, per candidate text.
MAX_JSON_STARTS = 16

_FENCE = re.compile(r"```(?:json|JSON)?\s*\n?(.*?)```", re.DOTALL)
_TRAILING_COMMA = re.compile(r",(\s*[}\]])")


def _candidates(text: str) -> list[str]:
    """Texts that may hold the JSON: fenced blocks first, then the whole reply."""
    found = [m.group(1) for m in _FENCE.finditer(text)]
    if "```" in text and not found:  # an unclosed fence: take what follows it
        found.append(text.split("```", 1)[1].removeprefix("json").removeprefix("JSON"))
    return found + [text]


def _structural(text: str) -> Iterator[str]:
    """The characters of ``text`` that lie outside JSON strings (escapes honoured)."""
    in_str = esc = False
    for ch in text:
        if in_str:
            if esc:
                esc = False
            elif ch == "\\":
                esc = True
            elif ch == '"':
                in_str = False
        elif ch == '"':
            in_str = True
        else:
            yield ch


def json_depth(text: str, limit: int = MAX_JSON_DEPTH) -> int:
    """Deepest nesting of ``[`` and ``{`` in ``text`` outside strings, counting stops past ``limit``.

    Unbalanced closers are ignored; the scan is linear and never recurses.
    """
    depth = deepest = 0
    for ch in _structural(text):
        if ch in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > limit:
                    return deepest
        elif ch in "]}" and depth:
            depth -= 1
    return deepest


def check_reply_shape(text: str, *, max_chars: int = MAX_REPLY_CHARS,
                      max_depth: int = MAX_JSON_DEPTH) -> None:
    """Refuse a reply too long or too deeply nested to decode safely.

    Raises:
        ModelOutputError: Longer than ``max_chars`` or nested deeper than ``max_depth``.
    """
    if len(text) > max_chars:
        raise ModelOutputError(text[:200], [f"the reply is {len(text)} characters long; at most "
                                            f"{max_chars} are read"])
    if json_depth(text, max_depth) > max_depth:
        raise ModelOutputError(text[:200], [f"the JSON is nested deeper than {max_depth} levels"])


def safe_raw_decode(text: str) -> tuple[Any, int]:
    """``json.JSONDecoder().raw_decode(text)`` behind the size and depth caps.

    Raises:
        ValueError: Invalid JSON, too long or too deep (``ModelOutputError`` is not used
            here so callers keep their own error types).
    """
    if len(text) > MAX_REPLY_CHARS:
        raise ValueError(f"the reply is {len(text)} characters long; at most "
                         f"{MAX_REPLY_CHARS} are read")
    if json_depth(text) > MAX_JSON_DEPTH:
        raise ValueError(f"the JSON is nested deeper than {MAX_JSON_DEPTH} levels")
    try:
        return json.JSONDecoder().raw_decode(text)
    except RecursionError as exc:  # pragma: no cover - the depth cap comes first
        raise ValueError("the JSON is nested too deeply") from exc


def _decode_first(text: str) -> Any:
    """The first JSON object or array in ``text`` (ignoring what comes before and after)."""
    decoder = json.JSONDecoder()
    last_error: json.JSONDecodeError | None = None
    tried = 0
    for i, ch in enumerate(text):
        if ch not in "{[":
            continue
        tried += 1
        if tried > MAX_JSON_STARTS:
            break
        for candidate in (text[i:], _TRAILING_COMMA.sub(r"\1", text[i:])):
            try:
                value, _ = decoder.raw_decode(candidate)
                return value
            except json.JSONDecodeError as exc:
                last_error = exc
    if last_error is None:
        raise ValueError("no JSON object found (expected a reply starting with '{')")
    raise ValueError(f"invalid JSON: {last_error.msg} at line {last_error.lineno} "
                     f"column {last_error.colno}")


def extract_json(text: str) -> Any:
    """The JSON value in a model reply.

    Args:
        text: The reply, possibly with code fences or prose around the JSON.

    Returns:
        The decoded object or array.

    Raises:
        ModelOutputError: No decodable JSON object or array in the reply, or a reply
            too long or too deeply nested (:func:`check_reply_shape`).
    """
    if not isinstance(text, str):
        raise ModelOutputError(repr(text)[:200], [f"the reply is {type(text).__name__}, "
                                                  "not text"])
    if not text or not text.strip():
        raise ModelOutputError(text or "", ["the reply is empty; expected one JSON object"])
    check_reply_shape(text)
    error = "no JSON object found"
    for candidate in _candidates(text):
        try:
            return _decode_first(candidate)
        except ValueError as exc:
            error = str(exc)
        except RecursionError:  # pragma: no cover - check_reply_shape caps the depth first
            error = "the JSON is nested too deeply"
    raise ModelOutputError(text, [error])


def complete_json_prefix(text: str) -> bool:
    """Whether ``text`` already holds one complete top-level JSON object.

    Used as a stopping rule while generating: braces are counted outside
    strings, so ``{"a": "}"}`` is recognised correctly.
    """
    depth, started = 0, False
    for ch in _structural(text):
        if ch == "{":
            depth += 1
            started = True
        elif ch == "}":
            depth -= 1
            if started and depth == 0:
                return True
    return False


def format_validation_error(exc: ValidationError) -> list[str]:
    """One line per pydantic error: ``steps.0.tool: Field required``."""
    out = []
    for e in exc.errors():
        loc = ".".join(str(p) for p in e["loc"]) or "(top level)"
        out.append(f"{loc}: {e['msg']}")
    return out


def parse_structured(text: str, output_type: type[T]) -> T:
    """Parse and validate a model reply as ``output_type``.

    Raises:
        ModelOutputError: No JSON, or JSON that does not validate; ``problems``
            lists each error.
    """
    data = extract_json(text)
    try:
        return output_type.model_validate(data)
    except ValidationError as exc:
        raise ModelOutputError(text, format_validation_error(exc)) from exc


def json_schema_of(output_type: type[BaseModel]) -> dict[str, Any]:
    """The JSON schema of ``output_type`` (what ``response_format`` sends).

    Generated once per class (pydantic's generation costs milliseconds, and every
    model-role call and tool catalog needs it); each caller gets its own copy.
    """
    return copy.deepcopy(_cached_schema(output_type))


@functools.lru_cache(maxsize=256)
def _cached_schema(output_type: type[BaseModel]) -> dict[str, Any]:
    return output_type.model_json_schema()


def schema_instructions(output_type: type[BaseModel]) -> str:
    """Prompt text asking for one JSON object that matches ``output_type``'s schema."""
    schema = json.dumps(json_schema_of(output_type), separators=(",", ":"))
    return ("Reply with exactly one JSON object and nothing else. It must match this JSON "
            f"schema: {schema}")


@dataclass(frozen=True)
class Attempt:
    """One model call of a structured request, as the trace shows it.

    Attributes:
        number: 1-based call number (0: not a model call, e.g. a fallback note).
        total: Calls allowed (``retries + 1``).
        summary: One line: ``<model> plan attempt 1/3: valid plan``.
        seconds: Wall time of the call.
        raw: The reply (first 1000 characters; empty when the model failed).
        error: Why the reply was unusable or the call failed (None: usable).
        fallback: The rules took over after this record.
    """

    number: int
    total: int
    summary: str
    seconds: float = 0.0
    raw: str = ""
    error: str | None = None
    fallback: bool = False

    def record(self) -> dict[str, Any]:
        """The trace fields of this attempt (``summary``, ``error``, ``seconds``...)."""
        rec: dict[str, Any] = {"summary": self.summary, "error": self.error,
                               "seconds": round(self.seconds, 4)}
        if self.number:
            rec |= {"raw": self.raw, "attempt": self.number}
        if self.fallback:
            rec["fallback"] = True
        return rec


@dataclass(frozen=True)
class Structured(Generic[V]):
    """What a structured request gave: the value (when a reply was usable) and every attempt.

    Attributes:
        value: The parsed value, or None when no reply was usable.
        attempts: One :class:`Attempt` per model call.
        ok: Whether ``value`` holds a usable reply.
        problems: Why the last reply was unusable (empty when ``ok``).
        raw: The last reply.
        failure: The error of the model itself (backend down, crash, deadline), if any;
            then no further call was made.
    """

    value: V | None
    attempts: tuple[Attempt, ...]
    ok: bool
    problems: tuple[str, ...] = ()
    raw: str = ""
    failure: LavrError | None = None

    def unwrap(self) -> V:
        """The value.

        Raises:
            LavrError: The model failed (:attr:`failure`).
            ModelOutputError: No usable reply (``problems`` of the last one).
        """
        if self.ok:
            return self.value  # type: ignore[return-value]
        if self.failure is not None:
            raise self.failure
        raise ModelOutputError(self.raw, list(self.problems))


def default_reask(problems: list[str]) -> str:
    """The re-ask turn after an unusable JSON reply."""
    return ("That reply could not be used: " + "; ".join(problems)
            + ". Reply again with one corrected JSON object only.")
