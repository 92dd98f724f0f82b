"""Weight resolution shared by every expert and model backend.

Order: explicit path → ``$LAVR_MODEL_DIR`` → weights shipped in packages →
lavr's download cache (``~/.cache/lavr/weights``) → the library's own cache
folders → a download on first use (unless offline, see
:func:`~lavr.core_model.download.offline_reason`) → :class:`WeightsNotFoundError`
naming the file, the places searched and how to get it. The working directory is
never searched: a file planted there must not become a model.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from lavr.core_model.download import cache_dir, offline_reason
from lavr.core_model.errors import LavrError, WeightsNotFoundError

logger = logging.getLogger(__name__)

ENV_MODEL_DIR = "LAVR_MODEL_DIR"
#: Set to ``0`` to turn downloads off (``LAVR_OFFLINE=1`` and ``HF_HUB_OFFLINE=1`` do too).
ENV_ALLOW_DOWNLOAD = "LAVR_ALLOW_DOWNLOAD"


def model_dir() -> Path | None:
    """The folder named by ``$LAVR_MODEL_DIR``, if set."""
    value = os.environ.get(ENV_MODEL_DIR, "").strip()
    return Path(value).expanduser() if value else None


def downloads_allowed() -> bool:
    """Whether standard weights may be downloaded on first use (yes unless offline)."""
    return offline_reason() is None


@dataclass(frozen=True)
class WeightStatus:
    """Where a weights file would come from.

    Attributes:
        filename: The file looked for.
        path: The resolved path, or None when absent.
        source: ``explicit``, ``LAVR_MODEL_DIR``, ``package``, ``lavr-cache``, ``cache``
            or ``missing``.
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
    candidates.append(("lavr-cache", cache_dir() / filename))
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
            downloads are allowed; returns the downloaded path.
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
    reason = offline_reason()
    if explicit is None and download is not None and reason is None:
        logger.info("downloading weights %s", filename)
        try:
            path = Path(download())
        except WeightsNotFoundError as exc:
            raise WeightsNotFoundError(filename, list(status.searched), exc.hint) from exc
        except LavrError:
            raise
        except Exception as exc:  # noqa: BLE001 - any library failure becomes our error
            raise WeightsNotFoundError(filename, list(status.searched),
                                       f"download failed: {exc}. {hint}".strip()) from exc
        if path.exists():
            return path
    if explicit is None and download is not None and reason is not None:
        hint = f"{reason}. {hint}".strip()
    raise WeightsNotFoundError(filename, list(status.searched), hint)
