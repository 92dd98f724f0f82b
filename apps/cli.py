"""The ``lavr`` command line.

Exit codes: 0 on an answer, 2 on bad input, a bad setting or a usage error, 3 when a
backend, device or expert is unavailable (each a one-line message), 1 only for an
unexpected internal error (also one line; ``-v`` shows the traceback). Settings are
checked before anything runs (:class:`~lavr.agents.settings.RunSettings`), so a bad
``--save-annotated`` path never costs the answer.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lavr.agents import AgentResult, VisualAgent
    from lavr.agents.settings import RunSettings

EXIT_OK, EXIT_INTERNAL, EXIT_INPUT, EXIT_UNAVAILABLE = 0, 1, 2, 3


def _whole_number(text: str) -> int:
    """``type=int`` of every lavr option: no option takes a negative count, seed, size or
    port, so a negative number is refused while parsing (one line), not deep in a run."""
    value = int(text)  # a ValueError reads "invalid int value: 'abc'"
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number 0 or more, got {text!r}")
    return value


def _finite_number(text: str) -> float:
    """``type=float`` of every lavr option: nan and infinity are refused while parsing."""
    value = float(text)
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # argparse looks ``type=`` up in this registry (shared with argument groups)
        self.register("type", int, _whole_number)
        self.register("type", float, _finite_number)

    def error(self, message: str) -> None:  # one line, exit 2
        # a subcommand's prog is "lavr eval mllm": point at the whole command's help
        command = " ".join(["lavr", *self.prog.split()[1:]])
        self.exit(EXIT_INPUT, f"lavr: error: {message} (see '{command} -h')\n"
                  if " " in self.prog else f"lavr: error: {message}\n")


def _add_ask(sub: Any) -> None:
    p = sub.add_parser("ask", help="answer a question about an image")
    p.add_argument("image", nargs="?", help="image file (PNG, JPEG, WebP, TIFF, ...); may be "
                   "left out to ask again about a --sessions thread's image")
    p.add_argument("question", nargs="?",
                   help="the question, e.g. 'How many red circles are there?'")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--save-annotated", metavar="PATH", help="write the image with evidence drawn")
    p.add_argument("--sessions", metavar="PATH",
                   help="SQLite file of persistent conversations (created if missing)")
    p.add_argument("--thread", default="default",
                   help="conversation id within --sessions (default 'default')")
    p.add_argument("--resume", action="store_true",
                   help="finish the --thread's unfinished run (killed, crashed or paused) from its "
                   "last checkpoint instead of asking a new question; finished tool steps are "
                   "not run again")
    p.add_argument("--busy-timeout", type=float, default=60.0, metavar="SECONDS",
                   help="how long to wait while another process runs on the same --thread "
                   "(default 60; 0 fails at once)")
    p.add_argument("--save-html", metavar="PATH", help="write a self-contained HTML trace")
    p.add_argument("--style", choices=("plain", "grounded"), default="plain",
                   help="answer text: plain English (default) or grounded (step-id citations "
                        "and pixel boxes); --json carries both")
    add_agent_args(p)


def add_agent_args(p: argparse.ArgumentParser) -> None:
    """The agent options shared by ``lavr ask`` and ``lavr batch`` (experts, budget,
    verify, device, reasoning, model); :func:`agent_from_args` reads them."""
    p.add_argument("--detector", default="auto",
                   help="auto (default), shapes, coco, yolo-world, yoloe or a .pt path")
    p.add_argument("--max-steps", type=int, default=12, help="tool-call budget (default 12)")
    p.add_argument("--no-verify", action="store_true", help="skip the verify node")
    p.add_argument("--device", default="auto", help="auto (default), cpu or cuda")
    add_deadline_arg(p)
    p.add_argument("--allow-url", action="store_true",
                   help="fetch images given as http(s) URLs (public addresses only, 20 MB, 20 s)")
    p.add_argument("--direct", action="store_true",
                   help="answer from the --model alone, no experts (the MLLM-only baseline)")
    from lavr.apps.cot_cli import add_reasoning_args
    from lavr.apps.model_cmd import add_model_args

    add_reasoning_args(p)
    add_model_args(p)


def add_deadline_arg(p: argparse.ArgumentParser) -> None:
    """Add ``--deadline SECONDS`` (the whole-run deadline)."""
    from lavr.agents.settings import DEFAULT_DEADLINE

    p.add_argument("--deadline", type=float, default=DEFAULT_DEADLINE, metavar="SECONDS",
                   help=f"whole-run deadline (default {DEFAULT_DEADLINE:g}); past it no model "
                        "or expert is asked any more and the answer comes from the evidence so far")


def check_agent_args(args: argparse.Namespace, model_kwargs: dict[str, Any] | None = None) -> RunSettings:
    """The validated :class:`~lavr.agents.settings.RunSettings` of :func:`add_agent_args`'s
    flags (nothing is loaded).

    Raises:
        SettingsError: A bad value, named with what would work.
    """
    from lavr.agents.settings import RunSettings
    from lavr.apps.model_cmd import model_agent_kwargs

    model_kwargs = model_kwargs or model_agent_kwargs(args)
    return RunSettings.checked(  # every setting checked before anything loads or runs
        detector=args.detector, max_steps=args.max_steps, verify=not args.no_verify,
        device=args.device, deadline=args.deadline, model_retries=model_kwargs["model_retries"])


def agent_from_args(args: argparse.Namespace, **extra: Any) -> VisualAgent:
    """The :class:`~lavr.agents.VisualAgent` that :func:`add_agent_args`'s flags describe
    (``lavr.toml``'s ``[agent]`` defaults applied); ``extra`` are more constructor arguments."""
    from lavr.agents import VisualAgent
    from lavr.apps.cot_cli import agent_kwargs
    from lavr.apps.model_cmd import model_agent_kwargs

    model_kwargs = model_agent_kwargs(args)  # also applies lavr.toml's [agent] defaults
    settings = check_agent_args(args, model_kwargs)
    return VisualAgent(detector=settings.detector, max_steps=settings.max_steps,
                       verify=settings.verify, device=settings.device, deadline=settings.deadline,
                       allow_url=bool(getattr(args, "allow_url", False)),
                       **agent_kwargs(args), **model_kwargs, **extra)


def _add_eval(sub: Any) -> None:
    p = sub.add_parser("eval", help="evaluate on generated or local benchmark data")
    esub = p.add_subparsers(dest="suite", required=True, parser_class=_Parser)
    s = esub.add_parser("synthetic", help="generated scenes with exact answers")
    s.add_argument("--n", type=int, default=200, help="number of questions (default 200)")
    s.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    s.add_argument("--json", action="store_true", help="print one JSON object")
    s.add_argument("--detector", default="auto")
    s.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    s.add_argument("--failures", metavar="PATH", help="write failed items as JSON lines")
    s.add_argument("--shard", metavar="K/N", help="run only every N-th question from the K-th "
                   "(0 <= K < N), so N processes share one run; add their counts")
    s.add_argument("--plan-only", action="store_true",
                   help="measure plan validity and accuracy only (no experts run)")
    from lavr.apps.cot_cli import add_reasoning_args
    from lavr.apps.model_cmd import add_model_args

    add_model_args(s)
    add_reasoning_args(s)
    import importlib

    for name in EVAL_MODULES:
        importlib.import_module(name).add_eval_parser(esub)


#: Modules that add ``lavr eval`` suites: each defines ``add_eval_parser(esub)`` (registering a
#: parser whose default ``eval_func`` runs it) — add a line here for a new suite.
EVAL_MODULES: tuple[str, ...] = ("lavr.apps.eval_hallucination", "lavr.apps.eval_pope",
                                 "lavr.apps.eval_reasoning", "lavr.apps.eval_mllm")


#: Modules that add subcommands: each defines ``add_parser(sub)`` (registering a parser
#: whose default ``func`` runs it) — add a line here for a new command.
COMMAND_MODULES: tuple[str, ...] = ("lavr.apps.demo", "lavr.apps.correct_cmd", "lavr.apps.gui_cmd", "lavr.apps.embodied_cmd")
COMMAND_MODULES += ("lavr.apps.model_cmd",)
COMMAND_MODULES += ("lavr.apps.demos_cmd",)
COMMAND_MODULES += ("lavr.apps.batch_cmd", "lavr.apps.serve")
COMMAND_MODULES += ("lavr.apps.train_cmd",)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="lavr", description="LLM-aided visual reasoning with vision experts.")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging (-vv)")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    _add_ask(sub)
    p = sub.add_parser("models", help="list experts, the weights they would use, and presence")
    p.add_argument("--json", action="store_true")
    _add_eval(sub)
    import importlib

    for name in COMMAND_MODULES:
        importlib.import_module(name).add_parser(sub)
    return parser


