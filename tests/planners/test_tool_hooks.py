"""A tool registered by a user brings its own knowledge to the rule roles and the CoT tree:
its sub-question, its follow-up, its reading and what it found — no role names it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from lavr.planners.cot import build_tree, sub_question
from lavr.planners.plan import Plan, Step
from lavr.planners.roles.rule_decider import RuleDecider
from lavr.planners.roles.rule_refiner import refine_reply
from lavr.tools import base
from lavr.tools.base import ArtifactStore, Tool, ToolArgs, ToolResult
from lavr.tools.evidence import Evidence
from lavr.tools.registry import ToolRegistry, default_registry


class BrailleArgs(ToolArgs):
    dots: int = 1


class BrailleTool(Tool):
    """A made-up reader: reads braille, asks for a second pass with more dots when unsure."""

    name: ClassVar[str] = "braille"
    description: ClassVar[str] = "Read braille."
    Args: ClassVar[type[ToolArgs]] = BrailleArgs
    answers: ClassVar[frozenset[str]] = frozenset({"read"})

    def run(self, args: ToolArgs, ctx: base.ToolContext) -> ToolResult:  # pragma: no cover
        return ToolResult(summary="braille: nothing")

    def sub_question(self, args: Mapping[str, Any], *, target: str) -> str:
        return f"What do the {args.get('dots', 1)}-dot cells spell?"

    def follow_up(self, evidence: Sequence[Evidence], *, budget_left: int) -> base.FollowUp | None:
        if any(e.arg("dots") == 2 for e in evidence):
            return None
        return base.FollowUp("braille unsure; reading with two dots", [
            base.NewStep(self.name, {"dots": 2}, "a second pass")])

    def found(self, evidence: Evidence, artifacts: ArtifactStore) -> str | None:
        return f"braille saying {evidence.value}" if evidence.value else None

    def reading(self, evidence: Sequence[Evidence]) -> base.Reading | None:
        good = [e for e in evidence if e.ok and e.value]
        return base.Reading([str(good[-1].value)], None, [good[-1].step_id]) if good else None


def _registry() -> ToolRegistry:
    reg = ToolRegistry([t for t in default_registry().tools() if t.name != "ocr"])
    reg.register(BrailleTool())
    return reg


def _plan(intent: str, *steps: Step) -> Plan:
    return Plan(question="What does it say?", intent=intent, steps=list(steps),
                answer_step=steps[-1].id, planner="test")


def _read(sid: str, dots: int, value: str) -> Evidence:
    return Evidence.success(sid, "braille", {"dots": dots},
                            ToolResult(summary=f"braille: {value}", value=value))


def test_the_decider_takes_the_follow_up_the_tool_offers() -> None:
    plan = _plan("read", Step(id="s1", tool="braille", args={}))
    decision = RuleDecider(_registry()).decide(plan, [_read("s1", 1, "hi")], budget_left=3)
    assert decision.action == "more"
    assert decision.reason == "braille unsure; reading with two dots"
    assert [(s.id, s.tool, s.args) for s in decision.new_steps] == [("s2", "braille", {"dots": 2})]
    done = plan.model_copy(update={"steps": plan.steps + decision.new_steps})
    again = RuleDecider(_registry()).decide(done, [_read("s1", 1, "hi"), _read("s2", 2, "hi")],
                                            budget_left=2)
    assert again.action == "stop"


def test_no_follow_up_when_the_tool_does_not_answer_the_intent() -> None:
    plan = _plan("list", Step(id="s1", tool="braille", args={}))
    assert RuleDecider(_registry()).decide(plan, [_read("s1", 1, "hi")],
                                           budget_left=3).action == "stop"


def test_the_refiner_answers_from_the_tools_reading_and_findings() -> None:
    reg = _registry()
    plan = _plan("read", Step(id="s1", tool="braille", args={}),
                 Step(id="s2", tool="braille", args={"dots": 2}))
    reply = refine_reply(plan, [_read("s1", 1, "hl"), _read("s2", 2, "hello")], ArtifactStore(),
                         tools=reg)
    assert reply.plain == 'The text reads "hello".' and reply.cited == ["s2"]
    unknown = _plan("unknown", Step(id="s1", tool="braille", args={}))
    reply = refine_reply(unknown, [_read("s1", 1, "exit")], ArtifactStore(), tools=reg)
    assert "braille saying exit" in reply.plain and reply.cited == ["s1"]


def test_the_tree_asks_the_tools_sub_question() -> None:
    reg = _registry()
    step = Step(id="s1", tool="braille", args={"dots": 2})
    plan = _plan("read", step)
    assert sub_question(step, plan, reg) == "What do the 2-dot cells spell?"
    tree = build_tree(plan, [_read("s1", 2, "hi")], tools=reg)
    assert tree.children[0].question == "What do the 2-dot cells spell?"
    # without the tool registered, the step's why (or its name) makes the question
    assert sub_question(step, plan, default_registry()) == "What does braille find?"
