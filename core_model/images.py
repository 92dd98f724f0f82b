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
import struct
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from lavr.core_model.errors import ImageError
from lavr.core_model.fetch import fetch_url, is_url

logger = logging.getLogger(__name__)

#: Largest accepted image, in pixels (width * height). Larger files are refused
#: before decoding, so a "pixel bomb" costs nothing.
MAX_PIXELS = 40_000_000
#: Images whose longer side exceeds this are downscaled after loading.
MAX_SIDE = 4096
#: Largest accepted file size in bytes.
MAX_FILE_BYTES = 200 * 1024 * 1024

ImageLike = str | os.PathLike | bytes | np.ndarray | Image.Image

#: ``PIL.Image.open`` as this module first saw it (see :func:`_pil_open`).
_IMPORT_TIME_OPEN = Image.open


def _pil_open() -> Callable[..., Image.Image]:
    """Pillow's own ``Image.open``, even when another library has monkey-patched it.

    ultralytics replaces ``PIL.Image.open`` on import with a wrapper that, for a
    file Pillow cannot identify, runs its requirement check for a HEIF plugin
    (which may try to pip-install it) and then fails with ``ModuleNotFoundError``.
    lavr never installs packages at run time and wants Pillow's plain
    ``UnidentifiedImageError``, so it looks through such wrappers.
    """
    fn: Any = Image.open
    for _ in range(4):
        if getattr(fn, "__module__", None) == Image.__name__:
            return fn
        inner = getattr(fn, "__wrapped__", None) or getattr(fn, "__globals__", {}).get(
            "_image_open"
        )
        if not callable(inner):
            break
        fn = inner
    if getattr(_IMPORT_TIME_OPEN, "__module__", None) == Image.__name__:
        return _IMPORT_TIME_OPEN
    return Image.open


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
            if "://" in str(source):
                raise ImageError(name, "is a URL; lavr reads local image files and bytes only "
                                       "(download it first, or allow URLs: --allow-url)")
            raise ImageError(name, "no such file")
        if path.is_dir():
            raise ImageError(name, "is a directory, expected an image file")
        if not path.is_file():  # a pipe or device: its size says nothing (/dev/zero is endless)
            raise ImageError(name, "not a regular file (a pipe or device), expected an image "
                                   "file")
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
        return _check_and_load(source, name)
    raise ImageError(
        name, f"expected a path, bytes, a PIL image or a numpy array, got {type(source).__name__}"
    )


def _too_large(name: str, w: int, h: int, what: str = "image") -> ImageError:
    return ImageError(
        name, f"{what} is too large: {w}x{h} = {w * h} pixels, more than the {MAX_PIXELS} accepted"
    )


def _open_bytes(data: bytes, name: str) -> Image.Image:
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            img = _pil_open()(io.BytesIO(data))
        except (UnidentifiedImageError, ImportError) as exc:
            # ImportError: a patched Image.open that wanted a missing plugin.
            raise ImageError(name, "not a recognised image format") from exc
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise ImageError(name, f"image is too large (more than {MAX_PIXELS} pixels)") from exc
        except (OSError, SyntaxError, ValueError, EOFError, struct.error) as exc:
            # A header cut short (a JPEG truncated at 200 bytes) fails already in open().
            raise ImageError(name, f"image data is truncated or corrupt ({exc})") from exc
    return _check_and_load(img, name)


def _check_and_load(img: Image.Image, name: str) -> Image.Image:
    """Refuse images over :data:`MAX_PIXELS` before decoding, then decode."""
    w, h = img.size
    if w * h > MAX_PIXELS:
        raise _too_large(name, w, h)
    if w == 0 or h == 0:
        raise ImageError(name, f"image has zero size ({w}x{h})")
    try:
        img.load()
    except (OSError, SyntaxError, ValueError, EOFError, struct.error) as exc:
        raise ImageError(name, f"image data is truncated or corrupt ({exc})") from exc
    return img


