"""Composite widgets on a parsed screen: item lists, menus, panels, dropdowns, spinners.

:func:`find_elements` names flat widgets one region at a time; the composite
widgets are built from them here, still from pixels only:

* a **stacked box** — one filled box holding several left-aligned text lines one above
  the other (a menu, a list drawn as one block) — gets one ``text`` item per line,
  spanning the box's width, so each line can be hovered or clicked on its own;
* a **panel** — a rectangle outlined in ink (a list box, an accordion's open section)
  — becomes one ``text`` item per line inside it, and is kept as a *scroll area*: its
  content may continue below its bottom edge;
* an **input with a chevron** at its right end is a dropdown (``icon="dropdown"``);
* an **input with a small arrow button** glued to its right end is a spinner
  (``icon="spinner"``);
* a small **box with a plus** (a tree's expander) is an ``expander``.

Nothing here looks at the DOM.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from dataclasses import dataclass, field

import numpy as np

from lavr.episodes.gui.language import DIGIT_LOOKALIKES
from lavr.episodes.gui.perception import (
    Box,
    ScreenElement,
    ScreenParse,
    fill_holes,
    ink_mask,
    normalise_text,
    text_runs,
)

logger = logging.getLogger(__name__)

#: Fraction of a box's outline that must be ink for it to be a panel.
PANEL_OUTLINE = 0.85


@dataclass
class Widgets:
    """Composite widgets seen on one screen.

    Attributes:
        scroll_areas: Panels whose content may scroll (list boxes, open sections).
        expanders: Small boxes with a plus (tree nodes to open).
    """

    scroll_areas: list[Box] = field(default_factory=list)
    expanders: list[ScreenElement] = field(default_factory=list)


def _rows(boxes: tuple[Box, ...]) -> tuple[Box, ...]:
    """Text runs joined into lines: runs that overlap vertically are one line (a label and
    the arrow after it)."""
    rows: list[Box] = []
    for b in sorted(boxes, key=lambda b: (b[1], b[0])):
        if rows and b[1] < rows[-1][3] - 2:
            r = rows[-1]
            rows[-1] = (min(r[0], b[0]), min(r[1], b[1]), max(r[2], b[2]), max(r[3], b[3]))
        else:
            rows.append(b)
    return tuple(rows)


def _run_on(ink: np.ndarray, line: Box, edge: int, gap: int = 3) -> Box:
    """A text line that reaches a box's right frame, extended over the ink past it."""
    x1, y1, x2, y2 = line
    if x2 < edge - 3:
        return line
    x, last = edge, x2
    while x < ink.shape[1] and x - last <= gap:
        if ink[y1:y2, x].any():
            last = x + 1
        x += 1
    return (x1, y1, max(x2, last), y2)


def _stacked(boxes: tuple[Box, ...]) -> bool:
    """Two or more text lines, each below the previous one and starting where it starts (the
    items of a menu or list; the centred lines of a wrapped button label are not)."""
    return len(boxes) >= 2 and all(b[1] >= a[3] - 1 for a, b in zip(boxes, boxes[1:], strict=False)) \
        and max(b[0] for b in boxes) - min(b[0] for b in boxes) <= 3


def _row_item(container: Box, line: Box, fill: tuple[int, int, int], pad: int = 3, *,
              ink: np.ndarray | None = None) -> ScreenElement:
    x1, _, x2, _ = container
    lines = _wrapped(ink, line) if ink is not None else (line,)
    return ScreenElement("text", (x1 + 1, max(line[1] - pad, container[1]), x2 - 1,
                                  min(line[3] + pad, container[3])), fill, text_boxes=lines)


#: A run this tall (px) or taller may be a label wrapped onto two lines beside a mark.
WRAPPED_RUN = 18
#: Widest mark (px) drawn before a label (an item's icon).
LEADING_MARK = 20


