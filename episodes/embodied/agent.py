"""The embodied rule controller: map what it sees, track the mission, plan, explore, act.

Each step it reads the ``grid_cells`` perception (a :class:`TileReading` of the
egocentric 7x7 view, or of the full frame), applies the effects of its own
last action to its :class:`WorldMap` (pose, what it holds), adds what it now
sees, and follows the environment's rules to tell which sub-tasks are done
(``go to``: a matching object is in front; ``pick up``: a matching object was
picked up with empty hands; ``open``: a matching door was toggled open; ``put
... next to``: the object was dropped beside a matching one). Then it picks
the cheapest next action among the current stage's sub-tasks: plan to face a
target, fetch the key of a locked door, move an object out of the way, free
its hands, or — when what it needs has not been seen — explore: face the
nearest unseen cell next to seen floor, or open a closed door (objects named
with ``on your left``-style locations are looked for in the starting room
first).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from lavr.core_model.errors import InputError
from lavr.episodes.embodied.mission import Mission, ObjectDesc, SubTask, parse_mission
from lavr.episodes.embodied.planner import Plan, Reach
from lavr.episodes.embodied.world import PORTABLE, Pos, Thing, WorldMap, step_pos
from lavr.episodes.loop import Action, Observation, Percept, PerceptionCall, StepChoice
from lavr.tools.gridworld import HEADINGS, TOOL_NAME, Tile, TileReading

logger = logging.getLogger(__name__)

#: Views the agent reads: BabyAI's standard 7x7 egocentric view, or the full top-down frame.
VIEWS = ("partial", "full")
#: Tiles across and down of the egocentric view.
VIEW_SIZE = 7


#: Actions an intent may take before it is dropped (a guard against new loops).
INTENT_PATIENCE = 40
#: Extra cost of putting down an object a pending sub-task still needs.
NEEDED_PENALTY = 30


@dataclass(frozen=True)
class Intent:
    """Housekeeping the agent has committed to, kept across steps until it is done.

    ``drop``: put the carried object ``thing`` down (on ``cell`` once chosen),
    off the cells in ``avoid``; ``clear``: pick up the object ``thing`` standing
    on ``cell`` (then drop it off ``avoid``). Without commitment, a re-plan from
    the pose the first turn left could undo that turn, and the agent swung
    between two plans until the step limit.
    """

    kind: str
    thing: int
    cell: Pos | None
    avoid: frozenset[Pos]
    why: str
    age: int = 0


@dataclass(frozen=True)
class Choice:
    """A candidate next action with its reason, cost and the cell it works towards.

    ``intents`` are commitments to adopt when this choice is taken.
    """

    action: str
    why: str
    cost: int = 0
    goal: Pos | None = None
    intents: tuple[Intent, ...] = ()


def location_ok(pos: Pos, loc: str, start: tuple[Pos, int]) -> bool:
    """``left/right/front/behind`` of the starting pose: the sign of the offset along its axes."""
    (ax, ay), heading = start
    vx, vy = pos[0] - ax, pos[1] - ay
    fx, fy = HEADINGS[heading]
    rx, ry = -fy, fx
    along, across = vx * fx + vy * fy, vx * rx + vy * ry
    return {"front": along > 0, "behind": along < 0, "right": across > 0, "left": across < 0}[loc]


def fits(tile: Tile, desc: ObjectDesc) -> bool:
    """A tile fits a description's type and colour (walls, floor and goals never do)."""
    if tile.type in ("wall", "floor", "goal", "lava"):
        return False
    return (desc.type is None or tile.type == desc.type) and (
        desc.colour is None or tile.colour == desc.colour)


