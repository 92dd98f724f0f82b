"""Read grid-world pictures (MiniGrid / BabyAI renderings) tile by tile, from pixels.

A grid world is drawn as a lattice of square tiles. :func:`read_tiles` cuts the
picture into tiles, shrinks each to the prototypes' size (area averaging) and
names it by the nearest of a few hundred rendered prototype tiles
(``data/gridworld_tiles.npz``, made by ``scripts/make_gridworld_tiles.py``):
floor, wall, goal, lava, doors open/closed/locked, keys, balls and boxes in six
colours, the agent's triangle in four headings over floor, open doors and
carried objects; each lit (inside the agent's field of view) and unlit.
Nearest-prototype matching over whole tiles tolerates other tile sizes, noise
and shading, where exact palette values would not. The lattice (tile size)
is the one whose tiles match the prototypes best when not given.

Importing this module loads nothing heavy; the prototypes load on first use.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
from PIL import Image
from pydantic import Field

from lavr.tools.base import Tool, ToolArgs, ToolContext, ToolResult
from lavr.tools.detections import Detections
from lavr.tools.errors import ToolError
from lavr.tools.pixels import check_image

logger = logging.getLogger(__name__)

TOOL_NAME = "grid_cells"
#: The prototypes file inside the package.
PROTOTYPES = Path(__file__).with_name("data") / "gridworld_tiles.npz"
#: Smallest and largest tile size (pixels) tried when the lattice is not given.
TILE_RANGE = (6, 96)
#: Tiles sampled per candidate lattice when estimating the tile size.
SAMPLE_TILES = 160
#: Headings as MiniGrid numbers them: 0 east (+x), 1 south (+y), 2 west, 3 north (up).
HEADINGS = ((1, 0), (0, 1), (-1, 0), (0, -1))


@dataclass(frozen=True)
class Tile:
    """What one tile shows.

    Attributes:
        type: ``floor``, ``wall``, ``door``, ``key``, ``ball``, ``box``, ``goal`` or ``lava``
            (under the agent: what it stands on or carries).
        colour: Colour name (``""`` for floor).
        state: Doors: ``open``, ``closed`` or ``locked``; else ``""``.
        lit: Drawn lit, i.e. inside the agent's field of view.
        agent: The agent's heading (index into :data:`HEADINGS`) if it is drawn here, else None.
        distance: RMS pixel distance to the matched prototype (0-255 scale).
    """

    type: str
    colour: str = ""
    state: str = ""
    lit: bool = True
    agent: int | None = None
    distance: float = 0.0

    @property
    def is_object(self) -> bool:
        """Anything but floor (walls included)."""
        return self.type != "floor"

    def describe(self) -> str:
        """e.g. ``"red ball"``, ``"blue door (locked)"``, ``"floor"``."""
        if self.type == "floor":
            return "floor"
        extra = f" ({self.state})" if self.state else ""
        return f"{self.colour} {self.type}{extra}".strip()


@dataclass(frozen=True)
class TileReading:
    """A picture read as a grid of tiles.

    Attributes:
        cols: Tiles across.
        rows: Tiles down.
        tile: Tile size in pixels.
        tiles: ``rows`` lists of ``cols`` :class:`Tile` (indexed ``tiles[y][x]``).
    """

    cols: int
    rows: int
    tile: int
    tiles: tuple[tuple[Tile, ...], ...]

    def at(self, x: int, y: int) -> Tile:
        """The tile in column ``x``, row ``y``."""
        return self.tiles[y][x]

    def agent(self) -> tuple[int, int, int] | None:
        """``(x, y, heading)`` of the agent if it is drawn, else None."""
        for y, row in enumerate(self.tiles):
            for x, t in enumerate(row):
                if t.agent is not None:
                    return x, y, t.agent
        return None

    def box(self, x: int, y: int) -> tuple[float, float, float, float]:
        """XYXY pixel box of tile ``(x, y)``."""
        t = self.tile
        return (float(x * t), float(y * t), float((x + 1) * t), float((y + 1) * t))

    def to_detections(self) -> Detections:
        """Lit non-floor tiles and the agent as :class:`Detections` (label ``"red ball"`` ...)."""
        items = []
        for y, row in enumerate(self.tiles):
            for x, t in enumerate(row):
                if t.agent is not None:
                    items.append((self.box(x, y), f"agent {'ESWN'[t.agent]}"))
                if t.lit and t.type not in ("floor", "wall"):
                    items.append((self.box(x, y), t.describe()))
        if not items:
            return Detections.empty()
        return Detections(np.asarray([b for b, _ in items], np.float32),
                          np.ones(len(items), np.float32), [s for _, s in items])

    def to_json(self) -> dict[str, object]:
        """Lit non-floor tiles as ``[x, y, type, colour, state]`` and the agent pose."""
        cells = [[x, y, t.type, t.colour, t.state] for y, row in enumerate(self.tiles)
                 for x, t in enumerate(row) if t.lit and t.type != "floor"]
        return {"cols": self.cols, "rows": self.rows, "tile": self.tile, "cells": cells,
                "agent": list(self.agent() or ()) or None}


@dataclass(frozen=True)
class _Prototypes:
    size: int
    vectors: np.ndarray  # (N, size*size*3) float32
    norms: np.ndarray  # (N,)
    labels: tuple[Tile, ...]


def _parse_label(label: str) -> Tile:
    kind, colour, state, lit, heading = label.split("/")
    return Tile(kind, colour, state, lit == "1", int(heading) if heading else None)


@functools.lru_cache(maxsize=4)
def load_prototypes(path: str | Path = PROTOTYPES) -> dict[int, _Prototypes]:
    """The prototype tiles by size in pixels (cached).

    Raises:
        ToolError: The file is missing or malformed.
    """
    out: dict[int, _Prototypes] = {}
    try:
        with np.load(path, allow_pickle=False) as data:
            labels = tuple(_parse_label(str(s)) for s in data["labels"])
            for key in data.files:
                if not key.startswith("tiles_"):
                    continue
                tiles = np.asarray(data[key], np.float32)
                if tiles.ndim != 4 or tiles.shape[1] != tiles.shape[2] or len(tiles) != len(labels):
                    raise ValueError(f"{key} has shape {tiles.shape} for {len(labels)} labels")
                vectors = tiles.reshape(len(tiles), -1)
                out[int(tiles.shape[1])] = _Prototypes(int(tiles.shape[1]), vectors,
                                                       (vectors ** 2).sum(axis=1), labels)
    except (OSError, KeyError, ValueError) as exc:
        raise ToolError(TOOL_NAME, f"cannot read the tile prototypes {path}: {exc}") from exc
    if not out:
        raise ToolError(TOOL_NAME, f"no prototype tiles in {path}")
    return out


def prototypes_for(tile: int, sets: dict[int, _Prototypes] | None = None) -> _Prototypes:
    """The prototype set for ``tile``-pixel tiles: the largest size dividing it, else the closest."""
    sets = sets or load_prototypes()
    dividing = [s for s in sets if tile % s == 0]
    size = max(dividing) if dividing else min(sets, key=lambda s: (abs(s - tile), s))
    return sets[size]


def _shrink(image: np.ndarray, cols: int, rows: int, size: int) -> np.ndarray:
    """The picture as ``(rows, cols, size, size, 3)`` float32 tiles, area-averaged."""
    h, w = image.shape[:2]
    th, tw = h // rows, w // cols
    img = image[: th * rows, : tw * cols].astype(np.float32)
    if th == tw and th % size == 0:
        f = th // size
        small = img.reshape(rows * size, f, cols * size, f, 3).mean(axis=(1, 3))
    else:
        small = np.asarray(Image.fromarray(image[: th * rows, : tw * cols]).resize(
            (cols * size, rows * size), Image.BOX), np.float32)
    return small.reshape(rows, size, cols, size, 3).transpose(0, 2, 1, 3, 4)


def _match(vectors: np.ndarray, protos: _Prototypes) -> tuple[np.ndarray, np.ndarray]:
    """Index of the nearest prototype and the RMS distance, per row of ``vectors``."""
    # einsum, not BLAS: a (49 x 192) @ (192 x 280) product is too small to gain from threads
    cross = np.einsum("ij,kj->ik", vectors, protos.vectors)
    d2 = (vectors ** 2).sum(axis=1)[:, None] - 2.0 * cross + protos.norms
    best = d2.argmin(axis=1)
    dist = np.sqrt(np.maximum(d2[np.arange(len(best)), best], 0.0) / vectors.shape[1])
    return best, dist


def estimate_tile_size(image: np.ndarray, *, tile_range: tuple[int, int] = TILE_RANGE) -> int:
    """The tile size whose lattice matches the prototypes best.

    Args:
        image: ``HxWx3 uint8 RGB``.
        tile_range: Smallest and largest tile size to try, pixels.

    Raises:
        ToolError: No candidate size divides the picture into at least 3x3 tiles.
    """
    h, w = image.shape[:2]
    rng = np.random.default_rng(0)
    best, best_score = None, float("inf")
    for t in range(tile_range[0], tile_range[1] + 1):
        if h % t or w % t or h // t < 3 or w // t < 3:
            continue
        protos = prototypes_for(t)
        tiles = _shrink(image, w // t, h // t, protos.size).reshape(-1, protos.size ** 2 * 3)
        if len(tiles) > SAMPLE_TILES:
            tiles = tiles[rng.choice(len(tiles), SAMPLE_TILES, replace=False)]
        score = float(_match(tiles, protos)[1].mean())
        if score < best_score - 1e-6:
            best, best_score = t, score
    if best is None:
        raise ToolError(TOOL_NAME, f"no square tile lattice of {tile_range[0]}-{tile_range[1]} px "
                        f"divides a {w}x{h} picture into at least 3x3 tiles")
    return best


def read_tiles(image: np.ndarray, *, cols: int | None = None,
               rows: int | None = None) -> TileReading:
    """Name every tile of a grid-world picture.

    Args:
        image: ``HxWx3 uint8 RGB`` (e.g. BabyAI's 7x7 egocentric view, or a full top-down frame).
        cols: Tiles across; None estimates the lattice (:func:`estimate_tile_size`).
        rows: Tiles down; None: square tiles.

    Returns:
        The :class:`TileReading`.

    Raises:
        ToolError: Not an image, or the grid does not fit it.
    """
    check_image(image, tool=TOOL_NAME)
    h, w = image.shape[:2]
    if cols is None:
        t = estimate_tile_size(image)
        cols, rows = w // t, h // t
    rows = rows or max(1, round(h * cols / w))
    if cols < 1 or rows < 1 or w < cols or h < rows:
        raise ToolError(TOOL_NAME, f"a {w}x{h} picture cannot hold {cols}x{rows} tiles")
    protos = prototypes_for(w // cols)
    small = _shrink(image, cols, rows, protos.size)
    best, dist = _match(small.reshape(cols * rows, -1), protos)
    out = []
    for y in range(rows):
        row = []
        for x in range(cols):
            k = y * cols + x
            p = protos.labels[int(best[k])]
            row.append(Tile(p.type, p.colour, p.state, p.lit, p.agent, round(float(dist[k]), 2)))
        out.append(tuple(row))
    return TileReading(cols, rows, w // cols, tuple(out))


class GridCellsTool(Tool):
    """Read a grid-world picture tile by tile."""

    name: ClassVar[str] = TOOL_NAME
    description: ClassVar[str] = (
        "Read a grid-world picture (MiniGrid/BabyAI) tile by tile: walls, doors and whether "
        "they are open, closed or locked, keys, balls, boxes, their colours, and the agent "
        "with its heading.")

    class Args(ToolArgs):
        cols: int | None = Field(default=None, ge=3, le=128,
                                 description="tiles across (None: estimated)")
        rows: int | None = Field(default=None, ge=3, le=128,
                                 description="tiles down (None: as many as fit square tiles)")

    def run(self, args: Args, ctx: ToolContext) -> ToolResult:
        """Value: lit non-floor tiles and the agent pose; the artifact is the :class:`TileReading`."""
        reading = read_tiles(ctx.image, cols=args.cols, rows=args.rows)
        dets = reading.to_detections()
        art = ctx.artifacts.put(reading, prefix="grid")
        seen = [d for d in dets.label if not str(d).startswith("agent")]
        agent = reading.agent()
        where = f"; agent at {agent[:2]} facing {'ESWN'[agent[2]]}" if agent else ""
        summary = (f"{reading.cols}x{reading.rows} tiles of {reading.tile} px: "
                   f"{', '.join(map(str, seen[:12])) or 'no objects'}"
                   f"{' ...' if len(seen) > 12 else ''}{where}")
        return ToolResult(summary=summary, value=reading.to_json(), artifact_id=art,
                          boxes=[list(map(float, b)) for b in dets.xyxy[:8]])


TOOLS: list[Tool] = [GridCellsTool()]
