"""Fetching standard weights on first use: atomic, size-checked, with a progress bar.

lavr downloads a weights file only when an expert needs it, the file is nowhere
local, and the network is allowed (see :func:`offline_reason`). The file goes to
:func:`download_dir` (``$LAVR_MODEL_DIR`` when set, else lavr's cache folder)
through a temporary file that is checked (size, SHA-256 when known, and the
caller's ``verify``, e.g. the checkpoint safety check) before it is renamed into
place, so an interrupted or refused download never leaves a usable-looking file.

Offline (``LAVR_OFFLINE=1``, ``HF_HUB_OFFLINE=1`` or ``LAVR_ALLOW_DOWNLOAD=0``)
nothing is attempted. Without a network the connection attempt fails within
:data:`CONNECT_TIMEOUT` seconds, and the host is not tried again in this process.
``LAVR_WEIGHTS_URL`` replaces the base URL of every asset (a mirror, or a local
server in tests).
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from lavr.core_model.errors import WeightsNotFoundError

logger = logging.getLogger(__name__)

__all__ = ["ENV_OFFLINE", "ENV_WEIGHTS_URL", "WeightAsset", "asset_url", "cache_dir",
           "download_asset", "download_dir", "download_file", "offline_reason", "reachable"]

ENV_OFFLINE = "LAVR_OFFLINE"
ENV_ALLOW_DOWNLOAD = "LAVR_ALLOW_DOWNLOAD"
ENV_WEIGHTS_URL = "LAVR_WEIGHTS_URL"
ENV_CACHE_DIR = "LAVR_CACHE_DIR"
#: Seconds to wait for a connection (no network: fail fast).
CONNECT_TIMEOUT = 5.0
#: Seconds without a byte before a download is abandoned.
READ_TIMEOUT = 30.0
#: Largest file lavr downloads (the biggest standard weights are ~2.6 GB).
MAX_DOWNLOAD_BYTES = 3 * 1024**3
_CHUNK = 1 << 16

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")

#: Hosts that failed to connect in this process → why (not retried).
_unreachable: dict[str, str] = {}
_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


@dataclass(frozen=True)
class WeightAsset:
    """A standard weights file lavr knows how to fetch.

    Attributes:
        filename: File name, e.g. ``yolo11n.pt``.
        url: Where it is published (``LAVR_WEIGHTS_URL`` replaces everything
            before the file name).
        approx_mb: Its size in MB, for ``lavr models`` (approximate).
        size: Exact size in bytes when known (checked), else None.
        sha256: Hex digest when known (checked), else None.
    """

    filename: str
    url: str
    approx_mb: float
    size: int | None = None
    sha256: str | None = None


def _flag(name: str) -> str:
    return os.environ.get(name, "").strip().lower()


def offline_reason() -> str | None:
    """Why downloads are off (``LAVR_OFFLINE=1`` ...), or None when they may be tried."""
    if _flag(ENV_OFFLINE) in _TRUE:
        return f"offline mode is on ({ENV_OFFLINE}=1)"
    if _flag("HF_HUB_OFFLINE") in _TRUE:
        return "offline mode is on (HF_HUB_OFFLINE=1)"
    if _flag(ENV_ALLOW_DOWNLOAD) in _FALSE:
        return f"downloads are turned off ({ENV_ALLOW_DOWNLOAD}=0)"
    return None


def download_dir() -> Path:
    """Where downloads go: ``$LAVR_MODEL_DIR``, else ``$LAVR_CACHE_DIR``, else
    ``$XDG_CACHE_HOME/lavr/weights`` (``~/.cache/lavr/weights``)."""
    for name in ("LAVR_MODEL_DIR", ENV_CACHE_DIR):
        value = os.environ.get(name, "").strip()
        if value:
            return Path(value).expanduser()
    return cache_dir()


def cache_dir() -> Path:
    """lavr's own weights cache (``$LAVR_CACHE_DIR`` or ``~/.cache/lavr/weights``)."""
    value = os.environ.get(ENV_CACHE_DIR, "").strip()
    if value:
        return Path(value).expanduser()
    base = os.environ.get("XDG_CACHE_HOME", "").strip() or os.path.expanduser("~/.cache")
    return Path(base) / "lavr" / "weights"


def asset_url(asset: WeightAsset) -> str:
    """The URL to fetch ``asset`` from (``$LAVR_WEIGHTS_URL/<filename>`` when set)."""
    base = os.environ.get(ENV_WEIGHTS_URL, "").strip()
    if base:
        return base.rstrip("/") + "/" + urllib.parse.quote(asset.filename)
    return asset.url


def _fail(filename: str, url: str, reason: str, hint: str = "") -> WeightsNotFoundError:
    return WeightsNotFoundError(filename, [url], f"download failed: {reason}. {hint}".strip())


