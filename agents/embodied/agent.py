"""The embodied agent: perceive the frame, track the mission, plan, act — every step.

Each decision re-reads the frame (:func:`perceive_frame`), drops sub-tasks
that the frame shows are done, picks the target cells of the current sub-task
(objects matching the description; ``on your left``-style locations are fixed
from the first frame, in the starting room, as BabyAI defines them) and takes
the first action of the cheapest plan (:func:`plan_to_face`). What the agent
carries is not drawn in the frame; the agent remembers it from its own
pick-up and drop actions and what the next frame showed.
"""

from __future__ import annotations

import logging
from collections import deque

from lavr.agents.embodied.mission import ObjectDesc, SubTask, parse_mission
from lavr.agents.embodied.perception import HEADINGS, Cell, GridMap, perceive_frame
from lavr.agents.embodied.planner import plan_to_face
from lavr.agents.gui.loop import Action, Decision, Observation
from lavr.core_model.errors import InputError

logger = logging.getLogger(__name__)

Pos = tuple[int, int]


def matches(cell: Cell, desc: ObjectDesc) -> bool:
    """Whether a cell fits a description's type and colour (walls never do)."""
    if cell.type in ("wall", "goal"):
        return False
    return (desc.type is None or cell.type == desc.type) and (
        desc.colour is None or cell.colour == desc.colour)


def room_cells(gm: GridMap, start: Pos) -> set[Pos]:
    """Cells of the room holding ``start``, its walls and doors included (as BabyAI counts them).

    A flood fill stopped by walls and doors, plus the walls and doors it stopped at.
    """
    seen = {start}
    todo = [start]
    while todo:
        x, y = todo.pop()
        for dx, dy in HEADINGS:
            p = (x + dx, y + dy)
            if p in seen or not (0 <= p[0] < gm.width and 0 <= p[1] < gm.height):
                continue
            cell = gm.cells.get(p)
            seen.add(p)
            if cell is None or cell.type not in ("wall", "door"):
                todo.append(p)
    return seen


def location_ok(pos: Pos, loc: str, agent: Pos, heading: int) -> bool:
    """BabyAI's ``left/right/front/behind``: the sign of the offset along the heading axes."""
    vx, vy = pos[0] - agent[0], pos[1] - agent[1]
    fx, fy = HEADINGS[heading]
    rx, ry = -fy, fx
    along, across = vx * fx + vy * fy, vx * rx + vy * ry
    return {"front": along > 0, "behind": along < 0, "right": across > 0, "left": across < 0}[loc]