def _to_rgb(img: Image.Image, name: str) -> Image.Image:
    """Convert any PIL mode to RGB (alpha composited on white, 16-bit scaled)."""
    try:
        img = ImageOps.exif_transpose(img) or img
    except Exception as exc:  # noqa: BLE001 - broken EXIF must not lose the image
        logger.warning("%s: ignoring unreadable EXIF orientation (%s)", name, exc)
    if img.mode in ("P", "L", "RGB") and "transparency" in img.info:
        # A transparent palette entry or a tRNS colour key: composite like alpha.
        img = img.convert("RGBA")
    mode = img.mode
    if mode == "RGB":
        return img
    if mode in ("I;16", "I;16B", "I;16L", "I"):
        return Image.fromarray(_scale_wide_int(np.asarray(img))).convert("RGB")
    if mode == "F":
        arr = np.asarray(img, dtype=np.float64)
        lo, hi = float(np.nanmin(arr)), float(np.nanmax(arr))
        arr8 = ((arr - lo) / (hi - lo) * 255.0 if hi > lo else np.zeros_like(arr)).astype(np.uint8)
        return Image.fromarray(arr8).convert("RGB")
    if mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return img.convert("RGB")


def _scale_wide_int(arr: np.ndarray) -> np.ndarray:
    """Scale 16/32-bit integer pixels to ``uint8``: the brightest pixel maps to 255.

    Arrays whose values already fit in 0..255 are kept as they are; negative
    values clip to 0.
    """
    wide = arr.astype(np.float64)
    hi = float(wide.max()) if wide.size else 0.0
    scale = 255.0 / hi if hi > 255 else 1.0
    return np.clip(np.rint(wide * scale), 0, 255).astype(np.uint8)


def _array_to_u8(arr: np.ndarray, name: str) -> np.ndarray:
    """Convert pixel values to ``uint8`` (shape unchanged).

    ``bool`` → 0/255; ``uint16`` → scaled like a 16-bit image file; other
    integers → clipped to 0..255; floats → ×255 when every value is within
    0..1, else clipped to 0..255 (NaN → 0).
    """
    kind = arr.dtype.kind
    if arr.dtype == np.uint8:
        return arr
    if kind == "b":
        return arr.astype(np.uint8) * np.uint8(255)
    if arr.dtype == np.uint16:
        return _scale_wide_int(arr)
    if kind in "iu":
        return np.clip(arr, 0, 255).astype(np.uint8)
    if kind == "f":
        values = np.nan_to_num(arr.astype(np.float64), nan=0.0, posinf=255.0, neginf=0.0)
        if values.size and float(values.max()) <= 1.0:
            values = values * 255.0
        return np.clip(np.rint(values), 0, 255).astype(np.uint8)
    raise ImageError(
        name, f"array dtype {arr.dtype} is not supported; expected uint8, bool, integer or float"
    )


def _is_normalised(arr: np.ndarray) -> bool:
    """Whether ``arr`` is already a C-contiguous ``HxWx3 uint8`` within the size caps."""
    if arr.ndim != 3 or arr.shape[2] != 3 or arr.dtype != np.uint8 or \
            not arr.flags.c_contiguous:
        return False
    h, w = arr.shape[:2]
    return 0 < h <= MAX_SIDE and 0 < w <= MAX_SIDE and h * w <= MAX_PIXELS


def _from_array(arr: np.ndarray, name: str) -> np.ndarray:
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[..., 0]
    if not (arr.ndim == 2 or (arr.ndim == 3 and arr.shape[2] in (3, 4))):
        raise ImageError(name, "expected an HxW, HxWx1, HxWx3 or HxWx4 array")
    h, w = arr.shape[:2]
    if h == 0 or w == 0:
        raise ImageError(name, f"array has zero size ({w}x{h})")
    # Size checks come before any conversion, so a huge array is never copied.
    if h * w > MAX_PIXELS:
        raise _too_large(name, w, h, what="array")
    arr8 = _array_to_u8(arr, name)
    if arr8.ndim == 2:
        arr8 = np.repeat(arr8[..., None], 3, axis=2)
    elif arr8.shape[2] == 4:
        # Same compositing (on white) as an RGBA file gets.
        arr8 = np.asarray(_to_rgb(Image.fromarray(np.ascontiguousarray(arr8)), name))
    if max(h, w) > MAX_SIDE:
        arr8 = np.asarray(_cap_size(Image.fromarray(np.ascontiguousarray(arr8))))
    return _c_order(arr8)


