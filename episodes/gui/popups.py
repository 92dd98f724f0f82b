"""Widgets that open and then offer a choice: what appeared after an opening click.

A pie or radial menu, a popover, a picker: a control opens it, and the choices are the
new things on the screen. Pure functions over two screenshots (before and after the
opening click), so no layout rule of any one widget is needed:

* :func:`changed_mask` — the pixels that changed (below the instruction banner);
* :func:`appeared_labels` — the words drawn in the changed area, dark on light or light
  on dark (the text of a slice, a chip, a bubble), each as a box, with an ink mask
  that makes every label dark on white for OCR (:func:`ink_picture`).

The GUI agent clicks the opener (a control the instruction names, else the one control
without a word, e.g. the round ``+`` of a radial menu), then chooses the target among
the labels that appeared when nothing already on the screen names it well.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np

from lavr.episodes.gui.language import DIGIT_LOOKALIKES
from lavr.episodes.gui.perception import Box, text_similarity

logger = logging.getLogger(__name__)

#: Channel difference that counts as a changed pixel.
CHANGE = 24
#: Grey difference from the local background that makes a pixel a label's ink.
LABEL_CONTRAST = 35
#: Size (px) of the window the local background is the median of.
BACKGROUND_WINDOW = 15
#: Largest spread of the local background's grey under a label (a label sits on one fill).
EDGE_RANGE = 40
#: Largest glyph (px, either side) a label is made of.
MAX_GLYPH = 24
#: Largest horizontal gap (px) between the glyphs of one word.
WORD_GAP = 3
#: Letters whose small and capital forms differ only in size.
SAME_SHAPE = "cosuvwxz"
#: A one-letter label below this share of the tallest label's height is a small letter.
SMALL_LETTER = 0.85
_FOLD = str.maketrans(DIGIT_LOOKALIKES)


def changed_mask(before: np.ndarray, after: np.ndarray, *, top: int = 0) -> np.ndarray:
    """``HxW bool``: pixels that differ between two ``HxWx3 uint8 RGB`` screens (rows above
    ``top`` left out); all False when the screens differ in size."""
    if before.shape != after.shape:
        return np.zeros(after.shape[:2], dtype=bool)
    diff = np.abs(before.astype(np.int16) - after.astype(np.int16)).max(axis=2) > CHANGE
    diff[:top] = False
    return diff


def _background(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(grey, local background grey)`` of an ``HxWx3`` image (median over a window)."""
    import cv2

    grey = image.astype(np.float32).mean(axis=2)
    return grey, cv2.medianBlur(grey.astype(np.uint8), BACKGROUND_WINDOW).astype(np.float32)


def label_ink(image: np.ndarray) -> np.ndarray:
    """``HxW bool``: pixels that stand out from their neighbourhood's colour (text drawn on
    any fill, dark on light or light on dark)."""
    grey, bg = _background(image)
    return np.abs(grey - bg) > LABEL_CONTRAST


