"""Text on the page handled as text: select it, copy and paste it, give it a style.

What a user does with the keyboard and the pointer to text, from pixels only:

- **paragraphs**: the page's text rows (:func:`~lavr.episodes.gui.reading.text_rows`)
  grouped into blocks of running text where the space between two rows is wider than the
  block's line spacing (:func:`paragraphs`);
- **words and phrases**: a row read by OCR is cut into its words' boxes by the widest
  glyph gaps (:func:`~lavr.episodes.gui.appearance.line_words`), and a phrase is the run of
  consecutive words that reads most like it (:func:`find_phrase`);
- **selecting** text is a drag from just left of its first glyph to just right of its last
  (:func:`selection_drag`), the way a user sweeps the pointer over it;
- **fields**: a text area (a resize grip, or clearly taller than the one-line fields beside
  it) is told from a one-line field (:func:`is_text_area`); a field's whole text is
  selected with the standard chord ``C-a`` after a click into it;
- **styles** are the standard rich-text chords (:data:`STYLE_KEYS`: ``C-b`` bold, ``C-i``
  italic, ``C-u`` underline); a colour is chosen in the editor's colour palette.

The chords are the keyboard's, so they work in any browser page (``C-c`` / ``C-v`` use
the browser's own clipboard).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from lavr.episodes.gui.appearance import line_words
from lavr.episodes.gui.perception import (
    Box,
    ScreenElement,
    ScreenParse,
    TextReader,
    boxes_overlap,
    text_runs,
    text_similarity,
)
from lavr.episodes.gui.reading import text_rows

logger = logging.getLogger(__name__)

#: The standard keyboard chords of rich editing widgets for a style.
STYLE_KEYS = {"bold": "C-b", "italic": "C-i", "underline": "C-u"}
#: Select everything in the focused field or editor, copy, cut, paste, delete the selection.
SELECT_ALL, COPY, CUT, PASTE, DELETE = "C-a", "C-c", "C-x", "C-v", "<Delete>"
#: A row starts a new paragraph when the space above it is this many times the block's
#: line pitch (top to top) ...
PARAGRAPH_PITCH = 1.5
#: ... or, with no pitch to compare with, when the gap above it is this share of a row's height.
PARAGRAPH_GAP = 0.6
#: A field this many times as tall as the lowest field on the screen is a text area.
AREA_HEIGHT = 1.5
#: Smallest similarity a phrase's reading needs to be taken as the phrase.
PHRASE_MATCH = 0.6


def paragraphs(parse: ScreenParse, rows: Sequence[Box] | None = None) -> list[list[Box]]:
    """The page's text rows grouped into paragraphs, top to bottom.

    Args:
        parse: The screen.
        rows: Text rows (XYXY pixels, top to bottom); None takes
            :func:`~lavr.episodes.gui.reading.text_rows` of ``parse``.

    Returns:
        One list of row boxes per paragraph (a paragraph's rows top to bottom).
    """
    rows = list(text_rows(parse) if rows is None else rows)
    if not rows:
        return []
    pitches = [b[1] - a[1] for a, b in zip(rows, rows[1:], strict=False)]
    line = min(pitches) if len(pitches) >= 2 else None
    height = float(np.median([r[3] - r[1] for r in rows]))
    out: list[list[Box]] = [[rows[0]]]
    for prev, row, pitch in zip(rows, rows[1:], pitches, strict=False):
        gap = row[1] - prev[3]
        apart = row[0] > prev[2] or row[2] < prev[0]  # no column in common
        new = apart or (pitch > PARAGRAPH_PITCH * line if line is not None and line > 0
                        else gap > PARAGRAPH_GAP * height)
        if new:
            out.append([row])
        else:
            out[-1].append(row)
    return out


def selection_drag(first: Box, last: Box, *, width: int | None = None) -> tuple[float, float,
                                                                                  float, float]:
    """``(x, y, x2, y2)`` of a drag that selects the text from the start of ``first`` to the
    end of ``last`` (boxes of ink, XYXY pixels): from 1 px left of the first glyph to 1 px
    right of the last, at the middle of each one's height (a point in the space beside a
    glyph selects up to the glyph, not into the next word)."""
    x = max(first[0] - 1.0, 0.0)
    x2 = last[2] + 1.0 if width is None else min(last[2] + 1.0, width - 1.0)
    return x, (first[1] + first[3]) / 2.0, x2, (last[1] + last[3]) / 2.0


@dataclass(frozen=True)
class Phrase:
    """Words found on the page.

    Attributes:
        text: How they read.
        first: Box of the first word (XYXY pixels).
        last: Box of the last word.
        score: How well ``text`` reads like what was looked for (0..1).
    """

    text: str
    first: Box
    last: Box
    score: float


def row_words(image: np.ndarray, row: Box, text: str) -> list[tuple[str, Box]]:
    """The words of a text row read as ``text``, each with its box (XYXY pixels); the whole
    row as one word when its gaps do not tell the words apart."""
    x1, y1, x2, y2 = row
    crop = image[max(y1 - 1, 0):y2 + 1, x1:x2]
    words = text.split()
    found = line_words(crop, " ".join(words)) if words else None
    if found is None or len(found.words) != len(words):
        return [(text, row)] if text else []
    out = []
    for word, glyphs in zip(words, found.words, strict=True):
        out.append((word, (x1 + glyphs[0][0], y1, x1 + glyphs[-1][1], y2)))
    return out


def find_phrase(image: np.ndarray, rows: Sequence[Box], reader: TextReader,
                phrase: str) -> Phrase | None:
    """The run of consecutive words (in reading order, so a phrase may wrap onto the next
    row) that reads most like ``phrase`` (its first and last words' boxes), or None when
    nothing reads like it (:data:`PHRASE_MATCH`)."""
    want = phrase.split()
    if not want or not rows:
        return None
    words: list[tuple[str, Box]] = []
    for row, (text, _) in zip(rows, reader.read(image, list(rows)), strict=True):
        words.extend(row_words(image, row, text))
    best: Phrase | None = None
    n = len(want)
    for i in range(max(len(words) - n + 1, 1)):
        part = words[i:i + n]
        if not part:
            continue
        reading = " ".join(w for w, _ in part)
        score = max(text_similarity(reading, phrase),
                    text_similarity(reading.strip(".,;:!?\"'"), phrase.strip(".,;:!?\"'")))
        if best is None or score > best.score:
            best = Phrase(reading, part[0][1], part[-1][1], score)
    if best is None or best.score < PHRASE_MATCH:
        logger.info("no words read like %r (best %s)", phrase, best)
        return None
    return best


#: Shortest side (px) of a text area's frame.
FRAME_SIDE = 12
#: Share of a frame's side that must be drawn in the frame's colour.
FRAME_COVER = 0.8


def _segments(grey: np.ndarray, least: int) -> list[tuple[int, int, int, int]]:
    """Horizontal runs ``(y, x1, x2, grey)`` of one exact mid grey at least ``least`` px long."""
    out = []
    mid = (grey > 60) & (grey < 235)
    for y in range(grey.shape[0]):
        row, ok = grey[y], mid[y]
        x = 0
        w = row.size
        while x < w:
            if not ok[x]:
                x += 1
                continue
            end = x + 1
            while end < w and row[end] == row[x]:
                end += 1
            if end - x >= least:
                out.append((y, x, end, int(row[x])))
            x = end
    return out


def framed_areas(parse: ScreenParse) -> list[ScreenElement]:
    """Text areas drawn as a frame of one grey with a resize grip in its bottom-right corner
    (or drawn just like such a frame, when text covers the grip), found from the frame's
    lines (the white inside may be cut by text running into the frame, so that it is no
    field to :func:`~lavr.episodes.gui.perception.find_elements`); as ``input`` elements
    with ``icon="grip"``, XYXY pixels, top to bottom."""
    image = parse.image
    grey = np.rint(image.astype(np.float32).mean(axis=2)).astype(np.int32)
    flat = (image.max(axis=2).astype(np.int32) - image.min(axis=2)) < 12
    grey = np.where(flat, grey, -1)
    segs = _segments(grey, 24)
    top_edge = parse.banner[3] if parse.banner is not None else 0
    frames: list[tuple[Box, int, bool]] = []
    for i, (y1, a1, b1, g1) in enumerate(segs):
        if y1 < top_edge:
            continue
        for y2, a2, b2, g2 in segs[i + 1:]:
            if g2 != g1 or abs(a2 - a1) > 1 or abs(b2 - b1) > 1 or y2 - y1 < FRAME_SIDE:
                continue
            x1, x2 = min(a1, a2) - 1, max(b1, b2)  # (rounded corners: the sides stand outside)
            if x1 < 0 or x2 >= grey.shape[1]:
                continue
            sides = grey[y1 + 1:y2, [x1, x2]] == g1
            # (the sides start right under the top line and end right over the bottom one:
            # the bottom line of a frame above is no top line of a frame below)
            if sides.mean(axis=0).min() < FRAME_COVER or not sides[:2].all() or \
                    not sides[-2:].all():
                continue
            frames.append(((x1, y1, x2 + 1, y2 + 1), g1, _corner_grip(grey, x2, y2)))
            break  # (the nearest bottom line closes this top line's frame)
    # a frame whose grip text covers is still a text area when it is drawn like one that
    # shows its grip (the same grey, the same height)
    gripped = [(g, b[3] - b[1]) for b, g, grip in frames if grip]
    return [ScreenElement("input", box, icon="grip") for box, g, grip in frames
            if grip or any(g == g2 and abs((box[3] - box[1]) - h2) <= 2 for g2, h2 in gripped)]


def _corner_grip(grey: np.ndarray, x2: int, y2: int, side: int = 8) -> bool:
    """A resize grip in the ``side`` px square inside a frame's bottom-right corner (its
    right line at column ``x2``, bottom line at row ``y2``): pixels of one exact grey forming
    two or more parallel ``/`` strokes (text running into the square is anti-aliased, of
    many greys, and drawn in other directions)."""
    corner = grey[max(y2 - side, 0):y2, max(x2 - side, 0):x2]
    for value in np.unique(corner[(corner >= 0) & (corner < 200)]):
        ii, jj = np.nonzero(corner == value)
        if len(ii) < 5:
            continue
        _, counts = np.unique(ii + jj, return_counts=True)
        strokes = counts[counts >= 3]
        if len(strokes) >= 2 and strokes.sum() >= 0.8 * len(ii):
            return True
    return False


def text_fields(parse: ScreenParse) -> list[ScreenElement]:
    """The screen's text fields in reading order: its inputs, and the framed text areas
    (:func:`framed_areas`) that no input lies in."""
    inputs = list(parse.of_kind("input"))
    frames = framed_areas(parse)
    # an input within a frame is that frame's area (or a piece of it): the frame stands for it
    kept = [f for f in inputs if not any(boxes_overlap(f.box, a.box) for a in frames)]
    return sorted(kept + frames, key=lambda e: (e.box[1], e.box[0]))


def is_text_area(field: ScreenElement, fields: Sequence[ScreenElement]) -> bool:
    """A multi-line text area rather than a one-line field: it shows a resize grip, or it is
    :data:`AREA_HEIGHT` times as tall as the lowest field on the screen."""
    if field.icon == "grip":
        return True
    lowest = min((f.height for f in fields), default=field.height)
    return field.height >= AREA_HEIGHT * lowest


def choose_field(fields: Sequence[ScreenElement], *, area: bool | None, index: int | None,
                 exclude: Sequence[Box] = ()) -> ScreenElement | None:
    """The field an instruction names: of ``fields`` (reading order) minus those overlapping
    ``exclude``, the text areas (``area`` True) or one-line fields (False; None: any), the
    ``index``-th of them (None: the first); when none is of the kind named, the
    ``index``-th of any."""
    free = [f for f in fields if not any(boxes_overlap(f.box, b) for b in exclude)]
    kind = free if area is None else [f for f in free if is_text_area(f, free) == area]
    pool = kind or free
    i = 0 if index is None else index
    if not pool or i >= len(pool) or i < -len(pool):
        return None
    return pool[i]


#: Grey level below which a pixel is part of a toolbar icon (icons are often mid-grey).
ICON_INK = 200
#: Sides (px) of an icon's ink.
ICON_SIDES = (8, 28)


def _letter_over_bar(ink: np.ndarray) -> int | None:
    """Height of the letter when ``ink`` (one icon's ``HxW bool`` ink) is a glyph over a
    horizontal bar at least as wide as 80 % of the icon, a blank row between them (the
    font-colour icon: an ``A`` over a colour bar); None otherwise."""
    rows = ink.any(axis=1)
    filled = ink.mean(axis=1)
    h = ink.shape[0]
    bottom = h
    while bottom > 0 and not rows[bottom - 1]:
        bottom -= 1
    bar = bottom
    while bar > 0 and filled[bar - 1] >= 0.8:
        bar -= 1
    if bar == bottom or bottom - bar > 4 or bar == 0 or rows[bar - 1]:
        return None
    top = bar
    while top > 0 and not rows[top - 1]:
        top -= 1
    return top if top >= 4 else None


def colour_control(parse: ScreenParse, reader: TextReader) -> Box | None:
    """The font-colour control of an editing toolbar: an icon drawn as the letter ``A``
    over a colour bar (the convention of word processors and rich editing widgets), read by
    OCR; its box (XYXY pixels), or None when no icon looks so."""
    image = parse.image
    grey = image.astype(np.float32).mean(axis=2)
    ink = grey < ICON_INK
    if parse.banner is not None:
        bx1, by1, bx2, by2 = parse.banner
        ink[by1:by2, bx1:bx2] = False
    lo, hi = ICON_SIDES
    # (a letter and the bar under it, up to three blank rows apart, are one icon)
    joined = ink.copy()
    for k in (1, 2, 3):
        joined[k:] |= ink[:-k]
    found: list[tuple[Box, Box]] = []
    for jx1, jy1, jx2, jy2 in text_runs(joined, gap=2):
        ys, xs = np.nonzero(ink[jy1:jy2, jx1:jx2])
        if ys.size == 0:
            continue
        box = (jx1 + int(xs.min()), jy1 + int(ys.min()), jx1 + int(xs.max()) + 1,
               jy1 + int(ys.max()) + 1)
        x1, y1, x2, y2 = box
        if not (lo <= x2 - x1 <= hi and lo <= y2 - y1 <= hi):
            continue
        letter = _letter_over_bar(ink[y1:y2, x1:x2])
        if letter is not None:
            found.append((box, (x1, y1, x2, y1 + letter)))
    if not found:
        return None
    reads = reader.read(image, [glyph for _, glyph in found])
    for (box, _), (text, _) in zip(found, reads, strict=True):
        if text.strip().upper() == "A":
            return box
    logger.info("icons over a bar, none reads A: %s", [t for t, _ in reads])
    return None