def _c_order(arr: np.ndarray) -> np.ndarray:
    """``arr`` C-contiguous: itself when it already is, else a copy.

    A planar ``HxWxC`` array (each channel a block of its own in memory: a
    channels-first array transposed, or what ``astype`` keeps of one) is
    interleaved by OpenCV's ``merge`` when OpenCV is installed (the ``detect``,
    ``segment`` and ``gui`` extras bring it): 0.006 ms for 320x320x3, against
    0.08 ms copying channel by channel with numpy and 0.28 ms for numpy's
    element-wise copy of the whole array, which jumps between the blocks.
    The bytes are the same either way.
    """
    if arr.flags.c_contiguous:
        return arr
    if arr.ndim == 3 and abs(arr.strides[2]) > max(abs(arr.strides[0]), abs(arr.strides[1])):
        planes = [arr[..., c] for c in range(arr.shape[2])]
        cv2 = _opencv()
        if cv2 is not None and arr.dtype == np.uint8 and 1 < len(planes) <= 4 \
                and all(p.flags.c_contiguous for p in planes):
            out = cv2.merge(planes)
            if out.shape == arr.shape and out.flags.c_contiguous:
                return out
        out = np.empty(arr.shape, dtype=arr.dtype)
        for c, plane in enumerate(planes):
            out[..., c] = plane
        return out
    return np.ascontiguousarray(arr)


_CV2: list[Any] = []


def _opencv() -> Any | None:
    """The ``cv2`` module, or None when OpenCV is not installed (looked up once)."""
    if not _CV2:
        try:
            import cv2
        except ImportError:
            cv2 = None
        _CV2.append(cv2)
    return _CV2[0]


def _cap_size(img: Image.Image) -> Image.Image:
    w, h = img.size
    side = max(w, h)
    if side <= MAX_SIDE:
        return img
    scale = MAX_SIDE / side
    logger.info("downscaling %dx%d image to fit %d px", w, h, MAX_SIDE)
    return img.resize((max(1, round(w * scale)), max(1, round(h * scale))), Image.LANCZOS)


def load_image(source: ImageLike, *, allow_url: bool = False,
               allow_private_urls: bool = False) -> np.ndarray:
    """Load and normalise an image.

    Args:
        source: A file path, encoded bytes, a PIL image, or an array
            (``HxW`` or ``HxWx1`` grey, ``HxWx3`` RGB or ``HxWx4`` RGBA; uint8,
            bool, integer, or float in 0..1 or 0..255).

    Returns:
        An ``HxWx3 uint8 RGB`` array, EXIF orientation applied, alpha
        composited on white, 16-bit and palette images converted, and the
        longer side capped at :data:`MAX_SIDE` pixels.

    URLs (``http://``, ``https://``) are fetched only with ``allow_url`` (public
    addresses only, size and time capped: :func:`~lavr.core_model.fetch.fetch_url`);
    otherwise a URL is refused, never read.

    Raises:
        ImageError: The source is missing, empty, not an image, truncated,
            too large, or of an unsupported kind.
    """
    if isinstance(source, np.ndarray):
        if _is_normalised(source):  # already what the loader returns: no copy, no checks
            return source
        return _from_array(source, _describe(source))
    name = _describe(source)
    if allow_url and is_url(source):
        source = fetch_url(str(source), allow_private=allow_private_urls)
    img = _open_pil(source)
    try:
        rgb = _to_rgb(img, name)
        rgb = _cap_size(rgb)
        arr = np.asarray(rgb, dtype=np.uint8)
    except (OSError, ValueError) as exc:
        raise ImageError(name, f"image could not be decoded ({exc})") from exc
    return np.ascontiguousarray(arr)


def image_hash(image: np.ndarray) -> str:
    """Content hash of an ``HxWx3 uint8`` array (shape and dtype included): the full SHA-256,
    64 hex chars, so no one can make two images share a cache entry.

    SHA-256 (hardware-accelerated on current x86 and ARM CPUs, about 3x faster
    than BLAKE2b there), read straight from the array's buffer without a copy.
    """
    h = hashlib.sha256(f"{image.shape}|{image.dtype.str}|".encode())
    h.update(np.ascontiguousarray(image))
    return h.hexdigest()


def hash_matches(image: np.ndarray, stored: str) -> bool:
    """Whether ``stored`` is ``image``'s content hash, now or as lavr wrote it before.

    Demo stores and saved traces written before the switch to SHA-256 hold the
    earlier BLAKE2b hash (shape, then the pixels), and those written before the full digest
    its first 16 hex chars; all are accepted so they stay valid.
    """
    digest = image_hash(image)
    if digest == stored or (len(stored) == 16 and digest[:16] == stored):
        return True
    legacy = hashlib.blake2b(digest_size=8)
    legacy.update(str(image.shape).encode())
    legacy.update(np.ascontiguousarray(image).tobytes())
    return legacy.hexdigest() == stored
