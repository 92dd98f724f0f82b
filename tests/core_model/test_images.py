"""Bad and awkward inputs for :func:`lavr.core_model.images.load_image`.

Every file is generated in ``tmp_path``; nothing here needs the network or a
model. Bad inputs must raise :class:`ImageError` with a message that names the
source and says what went wrong; good ones must come back as ``HxWx3 uint8``.
"""

from __future__ import annotations

import hashlib
import io
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lavr.core_model import images
from lavr.core_model.errors import ImageError, InputError
from lavr.core_model.images import MAX_PIXELS, MAX_SIDE, image_hash, load_image

RED = (255, 0, 0)
BLUE = (0, 0, 255)
WHITE = (255, 255, 255)


def assert_rgb_u8(arr: np.ndarray, shape_hw: tuple[int, int] | None = None) -> None:
    assert isinstance(arr, np.ndarray)
    assert arr.dtype == np.uint8
    assert arr.ndim == 3 and arr.shape[2] == 3, arr.shape
    assert arr.flags.c_contiguous
    if shape_hw is not None:
        assert arr.shape[:2] == shape_hw


def assert_close(pixel: np.ndarray, expected: tuple[int, int, int], tol: int = 12) -> None:
    diff = np.abs(pixel.astype(int) - np.array(expected)).max()
    assert diff <= tol, f"pixel {pixel.tolist()} not within {tol} of {expected}"


