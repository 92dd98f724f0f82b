"""Matching text by how it looks, for text the recogniser cannot read.

A recogniser trained on Latin script reads ``ヘルプ``, ``确定`` or ``♥♥♥`` as
noise, and not even the same noise in the instruction and on the button
(different sizes). But the instruction *shows* the string it names: the quoted
word's pixels in the banner can be compared with each element's label. Both
are cut to their ink, averaged down to a small fixed grid (so thin strokes
drawn at two sizes still line up), and compared by correlation, weighted by how
alike their aspect ratios are.

The same idea reads random quoted strings (:func:`read_glyphs`): a line is cut
into glyphs and words once (:func:`line_words`), and each glyph is compared with
every letter and digit drawn in the page's sans-serif font (regular and bold),
so a ``7`` that OCR took for ``T`` is put right by its own pixels.

``HxWx3 uint8 RGB`` screenshots and XYXY pixel boxes, as everywhere in the agent.
"""

from __future__ import annotations

import functools
import logging
import re
import string
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

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


# -- a line cut into glyphs and words ---------------------------------------------
#: ``(x1, x2, top, bottom)`` of one glyph in a line crop: its ink columns ``[x1, x2)`` and
#: its first and last ink rows.
Glyph = tuple[int, int, int, int]


@dataclass(frozen=True)
class LineGlyphs:
    """A line of text cut into glyphs, grouped into the words of its OCR reading.

    Attributes:
        ink: ``HxW bool`` ink of the line crop.
        words: One list of glyphs per space-separated word of the reading.
        baseline: The most common glyph bottom row.
        tall: The highest glyph top row (the cap height or an ascender).
    """

    ink: np.ndarray
    words: list[list[Glyph]]
    baseline: int
    tall: int


def glyph_runs(ink: np.ndarray) -> list[Glyph]:
    """One glyph per run of ink columns (touching glyphs make one run)."""
    cols = np.flatnonzero(ink.any(axis=0))
    out: list[Glyph] = []
    if cols.size == 0:
        return out
    breaks = np.flatnonzero(np.diff(cols) > 1)
    for a, b in zip(np.r_[0, breaks + 1], np.r_[breaks, cols.size - 1], strict=True):
        xa, xb = int(cols[a]), int(cols[b]) + 1
        rows = np.flatnonzero(ink[:, xa:xb].any(axis=1))
        out.append((xa, xb, int(rows[0]), int(rows[-1])))
    return out


def split_glyphs(ink: np.ndarray, glyphs: list[Glyph], count: int) -> list[Glyph]:
    """Cut runs of touching glyphs until there are ``count``: the widest run is cut at its
    interior column with the least ink (nearest its middle). Unchanged when there are
    already ``count`` or more, or nothing is wide enough to cut."""
    out = list(glyphs)
    while len(out) < count:
        cuts = []  # (ink in the cut column, -width, run, column) for each run wide enough
        for i, (x1, x2, _, _) in enumerate(out):
            if x2 - x1 >= 4:
                cols = ink[:, x1 + 1:x2 - 1].sum(axis=0)
                mid = (x2 - x1 - 2) / 2.0
                c = min(range(cols.size), key=lambda k, cols=cols, mid=mid: (cols[k], abs(k - mid)))
                cuts.append((int(cols[c]), x1 - x2, i, x1 + 1 + c))
        if not cuts:
            return list(glyphs)
        _, _, i, cut = min(cuts)
        x1, x2 = out[i][0], out[i][1]
        parts = []
        for a, b in ((x1, cut), (cut, x2)):
            rows = np.flatnonzero(ink[:, a:b].any(axis=1))
            if b <= a or rows.size == 0:
                return list(glyphs)
            parts.append((a, b, int(rows[0]), int(rows[-1])))
        out[i:i + 1] = parts
    return out