def _wrapped(ink: np.ndarray, line: Box) -> tuple[Box, ...]:
    """The text lines of an item whose label wraps beside a mark that spans them (an icon
    centred on a two-line label joins the lines into one tall run): the label's lines right of
    the mark, one box each; ``(line,)`` for a run that is one line."""
    x1, y1, x2, y2 = line
    if y2 - y1 < WRAPPED_RUN:
        return (line,)
    part = ink[y1:y2, x1:x2]
    cols = part.any(axis=0)
    start = 0
    while start < len(cols) and not cols[start]:
        start += 1
    end = start
    while end < len(cols) and cols[end:end + 3].any():  # the first group (gaps under 3 px)
        end += 1
    if 0 < end - start <= LEADING_MARK and cols[end:].any():
        start = end  # a mark before the label: the lines are right of it
    rows = part[:, start:].any(axis=1)
    out: list[Box] = []
    y = 0
    while y < len(rows):
        if rows[y]:
            top = y
            while y < len(rows) and rows[y]:
                y += 1
            if y - top >= 6:
                xs = np.flatnonzero(part[top:y, start:].any(axis=0))
                out.append((x1 + start + int(xs[0]), y1 + top, x1 + start + int(xs[-1]) + 1, y1 + y))
        else:
            y += 1
    return tuple(out) if len(out) >= 2 else (line,)


def _ink_sides(ink: np.ndarray, box: Box) -> tuple[float, float, float, float]:
    """Fraction of ink along the top, bottom, left and right edge of a box."""
    x1, y1, x2, y2 = box
    return (float(ink[y1, x1:x2].mean()), float(ink[y2 - 1, x1:x2].mean()),
            float(ink[y1:y2, x1].mean()), float(ink[y1:y2, x2 - 1].mean()))


def _panel_box(ink: np.ndarray, box: Box) -> Box | None:
    """The outlined rectangle a text run really is, if it is one: its ink frames it on the
    left, right and at least one of top and bottom (an open section hangs from its header)."""
    x1, y1, x2, y2 = box
    if x2 - x1 < 30 or y2 - y1 < 25:
        return None
    top, bottom, left, right = _ink_sides(ink, box)
    framed = left >= PANEL_OUTLINE and right >= PANEL_OUTLINE and max(top, bottom) >= PANEL_OUTLINE
    return box if framed else None


def _chevron(grey: np.ndarray, box: Box, *, reach: int = 16, ink: float | None = None) -> bool:
    """A ``v`` at the right end of a field: a small ink blob wider than tall, within ``reach``
    px of the right edge; ink is darker than 120, or than ``ink`` when given."""
    x1, y1, x2, y2 = box
    part = grey[y1 + 2:y2 - 2, max(x2 - reach, x1):x2 - 2] < (120 if ink is None else ink)
    ys, xs = np.nonzero(part)
    if len(xs) < 5:
        return False
    w, h = xs.max() - xs.min() + 1, ys.max() - ys.min() + 1
    if not (4 <= w <= 12 and 2 <= h <= 8 and w >= 1.3 * h):
        return False
    # a v: the top row is wider than the bottom row
    top = np.flatnonzero(part[ys.min()])
    bottom = np.flatnonzero(part[ys.max()])
    return top.max() - top.min() > bottom.max() - bottom.min()


