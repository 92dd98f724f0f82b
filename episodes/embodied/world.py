"""The agent's map of a grid world, built from what it has seen.

Coordinates are the agent's own: with the egocentric view the episode starts
at ``(0, 0)`` heading 0 (east) whatever the world's true frame is, and the
agent dead-reckons its pose from its own actions (grid worlds are
deterministic: ``forward`` moves exactly when the cell in front, which is
always in view, can be entered). With the full top-down view the map is the
frame's own grid and the pose is read from the agent's triangle.

Only lit tiles (inside the field of view) are taken from an egocentric view;
the renderer also draws occluded cells unlit, and those are ignored, as the
standard symbolic view would mark them unseen.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from lavr.tools.gridworld import HEADINGS, Tile, TileReading

Pos = tuple[int, int]
#: Cells the agent can walk into without doing anything first.
WALKABLE = ("floor", "goal")
#: Objects that can be picked up and carried.
PORTABLE = ("key", "ball", "box")


@dataclass
class Thing:
    """An object the agent has seen (identity survives being carried and dropped).

    Attributes:
        id: Stable number.
        tile: Its type and colour (doors: state too, updated as seen).
        origin: Where it was first seen (location phrases refer to starting places).
    """

    id: int
    tile: Tile
    origin: Pos


def step_pos(pos: Pos, heading: int, n: int = 1) -> Pos:
    """``n`` cells from ``pos`` along ``heading``."""
    dx, dy = HEADINGS[heading]
    return pos[0] + n * dx, pos[1] + n * dy


@dataclass
class WorldMap:
    """Known cells, the objects in them, and the agent's pose.

    Attributes:
        floor: Cells seen empty (or walkable).
        things: ``pos -> Thing`` for walls, doors and objects seen.
        pos: The agent's cell.
        heading: The agent's heading (index into :data:`HEADINGS`).
        carrying: What the agent holds, or None.
        start: ``(pos, heading)`` at the start of the episode.
        bounds: ``(cols, rows)`` of a fully seen world, else None.
    """

    floor: set[Pos] = field(default_factory=set)
    things: dict[Pos, Thing] = field(default_factory=dict)
    pos: Pos = (0, 0)
    heading: int = 0
    carrying: Thing | None = None
    start: tuple[Pos, int] = ((0, 0), 0)
    bounds: tuple[int, int] | None = None
    _ids: itertools.count = field(default_factory=itertools.count)

    # -- queries --------------------------------------------------------------
    def known(self, pos: Pos) -> bool:
        """The cell has been seen."""
        return pos in self.floor or pos in self.things

    def inside(self, pos: Pos) -> bool:
        """Within the world's bounds (always True when they are unknown)."""
        if self.bounds is None:
            return True
        return 0 <= pos[0] < self.bounds[0] and 0 <= pos[1] < self.bounds[1]

    def tile(self, pos: Pos) -> Tile | None:
        """What is at ``pos``: a :class:`Tile` (floor included) or None if unseen."""
        if pos in self.things:
            return self.things[pos].tile
        return Tile("floor") if pos in self.floor else None

    def front(self) -> Pos:
        """The cell in front of the agent."""
        return step_pos(self.pos, self.heading)

    def objects(self) -> dict[Pos, Thing]:
        """Doors and portable objects (walls left out)."""
        return {p: t for p, t in self.things.items() if t.tile.type not in ("wall", "lava")}

    def walkable(self, pos: Pos) -> bool:
        """The agent can step into ``pos`` now."""
        if pos in self.floor:
            return True
        thing = self.things.get(pos)
        return thing is not None and thing.tile.type == "door" and thing.tile.state == "open"

    # -- updates --------------------------------------------------------------
    def _see(self, pos: Pos, tile: Tile) -> None:
        if tile.type == "floor":
            self.floor.add(pos)
            self.things.pop(pos, None)
            return
        self.floor.discard(pos)
        old = self.things.get(pos)
        if old is not None and old.tile.type == tile.type and old.tile.colour == tile.colour:
            old.tile = Tile(tile.type, tile.colour, tile.state)
            return
        self.things[pos] = Thing(next(self._ids), Tile(tile.type, tile.colour, tile.state), pos)

    def view_to_world(self, reading: TileReading, x: int, y: int) -> Pos:
        """World cell of view tile ``(x, y)`` of an egocentric view (agent at bottom centre, facing up)."""
        ahead = reading.rows - 1 - y
        right = x - reading.cols // 2
        fx, fy = HEADINGS[self.heading]
        rx, ry = -fy, fx
        return self.pos[0] + ahead * fx + right * rx, self.pos[1] + ahead * fy + right * ry

    def integrate_view(self, reading: TileReading) -> None:
        """Add an egocentric view: lit tiles only; the agent's own tile shows what it carries."""
        me = (reading.cols // 2, reading.rows - 1)
        for y in range(reading.rows):
            for x in range(reading.cols):
                t = reading.at(x, y)
                if (x, y) == me:
                    self._carry(t)
                    continue
                if t.lit:
                    self._see(self.view_to_world(reading, x, y), t)

    def _carry(self, t: Tile) -> None:
        if t.type in PORTABLE:
            if self.carrying is None or self.carrying.tile.type != t.type \
                    or self.carrying.tile.colour != t.colour:
                self.carrying = Thing(next(self._ids), Tile(t.type, t.colour), self.pos)
        else:
            self.carrying = None

    def integrate_full(self, reading: TileReading) -> None:
        """Replace the map with a full top-down frame; the pose comes from the agent's triangle.

        Raises:
            ValueError: The agent is not drawn in the frame.
        """
        agent = reading.agent()
        if agent is None:
            raise ValueError("the agent is not drawn in the frame")
        self.bounds = (reading.cols, reading.rows)
        for y in range(reading.rows):
            for x in range(reading.cols):
                self._see((x, y), reading.at(x, y))
        self.pos, self.heading = (agent[0], agent[1]), agent[2]

    def moved(self, action: str, front_before: Tile | None) -> None:
        """Dead-reckon the pose after ``action`` (egocentric view only)."""
        if action == "left":
            self.heading = (self.heading - 1) % 4
        elif action == "right":
            self.heading = (self.heading + 1) % 4
        elif action == "forward" and front_before is not None and (
                front_before.type in WALKABLE
                or (front_before.type == "door" and front_before.state == "open")):
            self.pos = self.front()

    def picked(self, pos: Pos) -> None:
        """The agent picked up the object at ``pos`` (keeps its identity)."""
        thing = self.things.pop(pos, None)
        if thing is not None:
            self.carrying = thing
            self.floor.add(pos)

    def dropped(self, pos: Pos) -> None:
        """The agent dropped what it carried onto ``pos``."""
        if self.carrying is not None:
            self.floor.discard(pos)
            self.things[pos] = self.carrying
            self.carrying = None

    # -- rooms ----------------------------------------------------------------
    def room_of(self, pos: Pos, *, limit: int = 400) -> set[Pos]:
        """Known cells of the room holding ``pos``, its walls and doors included.

        A flood fill over seen floor and objects, stopped by walls and doors
        (kept) and by unseen cells (left out).
        """
        seen = {pos}
        todo = [pos]
        while todo and len(seen) < limit:
            p = todo.pop()
            for h in range(4):
                q = step_pos(p, h)
                if q in seen or not self.known(q):
                    continue
                seen.add(q)
                t = self.tile(q)
                if t is not None and t.type not in ("wall", "door"):
                    todo.append(q)
        return seen
