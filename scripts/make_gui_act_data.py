"""Behaviour-cloning records for lavr-mllm as the GUI controller (the ``act`` role).

The rule GUI agent plays MiniWoB++ episodes of the developed tasks; at every step the
compact act prompt a trained model would be sent
(:meth:`lavr.episodes.controller.ModelController.compact_messages`) is recorded with
the candidate that stands for the rules' action
(:meth:`lavr.episodes.gui.model_rules.GuiRules.name_of`), as the reply
``{"action":"click e3"}``. Only steps of successful episodes are kept, and only steps
whose action a candidate stands for. Records are chat records like ``lavr train data``
writes (text only), with ``task`` and ``seed`` for splitting.

    .venv/bin/python scripts/make_gui_act_data.py --out runs/gui_act --seed 100 --episodes 4 \\
        --tasks developed --shard 0/2

Only :data:`~lavr.episodes.gui.evaluate.DEVELOPED_TASKS` are accepted.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Mapping
from pathlib import Path

from lavr.apps.train_data import chat_record
from lavr.core_model.scripted import ScriptedModel
from lavr.episodes.controller import ModelController
from lavr.episodes.gui.evaluate import DEVELOPED_TASKS, evaluate_task
from lavr.episodes.gui.model_rules import GUI_MODEL_ACTIONS, GuiRules
from lavr.episodes.loop import Episode, Observation, Percept, StepChoice
from lavr.planners.roles import compact


class RulesRecorder(ModelController):
    """The rules act; every step's compact prompt and the rules' candidate are kept."""

    def __init__(self) -> None:
        model = ScriptedModel(["{}"], repeat_last=True, name="recorder")
        model.compact_prompts = True  # record the prompt lavr-mllm is sent
        super().__init__(model, GuiRules(), actions=GUI_MODEL_ACTIONS)
        self.steps: list[tuple[list, str | None]] = []

    def reset(self, instruction: str) -> None:
        super().reset(instruction)
        self.steps = []

    def decide(self, observation: Observation, percepts: Mapping[str, Percept]) -> StepChoice:
        rules = self.fallback.decide(observation, percepts)
        self._allowed = self.allowed()
        msgs = self.compact_messages(observation)
        name = self.fallback.name_of(rules.action)  # type: ignore[attr-defined]
        self.steps.append((msgs, name))
        self.taken(rules.action)
        return rules


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--tasks", default="developed", help="comma-separated developed tasks")
    p.add_argument("--seed", type=int, default=100)
    p.add_argument("--episodes", type=int, default=4)
    p.add_argument("--shard", default="0/1", help="K/N: every N-th task from the K-th")
    args = p.parse_args()
    tasks = list(DEVELOPED_TASKS) if args.tasks == "developed" else \
        [t.strip() for t in args.tasks.split(",") if t.strip()]
    bad = [t for t in tasks if t not in DEVELOPED_TASKS]
    if bad:
        print(f"not developed tasks (refused): {', '.join(bad)}", file=sys.stderr)
        return 2
    if args.seed < 100 or args.seed + args.episodes > 500:
        print("use seeds from 100 (never the figures of record's 500-509)", file=sys.stderr)
        return 2
    k, n = (int(v) for v in args.shard.split("/"))
    tasks = tasks[k::n]
    args.out.mkdir(parents=True, exist_ok=True)
    out = args.out / f"act-{k}of{n}.jsonl"
    logging.basicConfig(level=logging.WARNING)
    rec = RulesRecorder()
    kept = total = 0
    with out.open("a") as fh:
        for task in tasks:
            def keep(i: int, ep: Episode, task: str = task) -> None:
                nonlocal kept, total
                total += len(rec.steps)
                if not ep.success:
                    return
                for msgs, name in rec.steps:
                    if name is None:
                        continue
                    fh.write(json.dumps(chat_record(msgs, compact.act_reply(name), [],
                                                    role="act", task=task,
                                                    seed=args.seed + i)) + "\n")
                    kept += 1
                fh.flush()

            try:
                res = evaluate_task(task, episodes=args.episodes, seed=args.seed, agent=rec,
                                    on_episode=keep)
            except Exception as exc:  # noqa: BLE001 - one task's browser trouble ends only it
                print(f"{task}: failed ({type(exc).__name__}: {exc})", file=sys.stderr)
                continue
            print(f"{task}: {res.success_rate:.0%} success; records {kept} of {total} steps",
                  file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
