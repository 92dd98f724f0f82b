"""Persistent conversations: LangGraph checkpoints plus the image of each thread.

A :class:`SessionStore` is one SQLite file (or ``":memory:"``) holding

- the LangGraph checkpoints of every thread (a ``SqliteSaver``: questions,
  answers, plans, evidence summaries and the turn history), and
- the pictures: each normalised image once, as lossless PNG bytes keyed by its
  content hash, and which image each thread is currently about.

Graph state keeps only ids (pixels live in the process-local artifact store,
which does not survive the process). The image table is what lets a follow-up
question *without* an image continue a thread in a new process: the agent
re-attaches the thread's image from here. The artifact table keeps the
detections (and images) that finished tool steps produced, and the step table
each finished step's evidence, written the moment the step ends (before
LangGraph checkpoints it): a run killed mid-way resumes in a new process without
re-running those steps, even one killed between a step's end and its checkpoint.

Durability and concurrency:

- the database runs in WAL mode with a busy timeout: a process killed at any
  point (``kill -9``) leaves it intact, and several processes may share it;
- one run at a time per thread: :meth:`SessionStore.lease` takes a per-thread
  lock (an ``flock`` on a small file beside the database, released by the
  kernel when its process dies), so two processes continuing one thread queue
  instead of interleaving checkpoints, or get a :class:`SessionBusyError`
  after the busy timeout.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import os
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image

from lavr.core_model.errors import InputError
from lavr.core_model.images import image_hash
from lavr.tools.detections import Detections
from lavr.tools.evidence import STATE_TYPES

if TYPE_CHECKING:
    from langgraph.checkpoint.sqlite import SqliteSaver

try:  # POSIX: per-thread run locks across processes
    import fcntl
except ImportError:  # pragma: no cover - Windows: runs are serialised within a process only
    fcntl = None  # type: ignore[assignment]

logger = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS lavr_images (
    hash TEXT PRIMARY KEY,
    png BLOB NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS lavr_threads (
    thread_id TEXT PRIMARY KEY,
    image_hash TEXT NOT NULL REFERENCES lavr_images(hash),
    turns INTEGER NOT NULL DEFAULT 0,
    created REAL NOT NULL,
    updated REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS lavr_artifacts (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    meta TEXT NOT NULL,
    npz BLOB NOT NULL,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS lavr_steps (
    run_id TEXT NOT NULL,
    key TEXT NOT NULL,
    record TEXT NOT NULL,
    created REAL NOT NULL,
    PRIMARY KEY (run_id, key)
);
"""

#: Seconds a run waits for another run on the same thread before :class:`SessionBusyError`.
DEFAULT_BUSY_TIMEOUT = 60.0

#: Seconds SQLite waits for a write lock held by another connection.
SQLITE_BUSY_TIMEOUT = 30.0


class SessionError(InputError):
    """A conversation cannot continue as asked (no such thread, no image attached).

    Attributes:
        thread_id: The thread concerned.
    """

    def __init__(self, thread_id: str, message: str) -> None:
        self.thread_id = thread_id
        super().__init__(message)


class SessionBusyError(SessionError):
    """Another run holds the thread and did not finish within the busy timeout.

    Attributes:
        thread_id: The thread concerned.
        waited: Seconds this run waited.
        holder: Who holds it (``pid … on host …, since …``), when known.
    """

    def __init__(self, thread_id: str, *, path: str, waited: float, holder: str) -> None:
        self.waited = waited
        self.holder = holder
        by = f" ({holder})" if holder else ""
        super().__init__(thread_id, f"conversation {thread_id!r} in {path} is busy: another run"
                         f"{by} is still on it after {waited:.0f} s; try again when it ends or "
                         "wait longer (busy_timeout / --busy-timeout)")


class SessionStoreError(InputError):
    """The sessions file cannot be used (not a SQLite database, a folder, not writable).

    Attributes:
        path: The sessions path.
        reason: What went wrong.
    """

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"sessions file {path}: {reason}")


