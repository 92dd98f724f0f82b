"""Structure and exploration skills of the GUI agent, as pure functions over a screen parse.

* :func:`tab_bar` — a row of two or more equal-height buttons side by side (tabs):
  content hidden behind them is searched by opening them one by one;
  :func:`active_tab` is the one drawn differently (already open).
* :func:`dismiss_button` — a dialog that appeared after an action and that the
  instruction does not ask for is answered with its dismissive button
  (``Cancel``, ``Close``, ``No`` ..., or an x icon), never with its confirmation.
* :func:`pager_next` / :func:`is_pager` — the ``>`` / ``next`` control of a paged
  list, and the page links that are not items of it: the n-th item of a list may
  be on a later page.
* :func:`named_icon` — an icon without text that the instruction names by a word (``the
  star icon``): the mark in a list item's row that looks like the page font's symbols
  whose Unicode names hold the word (``☆ WHITE STAR``); :func:`icon_named` — the same for
  an action's icon words; :func:`icon_beside` — the one other icon of a toolbar beside a
  recognised one (an icon no known icon looks like, found by elimination).
* :func:`blank_after` / :func:`blank_area` — where a field drawn without a border waits
  for its value: the empty space right of its label (``to:``), the largest blank band
  (a text area).

Nothing here names a page or a benchmark task.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence

import numpy as np

from lavr.episodes.gui.perception import Box, ScreenElement, normalise_text

logger = logging.getLogger(__name__)

#: Button texts that dismiss a dialog without doing what it offers.
DISMISS_WORDS = frozenset({"cancel", "close", "no", "dismiss", "notnow", "later", "skip",
                           "nothanks", "maybelater", "x", "ignore", "stay", "back"})
#: Text of a pager control (page numbers and arrows), not an item of the list.
_PAGER = re.compile(r"[\d<>«»‹›]+|next|prev(?:ious)?|first|last|more", re.IGNORECASE)
#: Text of the control that opens the next page.
_NEXT = re.compile(r">|»|›|next(?: page)?|more", re.IGNORECASE)


def tab_bar(elements: Sequence[ScreenElement], *, gap: int = 8, tolerance: int = 2) -> list[
        ScreenElement]:
    """The buttons that form tab bars: runs of 2+ buttons of equal height on one row, each
    at most ``gap`` px from the next (rows may wrap; every run counts).

    Args:
        elements: Parsed elements (any kinds; only buttons are used).
        gap: Largest horizontal gap between neighbouring tabs.
        tolerance: Largest difference (px) in top, bottom and height within a run.
    """
    buttons = sorted((e for e in elements if e.kind == "button"), key=lambda e: (e.box[1], e.box[0]))
    rows: list[list[ScreenElement]] = []
    for b in buttons:
        for row in rows:
            r = row[-1]
            same_row = abs(r.box[1] - b.box[1]) <= tolerance and abs(r.box[3] - b.box[3]) <= tolerance
            if same_row and 0 <= b.box[0] - r.box[2] <= gap:
                row.append(b)
                break
        else:
            rows.append([b])
    runs = [row for row in rows if len(row) >= 2]
    if not runs:
        return []
    height = runs[0][0].height  # wrapped rows of one bar share the tab height
    return [b for row in runs for b in row if abs(b.height - height) <= tolerance]


def active_tab(tabs: Sequence[ScreenElement]) -> ScreenElement | None:
    """The tab drawn unlike the others (the open one), or None when none stands out."""
    if len(tabs) < 2:
        return None

    def dist(a: tuple[int, int, int], b: tuple[int, int, int]) -> int:
        return sum(abs(x - y) for x, y in zip(a, b, strict=True))

    odd = [t for t in tabs if all(dist(t.fill, o.fill) > 30 for o in tabs if o is not t)]
    if len(odd) == 1:
        return odd[0]
    if len(tabs) == 2 and len(odd) == 2:  # two tabs: the open one is the more saturated
        return max(tabs, key=lambda t: max(t.fill) - min(t.fill))
    return None


def dismiss_button(buttons: Iterable[ScreenElement], *, known: set[str],
                   wanted: set[str]) -> ScreenElement | None:
    """The dismissive button of a dialog that was not on the screen before.

    Args:
        buttons: Buttons with their text read.
        known: Normalised texts of the buttons on the first screen of the episode.
        wanted: Normalised targets the plan still has to click (never dismissed).

    Returns:
        The button to click, or None.
    """
    for b in buttons:
        t = normalise_text(b.text, fold=False)
        if not (t in DISMISS_WORDS or b.icon == "close"):
            continue
        if t in known or t in wanted:
            continue
        return b
    return None


def is_pager(el: ScreenElement) -> bool:
    """A link that is a page number or a pager arrow (not an item of the list)."""
    return bool(el.text) and bool(_PAGER.fullmatch(el.text.strip(" .")))


def pager_links(links: Sequence[ScreenElement]) -> list[ScreenElement]:
    """The links of a pager: page numbers and arrows, and any short link on their row
    (OCR may read a page number ``1`` as ``I``)."""
    sure = [el for el in links if is_pager(el)]
    rows = [el.center[1] for el in sure]
    return [el for el in links if el in sure or (
        len(el.text.strip()) <= 2 and any(abs(el.center[1] - y) <= 3 for y in rows))]


def pager_next(links: Sequence[ScreenElement], *, page: int = 1) -> ScreenElement | None:
    """The control that opens the page after ``page``: ``>`` / ``next``, else the link
    numbered ``page + 1``, else the right-most pager link (where "next" sits)."""
    for el in links:
        if _NEXT.fullmatch(el.text.strip(" .")):
            return el
    for el in links:
        if el.text.strip() == str(page + 1):
            return el
    return max(links, key=lambda el: el.box[0]) if len(links) >= 2 else None


# -- list items: rows, their controls, and scrolling to them -------------------------------
def separators(image: np.ndarray, *, top: int = 0, min_run: float = 0.6) -> list[int]:
    """Rows of the image that are a horizontal rule: one colour (not the background) in a
    single run over at least ``min_run`` of the width (item borders, dividers)."""
    img = np.asarray(image).astype(np.int32)
    h, w = img.shape[:2]
    bg = np.median(img.reshape(-1, 3), axis=0)
    found: list[tuple[int, tuple[int, ...]]] = []  # (row, colour of its longest run)
    for y in range(top, h):
        row = img[y]
        same = np.all(row[1:] == row[:-1], axis=1)
        off_bg = np.abs(row - bg).max(axis=1) > 8
        run = best = end = 0
        for i, (sm, o) in enumerate(zip(same, off_bg[1:], strict=True)):
            run = run + 1 if (sm and o) else 0
            if run > best:
                best, end = run, i + 1
        if best >= min_run * w:
            found.append((y, tuple(int(v) for v in row[end])))
    # a filled area (a highlighted item) is many such rows of one colour: only the rows
    # of another colour inside it (its borders) are rules
    out: list[int] = []
    i = 0
    while i < len(found):
        j = i
        while j + 1 < len(found) and found[j + 1][0] == found[j][0] + 1:
            j += 1
        group = found[i:j + 1]
        if len(group) <= 2:
            # (the gap between two text lines of a filled area, a highlighted item, is one
            # colour across too: the rows around it are mostly that colour, around a rule not)
            colour = group[0][1]
            around = [_row_colour(img[y]) for y in (group[0][0] - 1, group[-1][0] + 1) if 0 <= y < h]
            if not (around and all(c == colour for c in around)):
                out.extend(y for y, _ in group)
        else:
            colours = [c for _, c in group]
            fill = max(set(colours), key=colours.count)
            out.extend(y for y, c in group if c != fill)
        i = j + 1
    return out


def _row_colour(row: np.ndarray) -> tuple[int, ...]:
    """The most common colour of an image row (``Wx3``)."""
    colours, counts = np.unique(row.reshape(-1, row.shape[-1]), axis=0, return_counts=True)
    return tuple(int(v) for v in colours[int(np.argmax(counts))])


def row_band(box: Box, seps: Sequence[int], height: int, *, top: int = 0) -> tuple[int, int]:
    """``(y1, y2)`` of the list item holding ``box``: between the rules above and below it."""
    above = [y for y in seps if y <= box[1]]
    below = [y for y in seps if y >= box[3]]
    return (max(above) if above else top), (min(below) if below else height)


def more_control(image: np.ndarray, band: tuple[int, int], *, top: int = 0) -> tuple[
        float, float] | None:
    """The centre of a "more" control (three equal dots in a row, ``...``) inside a band of
    rows, or None. Menus of per-item actions hide behind it."""
    import cv2

    y1, y2 = max(band[0], top), band[1]
    img = np.asarray(image)[y1:y2].astype(np.int32)
    if img.size == 0:
        return None
    bg = np.median(img.reshape(-1, 3), axis=0)
    ink = (np.abs(img - bg).max(axis=2) > 30).astype(np.uint8)
    n, _, stats, cents = cv2.connectedComponentsWithStats(ink, connectivity=8)
    dots = [(float(cents[i][0]), float(cents[i][1]), int(stats[i][2]), int(stats[i][3]), i)
            for i in range(1, n) if 2 <= stats[i][2] <= 6 and 2 <= stats[i][3] <= 6
            and abs(int(stats[i][2]) - int(stats[i][3])) <= 1
            and stats[i][4] >= 0.7 * stats[i][2] * stats[i][3]]  # solid dots, not letters
    dots.sort()

    def isolated(*ids: int) -> bool:  # nothing else inked around the three dots (not an "i")
        xs = [int(stats[i][0]) for i in ids] + [int(stats[i][0] + stats[i][2]) for i in ids]
        ys = [int(stats[i][1]) for i in ids] + [int(stats[i][1] + stats[i][3]) for i in ids]
        xa, ya = max(min(xs) - 3, 0), max(min(ys) - 3, 0)
        own = sum(int(stats[i][4]) for i in ids)
        return int(ink[ya:max(ys) + 3, xa:max(xs) + 3].sum()) == own

    for a in dots:
        row = [d for d in dots if abs(d[1] - a[1]) <= 1 and abs(d[2] - a[2]) <= 1 and d[0] > a[0]]
        for b in row:
            g1 = b[0] - a[0]
            if not a[2] + 1 <= g1 <= 3 * a[2] + 3:
                continue
            for c in row:
                if abs((c[0] - b[0]) - g1) <= 1.5 and isolated(a[4], b[4], c[4]):
                    return b[0] + 0.5, b[1] + y1 + 0.5
    return None


#: Look-alike score an icon needs to be the one a word names ...
ICON_MATCH = 0.45
#: ... and by how much it must beat the next mark in the band.
ICON_MARGIN = 0.1
#: Grey difference from the background that counts as an icon's (often light) ink.
ICON_INK = 25


#: A mark no icon of the vocabulary looks like better than this is an unknown icon ...
UNKNOWN_ICON = 0.42
#: ... told apart from icons the vocabulary knows (this well at least).
KNOWN_ICON = 0.5


def icon_marks(image: np.ndarray, band: tuple[int, int]) -> list[tuple[Box, np.ndarray]]:
    """Marks in a band of rows — blobs of ink (light grey icons too) about as tall as a
    line of text — with their ink patches (:func:`~lavr.episodes.gui.appearance.ink_patch`)."""
    import cv2

    from lavr.episodes.gui.appearance import ink_patch

    y1, y2 = band
    img = np.asarray(image)[y1:y2]
    if img.size == 0:
        return []
    grey = img.astype(np.float32).mean(axis=2)
    bg = float(np.median(grey))
    ink = (np.abs(grey - bg) > ICON_INK).astype(np.uint8)
    ink = cv2.dilate(ink, np.ones((2, 2), np.uint8))  # an outline drawn in pieces is one mark
    n, _, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    out = []
    for i in range(1, n):
        x, y, w, h = (int(v) for v in stats[i][:4])
        if not (7 <= w <= 30 and 7 <= h <= 30 and 0.5 <= w / h <= 2.0):
            continue
        box = (x, y1 + y, x + w, y1 + y + h)
        mark = np.abs(grey[y:y + h, x:x + w] - bg) > ICON_INK  # drawn black on white
        crop = np.where(mark[..., None], 0, 255).astype(np.uint8).repeat(3, axis=2)
        patch = ink_patch(crop, (0, 0, w, h))
        if patch is not None:
            out.append((box, patch))
    return out


def icon_word(target: str) -> str:
    """The word that names an icon in a target: ``star`` in ``the star icon``, else a
    one-word target itself (``Share``); ``""`` for none."""
    m = re.search(r"\b([a-z]{3,})\s+icon\b", target.lower())
    if m:
        return m[1]
    return target.lower() if re.fullmatch(r"[A-Za-z]{3,}", target.strip()) else ""


def named_icon(image: np.ndarray, band: tuple[int, int], target: str, *,
               by_elimination: bool = False) -> tuple[Box, float] | None:
    """The mark in a band of rows that looks like the icon ``target`` names (``the star
    icon ...``, or a one-word target: :func:`icon_word`), with its look-alike score; None
    without an icon word, a known icon of that name, or a clear winner.

    Each mark (:func:`icon_marks`) is compared with the icons the word names
    (:func:`~lavr.episodes.gui.appearance.icon_patches`: the page font's symbols whose
    Unicode names hold it, the icon theme's icons whose names hold it). With
    ``by_elimination``, a word no known icon fits names the one mark of the row of
    controls (the row with most marks) that looks like no icon of the vocabulary while
    the others each look like one (a reply arrow, a heart, a share sign ... and one icon
    the vocabulary lacks)."""
    from lavr.episodes.gui.appearance import icon_patches, similarity, theme_icons

    word = icon_word(target)
    symbols = icon_patches(word) if word else ()
    marks = icon_marks(image, band) if word else []
    if not marks:
        return None
    if symbols:
        found = _clear_winner(marks, symbols, target)
        if found is not None:
            return found
    if not by_elimination:
        return None
    rows: list[list[tuple[Box, np.ndarray]]] = []
    for mark in sorted(marks, key=lambda m: (m[0][1] + m[0][3]) / 2):
        y = (mark[0][1] + mark[0][3]) / 2
        if rows and abs((rows[-1][0][0][1] + rows[-1][0][0][3]) / 2 - y) <= 3:
            rows[-1].append(mark)
        else:
            rows.append([mark])
    row = max(rows, key=len)
    vocabulary = [p for _, p in theme_icons()]
    if len(row) < 3 or not vocabulary:
        return None
    known = [max(similarity(p, v) for v in vocabulary) for _, p in row]
    unknown = [i for i, k in enumerate(known) if k < UNKNOWN_ICON]
    logger.debug("icons of the row %s look like known icons %s", [b for b, _ in row],
                 [round(k, 2) for k in known])
    if len(unknown) != 1 or sorted(known)[1] < KNOWN_ICON:
        return None
    return row[unknown[0]][0], 1.0 - known[unknown[0]]


def icon_named(image: np.ndarray, band: tuple[int, int], words: Sequence[str], *,
               what: str = "") -> tuple[Box, float] | None:
    """The mark in a band of rows that looks like an icon one of ``words`` names (a word:
    :func:`~lavr.episodes.gui.appearance.icon_patches`, font symbols and theme icons; words:
    the font's symbols whose Unicode names hold them, ``rightwards arrowhead``), with its
    look-alike score; None without such a symbol or a clear winner (:data:`ICON_MATCH`,
    :data:`ICON_MARGIN`)."""
    from lavr.episodes.gui.appearance import icon_patches, symbol_patches

    symbols = tuple(p for w in words for p in (symbol_patches(w) if " " in w else icon_patches(w)))
    if not symbols:
        return None
    marks = icon_marks(image, band)
    return _clear_winner(marks, symbols, what or words) if marks else None


def _clear_winner(marks: Sequence[tuple[Box, np.ndarray]], symbols: Sequence[np.ndarray],
                  what: object) -> tuple[Box, float] | None:
    """The mark most like one of ``symbols``, with its score, when it is alike enough and
    clearly ahead of the next (:data:`ICON_MATCH`, :data:`ICON_MARGIN`)."""
    from lavr.episodes.gui.appearance import similarity

    scored = sorted(((max(similarity(p, s) for s in symbols), box) for box, p in marks),
                    key=lambda t: -t[0])
    best, box = scored[0]
    second = scored[1][0] if len(scored) > 1 else 0.0
    logger.debug("icon %r: %s", what, [(round(v, 2), b) for v, b in scored[:3]])
    if best < ICON_MATCH or best - second < ICON_MARGIN:
        return None
    return box, best


def icon_beside(image: np.ndarray, band: tuple[int, int], known: Box, *,
                gap: int = 8) -> Box | None:
    """The one other icon of the toolbar that holds the recognised icon ``known``: a mark
    of about its height on its row, at most ``gap`` px from it or from the toolbar's other
    icons. An action whose icon the page font has no symbol for (a waste bin) is found by
    elimination this way; None when the toolbar holds no other icon, or more than one."""
    marks = [b for b, _ in icon_marks(image, band)]

    def beside(a: Box, b: Box) -> bool:
        overlap = min(a[3], b[3]) - max(a[1], b[1])
        return overlap >= 0.5 * min(a[3] - a[1], b[3] - b[1]) and \
            max(a[0], b[0]) - min(a[2], b[2]) <= gap and abs((a[3] - a[1]) - (b[3] - b[1])) <= 6

    bar = [known]
    grown = True
    while grown:
        grown = False
        for m in marks:
            if m not in bar and not _boxes_overlap(m, known) and any(beside(m, b) for b in bar):
                bar.append(m)
                grown = True
    others = bar[1:]
    return others[0] if len(others) == 1 else None


def _boxes_overlap(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


# -- filling what an action opens ---------------------------------------------------------
#: Grey difference from the background that counts as drawn (text, rules, icons).
DRAWN = 20


def _drawn(image: np.ndarray) -> np.ndarray:
    img = np.asarray(image).astype(np.int32)
    bg = np.median(img.reshape(-1, 3), axis=0)
    return np.abs(img - bg).max(axis=2) > DRAWN


def blank_after(image: np.ndarray, box: Box, *, min_width: int = 30) -> tuple[float, float] | None:
    """A point in the empty space right of a label (``to:``) on its row, where a field
    drawn without a border waits for its value; None when something is written there
    (the value is shown already) or the space is narrower than ``min_width`` px."""
    drawn = _drawn(image)
    x1, y1, x2, y2 = box
    row = drawn[y1:y2, x2 + 2:].any(axis=0)
    if row.size == 0:
        return None
    ink = np.flatnonzero(row)
    end = x2 + 2 + (int(ink[0]) if ink.size else row.size)
    if end - (x2 + 2) < min_width:
        return None
    return (x2 + 2 + end) / 2.0, (y1 + y2) / 2.0


def blank_area(image: np.ndarray, *, top: int = 0, min_rows: int = 20) -> Box | None:
    """The largest band of blank rows below ``top`` (an empty text area drawn without a
    border; a small mark in a corner, such as a resize grip, is ignored), as XYXY pixels;
    None when no band of ``min_rows`` rows is blank."""
    drawn = _drawn(image)
    h, w = drawn.shape
    counts = drawn[:, int(0.1 * w):int(0.85 * w)].sum(axis=1)  # (a grip sits in a corner)
    best: tuple[int, int] | None = None
    y = top
    while y < h:
        if counts[y]:
            y += 1
            continue
        start = y
        while y < h and not counts[y]:
            y += 1
        if y - start >= min_rows and (best is None or y - start > best[1] - best[0]):
            best = (start, y)
    return (0, best[0], w, best[1]) if best else None


#: A blank spot is at least this far (px) from anything drawn.
BLANK_CLEARANCE = 5


def blank_point(image: np.ndarray, *, top: int = 0) -> tuple[float, float] | None:
    """The emptiest spot of the page below ``top``: the point farthest from anything drawn
    (where a click lands on nothing, e.g. to close a popup that closes on a click outside
    it); None when no spot is :data:`BLANK_CLEARANCE` px clear."""
    import cv2

    drawn = _drawn(image)
    free = (~drawn).astype(np.uint8)
    free[:top] = 0
    free[:, 0] = free[:, -1] = free[-1, :] = 0  # (the edges of the view count as drawn)
    dist = cv2.distanceTransform(free, cv2.DIST_L2, 3)
    y, x = np.unravel_index(int(np.argmax(dist)), dist.shape)
    return (float(x), float(y)) if dist[y, x] >= BLANK_CLEARANCE else None


# -- a picture in the instruction found on the page ------------------------------------------
#: Grey-level difference from the local background that is ink of a mark.
MARK_INK = 60
#: Side (px, odd) of the window the local background of a mark is the median of (a
#: highlighted row is its own background).
MARK_BACKGROUND = 15
#: Largest side (px) of a mark drawn before a label (an item's icon).
MARK_SIZE = 20
#: Largest gap (px) between a mark and the label after it.
MARK_LABEL_GAP = 16
#: Likeness (ink overlap) a mark on the page needs with the pictured one ...
PICTURE_MATCH = 0.6
#: ... and by how much it must beat the next best mark ...
PICTURE_MARGIN = 0.1
#: ... unless it is an exact copy (this alike), which beats a near copy (a zoom-in lens
#: beside a zoom-out lens) by any clear amount.
PICTURE_EXACT, EXACT_MARGIN = 0.97, 0.03


def _ink(image: np.ndarray, region: Box) -> np.ndarray:
    """``HxW bool`` ink of ``region``: pixels :data:`MARK_INK` grey levels or more from their
    local background (the median of a :data:`MARK_BACKGROUND` px window)."""
    import cv2

    x1, y1, x2, y2 = region
    grey = np.asarray(image)[y1:y2, x1:x2].astype(np.float32).mean(axis=2)
    if grey.size == 0:
        return np.zeros(grey.shape, bool)
    local = cv2.medianBlur(grey.astype(np.uint8), MARK_BACKGROUND).astype(np.float32)
    return np.abs(grey - local) > MARK_INK


def word_runs(image: np.ndarray, region: Box) -> list[Box]:
    """Word-sized runs of ink in ``region`` (glyphs closer than 3 px joined), top to bottom
    and left to right; XYXY pixel boxes on the image."""
    from lavr.episodes.gui.perception import text_runs

    return text_runs(_ink(image, region), gap=2, offset=(region[0], region[1]))


def leading_marks(image: np.ndarray, *, top: int = 0, lone: bool = False) -> list[Box]:
    """Marks drawn before a label — small, squarish runs of ink (at most :data:`MARK_SIZE`
    px) with a run starting at most :data:`MARK_LABEL_GAP` px right of them on their row
    and none just left of them: the icons of menu items, list rows, buttons. With ``lone``,
    also such runs with nothing within 6 px on either side (an icon-only button)."""
    h, w = np.asarray(image).shape[:2]
    runs = word_runs(image, (0, top, w, h))

    def same_row(a: Box, b: Box) -> bool:
        return min(a[3], b[3]) - max(a[1], b[1]) >= 0.4 * min(a[3] - a[1], b[3] - b[1])

    out = []
    for r in runs:
        rw, rh = r[2] - r[0], r[3] - r[1]
        if not (3 <= rw <= MARK_SIZE and 3 <= rh <= MARK_SIZE and rw <= 1.6 * rh + 1):
            continue
        after = [o for o in runs if o is not r and same_row(r, o) and 0 < o[0] - r[2] <= MARK_LABEL_GAP]
        before = [o for o in runs if o is not r and same_row(r, o) and 0 <= r[0] - o[2] <= 6]
        close = [o for o in after if o[0] - r[2] <= 6]
        if (after and not before) or (lone and not before and not close):
            out.append(r)
    return out


def _mark_mask(image: np.ndarray, box: Box) -> np.ndarray | None:
    """A mark's ink, threshold-free: the pixels more than halfway from the box's border
    colour to its strongest ink (so one icon drawn on yellow and on grey gives one shape),
    trimmed to its ink."""
    h, w = np.asarray(image).shape[:2]
    x1, y1, x2, y2 = max(box[0] - 1, 0), max(box[1] - 1, 0), min(box[2] + 1, w), min(box[3] + 1, h)
    grey = np.asarray(image)[y1:y2, x1:x2].astype(np.float32).mean(axis=2)
    if grey.size == 0:
        return None
    border = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
    dark = np.abs(grey - float(np.median(border)))
    if dark.max() <= MARK_INK:
        return None
    return _trim(dark > dark.max() / 2.0)


def mark_likeness(image_a: np.ndarray, box_a: Box, image_b: np.ndarray, box_b: Box) -> float:
    """How alike two marks look: the overlap (intersection over union) of their ink
    (:func:`_mark_mask`), aligned within 1 px; 0 when their sizes differ by over 2 px."""
    (wa, ha), (wb, hb) = (box_a[2] - box_a[0], box_a[3] - box_a[1]), (box_b[2] - box_b[0],
                                                                   box_b[3] - box_b[1])
    if abs(wa - wb) > 2 or abs(ha - hb) > 2:
        return 0.0
    a, b = _mark_mask(image_a, box_a), _mark_mask(image_b, box_b)
    if a is None or b is None:
        return 0.0
    hh, ww = max(a.shape[0], b.shape[0]) + 2, max(a.shape[1], b.shape[1]) + 2
    big_a = np.zeros((hh, ww), bool)
    big_a[1:1 + a.shape[0], 1:1 + a.shape[1]] = a
    best = 0.0
    for dy in range(3):
        for dx in range(3):
            big_b = np.zeros((hh, ww), bool)
            sh, sw = min(b.shape[0], hh - dy), min(b.shape[1], ww - dx)
            big_b[dy:dy + sh, dx:dx + sw] = b[:sh, :sw]
            union = np.logical_or(big_a, big_b).sum()
            if union:
                best = max(best, float(np.logical_and(big_a, big_b).sum() / union))
    return best


def _trim(mask: np.ndarray) -> np.ndarray | None:
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if len(rows) == 0:
        return None
    return mask[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]


def _with_pairs(runs: Sequence[Box]) -> list[Box]:
    """Runs, and each two neighbours on a row joined when together they are mark-sized (an
    icon drawn in two pieces: a bar and a triangle)."""
    out = list(runs)
    for a, b in zip(runs, runs[1:], strict=False):
        joined = (a[0], min(a[1], b[1]), b[2], max(a[3], b[3]))
        if 0 <= b[0] - a[2] <= 4 and min(a[3], b[3]) > max(a[1], b[1]) and \
                joined[2] - joined[0] <= MARK_SIZE:
            out.append(joined)
    return out


def pictured_mark(picture: np.ndarray, lines: Sequence[Box], image: np.ndarray, *,
                  top: int = 0) -> tuple[Box, float] | None:
    """The mark before a label on the page, or alone (an icon-only button; see
    :func:`leading_marks`), that looks like a picture set into the instruction's lines (``the
    item with the ▶ icon``), with its likeness;
    None without a clear winner (:data:`PICTURE_MATCH`, :data:`PICTURE_MARGIN`).

    Every word-sized run of the instruction's lines is a candidate picture: words do not
    look like the page's marks, the picture looks like one of them exactly (the same
    icon drawn at the same size).

    Args:
        picture: The screenshot the instruction was read on, ``HxWx3 uint8 RGB``.
        lines: The instruction's text lines on it, XYXY pixel boxes.
        image: The screenshot to find the mark on.
        top: Rows above this (the instruction banner) are not searched.
    """
    marks = leading_marks(image, top=top, lone=True)
    runs = [r for line in lines for r in _with_pairs(word_runs(picture, line))]
    if not marks or not runs:
        return None
    scored = sorted(((max(mark_likeness(picture, r, image, m) for r in runs), m) for m in marks),
                    key=lambda t: -t[0])
    logger.info("marks like the pictured one: %s", [(round(s, 2), b) for s, b in scored[:4]])
    best, box = scored[0]
    second = scored[1][0] if len(scored) > 1 else 0.0
    exact = best >= PICTURE_EXACT and best - second >= EXACT_MARGIN
    if best < PICTURE_MATCH or (best - second < PICTURE_MARGIN and not exact):
        return None
    return box, best