class EmbodiedAgent:
    """Rule-and-search policy for BabyAI missions over perceived frames.

    Args:
        tile: Tile size in pixels; None estimates it from the first frame.
    """

    def __init__(self, *, tile: int | None = None) -> None:
        self.tile = tile
        self.tasks: deque[SubTask] = deque()
        self.carrying: Cell | None = None
        self._start: tuple[Pos, int] | None = None
        self._start_room: set[Pos] = set()
        self._fixed: dict[ObjectDesc, set[Pos]] = {}
        self._last: tuple[str, Cell | None, Pos | None] | None = None
        self._tile: int | None = tile
        self._error = ""

    def reset(self, instruction: str) -> None:
        """Parse the mission; forget the previous episode."""
        self._error = ""
        try:
            self.tasks = deque(parse_mission(instruction))
        except InputError as exc:
            self.tasks = deque()
            self._error = str(exc)
        self.carrying = None
        self._start = None
        self._start_room = set()
        self._fixed = {}
        self._last = None
        self._tile = self.tile
        logger.info("mission %r -> %s", instruction, [t.describe() for t in self.tasks])

    # -- bookkeeping -----------------------------------------------------------
    def _update_memory(self, gm: GridMap) -> None:
        if self._last is None:
            return
        action, before, pos = self._last
        after = gm.cells.get(pos) if pos is not None else None
        if action == "pickup" and before is not None and after is None:
            self.carrying = before
        elif action == "drop" and self.carrying is not None and after is not None:
            self.carrying = None

    def targets(self, desc: ObjectDesc, gm: GridMap) -> set[Pos]:
        """Cells holding objects that fit ``desc`` on this frame."""
        if desc.loc is not None:
            if desc not in self._fixed and self._start is not None:
                agent, heading = self._start
                self._fixed[desc] = {p for p, c in gm.objects().items() if matches(c, desc)
                                     and p in self._start_room
                                     and location_ok(p, desc.loc, agent, heading)}
            fixed = self._fixed.get(desc, set())
            return {p for p in fixed if p in gm.cells and matches(gm.cells[p], desc)}
        return {p for p, c in gm.objects().items() if matches(c, desc)}

    def _finished(self, task: SubTask, gm: GridMap) -> bool:
        front = gm.front()
        last = self._last[0] if self._last else None
        if task.verb == "goto":
            return front in self.targets(task.obj, gm)
        if task.verb == "pickup":
            return self.carrying is not None and matches(self.carrying, task.obj) and last == "pickup"
        if task.verb == "open":
            cell = gm.cells.get(front) if front else None
            return last == "toggle" and cell is not None and cell.type == "door" and \
                cell.state == "open" and matches(cell, task.obj)
        if task.verb == "putnext":
            return last == "drop" and self.carrying is None
        return False

    # -- policy ----------------------------------------------------------------
    def decide(self, observation: Observation) -> Decision:
        """Choose the next action from the frame alone."""
        gm = perceive_frame(observation.image, tile=self._tile)
        self._tile = gm.tile
        overlay = gm.to_detections()
        if gm.agent is None or gm.heading is None:
            return self._act("done", gm, "agent not found in the frame", overlay)
        if self._start is None:
            self._start = (gm.agent, gm.heading)
            self._start_room = room_cells(gm, gm.agent)
        self._update_memory(gm)
        while self.tasks and self._finished(self.tasks[0], gm):
            logger.debug("sub-task done: %s", self.tasks[0].describe())
            self.tasks.popleft()
            self._last = None
        if not self.tasks:
            return self._act("done", gm, self._error or "mission complete", overlay)
        task = self.tasks[0]
        action, why, goal = self._next_action(task, gm)
        return self._act(action, gm, f"{task.describe()}: {why}", overlay, goal)

    def _act(self, kind: str, gm: GridMap, summary: str, overlay: object,
             goal: Pos | None = None) -> Decision:
        front = gm.front()
        self._last = (kind, gm.cells.get(front) if front else None, front)
        point = target = None
        if goal is not None:
            target = gm.cell_box(goal)
            point = ((target[0] + target[2]) / 2, (target[1] + target[3]) / 2)
        return Decision(Action(kind), summary, point=point, overlay=overlay,  # type: ignore[arg-type]
                        target=target)

    def _next_action(self, task: SubTask, gm: GridMap) -> tuple[str, str, Pos | None]:
        front = gm.front()
        front_cell = gm.cells.get(front) if front else None
        if task.verb in ("pickup", "putnext") and not (
                self.carrying is not None and matches(self.carrying, task.obj)):
            if self.carrying is not None:
                return self._free_hands(gm)
            goals = self.targets(task.obj, gm)
            if front in goals:
                return "pickup", f"picking up the {front_cell.describe() if front_cell else ''}", front
            return self._go(gm, goals, f"to the {task.obj.describe()}")
        if task.verb == "putnext":
            assert task.other is not None
            others = self.targets(task.other, gm)
            spots = {(x + dx, y + dy) for x, y in others for dx, dy in HEADINGS
                     if 0 <= x + dx < gm.width and 0 <= y + dy < gm.height
                     and (x + dx, y + dy) not in gm.cells}
            if front in spots:
                return "drop", "dropping it here, next to the target", front
            return self._go(gm, spots, f"to a free cell next to the {task.other.describe()}")
        if task.verb == "open":
            doors = {p for p in self.targets(task.obj, gm) if gm.cells[p].type == "door"}
            shut = {p for p in doors if gm.cells[p].state != "open"} or doors
            if shut and all(gm.cells[p].state == "locked" and not self._has_key_for(gm.cells[p])
                            for p in shut):  # every candidate is locked: get a key first
                return self._fetch_key(gm, sorted(gm.cells[p].colour for p in shut)[0])
            if front in shut and front_cell is not None:
                if front_cell.state == "locked" and not self._has_key_for(front_cell):
                    return self._fetch_key(gm, front_cell.colour)
                return "toggle", f"opening the {front_cell.describe()}", front
            return self._go(gm, shut, f"to the {task.obj.describe()}")
        # goto
        return self._go(gm, self.targets(task.obj, gm), f"to the {task.obj.describe()}")

    def _plan(self, gm: GridMap, goals: set[Pos]) -> list[str] | None:
        plan = plan_to_face(gm, goals, carrying=self.carrying)
        if plan is None:
            return None
        return plan

    def _go(self, gm: GridMap, goals: set[Pos], what: str) -> tuple[str, str, Pos | None]:
        if not goals:
            return "done", f"no {what.removeprefix('to the ')} in sight", None
        plan = self._plan(gm, goals)
        if plan is None:
            return "left", f"no path {what}; turning", None
        if not plan:
            return "done", f"already facing it ({what})", None
        goal = self._goal_of(gm, plan, goals)
        return plan[0], f"going {what} ({len(plan)} actions left)", goal

    @staticmethod
    def _goal_of(gm: GridMap, plan: list[str], goals: set[Pos]) -> Pos | None:
        """The goal cell the plan ends facing (for the trace)."""
        if gm.agent is None or gm.heading is None:
            return None
        x, y, d = gm.agent[0], gm.agent[1], gm.heading
        for a in plan:
            if a == "left":
                d = (d - 1) % 4
            elif a == "right":
                d = (d + 1) % 4
            elif a == "forward":
                x, y = x + HEADINGS[d][0], y + HEADINGS[d][1]
        front = (x + HEADINGS[d][0], y + HEADINGS[d][1])
        return front if front in goals else None

    def _has_key_for(self, door: Cell) -> bool:
        return self.carrying is not None and self.carrying.type == "key" and \
            self.carrying.colour == door.colour

    def _free_hands(self, gm: GridMap) -> tuple[str, str, Pos | None]:
        front = gm.front()
        if front is not None and front not in gm.cells:
            return "drop", "dropping what I carry to free my hands", front
        return "left", "turning to find a free cell to drop onto", None

    def _fetch_key(self, gm: GridMap, colour: str) -> tuple[str, str, Pos | None]:
        desc = ObjectDesc(type="key", colour=colour)
        keys = self.targets(desc, gm)
        if not keys:
            return "done", f"the door is locked and no {colour} key is in sight", None
        if self.carrying is not None:
            return self._free_hands(gm)
        front = gm.front()
        if front in keys:
            return "pickup", f"picking up the {colour} key for the locked door", front
        return self._go(gm, keys, f"to the {colour} key (the door is locked)")
