"""A command-line widget on a page: find it, read what it prints, pick the file a request names.

A console on a web page is a dark panel printing light text in a small font: a prompt
(``user$``), the echo of each command and its output. Two parts:

* **requests** (no screen access): :func:`parse_shell_request` turns ``use the console
  to delete a file ending with .gif`` or ``remove the file without an extension in the
  console`` into a :class:`ShellRequest` — the command that does the action in plain shell
  (``rm``, ``ls``, ``cat`` ...) and a regular expression for the file it acts on;
* **reading**: console fonts are tiny and recognisers trained on words misread file
  names (``container.tar.gz``), and a file name is typed letter for letter. So the page
  draws its own font: the agent types a :data:`GLYPH_SHEET` (every character once, spaces
  between) at the prompt, :func:`learn_glyphs` cuts the drawing into one template per
  character, and :func:`decode_line` reads any line of the console by finding the
  sequence of those templates (and gaps) that draws its pixels (dynamic programming over
  its columns). Nothing here names a page or a benchmark task.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from lavr.episodes.gui.perception import Box, _runs

#: Characters of a file name the agent learns from the page's font, typed with a space
#: after each so that every glyph stands alone.
GLYPH_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-$"
#: Times the characters are typed: each copy lands at another fraction of a pixel, so the
#: decoder has each glyph as drawn at several sub-pixel positions.
SHEET_COPIES = 3
GLYPH_SHEET = " ".join(GLYPH_CHARS * SHEET_COPIES)
#: Grey level (0-255) a panel's pixels stay under to count as dark, and the share of them
#: a console panel has.
DARK_GREY = 50
DARK_SHARE = 0.6
#: Pixels at a panel's edges that are its frame, never text.
RIM = 2
#: Smallest console panel (px, each side).
MIN_SIDE = 60
#: Brightness over the panel's own (0-255) that is text.
TEXT_CONTRAST = 60
#: Cost of one empty column between glyphs while decoding (keeps glyphs apart only when
#: the pixels say so).
GAP_COST = 0.05
#: Price of one glyph while decoding (a letter is not read as two thin ones).
GLYPH_COST = 0.3
#: Row smoothing kernel applied to glyphs and lines before they are compared.
BLUR = (0.25, 0.5, 0.25)
#: Sub-pixel shifts (px) each glyph template is tried at.
SUBPIXEL_SHIFTS = (-0.5, -0.25, 0.0, 0.25, 0.5)


@dataclass(frozen=True)
class ShellRequest:
    """A request to run a command on a file in a console.

    Attributes:
        command: The shell command (``rm``).
        pattern: A regular expression a file name must match in full (``.*\\.gif``);
            ``""``: the command takes no file.
        what: The file in words (``ending in .gif``).
        suffix: The ending the request names (``.gif``), ``""`` when it names none: a word
            read with one slip in its ending is still taken for such a file, spelled with
            the ending the request gives.
    """

    command: str
    pattern: str = ""
    what: str = ""
    suffix: str = ""


#: Shell commands and the words that ask for them (plain POSIX shell knowledge).
COMMANDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("rm", ("delete", "remove", "erase", "rm", "trash", "discard", "destroy")),
    ("ls", ("list", "ls", "show all", "display all")),
    ("cat", ("print", "show", "display", "read", "cat", "output")),
    ("touch", ("create", "make", "touch", "new")),
)
_CONSOLE = re.compile(r"\b(?:console|shell|command[- ]line|command prompt|cli)\b", re.IGNORECASE)
_EXTENSION = re.compile(r"(?:\bextension|\bending|\bends|\bsuffix|\btype)\b[^.\"]*?\"?(\.[\w.]+?)\"?"
                        r"(?=[\s,;:!?\"]|\.?$)|(?<![\w.])(\.[a-z][\w.]*)\s+(?:file|extension)\b",
                        re.IGNORECASE)
_NO_EXTENSION = re.compile(r"\b(?:no|without(?:\s+an?)?|lacks?(?:\s+an?)?|missing(?:\s+an?)?)\s+"
                           r"(?:file\s+)?(?:extension|suffix)\b", re.IGNORECASE)
_NAMED = re.compile(r"\b(?:named|called|name)\s+\"?([\w.\-]+?)\"?(?=[\s,;:!?]|\.?$)",
                    re.IGNORECASE)
_STARTS = re.compile(r"\b(?:starting|starts|beginning|begins)\s+with\s+\"?([\w.\-]+?)\"?"
                     r"(?=[\s,;:!?]|\.?$)", re.IGNORECASE)
_CONTAINS = re.compile(r"\b(?:containing|contains|with)\s+\"([\w.\-]+)\"\s+in\s+(?:its|the)\s+name",
                       re.IGNORECASE)


def parse_shell_request(text: str) -> ShellRequest | None:
    """The command and file a request for a console asks for, or None: no file named, no
    command word, or one other than removing a file when no console (shell, command line)
    is named.

    >>> parse_shell_request("Use the panel below to delete a file ending with the extension .gif")
    ShellRequest(command='rm', pattern='\\\\S*\\\\.gif', what='ending in .gif', suffix='.gif')
    """
    if not re.search(r"\bfiles?\b", text, re.IGNORECASE):
        return None
    text = re.sub(r"(\.[A-Za-z]\w*):(?=[A-Za-z])", r"\1.", text)  # ".tar:gz": a dot read as a colon
    low = text.lower()
    found = [(m.start(), cmd) for cmd, words in COMMANDS for w in words
             for m in re.finditer(rf"\b{re.escape(w)}\b", low)]
    if not found:
        return None
    command = min(found)[1]  # the first command word of the sentence
    if command != "rm" and not _CONSOLE.search(text):
        return None
    if command == "ls":
        return ShellRequest("ls")
    if _NO_EXTENSION.search(text):
        return ShellRequest(command, r"[^.\s]+", "without an extension")
    m = _EXTENSION.search(text)
    if m:
        ext = (m[1] or m[2]).rstrip(".")
        return ShellRequest(command, rf"\S*{re.escape(ext)}", f"ending in {ext}", ext)
    m = _NAMED.search(text)
    if m:
        return ShellRequest(command, re.escape(m[1].rstrip(".")), f"named {m[1]}")
    m = _STARTS.search(text)
    if m:
        return ShellRequest(command, rf"{re.escape(m[1])}\S*", f"starting with {m[1]}")
    m = _CONTAINS.search(text)
    if m:
        return ShellRequest(command, rf"\S*{re.escape(m[1])}\S*", f"containing {m[1]}")
    return None


# -- the panel and its lines -----------------------------------------------------------
def find_console(image: np.ndarray, *, top: int = 0) -> Box | None:
    """The largest dark panel below ``top``: most of its pixels near black, at least
    :data:`MIN_SIDE` px each way (``None`` when the page shows none)."""
    grey = image[top:].astype(np.float32).mean(axis=2)
    dark = grey < DARK_GREY
    rows = np.flatnonzero(dark.mean(axis=1) > 0.3)
    if rows.size < MIN_SIDE:
        return None
    band = _runs(np.isin(np.arange(dark.shape[0]), rows), 3)
    y1, y2 = max(band, key=lambda r: r[1] - r[0])
    cols = np.flatnonzero(dark[y1:y2].mean(axis=0) > DARK_SHARE)
    if y2 - y1 < MIN_SIDE or cols.size < MIN_SIDE:
        return None
    x1, x2 = int(cols[0]), int(cols[-1]) + 1
    if dark[y1:y2, x1:x2].mean() < DARK_SHARE:
        return None
    return x1, y1 + top, x2, y2 + top


def text_ink(image: np.ndarray, box: Box) -> np.ndarray:
    """``HxW float`` in [0, 1]: how much brighter than the panel each pixel of ``box`` is,
    a text cursor (a solid block of ink) and the panel's rim (rounded corners, a scroll
    bar's edge: :data:`RIM` px) erased."""
    from scipy import ndimage

    x1, y1, x2, y2 = box
    grey = image[y1:y2, x1:x2].astype(np.float32).max(axis=2)
    bg = float(np.median(grey))
    ink = np.clip((grey - bg) / max(255.0 - bg, 1.0), 0.0, 1.0)
    labels, n = ndimage.label(ink > 0.5)
    for k, sl in enumerate(ndimage.find_objects(labels), start=1):
        h, w = sl[0].stop - sl[0].start, sl[1].stop - sl[1].start
        if h >= 6 and w >= 3 and (labels[sl] == k).mean() > 0.9:  # a block, no glyph
            ink[sl[0].start - 1:sl[0].stop + 1, sl[1].start - 1:sl[1].stop + 1] = 0.0
    ink[:RIM], ink[-RIM:], ink[:, :RIM], ink[:, -RIM:] = 0.0, 0.0, 0.0, 0.0
    return ink


