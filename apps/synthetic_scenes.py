"""Synthetic scenes of coloured shapes with exact labels.

A scene is a ``HxWx3 uint8 RGB`` image of flat-coloured circles, squares and
triangles on a grey background, optionally with a word printed on a white label.
Every object's box is the tight box of its *visible* pixels, so labels stay exact
under partial overlap. Scenes feed the self-trained ``shapes`` detector
(``scripts/train_shapes.py``) and the question generator used in tests and
evaluation.

Only numpy and Pillow are needed.

Example:
    >>> rng = np.random.default_rng(0)
    >>> scene = render_scene(rng, text="EXIT")
    >>> scene.image.shape
    (320, 320, 3)
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageDraw, ImageFont

logger = logging.getLogger(__name__)

#: Shape classes, in the class-index order used by the shapes detector.
SHAPES: tuple[str, ...] = ("circle", "square", "triangle")

#: Canonical RGB of every colour name. Hues are far apart (red ~0°, orange ~30°,
#: yellow ~55°, green ~130°, blue ~225°, purple ~280°) and saturation is high, so a
#: simple HSV namer tells them apart even after :data:`COLOUR_JITTER`.
COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (220, 30, 30),
    "orange": (245, 130, 10),
    "yellow": (240, 220, 20),
    "green": (30, 170, 50),
    "blue": (30, 70, 220),
    "purple": (140, 40, 190),
}

#: Maximum per-channel deviation from the canonical RGB when drawing.
COLOUR_JITTER: int = 10

#: Background styles accepted by :func:`render_scene` (plus ``"random"``).
BACKGROUNDS: tuple[str, ...] = ("plain", "gradient", "noise")

#: Short words and phrases for text labels (some name shapes and colours on
#: purpose, so a detector must not confuse printed words with objects).
# fmt: off
WORDS: tuple[str, ...] = (
    "EXIT", "STOP", "OPEN", "SALE", "CAFE", "LAB 3", "ROOM 12", "HELLO",
    "circle", "square", "red", "blue", "TRIANGLE", "GREEN", "No entry", "Gate B",
    "lavr", "Push", "Pull", "Level 2", "MENU", "Fresh", "Danger", "42",
)
# fmt: on

#: Smallest and largest object size (box side in pixels, before rotation).
MIN_SIZE: int = 22
MAX_SIZE: int = 110
#: Largest fraction of an object that other objects may cover.
MAX_HIDDEN: float = 0.30
#: Smallest font size for rendered text, in pixels.
MIN_FONT_SIZE: int = 24

_MAX_ROTATION_DEG = {"circle": 0.0, "square": 20.0, "triangle": 15.0}
_PLACEMENT_TRIES = 60
_SAME_COLOUR_GAP = 3  # px between same-coloured objects, so they never merge
_TEXT_PAD = 6  # px of white label around the text ink
_TEXT_GAP = 4  # px kept free between the label and any shape

Box = tuple[float, float, float, float]


@dataclass
class SceneObject:
    """One drawn shape.

    Attributes:
        shape: One of :data:`SHAPES`.
        colour: A key of :data:`COLOURS`.
        xyxy: Tight box of the visible pixels, XYXY pixels; ``x2``/``y2`` are
            exclusive edges, so ``x2 - x1`` is the width in pixels.
    """

    shape: str
    colour: str
    xyxy: Box


@dataclass
class SceneText:
    """One printed word or phrase.

    Attributes:
        text: The string drawn.
        xyxy: Tight box of the text ink, XYXY pixels (exclusive ``x2``/``y2``).
        label_xyxy: The white label rectangle behind the text, XYXY pixels.
    """

    text: str
    xyxy: Box
    label_xyxy: Box | None = None


@dataclass
class Scene:
    """A rendered image with its ground truth.

    Attributes:
        image: ``HxWx3 uint8 RGB`` pixels.
        objects: Shapes, in drawing order (later ones are on top).
        texts: Printed text labels (empty when none was requested).
    """

    image: np.ndarray
    objects: list[SceneObject] = field(default_factory=list)
    texts: list[SceneText] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.image.ndim != 3 or self.image.shape[2] != 3 or self.image.dtype != np.uint8:
            raise ValueError(
                f"image must be HxWx3 uint8 RGB, got shape {self.image.shape} "
                f"dtype {self.image.dtype}"
            )

    @property
    def height(self) -> int:
        """Image height in pixels."""
        return int(self.image.shape[0])

    @property
    def width(self) -> int:
        """Image width in pixels."""
        return int(self.image.shape[1])

    def to_yolo_labels(self, class_names: Sequence[str]) -> list[str]:
        """Objects as YOLO label lines ``"cls cx_n cy_n w_n h_n"``.

        Args:
            class_names: Class names in class-index order, e.g. :data:`SHAPES`.

        Returns:
            One line per object, coordinates normalised to [0, 1].

        Raises:
            ValueError: An object's shape is not in ``class_names``.
        """
        names = list(class_names)
        lines = []
        for obj in self.objects:
            if obj.shape not in names:
                raise ValueError(f"shape {obj.shape!r} not in class names {names}")
            x1, y1, x2, y2 = obj.xyxy
            cx_n = (x1 + x2) / 2 / self.width
            cy_n = (y1 + y2) / 2 / self.height
            w_n = (x2 - x1) / self.width
            h_n = (y2 - y1) / self.height
            lines.append(f"{names.index(obj.shape)} {cx_n:.6f} {cy_n:.6f} {w_n:.6f} {h_n:.6f}")
        return lines


def render_scene(
    rng: np.random.Generator,
    *,
    width: int = 320,
    height: int = 320,
    n_objects: int | tuple[int, int] = (1, 6),
    shapes: Sequence[str] = SHAPES,
    colours: Sequence[str] = tuple(COLOURS),
    allow_overlap: bool = True,
    text: str | None = None,
    background: str = "random",
    min_size: int = MIN_SIZE,
    max_size: int = MAX_SIZE,
) -> Scene:
    """Draw a random scene of coloured shapes.

    Objects whose placement fails after a bounded number of tries are skipped
    (logged at DEBUG), so a crowded scene may hold fewer than requested.

    Args:
        rng: Source of randomness; the same seed gives the same scene.
        width: Image width in pixels.
        height: Image height in pixels.
        n_objects: Exact count, or an inclusive ``(low, high)`` range.
        shapes: Shapes to choose from (subset of :data:`SHAPES`).
        colours: Colour names to choose from (subset of :data:`COLOURS`).
        allow_overlap: Let shapes overlap (each stays at least 70% visible and
            overlapping shapes always differ in colour).
        text: A word or phrase to print on a white label, away from the shapes.
        background: ``"random"`` or one of :data:`BACKGROUNDS`.
        min_size: Smallest object box side, pixels.
        max_size: Largest object box side before rotation, pixels.

    Returns:
        The :class:`Scene`.

    Raises:
        ValueError: An unknown shape, colour or background, a bad count or size
            range, or text too wide for the image.
    """
    _check_args(shapes, colours, background, n_objects, min_size, max_size, width, height)
    low, high = (n_objects, n_objects) if isinstance(n_objects, int) else n_objects
    count = int(rng.integers(low, high + 1))

    if background == "random":
        background = BACKGROUNDS[int(rng.integers(len(BACKGROUNDS)))]
    canvas = _background(rng, width, height, background)

    texts: list[SceneText] = []
    keep_out: list[Box] = []
    label: tuple[Image.Image, tuple[int, int]] | None = None
    if text is not None:
        scene_text, label_image, label_xy = _place_text(rng, text, width, height)
        texts.append(scene_text)
        label = (label_image, label_xy)
        keep_out.append(_expand(_label_box(label_image, label_xy), _TEXT_GAP))

    owner = np.full((height, width), -1, dtype=np.int16)
    placed: list[_Placed] = []
    for _ in range(count):
        item = _place_object(
            rng, owner, placed, keep_out, shapes, colours, allow_overlap, min_size, max_size
        )
        if item is None:
            logger.debug("skipped an object after %d placement tries", _PLACEMENT_TRIES)
            continue
        owner[item.mask] = len(placed)
        placed.append(item)

    for idx, item in enumerate(placed):
        canvas[owner == idx] = item.rgb
    if label is not None:
        pil = Image.fromarray(canvas)
        pil.paste(*label)
        canvas = np.array(pil)

    objects = [
        SceneObject(item.shape, item.colour, _tight_box(owner == idx))
        for idx, item in enumerate(placed)
    ]
    return Scene(image=canvas, objects=objects, texts=texts)


@dataclass
class _Placed:
    shape: str
    colour: str
    rgb: tuple[int, int, int]
    mask: np.ndarray  # (H, W) bool, full (unoccluded) shape
    area: int
    box: Box  # full-shape tight box


def _check_args(
    shapes: Sequence[str],
    colours: Sequence[str],
    background: str,
    n_objects: int | tuple[int, int],
    min_size: int,
    max_size: int,
    width: int,
    height: int,
) -> None:
    bad_shapes = [s for s in shapes if s not in SHAPES]
    if not shapes or bad_shapes:
        raise ValueError(f"shapes must be a non-empty subset of {SHAPES}, got {list(shapes)}")
    bad_colours = [c for c in colours if c not in COLOURS]
    if not colours or bad_colours:
        raise ValueError(
            f"colours must be a non-empty subset of {list(COLOURS)}, got {list(colours)}"
        )
    if background != "random" and background not in BACKGROUNDS:
        raise ValueError(f"background must be 'random' or one of {BACKGROUNDS}, got {background!r}")
    low, high = (n_objects, n_objects) if isinstance(n_objects, int) else n_objects
    if not 1 <= low <= high:
        raise ValueError(f"n_objects must satisfy 1 <= low <= high, got {n_objects!r}")
    if not 4 <= min_size <= max_size:
        raise ValueError(f"need 4 <= min_size <= max_size, got {min_size}, {max_size}")
    if min(width, height) < int(max_size * 1.5) + 2:
        raise ValueError(
            f"image {width}x{height} is too small for max_size={max_size}; "
            f"need sides >= {int(max_size * 1.5) + 2}"
        )


def _grey_tint(rng: np.random.Generator, level: float) -> np.ndarray:
    """A near-neutral RGB at ``level``: saturation stays below ~0.08."""
    tint = rng.uniform(-0.035, 0.035, size=3) * level
    return np.clip(level + tint, 0, 255)


def _grey_level(rng: np.random.Generator) -> float:
    """Dark (35-85) or light (165-235) grey; mid greys are avoided for contrast."""
    if rng.random() < 0.5:
        return float(rng.uniform(35, 85))
    return float(rng.uniform(165, 235))


def _background(rng: np.random.Generator, width: int, height: int, style: str) -> np.ndarray:
    """A ``HxWx3 uint8`` grey background: plain, soft gradient or mild noise."""
    base = _grey_tint(rng, _grey_level(rng))
    if style == "plain":
        img = np.broadcast_to(base, (height, width, 3)).astype(np.float32)
    elif style == "gradient":
        other = np.clip(base + rng.uniform(-60, 60), 25, 240)
        angle = rng.uniform(0, 2 * math.pi)
        yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
        proj = xx * math.cos(angle) + yy * math.sin(angle)
        t = (proj - proj.min()) / max(float(np.ptp(proj)), 1.0)
        img = base[None, None, :] * (1 - t[..., None]) + other[None, None, :] * t[..., None]
    else:  # noise
        sigma = rng.uniform(3, 9)
        grey = rng.normal(0, sigma, size=(height, width, 1))
        img = base[None, None, :] + grey
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def _jittered(rng: np.random.Generator, colour: str) -> tuple[int, int, int]:
    rgb = np.array(COLOURS[colour]) + rng.integers(-COLOUR_JITTER, COLOUR_JITTER + 1, size=3)
    r, g, b = (int(v) for v in np.clip(rgb, 0, 255))
    return r, g, b


def _shape_polygon(shape: str, size: float, angle_deg: float) -> np.ndarray:
    """Vertices ``(K, 2)`` centred on the origin (``circle`` gives a bounding square)."""
    if shape == "circle":
        r = size / 2
        return np.array([[-r, -r], [r, -r], [r, r], [-r, r]])
    if shape == "square":
        h = size / 2
        pts = np.array([[-h, -h], [h, -h], [h, h], [-h, h]])
    else:  # triangle: equilateral, pointing up, height == size
        r = size / 1.5  # circumradius; height = 1.5 r
        pts = np.array(
            [[r * math.cos(a), r * math.sin(a)] for a in np.deg2rad([-90.0, 30.0, 150.0])]
        )
        pts[:, 1] -= (pts[:, 1].max() + pts[:, 1].min()) / 2  # centre the box
    a = math.radians(angle_deg)
    rot = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    return pts @ rot.T


def _shape_mask(
    shape: str, pts: np.ndarray, cx: float, cy: float, width: int, height: int
) -> np.ndarray:
    layer = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(layer)
    xy = [(float(x + cx), float(y + cy)) for x, y in pts]
    if shape == "circle":
        draw.ellipse([xy[0], xy[2]], fill=255)
    else:
        draw.polygon(xy, fill=255)
    return np.asarray(layer) > 0


def _tight_box(mask: np.ndarray) -> Box:
    ys, xs = np.nonzero(mask)
    return float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1)


def _expand(box: Box, margin: float) -> Box:
    return box[0] - margin, box[1] - margin, box[2] + margin, box[3] + margin


def _boxes_intersect(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _place_object(
    rng: np.random.Generator,
    owner: np.ndarray,
    placed: list[_Placed],
    keep_out: list[Box],
    shapes: Sequence[str],
    colours: Sequence[str],
    allow_overlap: bool,
    min_size: int,
    max_size: int,
) -> _Placed | None:
    """Try to place one new shape on top; None when every try breaks a rule."""
    height, width = owner.shape
    for _ in range(_PLACEMENT_TRIES):
        shape = shapes[int(rng.integers(len(shapes)))]
        colour = colours[int(rng.integers(len(colours)))]
        size = float(math.exp(rng.uniform(math.log(min_size), math.log(max_size))))
        max_rot = _MAX_ROTATION_DEG[shape]
        pts = _shape_polygon(shape, size, float(rng.uniform(-max_rot, max_rot)))
        lo, hi = pts.min(axis=0), pts.max(axis=0)
        cx = rng.uniform(1 - lo[0], width - 1 - hi[0])
        cy = rng.uniform(1 - lo[1], height - 1 - hi[1])
        mask = _shape_mask(shape, pts, cx, cy, width, height)
        if not mask.any():
            continue
        box = _tight_box(mask)
        if min(box[2] - box[0], box[3] - box[1]) < min_size:
            continue
        if any(_boxes_intersect(box, k) for k in keep_out):
            continue
        if _acceptable(mask, box, colour, owner, placed, allow_overlap):
            return _Placed(shape, colour, _jittered(rng, colour), mask, int(mask.sum()), box)
    return None


def _acceptable(
    mask: np.ndarray,
    box: Box,
    colour: str,
    owner: np.ndarray,
    placed: list[_Placed],
    allow_overlap: bool,
) -> bool:
    """Check overlap rules for a candidate drawn on top of ``placed``."""
    for item in placed:
        near = _boxes_intersect(_expand(box, _SAME_COLOUR_GAP), item.box)
        if not near:
            continue
        if not allow_overlap or item.colour == colour:
            return False
    if not allow_overlap:
        return True
    covered = owner[mask]
    covered = covered[covered >= 0]
    if covered.size == 0:
        return True
    hidden = np.bincount(covered, minlength=len(placed))
    for idx, item in enumerate(placed):
        visible = int((owner == idx).sum()) - int(hidden[idx])
        if visible < (1 - MAX_HIDDEN) * item.area:
            return False
    return True


def _load_font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """Pillow's bundled font at ``size`` px (no system font needed)."""
    return ImageFont.load_default(size=size)


