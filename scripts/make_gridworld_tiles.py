"""Render the tile prototypes that ``lavr.tools.gridworld`` classifies grid-world pictures with.

Every content a MiniGrid/BabyAI tile can show (floor, wall, goal, lava, doors
open/closed/locked, keys, balls and boxes in the six colours, and the agent's
triangle in four headings over floor, open doors and carried objects) is
drawn with minigrid's own tile renderer, lit (inside the field of view) and
unlit, at each of ``--tiles`` pixel sizes (a picture's tiles are matched
against the largest size that divides their own), and written as one small
``.npz``:

    /work/main/.venv/bin/python scripts/make_gridworld_tiles.py --out tools/data/gridworld_tiles.npz

Run time only reads the ``.npz`` (numpy); minigrid is needed to make it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

COLOURS = ("red", "green", "blue", "purple", "yellow", "grey")


def contents() -> list[tuple[str, object | None]]:
    """``(label, world object)`` for every tile content; label ``type/colour/state``."""
    from minigrid.core.world_object import Ball, Box, Door, Goal, Key, Lava, Wall

    out: list[tuple[str, object | None]] = [("floor//", None), ("wall/grey/", Wall()),
                                            ("goal/green/", Goal()), ("lava/red/", Lava())]
    for c in COLOURS:
        out.append((f"door/{c}/open", Door(c, is_open=True)))
        out.append((f"door/{c}/closed", Door(c)))
        out.append((f"door/{c}/locked", Door(c, is_locked=True)))
        out.append((f"key/{c}/", Key(c)))
        out.append((f"ball/{c}/", Ball(c)))
        out.append((f"box/{c}/", Box(c)))
    return out


def render_all(tile: int) -> tuple[np.ndarray, list[str]]:
    """Tiles ``(N, tile, tile, 3) uint8`` and labels ``type/colour/state/lit/heading``."""
    from minigrid.core.grid import Grid

    tiles, labels = [], []
    for label, obj in contents():
        kind = label.split("/")[0]
        headings: list[int | None] = [None]
        # the agent stands on floor and open doors, and is drawn over what it carries
        if kind in ("floor", "key", "ball", "box") or label.endswith("/open"):
            headings += [0, 1, 2, 3]
        for lit in (True, False):
            for heading in headings:
                img = Grid.render_tile(obj, agent_dir=heading, highlight=lit, tile_size=tile)
                tiles.append(np.asarray(img, np.uint8))
                labels.append(f"{label}/{int(lit)}/{'' if heading is None else heading}")
    return np.stack(tiles), labels


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default="tools/data/gridworld_tiles.npz")
    p.add_argument("--tiles", default="8,12", help="prototype sizes in pixels (default 8,12)")
    args = p.parse_args()
    arrays: dict[str, np.ndarray] = {}
    labels: list[str] = []
    for size in sorted({int(v) for v in args.tiles.split(",")}):
        tiles, labels = render_all(size)
        arrays[f"tiles_{size}"] = tiles
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, labels=np.asarray(labels), **arrays)
    print(f"wrote {len(labels)} prototypes at {', '.join(arrays)} to {args.out}")


if __name__ == "__main__":
    main()
