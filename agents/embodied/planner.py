"""Shortest action plans on a perceived grid map.

States are ``(x, y, heading)``; actions ``left``, ``right`` (turn in place)
and ``forward``. Empty floor, goals and open doors can be entered; a closed
door costs an extra ``toggle`` to open first, a locked one only when the agent
carries a key of its colour. Walls and objects block. A goal is reached when
the cell *in front* of the agent is one of the goal cells (how BabyAI checks
"go to", "pick up" and "open").
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterable

from lavr.agents.embodied.perception import HEADINGS, Cell, GridMap

Pos = tuple[int, int]
State = tuple[int, int, int]


def _enterable(cell: Cell | None, carrying: Cell | None) -> tuple[bool, int]:
    """``(can enter, extra cost)`` of moving into a cell."""
    if cell is None or cell.type == "goal":
        return True, 0
    if cell.type != "door":
        return False, 0
    if cell.state == "open":
        return True, 0
    if cell.state == "closed":
        return True, 1
    if carrying is not None and carrying.type == "key" and carrying.colour == cell.colour:
        return True, 1
    return False, 0


def front_of(state: State) -> Pos:
    """The cell in front of a state."""
    x, y, d = state
    dx, dy = HEADINGS[d]
    return x + dx, y + dy


def plan_to_face(gm: GridMap, goals: Iterable[Pos], *, carrying: Cell | None = None) -> list[str] | None:
    """Cheapest action list that leaves one of ``goals`` in front of the agent.

    Args:
        gm: The perceived map (agent pose required).
        goals: Cells to face.
        carrying: What the agent holds (a key opens locked doors of its colour).

    Returns:
        Actions (``left``, ``right``, ``forward``, ``toggle``); ``[]`` when a goal
        is already in front; None when no goal can be reached or the agent was not seen.
    """
    goal_set = set(goals)
    if gm.agent is None or gm.heading is None or not goal_set:
        return None
    start: State = (gm.agent[0], gm.agent[1], gm.heading)
    tie = itertools.count()
    frontier: list[tuple[int, int, State]] = [(0, next(tie), start)]
    best: dict[State, int] = {start: 0}
    back: dict[State, tuple[State, list[str]]] = {}
    while frontier:
        cost, _, state = heapq.heappop(frontier)
        if cost > best.get(state, 1 << 30):
            continue
        if front_of(state) in goal_set:
            return _unwind(back, state)
        x, y, d = state
        moves: list[tuple[State, list[str]]] = [((x, y, (d - 1) % 4), ["left"]),
                                                 ((x, y, (d + 1) % 4), ["right"])]
        fx, fy = front_of(state)
        if 0 <= fx < gm.width and 0 <= fy < gm.height:
            ok, extra = _enterable(gm.cells.get((fx, fy)), carrying)
            if ok:
                moves.append(((fx, fy, d), ["toggle"] * extra + ["forward"]))
        for nxt, acts in moves:
            c = cost + len(acts)
            if c < best.get(nxt, 1 << 30):
                best[nxt] = c
                back[nxt] = (state, acts)
                heapq.heappush(frontier, (c, next(tie), nxt))
    return None


def _unwind(back: dict[State, tuple[State, list[str]]], state: State) -> list[str]:
    acts: list[str] = []
    while state in back:
        state, step = back[state][0], back[state][1]
        acts = step + acts
    return acts