def line_words(line: np.ndarray, text: str, *, ink_grey: float = 100.0,
               word_gap: int = 3) -> LineGlyphs | None:
    """Cut a line crop into glyphs and group them into the words of ``text``, its reading.

    The reading says how many words there are: the widest column gaps are the
    spaces. A double quote (two ticks high above the baseline) is one glyph.

    Args:
        line: ``HxWx3 uint8`` crop of one text line (dark text).
        text: The OCR reading of the line.
        ink_grey: Grey level below which a pixel is text.
        word_gap: Smallest gap (px) a space may be.

    Returns:
        The glyphs per word; None when spaces and letter gaps cannot be told apart.
    """
    ink = line.astype(np.float32).mean(axis=2) < ink_grey
    glyphs = glyph_runs(ink)
    if not glyphs:
        return None
    bottoms, counts = np.unique([g[3] for g in glyphs], return_counts=True)
    baseline = int(bottoms[np.argmax(counts)])
    tall = min(g[2] for g in glyphs)
    height = max(baseline - tall, 1)
    merged = [glyphs[0]]
    for g in glyphs[1:]:
        p = merged[-1]
        if max(p[3], g[3]) < baseline - 0.5 * height and g[0] - p[1] <= 2:
            merged[-1] = (p[0], g[1], min(p[2], g[2]), max(p[3], g[3]))
        else:
            merged.append(g)
    glyphs = merged
    n_space = len(text.split(" ")) - 1
    if n_space >= len(glyphs):
        return None
    gaps = np.asarray([b[0] - a[1] for a, b in zip(glyphs, glyphs[1:], strict=False)])
    order = np.argsort(-gaps, kind="stable")
    if n_space and (gaps[order[n_space - 1]] < word_gap or
                    (n_space < len(gaps) and gaps[order[n_space - 1]] <= gaps[order[n_space]])):
        return None
    spaces = set(order[:n_space].tolist())
    words: list[list[Glyph]] = [[glyphs[0]]]
    for i, g in enumerate(glyphs[1:]):
        if i in spaces:
            words.append([g])
        else:
            words[-1].append(g)
    return LineGlyphs(ink=ink, words=words, baseline=baseline, tall=tall)


def word_box(line: np.ndarray, text: str, word: str, *, offset: tuple[int, int] = (0, 0),
             ink_grey: float = 100.0) -> Box | None:
    """Where ``word`` (a space-free part of the OCR reading ``text`` of ``line``) is drawn.

    The line is cut into words as :func:`line_words` does; the word's box leaves out
    quote marks (ink only high above the baseline). None when ``word`` is not one word
    of ``text`` or the gaps do not tell words apart.
    """
    index = next((i for i, w in enumerate(text.split(" ")) if word in w), -1)
    if index < 0 or " " in word:
        return None
    found = line_words(line, text, ink_grey=ink_grey, word_gap=0)
    if found is None:
        return None
    height = max(found.baseline - found.tall, 1)
    # drop quote marks and punctuation ticks high above the baseline
    keep = [g for g in found.words[index] if g[3] >= found.baseline - 0.5 * height]
    if not keep:
        return None
    x1, x2 = keep[0][0], keep[-1][1]
    r = np.flatnonzero(found.ink[:, x1:x2].any(axis=1))
    ox, oy = offset
    return ox + x1, oy + int(r.min()), ox + x2, oy + int(r.max()) + 1


def quoted_word(text: str, target: str) -> bool:
    """Whether ``target`` is quoted in ``text``."""
    return bool(target) and re.search(r'"\s*' + re.escape(target) + r'\s*"', text) is not None


# -- reading a glyph by drawing the candidates ---------------------------------------
#: Characters a glyph of a quoted random string may be.
GLYPH_CHARS = string.ascii_letters + string.digits
#: Sans-serif families the page text may be drawn in, regular and bold face: the first one
#: installed is used (Chromium draws web text with the system's sans-serif).
FONT_FAMILIES = (("DejaVuSans.ttf", "DejaVuSans-Bold.ttf"),
                 ("LiberationSans-Regular.ttf", "LiberationSans-Bold.ttf"),
                 ("Arial.ttf", "Arial Bold.ttf"))
#: Grid every glyph's ink is scaled to before comparing (rows, columns).
GLYPH_PATCH = (12, 8)
#: Ink coverage (0..1) that counts as part of a glyph's box.
GLYPH_INK = 0.45
#: A drawn candidate must beat the OCR's own character by this much to replace it (on 200
#: development banners with random passwords every swap at 0.32-0.40 was right; below 0.3
#: letters such as ``B`` became digits).
GLYPH_MARGIN = 0.35