def noise(h: int, w: int, channels: int = 3, seed: int = 0) -> np.ndarray:
    """Random pixels: they do not compress, so truncating a file cuts real data."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, size=(h, w, channels), dtype=np.uint8)


def png_with_size(path: Path, width: int, height: int) -> Path:
    """A tiny valid PNG whose IHDR is patched to claim ``width x height``.

    Nothing of that size is ever allocated: only the header changes (and its CRC).
    """
    buf = io.BytesIO()
    Image.new("RGB", (1, 1), RED).save(buf, "PNG")
    data = bytearray(buf.getvalue())
    # 8-byte signature, then the IHDR chunk: length(4) b"IHDR"(4) data(13) crc(4).
    assert data[12:16] == b"IHDR"
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])) & 0xFFFFFFFF)
    path.write_bytes(bytes(data))
    return path


def raises_image_error(source, *words: str) -> ImageError:
    with pytest.raises(ImageError) as info:
        load_image(source)
    msg = str(info.value).lower()
    for word in words:
        assert word.lower() in msg, f"{word!r} not in message {str(info.value)!r}"
    return info.value


# --------------------------------------------------------------------------- bad files


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.png"
    err = raises_image_error(path, "no such file", str(path))
    assert err.source == str(path)
    assert isinstance(err, InputError) and isinstance(err, ValueError)


def test_missing_file_as_str(tmp_path: Path) -> None:
    raises_image_error(str(tmp_path / "nope.jpg"), "no such file")


def test_directory(tmp_path: Path) -> None:
    raises_image_error(tmp_path, "directory")


def test_a_pipe_or_device_is_refused_unread(tmp_path: Path) -> None:
    import os

    os.mkfifo(tmp_path / "fifo.png")  # was "file is empty (0 bytes)"
    raises_image_error(tmp_path / "fifo.png", "not a regular file")
    raises_image_error("/dev/zero", "not a regular file")


def test_text_file(tmp_path: Path) -> None:
    path = tmp_path / "notes.png"
    path.write_text("this is not an image\n" * 10)
    raises_image_error(path, "not a recognised image format", "notes.png")


def test_zero_byte_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.jpg"
    path.write_bytes(b"")
    raises_image_error(path, "empty", "0 bytes")


def test_truncated_png(tmp_path: Path) -> None:
    full = tmp_path / "full.png"
    Image.fromarray(noise(64, 64)).save(full)
    data = full.read_bytes()
    cut = tmp_path / "cut.png"
    cut.write_bytes(data[: len(data) // 2])
    raises_image_error(cut, "truncated", "cut.png")


def test_truncated_jpeg(tmp_path: Path) -> None:
    full = tmp_path / "full.jpg"
    Image.fromarray(noise(64, 64)).save(full, quality=95)
    data = full.read_bytes()
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(data[: len(data) // 2])
    raises_image_error(cut, "truncated", "cut.jpg")


def test_pixel_bomb_beyond_pillow_limit(tmp_path: Path) -> None:
    # Pillow itself refuses to open this (more than twice its own limit).
    path = png_with_size(tmp_path / "bomb.png", 50_000, 50_000)
    raises_image_error(path, "too large", str(MAX_PIXELS))


def test_pixel_bomb_beyond_lavr_limit(tmp_path: Path) -> None:
    # 49 M pixels: under Pillow's own bomb limit, over lavr's.
    path = png_with_size(tmp_path / "big.png", 7_000, 7_000)
    raises_image_error(path, "too large", "7000x7000")


def test_pixel_bomb_when_pillow_limit_is_disabled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)
    path = png_with_size(tmp_path / "bomb.png", 50_000, 50_000)
    raises_image_error(path, "too large", "50000x50000")


def test_empty_bytes() -> None:
    raises_image_error(b"", "0 bytes")


def test_garbage_bytes() -> None:
    raises_image_error(b"\x00\x01garbage" * 20, "not a recognised image format")


@pytest.mark.parametrize("source", [42, None, [[1, 2], [3, 4]], {"path": "x.png"}])
def test_unsupported_source_type(source) -> None:
    raises_image_error(source, "expected a path")


def test_file_too_big(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(images, "MAX_FILE_BYTES", 100)
    path = tmp_path / "noise.png"
    Image.fromarray(noise(32, 32)).save(path)
    raises_image_error(path, "bytes", "more than")


# --------------------------------------------------------------------------- awkward but valid files


def test_rgb_png_roundtrip(tmp_path: Path) -> None:
    pixels = noise(20, 30)
    path = tmp_path / "rgb.png"
    Image.fromarray(pixels).save(path)
    out = load_image(path)
    assert_rgb_u8(out, (20, 30))
    np.testing.assert_array_equal(out, pixels)


def test_path_str_and_bytes_agree(tmp_path: Path) -> None:
    path = tmp_path / "rgb.png"
    Image.fromarray(noise(10, 12)).save(path)
    a, b, c = load_image(path), load_image(str(path)), load_image(path.read_bytes())
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, c)


def test_pil_image_input() -> None:
    img = Image.new("RGBA", (5, 4), (0, 0, 0, 0))
    out = load_image(img)
    assert_rgb_u8(out, (4, 5))
    assert (out == 255).all()


def test_cmyk_jpeg(tmp_path: Path) -> None:
    path = tmp_path / "cmyk.jpg"
    Image.new("CMYK", (16, 8), (0, 255, 255, 0)).save(path, quality=95)
    with Image.open(path) as img:
        assert img.mode == "CMYK"
    out = load_image(path)
    assert_rgb_u8(out, (8, 16))
    assert_close(out[4, 8], RED, tol=20)


def test_rgba_png_alpha_composited_on_white(tmp_path: Path) -> None:
    arr = np.zeros((4, 3, 4), dtype=np.uint8)  # fully transparent black
    arr[0, 0] = (255, 0, 0, 255)  # opaque red
    arr[1, 1] = (0, 0, 0, 128)  # half-transparent black
    path = tmp_path / "rgba.png"
    Image.fromarray(arr).save(path)
    out = load_image(path)
    assert_rgb_u8(out, (4, 3))
    assert tuple(out[0, 0]) == RED
    assert tuple(out[3, 2]) == WHITE
    assert_close(out[1, 1], (127, 127, 127), tol=2)


def test_la_png(tmp_path: Path) -> None:
    path = tmp_path / "la.png"
    Image.new("LA", (3, 2), (0, 0)).save(path)
    out = load_image(path)
    assert_rgb_u8(out, (2, 3))
    assert (out == 255).all()


def test_16bit_grey_png(tmp_path: Path) -> None:
    arr = np.zeros((6, 5), dtype=np.uint16)
    arr[:, 2:] = 65535
    arr[0, 0] = 32768
    path = tmp_path / "grey16.png"
    Image.fromarray(arr).save(path)
    with Image.open(path) as img:
        assert img.mode.startswith("I")
    out = load_image(path)
    assert_rgb_u8(out, (6, 5))
    assert tuple(out[0, 4]) == WHITE
    assert tuple(out[1, 0]) == (0, 0, 0)
    assert_close(out[0, 0], (128, 128, 128), tol=2)


def test_palette_png_with_transparency(tmp_path: Path) -> None:
    img = Image.new("P", (4, 4), 0)
    img.putpalette([0, 0, 0, 255, 0, 0] + [0] * (256 * 3 - 6))
    img.putpixel((1, 1), 1)  # red; index 0 (black) is transparent
    path = tmp_path / "pal.png"
    img.save(path, transparency=0)
    with Image.open(path) as check:
        assert check.mode == "P" and "transparency" in check.info
    out = load_image(path)
    assert_rgb_u8(out, (4, 4))
    assert tuple(out[1, 1]) == RED
    assert tuple(out[0, 0]) == WHITE


def test_palette_png_without_transparency(tmp_path: Path) -> None:
    img = Image.new("P", (2, 2), 1)
    img.putpalette([0, 0, 0, 0, 0, 255] + [0] * (256 * 3 - 6))
    path = tmp_path / "pal.png"
    img.save(path)
    out = load_image(path)
    assert (out.reshape(-1, 3) == BLUE).all()


def test_grey_png_with_transparent_colour(tmp_path: Path) -> None:
    img = Image.new("L", (3, 3), 0)
    img.putpixel((1, 1), 200)
    path = tmp_path / "grey_trns.png"
    img.save(path, transparency=0)  # a tRNS chunk: black means transparent
    out = load_image(path)
    assert tuple(out[1, 1]) == (200, 200, 200)
    assert tuple(out[0, 0]) == WHITE


def test_grayscale_png(tmp_path: Path) -> None:
    grey = noise(7, 9, channels=1)[..., 0]
    path = tmp_path / "grey.png"
    Image.fromarray(grey).save(path)
    out = load_image(path)
    assert_rgb_u8(out, (7, 9))
    for c in range(3):
        np.testing.assert_array_equal(out[..., c], grey)


def test_one_bit_png(tmp_path: Path) -> None:
    img = Image.new("1", (8, 2), 0)
    img.putpixel((3, 1), 1)
    path = tmp_path / "bw.png"
    img.save(path)
    out = load_image(path)
    assert_rgb_u8(out, (2, 8))
    assert tuple(out[1, 3]) == WHITE and tuple(out[0, 0]) == (0, 0, 0)


def test_exif_rotated_jpeg(tmp_path: Path) -> None:
    # Stored 40 wide x 20 high: left half red, right half blue. EXIF orientation
    # 6 means "rotate 90 degrees clockwise to display": 20 wide x 40 high, red on top.
    stored = np.zeros((20, 40, 3), dtype=np.uint8)
    stored[:, :20] = RED
    stored[:, 20:] = BLUE
    exif = Image.Exif()
    exif[0x0112] = 6
    path = tmp_path / "rotated.jpg"
    Image.fromarray(stored).save(path, quality=95, exif=exif)
    out = load_image(path)
    assert_rgb_u8(out, (40, 20))
    assert_close(out[5, 10], RED, tol=30)
    assert_close(out[35, 10], BLUE, tol=30)


def test_jpeg_without_exif_is_not_rotated(tmp_path: Path) -> None:
    path = tmp_path / "plain.jpg"
    Image.new("RGB", (40, 20), RED).save(path)
    assert_rgb_u8(load_image(path), (20, 40))


def test_huge_but_allowed_image_is_downscaled(tmp_path: Path) -> None:
    w, h = 6_000, 300  # 1.8 M pixels: accepted, but wider than MAX_SIDE
    path = tmp_path / "wide.png"
    Image.new("RGB", (w, h), BLUE).save(path)
    out = load_image(path)
    assert_rgb_u8(out)
    assert out.shape[1] == MAX_SIDE
    assert out.shape[0] == round(h * MAX_SIDE / w)
    assert tuple(out[out.shape[0] // 2, out.shape[1] // 2]) == BLUE


def test_image_at_max_side_is_not_resized(tmp_path: Path) -> None:
    path = tmp_path / "tall.png"
    Image.new("L", (3, MAX_SIDE), 0).save(path)
    assert load_image(path).shape == (MAX_SIDE, 3, 3)


def test_animated_gif_gives_first_frame(tmp_path: Path) -> None:
    frames = [Image.new("RGB", (6, 4), c) for c in (RED, BLUE)]
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:])
    out = load_image(path)
    assert_rgb_u8(out, (4, 6))
    assert_close(out[0, 0], RED, tol=5)


# --------------------------------------------------------------------------- numpy inputs


def test_numpy_uint8_rgb_passthrough() -> None:
    arr = noise(5, 6)
    out = load_image(arr)
    assert_rgb_u8(out, (5, 6))
    np.testing.assert_array_equal(out, arr)


def test_numpy_float_unit_range() -> None:
    arr = np.zeros((3, 4, 3), dtype=np.float32)
    arr[0, 0] = (1.0, 0.5, 0.0)
    out = load_image(arr)
    assert_rgb_u8(out, (3, 4))
    assert_close(out[0, 0], (255, 127, 0), tol=1)


def test_numpy_float_0_255_range_and_nan() -> None:
    arr = np.full((2, 2, 3), 300.0)
    arr[0, 0] = (-5.0, 128.0, np.nan)
    out = load_image(arr)
    assert_rgb_u8(out, (2, 2))
    assert tuple(out[1, 1]) == WHITE
    assert tuple(out[0, 0]) == (0, 128, 0)


def test_numpy_grey() -> None:
    arr = np.arange(12, dtype=np.uint8).reshape(3, 4)
    out = load_image(arr)
    assert_rgb_u8(out, (3, 4))
    for c in range(3):
        np.testing.assert_array_equal(out[..., c], arr)


def test_numpy_single_channel() -> None:
    out = load_image(np.full((3, 4, 1), 9, dtype=np.uint8))
    assert_rgb_u8(out, (3, 4))
    assert (out == 9).all()


def test_numpy_rgba_composited_on_white() -> None:
    arr = np.zeros((2, 2, 4), dtype=np.uint8)  # transparent black
    arr[0, 0] = (255, 0, 0, 255)
    out = load_image(arr)
    assert_rgb_u8(out, (2, 2))
    assert tuple(out[0, 0]) == RED
    assert tuple(out[1, 1]) == WHITE  # same as the same pixels loaded from a PNG


def test_numpy_rgba_matches_png(tmp_path: Path) -> None:
    arr = noise(8, 8, channels=4, seed=3)
    path = tmp_path / "rgba.png"
    Image.fromarray(arr).save(path)
    np.testing.assert_allclose(load_image(arr), load_image(path), atol=1)


def test_numpy_bool_mask() -> None:
    arr = np.zeros((2, 3), dtype=bool)
    arr[1, 2] = True
    out = load_image(arr)
    assert tuple(out[1, 2]) == WHITE and tuple(out[0, 0]) == (0, 0, 0)


def test_numpy_uint16_is_scaled_like_a_16bit_file() -> None:
    arr = np.zeros((2, 2, 3), dtype=np.uint16)
    arr[0, 0] = 65535
    arr[1, 1] = 1000
    out = load_image(arr)
    assert tuple(out[0, 0]) == WHITE
    assert out[1, 1, 0] < 10  # not clipped to 255


def test_numpy_large_is_downscaled() -> None:
    arr = np.zeros((MAX_SIDE + 904, 100, 3), dtype=np.uint8)
    out = load_image(arr)
    assert_rgb_u8(out)
    assert out.shape[0] == MAX_SIDE
    assert out.shape[1] == round(100 * MAX_SIDE / (MAX_SIDE + 904))


def test_numpy_non_contiguous() -> None:
    arr = noise(6, 8)[:, ::2]
    out = load_image(arr)
    assert out.flags.c_contiguous
    np.testing.assert_array_equal(out, arr)


@pytest.mark.parametrize("opencv", [True, False])
@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_numpy_planar(dtype: type, opencv: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """A channels-first array seen as HxWxC (each channel a block in memory), also
    flipped, channels reversed or from strided planes, loads to the same pixels,
    C-contiguous, with OpenCV's merge and with the numpy copy."""
    from lavr.core_model import images

    merged: list[int] = []
    if opencv:
        cv2 = pytest.importorskip("cv2")

        class Spy:
            @staticmethod
            def merge(planes):
                merged.append(len(planes))
                return cv2.merge(planes)

        monkeypatch.setattr(images, "_CV2", [Spy])
    else:
        monkeypatch.setattr(images, "_CV2", [None])
    pixels = noise(6, 8)
    planar = np.ascontiguousarray(pixels.transpose(2, 0, 1)).astype(dtype).transpose(1, 2, 0)
    assert not planar.flags.c_contiguous
    wide = np.ascontiguousarray(np.repeat(pixels, 2, axis=1).transpose(2, 0, 1))
    strided = wide.astype(dtype)[:, :, ::2].transpose(1, 2, 0)
    for arr, want in ((planar, pixels), (planar[::-1, ::-1], pixels[::-1, ::-1]),
                      (planar[..., ::-1], pixels[..., ::-1]), (strided, pixels)):
        out = load_image(arr / 255.0 if dtype == np.float32 else arr)
        assert out.flags.c_contiguous and out.dtype == np.uint8
        np.testing.assert_array_equal(out, want)
    assert bool(merged) == opencv  # the path under test was the one taken