def _select_button(grey: np.ndarray, e: ScreenElement) -> bool:
    """A button drawn as a select box: a small triangle pointing down (it may be lighter than
    text ink) in the right third of its box, and no other ink there."""
    x1, y1, x2, y2 = e.box
    fill = float(np.median(grey[y1 + 2:y2 - 2, x1 + 2:x2 - 2]))
    reach = max((x2 - x1) // 3, 16)
    if not _chevron(grey, e.box, reach=reach, ink=fill - 30):
        return False
    part = grey[y1 + 2:y2 - 2, x2 - reach:x2 - 2] < fill - 30
    cols = np.flatnonzero(part.any(axis=0))
    return len(cols) > 0 and cols.max() - cols.min() <= 12


def _plus_box(grey: np.ndarray, box: Box) -> bool:
    """A small square with a ``+`` drawn in it."""
    x1, y1, x2, y2 = box
    inner = grey[y1 + 1:y2 - 1, x1 + 1:x2 - 1] < 160
    h, w = inner.shape
    if h < 3 or w < 3:
        return False
    row, col = inner[h // 2], inner[:, w // 2]
    return row.mean() >= 0.6 and col.mean() >= 0.6 and inner.mean() < 0.6


def augment(parse: ScreenParse) -> tuple[ScreenParse, Widgets]:
    """Split stacked boxes and panels into items; tag dropdowns, spinners and expanders.

    Args:
        parse: Output of :func:`~lavr.episodes.gui.perception.find_elements`.

    Returns:
        The new parse (items instead of their container) and the composite widgets.
    """
    image = parse.image
    grey = image.astype(np.float32).mean(axis=2)
    ink = ink_mask(image)
    found = Widgets()
    elements = _list_columns(_shaded_buttons(parse.elements, image), ink, found)
    widgets = [e.box for e in elements if e.kind in ("button", "input")]
    found.scroll_areas.extend(
        f for f in _frames(ink)
        if (parse.banner is None or f[1] >= parse.banner[3] - 1)
        and not any(all(abs(u - v) <= 3 for u, v in zip(f, w, strict=True)) for w in widgets))
    inputs = [e for e in elements if e.kind == "input"]
    out: list[ScreenElement] = []
    for e in elements:
        if e.kind == "button" and any(_glued_right(i.box, e.box) for i in inputs):
            continue  # a spinner's arrow buttons: the input stands for the widget
        if e.kind == "button" and e.height >= 30 and min(e.fill) >= 140:
            # a tall light box: its text lines from the ink inside (a text that reaches the
            # frame is no hole in the box's fill, and may run on past the frame)
            x1, y1, x2, y2 = e.box
            lines = text_runs(ink[y1 + 2:y2 - 2, x1 + 2:x2 - 2], gap=6, offset=(x1 + 2, y1 + 2))
            lines = [_run_on(ink, ln, x2) for ln in lines if ln[3] - ln[1] >= 4]
            if len(_rows(tuple(lines))) >= 2:
                e = dataclasses.replace(e, text_boxes=tuple(lines))
        if e.kind == "button" and _stacked(_rows(e.text_boxes)):
            # a menu, or a button whose label wraps: keep the box, add each line as an item
            out.extend(_row_item(e.box, tb, e.fill, ink=ink) for tb in _rows(e.text_boxes))
        if e.kind == "text" and len(e.text_boxes) == 1 and not e.text:
            lines = _wrapped(ink, e.text_boxes[0])  # a label wrapped beside its icon
            if len(lines) > 1:
                e = dataclasses.replace(e, text_boxes=lines)
        if e.kind == "text":
            panel = _panel_box(ink, e.box)
            if panel is not None:
                found.scroll_areas.append(panel)
                x1, y1, x2, y2 = panel
                inner = ink[y1 + 2:y2 - 2, x1 + 2:x2 - 2]
                lines = text_runs(inner, gap=6, offset=(x1 + 2, y1 + 2))
                out.extend(_row_item(panel, ln, (255, 255, 255), pad=2) for ln in lines
                           if ln[3] - ln[1] >= 4)
                continue
        if e.kind == "button" and not e.icon and e.width >= 40 and _select_button(grey, e):
            # a box with a pale triangle at its right end: a dropdown the page draws itself
            # (its list opens on the page, under it)
            e = dataclasses.replace(e, icon="dropdown")
        if e.kind == "input" and not e.icon:
            if any(o.kind == "button" and _glued_right(e.box, o.box) for o in parse.elements):
                e = dataclasses.replace(e, icon="spinner")
            elif _chevron(grey, e.box):
                e = dataclasses.replace(e, icon="dropdown")
        if e.kind == "checkbox" and _plus_box(grey, e.box):
            found.expanders.append(e)
        out.append(e)
    out.sort(key=lambda e: (e.box[1] // 6, e.box[0], e.box[1]))
    return ScreenParse(image=image, elements=out, banner=parse.banner), found


#: Largest step (per channel) between the rows of a shaded button face.
FACE_STEP = 6
#: Largest difference (per channel) along a row of a shaded face (dithering).
FACE_DITHER = 2
#: Widest gap (px) along a row of a face bridged before its label's holes are filled (glyphs
#: such as ``7`` and ``9`` side by side may reach its top row over 10 px).
FACE_GAP = 12
#: Fewest distinct row colours that make a face shaded (a flat one is a colour region).
FACE_SHADES = 3
#: Grey-level difference from a face's row colour that is its label's ink.
FACE_INK = 60


def _shaded_faces(image: np.ndarray) -> list[tuple[Box, np.ndarray]]:
    """Faces shaded top to bottom (a gradient): regions whose rows are each one colour, the
    colour changing a little from row to row, not white, 20+ px wide and 10-45 px tall, with
    at least :data:`FACE_SHADES` row colours; with each face's mask (label holes filled)."""
    import cv2

    rgb = image.astype(np.int16)
    flat = np.zeros(image.shape[:2], bool)
    flat[:, 1:] = (np.abs(rgb[:, 1:] - rgb[:, :-1]) <= FACE_DITHER).all(axis=2)
    smooth = np.ones(image.shape[:2], bool)
    smooth[1:] = (np.abs(rgb[1:] - rgb[:-1]) <= FACE_STEP).all(axis=2)
    mask = flat & smooth & (image.min(axis=2) < 250)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=4)
    h, w = mask.shape
    out = []
    for ids in _face_parts(stats, image):
        x = min(int(stats[i][0]) for i in ids)
        y = min(int(stats[i][1]) for i in ids)
        bw = max(int(stats[i][0] + stats[i][2]) for i in ids) - x
        bh = max(int(stats[i][1] + stats[i][3]) for i in ids) - y
        if bw < 20 or not 10 <= bh <= 45 or bw * bh > 0.4 * h * w:
            continue
        face = part = np.isin(labels[y:y + bh, x:x + bw], ids)
        if len(ids) > 1:  # (the glyphs that cut the face in two: each row and column
            part = _span_fill(_span_fill(part).T).T  # filled between its face pixels)
        # (a dithered top row, or glyphs reaching the top or bottom rows, leave gaps of a few px
        # through which the label's holes would open to the outside: bridged first)
        part = cv2.morphologyEx(part.astype(np.uint8), cv2.MORPH_CLOSE,
                                np.ones((1, FACE_GAP + 1), np.uint8)).astype(bool)
        comp = fill_holes(part)
        if comp.mean() < 0.7:
            continue
        # (each row's colour read off the face itself: the bridging above may have spanned
        # other ink, a figure's outline or the page)
        rows = {tuple(image[y + r, x + int(np.argmax(face[r]))]) for r in range(bh) if face[r].any()}
        if len(rows) >= FACE_SHADES:
            out.append(((x, y, x + bw, y + bh), comp))
    return out


def _span_fill(mask: np.ndarray) -> np.ndarray:
    """``mask`` with each row filled from its first to its last True pixel."""
    out = mask.copy()
    for r in range(mask.shape[0]):
        cols = np.flatnonzero(mask[r])
        if len(cols):
            out[r, cols[0]:cols[-1] + 1] = True
    return out


def _face_parts(stats: np.ndarray, image: np.ndarray) -> list[list[int]]:
    """Components of a face mask grouped into faces: a label whose ascenders and descenders
    reach the face's top and bottom rows cuts its face into parts side by side, which share
    their rows (within 1 px) and their top row's colour, at most 10 px apart (or overlapping:
    a glyph's hole may reach back under the part before it)."""
    groups: list[list[int]] = []
    for i in sorted(range(1, len(stats)), key=lambda i: int(stats[i][0])):
        x, y, bw, bh, _ = (int(v) for v in stats[i])
        for g in groups:
            gx, gy, gw, gh, _ = (int(v) for v in stats[g[-1]])
            if abs(y - gy) <= 1 and abs(y + bh - gy - gh) <= 1 and -gw // 2 <= x - (gx + gw) <= 10 \
                    and bh >= 8 and np.abs(image[y + 1, x].astype(int)
                                           - image[gy + 1, gx].astype(int)).max() <= 8:
                g.append(i)
                break
        else:
            groups.append([i])
    return groups


def _shaded_buttons(elements: list[ScreenElement], image: np.ndarray) -> list[ScreenElement]:
    """Buttons with a shaded face (a gradient is no region of one colour, so the parser missed
    them and took their label, or the darker part of the face, for text): each face of
    :func:`_shaded_faces` becomes a button labelled by the ink on it; the text runs inside
    it go."""
    faces = _shaded_faces(image)
    if not faces:
        return elements
    grey = image.astype(np.float32).mean(axis=2)
    buttons = []
    for (x1, y1, x2, y2), comp in faces:
        # (the face's first row and column differ from the frame above and left of them, so
        # the mask starts one pixel in: the button's box reaches two pixels out there)
        box = (max(x1 - 2, 0), max(y1 - 2, 0), min(x2 + 1, image.shape[1]), min(y2 + 1, image.shape[0]))
        face = grey[y1:y2, x1:x2]
        row_colour = np.array([np.median(r[m]) if m.any() else 255.0 for r, m in
                               zip(face, comp & ~_holes(comp, face), strict=True)])
        ink = comp & (np.abs(face - row_colour[:, None]) > FACE_INK)
        lines = [b for b in text_runs(ink, offset=(x1, y1)) if b[3] - b[1] >= 4]
        fill = tuple(int(v) for v in np.median(image[y1:y2, x1:x2][comp & ~ink], axis=0))
        buttons.append(ScreenElement("button", box, fill, text_boxes=tuple(lines)))
    # its label (or darker rows) taken for text, and its frame taken for a button of its own
    kept = [e for e in elements if not (e.kind == "text" and any(
        _within(e.box, b.box, 3) for b in buttons)) and not (e.kind == "button" and any(
            all(abs(u - v) <= 2 for u, v in zip(e.box, b.box, strict=True)) for b in buttons))]
    return kept + buttons


def _holes(comp: np.ndarray, face: np.ndarray) -> np.ndarray:
    """Pixels of a filled face mask that are far from their row's most common grey (label ink)."""
    out = np.zeros_like(comp)
    for r in range(comp.shape[0]):
        vals = face[r][comp[r]]
        if vals.size:
            mode = np.bincount(vals.astype(int)).argmax()
            out[r] = comp[r] & (np.abs(face[r] - mode) > FACE_INK)
    return out


def _within(inner: Box, outer: Box, margin: int) -> bool:
    return (inner[0] >= outer[0] - margin and inner[1] >= outer[1] - margin and
            inner[2] <= outer[2] + margin and inner[3] <= outer[3] + margin)


def _frames(ink: np.ndarray) -> list[Box]:
    """Rectangles drawn in ink around content (list boxes, open sections): ink components
    at least 30x25 px framed on the left, right and top or bottom."""
    import cv2

    n, labels, stats, _ = cv2.connectedComponentsWithStats(ink.astype(np.uint8), connectivity=8)
    out: list[Box] = []
    for i in range(1, n):
        x, y, w, h, _ = (int(v) for v in stats[i])
        if w < 30 or h < 25:
            continue
        comp = labels[y:y + h, x:x + w] == i
        top, bottom = float(comp[0].mean()), float(comp[-1].mean())
        left, right = float(comp[:, 0].mean()), float(comp[:, -1].mean())
        if left >= PANEL_OUTLINE and right >= PANEL_OUTLINE and max(top, bottom) >= PANEL_OUTLINE:
            out.append((x, y, x + w, y + h))
    return out


def _list_columns(elements: list[ScreenElement], ink: np.ndarray,
                  found: Widgets) -> list[ScreenElement]:
    """A list box with a selected row is a column of boxes of one width touching one another
    (white rows, the highlighted row, white rows): its white parts become their text lines,
    the highlighted rows stay, and the column is a scroll area."""
    boxes = sorted((e for e in elements if e.kind in ("input", "button")), key=lambda e: e.box[1])
    groups: list[list[ScreenElement]] = []
    for e in boxes:
        for g in groups:
            last = g[-1].box
            if abs(last[0] - e.box[0]) <= 2 and abs(last[2] - e.box[2]) <= 2 and \
                    0 <= e.box[1] - last[3] <= 2:
                g.append(e)
                break
        else:
            groups.append([e])
    drop: set[Box] = set()
    out: list[ScreenElement] = []
    for g in groups:
        if len(g) < 2 or not any(e.kind == "input" for e in g) or \
                not any(e.kind == "button" for e in g):
            continue
        col = (min(e.box[0] for e in g) - 1, g[0].box[1] - 1, max(e.box[2] for e in g) + 1,
               g[-1].box[3] + 1)
        found.scroll_areas.append(col)
        for e in g:
            if e.kind != "input":
                continue
            drop.add(e.box)
            x1, y1, x2, y2 = e.box
            for ln in text_runs(ink[y1:y2, x1 + 1:x2 - 1], gap=6, offset=(x1 + 1, y1)):
                if ln[3] - ln[1] >= 4:
                    out.append(_row_item(e.box, ln, (255, 255, 255), pad=2))
    return [e for e in elements if e.box not in drop] + out


def _glued_right(field_box: Box, button: Box) -> bool:
    """A narrow button touching a field's right edge over its whole height (spinner arrows)."""
    fx1, fy1, fx2, fy2 = field_box
    bx1, by1, bx2, by2 = button
    overlap = min(fy2, by2) - max(fy1, by1)
    return bx2 - bx1 <= 22 and abs(bx1 - fx2) <= 3 and overlap >= 0.7 * (fy2 - fy1)


def field_content(parse: ScreenParse, box: Box, reader: object) -> str:
    """The text shown inside a field (OCR of its ink), ``""`` when empty."""
    x1, y1, x2, y2 = box
    ink = ink_mask(parse.image)[y1 + 2:y2 - 2, x1 + 2:x2 - 2]
    runs = [r for r in text_runs(ink, gap=12, offset=(x1 + 2, y1 + 2)) if r[3] - r[1] >= 1]
    if not runs:
        return ""
    line = (min(r[0] for r in runs), min(r[1] for r in runs), max(r[2] for r in runs),
            max(r[3] for r in runs))
    text, _ = reader.read(parse.image, [line])[0]  # type: ignore[attr-defined]
    return text


# -- values --------------------------------------------------------------------
_TIME = re.compile(r"^\s*(\d{1,2}):(\d{2})(?::\d{2})?\s*(?:([AaPp])\.?\s*[Mm]\.?)?\s*$")
_DATE = re.compile(r"^\s*(\d{1,2})/(\d{1,2})/(\d{2,4})\s*$|^\s*(\d{4})-(\d{2})-(\d{2})\s*$")


def masked_keys(value: str, mask: str = "") -> str | None:
    """Keys that fill a segmented time or date field (``--:-- --``, ``mm/dd/yyyy``) with
    ``value``, typed from its first segment; None when ``value`` is neither.

    A date is written the way the field shows it (``mask``, its placeholder as read by
    OCR: ``dd.mm.yyyy``, ``yyyy-mm-dd`` ...): its segments in that order, with that
    separator (which moves a segmented field to its next segment, and is what a plain
    text field wants); month/day/year when the mask shows no order.

    ``9:37 PM`` -> ``0937P``; ``21:37`` -> ``0937P``; ``12/31/2016`` -> ``12/31/2016``;
    ``12/31/2016`` with mask ``dd.mm.yyyy`` -> ``31.12.2016``.
    """
    m = _TIME.match(value)
    if m:
        hour, minute, half = int(m[1]), int(m[2]), (m[3] or "").upper()
        if not half:
            half = "P" if hour >= 12 else "A"
            hour = hour % 12 or 12
        return f"{hour:02d}{minute:02d}{half}"
    m = _DATE.match(value)
    if m:
        if m[1]:
            month, day = int(m[1]), int(m[2])
            year = m[3] if len(m[3]) == 4 else f"20{m[3]}"
        else:
            month, day, year = int(m[5]), int(m[6]), m[4]
        parts = {"m": f"{month:02d}", "d": f"{day:02d}", "y": year}
        seps = re.findall(r"[^\w\s]", mask) if date_order(mask, strict=True) else []
        return (seps[0] if seps else "/").join(parts[k] for k in date_order(mask))
    return None


def date_order(mask: str, *, strict: bool = False) -> str:
    """The order of a date field's segments from the placeholder it shows (``mm/dd/yyyy``
    -> ``mdy``, ``dd.mm.yyyy`` -> ``dmy``, ``yyyy-mm-dd`` -> ``ymd``); when the
    placeholder shows no clear order (a filled field, an unreadable one) ``mdy``, or ``""``
    with ``strict``."""
    segs = [s for s in re.split(r"[^a-z]+", mask.lower()) if s]
    order = ""
    for seg in segs:
        letter = max("mdy", key=seg.count)
        if seg.count(letter) * 2 >= len(seg) and letter not in order:
            order += letter
    return order if sorted(order) == ["d", "m", "y"] else "" if strict else "mdy"


_DIGITS = str.maketrans(DIGIT_LOOKALIKES)


def read_number(text: str) -> float | None:
    """A number read by OCR (look-alike letters mapped to digits), or None."""
    t = re.sub(r"\s+", "", text.translate(_DIGITS))
    m = re.search(r"[-+]?\d+(?:\.\d+)?", t)
    return float(m[0]) if m else None


def fits(text: str, starts: str, ends: str) -> bool:
    """``text`` starts with ``starts`` and ends with ``ends`` (letters and digits, any case,
    OCR look-alikes such as ``l/I/1`` and ``o/0`` folded)."""
    t, s, e = (normalise_text(v) for v in (text, starts, ends))
    return bool(t) and t.startswith(s) and t.endswith(e)