@functools.lru_cache(maxsize=1)
def glyph_fonts() -> tuple[str, ...]:
    """Files of the first installed :data:`FONT_FAMILIES` family (regular, then bold when
    there is one), else matplotlib's DejaVu Sans; empty without any (glyphs are then not
    drawn, and text is not re-read)."""
    for family in FONT_FAMILIES:
        paths = []
        for name in family:
            try:
                paths.append(str(ImageFont.truetype(name, 10).path))
            except OSError:
                continue
        if paths:
            return tuple(paths)
    try:
        import matplotlib
    except ImportError:
        logger.warning("no sans-serif TrueType font found: glyphs are not drawn")
        return ()
    base = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    return tuple(str(base / n) for n in FONT_FAMILIES[0] if (base / n).is_file())


@dataclass(frozen=True)
class GlyphShape:
    """What is compared of one glyph: its ink on :data:`GLYPH_PATCH`, its top, its bottom
    (below the baseline) and its width in cap heights, and whether it has a dot."""

    patch: np.ndarray
    top: float
    bottom: float
    width: float
    #: An empty row inside the ink (the dot of ``i``, ``j``, ``!``).
    dotted: bool = False

    def score(self, other: GlyphShape) -> float:
        """Look-alike score (about -4..1): correlation of the ink (soft intersection-over-union
        where a patch is flat, as a bar is) minus the differences of the geometry."""
        a, b = self.patch - self.patch.mean(), other.patch - other.patch.mean()
        na, nb = float(np.linalg.norm(a)), float(np.linalg.norm(b))
        if min(na, nb) < 0.5:
            union = float(np.maximum(self.patch, other.patch).sum())
            like = float(np.minimum(self.patch, other.patch).sum()) / union if union else 0.0
        else:
            like = float(a @ b) / (na * nb)
        return like - float(self.dotted != other.dotted) - 1.5 * abs(self.top - other.top) - 1.5 * abs(self.bottom - other.bottom) \
            - 0.7 * abs(float(np.log(max(self.width, 0.05) / max(other.width, 0.05))))


def glyph_shape(coverage: np.ndarray, *, baseline: int, cap: float) -> GlyphShape | None:
    """The :class:`GlyphShape` of the ink in ``coverage`` (``HxW`` float 0..1, one glyph)
    sitting on row ``baseline`` of a line whose capitals are ``cap`` rows tall."""
    ink = coverage > GLYPH_INK
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    if rows.size == 0:
        return None
    top, bottom, left, right = int(rows[0]), int(rows[-1]), int(cols[0]), int(cols[-1])
    cut = coverage[top:bottom + 1, left:right + 1]
    scaled = np.asarray(Image.fromarray((cut * 255).astype(np.uint8)).resize(
        (GLYPH_PATCH[1], GLYPH_PATCH[0]), Image.BOX), np.float32) / 255.0
    return GlyphShape(scaled.ravel(), (baseline - top) / cap, (bottom - baseline) / cap,
                      (right - left + 1) / cap,
                      dotted=bool((~ink[top:bottom + 1].any(axis=1)).any()))


@functools.lru_cache(maxsize=8)
def _font_size(font: str, cap: int) -> float:
    """The size at which ``font`` draws an ``H`` ``cap`` rows tall."""
    for tenth in range(int(cap * 10), int(cap * 20)):
        size = tenth / 10.0
        ink = _draw(font, size, "H") > GLYPH_INK
        rows = np.flatnonzero(ink.any(axis=1))
        if rows.size and rows[-1] - rows[0] + 1 >= cap:
            return size
    return cap / 0.73


def _draw(font: str, size: float, char: str) -> np.ndarray:
    """``char`` drawn white on black at ``size`` px, baseline at row ``2 * size`` (coverage)."""
    side = int(size * 3) + 4
    im = Image.new("L", (side, side), 0)
    ImageDraw.Draw(im).text((size * 0.5, int(size * 2)), char, font=ImageFont.truetype(font, size),
                            fill=255, anchor="ls")
    return np.asarray(im, np.float32) / 255.0


