"""Image loading and normalisation.

Every image that enters lavr passes through :func:`load_image`, which returns an
``HxWx3 uint8 RGB`` numpy array or raises :class:`~lavr.core_model.errors.ImageError`
with a message that says what was expected and what came.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import warnings
from pathlib import Path
from typing import Union

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from lavr.core_model.errors import ImageError

logger = logging.getLogger(__name__)

#: Largest accepted image, in pixels (width * height). Larger files are refused
#: before decoding, so a "pixel bomb" costs nothing.
MAX_PIXELS = 40_000_000
#: Images whose longer side exceeds this are downscaled after loading.
MAX_SIDE = 4096
#: Largest accepted file size in bytes.
MAX_FILE_BYTES = 200 * 1024 * 1024

ImageLike = Union[str, os.PathLike, bytes, np.ndarray, Image.Image]


def _describe(source: ImageLike) -> str:
    if isinstance(source, (str, os.PathLike)):
        return str(source)
    if isinstance(source, bytes):
        return f"<{len(source)} bytes>"
    if isinstance(source, np.ndarray):
        return f"<array shape={source.shape} dtype={source.dtype}>"
    return f"<{type(source).__name__}>"


def _open_pil(source: ImageLike) -> Image.Image:
    name = _describe(source)
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.exists():
            raise ImageError(name, "no such file")
        if path.is_dir():
            raise ImageError(name, "is a directory, expected an image file")
        size = path.stat().st_size
        if size == 0:
            raise ImageError(name, "file is empty (0 bytes)")
        if size > MAX_FILE_BYTES:
            raise ImageError(name, f"file is {size} bytes, more than the {MAX_FILE_BYTES} accepted")
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ImageError(name, f"cannot read file: {exc.strerror or exc}") from exc
        return _open_bytes(data, name)
    if isinstance(source, bytes):
        if not source:
            raise ImageError(name, "no image data (0 bytes)")
        return _open_bytes(source, name)
    if isinstance(source, Image.Image):
        return source
    raise ImageError(name, "expected a path, bytes, a PIL image or an HxWx3 uint8 array")


def _open_bytes(data: bytes, name: str) -> Image.Image:
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            img = Image.open(io.BytesIO(data))
        except UnidentifiedImageError as exc:
            raise ImageError(name, "not a recognised image format") from exc
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise ImageError(name, f"image is too large (more than {MAX_PIXELS} pixels)") from exc
    w, h = img.size
    if w * h > MAX_PIXELS:
        raise ImageError(name, f"image is {w}x{h} = {w * h} pixels, more than the {MAX_PIXELS} accepted")
    if w == 0 or h == 0:
        raise ImageError(name, f"image has zero size ({w}x{h})")
    try:
        img.load()
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageError(name, f"image data is truncated or corrupt ({exc})") from exc
    return img


def _to_rgb(img: Image.Image, name: str) -> Image.Image:
    """Convert any PIL mode to RGB (alpha composited on white, 16-bit scaled)."""
    try:
        img = ImageOps.exif_transpose(img) or img
    except Exception as exc:  # noqa: BLE001 - broken EXIF must not lose the image
        logger.warning("%s: ignoring unreadable EXIF orientation (%s)", name, exc)
    mode = img.mode
    if mode == "RGB":
        return img
    if mode in ("I;16", "I;16B", "I;16L", "I"):
        arr = np.asarray(img, dtype=np.float64)
        hi = float(arr.max()) if arr.size else 0.0
        scale = 255.0 / hi if hi > 255 else 1.0
        arr8 = np.clip(arr * scale, 0, 255).astype(np.uint8)
        return Image.fromarray(arr8, mode="L").convert("RGB")
    if mode == "F":
        arr = np.asarray(img, dtype=np.float64)
        lo, hi = float(np.nanmin(arr)), float(np.nanmax(arr))
        arr8 = ((arr - lo) / (hi - lo) * 255.0 if hi > lo else np.zeros_like(arr)).astype(np.uint8)
        return Image.fromarray(arr8, mode="L").convert("RGB")
    if mode == "P" and "transparency" in img.info:
        img = img.convert("RGBA")
        mode = "RGBA"
    if mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return img.convert("RGB")


def _from_array(arr: np.ndarray, name: str) -> np.ndarray:
    if arr.ndim == 2:
        arr = np.stack([arr] * 3, axis=-1)
    if arr.ndim != 3 or arr.shape[2] not in (1, 3, 4):
        raise ImageError(name, "expected an HxW, HxWx3 or HxWx4 array")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ImageError(name, "array has zero size")
    if arr.shape[0] * arr.shape[1] > MAX_PIXELS:
        raise ImageError(name, f"array has more than {MAX_PIXELS} pixels")
    if arr.shape[2] == 1:
        arr = np.repeat(arr, 3, axis=2)
    if arr.shape[2] == 4:
        arr = arr[..., :3]
    if arr.dtype != np.uint8:
        if np.issubdtype(arr.dtype, np.floating) and float(np.nanmax(arr)) <= 1.0:
            arr = arr * 255.0
        arr = np.clip(np.nan_to_num(arr), 0, 255).astype(np.uint8)
    return np.ascontiguousarray(arr)


def _cap_size(img: Image.Image) -> Image.Image:
    w, h = img.size
    side = max(w, h)
    if side <= MAX_SIDE:
        return img
    scale = MAX_SIDE / side
    logger.info("downscaling %dx%d image to fit %d px", w, h, MAX_SIDE)
    return img.resize((max(1, round(w * scale)), max(1, round(h * scale))), Image.LANCZOS)


def load_image(source: ImageLike) -> np.ndarray:
    """Load and normalise an image.

    Args:
        source: A file path, encoded bytes, a PIL image, or an array
            (``HxW`` grey, ``HxWx3`` RGB or ``HxWx4`` RGBA).

    Returns:
        An ``HxWx3 uint8 RGB`` array, EXIF orientation applied, alpha
        composited on white, 16-bit and palette images converted, and the
        longer side capped at :data:`MAX_SIDE` pixels.

    Raises:
        ImageError: The source is missing, empty, not an image, truncated,
            too large, or of an unsupported kind.
    """
    name = _describe(source)
    if isinstance(source, np.ndarray):
        return _from_array(source, name)
    img = _open_pil(source)
    try:
        rgb = _to_rgb(img, name)
        rgb = _cap_size(rgb)
        arr = np.asarray(rgb, dtype=np.uint8)
    except (OSError, ValueError) as exc:
        raise ImageError(name, f"image could not be decoded ({exc})") from exc
    return np.ascontiguousarray(arr)


def image_hash(image: np.ndarray) -> str:
    """Content hash of an ``HxWx3 uint8`` array (shape included), 16 hex chars."""
    h = hashlib.blake2b(digest_size=8)
    h.update(str(image.shape).encode())
    h.update(np.ascontiguousarray(image).tobytes())
    return h.hexdigest()