class EmbodiedAgent:
    """Rule controller for grid-world missions, from the ``grid_cells`` perception only.

    Args:
        view: ``partial`` (the egocentric 7x7 view) or ``full`` (the top-down frame).
    """

    def __init__(self, *, view: str = "partial") -> None:
        if view not in VIEWS:
            raise InputError(f"view must be one of {', '.join(VIEWS)}, got {view!r}")
        self.view = view
        args: dict[str, int] = {"cols": VIEW_SIZE, "rows": VIEW_SIZE} if view == "partial" else {}
        self.perception: tuple[PerceptionCall, ...] = (PerceptionCall(TOOL_NAME, args),)
        self.reset("")

    # -- episode state ---------------------------------------------------------
    def reset(self, instruction: str) -> None:
        """Parse the mission; forget the previous episode."""
        self.world = WorldMap()
        self.error = ""
        self.stage = 0
        self.done: set[int] = set()  # ids of finished sub-tasks in the current stage
        self._last: str | None = None
        self._front_before: Thing | None = None
        self._front_tile: Tile | None = None
        self._held_before: Thing | None = None
        self._explore_goal: Pos | None = None
        self._intents: list[Intent] = []
        self._lenient = False
        self._started = False
        self._reading: TileReading | None = None
        self._reach: dict[tuple[bool, frozenset[Pos]], Reach] = {}
        try:
            self.mission = parse_mission(instruction) if instruction else Mission("", ())
        except InputError as exc:
            self.mission = Mission(instruction, ())
            self.error = str(exc)
        logger.info("mission %r -> %s", instruction,
                    [[t.describe() for t in s] for s in self.mission.stages])

    def describe_state(self) -> str:
        """The agent's view of things in words (for a model controller's prompt)."""
        w = self.world
        todo = "; ".join(t.describe() for t in self.pending()) or "nothing"
        lines = [f"mission: {self.mission.text}", f"to do now: {todo}",
                 f"carrying: {w.carrying.tile.describe() if w.carrying else 'nothing'}"]
        front = w.tile(w.front())
        lines.append(f"in front: {front.describe() if front else 'unseen'}")
        seen = []
        for p, thing in sorted(w.objects().items()):
            rel = self._relative(p)
            seen.append(f"{thing.tile.describe()} {rel}")
        lines.append("seen: " + (", ".join(seen[:20]) or "nothing yet"))
        return "\n".join(lines)

    def _relative(self, p: Pos) -> str:
        vx, vy = p[0] - self.world.pos[0], p[1] - self.world.pos[1]
        fx, fy = HEADINGS[self.world.heading]
        ahead, right = vx * fx + vy * fy, vx * -fy + vy * fx
        parts = []
        if ahead:
            parts.append(f"{abs(ahead)} {'ahead' if ahead > 0 else 'behind'}")
        if right:
            parts.append(f"{abs(right)} {'right' if right > 0 else 'left'}")
        return "(" + (", ".join(parts) or "here") + ")"

    def finished(self) -> bool:
        """Every stage of the mission is done."""
        return not self.error and self.stage >= len(self.mission.stages)

    def pending(self) -> list[SubTask]:
        """Sub-tasks of the current stage not done yet."""
        if self.stage >= len(self.mission.stages):
            return []
        return [t for i, t in enumerate(self.mission.stages[self.stage]) if i not in self.done]

    # -- perception and bookkeeping ----------------------------------------------
    def acted(self, action: Action) -> None:
        """Record the action actually taken (a model controller may overrule this agent)."""
        w = self.world
        self._last = action.kind
        self._front_before = w.things.get(w.front())
        self._front_tile = w.tile(w.front())
        self._held_before = w.carrying

    def _apply_last_action(self) -> None:
        """What the last action did: moves and turns (egocentric view), pick-ups and drops."""
        w, last = self.world, self._last
        if last in ("left", "right", "forward") and self.view == "partial":
            w.moved(last, self._front_tile)
        elif last == "pickup" and self._held_before is None and self._front_before is not None \
                and self._front_before.tile.type in PORTABLE:
            w.picked(w.front())
        elif last == "drop" and self._held_before is not None and self._front_tile is not None \
                and self._front_tile.type == "floor":
            w.dropped(w.front())

    def _plan(self, goals: Iterable[Pos], *, blockers: bool = False,
              avoid: Iterable[Pos] = ()) -> Plan | None:
        """Cheapest plan to face one of ``goals`` (searches are shared within one decision)."""
        goal_set = set(goals)
        if not goal_set:
            return None
        key = (blockers, frozenset(avoid))
        if key not in self._reach:
            self._reach[key] = Reach(self.world, blockers=blockers, avoid=key[1])
        return self._reach[key].to_face(goal_set)

    def _perceive(self, percepts: Mapping[str, Percept]) -> TileReading:
        p = percepts.get(TOOL_NAME)
        if p is None or not isinstance(p.artifact, TileReading):
            raise InputError(f"the {TOOL_NAME} perception did not run"
                             + (f": {p.error}" if p is not None and p.error else ""))
        return p.artifact

    # -- the environment's rules, as the agent understands them ----------------
    def targets(self, desc: ObjectDesc) -> dict[Pos, Thing]:
        """Seen objects the description means (location phrases: starting places, starting room)."""
        w = self.world
        out = {p: t for p, t in w.objects().items() if fits(t.tile, desc)}
        if desc.loc is not None:
            room = w.room_of(w.start[0])
            out = {p: t for p, t in out.items() if t.origin in room
                   and location_ok(t.origin, desc.loc, w.start)}
        return out

    def _matches(self, thing: Thing | None, desc: ObjectDesc) -> bool:
        return thing is not None and fits(thing.tile, desc) and any(
            t.id == thing.id for t in self._target_things(desc))

    def _target_things(self, desc: ObjectDesc) -> list[Thing]:
        things = list(self.targets(desc).values())
        held = self.world.carrying
        if held is not None and fits(held.tile, desc) and (
                desc.loc is None or (held.origin in self.world.room_of(self.world.start[0])
                                     and location_ok(held.origin, desc.loc, self.world.start))):
            things.append(held)
        return things

    def _satisfied(self, task: SubTask) -> bool:
        """Whether the last action (and what followed) finished ``task``."""
        w, last = self.world, self._last
        if task.verb == "goto":
            return w.front() in self.targets(task.obj)
        if task.verb == "pickup":
            return last == "pickup" and self._held_before is None and self._matches(
                w.carrying, task.obj)
        if task.verb == "open":
            now = w.things.get(w.front())
            return last == "toggle" and now is not None and now.tile.type == "door" and \
                now.tile.state == "open" and self._front_tile is not None and \
                self._front_tile.state != "open" and self._matches(now, task.obj)
        if task.verb == "putnext" and task.other is not None:
            if last != "drop" or self._held_before is None or w.carrying is not None:
                return False
            dropped = w.things.get(w.front())
            if dropped is None or not fits(dropped.tile, task.obj):
                return False
            fixed = [p for p, t in self.targets(task.other).items() if t.id != dropped.id]
            return any(abs(p[0] - w.front()[0]) + abs(p[1] - w.front()[1]) == 1 for p in fixed)
        return False

    def _advance(self) -> None:
        if self._last is None:  # the environment checks the mission after actions only
            return
        while self.stage < len(self.mission.stages):
            stage = self.mission.stages[self.stage]
            for i, task in enumerate(stage):
                if i not in self.done and self._satisfied(task):
                    logger.debug("done: %s", task.describe())
                    self.done.add(i)
            if len(self.done) < len(stage):
                return
            self.stage += 1
            self.done = set()

    # -- policy ------------------------------------------------------------------
    def decide(self, observation: Observation, percepts: Mapping[str, Percept]) -> StepChoice:
        """Choose the next action from the perception of this step."""
        reading = self._perceive(percepts)
        self._reading = reading
        self._reach = {}
        w = self.world
        self._apply_last_action()
        if self.view == "full":
            try:
                w.integrate_full(reading)
            except ValueError as exc:
                return self._decide_done(str(exc), reading)
        else:
            w.integrate_view(reading)
        if not self._started:
            w.start = (w.pos, w.heading)
            self._started = True
        self._advance()
        if self.error:
            return self._decide_done(self.error, reading)
        if self.stage >= len(self.mission.stages):
            return self._decide_done("mission complete", reading)
        choice = self._choose()
        decision = self._decision(choice, reading)
        self.acted(decision.action)
        return decision

    def _decide_done(self, why: str, reading: TileReading) -> StepChoice:
        return StepChoice(Action("done"), why, overlay=reading.to_detections())

    def _decision(self, choice: Choice, reading: TileReading) -> StepChoice:
        target = point = None
        if choice.goal is not None:
            box = self._box_of(choice.goal, reading)
            if box is not None:
                target = box
                point = ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2)
        return StepChoice(Action(choice.action), choice.why, point=point,
                        overlay=reading.to_detections(), target=target)

    def _box_of(self, pos: Pos, reading: TileReading) -> tuple[float, float, float, float] | None:
        if self.view == "full":
            return reading.box(*pos)
        w = self.world
        vx, vy = pos[0] - w.pos[0], pos[1] - w.pos[1]
        fx, fy = HEADINGS[w.heading]
        ahead, right = vx * fx + vy * fy, vx * -fy + vy * fx
        x, y = reading.cols // 2 + right, reading.rows - 1 - ahead
        if 0 <= x < reading.cols and 0 <= y < reading.rows:
            return reading.box(x, y)
        return None

    def _choose(self) -> Choice:
        choice = self._follow_intents()
        if choice is None:
            choice = self._choose_fresh()
        if choice.intents:
            self._intents = list(choice.intents)
        return choice

    def _choose_fresh(self) -> Choice:
        options = [c for t in self.pending() if (c := self._for_task(t)) is not None]
        if options:
            return min(options, key=lambda c: c.cost)
        explore = self._explore()
        if explore is not None:
            return explore
        self._lenient = True  # nothing left to see: fetch objects even with nowhere to take them
        try:
            options = [c for t in self.pending() if (c := self._for_task(t)) is not None]
        finally:
            self._lenient = False
        if options:
            return min(options, key=lambda c: c.cost)
        hidden = self._explore_hidden()
        if hidden is not None:
            return hidden
        what = "; ".join(t.describe() for t in self.pending())
        return Choice("done", f"giving up: nothing left to explore for {what}")

    # -- commitments -----------------------------------------------------------------
    def _follow_intents(self) -> Choice | None:
        """The next action of the committed housekeeping, or None (nothing committed)."""
        w = self.world
        while self._intents:
            it = self._intents[0]
            held = w.carrying
            if it.age >= INTENT_PATIENCE:
                logger.debug("giving up the intent %s", it)
                self._intents.clear()
                return None
            if it.kind == "clear":
                if held is not None and held.id == it.thing:  # picked up: now put it away
                    self._intents[0] = Intent("drop", it.thing, None, it.avoid, it.why)
                    continue
                there = w.things.get(it.cell) if it.cell is not None else None
                if there is None or there.id != it.thing or held is not None:
                    self._intents.pop(0)
                    continue
                choice = self._go({it.cell}, f"{it.why}: picking up the object in the way",
                                  final="pickup")
            else:
                if held is None or held.id != it.thing:  # dropped
                    self._intents.pop(0)
                    continue
                choice = None
                if it.cell is not None and self._drop_cell_ok(it.cell, it.avoid):
                    choice = self._go({it.cell}, f"{it.why}: putting it down", final="drop",
                                      avoid=it.avoid)
                if choice is None:
                    choice = self._free_hands(f"{it.why}: putting it down", avoid=it.avoid,
                                              commit=False)
                    self._intents[0] = Intent("drop", it.thing, choice.goal, it.avoid, it.why,
                                              it.age)
            if choice is None:
                self._intents.pop(0)
                continue
            now = self._intents[0]
            self._intents[0] = Intent(now.kind, it.thing, now.cell, it.avoid, it.why, it.age + 1)
            self._intents[:0] = choice.intents  # nested housekeeping comes first
            return Choice(choice.action, choice.why, choice.cost, choice.goal)
        return None

    def _needed(self, thing: Thing | None) -> bool:
        """A pending sub-task still needs the carried ``thing`` carried (it is to be put somewhere)."""
        return thing is not None and any(
            t.verb == "putnext" and self._matches(thing, t.obj) for t in self.pending())

    def _drop_cell_ok(self, p: Pos, avoid: Iterable[Pos] = ()) -> bool:
        w = self.world
        doors = {q for q, t in w.things.items() if t.tile.type == "door"}
        return p in w.floor and p not in set(avoid) and p != w.pos and not any(
            step_pos(p, h) in doors for h in range(4))

    # -- sub-task handlers ---------------------------------------------------------
    def _go(self, goals: Iterable[Pos], why: str, *, final: str | None = None,
            avoid: Iterable[Pos] = ()) -> Choice | None:
        """Walk towards facing one of ``goals``; ``final`` is the action once facing one."""
        goals = set(goals)
        if not goals:
            return None
        plan = self._plan(goals, avoid=avoid) or self._plan(goals, blockers=True, avoid=avoid)
        if plan is None:
            return None
        if not plan.actions:
            if final is None:
                return None
            return Choice(final, why, 1, plan.goal)
        return self._step(plan, why)

    def _step(self, plan: Plan, why: str) -> Choice:
        """The plan's first action; an object in the way is moved off the plan's cells."""
        first = plan.actions[0]
        cost = plan.cost + 1
        if first == "clear":  # an object stands in the way
            w = self.world
            blocker = w.things.get(w.front())
            avoid = frozenset(plan.cells) | {w.pos}
            clear = () if blocker is None else (
                Intent("clear", blocker.id, w.front(), avoid, why),)
            if w.carrying is not None:
                hands = self._free_hands(f"{why}: freeing my hands to move the object in the way",
                                         avoid=avoid, cost=cost)
                return Choice(hands.action, hands.why, hands.cost, hands.goal,
                              hands.intents + clear)
            after = () if blocker is None else (Intent("drop", blocker.id, None, avoid, why),)
            return Choice("pickup", f"{why}: picking up the object in the way", cost,
                          w.front(), after)
        return Choice(first, f"{why} ({len(plan.actions)} actions)", cost, plan.goal)

    def _free_hands(self, why: str, *, avoid: Iterable[Pos] = (), cost: int = 0,
                    commit: bool = True) -> Choice:
        """Drop what is carried on a free floor cell away from doorways (turning there first).

        The choice commits to the drop (an :class:`Intent`) unless ``commit`` is off;
        putting down an object a pending sub-task still needs costs more.
        """
        w = self.world
        avoid = frozenset(avoid)
        if self._needed(w.carrying):
            cost += NEEDED_PENALTY
        choice = self._hands_choice(why, avoid, cost)
        if not commit or w.carrying is None or choice.action == "drop":
            return choice
        intent = Intent("drop", w.carrying.id, choice.goal, avoid, why)
        return Choice(choice.action, choice.why, choice.cost, choice.goal, (intent,))

    def _hands_choice(self, why: str, avoid: frozenset[Pos], cost: int) -> Choice:
        w = self.world
        if self._drop_cell_ok(w.front(), avoid):
            return Choice("drop", why, cost, w.front())
        near = [p for p in (step_pos(w.pos, h) for h in range(4)) if self._drop_cell_ok(p, avoid)]
        if not near:
            near = [p for p in w.floor if self._drop_cell_ok(p, avoid)
                    and abs(p[0] - w.pos[0]) + abs(p[1] - w.pos[1]) < 6]
        choice = self._go(near, why, final="drop", avoid=avoid)
        if choice is not None:
            return Choice(choice.action, choice.why, cost + choice.cost, choice.goal)
        if w.front() in w.floor:
            return Choice("drop", why + " (no better cell)", cost, w.front())
        return Choice("left", why + ": turning to find a free cell", cost)

    def _for_task(self, task: SubTask) -> Choice | None:
        w = self.world
        held = w.carrying
        if task.verb == "goto":
            # facing it before any action: turn away and back, so a move ends facing it
            return self._go(self.targets(task.obj), f"{task.describe()}: going there",
                            final="left")
        if task.verb == "pickup":
            goals = self.targets(task.obj)
            if not goals:
                return None  # explore (keeping what is held: it may be the key to a door)
            if held is not None:
                return self._free_hands(f"{task.describe()}: hands must be empty to pick it up")
            return self._go(goals, f"{task.describe()}: going to it", final="pickup")
        if task.verb == "open":
            return self._open(task)
        if task.verb == "putnext" and task.other is not None:
            if not self._matches(held, task.obj):
                goals = self.targets(task.obj)
                if not goals:
                    return None
                # fetch it only once there is a place to take it (else other work, or explore;
                # its own cell counts: picking it up frees that cell)
                spots = self._spots(task.other, None, also=set(goals))
                if not self._lenient and (not spots or (
                        self._plan(spots) or self._plan(spots, blockers=True)) is None):
                    return None
                if held is not None:
                    return self._free_hands(f"{task.describe()}: freeing my hands")
                return self._go(goals, f"{task.describe()}: fetching it", final="pickup")
            spots = self._spots(task.other, held)
            return self._go(spots, f"{task.describe()}: taking it there", final="drop")
        return None

    def _spots(self, desc: ObjectDesc, held: Thing | None, also: set[Pos] = frozenset()
               ) -> set[Pos]:
        """Free floor cells (or ``also`` cells) next to an object ``desc`` means (not ``held``)."""
        w = self.world
        fixed = [p for p, t in self.targets(desc).items() if held is None or t.id != held.id]
        return {q for p in fixed for q in (step_pos(p, h) for h in range(4))
                if q in w.floor or q in also}

    def _open(self, task: SubTask) -> Choice | None:
        w = self.world
        doors = {p: t for p, t in self.targets(task.obj).items() if t.tile.type == "door"}
        if not doors:
            return None
        held = w.carrying
        usable = {p for p, t in doors.items() if t.tile.state != "locked" or (
            held is not None and held.tile.type == "key" and held.tile.colour == t.tile.colour)}
        options = []
        if usable:
            choice = self._go(usable, f"{task.describe()}: going to the door", final="toggle")
            if choice is not None:
                options.append(choice)
        unlock = self._unlock(set(doors) - usable, f"{task.describe()}: the door is locked")
        if unlock is not None:
            options.append(unlock)
        return min(options, key=lambda c: c.cost) if options else None

    def _unlock(self, doors: set[Pos], why: str) -> Choice | None:
        """Work towards opening one of these locked doors: clear the way, fetch the key, toggle."""
        w = self.world
        options = []
        for p in doors:
            colour = w.things[p].tile.colour
            held = w.carrying
            has_key = held is not None and held.tile.type == "key" and held.tile.colour == colour
            path = self._plan({p})
            if path is None:
                blocked = self._plan({p}, blockers=True)
                if blocked is not None:  # move what stands in the way first
                    options.append(self._step(blocked, f"{why}: clearing the way to it"))
                continue
            if has_key:
                options.append(Choice("toggle", f"{why}: unlocking it with the {colour} key", 1, p)
                               if not path.actions else
                               self._step(path, f"{why}: taking the {colour} key to it"))
                continue
            fetch = self._fetch_key(colour, why)
            if fetch is not None:
                options.append(fetch)
        return min(options, key=lambda c: c.cost) if options else None

    def _fetch_key(self, colour: str, why: str) -> Choice | None:
        w = self.world
        keys = [p for p, t in w.objects().items() if t.tile.type == "key" and t.tile.colour == colour]
        if not keys:
            return None
        if w.carrying is not None:
            return self._free_hands(f"{why}: freeing my hands for the {colour} key")
        choice = self._go(keys, f"{why}: fetching the {colour} key", final="pickup")
        return None if choice is None else Choice(choice.action, choice.why, choice.cost + 20,
                                                  choice.goal)

    # -- exploration ---------------------------------------------------------------
    def _explore(self) -> Choice | None:
        w = self.world
        walk = {p for p in w.floor} | {p for p, t in w.things.items()
                                       if t.tile.type == "door" and t.tile.state == "open"}
        unseen = {q for p in walk for q in (step_pos(p, h) for h in range(4))
                  if not w.known(q) and w.inside(q)}
        if any(t.obj.loc or (t.other and t.other.loc) for t in self.pending()):
            room = w.room_of(w.start[0])
            near_room = {q for q in unseen if any(step_pos(q, h) in room for h in range(4))}
            unseen = near_room or unseen
        closed = {p for p, t in w.things.items() if t.tile.type == "door"
                  and t.tile.state == "closed"
                  and any(not w.known(step_pos(p, h)) for h in range(4))}
        goals = unseen | closed
        if self._explore_goal in goals:
            keep = self._plan({self._explore_goal})
            best = self._plan(goals)
            if keep is not None and best is not None and keep.cost <= best.cost + 2:
                return self._explore_step(keep)
        plan = self._plan(goals) or self._plan(goals, blockers=True)
        if plan is not None:
            self._explore_goal = plan.goal
            return self._explore_step(plan)
        locked = {p: t for p, t in w.things.items() if t.tile.type == "door"
                  and t.tile.state == "locked"}
        unlock = self._unlock(set(locked), "exploring behind a locked door")
        if unlock is not None:
            return unlock
        if locked:  # a key no one has seen may be inside a box: open the boxes
            boxes = {p for p, t in w.things.items() if t.tile.type == "box"}
            return self._go(boxes, "looking for a key inside a box", final="toggle")
        return None

    def _explore_hidden(self) -> Choice | None:
        """The last resort before giving up: unseen cells beside the agent's own cell (e.g.
        behind it) or beside an object (e.g. a doorway behind a ball), which the frontier of
        seen floor leaves out; objects in the way are moved."""
        w = self.world
        around = {w.pos} | {p for p, t in w.things.items() if t.tile.type in PORTABLE}
        hidden = {q for p in around for q in (step_pos(p, h) for h in range(4))
                  if not w.known(q) and w.inside(q)}
        plan = self._plan(hidden) or self._plan(hidden, blockers=True)
        if plan is None:
            return None
        if not plan.actions:  # facing it now: step towards it is impossible, look by turning
            return Choice("left", "exploring: looking past what hides an unseen cell", 1)
        return self._step(plan, "exploring what is hidden")

    def _explore_step(self, plan: Plan) -> Choice:
        if not plan.actions:
            return Choice("toggle", "exploring: opening the door in front", 1, plan.goal)
        return self._step(plan, "exploring")