@dataclass(frozen=True)
class ConsoleLine:
    """One line of text in a console: its rows (panel coordinates), baseline and ink
    columns."""

    top: int
    bottom: int
    baseline: int


def console_lines(ink: np.ndarray) -> list[ConsoleLine]:
    """Lines of text in a panel's ink (:func:`text_ink`), top to bottom; a band of rows
    taller than one line (a descender touching the line below) is cut at its emptiest row."""
    mask = ink > TEXT_CONTRAST / 255.0
    bands: list[tuple[int, int]] = []
    for a, b in _runs(mask.any(axis=1), 0):
        if bands and b - a <= 3 and a - bands[-1][1] <= 2:  # an underscore below its line
            bands[-1] = (bands[-1][0], b)
        elif b - a >= 3:  # (thinner: a panel's rounded corner, not text)
            bands.append((a, b))
    if not bands:
        return []
    heights = sorted(b - a for a, b in bands)
    pitch = heights[len(heights) // 2]
    out: list[ConsoleLine] = []
    for a, b in bands:
        parts = [(a, b)]
        while parts and parts[-1][1] - parts[-1][0] > 1.6 * pitch:
            pa, pb = parts.pop()
            rows = mask[pa + 3:pb - 3].sum(axis=1)
            cut = pa + 3 + int(np.argmin(rows)) if rows.size else (pa + pb) // 2
            parts.extend([(pa, cut), (cut, pb)])
        for pa, pb in sorted(parts):
            cols = [c for c in _runs(mask[pa:pb].any(axis=0), 0)]
            bottoms = [pa + int(np.flatnonzero(mask[pa:pb, c1:c2].any(axis=1))[-1]) for c1, c2 in cols]
            values, counts = np.unique(bottoms, return_counts=True)
            out.append(ConsoleLine(pa, pb, int(values[np.argmax(counts)])))
    return out


def glyph_columns(ink: np.ndarray, line: ConsoleLine) -> list[tuple[int, int]]:
    """``[x1, x2)`` runs of ink columns on a line (one per glyph, touching glyphs as one)."""
    mask = ink[line.top:line.bottom] > TEXT_CONTRAST / 255.0
    return _runs(mask.any(axis=0), 0)


def _band(ink: np.ndarray, baseline: int, ascent: int, descent: int) -> np.ndarray:
    h = ink.shape[0]
    rows = np.arange(baseline - ascent, baseline + descent + 1)
    out = np.zeros((rows.size, ink.shape[1]), np.float32)
    ok = (rows >= 0) & (rows < h)
    out[ok] = ink[rows[ok]]
    return out


@dataclass(frozen=True)
class Glyphs:
    """Templates of a font's characters as a page drew them, aligned on the baseline.

    Attributes:
        templates: ``(character, HxW float ink)`` pairs, a character once per copy typed
            (ink (rows ``ascent`` above the baseline to
            ``descent`` below it).
        ascent: Rows above the baseline.
        descent: Rows below it.
        space: Smallest run of empty columns that is a space between words.
    """

    templates: list[tuple[str, np.ndarray]]
    ascent: int
    descent: int
    space: int

    @functools.cached_property
    def variants(self) -> dict[int, tuple[np.ndarray, np.ndarray]]:
        """Every template at each sub-pixel shift (:data:`SUBPIXEL_SHIFTS`) and a row up or
        down, blurred along its rows, grouped by width: ``{width: (K x H x width inks,
        K template indices)}`` (worked out once, for all the lines read)."""
        groups: dict[int, list[tuple[int, np.ndarray]]] = {}
        for k, (_, template) in enumerate(self.templates):
            for v in _shifted(template):
                for dy in (-1, 0, 1):
                    t = _blur(np.roll(v, dy, axis=0))
                    groups.setdefault(t.shape[1], []).append((k, t))
        return {w: (np.stack([t for _, t in g]), np.array([k for k, _ in g]))
                for w, g in groups.items()}


def _is_cursor(ink: np.ndarray, line: ConsoleLine, cols: tuple[int, int]) -> bool:
    """A solid block (a text cursor), not a glyph."""
    patch = ink[line.top:line.bottom, cols[0]:cols[1]] > TEXT_CONTRAST / 255.0
    return patch.size > 0 and patch.mean() > 0.8 and cols[1] - cols[0] >= 3


def learn_glyphs(ink: np.ndarray, chars: str = GLYPH_CHARS * SHEET_COPIES) -> Glyphs | None:
    """Templates of ``chars`` from a panel whose last glyphs are ``chars`` typed one by one
    with spaces between (:data:`GLYPH_SHEET`, maybe wrapped over lines, a cursor after it).

    Args:
        ink: :func:`text_ink` of the panel.
        chars: The characters typed, in order.

    Returns:
        The templates; None when the panel's last glyphs cannot be these (as many glyph
        runs as characters are needed: a glyph drawn in two pieces or two touching ones
        make the count wrong).
    """
    lines = console_lines(ink)
    runs = [(ln, c) for ln in lines for c in glyph_columns(ink, ln) if not _is_cursor(ink, ln, c)]
    if len(runs) < len(chars):
        return None
    runs = runs[-len(chars):]
    ascent = max(ln.baseline - ln.top for ln, _ in runs)
    descent = max(ln.bottom - 1 - ln.baseline for ln, _ in runs)
    templates = []
    gaps = []
    for k, (ch, (ln, (x1, x2))) in enumerate(zip(chars, runs, strict=True)):
        templates.append((ch, _band(ink, ln.baseline, ascent, descent)[:, x1:x2]))
        if k and runs[k - 1][0] is ln:
            gaps.append(x1 - runs[k - 1][1][1])
    if not gaps:
        return None
    # (a space between glyphs drawn apart; a gap inside a word is narrower)
    space = max(2, int(np.percentile(gaps, 10)) - 1)
    return Glyphs(templates, ascent, descent, space)


def _shifted(template: np.ndarray) -> list[np.ndarray]:
    """The template drawn a fraction of a pixel to the left and right (browsers place
    glyphs at sub-pixel positions, and anti-aliasing spreads a glyph's ink by where it
    lands), empty edge columns trimmed."""
    padded = np.pad(template, ((0, 0), (1, 1)))
    out = []
    for f in SUBPIXEL_SHIFTS:
        moved = (1.0 - abs(f)) * padded + abs(f) * np.roll(padded, 1 if f > 0 else -1, axis=1)
        cols = np.flatnonzero(moved.sum(axis=0) > 0.05)
        if cols.size:
            out.append(moved[:, int(cols[0]):int(cols[-1]) + 1])
    return out


def _blur(ink: np.ndarray) -> np.ndarray:
    """``ink`` smoothed along its rows (a glyph drawn at another fraction of a pixel looks
    more alike once blurred: the shape stays, the anti-aliasing phase fades)."""
    r = len(BLUR) // 2
    padded = np.pad(ink, ((0, 0), (r, r)))
    return sum(k * padded[:, i:i + ink.shape[1]] for i, k in enumerate(BLUR))


def decode_line(ink: np.ndarray, line: ConsoleLine, glyphs: Glyphs) -> str:
    """The text of one console line: the sequence of glyph templates (each at a few
    sub-pixel shifts) and empty columns that draws its pixels with the least difference,
    a small price per glyph (dynamic programming over columns); runs of at least
    ``glyphs.space`` empty columns between glyphs are spaces."""
    band = _band(ink, line.baseline, glyphs.ascent, glyphs.descent)
    cols = np.flatnonzero((band > TEXT_CONTRAST / 255.0).any(axis=0))
    if cols.size == 0:
        return ""
    band = np.pad(band[:, max(int(cols[0]) - 1, 0):int(cols[-1]) + 2], ((0, 0), (0, 2)))
    width = band.shape[1]
    col_ink = band.sum(axis=0)
    band = _blur(band)
    # the cheapest template variant of each width at every column: {width: (costs[x], template[x])}
    cheapest: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for w, (inks, which) in glyphs.variants.items():
        if w > width:
            continue
        windows = np.lib.stride_tricks.sliding_window_view(band, w, axis=1)  # h, n, w
        c = np.abs(windows[None] - inks[:, :, None, :]).sum(axis=(1, 3)) + GLYPH_COST  # K, n
        low = c.argmin(axis=0)
        cheapest[w] = (c[low, np.arange(c.shape[1])], which[low])
    best = np.full(width + 1, np.inf)
    back: list[tuple[int, str]] = [(-1, "")] * (width + 1)
    best[0] = 0.0
    for x in range(width):
        if not np.isfinite(best[x]):
            continue
        cost = best[x] + 3.0 * col_ink[x] + GAP_COST
        if cost < best[x + 1]:
            best[x + 1], back[x + 1] = cost, (x, "")
        for w, (c, which) in cheapest.items():
            if x < c.size and best[x] + c[x] < best[x + w]:
                best[x + w], back[x + w] = best[x] + c[x], (x, glyphs.templates[int(which[x])][0])
    out: list[str] = []
    x, gap = width, 0
    while x > 0:
        prev, ch = back[x]
        if ch:
            if gap >= glyphs.space and out:
                out.append(" ")
            out.append(ch)
            gap = 0
        else:
            gap += 1
        x = prev
    return "".join(reversed(out)).strip()


def _edits(a: str, b: str) -> int:
    """Levenshtein distance between two short strings."""
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        prev, row[0] = row[0], i
        for j, cb in enumerate(b, start=1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (ca != cb))
    return row[-1]


def pick_files(words: Sequence[str], request: ShellRequest) -> list[str]:
    """File names among ``words`` (read from a listing) that fit the request, in order, once
    each: the words matching its pattern in full, then words whose ending is one slip from
    the request's suffix (``trace.pv`` for ``.py``: the suffix is known, so it is typed as
    the request spells it, ``trace.py``), words that end in a two-part suffix without its dots
    (``containertargz`` for ``.tar.gz``: a dot is a small glyph), then the start of a word
    up to the suffix when
    more follows (``trace.pytrace.zip``: two names whose space was lost). Letter case does not
    matter in the request's ending (``.pY`` read for ``.py``); a word that fits is typed as
    the listing shows it."""
    rx = re.compile(request.pattern or r"\S+", re.IGNORECASE)
    exact = [w for w in words if rx.fullmatch(w)]
    near: list[str] = []
    ext = request.suffix
    if ext and not (ext.islower() or ext.isupper()):  # ".pY": a letter's case misread
        ext = ext.lower()
    if ext:
        for w in words:
            for n in (len(ext) - 1, len(ext), len(ext) + 1):
                stem = w[:-n]
                if stem and n > 1 and w not in exact and _edits(w[-n:].lower(), ext.lower()) <= 1 and \
                        rx.fullmatch(stem + ext):
                    near.append(stem + ext)
                    break
        bare = ext.replace(".", "").lower()
        for w in words if ext.count(".") > 1 else ():  # its dots lost ("containertargz": .tar.gz)
            if len(w) > len(bare) and w.lower().endswith(bare) and rx.fullmatch(w[:-len(bare)] + ext):
                near.append(w[:-len(bare)] + ext)
        for w in words:  # two names read as one (the space between them lost)
            i = w.lower().find(ext.lower())
            if 0 < i and len(w) - i - len(ext) >= 2 and rx.fullmatch(w[:i + len(ext)]):
                near.append(w[:i + len(ext)])
    return list(dict.fromkeys(exact + near))


def command_output(ink: np.ndarray, glyphs: Glyphs, command: str) -> list[str]:
    """The words a console printed for the last ``command`` typed: the lines after the
    last line that ends with the command (its echo after the prompt), up to the prompt
    line at the bottom; every line but the last when no echo is read."""
    texts = [decode_line(ink, ln, glyphs) for ln in console_lines(ink)]
    loose = str.maketrans("Il1|", "llll")
    echo = [i for i, t in enumerate(texts) if t.split()[-1:] and
            t.split()[-1].translate(loose) == command.translate(loose)]
    start = echo[-1] + 1 if echo else 0
    return [w for t in texts[start:-1] for w in t.split()]
