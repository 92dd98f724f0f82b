"""``lavr gui``: the pixel-only GUI agent on MiniWoB++ tasks or on any local page.

    lavr gui miniwob --task click-button --episodes 50 --seed 0 [--json]
    lavr gui miniwob --tasks all-supported --episodes 50 --seed 0
    lavr gui miniwob --task click-button --episodes 2 --save-html /tmp/reports
    lavr gui url page.html 'Enter "abc" into the text field and press Submit' [--trace-dir DIR]
    lavr gui miniwob --task click-button --episodes 5 --model openai:...   # a model chooses
    lavr gui tasks
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from typing import Any

from lavr.apps.episode_cmd import check_run_args, report_dir, report_saver
from lavr.apps.model_cmd import _option as model_option
from lavr.core_model.errors import InputError, LavrError
from lavr.episodes.gui import DEFAULT_MAX_STEPS as GUI_MAX_STEPS

ALL_SUPPORTED = "all-supported"

logger = logging.getLogger(__name__)


def add_parser(sub: Any) -> None:
    """Register ``lavr gui`` and its subcommands on the CLI's subparsers."""
    p = sub.add_parser("gui", help="GUI agent from screenshots: MiniWoB++ benchmark or a local page")
    gsub = p.add_subparsers(dest="gui_command", required=True, parser_class=type(p))
    m = gsub.add_parser("miniwob", help="run MiniWoB++ tasks and print success/reward/steps")
    which = m.add_mutually_exclusive_group(required=True)
    which.add_argument("--task", help="one MiniWoB++ task, e.g. click-button")
    which.add_argument("--tasks", help=f"comma-separated tasks, or '{ALL_SUPPORTED}' (= "
                       "'developed'), 'evaluation' (only evaluated) or 'standard' (both)")
    m.add_argument("--episodes", type=int, default=50, help="episodes per task (default 50)")
    m.add_argument("--seed", type=int, default=0, help="seed of the first episode (default 0)")
    m.add_argument("--max-steps", type=int, default=GUI_MAX_STEPS,
                   help=f"step budget per episode (default {GUI_MAX_STEPS})")
    m.add_argument("--trace-dir", metavar="DIR", help="write every episode's step images here")
    m.add_argument("--save-html", metavar="DIR",
                   help="write one self-contained HTML report per episode into DIR "
                        "(TASK-SEED.html)")
    _controller_flags(m)
    m.set_defaults(func=run_miniwob)
    u = gsub.add_parser("url", help="follow an instruction on a local page (file or loopback URL)")
    u.add_argument("target", metavar="FILE_OR_URL", help="HTML file, file:// or loopback http URL")
    u.add_argument("instruction", help='e.g. \'Click on the "Submit" button\'')
    u.add_argument("--allow-remote", action="store_true",
                   help="also open non-loopback URLs (off by default)")
    u.add_argument("--max-steps", type=int, default=GUI_MAX_STEPS,
                   help=f"step budget (default {GUI_MAX_STEPS})")
    u.add_argument("--window", default="800x600", help="browser window WxH (default 800x600)")
    u.add_argument("--trace-dir", metavar="DIR", help="write step images (elements and click drawn)")
    u.add_argument("--save-html", metavar="PATH", help="write a self-contained HTML report")
    _controller_flags(u)
    u.set_defaults(func=run_url)
    t = gsub.add_parser("tasks", help="list the supported MiniWoB++ tasks")
    t.set_defaults(func=run_tasks)



def _controller_flags(p: argparse.ArgumentParser) -> None:
    """--threads, --json, --model and the UI-detector flag, shared by miniwob and url."""
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads for OCR (default 1)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--model", default=None,
                   help="controller model (rule, openai:..., transformers:...): it chooses each "
                        "action among the candidates, the rules stand by; default: rules")
    p.add_argument("--model-option", action="append", type=model_option, default=[],
                   metavar="KEY=VALUE",
                   help="option of the --model backend, repeatable: threads=1, timeout=60 ...")
    _detector_flag(p)

def _detector_flag(p: Any) -> None:
    p.add_argument("--ui-detector", choices=("on", "off"), default="off",
                   help="also run the UI-element detector trained here (tools/weights/"
                        "ui-yolo11n.pt) and add the widgets the screen parser missed "
                        "(default off)")