def appeared_labels(before: np.ndarray, after: np.ndarray, *, top: int = 0,
                    exclude: Sequence[Box] = ()) -> tuple[list[Box], np.ndarray]:
    """Words drawn where the screen changed, and a label-ink mask for reading them.

    Args:
        before: The screen before the opening click, ``HxWx3 uint8 RGB``.
        after: The screen now.
        top: Rows above this (the instruction banner) are left out.
        exclude: Boxes whose labels are not choices (the opener itself).

    Returns:
        ``(boxes, ink)``: XYXY word boxes in reading order (glyph-sized blobs of label ink
        in the changed area, joined when at most :data:`WORD_GAP` px apart on one line),
        and the ``HxW bool`` ink mask (draw it dark on white to read the words).
    """
    import cv2

    changed = changed_mask(before, after, top=top)
    if changed.sum() < 20:
        return [], np.zeros(after.shape[:2], dtype=bool)
    near = cv2.dilate(changed.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    grey, bg = _background(after)
    ink = (np.abs(grey - bg) > LABEL_CONTRAST) & near
    n, labels, stats, _ = cv2.connectedComponentsWithStats(ink.astype(np.uint8), connectivity=8)
    glyphs: list[Box] = []
    keep = np.zeros(n, dtype=bool)
    for i in range(1, n):
        x, y, w, h, area = (int(v) for v in stats[i])
        if not (h >= 3 and w <= MAX_GLYPH and h <= MAX_GLYPH and area >= 3):
            continue
        if w * h >= 40 and area / (w * h) < 0.08:  # a thin arc or outline, not a glyph
            continue
        box = (x, y, x + w, y + h)
        if float(np.ptp(bg[y:y + h, x:x + w])) > EDGE_RANGE:
            continue  # on the border of two fills (a ring's edge), not on one fill
        if any(_inside(box, e) for e in exclude):
            continue
        glyphs.append(box)
        keep[i] = True
    ink = keep[labels]
    words: list[list[int]] = []
    for b in sorted(glyphs, key=lambda b: b[0]):
        for wd in words:
            gap = b[0] - wd[2]
            overlap = min(b[3], wd[3]) - max(b[1], wd[1])
            if -1 <= gap <= WORD_GAP and overlap >= 0.4 * min(b[3] - b[1], wd[3] - wd[1]):
                wd[:] = [min(wd[0], b[0]), min(wd[1], b[1]), max(wd[2], b[2]), max(wd[3], b[3])]
                break
        else:
            words.append(list(b))
    # dots of an i and j, accents: a tiny word right above a bigger one belongs to it
    boxes = [tuple(w) for w in words]
    merged: list[Box] = []
    for b in sorted(boxes, key=lambda b: -(b[2] - b[0]) * (b[3] - b[1])):
        host = next((m for m in merged if b[0] >= m[0] - 1 and b[2] <= m[2] + 1
                     and 0 <= m[1] - b[3] <= 3 and (b[3] - b[1]) <= 4), None)
        if host is not None:
            merged[merged.index(host)] = (host[0], b[1], host[2], host[3])
        else:
            merged.append(b)  # type: ignore[arg-type]
    merged = [m for m in merged if m[3] - m[1] >= 5]
    merged.sort(key=lambda b: (b[1] // 6, b[0]))
    return merged, ink


def _inside(box: Box, outer: Box) -> bool:
    return box[0] >= outer[0] and box[1] >= outer[1] and box[2] <= outer[2] and box[3] <= outer[3]


def ink_picture(ink: np.ndarray) -> np.ndarray:
    """An ``HxWx3 uint8`` picture of a label-ink mask, dark on white (what OCR reads best)."""
    return np.where(ink[..., None], 0, 255).astype(np.uint8).repeat(3, axis=2)


def case_by_height(reads: Sequence[tuple[str, float]], boxes: Sequence[Box]) -> list[str]:
    """OCR texts of labels, a one-letter label whose two cases differ only in size (``c o
    s u v w x z``) put in the case its height says: a small letter when it is clearly
    shorter than the tallest label, else a capital."""
    tallest = max((b[3] - b[1] for b in boxes), default=0)
    out = []
    for (text, _), box in zip(reads, boxes, strict=True):
        t = text.strip()
        if len(t) == 1 and t.lower() in SAME_SHAPE and tallest:
            small = (box[3] - box[1]) < SMALL_LETTER * tallest
            t = t.lower() if small else t.upper()
        out.append(t)
    return out


def label_similarity(text: str, target: str) -> float:
    """:func:`~lavr.episodes.gui.perception.text_similarity`, or 0.9 when the two are the
    same once letters that look like digits are folded (a label ``Z`` for a target read as
    ``2``), 0.85 for one letter ``v`` against ``w`` (OCR reads one for the other)."""
    same = text.strip().translate(_FOLD).lower() == target.strip().translate(_FOLD).lower()
    # this font's w is read as v (and back): a one-letter label may be either
    swapped = len(text.strip()) == 1 and {text.strip(), target.strip()} in ({"v", "w"}, {"V", "W"})
    return max(text_similarity(text, target), 0.9 if same and text.strip() else 0.0,
               0.85 if swapped else 0.0)
