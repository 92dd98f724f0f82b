"""Weight resolution shared by every expert and model backend.

Order: explicit path → ``$LAVR_MODEL_DIR`` → the library's own cache folders →
the library's download (only when allowed) → :class:`WeightsNotFoundError`
naming the file, the places searched and how to get it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from lavr.core_model.errors import WeightsNotFoundError

logger = logging.getLogger(__name__)

ENV_MODEL_DIR = "LAVR_MODEL_DIR"
#: Set to ``1`` to allow library downloads (off by default: lavr is offline-first).
ENV_ALLOW_DOWNLOAD = "LAVR_ALLOW_DOWNLOAD"


def model_dir() -> Path | None:
    """The folder named by ``$LAVR_MODEL_DIR``, if set."""
    value = os.environ.get(ENV_MODEL_DIR, "").strip()
    return Path(value).expanduser() if value else None


def downloads_allowed() -> bool:
    """Whether library downloads may be attempted (``LAVR_ALLOW_DOWNLOAD=1``)."""
    return os.environ.get(ENV_ALLOW_DOWNLOAD, "").strip().lower() in ("1", "true", "yes")


@dataclass(frozen=True)
class WeightStatus:
    """Where a weights file would come from.

    Attributes:
        filename: The file looked for.
        path: The resolved path, or None when absent.
        source: ``explicit``, ``LAVR_MODEL_DIR``, ``package``, ``cache`` or ``missing``.
        searched: Places searched, in order.
    """

    filename: str
    path: Path | None
    source: str
    searched: tuple[str, ...]

    @property
    def present(self) -> bool:
        return self.path is not None


def locate_weights(
    filename: str,
    *,
    explicit: str | os.PathLike | None = None,
    package_dirs: Sequence[Path] = (),
    cache_dirs: Sequence[Path] = (),
) -> WeightStatus:
    """Find a weights file without downloading anything.

    Args:
        filename: File name, e.g. ``yolo11n.pt``.
        explicit: A path given by the user; when set, only it is checked.
        package_dirs: Folders that ship with lavr or a weights package.
        cache_dirs: The owning library's cache folders.

    Returns:
        A :class:`WeightStatus`; ``path`` is None when nothing was found.
    """
    searched: list[str] = []
    if explicit is not None:
        p = Path(explicit).expanduser()
        searched.append(str(p))
        return WeightStatus(filename, p if p.exists() else None,
                            "explicit" if p.exists() else "missing", tuple(searched))
    candidates: list[tuple[str, Path]] = []
    md = model_dir()
    if md is not None:
        candidates.append((ENV_MODEL_DIR, md / filename))
    candidates += [("package", Path(d) / filename) for d in package_dirs]
    candidates += [("cache", Path(d) / filename) for d in cache_dirs]
    # Never the working directory: a file planted there must not become a model.
    for source, path in candidates:
        searched.append(str(path))
        if path.exists():
            return WeightStatus(filename, path, source, tuple(searched))
    return WeightStatus(filename, None, "missing", tuple(searched))


def resolve_weights(
    filename: str,
    *,
    explicit: str | os.PathLike | None = None,
    package_dirs: Sequence[Path] = (),
    cache_dirs: Sequence[Path] = (),
    download: Callable[[], Path] | None = None,
    hint: str = "",
) -> Path:
    """Resolve a weights file to a local path, downloading only when allowed.

    Args:
        filename: File name, e.g. ``yolo11n.pt``.
        explicit: A user path; if given and missing, that is an error.
        package_dirs: Folders that ship with lavr or a weights package.
        cache_dirs: The owning library's cache folders.
        download: Called to fetch the file when nothing local exists and
            ``LAVR_ALLOW_DOWNLOAD=1``; returns the downloaded path.
        hint: Appended to the error: how to get the file.

    Returns:
        Path to an existing file.

    Raises:
        WeightsNotFoundError: Nothing local and no (successful) download.
    """
    status = locate_weights(filename, explicit=explicit, package_dirs=package_dirs,
                            cache_dirs=cache_dirs)
    if status.path is not None:
        logger.debug("weights %s from %s: %s", filename, status.source, status.path)
        return status.path
    if explicit is None and download is not None and downloads_allowed():
        logger.info("downloading weights %s", filename)
        try:
            path = Path(download())
        except Exception as exc:  # noqa: BLE001 - any library failure becomes our error
            raise WeightsNotFoundError(filename, list(status.searched),
                                       f"download failed: {exc}. {hint}".strip()) from exc
        if path.exists():
            return path
    if explicit is None and download is not None and not downloads_allowed():
        hint = (hint + " " if hint else "") + (
            f"Set {ENV_ALLOW_DOWNLOAD}=1 to let lavr download it, or put it in ${ENV_MODEL_DIR}.")
    raise WeightsNotFoundError(filename, list(status.searched), hint)