@functools.lru_cache(maxsize=4096)
def _template(font: str, cap: int, char: str) -> GlyphShape | None:
    size = _font_size(font, cap)
    return glyph_shape(_draw(font, size, char), baseline=int(size * 2) - 1, cap=float(cap))


def read_glyphs(line: np.ndarray, glyphs: list[Glyph], text: str, *, baseline: int,
                tall: int) -> str:
    """Re-read ``text`` (one character per glyph) by drawing every candidate character in
    the page's fonts and keeping, glyph by glyph, the one that looks most like the pixels.

    A recogniser trained on words reads random strings by guesses (``7`` as ``T`` or
    ``Z``, ``4`` as ``A``, ``1`` as ``I``); the glyph's own ink says which it is. The font
    (regular or bold face) is the one whose drawings fit the whole word best; where two
    glyphs touch, the cut between them moves to where both fit best. A character is
    replaced only by a digit for a letter or a letter for a digit, and only when the drawn
    candidate beats the OCR's own character by :data:`GLYPH_MARGIN`: PIL draws the font a
    little differently from a browser's hinted text, so closer calls (``B``/``8``, letter
    case, ``I``/``l``) keep the OCR's reading (the case is judged by height in
    :func:`~lavr.episodes.gui.perception.refine_quoted`).

    Args:
        line: ``HxWx3 uint8`` crop of the text line (dark text on a light background).
        glyphs: The word's glyphs (:func:`line_words`), as many as ``text`` has characters.
        text: The OCR reading of the word.
        baseline: The line's baseline row; ``tall``: its cap-height row.

    Returns:
        The word re-read (``text`` unchanged without fonts or when the glyphs do not fit).
    """
    fonts = glyph_fonts()
    if not fonts or len(glyphs) != len(text):
        return text
    grey = line.astype(np.float32).mean(axis=2)
    bg = float(np.median(grey))
    coverage = np.clip((bg - grey) / max(bg, 1.0), 0.0, 1.0)
    cap = baseline - tall + 1
    best_total, best = -np.inf, text
    for font in fonts:
        def scores(x1: int, x2: int, font: str = font) -> dict[str, float]:
            shape = glyph_shape(coverage[:, x1:x2], baseline=baseline, cap=float(cap))
            if shape is None:
                return {}
            return {c: shape.score(t) for c in GLYPH_CHARS
                    if (t := _template(font, cap, c)) is not None}

        spans = [[g[0], g[1]] for g in glyphs]
        for i in range(len(spans) - 1):  # touching glyphs: move the cut to where both fit
            if spans[i][1] == spans[i + 1][0] and text[i].isalnum() and text[i + 1].isalnum():
                a, b = spans[i][0], spans[i + 1][1]
                cut = max(range(max(spans[i][1] - 2, a + 2), min(spans[i][1] + 3, b - 1)),
                          key=lambda c, a=a, b=b: max(scores(a, c).values(), default=-9.0) +
                          max(scores(c, b).values(), default=-9.0))
                spans[i][1] = spans[i + 1][0] = cut
        out, total = [], 0.0
        for ch, (x1, x2) in zip(text, spans, strict=True):
            scored = scores(x1, x2) if ch.isalnum() or ch in "{}[]()|!$" else {}
            if not scored:
                out.append(ch)
                continue
            pick = max(scored, key=scored.__getitem__)
            total += scored[pick]
            # only a digit for a letter or a letter for a digit: the case of a letter is
            # better told by its height (refine_quoted), and bars are bars (I, l)
            swap = pick.isdigit() != ch.isdigit()
            out.append(pick if swap and scored[pick] > scored.get(ch, -9.0) + GLYPH_MARGIN
                       else ch)
        if total > best_total:
            best_total, best = total, "".join(out)
    return best


# -- icons named by a word -------------------------------------------------------------
#: Unicode blocks searched for symbols an icon word names (arrows, technical, geometric
#: shapes, miscellaneous symbols, dingbats).
SYMBOL_BLOCKS = ((0x2190, 0x21FF), (0x2300, 0x23FF), (0x25A0, 0x25FF), (0x2600, 0x27BF))