class _Progress:
    """A tqdm bar on stderr (log lines when tqdm is not installed)."""

    def __init__(self, filename: str, total: int | None) -> None:
        self.filename = filename
        self.total = total
        self.done = 0
        self._next_log = 0.1
        try:
            from tqdm import tqdm
        except ImportError:
            self._bar = None
        else:
            self._bar = tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024,
                             desc=f"lavr: downloading {filename}", file=sys.stderr,
                             disable=False, leave=True)

    def update(self, n: int) -> None:
        self.done += n
        if self._bar is not None:
            self._bar.update(n)
        elif self.total and self.done / self.total >= self._next_log:
            logger.info("downloading %s: %d%%", self.filename, 100 * self.done // self.total)
            self._next_log += 0.1

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def _dest_lock(path: Path) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault(str(path), threading.Lock())


def reachable(url: str) -> bool:
    """False when ``url``'s host already failed to connect in this process."""
    return urllib.parse.urlsplit(url).netloc not in _unreachable


def download_file(url: str, dest: Path, *, size: int | None = None, sha256: str | None = None,
                  verify: Callable[[Path], None] | None = None, hint: str = "",
                  connect_timeout: float = CONNECT_TIMEOUT,
                  read_timeout: float = READ_TIMEOUT) -> Path:
    """Download ``url`` to ``dest`` atomically (temporary file, checks, rename).

    Args:
        url: ``http`` or ``https`` URL.
        dest: Final path; its folder is created.
        size: Expected size in bytes, or None (then the server's Content-Length, if
            given, is checked).
        sha256: Expected hex digest, or None.
        verify: Called on the temporary file before it is renamed; raising refuses it.
        hint: Appended to errors: what the user can do instead.
        connect_timeout: Seconds to wait for the connection.
        read_timeout: Seconds to wait for each chunk.

    Returns:
        ``dest``.

    Raises:
        WeightsNotFoundError: No network, an HTTP error, a short or wrong file.
        LavrError: Whatever ``verify`` raises (the file is deleted first).
    """
    filename = dest.name
    scheme = urllib.parse.urlsplit(url).scheme.lower()
    if scheme not in ("http", "https"):
        raise _fail(filename, url, f"only http and https URLs are fetched, got {scheme or url!r}",
                    hint)
    host = urllib.parse.urlsplit(url).netloc
    if host in _unreachable:
        raise _fail(filename, url, f"{host} was unreachable earlier ({_unreachable[host]})", hint)
    with _dest_lock(dest):
        if dest.is_file():  # another thread fetched it meanwhile
            return dest
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f".{dest.name}.{os.getpid()}.{threading.get_ident()}.part")
        try:
            _fetch(url, tmp, filename, size=size, sha256=sha256, hint=hint,
                   connect_timeout=connect_timeout, read_timeout=read_timeout)
            if verify is not None:
                verify(tmp)
            os.replace(tmp, dest)
        finally:
            tmp.unlink(missing_ok=True)
    logger.info("downloaded %s to %s", url, dest)
    return dest


def _fetch(url: str, tmp: Path, filename: str, *, size: int | None, sha256: str | None,
           hint: str, connect_timeout: float, read_timeout: float) -> None:
    host = urllib.parse.urlsplit(url).netloc
    request = urllib.request.Request(url, headers={"User-Agent": "lavr"})
    t0 = time.monotonic()
    try:
        response = urllib.request.urlopen(request, timeout=connect_timeout)  # noqa: S310
    except urllib.error.HTTPError as exc:
        raise _fail(filename, url, f"HTTP {exc.code} {exc.reason}", hint) from exc
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        logger.info("cannot reach %s: %s", host, reason)
        _unreachable[host] = f"no network? {reason}"
        raise _fail(filename, url, f"cannot reach {host} (no network?)", hint) from exc
    with response:
        declared = response.headers.get("Content-Length")
        total = int(declared) if declared and declared.isdigit() else None
        expected = size if size is not None else total
        if expected is not None and expected > MAX_DOWNLOAD_BYTES:
            raise _fail(filename, url, f"{expected} bytes is more than the "
                                       f"{MAX_DOWNLOAD_BYTES} lavr downloads", hint)
        sock = getattr(getattr(getattr(response, "fp", None), "raw", None), "_sock", None)
        if isinstance(sock, socket.socket):
            sock.settimeout(read_timeout)
        digest = hashlib.sha256()
        got = 0
        progress = _Progress(filename, expected)
        try:
            with open(tmp, "wb") as fh:
                while True:
                    try:
                        chunk = response.read(_CHUNK)
                    except (TimeoutError, OSError) as exc:
                        raise _fail(filename, url, f"the transfer stalled ({exc})", hint) from exc
                    if not chunk:
                        break
                    got += len(chunk)
                    if got > MAX_DOWNLOAD_BYTES or (expected is not None and got > expected):
                        raise _fail(filename, url, f"the server sent more than the "
                                                   f"{expected or MAX_DOWNLOAD_BYTES} bytes "
                                                   f"expected", hint)
                    digest.update(chunk)
                    fh.write(chunk)
                    progress.update(len(chunk))
        finally:
            progress.close()
    if expected is not None and got != expected:
        raise _fail(filename, url, f"got {got} of {expected} bytes (interrupted)", hint)
    if sha256 is not None and digest.hexdigest() != sha256.lower():
        raise _fail(filename, url, f"SHA-256 {digest.hexdigest()} does not match the expected "
                                   f"{sha256}", hint)
    logger.debug("fetched %s: %d bytes in %.1fs", url, got, time.monotonic() - t0)


def download_asset(asset: WeightAsset, *, verify: Callable[[Path], None] | None = None,
                   hint: str = "") -> Path:
    """Fetch a standard weights file into :func:`download_dir`, unless offline.

    Raises:
        WeightsNotFoundError: Offline, no network, or the download was refused.
    """
    reason = offline_reason()
    url = asset_url(asset)
    if reason is not None:
        raise WeightsNotFoundError(asset.filename, [url], f"{reason}. {hint}".strip())
    dest = download_dir() / asset.filename
    if dest.is_file():
        return dest
    return download_file(url, dest, size=asset.size, sha256=asset.sha256, verify=verify, hint=hint)