def _threads(n: int) -> None:
    from lavr.apps.model_cmd import set_threads

    set_threads(n)


def _controller(spec: str | None, ui_detector: str = "off",
                options: list[tuple[str, Any]] | None = None) -> Any:
    """The GUI agent, or a model controller over it (``--model``).

    Raises:
        ExpertUnavailableError: ``--ui-detector on`` and its checkpoint is missing (before
            any browser starts).
    """
    from lavr.apps.episode_cmd import controller
    from lavr.episodes.gui.agent import GuiAgent
    from lavr.episodes.gui.model_rules import GUI_MODEL_ACTIONS, GuiRules

    detector = ui_detector == "on"
    if detector:
        from lavr.episodes.gui.detector import shared_detector

        shared_detector().path()
    return controller(spec, GuiAgent(ui_detector=detector), actions=GUI_MODEL_ACTIONS,
                      model_rules=GuiRules, options=dict(options or []))


def task_sets() -> dict[str, tuple[str, ...]]:
    """Named task lists for ``--tasks``: developed on (also ``all-supported``), only
    evaluated, both."""
    from lavr.episodes.gui.evaluate import DEVELOPED_TASKS, EVALUATION_TASKS, STANDARD_TASKS

    return {ALL_SUPPORTED: DEVELOPED_TASKS, "developed": DEVELOPED_TASKS,
            "evaluation": EVALUATION_TASKS, "standard": STANDARD_TASKS}


def _task_list(args: argparse.Namespace) -> list[str]:
    from lavr.episodes.gui.browser import miniwob_tasks

    sets = task_sets()
    if args.task:
        names = [args.task]
    elif args.tasks.strip() in sets:
        names = list(sets[args.tasks.strip()])
        if not names:
            raise InputError(f"the task set '{args.tasks.strip()}' is empty: every standard "
                             "task has been developed on (see 'lavr gui tasks')")
    else:
        names = [t.strip() for t in args.tasks.split(",") if t.strip()]
    if not names:
        raise InputError("--tasks names no task (see 'lavr gui tasks')")
    known = set(miniwob_tasks())
    bad = [t for t in names if t not in known]
    if bad:
        raise InputError(f"unknown MiniWoB++ task(s): {', '.join(bad)} (see 'lavr gui tasks')")
    return names


def run_miniwob(args: argparse.Namespace) -> int:
    """``lavr gui miniwob``: evaluate tasks one browser at a time and print the table."""
    from lavr.apps.cli import one_line
    from lavr.episodes.controller import controller_label
    from lavr.episodes.gui.evaluate import evaluate_task, instruction_read_rate

    check_run_args(args)
    tasks = _task_list(args)
    html_dir = report_dir(args.save_html)  # before any episode runs: a bad folder loses no work
    report_dir(args.trace_dir, flag="--trace-dir")
    _threads(args.threads)
    agent = _controller(args.model, args.ui_detector, args.model_option)
    results = []
    if not args.json:
        print(f"{'task':24} {'episodes':>8} {'success':>8} {'reward':>7} {'steps':>6} "
              f"{'read ok':>7}")
    failed: list[dict[str, str]] = []
    for task in tasks:
        try:
            r = evaluate_task(task, episodes=args.episodes, seed=args.seed,
                              max_steps=args.max_steps, agent=agent, trace_dir=args.trace_dir,
                              on_episode=report_saver(html_dir, task, args.seed, scale=2),
                              keep_images=html_dir is not None)
        except Exception as exc:  # one task's browser or page failing loses no other task
            why = one_line(exc) if isinstance(exc, LavrError) else \
                f"{type(exc).__name__}: {one_line(exc)}"
            failed.append({"task": task, "error": why})
            logger.debug("task %s failed", task, exc_info=True)
            print(f"lavr: {task}: could not run: {why}", file=sys.stderr, flush=True)
            continue
        results.append(r)
        if not args.json:
            print(f"{task:24} {len(r.episodes):>8} {r.success_rate:>8.1%} {r.mean_reward:>7.3f} "
                  f"{r.mean_steps:>6.2f} {instruction_read_rate(r):>7.0%}", flush=True)
    n = max(len(results), 1)
    mean_success = sum(r.success_rate for r in results) / n
    mean_reward = sum(r.mean_reward for r in results) / n
    if args.json:
        print(json.dumps({"benchmark": "miniwob", "episodes": args.episodes, "seed": args.seed,
                          "controller": controller_label(agent, args.model),
                          "tasks": [{**r.to_json(episodes=True), "instruction_read_exactly":
                                     round(instruction_read_rate(r), 4)} for r in results],
                          "mean_success_rate": round(mean_success, 4),
                          "mean_reward": round(mean_reward, 4), "failed_tasks": failed},
                         indent=2))
    elif len(results) > 1:
        print(f"{'mean over ' + str(len(results)) + ' tasks':24} {'':>8} {mean_success:>8.1%} "
              f"{mean_reward:>7.3f}")
    if html_dir is not None and not args.json:
        print(f"reports: {html_dir}/")
    if failed:
        print(f"lavr: {len(failed)} of {len(tasks)} task(s) could not run (not in the mean): "
              f"{', '.join(f['task'] for f in failed)}", file=sys.stderr)
        return 1
    return 0


