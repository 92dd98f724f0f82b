"""Answer many questions into an append-only, resumable results file (``lavr batch``'s
library: inputs, the results file, the local engine; the command is :mod:`lavr.apps.batch_cmd`).

Inputs (``INPUT``):

- a JSON-lines file of ``{"id", "image", "question"}`` records (a JSON array is
  accepted too); relative image paths are read from the file's folder, or from
  ``--image-dir``;
- a POPE question file (``question_id``, ``image``, ``text``, ``label``): ids are
  ``<setting>-<question_id>``, the label is copied to the result;
- a folder of images with one ``--question`` for all of them: ids are the file names.

Every answered item becomes one line of ``--out`` (``id``, ``question``, ``image``,
``answer``, ``steps``, ``evidence``, ``seconds``, ``error``), written in one
``write`` as soon as it is done. A rerun reads the ids already in the file and
skips them, so a killed run loses at most the items that were in flight.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, as_completed, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lavr.core_model.errors import InputError, LavrError

if TYPE_CHECKING:
    from lavr.agents.visual_agent import VisualAgent

logger = logging.getLogger(__name__)

#: Image files a folder input picks up.
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff", ".gif")


@dataclass(frozen=True)
class BatchItem:
    """One question of a batch.

    Attributes:
        id: Unique id (the resume key).
        image: Image file path.
        question: The question.
        extra: Fields copied to the result line (a POPE ``label``, ...).
    """

    id: str
    image: str
    question: str
    extra: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)


# -- reading inputs -----------------------------------------------------------------------------
def _folder_items(folder: Path, question: str | None) -> list[BatchItem]:
    if not question:
        raise InputError(f"{folder} is a folder: give the question to ask about every image "
                         "with --question")
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES
                   and p.is_file())
    if not files:
        raise InputError(f"{folder}: no images ({', '.join(IMAGE_SUFFIXES)})")
    return [BatchItem(str(p.relative_to(folder)), str(p), question) for p in files]


def _is_pope(records: list[dict[str, Any]]) -> bool:
    first = records[0]
    return "text" in first and "question" not in first and "label" in first


def _resolve(image: str, base: Path) -> str:
    p = Path(image).expanduser()
    return str(p if p.is_absolute() else base / p)


def _jsonl_items(path: Path, records: list[dict[str, Any]], base: Path) -> list[BatchItem]:
    items = []
    for i, rec in enumerate(records, 1):
        if not isinstance(rec, dict):
            raise InputError(f"{path}: record {i} is not an object")
        missing = [k for k in ("id", "image", "question") if rec.get(k) in (None, "")]
        if missing:
            raise InputError(f"{path}: record {i} lacks {', '.join(missing)} (each line is "
                             '{"id": ..., "image": ..., "question": ...})')
        extra = {k: v for k, v in rec.items() if k not in ("id", "image", "question")}
        items.append(BatchItem(str(rec["id"]), _resolve(str(rec["image"]), base),
                               str(rec["question"]), extra))
    return items


def _pope_items(path: Path, base: Path) -> list[BatchItem]:
    from lavr.apps.eval_pope import load_pope

    return [BatchItem(it.qid, _resolve(it.image, base), it.question, {"label": it.label})
            for it in load_pope([path])]


def load_items(source: str | Path, *, question: str | None = None,
               image_dir: str | Path | None = None) -> list[BatchItem]:
    """The questions of a batch input (JSON lines, POPE file or image folder).

    Args:
        source: The input file or folder.
        question: The question for a folder input.
        image_dir: Folder relative image paths are read from (default: the input file's).

    Raises:
        InputError: Missing input, bad records, duplicate ids, or a folder without
            a question.
    """
    from lavr.apps.eval_pope import read_jsonl

    path = Path(source).expanduser()
    if path.is_dir():
        items = _folder_items(path, question)
    elif not path.exists():
        raise InputError(f"{source}: no such file or folder")
    else:
        records = read_jsonl(path)
        if not records:
            raise InputError(f"{source}: no records")
        base = Path(image_dir).expanduser() if image_dir else path.parent
        items = _pope_items(path, base) if _is_pope(records) else \
            _jsonl_items(path, records, base)
    seen: set[str] = set()
    for it in items:
        if it.id in seen:
            raise InputError(f"{source}: id {it.id!r} appears more than once")
        seen.add(it.id)
    return items


# -- the results file ---------------------------------------------------------------------------
def done_ids(out: str | Path) -> set[str]:
    """Ids already in a results file; a torn last line (a killed write) is cut off.

    Raises:
        InputError: The file exists but a complete line is not a JSON object with an id.
    """
    path = Path(out)
    if not path.exists():
        return set()
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        keep = data.rfind(b"\n") + 1
        logger.warning("%s: dropping an unfinished last line (%d bytes)", path, len(data) - keep)
        with open(path, "r+b") as fh:
            fh.truncate(keep)
        data = data[:keep]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not a results file (not UTF-8 text at byte {exc.start}); "
                         "is --out the right file?") from None
    ids: set[str] = set()
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            ids.add(str(json.loads(line)["id"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise InputError(f"{path}:{n}: not a results line ({exc}); is --out the right "
                             "file?") from exc
    return ids


class ResultWriter:
    """Appends one JSON line per result with a single ``write`` (``O_APPEND``).

    A process killed between two writes leaves only whole lines behind.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def write(self, record: dict[str, Any]) -> None:
        """Append ``record`` as one line."""
        self.write_line(encode_record(record))

    def write_line(self, line: str) -> None:
        """Append one already encoded line (no newline inside)."""
        view = memoryview((line + "\n").encode())
        while view:
            n = os.write(self._fd, view)
            view = view[n:]

    def close(self) -> None:
        """Close the file."""
        os.close(self._fd)

    def __enter__(self) -> ResultWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def encode_record(record: dict[str, Any]) -> str:
    """A result as its results-file line (JSON, no newline)."""
    return json.dumps(record, default=_json_default, ensure_ascii=False)


def _json_default(obj: Any) -> Any:
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if hasattr(obj, "item"):
        return obj.item()
    return str(obj)


# -- answering ----------------------------------------------------------------------------------
def configure_batching(agent: VisualAgent, *, batch_size: int, batch_wait_ms: float, lanes: int = 0,
                       cores: int | None = None) -> tuple[int, int]:
    """Set ``agent``'s expert batching for many questions at once.

    Args:
        agent: The agent whose settings change (its forks share them).
        batch_size: Most images per detector call.
        batch_wait_ms: How long a detector call waits for others to batch with.
        lanes: Detector lanes (model copies predicting at once); 0: chosen from the
            device and the cores by :func:`lavr.tools.detect.lane_plan`.
        cores: Cores this agent may use (None: the process's); only for ``lanes=0``.

    Returns:
        ``(lanes, torch threads per lane)`` (threads 0: torch's own setting).

    Raises:
        InputError: A negative size, wait or lane count, or fewer than one core.
    """
    from lavr.tools.detect import lane_plan, resolve_device, usable_cores

    if batch_size < 0 or batch_wait_ms < 0 or lanes < 0 or (cores is not None and cores < 1):
        raise InputError(f"batching needs batch size, wait and lanes >= 0 and cores >= 1, got "
                         f"{batch_size}, {batch_wait_ms} ms, {lanes}, {cores}")
    device = resolve_device(str(agent.context.settings.get("device", "auto")))
    cores = cores or usable_cores()
    auto_lanes, threads = lane_plan(device, cores)
    if lanes:
        threads = max(1, cores // lanes) if device.startswith("cpu") else 0
    else:
        lanes = auto_lanes
    agent.context.settings.update(batch_size=batch_size, batch_wait_ms=batch_wait_ms,
                                  batch_lanes=lanes, batch_threads=threads)
    logger.info("batching: %d image(s) per detector call, %d lane(s) x %s torch thread(s)",
                batch_size, lanes, threads or "default")
    return lanes, threads


def result_record(item: BatchItem, result: Any = None, *, seconds: float,
                  error: str | None = None) -> dict[str, Any]:
    """The results-file line of one item (``result`` is an ``AgentResult`` or None)."""
    rec: dict[str, Any] = {"id": item.id, "question": item.question, "image": item.image,
                           "answer": None, "steps": [], "evidence": [],
                           "seconds": round(seconds, 4), "error": error}
    if result is not None:
        data = result.to_dict()
        rec.update(answer=result.answer, steps=data["steps"], evidence=data["evidence"])
    rec.update(item.extra)
    return rec


def answer_item(agent: VisualAgent, item: BatchItem, *, run_kwargs: dict[str, Any] | None = None
                ) -> dict[str, Any]:
    """Answer one item with a fork of ``agent``; bad input becomes the line's ``error``, and so
    does a fault inside lavr or a user's model (``internal error: ...``, its traceback
    logged): one broken item never stops the batch."""
    t0 = time.perf_counter()
    try:
        result = agent.fork().run(item.image, item.question, **(run_kwargs or {}))
    except LavrError as exc:
        return result_record(item, seconds=time.perf_counter() - t0, error=str(exc))
    except Exception as exc:  # noqa: BLE001 - recorded on the item's line; the batch goes on
        logger.exception("batch item %s failed inside lavr", item.id)
        return result_record(item, seconds=time.perf_counter() - t0,
                             error=f"internal error: {type(exc).__name__}: {exc}")
    return result_record(item, result, seconds=time.perf_counter() - t0)


def pending(items: Iterable[BatchItem], out: str | Path) -> list[BatchItem]:
    """Items whose id is not yet in the results file."""
    done = done_ids(out)
    return [it for it in items if it.id not in done]


def run_local(items: list[BatchItem], agent: VisualAgent, out: str | Path, *, workers: int = 4,
              run_kwargs: dict[str, Any] | None = None, progress: bool = True) -> dict[str, Any]:
    """Answer ``items`` with ``workers`` threads sharing ``agent``; append each to ``out``.

    At most ``2 * workers`` items are in flight at a time.

    Returns:
        ``{"answered", "errors", "seconds", "items_per_s"}``.
    """
    from tqdm import tqdm

    bar = tqdm(total=len(items), desc="lavr batch", unit="item", disable=not progress,
               file=sys.stderr, dynamic_ncols=True)
    answered = errors = 0
    t0 = time.perf_counter()
    running: set[Future[dict[str, Any]]] = set()
    with ResultWriter(out) as writer, ThreadPoolExecutor(max_workers=workers) as pool:
        def write(rec: dict[str, Any]) -> None:
            nonlocal answered, errors
            writer.write(rec)
            logger.info("wrote %s", rec["id"])
            answered += 1
            errors += rec["error"] is not None
            bar.update(1)

        try:
            for future in _bounded(pool, agent, items=iter(items), limit=2 * workers,
                                   run_kwargs=run_kwargs, running=running):
                rec = future.result()
                running.discard(future)  # interrupted from here on: re-answered, not twice
                write(rec)
        except KeyboardInterrupt:  # Ctrl-C: queued items are dropped, started ones kept
            bar.close()
            started = [f for f in running if not f.cancel()]
            for future in as_completed(started):
                write(future.result())
            raise KeyboardInterrupt(
                f"{answered} answers are in {out}; the other {len(items) - answered} items "
                "are answered by the same command again") from None
    bar.close()
    seconds = time.perf_counter() - t0
    return {"answered": answered, "errors": errors, "seconds": seconds,
            "items_per_s": answered / seconds if seconds > 0 else 0.0}


def _bounded(pool: ThreadPoolExecutor, agent: VisualAgent, *, items: Iterator[BatchItem], limit: int,
             run_kwargs: dict[str, Any] | None,
             running: set[Future[dict[str, Any]]]) -> Iterator[Future[dict[str, Any]]]:
    """Finished items' futures in completion order, never more than ``limit`` items
    submitted at once.

    ``running`` (the caller's) holds every submitted item not yet taken out of it: the
    caller takes a future out once it has its result, so after an interrupt it can still
    write every item that was started, none twice."""
    for item in items:
        while len(running) >= limit:
            yield from wait(running, return_when=FIRST_COMPLETED)[0] & running
        running.add(pool.submit(answer_item, agent, item, run_kwargs=run_kwargs))
    while running:
        yield from wait(running, return_when=FIRST_COMPLETED)[0] & running