@pytest.mark.parametrize(
    ("arr", "words"),
    [
        (np.zeros((4,), np.uint8), ["expected an hxw"]),
        (np.zeros((2, 2, 2), np.uint8), ["expected an hxw"]),
        (np.zeros((2, 2, 3, 1), np.uint8), ["expected an hxw"]),
        (np.zeros((0, 5, 3), np.uint8), ["zero size"]),
        (np.zeros((5, 0), np.uint8), ["zero size"]),
        (np.array([["a", "b"], ["c", "d"]]), ["dtype"]),
        (np.zeros((2, 2, 3), dtype=object), ["dtype"]),
        (np.zeros((2, 2, 3), dtype=complex), ["dtype"]),
    ],
    ids=["1d", "2ch", "4d", "zero-h", "zero-w", "str", "object", "complex"],
)
def test_numpy_bad(arr: np.ndarray, words: list[str]) -> None:
    raises_image_error(arr, "array", *words)


def test_numpy_too_many_pixels_refused_without_copying() -> None:
    # broadcast_to allocates nothing, so this costs no memory unless the loader copies.
    arr = np.broadcast_to(np.uint8(0), (7_000, 7_000))
    raises_image_error(arr, "too large", str(MAX_PIXELS))


# --------------------------------------------------------------------------- image_hash


