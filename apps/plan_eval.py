"""Planner evaluation: plan validity and plan accuracy against gold plans.

Gold plans are written here from the synthetic suite's question templates
(``lavr eval synthetic``), independently of the rule planner, so the rule
planner is measured too. Matching is :func:`lavr.planners.plan_metrics.plans_match`.

- **validity**: the planner produced a plan that passed validation within its
  re-asks (for an LLM planner: no fallback to the rule planner);
- **first-try validity**: valid on the first reply;
- **accuracy**: the planner's *own* plan matches the gold plan (a fallback
  counts as wrong).
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from lavr.core_model.errors import LavrError
from lavr.core_model.structured import Attempt
from lavr.planners.demos.select import IclOptions
from lavr.planners.plan import Plan, Step, plan_problems
from lavr.planners.plan_metrics import plan_signature, plans_match
from lavr.planners.reasoning import ReasoningSetup
from lavr.planners.roles.protocols import Planner, SimplePlanner, as_planner
from lavr.tools.registry import ToolRegistry

if TYPE_CHECKING:
    from lavr.tools.trace import TraceEvent

TEMPLATES: list[tuple[str, re.Pattern[str]]] = [
    ("count_colour", re.compile(r"^how many (?P<c>[a-z]+) (?P<s>[a-z]+)s are there\?$")),
    ("count", re.compile(r"^how many (?P<s>[a-z]+)s are there\?$")),
    ("exists", re.compile(r"^is there an? (?P<c>[a-z]+) (?P<s>[a-z]+)\?$")),
    ("colour_largest", re.compile(r"^what colou?r is the largest shape\?$")),
    ("colour", re.compile(r"^what colou?r is the (?P<s>[a-z]+)\?$")),
    ("spatial", re.compile(r"^is the (?P<c1>[a-z]+) (?P<s1>[a-z]+) (?P<rel>left of|right of|above|"
                           r"below) the (?P<c2>[a-z]+) (?P<s2>[a-z]+)\?$")),
    ("read", re.compile(r"^what does the sign say\?$")),
]
_RELATIONS = {"left of": "left_of", "right of": "right_of", "above": "above", "below": "below"}


def _steps(*calls: tuple[str, dict[str, Any]]) -> list[Step]:
    return [Step(id=f"s{i}", tool=t, args=a) for i, (t, a) in enumerate(calls, start=1)]


def gold_plan(question: str) -> Plan | None:
    """The gold plan for a synthetic-suite question, or None for other questions."""
    q = " ".join(question.lower().split())
    for kind, pattern in TEMPLATES:
        m = pattern.match(q)
        if m is None:
            continue
        g = m.groupdict()
        if kind == "count":
            steps = _steps(("detect", {"labels": [g["s"]]}), ("count", {"source": "s1"}))
            intent = "count"
        elif kind in ("count_colour", "exists"):
            steps = _steps(("detect", {"labels": [g["s"]]}), ("colour", {"source": "s1"}),
                           ("filter", {"source": "s2", "colour": g["c"]}),
                           ("count", {"source": "s3"}))
            intent = "count" if kind == "count_colour" else "exists"
        elif kind == "colour":
            steps = _steps(("detect", {"labels": [g["s"]]}), ("colour", {"source": "s1"}))
            intent = "colour"
        elif kind == "colour_largest":
            steps = _steps(("detect", {"labels": []}), ("colour", {"source": "s1"}),
                           ("select", {"source": "s2", "which": "largest"}))
            intent = "colour"
        elif kind == "spatial":
            labels = list(dict.fromkeys([g["s1"], g["s2"]]))
            steps = _steps(("detect", {"labels": labels}), ("colour", {"source": "s1"}),
                           ("filter", {"source": "s2", "label": g["s1"], "colour": g["c1"]}),
                           ("filter", {"source": "s2", "label": g["s2"], "colour": g["c2"]}),
                           ("relation", {"a": "s3", "b": "s4", "relation": _RELATIONS[g["rel"]]}))
            intent = "relation"
        else:
            steps = _steps(("ocr", {}))
            intent = "read"
        return Plan(question=question, intent=intent, steps=steps, answer_step=steps[-1].id,
                    planner="gold")
    return None


@dataclass
class PlanScore:
    """One question's planning outcome."""

    question: str
    qtype: str
    valid: bool
    first_try: bool
    accurate: bool
    seconds: float
    signature: str | None = None
    gold: str | None = None
    error: str | None = None


