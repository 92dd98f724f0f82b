"""Matching text by how it looks, for text the recogniser cannot read.

A recogniser trained on Latin script reads ``ヘルプ``, ``确定`` or ``♥♥♥`` as
noise, and not even the same noise in the instruction and on the button
(different sizes). But the instruction *shows* the string it names: the quoted
word's pixels in the banner can be compared with each element's label. Both
are cut to their ink, averaged down to a small fixed grid (so thin strokes
drawn at two sizes still line up), and compared by correlation, weighted by how
alike their aspect ratios are.

``HxWx3 uint8 RGB`` screenshots and XYXY pixel boxes, as everywhere in the agent.
"""

from __future__ import annotations

import logging
import re

import numpy as np
from PIL import Image

logger = logging.getLogger(__name__)

Box = tuple[int, int, int, int]

#: Size every ink patch is scaled to before comparing.
PATCH = (8, 24)
#: Grey level below which a pixel is ink (text is near black; widget borders are lighter).
INK_GREY = 100


def ink_patch(image: np.ndarray, box: Box) -> np.ndarray | None:
    """The ink of ``box`` cut to its bounding box and scaled to :data:`PATCH` (float 0..1),
    with the aspect ratio (width / height) in the last element; None without ink."""
    x1, y1, x2, y2 = box
    grey = image[y1:y2, x1:x2].astype(np.float32).mean(axis=2)
    if grey.size == 0:
        return None
    bg = float(np.median(grey))
    ink = grey < INK_GREY if bg >= INK_GREY else grey > 255 - INK_GREY
    if ink.sum() < 4:
        return None
    ys, xs = np.nonzero(ink)
    ink = ink[ys.min():ys.max() + 1, xs.min():xs.max() + 1]
    aspect = ink.shape[1] / ink.shape[0]
    scaled = np.asarray(Image.fromarray((ink * 255).astype(np.uint8)).resize(
        (PATCH[1], PATCH[0]), Image.BOX), np.float32) / 255.0  # area mean: strokes blur
    return np.append(scaled.ravel(), aspect)


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Look-alike score in [0, 1] of two :func:`ink_patch` results."""
    pa, pb = a[:-1], b[:-1]
    ca, cb = pa - pa.mean(), pb - pb.mean()
    corr = float(ca @ cb / max(np.linalg.norm(ca) * np.linalg.norm(cb), 1e-6))
    ra, rb = a[-1], b[-1]
    return max(corr, 0.0) * float(min(ra, rb) / max(ra, rb))


def word_box(line: np.ndarray, text: str, word: str, *, offset: tuple[int, int] = (0, 0),
             ink_grey: float = 100.0) -> Box | None:
    """Where ``word`` (a space-free part of the OCR reading ``text`` of ``line``) is drawn.

    The line's ink columns are cut into as many words as ``text`` has, at the widest
    gaps; the word's box leaves out quote marks (ink only high above the baseline).
    None when ``word`` is not one word of ``text`` or the gaps do not tell words apart.
    """
    words = text.split(" ")
    index = next((i for i, w in enumerate(words) if word in w), -1)
    if index < 0 or " " in word:
        return None
    ink = line.astype(np.float32).mean(axis=2) < ink_grey
    cols = np.flatnonzero(ink.any(axis=0))
    if cols.size == 0:
        return None
    runs: list[list[int]] = [[int(cols[0]), int(cols[0]) + 1]]
    for c in cols[1:]:
        if c == runs[-1][1]:
            runs[-1][1] = int(c) + 1
        else:
            runs.append([int(c), int(c) + 1])
    gaps = np.asarray([b[0] - a[1] for a, b in zip(runs, runs[1:], strict=False)])
    n = len(words) - 1
    if n > len(gaps):
        return None
    order = np.argsort(-gaps, kind="stable")
    cuts = sorted(order[:n].tolist())
    if n and n < len(gaps) and gaps[order[n - 1]] <= gaps[order[n]]:
        return None  # word gaps and letter gaps cannot be told apart
    bounds = [0, *[c + 1 for c in cuts], len(runs)]
    mine = runs[bounds[index]:bounds[index + 1]]
    rows = np.flatnonzero(ink.any(axis=1))
    baseline = int(rows.max()) if rows.size else ink.shape[0]
    height = max(baseline - int(rows.min()), 1) if rows.size else 1
    keep = []
    for a, b in mine:  # drop quote marks and punctuation ticks high above the baseline
        r = np.flatnonzero(ink[:, a:b].any(axis=1))
        if r.size and r.max() >= baseline - 0.5 * height:
            keep.append((a, b))
    if not keep:
        return None
    x1, x2 = keep[0][0], keep[-1][1]
    r = np.flatnonzero(ink[:, x1:x2].any(axis=1))
    ox, oy = offset
    return ox + x1, oy + int(r.min()), ox + x2, oy + int(r.max()) + 1


def quoted_word(text: str, target: str) -> bool:
    """Whether ``target`` is quoted in ``text``."""
    return bool(target) and re.search(r'"\s*' + re.escape(target) + r'\s*"', text) is not None