def test_image_hash_stable_and_hex() -> None:
    arr = noise(10, 10)
    h = image_hash(arr)
    assert h == image_hash(arr) == image_hash(arr.copy())
    assert len(h) == 64 and int(h, 16) >= 0


def test_image_hash_content_sensitive() -> None:
    arr = noise(10, 10)
    other = arr.copy()
    other[9, 9, 2] ^= 1
    assert image_hash(arr) != image_hash(other)


def test_image_hash_shape_sensitive() -> None:
    arr = noise(2, 6)
    same_bytes = arr.reshape(6, 2, 3)
    assert arr.tobytes() == same_bytes.tobytes()
    assert image_hash(arr) != image_hash(same_bytes)


def test_image_hash_of_view_equals_copy() -> None:
    arr = noise(8, 8)[::2, ::2]
    assert image_hash(arr) == image_hash(np.ascontiguousarray(arr))


def test_image_hash_same_for_same_file_loaded_twice(tmp_path: Path) -> None:
    path = tmp_path / "a.jpg"
    Image.fromarray(noise(16, 16)).save(path)
    assert image_hash(load_image(path)) == image_hash(load_image(path))


# --------------------------------------------------------------------------- third-party patches


@pytest.mark.slow  # imports ultralytics (and torch) in a subprocess: ~5 s
def test_non_image_with_ultralytics_patched_pil_open(tmp_path: Path) -> None:
    """ultralytics monkey-patches ``PIL.Image.open`` on import.

    Its wrapper answers an unidentifiable file by checking for (and possibly
    pip-installing) a HEIF plugin, then ``ModuleNotFoundError``. lavr must still
    say "not a recognised image format" and must not trigger that. Runs in a
    subprocess so the patch does not leak into other tests.
    """
    pytest.importorskip("ultralytics")
    text = tmp_path / "notes.png"
    text.write_text("not an image\n" * 5)
    good = tmp_path / "good.png"
    Image.new("RGB", (3, 2), RED).save(good)
    code = f"""
import sys
from PIL import Image
import ultralytics.utils.patches  # applies the patch
from lavr.core_model.errors import ImageError
from lavr.core_model.images import load_image
assert Image.open.__module__ != "PIL.Image", "ultralytics no longer patches Image.open"
try:
    load_image({str(text)!r})
except ImageError as exc:
    print("ImageError:", exc)
assert load_image({str(good)!r}).shape == (2, 3, 3)
assert "pi_heif" not in sys.modules
"""
    # check_requirements must not even be reached: make it fail loudly if it is.
    code = code.replace(
        "import ultralytics.utils.patches  # applies the patch",
        "import ultralytics.utils.patches  # applies the patch\n"
        "import ultralytics.utils.checks as _c\n"
        "def _boom(*a, **k):\n"
        "    raise SystemExit('check_requirements was called')\n"
        "_c.check_requirements = _boom",
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "not a recognised image format" in proc.stdout


@pytest.mark.parametrize("url", ["http://127.0.0.1:9/x.png", "https://example.com/cat.jpg",
                                 "file:///etc/passwd", "http://169.254.169.254/latest"])
def test_urls_are_never_fetched(url):
    with pytest.raises(ImageError, match="is a URL; lavr reads local image files"):
        load_image(url)


def test_hashes_written_before_the_sha256_switch_still_match() -> None:
    from lavr.core_model.images import hash_matches, image_hash

    img = np.zeros((4, 5, 3), dtype=np.uint8)
    img[1, 2] = (9, 8, 7)
    # the BLAKE2b hash lavr wrote for this image before (shape, then the pixels)
    legacy = hashlib.blake2b(str(img.shape).encode() + img.tobytes(), digest_size=8).hexdigest()
    assert hash_matches(img, legacy) and hash_matches(img, image_hash(img))
    other = img.copy()
    other[0, 0] = 1
    assert not hash_matches(other, legacy) and not hash_matches(other, image_hash(img))


def test_image_hash_is_the_full_sha256_and_short_hashes_written_before_still_match() -> None:
    from lavr.core_model.images import hash_matches, image_hash

    img = np.zeros((4, 5, 3), dtype=np.uint8)
    img[1, 2] = (9, 8, 7)
    full = image_hash(img)
    want = hashlib.sha256(b"(4, 5, 3)|" + img.dtype.str.encode() + b"|" + img.tobytes())
    assert full == want.hexdigest() and len(full) == 64
    assert hash_matches(img, full[:16])  # what lavr wrote before the full digest
    other = img.copy()
    other[0, 0] = 1
    assert not hash_matches(other, full[:16]) and not hash_matches(img, full[:15])
