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

from collections.abc import Iterable
from dataclasses import dataclass

from lavr.episodes.embodied.world import Pos, WorldMap, step_pos
from lavr.tools.gridworld import HEADINGS

State = tuple[int, int, int]
_LEFT = ("left",)
_RIGHT = ("right",)
_UNSET: object = object()
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
        # Dijkstra with a bucket queue: step costs are small integers
        start: State = (world.pos[0], world.pos[1], world.heading)
        self.cost: dict[State, int] = {start: 0}
        self.back: dict[State, tuple[State, tuple[str, ...]]] = {}
        enter: dict[Pos, tuple[tuple[str, ...], int] | None] = {}
        buckets: list[list[State]] = [[start]]
        cost = 0
        best = self.cost
        while cost < len(buckets):
            for state in buckets[cost]:
                if best[state] != cost:
                    continue
                x, y, d = state
                dx, dy = HEADINGS[d]
                ahead = (x + dx, y + dy)
                moves: list[tuple[State, tuple[str, ...], int]] = [
                    ((x, y, (d - 1) % 4), _LEFT, 1), ((x, y, (d + 1) % 4), _RIGHT, 1)]
                if ahead not in avoid:
                    how = enter.get(ahead, _UNSET)
                    if how is _UNSET:
                        pre = _enter_cost(world, ahead, blockers=blockers)
                        how = None if pre is None else (
                            (*pre, "forward"),
                            1 + sum(CLEAR_COST if a == "clear" else 1 for a in pre))
                        enter[ahead] = how
                    if how is not None:
                        moves.append(((ahead[0], ahead[1], d), how[0], how[1]))
                for nxt, acts, step_cost in moves:
                    c = cost + step_cost
                    if c < best.get(nxt, 1 << 30):
                        best[nxt] = c
                        self.back[nxt] = (state, acts)
                        while len(buckets) <= c:
                            buckets.append([])
                        buckets[c].append(nxt)
            cost += 1

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
