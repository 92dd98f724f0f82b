"""Model options for ``lavr ask`` and ``lavr eval synthetic``, and the ``lavr model`` command.

``--model SPEC`` (``rule``, ``transformers:<id-or-path>``, ``gguf:<path>``,
``gemma``, ``openai:<model>@<base_url>``), ``--roles plan,decide,refine,vqa``,
``--model-option KEY=VALUE`` (repeatable) and ``--config lavr.toml``. Flags win
over the config file; the config wins over built-in defaults.

``lavr model check SPEC [--image PATH]`` sends one message and prints the reply,
so a backend can be tried before a real question; ``lavr model plan SPEC
QUESTION`` prints the plan the model writes (with every re-ask).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import TYPE_CHECKING, Any

from lavr.core_model.config import AgentSettings, LavrConfig, load_config
from lavr.core_model.errors import InputError

if TYPE_CHECKING:
    from lavr.core_model.model import MultimodalModel


def _option(text: str) -> tuple[str, Any]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    try:
        parsed: Any = json.loads(value)
    except ValueError:
        parsed = value
    return key.strip().replace("-", "_"), parsed


def add_model_args(p: argparse.ArgumentParser) -> None:
    """Add ``--model``, ``--roles``, ``--model-option``, ``--model-retries`` and ``--config``."""
    g = p.add_argument_group("model (controller, decision maker, refiner, vqa expert)")
    g.add_argument("--model", default=None, metavar="SPEC",
                   help="rule (default), transformers:<hub-id-or-path>, gguf:<file.gguf>, gemma "
                        "(packaged Gemma 3 270M), lavr-mllm (lavr's own VLM), "
                        "openai:<model>@<base_url>")
    g.add_argument("--roles", default=None, metavar="LIST",
                   help="what the model does: plan,decide,refine,vqa (default all)")
    g.add_argument("--model-option", action="append", type=_option, default=[],
                   metavar="KEY=VALUE",
                   help="backend option, repeatable: timeout=60, max_new_tokens=256, "
                        "dtype=bfloat16, structured=prompt ...")
    g.add_argument("--model-retries", type=int, default=None, metavar="N",
                   help="re-asks after an unusable model reply (default 2)")
    g.add_argument("--config", default=None, metavar="PATH",
                   help="lavr.toml with [model] and [agent] settings (default: $LAVR_CONFIG, "
                        "else ./lavr.toml)")


def resolve_config(args: argparse.Namespace) -> LavrConfig:
    """The config file's settings with the command-line flags applied on top.

    Agent flags (``--detector``, ``--max-steps``, ``--device``) that are still at
    their built-in default take the file's value; ``args`` is updated in place.

    Raises:
        ConfigError: A named config file is missing or invalid.
    """
    cfg = load_config(getattr(args, "config", None))
    defaults = AgentSettings()
    for key in ("detector", "max_steps", "device"):
        if hasattr(args, key) and getattr(args, key) == getattr(defaults, key):
            setattr(args, key, getattr(cfg.agent, key))
    if hasattr(args, "no_verify") and not args.no_verify and not cfg.agent.verify:
        args.no_verify = True
    model = cfg.model.model_copy(deep=True)
    if getattr(args, "model", None) is not None:
        if args.model != model.spec:
            model.options = {}  # the file's options belong to the file's model
        model.spec = args.model
    if getattr(args, "roles", None) is not None:
        from lavr.planners.roles.assign import parse_roles

        model.roles = list(parse_roles(args.roles))  # type: ignore[arg-type]
    model.options.update(dict(getattr(args, "model_option", None) or []))
    if getattr(args, "model_retries", None) is not None:
        if args.model_retries < 0:
            raise InputError(f"--model-retries must be >= 0, got {args.model_retries}")
        model.retries = args.model_retries
    return cfg.model_copy(update={"model": model})


def model_agent_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    """``VisualAgent`` keyword arguments for the model, from flags and the config file."""
    m = resolve_config(args).model
    return {"model": m.spec, "model_roles": m.roles, "model_options": m.options,
            "model_retries": m.retries}


# -- lavr model ------------------------------------------------------------------------
def set_threads(n: int, flag: str = "--threads") -> None:
    """Limit torch's CPU threads (experts share few cores).

    Raises:
        InputError: ``n`` < 1 (one line naming ``flag``).
    """
    from lavr.core_model.errors import InputError

    if n < 1:
        raise InputError(f"{flag} must be >= 1, got {n}")
    try:
        import torch
    except ImportError:
        return
    torch.set_num_threads(n)


def add_parser(sub: Any) -> None:
    """Register ``lavr model check`` and ``lavr model plan``."""
    p = sub.add_parser("model", help="try a model backend: one message, or one plan")
    msub = p.add_subparsers(dest="model_cmd", required=True, parser_class=type(p))
    c = msub.add_parser("check", help="send one message and print the reply")
    c.add_argument("spec", help="model string, e.g. openai:qwen2.5-vl@http://localhost:8000/v1")
    c.add_argument("--image", help="an image to send with the message")
    c.add_argument("--prompt", default=None, help="the message (default: describe the image)")
    c.add_argument("--stream", action="store_true", help="print the reply as it arrives")
    c.add_argument("--model-option", action="append", type=_option, default=[],
                   metavar="KEY=VALUE")
    c.set_defaults(func=cmd_check)
    q = msub.add_parser("plan", help="print the plan the model writes for a question")
    q.add_argument("spec", help="model string")
    q.add_argument("question")
    q.add_argument("--image", help="an image (models that see get it)")
    q.add_argument("--retries", type=int, default=2)
    q.add_argument("--model-option", action="append", type=_option, default=[],
                   metavar="KEY=VALUE")
    q.add_argument("--json", action="store_true")
    q.set_defaults(func=cmd_plan)


def _load(spec: str, options: list[tuple[str, Any]]) -> MultimodalModel:
    from lavr.core_model.backends import load_model

    model = load_model(spec, **dict(options))
    if model is None:
        raise InputError("'rule' is not a model; give a model string such as "
                         "openai:<model>@<base_url>")
    return model


def cmd_check(args: argparse.Namespace) -> int:
    """``lavr model check``: one message through the backend."""
    from lavr.core_model.images import load_image
    from lavr.core_model.messages import ImagePart, Message

    model = _load(args.spec, args.model_option)
    parts: list[Any] = []
    if args.image:
        if not model.sees_images:
            print(f"note: {model.name} is text-only; the image is not sent", file=sys.stderr)
        parts.append(ImagePart(load_image(args.image), "the image"))
    prompt = args.prompt or ("Describe the image in one sentence." if args.image
                             else "Reply with the single word: ready")
    msgs = [Message.user(*parts, prompt)]
    t0 = time.perf_counter()
    if args.stream:
        for piece in model.stream(msgs):
            print(piece, end="", flush=True)
        print()
    else:
        print(model.generate(msgs))
    print(f"({model.name}, {time.perf_counter() - t0:.2f} s)", file=sys.stderr)
    return 0


def cmd_plan(args: argparse.Namespace) -> int:
    """``lavr model plan``: the model's plan for one question, every attempt shown."""
    from lavr.core_model.images import load_image
    from lavr.core_model.structured import Attempt
    from lavr.planners.demos.select import IclOptions
    from lavr.planners.reasoning import ReasoningSetup
    from lavr.planners.roles.llm_planner import LLMPlanner
    from lavr.tools.registry import default_registry

    model = _load(args.spec, args.model_option)
    registry = default_registry()
    exclude = () if model.sees_images else registry.asking_model()
    planner = LLMPlanner(model, registry, retries=args.retries, exclude_tools=exclude)
    image = load_image(args.image) if args.image else None
    plan, error = None, None
    attempts: list[Attempt] = []
    try:
        setup = ReasoningSetup(icl=IclOptions.default_for(reads_demos=True))
        plan = planner.plan(args.question, image=image, attempts=attempts,
                            icl=setup.planner_prompt(planner, args.question, image))
    except Exception as exc:  # noqa: BLE001 - reported below with the attempts
        error = str(exc)
    if args.json:
        print(json.dumps({"plan": plan.model_dump(mode="json") if plan else None,
                          "attempts": [a.record() for a in attempts], "error": error},
                         indent=2))
        return 0 if plan else 2
    for a in attempts:
        print(f"[{a.summary}] ({a.seconds:.2f}s)")
        if a.error:
            print(f"  problems: {a.error}")
        if a.raw:
            print("  reply: " + a.raw.replace("\n", "\n         "))
    if plan is None:
        print(f"no valid plan: {error}")
        return 2
    print(f"plan (intent {plan.intent}, answer {plan.answer_step}):")
    for s in plan.steps:
        print(f"  {s.id} = {s.tool}({json.dumps(s.args)})")
    return 0
