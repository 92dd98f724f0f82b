"""Tool specification, results, artifact store, result cache and expert pool.

A tool is a small class with a ``name``, a one-line ``description`` (prompt
text), a pydantic ``Args`` model and ``run(args, ctx) -> ToolResult``. Heavy
experts are loaded lazily through :class:`ExpertPool`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

import numpy as np
from pydantic import BaseModel, ConfigDict

from lavr.core_model.model import MultimodalModel
from lavr.tools.detections import Detections
from lavr.tools.errors import ToolError
from lavr.tools.evidence import Evidence, ToolResult

logger = logging.getLogger(__name__)


#: Longest string any tool argument may hold (labels, step ids, questions ...).
MAX_ARG_CHARS = 500
#: Longest step id a tool argument may name (plan step ids are 1-16 characters).
MAX_STEP_ID = 16


class ToolArgs(BaseModel):
    """Base of every tool's ``Args`` model.

    Unknown fields, strings over :data:`MAX_ARG_CHARS` characters and non-finite
    numbers (NaN, inf) are refused, so arguments written by a model stay small;
    each tool caps its own lists and factors so one step cannot outlive its deadline.
    """

    model_config = ConfigDict(extra="forbid", str_max_length=MAX_ARG_CHARS,
                              allow_inf_nan=False)


class ArtifactBacking(Protocol):
    """Durable storage behind an :class:`ArtifactStore` (e.g. the sessions database)."""

    def save_artifact(self, art_id: str, obj: Any) -> bool:
        """Store ``obj`` under ``art_id``; False when it cannot be stored."""

    def load_artifact(self, art_id: str) -> Any | None:
        """The stored object, or None."""


class ArtifactStore:
    """Process-local store for pixels, masks and detections, keyed by id.

    Graph state holds only ids, so checkpoints stay small. Ids are unique per
    object (or content-derived), so runs sharing a store never see each
    other's objects change.

    Args:
        backing: Durable storage: :meth:`keep` writes an artifact through to it
            and lookups that miss read it back (a run resumed in a new process
            finds the detections its finished steps produced).
    """

    def __init__(self, backing: ArtifactBacking | None = None) -> None:
        self._items: dict[str, Any] = {}
        self._lock = threading.Lock()
        self.backing = backing

    def put(self, obj: Any, *, key: str | None = None, prefix: str = "a") -> str:
        """Store ``obj``; returns its id (``key`` if given)."""
        art_id = key or f"{prefix}_{os.urandom(5).hex()}"  # 10 random hex digits
        with self._lock:
            self._items[art_id] = obj
        return art_id

    def keep(self, art_id: str) -> bool:
        """Write the artifact through to the backing store (False: no backing or not storable)."""
        if self.backing is None:
            return False
        with self._lock:
            obj = self._items.get(art_id)
        return obj is not None and self.backing.save_artifact(art_id, obj)

    def get(self, art_id: str) -> Any:
        """The stored object. Raises KeyError naming the id when absent."""
        with self._lock:
            if art_id in self._items:
                return self._items[art_id]
        obj = self._restore(art_id)
        if obj is None:
            raise KeyError(f"artifact {art_id!r} is not in the store")
        return obj

    def _restore(self, art_id: str) -> Any | None:
        if self.backing is None:
            return None
        obj = self.backing.load_artifact(art_id)
        if obj is not None:
            with self._lock:
                self._items.setdefault(art_id, obj)
        return obj

    def find_detections(self, art_id: str | None) -> Detections | None:
        """The :class:`Detections` stored under ``art_id``; None when there are none."""
        if not art_id or art_id not in self:
            return None
        obj = self.get(art_id)
        return obj if isinstance(obj, Detections) else None

    def discard(self, art_id: str) -> None:
        """Drop ``art_id`` if present."""
        with self._lock:
            self._items.pop(art_id, None)

    def __contains__(self, art_id: object) -> bool:
        with self._lock:
            if art_id in self._items:
                return True
        return isinstance(art_id, str) and self._restore(art_id) is not None

    def __len__(self) -> int:
        return len(self._items)


def args_key(tool: str, args: BaseModel | dict[str, Any]) -> str:
    """Stable key for ``(tool, args)``."""
    data = args.model_dump(mode="json") if isinstance(args, BaseModel) else args
    return tool + ":" + json.dumps(data, sort_keys=True, default=str)


class ResultCache:
    """LRU cache of tool results keyed by (image content hash, tool, args).

    Values are ``(ToolResult, artifacts)`` so cached detections survive even if a
    new artifact store is used.
    """

    def __init__(self, max_entries: int = 512) -> None:
        self.max_entries = max_entries
        self._data: OrderedDict[str, Any] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    @staticmethod
    def key(image_hash: str, tool: str, args: BaseModel | dict[str, Any]) -> str:
        return hashlib.sha1(f"{image_hash}|{args_key(tool, args)}".encode()).hexdigest()

    def get(self, key: str) -> Any | None:
        with self._lock:
            if key in self._data:
                self._data.move_to_end(key)
                self.hits += 1
                return self._data[key]
            self.misses += 1
            return None

    def put(self, key: str, value: Any) -> None:
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.max_entries:
                self._data.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()


def estimate_bytes(obj: Any) -> int:
    """Rough memory size of a loaded expert (torch parameters when found)."""
    for attr in ("model", "net", "detector", "recognizer", "predictor"):
        inner = getattr(obj, attr, None)
        if inner is not None and inner is not obj:
            n = estimate_bytes(inner)
            if n:
                return n
    params = getattr(obj, "parameters", None)
    if callable(params):
        try:
            return int(sum(p.numel() * p.element_size() for p in params()))
        except Exception:  # noqa: BLE001 - not a torch module after all
            return 0
    return 0


@dataclass
class _Loaded:
    value: Any
    nbytes: int


class ExpertPool:
    """Loads experts on first use and unloads least-recently-used ones.

    Args:
        memory_budget_mb: When the estimated total of loaded experts exceeds
            this, the least recently used ones are dropped (None: no limit).
    """

    def __init__(self, memory_budget_mb: float | None = None) -> None:
        self.memory_budget_mb = memory_budget_mb
        self._loaded: OrderedDict[str, _Loaded] = OrderedDict()
        self._lock = threading.RLock()
        self.load_count: dict[str, int] = {}

    def get(self, key: str, loader: Callable[[], Any]) -> Any:
        """Return the expert under ``key``, calling ``loader()`` the first time."""
        with self._lock:
            if key in self._loaded:
                self._loaded.move_to_end(key)
                return self._loaded[key].value
            logger.info("loading expert %s", key)
            value = loader()
            self._loaded[key] = _Loaded(value, estimate_bytes(value))
            self.load_count[key] = self.load_count.get(key, 0) + 1
            self._enforce_budget(keep=key)
            return value

    def peek(self, key: str) -> Any | None:
        """The expert under ``key`` if it is loaded (None: not loaded); never loads one and
        leaves the least-recently-used order as it is."""
        with self._lock:
            found = self._loaded.get(key)
            return None if found is None else found.value

    def _enforce_budget(self, keep: str) -> None:
        if self.memory_budget_mb is None:
            return
        budget = self.memory_budget_mb * 1024 * 1024
        while self.total_bytes() > budget and len(self._loaded) > 1:
            oldest = next(iter(self._loaded))
            if oldest == keep:
                break
            logger.info("unloading expert %s (memory budget %.0f MB)", oldest,
                        self.memory_budget_mb)
            del self._loaded[oldest]

    def total_bytes(self) -> int:
        with self._lock:
            return sum(x.nbytes for x in self._loaded.values())

    def loaded(self) -> list[str]:
        with self._lock:
            return list(self._loaded)


@dataclass
class ToolContext:
    """Everything a tool may use while running one step.

    Attributes:
        image: The ``HxWx3 uint8 RGB`` image.
        image_hash: Content hash of ``image``.
        artifacts: The artifact store.
        experts: The expert pool (lazy loading, LRU unloading).
        outputs: Results of earlier steps, by step id.
        settings: Free-form options (``detector``, ``device``, ``model`` ...).
        model: The multimodal model tools may ask (the ``vqa`` expert), or None.
        cache: The run's result cache, for experts that share raw model output
            across calls (the detector's predictions), or None.
    """

    image: np.ndarray
    image_hash: str
    artifacts: ArtifactStore
    experts: ExpertPool
    outputs: dict[str, ToolResult] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    model: MultimodalModel | None = None
    cache: ResultCache | None = None

    def detections(self, ref: str, *, tool: str) -> Detections:
        """The :class:`Detections` produced by step ``ref``.

        Raises:
            ToolError: ``ref`` is unknown or produced no detections.
        """
        out = self.outputs.get(ref)
        if out is None:
            raise ToolError(tool, f"step {ref!r} has no result (known: {sorted(self.outputs)})")
        if out.artifact_id is None:
            raise ToolError(tool, f"step {ref!r} produced no detections")
        dets = self.artifacts.get(out.artifact_id)
        if not isinstance(dets, Detections):
            raise ToolError(tool, f"step {ref!r} produced {type(dets).__name__}, not detections")
        return dets


@dataclass(frozen=True)
class NewStep:
    """A step a tool asks the decision maker to add (the decider gives it an id).

    Attributes:
        tool: The tool to call.
        args: Its arguments (JSON values).
        why: One line: why the step is worth running.
    """

    tool: str
    args: dict[str, Any]
    why: str


@dataclass(frozen=True)
class FollowUp:
    """More evidence a tool offers after reading its own results.

    Attributes:
        reason: One line for the trace: why more is needed.
        steps: The steps to add, in order.
    """

    reason: str
    steps: list[NewStep]


@dataclass(frozen=True)
class Reading:
    """The text a reading tool's steps found, once merged.

    Attributes:
        lines: Text lines in reading order.
        box: XYXY pixel box of the text when it is one line (else None).
        cited: Step ids the lines come from, in order.
    """

    lines: list[str]
    box: list[float] | None
    cited: list[str]


class Tool:
    """Base class of tools. Subclasses set ``name``, ``description``, ``Args``, ``run``.

    ``refs`` names the ``Args`` fields that hold step ids (dependencies).

    A tool also owns what the roles need to know about it, so the planners and
    refiners loop over tools instead of switching on their names: the
    sub-question a step answers (:meth:`sub_question`, for chain-of-thought
    trees), the question intents its evidence answers on its own (``answers``),
    the follow-up steps it offers the decision maker (:meth:`follow_up`), what a
    step found in words (:meth:`found`) and the text its steps read
    (:meth:`reading`). The defaults say nothing; adding a tool is its file plus
    its registration.
    """

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    Args: ClassVar[type[ToolArgs]] = ToolArgs
    refs: ClassVar[tuple[str, ...]] = ()
    #: Whether results may be cached by (image, tool, args). Tools that read
    #: other steps' results are cached only through their inputs, so False.
    cacheable: ClassVar[bool] = True
    #: Whether the graph runs a step of this tool in a worker thread that it stops
    #: waiting for when the run's deadline passes or the run is stopped. False for
    #: tools that only compute, in bounded time, on the image and earlier steps'
    #: results (no model, no I/O, nothing that can hang): they run in the graph's own
    #: thread, which saves the hand-off to a worker and back (two thread wake-ups).
    #: A watched tool may still say, call by call, that a call cannot block
    #: (:meth:`may_block`).
    watched: ClassVar[bool] = True
    #: Question intents (``read``, ``count`` ...) this tool's evidence answers on its own:
    #: the decision maker asks it for follow-ups on such questions and the refiner reads
    #: its evidence for them.
    answers: ClassVar[frozenset[str]] = frozenset()
    #: Whether the tool asks the multimodal model (it needs a model that sees images).
    asks_model: ClassVar[bool] = False

    def run(self, args: ToolArgs, ctx: ToolContext) -> ToolResult:  # pragma: no cover
        raise NotImplementedError

    def may_block(self, args: ToolArgs, ctx: ToolContext) -> bool:
        """Whether this call could wait on anything but its own computation in this
        process: a model or weights still to load, a served expert or model, I/O, other
        callers. False lets the graph run a step of a ``watched`` tool in its own thread
        when the tool's last step was short (no hand-off to a worker and back); a run's
        Stop or deadline then waits for that step's computation to end.

        The default is ``watched``: a tool that does not override this is always watched.
        """
        return self.watched

    def sub_question(self, args: Mapping[str, Any], *, target: str) -> str | None:
        """The sub-question a step of this tool answers, in words (None: no wording of its own).

        Args:
            args: The step's arguments as the plan holds them (not validated).
            target: What the question is about (the plan's ``target``, e.g. ``circle``
                or ``square/circle`` for a relation), "" when unknown.
        """
        return None

    def follow_up(self, evidence: Sequence[Evidence], *, budget_left: int) -> FollowUp | None:
        """More steps worth running after this tool's successful ``evidence`` (in run order),
        asked when the question's intent is one this tool ``answers``; None: enough.

        Args:
            evidence: This tool's successful steps so far.
            budget_left: Tool calls still allowed (at least 1).
        """
        return None

    def found(self, evidence: Evidence, artifacts: ArtifactStore) -> str | None:
        """What one successful step found, as a phrase for an answer that lists findings
        (``a red circle and a blue square``); None: nothing worth listing."""
        return None

    def reading(self, evidence: Sequence[Evidence]) -> Reading | None:
        """The text this tool's steps (not skipped, in run order) read; None when they read
        none (a tool that reads no text always returns None)."""
        return None

    def dependencies(self, args: ToolArgs) -> list[str]:
        """Step ids this call depends on (values of the ``refs`` fields)."""
        deps: list[str] = []
        for name in self.refs:
            value = getattr(args, name, None)
            if isinstance(value, str) and value:
                deps.append(value)
            elif isinstance(value, list):
                deps.extend(v for v in value if isinstance(v, str))
        return deps

    def schema(self) -> dict[str, Any]:
        """JSON schema of ``Args`` (for prompts)."""
        return self.Args.model_json_schema()

    def store_detections(self, dets: Detections, ctx: ToolContext) -> str:
        return ctx.artifacts.put(dets, prefix="det")


class DerivedTool(Tool):
    """A tool that computes, in bounded time, on the result of an earlier step (``source``).

    Not cached on its own (its input is) and run in the graph's own thread (no model,
    no I/O, nothing that can hang). Subclasses reading other steps override ``refs``.
    """

    refs: ClassVar[tuple[str, ...]] = ("source",)
    cacheable: ClassVar[bool] = False
    watched: ClassVar[bool] = False
