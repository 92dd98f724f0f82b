"""What the demo's web server accepts, checked before Gradio reads a request (issue 15).

Gradio's own upload endpoint (``POST /gradio_api/upload``) stores whatever a client
sends and answers with its path on the server; its ``file_types`` setting is only a
hint to the browser. :class:`UploadGuard` is an ASGI middleware on the demo's app
that reads each request body first (at most the upload limit) and refuses, with a
4xx and before Gradio writes anything:

* a body over the limit (``413``; a ``Content-Length`` over it is refused unread);
* a multipart part that is not an image (``415``): every file part must be a PNG,
  JPEG, GIF, WebP, BMP or TIFF by its content (signature, then Pillow's ``verify``),
  whatever its name or declared type; only small plain form fields may be text;
* a JSON call whose file object names a URL (``400``): Gradio would download it into
  its cache (any type, any size); the demo's files arrive by upload only.

Gradio's static-file worker processes (``GRADIO_NUM_WORKERS``) would take uploads
past this middleware, so :func:`lavr.apps.demo_app.launch` turns them off.
"""

from __future__ import annotations

import functools
import io
import json
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from PIL import Image

logger = logging.getLogger(__name__)

__all__ = ["IMAGE_FORMATS", "UploadGuard", "image_bytes_problem", "multipart_problem",
           "parse_size"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: Pillow formats an upload may have.
IMAGE_FORMATS = frozenset({"PNG", "JPEG", "GIF", "WEBP", "BMP", "TIFF"})
#: Leading bytes of those formats (checked before Pillow opens anything).
_SIGNATURES = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"BM",
               b"II*\x00", b"MM\x00*")
#: Largest plain (non-file) form field accepted in a multipart body, in bytes.
MAX_FIELD = 1024
#: Room for multipart boundaries and headers on top of the file-size limit, in bytes.
OVERHEAD = 64 * 1024
_UNITS = {"b": 1, "kb": 1000, "mb": 1000**2, "gb": 1000**3}


def parse_size(size: str | int) -> int:
    """``"10mb"`` → bytes (Gradio's units: b, kb, mb, gb, powers of 1000).

    Raises:
        ValueError: Not a size.
    """
    if isinstance(size, int) and not isinstance(size, bool):
        if size <= 0:
            raise ValueError(f"upload limit must be positive, got {size}")
        return size
    text = str(size).strip().lower()
    for unit in sorted(_UNITS, key=len, reverse=True):
        if text.endswith(unit):
            number = text[: -len(unit)].strip()
            if number.replace(".", "", 1).isdigit() and float(number) > 0:
                return int(float(number) * _UNITS[unit])
            break
    raise ValueError(f"upload limit {size!r} is not a size like 10mb, 500kb or 2000000")


def image_bytes_problem(data: bytes) -> str | None:
    """Why ``data`` is not an image the demo takes (None when it is)."""
    webp = data[:4] == b"RIFF" and data[8:12] == b"WEBP"
    if not (webp or data.startswith(_SIGNATURES)):
        return "not an image (PNG, JPEG, GIF, WebP, BMP or TIFF by content)"
    try:
        with Image.open(io.BytesIO(data)) as img:
            fmt = img.format
            img.verify()
    except Exception:  # noqa: BLE001 - anything Pillow cannot read is refused
        return "not a readable image"
    if fmt not in IMAGE_FORMATS:
        return f"a {fmt} file, not one of PNG, JPEG, GIF, WebP, BMP or TIFF"
    return None


