"""Reading distorted text: letters each slanted or sheared on its own, as a captcha draws them.

OCR reads such a row badly (``46Q3`` as ``4603``, ``rSv`` as ``ISv``): its recogniser
learnt upright letters on a shared baseline. Here the row is read the other way round,
by drawing: every letter and digit of an installed font (serif first: captchas are drawn
in one, then the sans-serif the page text uses) is drawn at the row's size and at every
shear on a grid (horizontal and vertical shears, :data:`SHEAR_X` and :data:`SHEAR_Y`), and
each glyph of the row takes the drawn letter it looks most like (normalised correlation of
the blurred ink, both placed by their centres of mass; sizes are not scaled, so ``o`` and
``O`` differ). Glyphs that touch are cut where both halves fit a letter best; a small piece
(the dot of an ``i`` or ``j``) belongs to the glyph nearest to it.

* :func:`read_distorted` — the row's text when its glyphs are sheared letters drawn
  clearly enough (None for upright text: OCR reads that better).

Pixels only: ``HxWx3 uint8 RGB`` screenshots and XYXY pixel boxes.
"""

from __future__ import annotations

import functools
import logging
import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFont

logger = logging.getLogger(__name__)

Box = tuple[int, int, int, int]

#: Characters a distorted row is read as.
ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
#: Other characters upright text may hold (a row that fits them upright is not distorted).
UPRIGHT_EXTRA = "+-=*/?!.,:;()$%&@#<>"
#: Font files tried, in order (a serif first: distorted text is usually drawn in one).
FONTS = ("DejaVuSerif.ttf", "LiberationSerif-Regular.ttf", "DejaVuSans.ttf",
         "LiberationSans-Regular.ttf")
#: Horizontal shears (degrees) each letter is drawn at ...
SHEAR_X = tuple(range(-15, 16, 5))
#: ... and vertical shears (degrees).
SHEAR_Y = tuple(range(-40, 41, 5))
#: Side (px) of the square a glyph is placed on ...
CANVAS = 44
#: ... and of the one it is compared on (area-averaged: four times fewer numbers).
COMPARED = 22
#: Blur (px) of both inks before comparing (anti-aliasing and a pixel's shift differ less).
BLUR = 1.0
#: Grey difference from the background that counts as ink (0..1 ink from here ...
INK_FROM = 50.0
#: ... to full ink this much further).
INK_RANGE = 150.0
#: A piece of ink this small (px) is part of the glyph nearest to it (a dot).
DOT_AREA = 14
#: Letters of a glyph's best few compared again at finer shears.
REFINE_LETTERS = 4
#: A glyph whose best letter looks less alike than this may be two glyphs touching.
SPLIT_BELOW = 0.9
#: The row is read this way when its glyphs fit their letters this well on average ...
READ_MATCH = 0.9
#: Pieces that fit upright characters this well are upright text (not read here).
UPRIGHT_MATCH = 0.96
#: ... and most of them are sheared up or down by at least this much (degrees).
SHEARED = 8
#: Rows of more glyph pieces than this are running text, not a distorted word.
MAX_GLYPHS = 16


@dataclass(frozen=True)
class GlyphReading:
    """One glyph of a distorted row.

    Attributes:
        char: The letter it looks most like.
        score: Normalised correlation with that letter drawn (0..1).
        shear: ``(horizontal, vertical)`` shear in degrees the letter was drawn at.
    """

    char: str
    score: float
    shear: tuple[int, int]


def _font_path(name: str) -> str | None:
    try:
        return str(ImageFont.truetype(name, 10).path)
    except OSError:
        return None


def _blur(img: np.ndarray) -> np.ndarray:
    import cv2

    return cv2.GaussianBlur(img, (0, 0), BLUR)


