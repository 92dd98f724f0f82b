"""Read a MiniGrid/BabyAI frame into a grid map, from pixels only.

MiniGrid draws a top-down frame as a lattice of square tiles, each with a
one-pixel grey line on its top and left edges, in six fixed colours
(:data:`PALETTE`) and a handful of fixed shapes. :func:`perceive_frame`

1. finds the tile size from the period of those grid lines
   (:func:`estimate_tile_size`);
2. names each tile's colour by the palette colour most of its non-black
   pixels are closest to;
3. names the shape by where the colour lies in the tile, in tile-relative
   coordinates (:func:`classify_tile`): a wall fills the tile; a closed door
   fills the tile's rim (right and bottom edges included), a locked one also
   has a dark, 45 %-shaded inside; an open door is a strip along the tile's
   right edge only; a box is a square outline
   with an empty middle; a ball is a disc; a key has a bar and a ringed head
   and leaves the left of the middle empty; the agent is a red triangle whose
   tip gives its heading.

Frames must be rendered without the field-of-view highlight
(``highlight=False``). The environment's internal state is never read here;
tests use it only to label frames.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from lavr.tools.detections import Detections

logger = logging.getLogger(__name__)

#: MiniGrid's object colours, RGB.
PALETTE: dict[str, tuple[int, int, int]] = {
    "red": (255, 0, 0), "green": (0, 255, 0), "blue": (0, 0, 255),
    "purple": (112, 39, 195), "yellow": (255, 255, 0), "grey": (100, 100, 100),
}
#: Object types :func:`classify_tile` can name.
OBJECT_TYPES = ("wall", "door", "key", "ball", "box", "goal")
#: Headings as MiniGrid numbers them: 0 east (+x), 1 south (+y), 2 west, 3 north.
HEADINGS = ((1, 0), (0, 1), (-1, 0), (0, -1))
#: Pixels darker than this (max channel) are floor.
BLACK = 30


@dataclass(frozen=True)
class Cell:
    """What occupies one grid cell.

    Attributes:
        type: One of :data:`OBJECT_TYPES`.
        colour: One of :data:`PALETTE`'s names.
        state: For doors: ``open``, ``closed`` or ``locked``; else ``""``.
    """

    type: str
    colour: str
    state: str = ""

    def describe(self) -> str:
        """e.g. ``"red ball"`` or ``"blue door (locked)"``."""
        extra = f" ({self.state})" if self.state else ""
        return f"{self.colour} {self.type}{extra}"


@dataclass
class GridMap:
    """A perceived frame.

    Attributes:
        width: Cells across.
        height: Cells down.
        tile: Tile size in pixels.
        cells: ``(x, y) -> Cell`` for every non-empty cell (walls included).
        agent: ``(x, y)`` of the agent, or None if not seen.
        heading: The agent's heading, an index into :data:`HEADINGS` (None if not seen).
    """

    width: int
    height: int
    tile: int
    cells: dict[tuple[int, int], Cell] = field(default_factory=dict)
    agent: tuple[int, int] | None = None
    heading: int | None = None

    def objects(self) -> dict[tuple[int, int], Cell]:
        """Non-wall cells."""
        return {p: c for p, c in self.cells.items() if c.type != "wall"}

    def front(self) -> tuple[int, int] | None:
        """The cell in front of the agent."""
        if self.agent is None or self.heading is None:
            return None
        dx, dy = HEADINGS[self.heading]
        return self.agent[0] + dx, self.agent[1] + dy

    def cell_box(self, pos: tuple[int, int]) -> tuple[float, float, float, float]:
        """XYXY pixel box of a cell."""
        x, y = pos
        return (x * self.tile, y * self.tile, (x + 1) * self.tile, (y + 1) * self.tile)

    def to_detections(self) -> Detections:
        """Objects (not walls) and the agent as :class:`Detections` (label ``"red ball"`` …)."""
        items = [(self.cell_box(p), c.describe()) for p, c in sorted(self.objects().items())]
        if self.agent is not None:
            items.append((self.cell_box(self.agent), f"agent {'ESWN'[self.heading or 0]}"))
        if not items:
            return Detections.empty()
        return Detections(np.asarray([b for b, _ in items], np.float32),
                          np.ones(len(items), np.float32), [t for _, t in items])


def _grid_line_mask(frame: np.ndarray) -> np.ndarray:
    grey = np.asarray(PALETTE["grey"], np.int32)
    return np.all(np.abs(frame.astype(np.int32) - grey) <= 12, axis=2)


def estimate_tile_size(frame: np.ndarray, *, candidates: range = range(8, 97)) -> int:
    """The tile size: the period of the grey grid lines on the frame's top/left tile edges.

    Args:
        frame: ``HxWx3 uint8 RGB`` MiniGrid frame.
        candidates: Tile sizes to consider; each must divide both sides.

    Returns:
        The tile size in pixels.

    Raises:
        ValueError: No candidate divides the frame, or no grid lines were found.
    """
    h, w = frame.shape[:2]
    line = _grid_line_mask(frame)
    col = line.mean(axis=0)
    row = line.mean(axis=1)
    best, best_score = None, -1.0
    for t in candidates:
        if h % t or w % t or h // t < 3 or w // t < 3:
            continue
        on = np.concatenate([col[0::t], row[0::t]]).mean()
        off = np.concatenate([col[t // 2::t], row[t // 2::t]]).mean()
        score = on - off
        if score > best_score + 1e-6:
            best, best_score = t, score
    if best is None or best_score <= 0.05:
        raise ValueError(f"no MiniGrid tile lattice found in a {w}x{h} frame")
    return best


def _colour_name(pixels: np.ndarray) -> tuple[str, np.ndarray]:
    """Most common palette colour among coloured pixels and the mask of pixels of that colour."""
    names = list(PALETTE)
    pal = np.asarray([PALETTE[n] for n in names], np.float32)
    d = np.linalg.norm(pixels[..., None, :].astype(np.float32) - pal, axis=-1)
    nearest = d.argmin(axis=-1)
    close = d.min(axis=-1) < 60
    counts = np.bincount(nearest[close].ravel(), minlength=len(names))
    k = int(counts.argmax())
    return names[k], close & (nearest == k)


def _frac(mask: np.ndarray, u0: float, u1: float, v0: float, v1: float) -> float:
    """Fraction of ``mask`` set in the tile-relative rectangle ``[u0,u1) x [v0,v1)`` (u across)."""
    t = mask.shape[0]
    a, b = int(round(u0 * t)), max(int(round(u1 * t)), int(round(u0 * t)) + 1)
    c, d = int(round(v0 * t)), max(int(round(v1 * t)), int(round(v0 * t)) + 1)
    patch = mask[c:d, a:b]
    return float(patch.mean()) if patch.size else 0.0


def _agent_heading(red: np.ndarray) -> int | None:
    """The agent's heading if ``red`` (a tile's red pixels) is its triangle, else None.

    The triangle covers the tile's middle and about a quarter of the tile, and
    its centroid sits towards its wide base, away from the tip — unlike a red
    ball (centred), key or box (empty middle).
    """
    t = red.shape[0]
    if _frac(red, 0.42, 0.58, 0.42, 0.58) < 0.9 or not 0.15 < red.mean() < 0.4:
        return None
    ys, xs = np.nonzero(red)
    dx, dy = xs.mean() + 0.5 - t / 2.0, ys.mean() + 0.5 - t / 2.0
    if max(abs(dx), abs(dy)) < 0.08 * t:
        return None
    if abs(dx) >= abs(dy):
        return 2 if dx > 0 else 0
    return 3 if dy > 0 else 1


def classify_tile(tile: np.ndarray) -> tuple[Cell | None, int | None]:
    """Name what one tile shows.

    Args:
        tile: ``TxTx3 uint8 RGB`` (the tile's grid-line row and column included).

    Returns:
        ``(cell, heading)``: the object (None for empty floor) and the agent's
        heading if the agent is drawn on the tile (else None).
    """
    t = tile.shape[0]
    inner = tile.copy()
    edge = max(1, int(round(0.031 * t)))
    inner[:edge, :] = 0
    inner[:, :edge] = 0
    lit = inner.max(axis=2) > BLACK
    if lit.mean() < 0.02:
        return None, None
    # the agent: a pure red triangle; what else is on its tile is an open door at most
    red = np.all(np.abs(inner.astype(np.int32) - np.array(PALETTE["red"])) < 60, axis=2)
    tri = red & ~_strip_mask(t)  # an open red door's strip is not part of the agent
    heading = _agent_heading(tri)
    if heading is not None:
        lit = lit & ~tri
        inner = inner.copy()
        inner[tri] = 0
        if lit.mean() < 0.02:
            return None, heading
    colour, mask = _colour_name(inner[lit])
    cmask = np.zeros(lit.shape, bool)
    cmask[lit] = mask
    full = _frac(cmask, 0.05, 1.0, 0.05, 1.0)
    if colour == "grey" and full > 0.85:
        return Cell("wall", "grey"), heading
    if colour == "green" and full > 0.85:
        return Cell("goal", "green"), heading
    right_edge = _frac(cmask, 0.97, 1.0, 0.1, 0.9)
    bottom_edge = _frac(cmask, 0.1, 0.8, 0.97, 1.0)
    if right_edge > 0.7 and bottom_edge > 0.7:  # a door fills the whole tile's rim
        dark = _dark_shade(inner, colour)
        state = "locked" if _frac(dark, 0.2, 0.8, 0.2, 0.45) > 0.6 else "closed"
        return Cell("door", colour, state), heading
    if _frac(cmask, 0.89, 0.99, 0.1, 0.9) > 0.4 and bottom_edge < 0.05 and \
            _frac(cmask, 0.1, 0.8, 0.1, 0.9) < 0.05:
        return Cell("door", colour, "open"), heading
    ring = np.mean([_frac(cmask, 0.13, 0.17, 0.2, 0.4), _frac(cmask, 0.83, 0.87, 0.2, 0.4),
                    _frac(cmask, 0.13, 0.17, 0.6, 0.8), _frac(cmask, 0.83, 0.87, 0.6, 0.8)])
    hollow = _frac(cmask, 0.25, 0.75, 0.25, 0.42)
    if ring > 0.7 and hollow < 0.2:
        return Cell("box", colour), heading
    left = _frac(cmask, 0.25, 0.35, 0.42, 0.58)
    right = _frac(cmask, 0.66, 0.76, 0.42, 0.58)
    centre = _frac(cmask, 0.42, 0.58, 0.42, 0.58)
    if centre > 0.7 and left > 0.5 and right > 0.5:
        return Cell("ball", colour), heading
    if _frac(cmask, 0.51, 0.62, 0.5, 0.85) > 0.6 and left < 0.3:
        return Cell("key", colour), heading
    logger.debug("unrecognised %s tile (fill %.2f, ring %.2f)", colour, full, ring)
    return None, heading


def _strip_mask(t: int) -> np.ndarray:
    m = np.zeros((t, t), bool)
    m[:, int(0.86 * t):] = True
    return m


def _dark_shade(inner: np.ndarray, colour: str) -> np.ndarray:
    target = 0.45 * np.asarray(PALETTE[colour], np.float32)
    return np.linalg.norm(inner.astype(np.float32) - target, axis=2) < 30


def perceive_frame(frame: np.ndarray, *, tile: int | None = None) -> GridMap:
    """Turn a MiniGrid top-down frame into a :class:`GridMap`.

    Args:
        frame: ``HxWx3 uint8 RGB``, rendered with ``highlight=False``.
        tile: Tile size in pixels; None estimates it (:func:`estimate_tile_size`).

    Returns:
        The grid map: every wall, door and object, the agent's cell and heading.

    Raises:
        ValueError: Not an ``HxWx3 uint8`` frame, or no tile lattice found.
    """
    if not (isinstance(frame, np.ndarray) and frame.ndim == 3 and frame.shape[2] == 3
            and frame.dtype == np.uint8):
        raise ValueError(f"expected an HxWx3 uint8 RGB frame, got "
                         f"{getattr(frame, 'shape', type(frame))} {getattr(frame, 'dtype', '')}")
    t = tile or estimate_tile_size(frame)
    h, w = frame.shape[0] // t, frame.shape[1] // t
    gm = GridMap(width=w, height=h, tile=t)
    for y in range(h):
        for x in range(w):
            cell, heading = classify_tile(frame[y * t:(y + 1) * t, x * t:(x + 1) * t])
            if cell is not None:
                gm.cells[(x, y)] = cell
            if heading is not None:
                gm.agent, gm.heading = (x, y), heading
    return gm