@dataclass
class PlanReport:
    """Planner evaluation over many questions."""

    planner: str
    scores: list[PlanScore] = field(default_factory=list)

    def rate(self, attr: str, qtype: str | None = None) -> float:
        rows = [s for s in self.scores if qtype is None or s.qtype == qtype]
        return sum(bool(getattr(s, attr)) for s in rows) / max(len(rows), 1)

    def to_dict(self) -> dict[str, Any]:
        """Rates overall and per question type, and the mean seconds per plan."""
        types = sorted({s.qtype for s in self.scores})
        return {
            "planner": self.planner, "n": len(self.scores),
            "validity": self.rate("valid"), "first_try_validity": self.rate("first_try"),
            "accuracy": self.rate("accurate"),
            "seconds_per_plan": round(sum(s.seconds for s in self.scores)
                                      / max(len(self.scores), 1), 3),
            "per_type": {t: {"n": sum(1 for s in self.scores if s.qtype == t),
                             "validity": self.rate("valid", t),
                             "accuracy": self.rate("accurate", t)} for t in types},
        }


def score_plan(question: str, qtype: str, plan: Plan | None, registry: ToolRegistry, *,
               first_try: bool, seconds: float, error: str | None = None) -> PlanScore:
    """Score a planner's own plan (None when it produced no valid plan)."""
    gold = gold_plan(question)
    valid = plan is not None and not plan_problems(plan, registry)
    sig = plan_signature(plan, registry) if plan is not None else None
    return PlanScore(question, qtype, valid, first_try and valid,
                     valid and gold is not None and plans_match(plan, gold, registry),
                     round(seconds, 3), sig,
                     plan_signature(gold, registry) if gold is not None else None, error)


def evaluate_planner(planner: Planner | SimplePlanner, questions: Sequence[tuple[str, str]],
                     registry: ToolRegistry, *, images: Sequence[np.ndarray] | None = None,
                     progress: Any = None, reasoning: ReasoningSetup | None = None
                     ) -> PlanReport:
    """Plan each ``(question, qtype)`` and score validity and accuracy.

    Args:
        planner: A :class:`Planner` (its model attempts give first-try validity), or
            anything with ``plan(question) -> Plan``.
        questions: ``(question, question type)`` pairs.
        registry: The tools plans may use.
        images: One ``HxWx3 uint8`` image per question, given to planners whose
            ``sees_images`` is true.
        progress: Optional callable ``(done, total)`` after each question.
        reasoning: Demo and chain-of-thought defaults (an agent's); None: the defaults
            for this planner (six built-in demos for a model controller). The demos are
            chosen as the agent's ``demos`` node chooses them.
    """
    role = as_planner(planner)
    if reasoning is None:
        reasoning = ReasoningSetup(icl=IclOptions.default_for(reads_demos=role.reads_demos))
    report = PlanReport(role.name)
    for i, (question, qtype) in enumerate(questions, start=1):
        t0 = time.perf_counter()
        plan: Plan | None = None
        error = None
        attempts: list[Attempt] = []
        image = images[i - 1] if role.sees_images and images is not None else None
        try:
            icl = reasoning.planner_prompt(role, question, image)
            plan = role.plan(question, image=image, icl=icl, attempts=attempts)
        except LavrError as exc:
            error = str(exc)
        first_try = not attempts or attempts[0].error is None
        report.scores.append(score_plan(question, qtype, plan, registry, first_try=first_try,
                                        seconds=time.perf_counter() - t0, error=error))
        if progress is not None:
            progress(i, len(questions))
    return report


def format_plan_report(report: dict[str, Any]) -> str:
    """A plain-text table of :meth:`PlanReport.to_dict`."""
    lines = [f"planner {report['planner']}: {report['n']} questions, "
             f"{report['seconds_per_plan']} s per plan",
             f"{'type':10} {'n':>4} {'validity':>9} {'accuracy':>9}"]
    for t, v in report["per_type"].items():
        lines.append(f"{t:10} {v['n']:4d} {v['validity']:9.1%} {v['accuracy']:9.1%}")
    lines.append(f"{'overall':10} {report['n']:4d} {report['validity']:9.1%} "
                 f"{report['accuracy']:9.1%}  (first-try validity "
                 f"{report['first_try_validity']:.1%})")
    return "\n".join(lines)


def plan_outcome(result_plan: dict[str, Any], trace: Sequence[TraceEvent],
                 registry: ToolRegistry) -> tuple[Plan | None, bool]:
    """From an agent run: the planner's own plan (None after a rule fallback) and
    whether its first reply was already valid."""
    recs = [r for r in trace if r.node == "plan"]
    fell_back = any("falling back to the rule planner" in r.summary for r in recs)
    attempts = [r for r in recs if r.is_attempt]
    first_try = not attempts or attempts[0].error is None
    if fell_back:
        return None, False
    return Plan.model_validate(result_plan), first_try