@functools.lru_cache(maxsize=32)
def _base_glyphs(font: str, size: int, chars: str = ALPHABET
                 ) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """Each of ``chars`` drawn upright at ``size`` px: its blurred ink (float 0..1 on a
    square three em wide) and its centre of mass ``(x, y)``."""
    f = ImageFont.truetype(font, size)
    side = 3 * size
    out = []
    for ch in chars:
        im = Image.new("L", (side, side), 0)
        ImageDraw.Draw(im).text((side // 2, side // 2), ch, font=f, fill=255, anchor="mm")
        ink = _blur(np.asarray(im, dtype=np.float32) / 255.0)
        ys, xs = np.mgrid[:side, :side]
        mass = float(ink.sum()) or 1.0
        out.append((ink, np.array([(xs * ink).sum() / mass, (ys * ink).sum() / mass])))
    return tuple(out)


def shear_matrix(shear_x: float, shear_y: float) -> np.ndarray:
    """``2x2`` matrix of CSS ``skewX(shear_x) skewY(shear_y)`` (degrees), applied in that order
    to column vectors ``(x, y)``: ``x' = x + tan(a) y'``, ``y' = y + tan(b) x``."""
    ta, tb = math.tan(math.radians(shear_x)), math.tan(math.radians(shear_y))
    return np.array([[1.0 + ta * tb, ta], [tb, 1.0]])


@functools.lru_cache(maxsize=8)
def letter_bank(font: str, size: int) -> tuple[tuple[tuple[str, int, int], ...], np.ndarray]:
    """Every :data:`ALPHABET` letter of ``font`` at ``size`` px drawn at every shear of
    :data:`SHEAR_X` x :data:`SHEAR_Y`: their keys ``(char, shear_x, shear_y)`` and their inks
    (``N x CANVAS²``, each centred by its mass and of unit norm)."""
    import cv2

    keys, rows = [], []
    centre = np.array([CANVAS / 2, CANVAS / 2])
    for ch, (ink, mass) in zip(ALPHABET, _base_glyphs(font, size), strict=True):
        for a in SHEAR_X:
            for b in SHEAR_Y:
                m = shear_matrix(a, b)
                t = centre - m @ mass  # the sheared centre of mass lands on the canvas' centre
                warp = np.hstack([m, t[:, None]]).astype(np.float32)
                out = cv2.warpAffine(ink, warp, (CANVAS, CANVAS), flags=cv2.INTER_LINEAR)
                keys.append((ch, a, b))
                rows.append(cv2.resize(out, (COMPARED, COMPARED), interpolation=cv2.INTER_AREA).ravel())
    bank = np.stack(rows).astype(np.float32)
    bank /= np.linalg.norm(bank, axis=1, keepdims=True) + 1e-6
    return tuple(keys), bank


def _centred(ink: np.ndarray) -> np.ndarray | None:
    """A glyph's ink (float 0..1) blurred and placed on the canvas by its centre of mass,
    as a unit vector; None without ink."""
    import cv2

    mass = float(ink.sum())
    if mass < 1.0:
        return None
    ys, xs = np.mgrid[:ink.shape[0], :ink.shape[1]]
    cx, cy = (xs * ink).sum() / mass, (ys * ink).sum() / mass
    warp = np.float32([[1, 0, CANVAS / 2 - cx], [0, 1, CANVAS / 2 - cy]])
    out = cv2.warpAffine(_blur(ink.astype(np.float32)), warp, (CANVAS, CANVAS),
                         flags=cv2.INTER_LINEAR)
    out = cv2.resize(out, (COMPARED, COMPARED), interpolation=cv2.INTER_AREA).ravel()
    norm = float(np.linalg.norm(out))
    return out / norm if norm > 1e-6 else None


def _best(ink: np.ndarray, bank: tuple[tuple[tuple[str, int, int], ...], np.ndarray]
          ) -> GlyphReading | None:
    v = _centred(ink)
    if v is None:
        return None
    keys, mat = bank
    scores = mat @ v
    k = int(np.argmax(scores))
    return GlyphReading(keys[k][0], float(scores[k]), (keys[k][1], keys[k][2]))


def _drawn(font: str, size: int, char: str, shear: tuple[float, float], *,
           chars: str = ALPHABET) -> np.ndarray:
    """One letter of ``chars`` drawn at one shear, as :func:`letter_bank` draws them (a
    unit vector)."""
    import cv2

    ink, mass = _base_glyphs(font, size, chars)[chars.index(char)]
    m = shear_matrix(*shear)
    t = np.array([CANVAS / 2, CANVAS / 2]) - m @ mass
    out = cv2.warpAffine(ink, np.hstack([m, t[:, None]]).astype(np.float32), (CANVAS, CANVAS),
                         flags=cv2.INTER_LINEAR)
    out = cv2.resize(out, (COMPARED, COMPARED), interpolation=cv2.INTER_AREA).ravel()
    return out / (float(np.linalg.norm(out)) + 1e-6)


def _refined(ink: np.ndarray, bank: tuple[tuple[tuple[str, int, int], ...], np.ndarray],
             font: str, size: int) -> GlyphReading | None:
    """:func:`_best`, then the :data:`REFINE_LETTERS` best letters compared again at every
    whole degree of shear within half a grid step of their best (look-alikes such as ``O``
    and ``0``, ``B`` and ``8`` differ less than a grid step's error)."""
    v = _centred(ink)
    if v is None:
        return None
    keys, mat = bank
    scores = mat @ v
    best: dict[str, tuple[float, tuple[int, int]]] = {}
    for k in np.argsort(-scores):
        ch = keys[int(k)][0]
        if ch not in best:
            best[ch] = (float(scores[k]), (keys[int(k)][1], keys[int(k)][2]))
            if len(best) == REFINE_LETTERS:
                break
    out = max(((sc, ch, sh) for ch, (sc, sh) in best.items()), key=lambda t: t[0])
    step_x, step_y = SHEAR_X[1] - SHEAR_X[0], SHEAR_Y[1] - SHEAR_Y[0]
    for ch, (_, (a, b)) in best.items():
        for da in range(-(step_x // 2), step_x // 2 + 1, 1):
            for db in range(-(step_y // 2), step_y // 2 + 1, 1):
                sc = float(_drawn(font, size, ch, (a + da, b + db)) @ v)
                if sc > out[0]:
                    out = (sc, ch, (a + da, b + db))
    return GlyphReading(out[1], out[0], out[2])


def glyph_pieces(ink: np.ndarray) -> list[np.ndarray]:
    """A row's ink (float 0..1) cut into glyphs, left to right: its connected pieces, each
    small one (:data:`DOT_AREA`) joined to the nearest larger one; each glyph as the row's
    ink with everything else cleared."""
    import cv2

    mask = (ink > 0.25).astype(np.uint8)
    n, labels, stats, centres = cv2.connectedComponentsWithStats(mask, connectivity=8)
    big = [i for i in range(1, n) if stats[i][4] > DOT_AREA]
    groups: dict[int, list[int]] = {i: [i] for i in big}
    for i in range(1, n):
        if 3 <= stats[i][4] <= DOT_AREA and big:
            j = min(big, key=lambda b: float(np.hypot(*(centres[b] - centres[i]))))
            groups[j].append(i)
    order = sorted(groups, key=lambda i: stats[i][0])
    return [np.where(np.isin(labels, groups[i]), ink, 0.0).astype(np.float32) for i in order]


def _split(glyph: np.ndarray, bank: tuple[tuple[tuple[str, int, int], ...], np.ndarray],
           whole: GlyphReading) -> list[GlyphReading]:
    """Two touching glyphs cut at the column where both halves fit a letter best (the worse
    half's score counts); ``[whole]`` when no cut beats reading it as one."""
    cols = np.nonzero(glyph.max(axis=0) > 0.25)[0]
    if cols.size < 10:
        return [whole]
    cuts, vecs = [], []
    for cut in range(int(cols.min()) + 4, int(cols.max()) - 3):
        left, right = glyph.copy(), glyph.copy()
        left[:, cut:] = 0
        right[:, :cut] = 0
        halves = _centred(left), _centred(right)
        if halves[0] is not None and halves[1] is not None:
            cuts.append(cut)
            vecs += list(halves)
    if not cuts:
        return [whole]
    keys, mat = bank
    scores = mat @ np.stack(vecs, axis=1)  # every half against every drawn letter at once
    best_k, best_s = scores.argmax(axis=0), scores.max(axis=0)
    worse = np.minimum(best_s[0::2], best_s[1::2])
    i = int(np.argmax(worse))
    if float(worse[i]) <= whole.score:
        return [whole]

    def reading(j: int) -> GlyphReading:
        ch, a, b = keys[int(best_k[j])]
        return GlyphReading(ch, float(best_s[j]), (a, b))

    return [reading(2 * i), reading(2 * i + 1)]


def row_ink(image: np.ndarray, box: Box, *, pad: int = 3) -> np.ndarray:
    """Ink (float 0..1, dark or light on the row's background) of ``box`` and ``pad`` px round it."""
    h, w = image.shape[:2]
    x1, y1, x2, y2 = max(box[0] - pad, 0), max(box[1] - pad, 0), min(box[2] + pad, w), min(box[3] + pad, h)
    grey = image[y1:y2, x1:x2].astype(np.float32).mean(axis=2)
    bg = float(np.median(grey))
    return np.clip((np.abs(grey - bg) - INK_FROM) / INK_RANGE, 0.0, 1.0)


def _size_guess(pieces: list[np.ndarray], font: str) -> int:
    """The font size (px) whose letters have about the pieces' ink (shearing keeps area):
    the median piece's ink against the median letter's ink at 20 px, scaled by the root."""
    letters = [float(ink.sum()) for ink, _ in _base_glyphs(font, 20)]
    mass = float(np.median([p.sum() for p in pieces]))
    return max(8, round(20 * math.sqrt(mass / max(float(np.median(letters)), 1e-6))))


def _size_fit(pieces: list[np.ndarray], read: list[GlyphReading], font: str, size: int) -> int:
    """The font size (px) at which the letters read have the pieces' ink: each piece's ink
    against its letter's at ``size`` (the median ratio, scaled by the root; pieces that
    fit their letters well, when there are any)."""
    base = dict(zip(ALPHABET, _base_glyphs(font, size), strict=True))
    pairs = [(p, r) for p, r in zip(pieces, read, strict=True) if r.score >= SPLIT_BELOW] or \
        list(zip(pieces, read, strict=True))  # (two glyphs touching are no letter's size)
    ratios = [float(p.sum()) / max(float(base[r.char][0].sum()), 1e-6) for p, r in pairs]
    return max(8, round(size * math.sqrt(float(np.median(ratios)))))


@dataclass
class _Fit:
    """The pieces of a row read with one font at one size."""

    mean: float
    read: list[GlyphReading]
    bank: tuple[tuple[tuple[str, int, int], ...], np.ndarray]
    font: str
    size: int


def _read_at(pieces: list[np.ndarray], font: str, size: int) -> _Fit | None:
    bank = letter_bank(font, size)
    read = [_best(p, bank) for p in pieces]
    if any(r is None for r in read):
        return None
    done = [r for r in read if r is not None]
    return _Fit(sum(r.score for r in done) / len(done), done, bank, font, size)


def _sheared_letters(read: list[GlyphReading]) -> bool:
    """Of the glyphs that fit a letter well (:data:`READ_MATCH`), there are some and most
    are slanted up or down (:data:`SHEARED`); upright digits beside signs that fit no
    letter (``7 + 3 =``) are not (half of them will do: a small ``i`` looks the same at
    every slant)."""
    good = [r for r in read if r.score >= READ_MATCH]
    return bool(good) and 2 * sum(1 for r in good if abs(r.shear[1]) >= SHEARED) >= len(good)


def read_glyphs(ink: np.ndarray, *, give_up: bool = False) -> list[GlyphReading]:
    """Each glyph of a row's ink read as the sheared letter it looks most like, touching
    glyphs cut apart. Fonts of :data:`FONTS` are tried in turn until one fits
    (:data:`READ_MATCH`), each at the size its letters' ink suggests (first from the
    median piece, then from the letters read); the font and size whose letters fit best
    on average are kept. Empty without ink or a font, and, with ``give_up``, when the first
    reading shows no sheared letters (:func:`_sheared_letters`: nothing more is tried)."""
    pieces = [p for p in glyph_pieces(ink) if p.sum() >= 4]
    if not pieces:
        return []
    best: _Fit | None = None
    for name in FONTS:
        font = _font_path(name)
        if font is None:
            continue
        size = _size_guess(pieces, font)
        for _ in range(3):
            fit = _read_at(pieces, font, size)
            if fit is None:
                break
            if give_up and best is None and not _sheared_letters(fit.read):
                return []
            if best is None or fit.mean > best.mean:
                best = fit
            again = _size_fit(pieces, fit.read, font, size)
            if again == size:
                break
            size = again
        if best is not None and best.mean >= READ_MATCH:
            break  # (a font that fits: the next is not tried)
    if best is None:
        return []
    out: list[GlyphReading] = []
    for piece, r in zip(pieces, best.read, strict=True):
        parts = _split(piece, best.bank, r) if r.score < SPLIT_BELOW else [r]
        if len(parts) == 1:
            fine = _refined(piece, best.bank, best.font, best.size)
            parts = [fine] if fine is not None else parts
        out += parts
    return out


def upright_fit(pieces: list[np.ndarray]) -> float:
    """How well the pieces fit upright characters (letters, digits and the signs of
    :data:`UPRIGHT_EXTRA`) of the :data:`FONTS` at sizes about theirs: the best mean
    correlation (a quick test, 80 drawings a font and size, before the sheared ones)."""
    chars = ALPHABET + UPRIGHT_EXTRA
    best = 0.0
    vecs = [v for v in (_centred(p) for p in pieces) if v is not None]
    if not vecs:
        return 0.0
    for name in FONTS:
        font = _font_path(name)
        if font is None:
            continue
        guess = _size_guess(pieces, font)
        for size in range(max(guess - 3, 6), guess + 4):
            mat = np.stack([_drawn(font, size, c, (0, 0), chars=chars) for c in chars])
            best = max(best, float(np.mean([float((mat @ v).max()) for v in vecs])))
    return best


def read_distorted(image: np.ndarray, box: Box) -> str | None:
    """The text of the row in ``box`` when it is drawn as distorted letters: not upright
    characters (:func:`upright_fit` below :data:`UPRIGHT_MATCH`), but sheared letters that fit
    :data:`READ_MATCH` well on average, half of them or more slanted up or down by :data:`SHEARED`
    degrees or more (a vertical shear: italics lean sideways only). None for anything else."""
    ink = row_ink(image, box)
    pieces = [p for p in glyph_pieces(ink) if p.sum() >= 4]
    if not pieces or len(pieces) > MAX_GLYPHS or upright_fit(pieces) >= UPRIGHT_MATCH:
        return None
    read = read_glyphs(ink, give_up=True)
    if not read:
        return None
    mean = sum(r.score for r in read) / len(read)
    sheared = sum(1 for r in read if abs(r.shear[1]) >= SHEARED)
    text = "".join(r.char for r in read)
    logger.debug("distorted reading of %s: %r (fit %.2f, %d/%d sheared)", box, text, mean,
                 sheared, len(read))
    if mean < READ_MATCH or 2 * sheared < len(read):
        return None
    return text
