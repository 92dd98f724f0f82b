"""What the model roles share: role prompts, the tool catalog, evidence as prompt text.

Role prompts live beside this file in ``prompts/`` (``plan.md``, ``decide.md``,
``refine.md``) and use ``string.Template`` placeholders (``$tools``,
``$question``...), so the JSON in them needs no escaping. Files are read once
and never modified.
"""

from __future__ import annotations

import json
import re
import string
from collections.abc import Callable, Iterable, Sequence
from functools import cache
from importlib import resources
from typing import Any, TypeVar

from lavr.core_model.messages import Message
from lavr.core_model.model import MultimodalModel
from lavr.core_model.structured import Attempt, Structured
from lavr.core_model.untrusted import data_block, quote
from lavr.planners.plan import Plan
from lavr.tools.evidence import Evidence, by_step
from lavr.tools.registry import ToolRegistry

V = TypeVar("V")

#: Longest evidence summary shown to a model, in characters.
MAX_SUMMARY_CHARS = 300


@cache
def load_prompt(name: str) -> str:
    """The text of ``prompts/<name>`` (e.g. ``plan.md``)."""
    return resources.files("lavr.planners.roles").joinpath("prompts", name).read_text(encoding="utf-8")


def render_prompt(name: str, **values: Any) -> str:
    """``prompts/<name>`` with ``$placeholders`` filled in.

    Raises:
        KeyError: A placeholder has no value (a bug in the caller).
    """
    return string.Template(load_prompt(name)).substitute(
        {k: str(v) for k, v in values.items()}).strip()


def tool_catalog(registry: ToolRegistry, *, exclude: Iterable[str] = (),
                 only: Sequence[str] | None = None) -> str:
    """The tools as prompt text, generated from their argument schemas.

    Args:
        registry: The tools.
        exclude: Tool names to leave out (e.g. ``vqa`` without a model that sees).
        only: When given, just these tools (in the registry's order).
    """
    drop = set(exclude)
    keep = [t for t in registry.tools() if t.name not in drop and (only is None or t.name in only)]
    return ToolRegistry(keep).describe()


def compact_args(args: dict[str, Any]) -> str:
    """``{"source": "s1", "colour": "red"}`` → ``source=s1, colour=red``.

    Strings that are not plain words (a model may copy read text into an
    argument) are JSON-quoted.
    """
    parts = []
    for k, v in args.items():
        plain = isinstance(v, str) and re.fullmatch(r"[\w\-. ]{0,40}", v) is not None
        shown = v if plain else quote(v) if isinstance(v, str) else json.dumps(v, default=str)
        parts.append(f"{k}={shown}")
    return ", ".join(parts)


def _short(text: str, limit: int = MAX_SUMMARY_CHARS) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def format_evidence(plan: Plan, evidence: Sequence[Evidence]) -> str:
    """Evidence records as a data block: untrusted tool output quoted, never instructions.

    Each line: ``s2 colour(source=s1): "<summary>"`` or ``s3 filter(...): ERROR
    "<reason>"`` or ``s4 count(...): NOT RUN ("<reason>")``. Summaries and errors
    (which carry OCR text and other tool output) are JSON-quoted and the lines
    sit inside a block labelled as data (:func:`lavr.core_model.untrusted.data_block`).
    """
    by_id = by_step(evidence)
    lines = []
    for step in plan.steps:
        rec = by_id.get(step.id)
        call = f"{step.id} {step.tool}({compact_args(step.args)})"
        if rec is None:
            lines.append(f"{call}: pending")
        elif rec.skipped:
            lines.append(f"{call}: NOT RUN ({quote(_short(rec.error or 'skipped'))})")
        elif rec.failed:
            lines.append(f"{call}: ERROR {quote(_short(rec.error or ''))}")
        else:
            lines.append(f"{call}: {quote(_short(rec.summary))}")
    return data_block("evidence, one line per step", lines or ["(no evidence yet)"])


def successful_steps(evidence: Sequence[Evidence]) -> list[str]:
    """Ids of steps that ran without error."""
    return [e.step_id for e in evidence if e.ok]


class ModelRole:
    """What the model roles (planner, decider, refiner) share: the model, a per-role token
    cap, the number of re-asks, and one way to ask (:meth:`ask`, built on
    :meth:`MultimodalModel.structured <lavr.core_model.model.MultimodalModel.structured>`).

    Args:
        model: The model.
        retries: Re-asks after an unusable reply (so at most ``retries + 1`` calls).
        max_new_tokens: Generation cap per call.
    """

    def __init__(self, model: MultimodalModel, *, retries: int, max_new_tokens: int) -> None:
        self.model = model
        self.retries = max(int(retries), 0)
        self.max_new_tokens = max_new_tokens

    @property
    def name(self) -> str:
        return self.model.name

    def _max_tokens(self) -> int:
        """This role's cap, lowered to the model's own default when that is smaller."""
        return min(self.max_new_tokens, self.model.default_options.max_new_tokens)

    def ask(self, messages: list[Message], parse: Callable[[str], V], *, what: str,
            reask: Callable[[list[str]], str], attempts: list[Attempt] | None,
            usable: str = "usable", **options: Any) -> Structured[V]:
        """Ask the model until ``parse`` accepts a reply; the attempts go to ``attempts``."""
        reply = self.model.structured(messages, parse, retries=self.retries, reask=reask,
                                      what=what, usable=usable,
                                      max_new_tokens=self._max_tokens(), **options)
        if attempts is not None:
            attempts.extend(reply.attempts)
        return reply
