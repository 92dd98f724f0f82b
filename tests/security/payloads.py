"""Harmless pickle payloads for security tests: unpickling one creates a marker file."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import torch


class CallPayload:
    """Unpickles by calling ``func(*args)`` (what an attack would do)."""

    def __init__(self, func: Any, args: tuple[Any, ...]) -> None:
        self.func = func
        self.args = args

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return self.func, self.args


def evil_checkpoint(path: Path, marker: Path) -> Path:
    """A zip-format torch checkpoint that creates ``marker`` when fully unpickled."""
    torch.save({"model": CallPayload(open, (str(marker), "w")), "date": "2024"}, path)
    return path


def raw_pickle_checkpoint(path: Path, data: bytes) -> Path:
    """A zip checkpoint whose ``data.pkl`` is ``data`` (hand-written opcodes)."""
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("archive/data.pkl", data)
        archive.writestr("archive/version", "3\n")
    return path