def _label_box(label: Image.Image, xy: tuple[int, int]) -> Box:
    return float(xy[0]), float(xy[1]), float(xy[0] + label.width), float(xy[1] + label.height)


def _place_text(
    rng: np.random.Generator, text: str, width: int, height: int
) -> tuple[SceneText, Image.Image, tuple[int, int]]:
    """Choose a font size and position for ``text``.

    Returns:
        The :class:`SceneText`, the rendered label (black on white) and the
        label's top-left corner in the scene.
    """
    if not text.strip():
        raise ValueError("text must contain a visible character")
    size = int(rng.integers(MIN_FONT_SIZE, 37))
    while True:
        font = _load_font(size)
        probe = ImageDraw.Draw(Image.new("L", (1, 1)))
        ix1, iy1, ix2, iy2 = probe.textbbox((0, 0), text, font=font)
        label_w = ix2 - ix1 + 2 * _TEXT_PAD
        label_h = iy2 - iy1 + 2 * _TEXT_PAD
        if label_w <= width - 2 and label_h <= height - 2:
            break
        if size <= MIN_FONT_SIZE:
            raise ValueError(
                f"text {text!r} needs {label_w}x{label_h} px at font size {size}; "
                f"image is {width}x{height}"
            )
        size -= 2
    lx = int(rng.integers(1, width - label_w))
    ly = int(rng.integers(1, height - label_h))
    label = Image.new("RGB", (label_w, label_h), (255, 255, 255))
    ImageDraw.Draw(label).text((_TEXT_PAD - ix1, _TEXT_PAD - iy1), text, fill=(0, 0, 0), font=font)
    ink = np.asarray(label.convert("L")) < 128
    bx1, by1, bx2, by2 = _tight_box(ink)
    scene_text = SceneText(
        text=text,
        xyxy=(lx + bx1, ly + by1, lx + bx2, ly + by2),
        label_xyxy=_label_box(label, (lx, ly)),
    )
    return scene_text, label, (lx, ly)
