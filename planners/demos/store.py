"""The in-context demo store: demos with images, on disk, for multimodal in-context learning.

A store is a folder::

    demos.jsonl        one DemoRecord per line (JSON)
    images/            the demos' images (PNG), named in the records

Each demo holds the instruction (the question), usually one or more images and
the response (the answer), and optionally the plan that answered it, the
rationale (the reasoning chain) and a summary of what the experts saw (the
images as text, for text-only models). A text-only demo (no images) shows a
controller how to plan a kind of question. Demos are made from successful runs
(:func:`demo_from_trace`, ``lavr demos add --from-trace trace.json``) and
checked with :meth:`DemoStore.check` (``lavr demos check``).

lavr ships two stores, named for :func:`open_store`:

* ``builtin`` (:func:`builtin_store`, the default): the controller's plan demos,
  text only, one or more per kind of question (count, exists, colour, spatial,
  read, locate, segment, list, open questions) on everyday and shape scenes.
* ``starter`` (:func:`packaged_store`): the starter bank, demos with images on
  synthetic scenes (answers checked against the scenes).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from lavr.core_model.errors import ImageError, InputError
from lavr.core_model.images import hash_matches, image_hash, load_image
from lavr.core_model.textfiles import read_text_file
from lavr.planners.errors import DemoError
from lavr.planners.plan import Plan, plan_problems
from lavr.tools.evidence import Evidence, by_step
from lavr.tools.registry import ToolRegistry
from lavr.tools.trace import events

logger = logging.getLogger(__name__)

RECORDS_FILE = "demos.jsonl"
IMAGES_DIR = "images"
#: Optional store settings (JSON): ``{"strategy": ...}``, how its demos are chosen by default.
SETTINGS_FILE = "store.json"
#: Longest image summary kept in a demo, in characters.
MAX_SUMMARY_CHARS = 600
_ID = r"^[A-Za-z0-9][A-Za-z0-9_\-]{0,63}$"


class DemoRecord(BaseModel):
    """One in-context demo (a line of ``demos.jsonl``).

    Attributes:
        id: Unique id within the store (letters, digits, ``_``, ``-``).
        images: Image files, relative to the store folder (``images/d1.png``);
            none for a text-only demo.
        image_hashes: Content hash of each image (``image_hash`` of the decoded
            ``HxWx3`` pixels), to catch a swapped or damaged file.
        instruction: The question or instruction.
        response: The answer a good run gave (may be empty for a plan demo).
        task: A label for the kind of task (``count``, ``read``...); used to
            measure retrieval and to filter.
        plan: The plan that answered it (``Plan.model_dump()``), if known.
        rationale: The reasoning chain, one step per item, if known.
        image_summary: What the experts found in the image(s), in words — how
            text-only models see a demo's images.
        source: Where the demo came from (a trace file, a generator).
    """

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=_ID)
    images: list[str] = Field(default_factory=list)
    image_hashes: list[str] = Field(default_factory=list)
    instruction: str = Field(min_length=1)
    response: str = ""
    task: str = ""
    plan: dict[str, Any] | None = None
    rationale: list[str] = Field(default_factory=list)
    image_summary: str = ""
    source: str = ""

    @model_validator(mode="after")
    def _shows_something(self) -> DemoRecord:
        if not self.response and self.plan is None:
            raise ValueError("a demo needs a response (its answer) or a plan")
        return self

    def parsed_plan(self) -> Plan | None:
        """:attr:`plan` as a :class:`Plan` (None when there is none).

        Raises:
            pydantic.ValidationError: The stored plan does not fit the schema.
        """
        return None if self.plan is None else Plan.model_validate(self.plan)


@dataclass(frozen=True)
class DemoProblem:
    """A problem found by :meth:`DemoStore.check`.

    Attributes:
        where: Demo id, or ``line N`` when the line has no usable id.
        problem: What is wrong.
    """

    where: str
    problem: str

    def __str__(self) -> str:
        return f"{self.where}: {self.problem}"


class DemoStore:
    """A folder of demos (see the module docstring).

    Reading is lazy and cached; :meth:`add` appends and refreshes the cache, and a change to
    the demo file made by another process (``lavr demos add`` while a server runs) is read
    on the next use (the file's size and modification time are checked each time).

    Args:
        root: The store folder (created by :meth:`add` when missing).
    """

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).expanduser()
        self._records: list[DemoRecord] | None = None
        self._images: dict[str, list[np.ndarray]] = {}
        self._stamp: tuple[int, int] | None = None
        self._generation = 0

    def __repr__(self) -> str:
        return f"DemoStore({str(self.root)!r})"

    @property
    def default_strategy(self) -> str:
        """How this store's demos are chosen when the options say ``auto``: the
        ``strategy`` of its ``store.json`` (the built-in store: ``overlap``), else
        ``similarity``.

        Raises:
            DemoError: ``store.json`` is not a JSON object with a known strategy.
        """
        path = self.root / SETTINGS_FILE
        if not path.is_file():
            return "similarity"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise DemoError(str(path), f"not valid JSON: {exc.msg}") from None
        strategy = data.get("strategy", "similarity") if isinstance(data, dict) else None
        if strategy not in ("random", "similarity", "mmr", "overlap"):
            raise DemoError(str(path), f"strategy must be random, similarity, mmr or overlap, "
                            f"got {strategy!r}")
        return str(strategy)

    @property
    def records_path(self) -> Path:
        """The JSONL file."""
        return self.root / RECORDS_FILE

    def _read_lines(self) -> list[tuple[int, dict[str, Any] | None, str]]:
        """``(line number, parsed dict or None, error)`` for each non-empty line."""
        if not self.records_path.is_file():
            raise DemoError(str(self.root), f"no {RECORDS_FILE} here (create a store with "
                            "'lavr demos add')")
        out = []
        try:
            text = read_text_file(self.records_path, what=f"{RECORDS_FILE} of demo records")
        except InputError as exc:
            raise DemoError(str(self.root), str(exc)) from exc
        for n, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
            except json.JSONDecodeError as exc:
                out.append((n, None, f"not valid JSON: {exc.msg} at column {exc.colno}"))
                continue
            if not isinstance(data, dict):
                out.append((n, None, f"expected a JSON object, got {type(data).__name__}"))
                continue
            out.append((n, data, ""))
        return out

    def records(self) -> list[DemoRecord]:
        """Every demo, in file order.

        Raises:
            DemoError: The file is missing or a line is not a valid demo
                (``check()`` lists every problem instead of stopping at the first).
        """
        stamp = self._file_stamp()
        if self._records is not None and stamp != self._stamp:
            self._records = None  # changed on disk since it was read
            self._images.clear()
        if self._records is None:
            recs: list[DemoRecord] = []
            for n, data, err in self._read_lines():
                if data is None:
                    raise DemoError(f"{self.records_path}:{n}", err)
                try:
                    recs.append(DemoRecord.model_validate(data))
                except ValidationError as exc:
                    raise DemoError(f"{self.records_path}:{n}", _validation_text(exc)) from exc
            self._records = recs
            self._stamp = stamp
            self._generation += 1
        return list(self._records)

    @property
    def generation(self) -> int:
        """A number that changes whenever the demos are (re)read: caches built from
        :meth:`records` (a selector's embeddings) are stale when it differs."""
        self.records()
        return self._generation

    def _file_stamp(self) -> tuple[int, int] | None:
        try:
            st = self.records_path.stat()
        except OSError:
            return None
        return st.st_mtime_ns, st.st_size

    def __len__(self) -> int:
        return len(self.records())

    def __iter__(self) -> Iterator[DemoRecord]:
        return iter(self.records())

    def get(self, demo_id: str) -> DemoRecord:
        """The demo with ``demo_id``.

        Raises:
            KeyError: No such demo.
        """
        for r in self.records():
            if r.id == demo_id:
                return r
        raise KeyError(demo_id)

    def images(self, demo: DemoRecord) -> list[np.ndarray]:
        """The demo's images as ``HxWx3 uint8 RGB`` arrays (cached).

        Raises:
            ImageError: A file is missing or not an image.
        """
        if demo.id not in self._images:
            self._images[demo.id] = [load_image(self.image_path(demo, rel)) for rel in demo.images]
        return self._images[demo.id]

    def image_path(self, demo: DemoRecord, rel: str) -> Path:
        """Where one of ``demo``'s images is: a file inside the store, never outside it.

        Raises:
            DemoError: ``rel`` is absolute, climbs out with ``..``, or leads out of
                the store through a link.
        """
        path = self.root / rel
        root = self.root.resolve()
        inside = not Path(rel).is_absolute() and ".." not in Path(rel).parts
        if inside:
            try:
                path.resolve().relative_to(root)
            except ValueError:
                inside = False
        if not inside:
            raise DemoError(demo.id, f"image path {rel!r} must be relative and inside the "
                            f"store {self.root}; the demo's image is not read")
        return path

    def check(self, registry: ToolRegistry | None = None) -> list[DemoProblem]:
        """Every problem in the store; an empty list means all demos are usable.

        Checks each line parses as a :class:`DemoRecord`, ids are unique, every
        image exists, decodes and matches its hash, the plan (if any) is valid
        for ``registry`` (default: all built-in tools) and the rationale cites
        only steps of that plan.
        """
        from lavr.planners.cot import cited_steps

        if registry is None:
            from lavr.tools.registry import default_registry

            registry = default_registry()
        try:
            lines = self._read_lines()
        except DemoError as exc:
            return [DemoProblem(str(self.root), exc.reason)]
        problems: list[DemoProblem] = []
        seen: set[str] = set()
        for n, data, err in lines:
            if data is None:
                problems.append(DemoProblem(f"line {n}", err))
                continue
            try:
                rec = DemoRecord.model_validate(data)
            except ValidationError as exc:
                where = str(data.get("id")) if data.get("id") else f"line {n}"
                problems.append(DemoProblem(where, _validation_text(exc)))
                continue
            if rec.id in seen:
                problems.append(DemoProblem(rec.id, f"id used twice (again on line {n})"))
            seen.add(rec.id)
            problems += [DemoProblem(rec.id, p) for p in self._image_problems(rec)]
            if rec.plan is not None:
                try:
                    plan = rec.parsed_plan()
                except ValidationError as exc:
                    problems.append(DemoProblem(rec.id, "plan: " + _validation_text(exc)))
                    continue
                if plan is None:
                    continue
                problems += [DemoProblem(rec.id, "plan: " + p)
                             for p in plan_problems(plan, registry)]
                ids = [s.id for s in plan.steps]
                for line in rec.rationale:
                    stray = [w for w in re.findall(r"\bs\d+\b", line) if w not in ids]
                    if stray and not cited_steps(line, ids):
                        problems.append(DemoProblem(
                            rec.id, f"rationale cites {', '.join(stray)}, not a step of its plan"))
        return problems

    def _image_problems(self, rec: DemoRecord) -> list[str]:
        out = []
        if rec.image_hashes and len(rec.image_hashes) != len(rec.images):
            out.append(f"{len(rec.images)} image(s) but {len(rec.image_hashes)} hash(es)")
        for i, rel in enumerate(rec.images):
            try:
                path = self.image_path(rec, rel)
            except DemoError:
                out.append(f"image path {rel!r} must be relative and inside the store")
                continue
            if not path.is_file():
                out.append(f"image {rel} is missing")
                continue
            try:
                arr = load_image(path)
            except ImageError as exc:
                out.append(f"image {rel}: {exc.reason}")
                continue
            if i < len(rec.image_hashes) and not hash_matches(arr, rec.image_hashes[i]):
                out.append(f"image {rel} does not match its hash (was the file replaced?)")
        return out

    def add(self, record: DemoRecord, images: Sequence[np.ndarray], *,
            overwrite: bool = False) -> DemoRecord:
        """Add a demo: write its images as PNG and append its record.

        ``record.images`` and ``record.image_hashes`` are filled in here
        (``images/<id>.png``, ``images/<id>-2.png``...).

        Args:
            record: The demo (its ``images`` field is replaced).
            images: ``HxWx3 uint8 RGB`` arrays, at least one.
            overwrite: Replace a demo with the same id instead of refusing.

        Raises:
            DemoError: No images, or the id is taken (and not ``overwrite``).
        """
        if not images:
            raise DemoError(record.id, "a demo needs at least one image")
        existing = self.records() if self.records_path.is_file() else []
        if any(r.id == record.id for r in existing) and not overwrite:
            raise DemoError(record.id, f"a demo with this id is already in {self.root} "
                            "(choose another --id, or overwrite)")
        (self.root / IMAGES_DIR).mkdir(parents=True, exist_ok=True)
        rels, hashes = [], []
        for i, img in enumerate(images):
            arr = load_image(img)
            rel = f"{IMAGES_DIR}/{record.id}{'' if i == 0 else f'-{i + 1}'}.png"
            Image.fromarray(arr).save(self.root / rel, optimize=True)
            rels.append(rel)
            hashes.append(image_hash(arr))
        rec = record.model_copy(update={"images": rels, "image_hashes": hashes})
        DemoRecord.model_validate(rec.model_dump())
        kept = [r for r in existing if r.id != rec.id]
        if len(kept) != len(existing):  # overwrite: rewrite the file
            self._write(kept + [rec])
        else:
            with self.records_path.open("a", encoding="utf-8") as fh:
                fh.write(rec.model_dump_json(exclude_defaults=True) + "\n")
        self._records = None
        self._images.pop(rec.id, None)
        logger.info("added demo %s to %s", rec.id, self.root)
        return rec

    def _write(self, records: Sequence[DemoRecord]) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        text = "".join(r.model_dump_json(exclude_defaults=True) + "\n" for r in records)
        self.records_path.write_text(text, encoding="utf-8")

    def next_id(self, prefix: str = "demo") -> str:
        """A free id ``<prefix>-<n>``."""
        taken = {r.id for r in self.records()} if self.records_path.is_file() else set()
        n = len(taken) + 1
        while f"{prefix}-{n}" in taken:
            n += 1
        return f"{prefix}-{n}"


def _validation_text(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'record'}: {e['msg']}"
                     for e in exc.errors())


def packaged_store_path() -> Path:
    """The folder of the starter demo bank shipped with lavr."""
    return Path(__file__).resolve().parent / "data" / "demos"


def packaged_store() -> DemoStore:
    """The starter demo bank shipped with lavr (synthetic scenes, answers checked)."""
    return DemoStore(packaged_store_path())


def builtin_store_path() -> Path:
    """The folder of the built-in plan demos (the default store)."""
    return Path(__file__).resolve().parent / "data" / "builtin"


def builtin_store() -> DemoStore:
    """The built-in plan demos: text-only questions with the plans that answer them."""
    return DemoStore(builtin_store_path())


#: Store names :func:`open_store` knows (a folder of that name needs a path: ``./starter``).
STORE_NAMES: dict[str, Callable[[], Path]] = {"builtin": builtin_store_path,
                                              "starter": packaged_store_path}
#: The store used when none is named.
DEFAULT_STORE = "builtin"


def store_path(store: str | Path | None) -> Path:
    """The folder of a store name (``builtin``, ``starter``; None: the default) or path."""
    if store is None:
        store = DEFAULT_STORE
    if isinstance(store, str) and store in STORE_NAMES:
        return STORE_NAMES[store]()
    return Path(store).expanduser()


def open_store(store: DemoStore | str | Path | None) -> DemoStore:
    """A store from a store, a name (``builtin``, ``starter``), a folder, or None (the
    default: the built-in plan demos)."""
    return store if isinstance(store, DemoStore) else DemoStore(store_path(store))


# -- demos from traces ------------------------------------------------------------------------

def _short(text: str, limit: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def image_summary(evidence: Sequence[Evidence], *,
                  limit: int = MAX_SUMMARY_CHARS) -> str:
    """What the experts found, in words: the summaries of the steps that ran."""
    parts = [e.summary for e in evidence if e.summary and e.ok]
    return _short("; ".join(parts), limit)


def trace_evidence(trace: dict[str, Any]) -> list[Evidence]:
    """The evidence of a trace (``lavr ask --json`` output).

    Raises:
        ValueError: A record is not an evidence record.
    """
    records = trace.get("evidence") or []
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise ValueError("'evidence' is not a list of records")
    try:
        return [Evidence.from_record(r) for r in records]
    except (ValidationError, TypeError, ValueError) as exc:
        raise ValueError(f"an evidence record is malformed: {exc}") from None


def trace_problems(trace: dict[str, Any]) -> list[str]:
    """Why a trace (``lavr ask --json`` output) is not a successful run; [] if it is."""
    problems = []
    for key in ("question", "answer", "plan", "evidence"):
        if key not in trace:
            problems.append(f"no {key!r} (expected the JSON of 'lavr ask --json')")
    if problems:
        return problems
    if not str(trace["answer"]).strip():
        problems.append("the answer is empty")
    plan = trace.get("plan") or {}
    if not plan.get("steps"):
        problems.append("the plan has no steps")
    if plan.get("intent") == "unknown":
        problems.append("the planner could not work out the question (intent unknown)")
    answer_step = plan.get("answer_step")
    try:
        by_id = by_step(trace_evidence(trace))
    except ValueError as exc:
        return problems + [str(exc)]
    if answer_step and (answer_step not in by_id or by_id[answer_step].failed):
        problems.append(f"the answer step {answer_step} failed or did not run")
    try:
        steps = events(trace.get("steps", []))
    except ValueError as exc:
        return problems + [str(exc)]
    for rec in steps:
        if rec.node == "plan" and rec.error:
            problems.append("the planner's plan was rejected (rule fallback)")
            break
    return problems


def demo_from_trace(trace: dict[str, Any], images: Sequence[np.ndarray], *, demo_id: str,
                    task: str | None = None, source: str = "",
                    force: bool = False) -> DemoRecord:
    """A demo from a successful run.

    Args:
        trace: ``AgentResult.to_dict()`` (the JSON ``lavr ask --json`` prints).
        images: The run's image(s), ``HxWx3 uint8 RGB``; the first must be the
            image the trace was made on (its hash is checked).
        demo_id: The new demo's id.
        task: Task label (default: the plan's intent).
        source: Where it came from (e.g. the trace file).
        force: Accept a run that does not look successful.

    Raises:
        DemoError: Not a successful run (unless ``force``) or the image does not match.
    """
    problems = trace_problems(trace)
    if problems and not force:
        raise DemoError(source or "trace", "not a successful run: " + "; ".join(problems)
                        + " (use --force to add it anyway)")
    if not images:
        raise DemoError(source or "trace", "the demo needs the run's image")
    want = (trace.get("image") or {}).get("hash")
    first = load_image(images[0])
    got = image_hash(first)
    if want and not hash_matches(first, want):
        raise DemoError(source or "trace", f"the image (hash {got}) is not the one the trace "
                        f"was made on (hash {want})")
    if not str(trace.get("answer") or "").strip():
        raise DemoError(source or "trace", "cannot make a demo: the run gave no answer (a demo "
                        "from a run needs its response)")
    plan = trace.get("plan") or None
    rationale = _rationale(trace)
    try:
        evidence = trace_evidence(trace)
    except ValueError as exc:
        raise DemoError(source or "trace", str(exc)) from None
    try:
        return DemoRecord(
            id=demo_id, images=["pending.png"], instruction=str(trace["question"]),
            response=str(trace["answer"]), task=task or str((plan or {}).get("intent") or ""),
            plan=plan, rationale=rationale,
            image_summary=image_summary(evidence), source=source)
    except ValidationError as exc:
        raise DemoError(source or "trace", "cannot make a demo: " + _validation_text(exc)) \
            from exc


def _rationale(trace: dict[str, Any]) -> list[str]:
    """The run's reasoning chain (its ``reasoning`` chain if present, else the plan's)."""
    reasoning = trace.get("reasoning") or {}
    if reasoning.get("kind") == "chain":
        return [f"{', '.join(s['step_ids'])}: {s['text']}" if s.get("step_ids") else s["text"]
                for s in reasoning.get("steps", [])]
    return [str(x) for x in (trace.get("plan") or {}).get("reasoning", [])]
