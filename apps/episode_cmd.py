"""What ``lavr gui``, ``lavr embodied`` and the demo's episode panel share: checked seeds and
counts, the controller (the rules, or a model choosing among their candidates) and the
per-episode HTML reports (their folder checked before any episode runs)."""

from __future__ import annotations

import argparse
import math
import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lavr.core_model.errors import InputError

if TYPE_CHECKING:
    from lavr.episodes.controller import RuleController
    from lavr.episodes.loop import Episode, Policy

#: Largest episode seed (the environments' generators take 32-bit seeds).
MAX_SEED = 2**32 - 1


def check_seed(value: object, *, name: str = "--seed") -> int:
    """``value`` as an episode seed: a whole number from 0 to :data:`MAX_SEED`.

    Takes an int, a float holding a whole number (a form's number field) or a string of
    digits.

    Raises:
        InputError: Anything else, named with what would work.
    """
    seed: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        seed = value
    elif isinstance(value, float) and math.isfinite(value) and value.is_integer():
        seed = int(value)
    elif isinstance(value, str) and re.fullmatch(r"[+-]?[0-9]+", value.strip()):
        seed = int(value.strip())
    if seed is None or not 0 <= seed <= MAX_SEED:
        shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
        raise InputError(f"{name} must be a whole number from 0 to {MAX_SEED}, got {shown}")
    return seed


def check_run_args(args: argparse.Namespace) -> None:
    """Refuse a bad ``--episodes``, ``--max-steps`` (when given) or ``--seed`` in one line,
    before anything loads.

    Raises:
        InputError: The first bad value.
    """
    if args.episodes < 1:
        raise InputError(f"--episodes must be >= 1, got {args.episodes}")
    if args.max_steps is not None and args.max_steps < 1:
        raise InputError(f"--max-steps must be >= 1, got {args.max_steps}")
    seed = check_seed(args.seed)
    if seed + args.episodes - 1 > MAX_SEED:
        raise InputError(f"--seed {seed} with --episodes {args.episodes} runs past the largest "
                         f"seed, {MAX_SEED}")


def controller(spec: str | None, rules: Policy, *, actions: Sequence[str],
               model_rules: Callable[[Any], RuleController] | None = None,
               options: dict[str, Any] | None = None) -> Policy:
    """The rule policy ``rules``, or a model controller over it when ``spec`` (``--model``)
    names a model (``rule`` names none).

    Args:
        spec: The ``--model`` value.
        rules: The rule policy (it acts alone, and stands by under a model).
        actions: The action words the model may answer with.
        model_rules: Adapts ``rules`` to the model controller's fallback (None: as is).
        options: Backend options for the model (``--model-option``).
    """
    from lavr.core_model.backends import load_model

    model = load_model(spec, **(options or {})) if spec else None
    if model is None:
        return rules
    from lavr.episodes.controller import ModelController

    fallback = model_rules(rules) if model_rules is not None else rules
    return ModelController(model, fallback, actions=actions)  # type: ignore[arg-type]


def report_dir(path: str | None, *, flag: str = "--save-html") -> Path | None:
    """An output folder (``--save-html``, ``--trace-dir``), created and checked writable
    before any episode runs (a bad folder loses no work); None when not asked for.

    Raises:
        InputError: It is a file, or cannot be created or written.
    """
    if not path:
        return None
    folder = Path(path)
    if folder.exists() and not folder.is_dir():
        raise InputError(f"{flag}: {folder} is a file, not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"{flag}: cannot create {folder}: {exc.strerror}") from exc
    if not os.access(folder, os.W_OK):
        raise InputError(f"{flag}: cannot write to {folder}")
    return folder


def report_saver(folder: Path | None, name: str, seed: int, *, scale: int = 4
                 ) -> Callable[[int, Episode], None] | None:
    """The ``on_episode`` callback writing episode ``i``'s report to
    ``folder/NAME-SEED.html`` (seed ``seed + i``); None when ``folder`` is None."""
    if folder is None:
        return None

    def save(i: int, episode: Episode) -> None:
        episode.save_html(folder / f"{name}-{seed + i}.html", title=f"{name}, seed {seed + i}",
                          scale=scale)
    return save
