"""Reading the text and JSON files users name (batch inputs, POPE files, traces, example lists,
demo records): every way such a file can be wrong is one :class:`InputError` naming the file,
never a ``UnicodeDecodeError``, a ``RecursionError`` or a read of a device that never ends."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

from lavr.core_model.errors import InputError

#: Largest text file read whole (bytes): far above any question list lavr reads.
MAX_TEXT_BYTES = 256 * 1024 * 1024


def read_text_file(path: str | os.PathLike[str], *, what: str = "text file",
                   max_bytes: int = MAX_TEXT_BYTES) -> str:
    """The UTF-8 text of the regular file at ``path`` (a byte-order mark dropped).

    Args:
        path: The file.
        what: What the file should be, for messages ("JSON-lines file").
        max_bytes: Largest size accepted.

    Raises:
        InputError: Missing, a folder, not a regular file (a pipe or device), larger than
            ``max_bytes``, unreadable, not UTF-8 or holding NUL bytes.
    """
    p = Path(path).expanduser()
    try:
        info = p.stat()
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    if stat.S_ISDIR(info.st_mode):
        raise InputError(f"{path}: is a folder; give a {what}")
    if not stat.S_ISREG(info.st_mode):
        raise InputError(f"{path}: not a regular file (a pipe or device); give a {what}")
    if info.st_size > max_bytes:
        raise InputError(f"{path}: {info.st_size / 1e6:.0f} MB is larger than the "
                         f"{max_bytes / 1e6:.0f} MB a {what} may be")
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text (byte {exc.start}: {exc.reason}); give a "
                         f"{what}") from None
    if "\x00" in text:
        raise InputError(f"{path}: holds NUL bytes, so it is not a {what}")
    return text


def parse_json(text: str, *, source: str) -> Any:
    """``json.loads(text)``, its failures as one :class:`InputError` naming ``source``.

    Raises:
        InputError: Not JSON, or nested too deeply to read.
    """
    try:
        return json.loads(text)
    except RecursionError:
        raise InputError(f"{source}: JSON nested too deeply") from None
    except ValueError as exc:
        raise InputError(f"{source}: not valid JSON ({exc})") from None


def read_json_file(path: str | os.PathLike[str], *, what: str = "JSON file") -> Any:
    """The JSON value in the file at ``path`` (see :func:`read_text_file`)."""
    return parse_json(read_text_file(path, what=what), source=str(path))


def read_jsonl_file(path: str | os.PathLike[str], *,
                    what: str = "JSON-lines file") -> list[dict[str, Any]]:
    """The records (JSON objects) of a JSON-lines file; a file holding one JSON array of
    objects is accepted too. Blank lines are skipped.

    Raises:
        InputError: A bad file (:func:`read_text_file`), a line that is not JSON, or a
            record that is not a JSON object (each named with its line).
    """
    text = read_text_file(path, what=what)
    if text.lstrip().startswith("["):
        records = parse_json(text, source=str(path))
        numbered = list(enumerate(records if isinstance(records, list) else [records], 1))
        where = "item"
    else:
        numbered = [(i, parse_json(line, source=f"{path}:{i}"))
                    for i, line in enumerate(text.splitlines(), 1) if line.strip()]
        where = "line"
    for i, record in numbered:
        if not isinstance(record, dict):
            raise InputError(f"{path}: {where} {i} is a JSON {_kind(record)}, not an object "
                             "of named fields")
    return [record for _, record in numbered]


def _kind(value: Any) -> str:
    return {list: "array", str: "string", bool: "true/false", int: "number",
            float: "number"}.get(type(value), "null")


def check_writable_file(path: str | os.PathLike[str], *, flag: str) -> Path:
    """Check before a run that an output file can be written, so a bad path loses no work:
    not empty, not a folder, not a pipe or device, writable if it exists, and its nearest
    existing folder writable (missing folders are created later).

    Args:
        path: The output file.
        flag: The option that named it, for messages (``--out``).

    Raises:
        InputError: The first problem, named with the flag and the path.
    """
    text = os.fspath(path)
    if not text.strip():
        raise InputError(f"{flag}: empty path")
    p = Path(text).expanduser()
    if p.is_dir() or text.endswith(("/", os.sep)):
        raise InputError(f"{flag} {text}: is a folder; give a file name")
    if p.exists():
        if not p.is_file():
            raise InputError(f"{flag} {text}: not a regular file (a pipe or device)")
        if not os.access(p, os.W_OK):
            raise InputError(f"{flag} {text}: the file is not writable")
        return p
    folder = p.parent
    while not folder.exists() and folder.parent != folder:
        folder = folder.parent
    if not folder.is_dir():
        raise InputError(f"{flag} {text}: {folder} is not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise InputError(f"{flag} {text}: folder {folder} is not writable")
    return p
