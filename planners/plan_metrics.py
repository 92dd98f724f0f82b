"""Plan accuracy: does a plan compute the same thing as a gold plan?

Two plans *match* when they have the same intent and the same **signature**:
the expression that computes the answer step, with

- step ids replaced by the expressions of the steps they name (so ids,
  step order, ``why`` texts and steps the answer does not use do not matter);
- arguments validated by the tool's ``Args`` model and compared without
  defaults (``{"zoom": 1.0}`` equals ``{}``);
- execution choices dropped (``detector``, ``min_confidence``, ``method``);
- labels canonical and sorted (``"Circles"`` → ``circle``);
- colours lower-cased, ``gray`` → ``grey``;
- a ``label`` argument (``filter``'s) that its input was already restricted to
  dropped (after ``detect(labels=[circle])``, ``filter(label=circle)`` removes nothing).

Anything else that differs counts as a mismatch, even when the other plan
might give the same answer (``filter`` by colour without a ``colour`` step,
say). So plan accuracy is a lower bound on "the plan is fit for the question".
"""

from __future__ import annotations

import json
from typing import Any

from lavr.planners.plan import Plan, plan_problems
from lavr.tools.errors import ToolError
from lavr.tools.labels import canonical_label
from lavr.tools.registry import ToolRegistry
from lavr.tools.vocab import colour_name

#: Arguments that choose how, not what: left out of signatures.
EXECUTION_ARGS = frozenset({"detector", "min_confidence", "method"})


def _norm_value(key: str, value: Any) -> Any:
    if key in ("labels", "label"):
        if isinstance(value, list):
            return sorted({canonical_label(str(v)) for v in value})
        return canonical_label(str(value)) if value is not None else None
    if key == "colour" and isinstance(value, str):
        return colour_name(value)
    return value


def plan_signature(plan: Plan, registry: ToolRegistry, step_id: str | None = None) -> str | None:
    """The canonical expression behind ``step_id`` (default: the answer step).

    Returns:
        E.g. ``count(source=filter(colour=red, source=colour(source=detect(labels=[circle]))))``,
        or None when the plan is invalid or has no answer step.
    """
    if plan_problems(plan, registry):
        return None
    target = step_id or plan.answer_step or (plan.steps[-1].id if plan.steps else None)
    steps = {s.id: s for s in plan.steps}
    if target is None or target not in steps:
        return None
    memo: dict[str, tuple[str, frozenset[str] | None]] = {}

    def expr(sid: str) -> tuple[str, frozenset[str] | None]:
        """(expression, the label set its objects are restricted to, if known)."""
        if sid in memo:
            return memo[sid]
        step = steps[sid]
        tool = registry.get(step.tool)
        try:
            args = registry.parse_args(step.tool, step.args)
        except ToolError:  # pragma: no cover - plan_problems ran first
            return "?", None
        data = args.model_dump(mode="json", exclude_defaults=True)
        labels: frozenset[str] | None = None
        parts: dict[str, str] = {}
        for key, value in data.items():
            if key in EXECUTION_ARGS or value is None:
                continue
            if key in tool.refs:
                refs = value if isinstance(value, list) else [value]
                subs = [expr(r) for r in refs]
                if key in ("source",) and subs:
                    labels = subs[0][1]
                shown = [s for s, _ in subs]
                parts[key] = shown[0] if not isinstance(value, list) else "[" + ", ".join(shown) + "]"
                continue
            norm = _norm_value(key, value)
            if key == "labels" and isinstance(norm, list):
                labels = frozenset(norm) if norm else None
            parts[key] = json.dumps(norm, sort_keys=True, separators=(",", ":")) \
                if not isinstance(norm, str) else norm
        if "label" in parts:
            if labels is not None and labels == {parts["label"]}:
                del parts["label"]  # the input holds only that label already
            else:
                labels = frozenset({parts["label"]})
        text = f"{step.tool}(" + ", ".join(f"{k}={parts[k]}" for k in sorted(parts)) + ")"
        memo[sid] = (text, labels)
        return memo[sid]

    return expr(target)[0]


def plans_match(plan: Plan, gold: Plan, registry: ToolRegistry) -> bool:
    """Whether ``plan`` has ``gold``'s intent and signature (see the module docstring)."""
    sig = plan_signature(plan, registry)
    return sig is not None and plan.intent == gold.intent and \
        sig == plan_signature(gold, registry)
