"""Run settings, validated up front: one pydantic model for every entry point.

The CLI (``lavr ask``, ``lavr correct``), the Python API (:class:`~lavr.agents.VisualAgent`)
and the batch/serve front ends build a :class:`RunSettings` before anything runs, so a
bad value fails in milliseconds with one line naming the setting, the value and what
would work — never after a whole run, and never as a library traceback:

- types and ranges (``max_steps`` 1..1000, deadlines > 0; ``"3"`` is not a number of steps),
- the device exists on this machine (``cuda`` without CUDA is an
  :class:`~lavr.core_model.errors.DeviceUnavailableError`),
- the detector is a registered name or a ``.pt`` checkpoint that passes the safety check,
- the sessions file can be created and, when it exists, is a SQLite database,
- output files (``save_annotated``, ``save_html``) are writable and have an extension
  lavr can write.

Every failure is a :class:`~lavr.core_model.errors.SettingsError` (an ``InputError``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from lavr.core_model.config import DEFAULT_MAX_STEPS
from lavr.core_model.errors import DeviceUnavailableError, InputError, SettingsError

#: Largest accepted tool-call budget per question.
MAX_STEPS_LIMIT = 1000
#: Default whole-run deadline, in seconds (a run past it stops asking models and
#: experts and answers from the evidence it has).
DEFAULT_DEADLINE = 600.0
#: Longest accepted deadline, in seconds (one day).
MAX_DEADLINE = 86_400.0
#: Image formats ``save_annotated`` can write, by extension.
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff", ".gif")
#: Extensions ``save_html`` writes.
HTML_EXTENSIONS = (".html", ".htm")


def check_device(device: str) -> str:
    """Check that ``device`` names a torch device this machine has.

    ``auto`` and ``cpu`` need nothing; ``cuda``/``cuda:N`` need CUDA (and device N),
    ``mps`` needs Apple's Metal backend. torch is imported only for those.

    Raises:
        SettingsError: Not a device name lavr knows.
        DeviceUnavailableError: A real device that this machine does not have.
    """
    value = device.strip().lower()
    if value in ("auto", "cpu"):
        return value
    kind, _, index = value.partition(":")
    if kind not in ("cuda", "mps") or (index and not index.isdigit()) or (kind == "mps" and index):
        raise SettingsError("device", device, "expected auto, cpu, cuda, cuda:N or mps")
    try:
        import torch
    except ImportError as exc:
        raise DeviceUnavailableError("device", device, "torch is not installed; use "
                                     "device=cpu or install torch") from exc
    if kind == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise DeviceUnavailableError("device", device, "this machine has no Apple MPS "
                                         "device; use auto or cpu")
        return value
    if not torch.cuda.is_available():
        raise DeviceUnavailableError("device", device, "this machine has no CUDA device "
                                     "(torch.cuda.is_available() is False); use auto or cpu")
    count = torch.cuda.device_count()
    if index and int(index) >= count:
        raise DeviceUnavailableError("device", device, f"there are {count} CUDA device(s): "
                                     f"use cuda:0..cuda:{count - 1}")
    return value


def check_detector(detector: str) -> str:
    """Check a detector setting: a registered name, or a ``.pt`` checkpoint lavr may load.

    Raises:
        SettingsError: Unknown name, missing file, or a file that is not a safe checkpoint.
    """
    from lavr.tools.detect import check_detector_setting

    if not detector.strip():
        raise SettingsError("detector", detector, "empty; expected auto, a detector name or "
                            "a .pt path")
    # InputError (unknown name, missing file) and UnsafeCheckpointError (a pickle that
    # could run code, or not a checkpoint) already name the value and what would work.
    return check_detector_setting(detector)


def _writable_dir(name: str, value: str, folder: Path) -> None:
    """The nearest existing ancestor of ``folder`` must be a writable directory."""
    probe = folder
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if not probe.is_dir():
        raise SettingsError(name, value, f"{probe} is not a folder")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise SettingsError(name, value, f"folder {probe} is not writable")


def check_output_path(name: str, value: str | os.PathLike[str], *,
                      extensions: tuple[str, ...]) -> Path:
    """Check that an output file can be written: known extension, not a folder, writable.

    Raises:
        SettingsError: Unknown extension, a folder, or an unwritable place.
    """
    text = os.fspath(value)
    if not text.strip():
        raise SettingsError(name, text, "empty path")
    path = Path(text).expanduser()
    if path.is_dir() or text.endswith(("/", os.sep)):
        raise SettingsError(name, text, f"is a folder; give a file name ending in "
                            f"{', '.join(extensions)}")
    if path.suffix.lower() not in extensions:
        raise SettingsError(name, text, f"unknown extension {path.suffix or '(none)'!r}; "
                            f"use one of {', '.join(extensions)}")
    if path.exists() and not os.access(path, os.W_OK):
        raise SettingsError(name, text, "the file exists and is not writable")
    _writable_dir(name, text, path.parent if str(path.parent) else Path("."))
    return path


def _is_sqlite(path: Path) -> bool:
    """Whether ``path`` is a SQLite database (an empty file counts), asked through SQLite.

    The file is never opened with a plain ``open()``: closing such a descriptor drops
    every POSIX lock this process holds on the file, including those of open SQLite
    connections (another process could then checkpoint or delete the WAL under them).
    """
    import sqlite3

    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=5)
    except sqlite3.Error:
        return False
    try:
        conn.execute("PRAGMA schema_version").fetchone()
    except sqlite3.DatabaseError as exc:
        return "not a database" not in str(exc) and "malformed" not in str(exc)
    finally:
        conn.close()
    return True


def check_sessions_path(value: str | os.PathLike[str]) -> str:
    """Check a sessions database: ``:memory:``, or a file that is (or can become) SQLite.

    Nothing is created or opened for writing here.

    Raises:
        SessionStoreError: A folder, a file that is not a SQLite database, or an unwritable
            place.
    """
    from lavr.agents.session import SessionStoreError

    text = os.fspath(value)
    if text == ":memory:":
        return text
    if not text.strip():
        raise SessionStoreError(repr(text), "empty path; give a file such as chats.sqlite")
    path = Path(text).expanduser()
    if path.is_dir() or text.endswith(("/", os.sep)):
        raise SessionStoreError(text, "is a folder; give a file path such as "
                                f"{Path(text) / 'chats.sqlite'}")
    if path.exists():
        if not path.is_file():
            raise SessionStoreError(text, "is not a regular file")
        if not os.access(path, os.R_OK | os.W_OK):
            raise SessionStoreError(text, "is not readable and writable")
        if not _is_sqlite(path):
            raise SessionStoreError(text, "not a usable SQLite database (lavr will not "
                                    "overwrite it); give a new file name such as chats.sqlite")
    try:
        _writable_dir("sessions", text, path.parent if str(path.parent) else Path("."))
    except SettingsError as exc:
        raise SessionStoreError(text, f"cannot be created: {exc.reason}") from exc
    return text


class RunSettings(BaseModel):
    """Everything a run is configured with, checked before it starts.

    Attributes:
        detector: ``auto``, a detector name or a ``.pt`` checkpoint path.
        max_steps: Tool-call budget per question (1..:data:`MAX_STEPS_LIMIT`).
        verify: Whether the verify node checks the answer.
        device: ``auto``, ``cpu``, ``cuda``, ``cuda:N`` or ``mps`` (must exist here).
        sessions: SQLite file of persistent conversations (None: none).
        thread: Conversation id within ``sessions``.
        save_annotated: Where to write the image with evidence drawn (None: nowhere).
        save_html: Where to write the HTML trace (None: nowhere).
        deadline: Whole-run deadline in seconds; past it the run stops calling
            models and experts and answers from the evidence it has.
        model_retries: Re-asks after an unusable model reply (0..10).
        memory_budget_mb: Unload experts beyond this estimate (None: no budget).
    """

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    detector: str = "auto"
    max_steps: int = Field(DEFAULT_MAX_STEPS, ge=1, le=MAX_STEPS_LIMIT)
    verify: bool = True
    device: str = "auto"
    sessions: str | None = None
    thread: str = Field("default", min_length=1, max_length=200)
    save_annotated: str | None = None
    save_html: str | None = None
    deadline: float = Field(DEFAULT_DEADLINE, gt=0, le=MAX_DEADLINE)
    model_retries: int = Field(2, ge=0, le=10)
    memory_budget_mb: float | None = Field(None, gt=0)

    @field_validator("deadline", "memory_budget_mb", mode="before")
    @classmethod
    def _number(cls, value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        return value

    @field_validator("sessions", "save_annotated", "save_html", mode="before")
    @classmethod
    def _path_text(cls, value: Any) -> Any:
        return os.fspath(value) if isinstance(value, os.PathLike) else value

    @field_validator("device")
    @classmethod
    def _device(cls, value: str) -> str:
        return check_device(value)

    @field_validator("detector")
    @classmethod
    def _detector(cls, value: str) -> str:
        return check_detector(value)

    @field_validator("sessions")
    @classmethod
    def _sessions(cls, value: str | None) -> str | None:
        return None if value is None else check_sessions_path(value)

    @field_validator("save_annotated")
    @classmethod
    def _annotated(cls, value: str | None) -> str | None:
        if value is not None:
            check_output_path("save_annotated", value, extensions=IMAGE_EXTENSIONS)
        return value

    @field_validator("save_html")
    @classmethod
    def _html(cls, value: str | None) -> str | None:
        if value is not None:
            check_output_path("save_html", value, extensions=HTML_EXTENSIONS)
        return value

    @classmethod
    def checked(cls, **values: Any) -> RunSettings:
        """Validate ``values`` (settings left out take their defaults).

        Raises:
            SettingsError: The first bad setting, in one line (``DeviceUnavailableError``
                for a device this machine lacks; ``UnsafeCheckpointError`` for a detector
                checkpoint refused by the safety check).
        """
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            raise settings_error(exc) from None


def settings_error(exc: ValidationError) -> InputError:
    """The first problem of a pydantic error as a one-line :class:`SettingsError` (or the
    lavr error a check raised, such as ``UnsafeCheckpointError``)."""
    err = exc.errors()[0]
    cause = (err.get("ctx") or {}).get("error")
    if isinstance(cause, InputError):
        return cause
    name = ".".join(str(p) for p in err["loc"]) or "settings"
    value = err.get("input")
    msg = str(err["msg"]).removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        msg = "unknown setting; known: " + ", ".join(RunSettings.model_fields)
    elif err["type"].endswith("_type"):
        msg = f"{msg} (got {type(value).__name__})"
    if name in _EXPECTED:
        msg += f"; expected {_EXPECTED[name]}"
    return SettingsError(name, value, msg)


_EXPECTED = {"max_steps": f"a whole number from 1 to {MAX_STEPS_LIMIT}",
             "deadline": f"seconds, a number above 0 and at most {MAX_DEADLINE:g}",
             "verify": "true or false", "model_retries": "a whole number from 0 to 10", "thread": "a name of 1 to 200 characters",
             "detector": "auto, a detector name or a .pt path", "device": "auto, cpu or cuda"}