def multipart_problem(body: bytes, boundary: bytes) -> str | None:
    """Why a ``multipart/form-data`` body is refused (None when every file part is an image).

    A part is a file when its ``Content-Disposition`` has a ``filename``; a part without
    one may be at most :data:`MAX_FIELD` bytes unless it is an image itself.
    """
    from python_multipart.multipart import MultipartParser, parse_options_header

    parts: list[tuple[dict[bytes, bytes], bytearray]] = []
    field, value = bytearray(), bytearray()

    def part_begin() -> None:
        parts.append(({}, bytearray()))

    def header_field(data: bytes, start: int, end: int) -> None:
        field.extend(data[start:end])

    def header_value(data: bytes, start: int, end: int) -> None:
        value.extend(data[start:end])

    def header_end() -> None:
        parts[-1][0][bytes(field).lower()] = bytes(value)
        field.clear()
        value.clear()

    def part_data(data: bytes, start: int, end: int) -> None:
        parts[-1][1].extend(data[start:end])

    callbacks: Any = {"on_part_begin": part_begin, "on_header_field": header_field,
                      "on_header_value": header_value, "on_header_end": header_end,
                      "on_part_data": part_data}
    try:
        parser = MultipartParser(boundary, callbacks)
        parser.write(body)
        parser.finalize()
    except Exception:  # noqa: BLE001 - a body the parser refuses is refused here too
        return "malformed multipart body"
    for headers, data in parts:
        _, options = parse_options_header(headers.get(b"content-disposition", b""))
        is_file = any(key.startswith(b"filename") for key in options)
        if not is_file and len(data) <= MAX_FIELD:
            continue
        problem = image_bytes_problem(bytes(data))
        if problem:
            name = options.get(b"filename") or options.get(b"name") or b"a part"
            return f"{name.decode('utf-8', 'replace')[:80]}: {problem}"
    return None


def _multipart_check(body: bytes, *, boundary: bytes) -> str | None:
    return multipart_problem(body, boundary)


def _url_files(value: Any, depth: int = 0) -> str | None:
    """The first file object in a JSON call whose path is a URL (Gradio would fetch it)."""
    if depth > 64:
        return "nested too deeply"
    if isinstance(value, dict):
        meta = value.get("meta")
        path = value.get("path")
        if isinstance(meta, dict) and meta.get("_type") == "gradio.FileData" \
                and isinstance(path, str) and path.strip().lower().startswith(
                    ("http:", "https:", "//", "data:", "ftp:", "file:")):
            return path[:120]
        items: Any = value.values()
    elif isinstance(value, list):
        items = value
    else:
        return None
    for item in items:
        found = _url_files(item, depth + 1)
        if found:
            return found
    return None


def json_problem(body: bytes) -> str | None:
    """Why a JSON request body is refused (None when it names no file by URL)."""
    try:
        data = json.loads(body) if body.strip() else None
    except (ValueError, RecursionError):
        return None  # not our business: Gradio answers a broken body itself
    found = _url_files(data)
    if found:
        return f"files are uploaded, never fetched from a URL by this demo ({found})"
    return None


class UploadGuard:
    """ASGI middleware: refuse non-images, oversized bodies and URL files (see module doc).

    Args:
        app: The ASGI app behind it (Gradio's).
        max_bytes: Largest file accepted, in bytes (a request may carry
            :data:`OVERHEAD` more for its multipart framing).
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = int(max_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("type") != "http" or scope.get("method") not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        from python_multipart.multipart import parse_options_header

        headers = dict(scope.get("headers") or [])
        ctype, options = parse_options_header(headers.get(b"content-type", b""))
        ctype = ctype.lower()
        if ctype == b"multipart/form-data":
            check = functools.partial(_multipart_check, boundary=options.get(b"boundary", b""))
            status = 415
        elif ctype == b"application/json" or ctype.endswith(b"+json"):
            check, status = functools.partial(json_problem), 400
        else:
            await self.app(scope, receive, send)
            return
        limit = self.max_bytes + OVERHEAD
        declared = headers.get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            await _refuse(send, 413, f"upload larger than the {self.max_bytes} bytes allowed")
            return
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body.extend(message.get("body", b""))
            if len(body) > limit:
                await _refuse(send, 413, f"upload larger than the {self.max_bytes} bytes "
                                         "allowed")
                return
            if not message.get("more_body"):
                break
        from starlette.concurrency import run_in_threadpool

        problem = await run_in_threadpool(check, bytes(body))
        if problem:
            logger.info("refused %s %s: %s", scope.get("method"), scope.get("path"), problem)
            await _refuse(send, status, f"refused: {problem}")
            return
        await self.app(scope, _replay(bytes(body), receive), send)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands over the already-read body, then the client's own messages."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def _refuse(send: Send, status: int, text: str) -> None:
    data = text.encode("utf-8", "replace")
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                            (b"content-length", str(len(data)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": data})