@dataclass(frozen=True)
class ThreadInfo:
    """One stored conversation.

    Attributes:
        thread_id: Checkpointer thread id.
        image_hash: Content hash of the image the thread is about now.
        turns: Questions asked so far.
        created: Unix time of the first question.
        updated: Unix time of the latest question.
    """

    thread_id: str
    image_hash: str
    turns: int
    created: float
    updated: float


def encode_png(image: np.ndarray) -> bytes:
    """Lossless PNG bytes of an ``HxWx3 uint8 RGB`` array."""
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="PNG")
    return buf.getvalue()


def _str_array(values: Any) -> np.ndarray | None:
    """An object array of text as a fixed-width unicode array (None if not all text)."""
    items = list(values)
    if not all(isinstance(v, str) for v in items):
        return None
    return np.array(items, dtype=str) if items else np.zeros(0, dtype="<U1")


def encode_artifact(obj: Any) -> tuple[str, dict[str, Any], bytes] | None:
    """``(kind, meta, npz bytes)`` for a numeric array or :class:`Detections`, else None.

    Stored without pickle (``np.load(..., allow_pickle=False)`` reads it back):
    text columns become unicode arrays, other object columns JSON in ``meta``.
    """
    arrays: dict[str, np.ndarray] = {}
    meta: dict[str, Any] = {}
    if isinstance(obj, np.ndarray):
        if obj.dtype == object:
            return None
        kind, arrays["value"] = "array", obj
    elif isinstance(obj, Detections):
        kind = "detections"
        arrays.update(xyxy=obj.xyxy, confidence=obj.confidence)
        columns = {"label": obj.label, "text": obj.text, **{f"data.{k}": v
                                                           for k, v in obj.data.items()}}
        if obj.mask is not None:
            arrays["mask"] = obj.mask
        for name, col in columns.items():
            if col is None:
                continue
            if col.dtype != object:
                arrays[name] = col
            elif (text := _str_array(col)) is not None:
                arrays[name] = text
            else:
                try:
                    meta[name] = json.loads(json.dumps(col.tolist()))
                except (TypeError, ValueError):
                    return None
    else:
        return None
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    return kind, meta, buf.getvalue()


def _objects(values: Any) -> np.ndarray | None:
    return None if values is None else np.asarray(list(values), dtype=object)


