"""Rule decision maker: continue, stop, zoom retry and re-reading uncertain OCR lines."""

from lavr.planners.plan import Plan, Step
from lavr.planners.roles.rule_decider import RuleDecider
from lavr.tools.evidence import Evidence
from lavr.tools.ocr import REREAD_ZOOM, RETRY_ZOOM


def _ev(sid, tool="ocr", value=None, scores=None, boxes=None, args=None, error=None):
    return Evidence.from_record({"step_id": sid, "tool": tool, "value": value,
                                 "scores": scores or [], "boxes": boxes or [],
                                 "args": args or {}, "error": error})


READ = Plan(question="what does it say", intent="read", steps=[Step(id="s1", tool="ocr")],
            answer_step="s1")


def test_continue_while_steps_pending_then_stop_on_budget():
    plan = Plan(question="q", intent="count", steps=[Step(id="s1", tool="detect"),
                                                    Step(id="s2", tool="count", args={"source": "s1"})])
    d = RuleDecider().decide(plan, [_ev("s1", "detect")], budget_left=3)
    assert d.action == "continue" and "s2" in d.reason
    d = RuleDecider().decide(plan, [_ev("s1", "detect")], budget_left=0)
    assert d.action == "stop" and "budget" in d.reason


def test_nothing_read_retries_with_zoom_once():
    d = RuleDecider().decide(READ, [_ev("s1", value=[])], budget_left=5)
    assert d.action == "more" and d.new_steps[0].args == {"zoom": RETRY_ZOOM}
    plan2 = READ.model_copy(update={"steps": READ.steps + d.new_steps})
    d2 = RuleDecider().decide(plan2, [_ev("s1", value=[]), _ev("s2", value=[],
                                                               args={"zoom": RETRY_ZOOM})], budget_left=4)
    assert d2.action == "stop"


def test_uncertain_lines_are_reread_zoomed_within_budget():
    ev = [_ev("s1", value=["QPEN", "fine", "x1", "x2"], scores=[0.6, 0.95, 0.3, 0.2],
              boxes=[[10, 10, 50, 30], [10, 40, 50, 60], [0, 70, 20, 80], [0, 90, 20, 99]])]
    d = RuleDecider().decide(READ, ev, budget_left=2)
    assert d.action == "more" and len(d.new_steps) == 2
    first = d.new_steps[0]
    assert first.id == "s2" and d.new_steps[1].id == "s3"
    assert first.args["zoom"] == REREAD_ZOOM
    x1, y1, x2, y2 = first.args["region"]
    assert x1 <= 10 and y1 <= 10 and x2 >= 50 and y2 >= 30
    d = RuleDecider().decide(READ, ev, budget_left=0)
    assert d.action == "stop"


def test_confident_reading_stops():
    ev = [_ev("s1", value=["STOP"], scores=[0.99], boxes=[[0, 0, 10, 10]])]
    assert RuleDecider().decide(READ, ev, budget_left=5).action == "stop"
