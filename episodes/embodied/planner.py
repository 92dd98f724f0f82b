"""Cheapest action plans on the agent's map.

States are ``(x, y, heading)``; ``left`` and ``right`` turn in place,
``forward`` enters the cell in front. Seen floor and open doors can be
entered; a closed door costs a ``toggle`` first, a locked one only when the
agent carries a key of its colour. Walls and unseen cells cannot be entered.
Objects block, unless ``blockers`` allows moving them out of the way at a
price (the plan then holds a ``clear`` step). A goal is reached when a goal
cell is *in front* of the agent.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterable
from dataclasses import dataclass

from lavr.episodes.embodied.world import Pos, WorldMap, step_pos

State = tuple[int, int, int]
#: Extra cost of moving an object out of the way (pick up, turn, drop, turn back).
CLEAR_COST = 8


@dataclass(frozen=True)
class Plan:
    """A plan: its actions, the cells it walks through, and the goal cell it ends facing."""

    actions: tuple[str, ...]
    cells: tuple[Pos, ...]
    goal: Pos

    @property
    def cost(self) -> int:
        """Number of actions (a ``clear`` counts as :data:`CLEAR_COST`)."""
        return sum(CLEAR_COST if a == "clear" else 1 for a in self.actions)


def _enter_cost(world: WorldMap, pos: Pos, *, blockers: bool) -> tuple[str, ...] | None:
    """Actions needed before ``forward`` into ``pos`` (None: cannot enter)."""
    if not world.inside(pos):
        return None
    if pos in world.floor:
        return ()
    thing = world.things.get(pos)
    if thing is None:
        return None
    t = thing.tile
    if t.type == "goal":
        return ()
    if t.type == "door":
        if t.state == "open":
            return ()
        if t.state == "closed":
            return ("toggle",)
        held = world.carrying
        if held is not None and held.tile.type == "key" and held.tile.colour == t.colour:
            return ("toggle",)
        return None
    if blockers and t.type in ("key", "ball", "box"):
        return ("clear",)
    return None


class Reach:
    """Every pose the agent can reach now, with the cheapest way there (one Dijkstra search).

    Args:
        world: The map (agent pose included).
        blockers: Allow moving portable objects out of the way.
        avoid: Cells not to walk through.
    """

    def __init__(self, world: WorldMap, *, blockers: bool = False,
                 avoid: frozenset[Pos] = frozenset()) -> None:
        start: State = (world.pos[0], world.pos[1], world.heading)
        tie = itertools.count()
        frontier: list[tuple[int, int, State]] = [(0, next(tie), start)]
        self.cost: dict[State, int] = {start: 0}
        self.back: dict[State, tuple[State, tuple[str, ...]]] = {}
        enter: dict[Pos, tuple[tuple[str, ...], int] | None] = {}
        while frontier:
            cost, _, state = heapq.heappop(frontier)
            if cost > self.cost.get(state, 1 << 30):
                continue
            x, y, d = state
            moves: list[tuple[State, tuple[str, ...], int]] = [
                ((x, y, (d - 1) % 4), ("left",), 1), ((x, y, (d + 1) % 4), ("right",), 1)]
            ahead = step_pos((x, y), d)
            if ahead not in avoid:
                if ahead not in enter:
                    pre = _enter_cost(world, ahead, blockers=blockers)
                    enter[ahead] = None if pre is None else (
                        (*pre, "forward"), 1 + sum(CLEAR_COST if a == "clear" else 1 for a in pre))
                how = enter[ahead]
                if how is not None:
                    moves.append(((ahead[0], ahead[1], d), how[0], how[1]))
            for nxt, acts, step_cost in moves:
                c = cost + step_cost
                if c < self.cost.get(nxt, 1 << 30):
                    self.cost[nxt] = c
                    self.back[nxt] = (state, acts)
                    heapq.heappush(frontier, (c, next(tie), nxt))

    def to_face(self, goals: Iterable[Pos]) -> Plan | None:
        """Cheapest plan that leaves one of ``goals`` in front of the agent, or None."""
        goal_set = set(goals)
        best: tuple[int, State, Pos] | None = None
        for state, cost in self.cost.items():
            ahead = step_pos((state[0], state[1]), state[2])
            if ahead in goal_set and (best is None or (cost, state) < best[:2]):
                best = (cost, state, ahead)
        return None if best is None else _unwind(self.back, best[1], best[2])


def plan_to_face(world: WorldMap, goals: Iterable[Pos], *, blockers: bool = False,
                 avoid: Iterable[Pos] = ()) -> Plan | None:
    """Cheapest plan that leaves one of ``goals`` in front of the agent.

    Args:
        world: The map (agent pose included).
        goals: Cells to face (they need not be enterable or even seen).
        blockers: Allow moving portable objects out of the way.
        avoid: Cells not to walk through.

    Returns:
        The :class:`Plan` (no actions when a goal is already in front), or None.
    """
    goal_set = set(goals)
    if not goal_set:
        return None
    return Reach(world, blockers=blockers, avoid=frozenset(avoid)).to_face(goal_set)


def _unwind(back: dict[State, tuple[State, tuple[str, ...]]], state: State, goal: Pos) -> Plan:
    acts: list[str] = []
    cells: list[Pos] = []
    while state in back:
        prev, step = back[state]
        acts[:0] = step
        if "forward" in step:
            cells.insert(0, (state[0], state[1]))
        state = prev
    return Plan(tuple(acts), tuple(cells), goal)