def _print_trace(result: AgentResult) -> None:
    for rec in result.steps:
        tool = f" {rec.tool}" if rec.tool else ""
        step = f" {rec.step}" if rec.step else ""
        err = f"  ERROR: {rec.error}" if rec.error and not rec.summary.startswith(
            str(rec.error)) else ""
        print(f"  [{rec.node}{step}{tool}] {rec.summary} ({rec.seconds:.2f}s){err}")


def cmd_ask(args: argparse.Namespace) -> int:
    if args.direct:
        from lavr.apps.eval_mllm import cmd_ask_direct

        return cmd_ask_direct(args)
    from lavr.agents import SessionStore, VisualAgent
    from lavr.agents.settings import RunSettings
    from lavr.apps.cot_cli import agent_kwargs, reasoning_kwargs, reasoning_lines
    from lavr.apps.model_cmd import model_agent_kwargs
    from lavr.core_model.errors import InputError

    if args.resume:
        if not args.sessions:
            raise InputError("--resume needs --sessions FILE (and --thread ID)")
        if args.image is not None:
            raise InputError("--resume finishes the thread's unfinished run: leave out the "
                             "image and the question")
    elif args.question is None:  # one positional: the question, about the thread's image
        if args.image is None:
            raise InputError("a question is needed")
        args.image, args.question = None, args.image
    model_kwargs = model_agent_kwargs(args)  # also applies lavr.toml's [agent] defaults
    settings = RunSettings.checked(  # every setting checked before anything loads or runs
        detector=args.detector, max_steps=args.max_steps, verify=not args.no_verify,
        device=args.device, sessions=args.sessions, thread=args.thread,
        save_annotated=args.save_annotated, save_html=args.save_html, deadline=args.deadline,
        model_retries=model_kwargs["model_retries"])
    sessions = SessionStore(settings.sessions, busy_timeout=args.busy_timeout) \
        if settings.sessions else None
    agent = VisualAgent(detector=settings.detector, max_steps=settings.max_steps,
                        verify=settings.verify, device=settings.device,
                        sessions=sessions, deadline=settings.deadline, style=args.style,
                        allow_url=bool(getattr(args, "allow_url", False)),
                        **agent_kwargs(args), **model_kwargs)
    per_call = reasoning_kwargs(args)
    if args.resume:
        result = agent.finish(args.thread)
    elif args.sessions:
        result = agent.chat(args.image, args.question, thread_id=args.thread, **per_call)
    else:
        result = agent.run(args.image, args.question, **per_call)
    failed = _save_outputs(result, args)  # checked up front; a disk can still fill up
    if args.json:
        data = result.to_dict()
        if args.image:  # lets 'lavr demos add --from-trace' find the image
            data["image"]["path"] = str(Path(args.image).resolve())
        print(json.dumps(data, indent=2, default=str))
        return _report_failed(failed)
    print(f"Q: {result.question}")
    print("Steps:")
    _print_trace(result)
    for line in reasoning_lines(result):
        print(line)
    if result.fallbacks:
        print("Fell back:")
        for line in result.fallbacks:
            print(f"  {line}")
    print(f"A: {result.answer}")
    if args.sessions:
        print(f"(conversation {args.thread!r}, turn {len(result.history) + 1}, "
              f"in {args.sessions})")
    if args.save_annotated and not failed:
        print(f"(annotated image written to {args.save_annotated})")
    return _report_failed(failed)


