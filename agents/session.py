"""Persistent conversations: LangGraph checkpoints plus the image of each thread.

A :class:`SessionStore` is one SQLite file (or ``":memory:"``) holding

- the LangGraph checkpoints of every thread (a ``SqliteSaver``: questions,
  answers, plans, evidence summaries and the turn history), and
- the pictures: each normalised image once, as lossless PNG bytes keyed by its
  content hash, and which image each thread is currently about.

Graph state keeps only ids (pixels live in the process-local artifact store,
which does not survive the process). The image table is what lets a follow-up
question *without* an image continue a thread in a new process: the agent
re-attaches the thread's image from here.
"""

from __future__ import annotations

import io
import logging
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
from PIL import Image

from lavr.core_model.errors import InputError
from lavr.core_model.images import image_hash

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
"""


class SessionError(InputError):
    """A conversation cannot continue as asked (no such thread, no image attached).

    Attributes:
        thread_id: The thread concerned.
    """

    def __init__(self, thread_id: str, message: str) -> None:
        self.thread_id = thread_id
        super().__init__(message)


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


class SessionStore:
    """Checkpoints and thread images in one SQLite database.

    Args:
        path: Database file (created with its folder if missing) or ``":memory:"``.

    The connection is opened on first use, not in the constructor. Safe to
    share between threads (one lock per connection).
    """

    def __init__(self, path: str | Path = ":memory:") -> None:
        self.path = str(path)
        self._conn: sqlite3.Connection | None = None
        self._saver: Any = None
        self._lock = threading.Lock()

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            if self.path != ":memory:":
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, check_same_thread=False, timeout=30)
            if self.path != ":memory:":
                conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(_SCHEMA)
            conn.commit()
            self._conn = conn
        return self._conn

    @property
    def checkpointer(self) -> Any:
        """The LangGraph ``SqliteSaver`` on the same database (one per store)."""
        with self._lock:
            if self._saver is None:
                from langgraph.checkpoint.sqlite import SqliteSaver

                own = self._db()  # creates the folder and lavr's tables
                # In memory, the saver must share the connection to share the database.
                conn = (own if self.path == ":memory:" else
                        sqlite3.connect(self.path, check_same_thread=False, timeout=30))
                self._saver = SqliteSaver(conn)
            return self._saver

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