def decode_artifact(kind: str, meta: dict[str, Any], blob: bytes) -> Any:
    """The object :func:`encode_artifact` stored (read without pickle)."""
    with np.load(io.BytesIO(blob), allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    if kind == "array":
        return arrays["value"]
    cols: dict[str, Any] = {**arrays, **meta}
    data = {name[5:]: value if isinstance(value, np.ndarray) and value.dtype.kind != "U"
            else _objects(value) for name, value in cols.items() if name.startswith("data.")}
    return Detections(cols["xyxy"], cols["confidence"], _objects(cols.get("label", [])),
                      mask=cols.get("mask"), text=_objects(cols.get("text")), data=data)


class SessionStore:
    """Checkpoints, thread images and step artifacts in one SQLite database.

    Args:
        path: Database file (created with its folder if missing) or ``":memory:"``.
        busy_timeout: Seconds a run waits for another run on the same thread
            (in this or another process) before :class:`SessionBusyError`; 0
            fails at once.

    The connection is opened on first use, not in the constructor. Safe to
    share between threads (one lock per connection).
    """

    def __init__(self, path: str | Path = ":memory:", *,
                 busy_timeout: float = DEFAULT_BUSY_TIMEOUT) -> None:
        if not isinstance(busy_timeout, int | float) or not busy_timeout >= 0:
            raise InputError(f"busy_timeout must be 0 or more seconds, got {busy_timeout!r}")
        self.path = str(path)
        self.busy_timeout = float(busy_timeout)
        self._conn: sqlite3.Connection | None = None
        self._saver: SqliteSaver | None = None
        self._lock = threading.Lock()
        self._thread_locks: dict[str, threading.Lock] = {}

    @property
    def in_memory(self) -> bool:
        return self.path == ":memory:"

    def _connect(self, *, sync: str = "FULL") -> sqlite3.Connection:
        """A connection in WAL mode (readers never block the writer, and a killed writer
        leaves the file intact).

        ``sync``: ``FULL`` (the checkpointer's: every commit fsynced) or ``NORMAL``
        (lavr's own tables): a commit is in the WAL, so it survives a killed process,
        at once; it reaches the disk, in order, with the next fsynced checkpoint commit
        (one WAL file). A step's journal row then costs ~0.1 ms instead of an fsync
        (5-20 ms under load), which is the window in which a killed run's finished step
        would run again.
        """
        conn = sqlite3.connect(self.path, check_same_thread=False, timeout=SQLITE_BUSY_TIMEOUT)
        if not self.in_memory:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(f"PRAGMA synchronous={sync}")
        return conn

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            try:
                if not self.in_memory:
                    if Path(self.path).is_dir():
                        raise SessionStoreError(self.path, "is a folder; give a file path "
                                                "such as chats.sqlite")
                    Path(self.path).parent.mkdir(parents=True, exist_ok=True)
                conn = self._connect(sync="NORMAL")
                conn.executescript(_SCHEMA)
                conn.commit()
            except sqlite3.DatabaseError as exc:
                raise SessionStoreError(self.path, f"not a usable SQLite database ({exc}); "
                                        "give a new file or an existing lavr sessions file") \
                    from exc
            except OSError as exc:
                raise SessionStoreError(self.path, f"cannot be created ({exc.strerror or exc})") \
                    from exc
            self._conn = conn
        return self._conn

    @property
    def checkpointer(self) -> SqliteSaver:
        """The LangGraph ``SqliteSaver`` on the same database (one per store)."""
        with self._lock:
            if self._saver is None:
                from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
                from langgraph.checkpoint.sqlite import SqliteSaver

                own = self._db()  # creates the folder and lavr's tables
                # In memory, the saver must share the connection to share the database.
                # Only the types the graph state holds may be rebuilt from a checkpoint.
                self._saver = SqliteSaver(own if self.in_memory else self._connect(),
                                          serde=JsonPlusSerializer(
                                              allowed_msgpack_modules=STATE_TYPES))
            return self._saver

    @contextlib.contextmanager
    def lease(self, thread_id: str, *, timeout: float | None = None) -> Iterator[None]:
        """Hold ``thread_id`` for one run: other runs on it (any process) wait or fail.

        Waits up to ``timeout`` seconds (default :attr:`busy_timeout`) for the
        run that holds the thread. A process that dies (even ``kill -9``) lets
        go at once: the lock is an ``flock`` that the kernel releases.

        Raises:
            SessionBusyError: The thread is still held after ``timeout``.
        """
        wait = min(self.busy_timeout if timeout is None else max(float(timeout), 0.0),
                   threading.TIMEOUT_MAX)
        if self.in_memory or fcntl is None:
            with self._lock:
                lock = self._thread_locks.setdefault(thread_id, threading.Lock())
            acquired = lock.acquire(timeout=wait) if wait > 0 else lock.acquire(blocking=False)
            if not acquired:
                raise SessionBusyError(thread_id, path=self.path, waited=wait, holder="")
            try:
                yield
            finally:
                lock.release()
            return
        fd = self._lock_file(thread_id)
        try:
            self._flock(fd, thread_id, wait)
            note = f"pid {os.getpid()} on {socket.gethostname()}, since {time.strftime('%H:%M:%S')}"
            os.ftruncate(fd, 0)
            os.pwrite(fd, note.encode(), 0)
            yield
        finally:
            os.close(fd)  # releases the lock

    def _lock_file(self, thread_id: str) -> int:
        folder = Path(self.path + ".locks")
        name = hashlib.sha1(thread_id.encode("utf-8", "surrogatepass")).hexdigest()[:24]
        try:
            folder.mkdir(exist_ok=True)
            return os.open(folder / f"{name}.lock", os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise SessionStoreError(self.path, f"cannot create run locks in {folder} "
                                    f"({exc.strerror or exc})") from exc

    def _flock(self, fd: int, thread_id: str, wait: float) -> None:
        """Lock ``fd`` within ``wait`` seconds, else :class:`SessionBusyError`.

        The wait is a blocking ``flock`` in a helper thread (on a duplicate of
        the descriptor), so the kernel hands the lock over as soon as the holder
        lets go: a process running turn after turn cannot starve a waiter the
        way polling would. After a timeout the helper still holds a reference;
        if it gets the lock later it closes its duplicate, the descriptor's
        last reference goes, and the lock is released at once.
        """
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            pass
        done, failed = threading.Event(), []
        dup = os.dup(fd)

        def block() -> None:
            try:
                fcntl.flock(dup, fcntl.LOCK_EX)
            except OSError as exc:
                failed.append(exc)
            finally:
                os.close(dup)
                done.set()

        if wait > 0:
            threading.Thread(target=block, name="lavr-session-lease", daemon=True).start()
            if done.wait(wait) and not failed:
                return
        else:
            os.close(dup)
        try:
            holder = os.pread(fd, 200, 0).decode(errors="replace").strip()
        except OSError:
            holder = ""
        raise SessionBusyError(thread_id, path=self.path, waited=wait, holder=holder)

    def save_artifact(self, art_id: str, obj: Any) -> bool:
        """Keep a step's detections or image so a resumed run finds them; False if not storable."""
        encoded = encode_artifact(obj)
        if encoded is None:
            logger.debug("artifact %s (%s) is not stored", art_id, type(obj).__name__)
            return False
        kind, meta, blob = encoded
        with self._lock:
            db = self._db()
            db.execute("INSERT OR REPLACE INTO lavr_artifacts VALUES (?, ?, ?, ?, ?)",
                       (art_id, kind, json.dumps(meta), blob, time.time()))
            db.commit()
        return True

    def load_artifact(self, art_id: str) -> Any | None:
        """A stored artifact (None when absent); ``img_<hash>`` is the stored image ``<hash>``."""
        with self._lock:
            row = self._db().execute("SELECT kind, meta, npz FROM lavr_artifacts WHERE id = ?",
                                     (art_id,)).fetchone()
        if row is not None:
            return decode_artifact(row[0], json.loads(row[1]), row[2])
        if art_id.startswith("img_"):  # images are kept once, by content, in lavr_images
            with contextlib.suppress(KeyError):
                return self.get_image(art_id[4:])
        return None

    def save_step(self, run_id: str, key: str, record: str,
                  artifacts: dict[str, Any] | None = None) -> None:
        """Record a finished tool step of run ``run_id`` (committed before this returns).

        ``key`` names the step (its id, tool, arguments and image); ``record`` is its
        evidence as JSON; ``artifacts`` the detections it produced, stored in the same
        transaction (one that cannot be stored is left out, as in :meth:`save_artifact`).
        A resumed run finds the step with :meth:`load_step` and does not call the tool
        again, even when the process died before the step's checkpoint was written.
        """
        rows = []
        for art_id, obj in (artifacts or {}).items():
            if (encoded := encode_artifact(obj)) is not None:
                rows.append((art_id, encoded[0], json.dumps(encoded[1]), encoded[2], time.time()))
        with self._lock:
            db = self._db()
            db.executemany("INSERT OR REPLACE INTO lavr_artifacts VALUES (?, ?, ?, ?, ?)", rows)
            db.execute("INSERT OR REPLACE INTO lavr_steps VALUES (?, ?, ?, ?)",
                       (run_id, key, record, time.time()))
            db.commit()

    def load_step(self, run_id: str, key: str) -> str | None:
        """The record :meth:`save_step` kept for this run and step (None when absent)."""
        with self._lock:
            row = self._db().execute("SELECT record FROM lavr_steps WHERE run_id = ? AND "
                                     "key = ?", (run_id, key)).fetchone()
        return None if row is None else str(row[0])

    def forget_steps(self, run_id: str) -> None:
        """Drop the step records of a run that ended (or that a new question replaced)."""
        with self._lock:
            db = self._db()
            db.execute("DELETE FROM lavr_steps WHERE run_id = ?", (run_id,))
            db.commit()

    def put_image(self, image: np.ndarray) -> str:
        """Store a normalised ``HxWx3 uint8 RGB`` image once; returns its content hash."""
        if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
            raise InputError(f"expected an HxWx3 uint8 image, got {image.dtype} {image.shape}")
        digest = image_hash(image)
        with self._lock:
            db = self._db()
            if db.execute("SELECT 1 FROM lavr_images WHERE hash = ?", (digest,)).fetchone():
                return digest
            db.execute("INSERT OR IGNORE INTO lavr_images VALUES (?, ?, ?, ?, ?)",
                       (digest, encode_png(image), int(image.shape[1]), int(image.shape[0]),
                        time.time()))
            db.commit()
        return digest

    def get_image(self, digest: str) -> np.ndarray:
        """The stored image with content hash ``digest`` (``HxWx3 uint8 RGB``).

        Raises:
            KeyError: No image with that hash is stored.
        """
        with self._lock:
            row = self._db().execute("SELECT png FROM lavr_images WHERE hash = ?",
                                     (digest,)).fetchone()
        if row is None:
            raise KeyError(f"image {digest!r} is not in session store {self.path}")
        with Image.open(io.BytesIO(row[0])) as img:
            return np.asarray(img.convert("RGB"))

    def attach(self, thread_id: str, digest: str) -> None:
        """Make the stored image ``digest`` the one ``thread_id`` is about; count a turn."""
        now = time.time()
        with self._lock:
            db = self._db()
            db.execute(
                "INSERT INTO lavr_threads VALUES (?, ?, 1, ?, ?) ON CONFLICT(thread_id) DO "
                "UPDATE SET image_hash = excluded.image_hash, turns = turns + 1, "
                "updated = excluded.updated", (thread_id, digest, now, now))
            db.commit()

    def thread(self, thread_id: str) -> ThreadInfo | None:
        """What is stored about ``thread_id`` (None for an unknown thread)."""
        with self._lock:
            row = self._db().execute(
                "SELECT thread_id, image_hash, turns, created, updated FROM lavr_threads "
                "WHERE thread_id = ?", (thread_id,)).fetchone()
        return ThreadInfo(*row) if row else None

    def threads(self) -> list[ThreadInfo]:
        """Every stored conversation, most recently updated first."""
        with self._lock:
            rows = self._db().execute(
                "SELECT thread_id, image_hash, turns, created, updated FROM lavr_threads "
                "ORDER BY updated DESC").fetchall()
        return [ThreadInfo(*r) for r in rows]

    def thread_image(self, thread_id: str) -> np.ndarray:
        """The image ``thread_id`` is about, re-attached from the database.

        Raises:
            SessionError: The thread is unknown or its image is missing.
        """
        info = self.thread(thread_id)
        if info is None:
            raise SessionError(thread_id, f"no conversation {thread_id!r} in {self.path}; "
                               "start it with an image")
        try:
            return self.get_image(info.image_hash)
        except KeyError as exc:
            raise SessionError(thread_id, f"conversation {thread_id!r}: {exc.args[0]}") from exc

    def close(self) -> None:
        """Close the database connections; graphs compiled on :attr:`checkpointer` stop working."""
        with self._lock:
            if self._saver is not None and self._saver.conn is not self._conn:
                self._saver.conn.close()
            if self._conn is not None:
                self._conn.close()
            self._conn = None
            self._saver = None

    def __enter__(self) -> SessionStore:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"SessionStore({self.path!r})"