def _save_outputs(result: AgentResult, args: argparse.Namespace) -> str | None:
    """Write ``--save-annotated`` and ``--save-html``; the first failure as one line, or None.

    The answer is printed whatever happens here, so a failed write never loses it.
    """
    from lavr.core_model.errors import LavrError

    for flag, path, save in (("--save-annotated", args.save_annotated, result.save_annotated),
                             ("--save-html", args.save_html, result.save_html)):
        if not path:
            continue
        try:
            save(path)
        except (OSError, LavrError, ValueError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            return f"{flag} {path!r}: could not write ({reason}); the answer above is complete"
    return None


def _report_failed(failed: str | None) -> int:
    if failed is None:
        return EXIT_OK
    print(f"lavr: error: {one_line(failed)}", file=sys.stderr)
    return EXIT_INPUT


def cmd_models(args: argparse.Namespace) -> int:
    from lavr.tools.inventory import expert_inventory, inventory_footer

    rows = expert_inventory()
    if args.json:
        print(json.dumps(rows, indent=2))
        return EXIT_OK
    print(f"{'expert':8} {'name':11} {'status':23} {'size':>8}  {'weights':22} finds")
    for r in rows:
        size = f"{r['size_mb']:g} MB" if r["size_mb"] else "-"
        print(f"{r['expert']:8} {r['name']:11} {r['status']:23} {size:>8}  "
              f"{str(r['weights'])[:22]:22} {r['finds']}")
        if r["path"] or r["needs"]:
            print(f"{'':21}{'at ' + r['path'] if r['path'] else ''}"
                  f"{'; ' if r['path'] and r['needs'] else ''}"
                  f"{'also needs ' + r['needs'] if r['needs'] else ''}")
    print("\n" + inventory_footer())
    return EXIT_OK


def cmd_eval(args: argparse.Namespace) -> int:
    suite = getattr(args, "eval_func", None)
    if suite is not None:
        return int(suite(args) or 0)
    if args.suite == "synthetic":
        from lavr.apps.evaluate import run_synthetic_cli

        return run_synthetic_cli(args)
    raise SystemExit(EXIT_INPUT)


COMMANDS = {"ask": cmd_ask, "models": cmd_models, "eval": cmd_eval}


def exit_code(exc: BaseException) -> int:
    """The exit code for an error: 3 when something is unavailable here (a device, an
    expert's weights, an unreachable or overloaded model server), 2 for bad input."""
    from lavr.core_model.errors import LavrError, ModelServerError, UnavailableError

    if isinstance(exc, UnavailableError) or (isinstance(exc, ModelServerError)
                                              and exc.unavailable):
        return EXIT_UNAVAILABLE
    return EXIT_INPUT if isinstance(exc, (LavrError, OSError)) else EXIT_INTERNAL


def _as_flag(exc: BaseException, settings_error: type) -> str:
    """A settings error worded with the command-line flag (``--save-annotated 'x.xyz': ...``)."""
    if isinstance(exc, settings_error) and str(exc).startswith(f"{exc.name}="):
        return f"--{exc.name.replace('_', '-')} " + str(exc)[len(exc.name) + 1:]
    return str(exc)


def one_line(exc: BaseException | str, limit: int = 600) -> str:
    """An exception's message on one line (newlines folded), at most ``limit`` characters."""
    text = " ".join(str(exc).split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _verbose_in(argv: Sequence[str]) -> bool:
    """Whether ``-v``/``--verbose`` is among the arguments (read before the parser exists)."""
    return any(a == "--verbose" or (a.startswith("-v") and set(a[1:]) == {"v"}) for a in argv)


def _fail(exc: BaseException, *, verbose: bool) -> int:
    """Report ``exc`` on one line of stderr and return the exit code (``-v`` re-raises
    unexpected errors so their traceback shows)."""
    from lavr.core_model.errors import LavrError, SettingsError

    if isinstance(exc, LavrError):
        print(f"lavr: error: {one_line(_as_flag(exc, SettingsError))}", file=sys.stderr)
        return exit_code(exc)
    if isinstance(exc, BrokenPipeError):  # the reader went away (| head): nothing to say
        _silence_stdout()
        return EXIT_OK
    if isinstance(exc, OSError):  # a file the user named could not be read or written
        where = f": {exc.filename}" if getattr(exc, "filename", None) else ""
        print(f"lavr: error: {one_line(exc.strerror or exc)}{where}", file=sys.stderr)
        return EXIT_INPUT
    if isinstance(exc, KeyboardInterrupt):  # its message, if any, says what was kept
        print(f"lavr: interrupted{': ' + one_line(exc) if str(exc) else ''}", file=sys.stderr)
        return 130
    if verbose:
        raise exc
    if isinstance(exc, ImportError):  # a package lavr needs is missing or broken
        print(f"lavr: error: {one_line(import_failure(exc))} (run with -v for the traceback)",
              file=sys.stderr)
        return EXIT_UNAVAILABLE
    print(f"lavr: internal error: {type(exc).__name__}: {one_line(exc)} (run with -v for "
          "details)", file=sys.stderr)
    return EXIT_INTERNAL


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the flush at exit does not fail on the closed pipe again."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # no real file descriptor (captured output)
        pass


def import_failure(exc: ImportError) -> str:
    """What failed to import and how to repair it, in one sentence."""
    name = exc.name or "a module"
    return (f"cannot import {name} ({one_line(exc, 200)}): lavr's installation is missing or has "
            "a broken package; reinstall it ('make install' in a checkout, or "
            "pip install 'lavr[all]')")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``lavr`` console script.

    Every failure ends in one line on stderr and a non-zero exit (see the module docstring),
    also while the parser is built (a subcommand's module that cannot be imported).
    """
    program = argv is None  # run as the ``lavr`` program (not called from Python)
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = build_parser().parse_args(argv)
    except (Exception, KeyboardInterrupt) as exc:  # noqa: BLE001 - SystemExit (usage) passes
        return _failed(exc, verbose=_verbose_in(argv), program=program)
    level = logging.WARNING if args.verbose == 0 else logging.INFO if args.verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    if not args.verbose:
        import warnings

        warnings.filterwarnings("ignore")  # library deprecation noise; -v shows it
    try:
        func = getattr(args, "func", None) or COMMANDS[args.command]
        return int(func(args) or 0)
    except (Exception, KeyboardInterrupt) as exc:  # noqa: BLE001 - last resort: one line
        return _failed(exc, verbose=bool(args.verbose), program=program)


def _failed(exc: BaseException, *, verbose: bool, program: bool) -> int:
    """:func:`_fail`; after Ctrl-C the program then ends at once (after the ``atexit``
    cleanups): a worker still inside a model call (a non-daemon thread, a native thread
    pool) would otherwise hold the exit up or abort it ("terminate called without an
    active exception")."""
    code = _fail(exc, verbose=verbose)
    if program and isinstance(exc, KeyboardInterrupt):
        import atexit
        import os

        atexit._run_exitfuncs()  # what registered a cleanup still gets it (a local Ray stops)
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        os._exit(code)
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