def _window(spec: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in spec.lower().split("x"))
    except ValueError:
        raise InputError(f"--window must look like 800x600, got {spec!r}") from None
    if not (100 <= w <= 4000 and 100 <= h <= 4000):
        raise InputError(f"--window sides must be 100..4000 px, got {spec}")
    return w, h


def run_url(args: argparse.Namespace) -> int:
    """``lavr gui url``: follow the instruction on the page and print the trace."""
    from lavr.episodes.controller import controller_label
    from lavr.episodes.gui.browser import PageEnv, check_url
    from lavr.episodes.gui.instruction import parse_instruction
    from lavr.episodes.loop import run_episode

    if args.max_steps < 1:  # was a ValueError from the episode loop
        raise InputError(f"--max-steps must be >= 1, got {args.max_steps}")
    url = check_url(args.target, allow_remote=args.allow_remote)
    if not args.instruction.strip():
        raise InputError("the instruction is empty")
    plan = parse_instruction(args.instruction)
    if not plan.intents:
        raise InputError(f"the grammar finds nothing to do in {args.instruction!r} "
                         f"(quote the text of what to click or type, e.g. 'Click \"OK\"')")
    window = _window(args.window)
    report_dir(args.trace_dir, flag="--trace-dir")  # before the episode: a bad path loses it
    if args.save_html:
        from lavr.core_model.textfiles import check_writable_file

        check_writable_file(args.save_html, flag="--save-html")
    _threads(args.threads)
    agent = _controller(args.model, args.ui_detector, args.model_option)
    with PageEnv(url, args.instruction, window=window, allow_remote=args.allow_remote) as env:
        episode = run_episode(env, agent, max_steps=args.max_steps,
                              keep_images=args.trace_dir is not None or bool(args.save_html))
    if args.trace_dir:
        episode.save_trace(args.trace_dir, scale=1)
    if args.save_html:
        episode.save_html(args.save_html, title=args.instruction, scale=1)
    finished = episode.ended_by == "agent" and not episode.steps[-1].summary.startswith("gave up")
    if args.json:
        out = episode.to_json()
        out.update({"url": url, "plan_rule": plan.rule, "completed": finished,
                    "controller": controller_label(agent, args.model)})
        print(json.dumps(out, indent=2))
    else:
        print(f"Instruction: {episode.instruction}")
        print(f"Plan ({plan.rule}): " + "; ".join(i.describe() for i in plan.intents))
        for s in episode.steps:
            who = f" [{s.controller}]" if s.controller != "rules" else ""
            print(f"  [{s.step}] {s.action.describe():28} {s.summary}{who}")
        print("Completed the plan." if finished else "Did NOT complete the plan.")
        if args.trace_dir:
            print(f"(step images written to {args.trace_dir})")
    return 0 if finished else 1


def run_tasks(args: argparse.Namespace) -> int:
    """``lavr gui tasks``: print the standard MiniWoB++ tasks, developed-on ones marked."""
    from lavr.episodes.gui.evaluate import DEVELOPED_TASKS, STANDARD_TASKS

    sys.stdout.write("\n".join(f"{t}\t{'developed' if t in DEVELOPED_TASKS else 'evaluation'}"
                               for t in STANDARD_TASKS) + "\n")
    return 0
