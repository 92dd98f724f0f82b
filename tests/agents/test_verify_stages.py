"""Stages 3–5 and the pipeline on real expert output: the shapes detector, colour expert and
EasyOCR on a generated scene whose ground truth is exact. Expected texts are written from
that ground truth, never from the experts."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np
import pytest

from lavr.agents.verify.claims import build_claims
from lavr.agents.verify.extract import RuleExtractor
from lavr.agents.verify.pipeline import Corrector
from lavr.agents.verify.questions import formulate
from lavr.agents.verify.text import strip_attachments
from lavr.agents.verify.validate import ExpertValidator
from lavr.apps.synthetic_scenes import COLOURS, render_scene
from lavr.tools.detect import detector_weights, get_detector

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from conftest import requires_shapes  # noqa: E402

pytestmark = requires_shapes
BOX_N = r"\[0\.\d\d, 0\.\d\d, [01]\.\d\d, [01]\.\d\d\]"


@pytest.fixture(scope="module")
def scene():
    # four well-separated shapes (two circles, a square, a triangle) and a printed word
    s = render_scene(np.random.default_rng(1), n_objects=4, allow_overlap=False, text="EXIT",
                     background="plain")
    shapes = sorted(o.shape for o in s.objects)
    assert shapes == ["circle", "circle", "square", "triangle"]
    return s


@pytest.fixture(scope="module")
def corrector(shared_agent):
    return Corrector(validator=ExpertValidator(experts=shared_agent.context.experts))


def one(scene, shape):
    return next(o for o in scene.objects if o.shape == shape)


def centre_x(o) -> float:
    return (o.xyxy[0] + o.xyxy[2]) / 2


def wrong_colour(shape_colour: str) -> str:
    return next(c for c in COLOURS if c != shape_colour)


def absent_circle(scene) -> str:
    """A colour-circle that is not in the scene (the text also mentions the real circles)."""
    have = {o.colour for o in scene.objects if o.shape == "circle"}
    return next(f"{c} circle" for c in COLOURS if c not in have)


def true_relation(scene) -> tuple[str, str]:
    sq, tri = one(scene, "square"), one(scene, "triangle")
    return ("left of", "right of") if centre_x(sq) < centre_x(tri) else ("right of", "left of")


def iou(a, b) -> float:
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def test_validation_answers_agree_with_ground_truth(scene, shared_agent):
    sq, tri = one(scene, "square"), one(scene, "triangle")
    rel, _ = true_relation(scene)
    text = (f'There are two circles. The square is {sq.colour}. The sign says "EXIT". '
            f"The {sq.colour} square is {rel} the {tri.colour} triangle.")
    questions = formulate(RuleExtractor().extract(text))
    answers, kb = ExpertValidator(experts=shared_agent.context.experts).validate(
        scene.image, questions)
    by_kind = {q.kind: a for q, a in zip(questions, answers, strict=True)}
    circles = [o.xyxy for o in scene.objects if o.shape == "circle"]
    count = by_kind["count"]
    assert count.value == 2 and count.source == "detector"
    assert all(max(iou(b, c) for b in count.boxes) > 0.8 for c in circles)
    assert by_kind["attribute"].value == [sq.colour]
    assert by_kind["text"].best == "EXIT" and by_kind["text"].similarity == 1.0
    assert by_kind["relation"].value is True
    tools = {e.step_id: e.tool for e in kb.evidence}
    assert set(tools.values()) >= {"detect", "colour", "ocr"}
    assert all(e in tools for a in answers for e in a.evidence)


def test_claims_on_true_and_false_statements(scene, corrector):
    sq, tri = one(scene, "square"), one(scene, "triangle")
    rel, opposite = true_relation(scene)
    absent = absent_circle(scene)
    true_text = (f'There are two circles. The square is {sq.colour}. The sign reads "EXIT". '
                 f"The {sq.colour} square is {rel} the {tri.colour} triangle.")
    checked = corrector.check(scene.image, true_text)
    assert checked.claims and all(k.verdict == "supported" for k in checked.claims)
    assert {k.kind for k in checked.claims} == {"counting", "specific", "overall"}
    false_text = (f'There are three circles and a {absent}. The square is {wrong_colour(sq.colour)}.'
                  f' The sign reads "STOP". The {sq.colour} square is {opposite} the '
                  f"{tri.colour} triangle.")
    claims = {k.text: k for k in corrector.check(scene.image, false_text).claims}
    assert claims["there are three circles"].fix.count == 2
    assert claims[f"there is {'an' if absent[0] in 'aeiou' else 'a'} {absent}"].fix.remove
    assert claims[f"the square is {wrong_colour(sq.colour)}"].fix.colours == [sq.colour]
    assert claims['the text "STOP" is written in the image'].fix.text == "EXIT"
    rel_claim = next(k for k in claims.values() if k.kind == "overall")
    assert rel_claim.verdict == "refuted" and rel_claim.fix.relation
    for k in claims.values():
        assert k.evidence and all(0.0 <= v <= 1.0 for b in k.boxes_n for v in b)


def test_rule_correction_fixes_removes_and_attaches_boxes(scene, corrector):
    sq, tri = one(scene, "square"), one(scene, "triangle")
    rel, opposite = true_relation(scene)
    absent = absent_circle(scene)
    text = (f"There are three circles and a {absent}. The square is {wrong_colour(sq.colour)}. "
            f'The sign says "STOP". The {sq.colour} square is {opposite} the {tri.colour} '
            f"triangle.")
    out = corrector.correct(scene.image, text)
    assert strip_attachments(out.corrected) == (
        f'There are two circles. The square is {sq.colour}. The sign says "EXIT". '
        f"The {sq.colour} square is {rel} the {tri.colour} triangle.")
    assert re.search(rf"circles\({BOX_N}, {BOX_N}\)", out.corrected)
    assert out.counts["refuted"] == 5 and out.changed
    # the annotated image draws every claim's boxes on a copy of the scene
    assert out.annotated_image().size == (scene.width, scene.height)


def test_lists_lose_only_the_absent_item_and_yes_no_answers_flip(scene, corrector):
    tri = one(scene, "triangle")
    absent = absent_circle(scene)
    out = corrector.correct(scene.image, f"I see two circles, a {absent} and one triangle.")
    assert strip_attachments(out.corrected) == "I see two circles and one triangle."
    out = corrector.correct(scene.image, f"Yes, there is a {absent}. [s1, s3]")
    assert out.corrected == f"No, there is no {absent} in the image. [s1, s3]"
    # a wrong colour on the only mention of an object is fixed, not dropped
    wrong = wrong_colour(tri.colour)
    out = corrector.correct(scene.image, f"There is a {wrong} triangle.")
    article = "an" if tri.colour[0] in "aeiou" else "a"
    assert strip_attachments(out.corrected) == f"There is {article} {tri.colour} triangle."


def test_lavr_style_answers_keep_citations_and_pixel_boxes(scene, corrector):
    boxes = ", ".join("[" + ", ".join(str(int(v)) for v in o.xyxy) + "]"
                      for o in scene.objects if o.shape == "circle")
    answer = f"There are two circles at {boxes}. [s1, s2]"
    assert corrector.correct(scene.image, answer).corrected == answer
    wrong = corrector.correct(scene.image, f"There are three circles at {boxes}. [s1, s2]")
    assert wrong.corrected == answer  # count fixed; no normalised boxes beside pixel ones


@pytest.mark.skipif(detector_weights(get_detector("coco")).present,
                    reason="COCO weights are present: dogs are checkable")
def test_coco_weights_missing_makes_claims_unverifiable_not_a_crash(scene, shared_agent):
    text = "There are two dogs and two circles."
    pool = shared_agent.context.experts
    marked = Corrector(validator=ExpertValidator(experts=pool)).correct(scene.image, text)
    dog = next(k for k in marked.claims if "dog" in k.text)
    assert dog.verdict == "unverifiable" and "yolo11n.pt" in dog.reason
    assert strip_attachments(marked.corrected) == "There are two dogs (unverified) and two circles."
    removed = Corrector(validator=ExpertValidator(experts=pool), policy="remove").correct(
        scene.image, text)
    assert strip_attachments(removed.corrected) == "There are two circles."
    kept = Corrector(validator=ExpertValidator(experts=pool), policy="keep",
                     attach_boxes=False).correct(scene.image, text)
    assert kept.corrected == text


def test_vqa_hook_answers_what_the_detectors_cannot(scene, shared_agent):
    asked = []

    def vqa(image, question):
        asked.append((image.shape, question))
        return "Two." if "How many" in question else "yes"

    validator = ExpertValidator(experts=shared_agent.context.experts, vqa=vqa)
    out = Corrector(validator=validator).correct(scene.image, "There are two dogs.")
    assert [k.verdict for k in out.claims] == ["supported"]
    assert asked == [(scene.image.shape, "How many dogs are there in the image? Answer with a "
                                         "number.")]
    assert any(e.tool == "vqa" for e in out.evidence)


def test_result_json_has_corrected_and_claims(scene, corrector, tmp_path):
    out = corrector.correct(scene.image, "There are five squares.")
    data = out.to_dict()
    assert data["corrected"].startswith("There is one square(")
    claim = data["claims"][0]
    assert {"text", "verdict", "boxes"} <= set(claim) and claim["verdict"] == "refuted"
    path = out.save_annotated(tmp_path / "a.png")
    assert path.stat().st_size > 0


def test_correction_is_idempotent_on_ground_truth_knowledge():
    from lavr.agents.verify.correct import RuleCorrector
    from lavr.agents.verify.validate import answer_questions, knowledge_from_objects

    kb = knowledge_from_objects([("circle", "red", (10, 10, 50, 50)),
                                 ("circle", "green", (200, 10, 240, 50)),
                                 ("square", "blue", (100, 100, 150, 150))],
                                [("EXIT", (5, 200, 60, 220))], image_size=(320, 320))

    def fix(text: str) -> str:
        concepts = RuleExtractor().extract(text)
        questions = formulate(concepts)
        claims = build_claims(concepts, questions, answer_questions(questions, kb),
                              image_size=(320, 320))
        return RuleCorrector().correct(text, concepts, claims)

    once = fix('There are three circles. The square is red. The sign says "STOP". '
               "The red circle is right of the green circle.")
    assert strip_attachments(once) == ('There are two circles. The square is blue. The sign says '
                                       '"EXIT". The red circle is left of the green circle.')
    assert fix(once) == once


def test_one_validator_looks_at_an_image_once_for_several_texts(scene, shared_agent, monkeypatch):
    """Both answer styles (or a rewrite checked again) share what the experts saw."""
    validator = ExpertValidator(experts=shared_agent.context.experts)
    corrector = Corrector(validator=validator)
    runs = []
    real = validator.gather
    monkeypatch.setattr(validator, "gather", lambda *a, **k: runs.append(1) or real(*a, **k))
    plain = corrector.correct(scene.image, "There are two circles.")
    grounded = corrector.correct(scene.image, "There are two circles [s1, s2].")
    assert len(runs) == 1
    assert [k.verdict for k in plain.claims] == [k.verdict for k in grounded.claims]
    corrector.correct(scene.image.copy(), "There are two circles.")  # another image object
    assert len(runs) == 2


def test_the_stages_run_as_the_verification_subgraph(scene, shared_agent):
    """Every check is the compiled subgraph: the six stages in order; a re-check stops after
    ``claims``; a second text on the same image recalls what the experts saw (no tool step)."""
    from lavr.agents.verify.subgraph import CHECK_GRAPH, CheckContext

    stages = ["extract", "questions", "plan", "tools", "claims", "correct"]
    assert [n for n in CHECK_GRAPH.get_graph().nodes if not n.startswith("__")] == stages
    validator = ExpertValidator(experts=shared_agent.context.experts)
    corrector = Corrector(validator=validator)
    ctx = CheckContext(corrector, scene.image, corrector.extractor)

    def run(text, fix):
        updates = list(CHECK_GRAPH.stream({"text": text, "answer": text, "fix": fix, "notes": []},
                                          context=ctx, stream_mode="updates"))
        return [name for u in updates for name in u], {k: v for u in updates
                                                      for d in u.values() for k, v in d.items()}

    order, out = run("There are three circles.", True)
    assert order == stages
    assert out["plan"] is not None and validator.ran
    assert out["corrected"] == corrector.correct(scene.image, "There are three circles.").corrected
    ran = len(validator.ran)
    order, out = run("There are two circles.", False)
    assert order == stages[:5]
    assert out["plan"] is None and len(validator.ran) == ran  # recalled, nothing run again
    assert [k.verdict for k in out["claims"]] == ["supported"]
    # walked in plain Python (the main graph's plain runner): the same stages, the same result
    from lavr.agents.verify.subgraph import walk

    for text, fix in (("There are three circles.", True), ("There are two squares.", False)):
        _, streamed = run(text, fix)
        walked = walk({"text": text, "answer": text, "fix": fix, "notes": []}, ctx)
        assert walked.get("corrected") == streamed.get("corrected")
        assert [k.public() for k in walked["claims"]] == [k.public() for k in streamed["claims"]]


def test_the_verify_node_runs_the_subgraph_under_either_runner(scene, shared_agent, monkeypatch):
    """``run`` (plain runner) walks the subgraph; ``stream`` (LangGraph) invokes it as a
    subgraph of the run; the answer and the verify record are the same."""
    import lavr.agents.verify.subgraph as sg

    invoked = []
    real = sg.CHECK_GRAPH.invoke
    monkeypatch.setattr(sg.CHECK_GRAPH, "invoke", lambda *a, **k: invoked.append(1) or real(*a, **k))
    question = "How many red circles are there?"
    direct = shared_agent.run(scene.image, question)
    assert not invoked
    streamed = [e for e in shared_agent.stream(scene.image, question) if hasattr(e, "steps")][-1]
    assert invoked

    def verify_record(res):  # the second run finds more in the result cache
        recs = [{k: v for k, v in s.to_dict().items() if k != "seconds"}
                for s in res.steps if s.node == "verify"]
        for rec in recs:
            rec["steps"] = [{k: v for k, v in st.items() if k != "cached"} for st in rec["steps"]]
        return recs
    assert streamed.answer == direct.answer
    assert verify_record(streamed) == verify_record(direct) and verify_record(direct)[0]["claims"]


def test_the_subgraph_runs_under_a_checkpointed_run(scene):
    """A checkpointed run (durability "sync") invokes the subgraph, which has no checkpointer
    of its own: the answer is checked, not left unchecked."""
    from langgraph.checkpoint.memory import InMemorySaver

    from lavr.agents import VisualAgent

    agent = VisualAgent(checkpointer=InMemorySaver())
    res = agent.run(scene.image, "How many circles are there?", thread_id="t1")
    rec = next(s.to_dict() for s in res.steps if s.node == "verify")
    assert rec["error"] is None and rec["claims"], rec
    assert rec["summary"].startswith("1 claim(s): 1 supported")
