"""Reading the page beyond single widgets: its text in rows, and the labels of fields.

* :func:`text_rows` — the page's text (the dark ink outside the banner, text
  fields and buttons) as rows: ink that shares a line is one box, so ``7 + 3 =``
  drawn as separate glyphs is read as one line.
* :func:`page_text` — those rows read by OCR, top to bottom (a row of distorted
  letters, each slanted on its own as a captcha draws them, is read by drawing the
  font's letters at those slants: :mod:`~lavr.episodes.gui.distorted`).
* :func:`field_labels` — the label of each text field wherever it is drawn: left
  of, above or below the field, dark on light or light on dark. Each field
  takes the nearest ink run outside every widget; the run is binarised (ink
  black on white) before it is read, so a white label on a dark panel reads
  like any other.

Pixels only, as everywhere in the GUI agent: ``HxWx3 uint8 RGB`` screenshots and
XYXY pixel boxes.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence

import numpy as np

from lavr.episodes.gui.distorted import read_distorted
from lavr.episodes.gui.perception import ScreenElement, ScreenParse, TextReader, ink_mask, text_runs

logger = logging.getLogger(__name__)

Box = tuple[int, int, int, int]

#: How far (px) from a field its label may be.
LABEL_REACH = 16
#: How far left of a field (px) a label may start.
LABEL_LEFT = 110
#: Grey-level difference from the local background that counts as ink.
INK_CONTRAST = 70
#: Rows this tall (px) or taller are large text ...
LARGE_TEXT = 16
#: ... read at this zoom (small text needs 3x, large text reads better near 1.5x).
LARGE_TEXT_ZOOM = 1.5
#: Rows this tall (px) or taller may be distorted letters (:mod:`~lavr.episodes.gui.distorted`).
DISTORTED_TEXT = 18
#: Side (px) of the corner of a text area where its resize grip is drawn.
GRIP_CORNER = 10
#: Widget kinds whose pixels are never page text.
WIDGET_KINDS = ("button", "input", "checkbox", "radio", "link")


def text_rows(parse: ScreenParse) -> list[Box]:
    """Boxes of the page's text rows, top to bottom: the dark ink outside the banner and
    outside text fields and buttons, cut into rows (a row is one box however wide its gaps,
    so ``7 + 3 =`` drawn as separate glyphs is one row). Taken from the pixels, not from the
    ``text`` elements: large glyphs (a ``9``'s loop looks like a radio) are rows too."""
    h, w = parse.image.shape[:2]
    ink = ink_mask(parse.image)
    if parse.banner is not None:
        bx1, by1, bx2, by2 = parse.banner
        ink[by1:by2, bx1:bx2] = False
    for e in parse.of_kind("input", "button"):
        if _large_glyphs(parse.image, e.box, ink):
            continue  # large text taken for a widget (the loops of "44" look like a button)
        x1, y1, x2, y2 = e.box
        ink[max(y1 - 2, 0):y2 + 2, max(x1 - 2, 0):x2 + 2] = False
    return [b for b in text_runs(ink, gap=w) if b[3] - b[1] >= 4 and (b[2] - b[0]) * (b[3] - b[1]) >= 16]


def _large_glyphs(image: np.ndarray, box: Box, ink: np.ndarray) -> bool:
    """Whether a widget's box is large text rather than a widget: its outline (the ring just
    outside the box) is the page's plain background all round (no frame, no face of its own)
    and the dark ink inside is at least :data:`LARGE_TEXT` px tall."""
    h, w = image.shape[:2]
    x1, y1, x2, y2 = box
    if x1 < 2 or y1 < 2 or x2 > w - 2 or y2 > h - 2:
        return False
    inside = ink[y1:y2, x1:x2]
    rows = np.flatnonzero(inside.any(axis=1))
    if len(rows) == 0 or rows[-1] - rows[0] + 1 < LARGE_TEXT:
        return False
    ring = np.concatenate([image[y1 - 2, x1 - 2:x2 + 2], image[y2 + 1, x1 - 2:x2 + 2],
                           image[y1 - 2:y2 + 2, x1 - 2], image[y1 - 2:y2 + 2, x2 + 1]]).astype(int)
    bg = np.median(ring, axis=0)
    plain = np.abs(ring - bg).max(axis=1) <= 8
    # the box's own edge rows and columns: a widget's frame or face differs from the page
    edge = np.concatenate([image[y1, x1:x2], image[y2 - 1, x1:x2], image[y1:y2, x1],
                           image[y1:y2, x2 - 1]]).astype(int)
    same = np.abs(edge - bg).max(axis=1) <= 8
    return bool(plain.mean() >= 0.95 and bg.min() >= 200 and same.mean() >= 0.6)


def page_text(parse: ScreenParse, reader: TextReader) -> list[str]:
    """The page's text rows read by OCR, top to bottom (empty rows dropped).

    A row of :data:`DISTORTED_TEXT` px or taller whose letters are each sheared on their own
    (:func:`~lavr.episodes.gui.distorted.read_distorted`) is read by drawing them instead.

    Rows of large text (:data:`LARGE_TEXT` px and taller) are read at a smaller zoom
    (:data:`LARGE_TEXT_ZOOM`), which suits the recogniser's input size better.
    """
    out = []
    for row in text_rows(parse):
        drawn = read_distorted(parse.image, row) if row[3] - row[1] >= DISTORTED_TEXT else None
        if drawn:  # letters each slanted on its own (a captcha): read by drawing them
            logger.info("row %s holds distorted letters, read as %r", row, drawn)
            out.append(drawn)
        else:
            out.extend(text for _, text in read_boxes(parse.image, [row], reader))
    return out


def read_boxes(image: np.ndarray, boxes: Sequence[Box], reader: TextReader) -> list[tuple[Box, str]]:
    """``(box, text)`` of each box of text read by OCR (empty reads dropped), large text
    (:data:`LARGE_TEXT` px and taller) at :data:`LARGE_TEXT_ZOOM`."""
    if not boxes:
        return []
    large = reader_at_zoom(reader, LARGE_TEXT_ZOOM)
    out = []
    for box in boxes:
        r = large if box[3] - box[1] >= LARGE_TEXT else reader
        text, _ = r.read(image, [box], pad=4 if r is large else 2)[0]
        if text:
            out.append((box, text))
    return out


def run_from(image: np.ndarray, box: Box, *, gap: int = 0) -> Box | None:
    """The run of ink that starts where ``box`` starts, on its row, as it is drawn now: a
    value seen in ``box`` that may have grown or shrunk since (``$9.50`` -> ``$10.25``). Its
    ink from ``box``'s left edge to the first gap wider than ``gap`` (default
    :data:`CELL_GAP`) px; None when no ink is there."""
    h, w = image.shape[:2]
    x1, y1, x2, y2 = box
    ya, yb, xa = max(y1 - 3, 0), min(y2 + 3, h), max(x1 - 2, 0)
    ink = ink_mask(image[ya:yb, xa:])
    runs = text_runs(ink, gap=gap or CELL_GAP, offset=(xa, ya))
    runs = [r for r in runs if r[0] <= x2 and r[2] > x1]
    return min(runs, key=lambda r: r[0]) if runs else None


def area_lines(image: np.ndarray, box: Box, *, inset: int = 2) -> list[Box]:
    """Boxes of the text lines shown inside a box (a text area, a panel), top to bottom.

    The box's border (``inset`` px) is left out, and so is a resize grip in its bottom-right
    corner (parallel ``/`` strokes: the anti-diagonals of the corner that hold three or more
    ink pixels). A line that touches the box's top or bottom edge and is lower than the lines
    usually are (cut: scrolled half out of view) is dropped.

    Args:
        image: ``HxWx3 uint8 RGB`` screenshot.
        box: XYXY pixels of the area.
        inset: Border width (px) not searched.
    """
    x1, y1, x2, y2 = box
    ax1, ay1, ax2, ay2 = x1 + inset, y1 + inset, x2 - inset, y2 - inset
    if ax2 - ax1 < 4 or ay2 - ay1 < 4:
        return []
    ink = ink_mask(image)[ay1:ay2, ax1:ax2].copy()
    side = min(GRIP_CORNER, ink.shape[0], ink.shape[1])
    corner = ink[-side:, -side:]
    ii, jj = np.nonzero(corner)
    if len(ii):
        diag, counts = np.unique(ii + jj, return_counts=True)
        strokes = set(diag[counts >= 3].tolist())
        if len(strokes) >= 2:  # a grip: its strokes are no text
            on = np.array([d in strokes for d in (ii + jj)])
            corner[ii[on], jj[on]] = False
    rows = [b for b in text_runs(ink, gap=ax2 - ax1, offset=(ax1, ay1)) if b[3] - b[1] >= 3]
    if not rows:
        return []
    usual = float(np.median([b[3] - b[1] for b in rows]))
    return [b for b in rows if (b[1] > ay1 and b[3] < ay2) or b[3] - b[1] >= usual - 1]


def area_text(image: np.ndarray, box: Box, reader: TextReader, *, last: bool = False) -> str:
    """The text shown inside a box (a text area), its lines read by OCR and joined with spaces;
    ``last``: only its last line that reads as something (where its last word is).

    When the lines are set in a monospaced font (:func:`monospace_pitch`), a line whose
    reading has fewer or more characters than its width holds (OCR merging ``rm`` into
    ``m``) is read again at other zooms, and the reading of the right length is kept.
    """
    lines = area_lines(image, box)
    if not lines:
        return ""
    texts = [_tidy(t) for t, _ in reader.read(image, lines)]
    read = [(b, t) for b, t in zip(lines, texts, strict=True) if t]
    pitch = monospace_pitch(read)
    if pitch is not None:
        read = [(b, _fit_length(image, b, t, pitch, reader)) for b, t in read]
        read = [(b, case_by_height(image, b, t, pitch)) for b, t in read]
    if last:
        return read[-1][1] if read else ""
    return " ".join(t for _, t in read)


#: Zooms a line is read again at when its reading does not fit its width.
REREAD_ZOOMS = (2.0, 2.5, 3.5, 4.0)


def _tidy(text: str) -> str:
    """OCR's spaces before punctuation dropped (``aliquet . Id`` -> ``aliquet. Id``)."""
    return re.sub(r"\s+([.,;:!?])", r"\1", text.strip())


def _cells(box: Box, pitch: float) -> int:
    """How many characters of a monospaced font a line of this width holds (the last glyph's
    ink may be narrower than a full cell)."""
    return int((box[2] - box[0] - 1) // pitch) + 1


def monospace_pitch(lines: Sequence[tuple[Box, str]]) -> float | None:
    """The character pitch (px) of text lines set in a monospaced font, or None when they are
    not (or too few lines were read to tell): the widths per character of the lines of twelve
    characters or more (a line's last glyph taken as half a cell) must agree within 4 % of
    their median for two thirds of them (a line misread by a letter is the odd one out);
    the pitch is that median."""
    ratios = sorted((b[2] - b[0]) / (len(t) - 0.5) for b, t in lines if len(t) >= 12)
    if len(ratios) < 2:
        return None
    med = float(np.median(ratios))
    agree = sum(abs(r - med) <= 0.04 * med for r in ratios)
    return med if agree >= max(2, 2 * len(ratios) / 3) else None


#: Letters drawn alike in both cases but for their size.
SIZE_CASED = frozenset("cosuvwxz")
#: Letters of x-height (no ascender) whose case OCR reads reliably.
_SHORT = frozenset("aemnr")
#: Letters and digits as tall as a capital.
_TALL = frozenset("ABDEFGHKLMNPRTbdfhklt0123456789")


def case_by_height(image: np.ndarray, box: Box, text: str, pitch: float) -> str:
    """``text`` (one monospaced line, read with as many characters as its width holds) with the
    first letter of each word, when it is drawn alike in both cases (``c o s u v w x z``,
    :data:`SIZE_CASED`), set to the case its glyph's height says: as tall as the line's capitals and ascenders, or as its x-height letters
    (OCR reads ``ut.`` as ``Ut.``). Unchanged when the length does not fit or the line shows too
    few of either kind to tell."""
    if len(text) != _cells(box, pitch):
        return text
    x1, y1, x2, y2 = box
    lead = 3  # (the first glyph's ink may start a pixel or two into its cell)
    ink = ink_mask(image)[y1:y2, max(x1 - lead, 0):x2]
    lead = x1 - max(x1 - lead, 0)
    cols = ink.any(axis=0)
    # the cells' left edges: the shift that puts the fewest ink columns on a cell's edge
    shift = min(range(lead + 1), key=lambda o: sum(
        bool(cols[c]) for i in range(1, len(text)) if 0 <= (c := lead - o + int(round(i * pitch)))
        < cols.size))
    heights: list[int | None] = []
    for i in range(len(text)):
        a = lead - shift + int(round(i * pitch))
        b = lead - shift + int(round((i + 1) * pitch))
        rows = np.nonzero(ink[:, max(a, 0):max(b, 0)].any(axis=1))[0]
        heights.append(None if rows.size == 0 else int(rows[-1]) - int(rows[0]) + 1)
    tall = [h for ch, h in zip(text, heights, strict=True) if ch in _TALL and h]
    short = [h for ch, h in zip(text, heights, strict=True) if ch in _SHORT and h]
    if not tall or not short or np.median(tall) - np.median(short) < 2:
        return text
    cut = (float(np.median(tall)) + float(np.median(short))) / 2
    # (only a word's first letter: inside a word OCR keeps the case)
    out = [ch if ch.lower() not in SIZE_CASED or h is None or (i and text[i - 1].isalnum()) else
           (ch.upper() if h > cut else ch.lower())
           for i, (ch, h) in enumerate(zip(text, heights, strict=True))]
    fixed = "".join(out)
    if fixed != text:
        logger.info("letter case by glyph height: %r -> %r", text, fixed)
    return fixed


def _fit_length(image: np.ndarray, box: Box, text: str, pitch: float,
                reader: TextReader) -> str:
    """``text``, or a reading at another zoom whose length fits the line's width in cells of
    ``pitch`` px (the most common such reading) when ``text`` does not."""
    want = _cells(box, pitch)
    if len(text) == want:
        return text
    fits: list[str] = []
    for zoom in REREAD_ZOOMS:
        for pad in (2, 4):
            again = _tidy(reader_at_zoom(reader, zoom).read(image, [box], pad=pad)[0][0])
            if len(again) == want:
                fits.append(again)
    if not fits:
        return text
    best = max(set(fits), key=fits.count)
    logger.info("a monospaced line of %d characters read %r: %r fits", want, text, best)
    return best


def reader_at_zoom(reader: TextReader, zoom: float) -> TextReader:
    """``reader`` at another zoom (``reader`` itself when it cannot change its zoom)."""
    at_zoom = getattr(reader, "at_zoom", None)
    return at_zoom(zoom) if callable(at_zoom) else reader


def _inside(inner: Box, outer: Box, margin: int = 1) -> bool:
    return (inner[0] >= outer[0] - margin and inner[1] >= outer[1] - margin and
            inner[2] <= outer[2] + margin and inner[3] <= outer[3] + margin and inner != outer)


def _ink_box(grey: np.ndarray, free: np.ndarray, region: Box) -> Box | None:
    """Bounding box of the ink in ``region`` (only where ``free``), nearest block of rows/cols."""
    x1, y1, x2, y2 = region
    if x2 - x1 < 3 or y2 - y1 < 3:
        return None
    g = grey[y1:y2, x1:x2]
    ok = free[y1:y2, x1:x2]
    if not ok.any():
        return None
    vals = g[ok].astype(int)
    bg = int(np.bincount(vals).argmax())
    ink = (np.abs(g.astype(int) - bg) > INK_CONTRAST) & ok
    if ink.sum() < 8:
        return None
    ys, xs = np.nonzero(ink)
    return x1 + int(xs.min()), y1 + int(ys.min()), x1 + int(xs.max()) + 1, y1 + int(ys.max()) + 1


def _first_block(mask_1d: np.ndarray, *, reverse: bool, gap: int = 3) -> tuple[int, int] | None:
    """The first run of True (allowing ``gap``-long holes) from the start (or the end)."""
    idx = np.nonzero(mask_1d)[0]
    if idx.size == 0:
        return None
    idx = idx[::-1] if reverse else idx
    start = end = int(idx[0])
    for i in idx[1:]:
        if abs(int(i) - end) > gap:
            break
        end = int(i)
    return (min(start, end), max(start, end) + 1)


def label_boxes(parse: ScreenParse, fields: Sequence[ScreenElement]) -> list[tuple[Box, float] | None]:
    """Where each field's label is, with its distance (px); None for a field with no label near.

    Candidates are the ink runs right left of, right above and right below the
    field (pixels of widgets excluded); the nearest wins.
    """
    image = parse.image
    h, w = image.shape[:2]
    grey = image.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
    free = np.ones((h, w), bool)
    if parse.banner is not None:
        bx1, by1, bx2, by2 = parse.banner
        free[by1:by2, bx1:bx2] = False
    for e in parse.of_kind(*WIDGET_KINDS):
        x1, y1, x2, y2 = e.box
        free[max(y1 - 1, 0):y2 + 1, max(x1 - 1, 0):x2 + 1] = False
    out: list[tuple[Box, float] | None] = []
    for f in fields:
        x1, y1, x2, y2 = f.box
        cands: list[tuple[float, Box]] = []
        # left: the rows of the field, the ink block nearest the field
        region = (max(x1 - LABEL_LEFT, 0), y1, x1, y2)
        box = _ink_box(grey, free, region)
        if box is not None:
            cols = _column_profile(grey, free, box)
            blk = _first_block(cols, reverse=True, gap=8)
            if blk is not None:
                bx1, bx2 = box[0] + blk[0], box[0] + blk[1]
                cands.append((float(x1 - bx2), (bx1, box[1], bx2, box[3])))
        # above / below: the columns of the field, the ink rows nearest the field
        for lo, hi, rev in ((max(y1 - LABEL_REACH, 0), y1, True), (y2, min(y2 + LABEL_REACH, h), False)):
            box = _ink_box(grey, free, (x1, lo, x2, hi))
            if box is None:
                continue
            rows = _row_profile(grey, free, box)
            blk = _first_block(rows, reverse=rev, gap=1)
            if blk is None:
                continue
            by1, by2 = box[1] + blk[0], box[1] + blk[1]
            if by2 - by1 < 5:  # a border or an underline, not a line of text
                continue
            sub = _ink_box(grey, free, (x1, by1, x2, by2)) or box
            dist = float(y1 - by2) if rev else float(by1 - y2)
            cands.append((dist, (sub[0], by1, sub[2], by2)))
        out.append(min(((b, d) for d, b in cands), key=lambda t: t[1]) if cands else None)
    return out


def _ink(grey: np.ndarray, free: np.ndarray, box: Box) -> np.ndarray:
    x1, y1, x2, y2 = box
    g = grey[y1:y2, x1:x2].astype(int)
    ok = free[y1:y2, x1:x2]
    bg = int(np.bincount(g[ok].ravel()).argmax()) if ok.any() else 255
    return (np.abs(g - bg) > INK_CONTRAST) & ok


def _row_profile(grey: np.ndarray, free: np.ndarray, box: Box) -> np.ndarray:
    return _ink(grey, free, box).any(axis=1)


def _column_profile(grey: np.ndarray, free: np.ndarray, box: Box) -> np.ndarray:
    return _ink(grey, free, box).any(axis=0)


def binarised(image: np.ndarray, box: Box) -> np.ndarray:
    """A copy of ``image`` with ``box`` redrawn as black ink on white (light-on-dark text too)."""
    out = image.copy()
    x1, y1, x2, y2 = box
    grey = image[y1:y2, x1:x2].astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
    g = grey.astype(int)
    bg = int(np.bincount(g.ravel()).argmax())  # text ink is the minority
    ink = np.abs(g - bg) > INK_CONTRAST
    out[y1:y2, x1:x2] = np.where(ink[..., None], 0, 255).astype(np.uint8)
    return out


def field_labels(parse: ScreenParse, fields: Sequence[ScreenElement],
                 reader: TextReader) -> list[str]:
    """The label of each field, read by OCR (``""`` where none was found)."""
    found = label_boxes(parse, fields)
    out = []
    for f in found:
        if f is None:
            out.append("")
            continue
        box, _ = f
        x1, y1, x2, y2 = box
        h, w = parse.image.shape[:2]
        padded = (max(x1 - 2, 0), max(y1 - 2, 0), min(x2 + 2, w), min(y2 + 2, h))
        img = parse.image
        patch = img[y1:y2, x1:x2].mean(axis=2).astype(int)
        if np.bincount(patch.ravel()).argmax() < 128:  # light text on a dark panel
            img = binarised(img, padded)
        text, _ = reader.read(img, [box])[0]
        out.append(text)
    return out


#: Largest gap (px) between the words of one table cell or label (columns lie further apart).
CELL_GAP = 7
#: Text similarity a cell needs to be the label a lookup names.
KEY_MATCH = 0.7


def page_cells(parse: ScreenParse, reader: TextReader) -> list[tuple[Box, str]]:
    """The page's text cut into cells and read: the dark ink outside the banner (inside
    widgets too: a table's cells may look like fields or buttons, and a field's value is the
    value of its label), in runs whose words lie at most :data:`CELL_GAP` px apart, so a
    table's columns and a label and its value beside it are separate cells; ``(box, text)``
    in reading order, empty reads dropped."""
    ink = ink_mask(parse.image)
    if parse.banner is not None:
        bx1, by1, bx2, by2 = parse.banner
        ink[by1:by2, bx1:bx2] = False
    boxes = [b for b in text_runs(ink, gap=CELL_GAP) if b[3] - b[1] >= 4]
    if not boxes:
        return []
    return [(b, t) for b, (t, _) in zip(boxes, reader.read(parse.image, boxes), strict=True) if t]


#: Largest gap between two lines of one cell whose text wraps, in heights of the upper line.
WRAP_GAP = 0.75


def wrapped_cells(cells: Sequence[tuple[Box, str]]) -> list[tuple[Box, str]]:
    """``cells`` with the lines of a cell whose text wraps joined into one (``Year of`` over
    ``Birth``): a cell right under another's last line, starting at its left edge (within 3 px),
    at most :data:`WRAP_GAP` of that line's height below it, continues it, unless a cell of
    another column starts on its height too (a new row of a table) or either is a label with
    its value (``Email: ann@x.io`` over ``Address: ...``: lines of a form, not of one cell)."""
    out: list[tuple[Box, str]] = []
    last: list[Box] = []  # the last line of each cell of ``out``
    tops = [(b[1], b[0], b[2]) for b, _ in cells]

    def new_row(box: Box) -> bool:
        return any(abs(t - box[1]) <= 3 and (x2 <= box[0] or x1 >= box[2]) for t, x1, x2 in tops)

    for box, text in sorted(cells, key=lambda c: (c[0][1], c[0][0])):
        for k, line in enumerate(last):
            if ":" in text or ":" in out[k][1]:
                continue
            if abs(box[0] - line[0]) <= 3 and box[1] >= line[3] and \
                    box[1] - line[3] <= WRAP_GAP * (line[3] - line[1]) and not new_row(box):
                ob, ot = out[k]
                out[k] = ((min(ob[0], box[0]), ob[1], max(ob[2], box[2]), box[3]), f"{ot} {text}")
                last[k] = box
                break
        else:
            out.append((box, text))
            last.append(box)
    return out


def _overlap_1d(a1: int, a2: int, b1: int, b2: int) -> float:
    """Overlap of two spans as a fraction of the shorter one."""
    return max(0, min(a2, b2) - max(a1, b1)) / max(min(a2 - a1, b2 - b1), 1)


def value_of(cells: Sequence[tuple[Box, str]], key: str, *,
             match: float = KEY_MATCH) -> tuple[str, Box, Box] | None:
    """The value the page shows for the label ``key``: the cell that spells ``key`` best
    (OCR-tolerant, at least ``match``) is the label; its value is the nearest cell right of it
    on the same row (a table of label and value columns, a form's ``Label: value``; the part
    after the colon when label and value were read as one cell), or the
    nearest cell below it in the same column when the label heads a column (cells left of it,
    or two or more beside it, with cells under it: a table with labels as column headers).

    Args:
        cells: ``(box, text)`` of the page's text cells (:func:`page_cells`), XYXY pixels.
        key: The label whose value is wanted (``Last name``).
        match: Smallest similarity of the label's cell to ``key``.

    Returns:
        ``(value, label box, value box)``, or None when no cell names ``key`` or nothing
        is beside or below it.
    """
    from lavr.episodes.gui.perception import text_similarity

    cells = wrapped_cells(cells)
    scored = [(text_similarity(t.rstrip(" :"), key), b, t) for b, t in cells]
    if not scored:
        return None
    score, kb, _ = max(scored, key=lambda s: s[0])
    # a label and its value read as one cell, ``Last name: Smith`` (one space apart)
    inline = [(text_similarity(t.split(":", 1)[0], key), b, t.split(":", 1)[1].strip())
              for b, t in cells if ":" in t.rstrip(" :")]
    if inline:
        in_score, ib, value = max(inline, key=lambda s: s[0])
        if in_score >= match and in_score > score and value:
            return value, ib, ib
    if score < match:
        return None
    others = [(b, t) for b, t in cells if b != kb]
    row = [b for b, _ in others if _overlap_1d(b[1], b[3], kb[1], kb[3]) >= 0.5]
    right = [(b[0] - kb[2], b, t) for b, t in others
             if b[0] >= kb[2] - 2 and _overlap_1d(b[1], b[3], kb[1], kb[3]) >= 0.5]
    below = [(b[1] - kb[3], b, t) for b, t in others
             if b[1] >= kb[3] - 2 and _overlap_1d(b[0], b[2], kb[0], kb[2]) >= 0.5]
    # a label with cells left of it, or one of several beside each other with cells under
    # them, heads a column; else it starts a row (label, value)
    header = below and (any(b[2] <= kb[0] + 2 for b in row) or len(row) >= 2)
    for found in ((below, right) if header else (right, below)):
        if found:
            _, vb, vt = min(found, key=lambda r: r[0])
            return vt, kb, vb
    return None


def property_value(cells: Sequence[tuple[Box, str]], prop: str) -> tuple[str, Box, Box] | None:
    """The value shown for a property named in free words (``phone number``, ``address``): the
    value of the label spelling the whole name (:func:`value_of`), else of one spelling its
    longest word that does (a label ``Phone:`` for ``phone number``); None when none does."""
    found = value_of(cells, prop)
    if found is not None:
        return found
    words = sorted((w for w in re.findall(r"[^\W_]{3,}", prop)), key=len, reverse=True)
    for word in words if len(words) > 1 else []:
        found = value_of(cells, word)
        if found is not None:
            return found
    return None