@functools.lru_cache(maxsize=64)
def symbol_patches(word: str) -> tuple[np.ndarray, ...]:
    """:func:`ink_patch` of each symbol of the page font whose Unicode name has ``word`` as
    a whole word or words (``star``: ★ BLACK STAR, ☆ WHITE STAR; ``rightwards arrowhead``:
    ➤ BLACK RIGHTWARDS ARROWHEAD); empty when the font has none or
    its character map cannot be read."""
    import unicodedata

    fonts = glyph_fonts()
    if not fonts or not re.fullmatch(r"[a-z]{3,}(?: [a-z]{3,})*", word):
        return ()
    try:
        from fontTools.ttLib import TTFont
    except ImportError:
        return ()
    cmap = TTFont(fonts[0], lazy=True).getBestCmap() or {}
    name = re.compile(rf"\b{word.upper()}\b")
    out = []
    for lo, hi in SYMBOL_BLOCKS:
        for code in range(lo, hi + 1):
            if code in cmap and name.search(unicodedata.name(chr(code), "")):
                im = Image.new("RGB", (64, 64), (255, 255, 255))
                ImageDraw.Draw(im).text((8, 4), chr(code), font=ImageFont.truetype(fonts[0], 40),
                                        fill=(0, 0, 0))
                patch = ink_patch(np.asarray(im), (0, 0, 64, 64))
                if patch is not None:
                    out.append(patch)
    return tuple(out)


#: Icon themes whose icons (freedesktop names: ``mail-reply-sender``, ``emote-love``,
#: ``emblem-shared``, ``user-trash`` ...) make a vocabulary of UI icons named by words;
#: Adwaita comes with the desktop libraries Chromium needs.
ICON_THEMES = (Path("/usr/share/icons/Adwaita"),)
#: Other words icon names use for an action (plain English, no page's wording).
ICON_SYNONYMS: dict[str, tuple[str, ...]] = {
    "like": ("love", "heart", "favorite"), "love": ("heart", "like"),
    "favorite": ("love", "starred"), "favourite": ("love", "starred", "favorite"),
    "delete": ("trash", "delete"), "remove": ("trash", "delete"), "bin": ("trash",),
    "retweet": ("repeat",), "repost": ("repeat",), "reshare": ("repeat", "share"),
    "settings": ("preferences",), "search": ("find",), "important": ("starred",),
}


@functools.lru_cache(maxsize=1)
def theme_icons() -> tuple[tuple[str, np.ndarray], ...]:
    """``(name, ink patch)`` of every symbolic icon of the installed :data:`ICON_THEMES`
    (its 64 px picture drawn at 16 px, the size icons have on a page); empty without one."""
    out = []
    for theme in ICON_THEMES:
        for path in sorted(theme.glob("64x64/*/*.symbolic.png")):
            try:
                alpha = np.asarray(Image.open(path).convert("RGBA"))[..., 3]
            except OSError:
                continue
            small = np.asarray(Image.fromarray(alpha).resize((16, 16), Image.BOX))
            crop = np.where((small > 100)[..., None], 0, 255).astype(np.uint8).repeat(3, axis=2)
            patch = ink_patch(crop, (0, 0, 16, 16))
            if patch is not None:
                out.append((path.name.split(".")[0].removesuffix("-symbolic"), patch))
    return tuple(out)


def _names(word: str, name: str) -> bool:
    """A theme icon's name holds ``word`` (``share`` in ``emblem-shared``, ``folder-publicshare``)."""
    parts = [p for p in name.split("-") if p not in ("symbolic", "rtl")]
    return any(p == word or (len(word) >= 4 and word in p) for p in parts)


@functools.lru_cache(maxsize=64)
def icon_patches(word: str) -> tuple[np.ndarray, ...]:
    """Ink patches of the icons ``word`` names: the page font's symbols whose Unicode names
    hold it (:func:`symbol_patches`) and the theme icons whose names hold it or one of its
    :data:`ICON_SYNONYMS`."""
    word = word.lower()
    if not re.fullmatch(r"[a-z]{3,}", word):
        return ()
    words = (word, *ICON_SYNONYMS.get(word, ()))
    themed = [p for name, p in theme_icons() if any(_names(w, name) for w in words)]
    return (*symbol_patches(word), *themed)
