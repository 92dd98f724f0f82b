"""Distorted text (letters each sheared on their own, as a captcha draws them) read by
drawing the font's letters at those shears (pure: PIL-drawn rows, no browser)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from lavr.episodes.gui import distorted
from lavr.episodes.gui.perception import find_elements
from lavr.episodes.gui.reading import page_text

SERIF = "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf"
SANS = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


def _font(path: str, size: int) -> ImageFont.FreeTypeFont:
    if not Path(path).is_file():
        pytest.skip(f"{path} not installed")
    return ImageFont.truetype(path, size)


def _captcha(text: str, shears: list[tuple[int, int]], *, size: int = 25,
             height: int = 120) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """A white 160 px wide page with ``text`` drawn in the serif font, each letter sheared
    about its own centre (CSS ``skewX(a) skewY(b)``), side by side; and the row's box."""
    font = _font(SERIF, size)
    page = np.full((height, 160, 3), 255, np.uint8)
    x = 30
    for ch, (a, b) in zip(text, shears, strict=True):
        side = 3 * size
        im = Image.new("L", (side, side), 0)
        ImageDraw.Draw(im).text((side // 2, side // 2), ch, font=font, fill=255, anchor="mm")
        m = distorted.shear_matrix(a, b)
        c = np.array([side / 2, side / 2])
        warp = np.hstack([m, (c - m @ c)[:, None]]).astype(np.float32)
        ink = cv2.warpAffine(np.asarray(im, np.float32) / 255.0, warp, (side, side))
        advance = int(font.getlength(ch))
        x0, y0 = x + advance // 2 - side // 2, 50 - side // 2
        ys, xs = np.nonzero(ink > 0.01)
        for yy, xx in zip(ys, xs, strict=True):
            py, px = y0 + yy, x0 + xx
            if 0 <= py < height and 0 <= px < 160:
                page[py, px] = np.minimum(page[py, px], 255 - int(255 * ink[yy, xx]))
        x += advance + 2
    return page, (25, 28, x + 6, 72)


def test_sheared_letters_are_read_by_drawing_them() -> None:
    page, box = _captcha("aK7q", [(10, -30), (-8, 25), (5, 35), (-12, -18)])
    assert distorted.read_distorted(page, box) == "aK7q"


def test_upper_and_lower_case_look_alikes_differ_by_size() -> None:
    page, box = _captcha("oOxX", [(0, 30), (-5, -25), (8, 20), (-10, -35)])
    assert distorted.read_distorted(page, box) == "oOxX"


def test_upright_text_is_left_to_ocr() -> None:
    page = np.full((80, 160, 3), 255, np.uint8)
    im = Image.fromarray(page)
    ImageDraw.Draw(im).text((10, 20), "Hello 42", font=_font(SANS, 22), fill=(0, 0, 0))
    assert distorted.read_distorted(np.asarray(im), (8, 18, 120, 48)) is None


def test_page_text_reads_a_row_of_distorted_letters() -> None:
    page, _ = _captcha("R3bW", [(-10, 22), (12, -33), (3, 28), (-6, -14)])

    class _NoOcr:
        def read(self, image: np.ndarray, boxes: list, pad: int = 2) -> list[tuple[str, float]]:
            return [("", 0.0) for _ in boxes]

        def at_zoom(self, zoom: float) -> _NoOcr:
            return self

    assert page_text(find_elements(page), _NoOcr()) == ["R3bW"]  # type: ignore[arg-type]
