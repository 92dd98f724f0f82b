"""`lavr eval hallucination` and `lavr eval pope`: the benchmarks' own consistency, scoring,
and short runs on the real shapes detector (including the real-POPE adapter on a tiny
POPE-format file written here with synthetic images)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lavr.agents.verify.pipeline import Corrector
from lavr.agents.verify.validate import ExpertValidator
from lavr.apps import eval_hallucination as eh
from lavr.apps import eval_pope as ep
from lavr.apps.cli import build_parser, main
from lavr.apps.synthetic_scenes import render_scene

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from conftest import requires_shapes  # noqa: E402


# -- the benchmark itself (ground truth only, no experts) ---------------------------------------
def test_captions_state_their_facts_and_ground_truth_finds_exactly_the_injected_ones():
    injected = found = 0
    for scene, caption in eh.make_items(30, seed=5):
        text = caption.text.lower()
        assert all(f.phrase.lower() in text for f in caption.facts)
        n_false = sum(1 for f in caption.facts if not f.true)
        assert 1 <= n_false <= 3
        check = eh.ground_truth_check(caption.text, scene)
        assert check["false_claims"] == n_false, (caption.text, check["false"])
        injected += n_false
        found += check["false_claims"]
        clean = eh.make_caption(scene, np.random.default_rng(0), n_hallucinations=0)
        assert eh.ground_truth_check(clean.text, scene)["false_claims"] == 0, clean.text
    assert found == injected


def test_scoring_counts_phrases_and_ignores_inline_boxes():
    scene = render_scene(np.random.default_rng(3), n_objects=3)
    caption = eh.Caption(sentences=["There are two circles and a purple square."],
                         facts=[eh.Fact("count", "two circles"),
                                eh.Fact("absent", "purple square", False, "absent")])
    res = eh.score_item(0, scene, caption, "There are two circles([0.10, 0.20, 0.30, 0.40]).")
    assert res.true_kept == 1 and res.hallucinations == [
        {"type": "absent", "phrase": "purple square", "resolved": True}]
    rep = eh.summarise([res], n=1, seed=0, seconds=1.0)
    assert rep["removed_or_fixed_rate"] == 1.0 and rep["true_kept_rate"] == 1.0
    assert "CHAIR_i" in eh.format_report(rep)


@requires_shapes
def test_short_run_on_real_experts_meets_the_targets(shared_agent):
    corrector = Corrector(validator=ExpertValidator(experts=shared_agent.context.experts))
    items: list[dict] = []
    rep = eh.evaluate_hallucination(6, seed=3, corrector=corrector, progress=False,
                                    items_out=items)
    assert rep["injected"] >= 6 and len(items) == 6
    assert rep["removed_or_fixed_rate"] >= 0.9
    assert rep["true_kept_rate"] >= 0.9
    assert rep["after"]["chair_i"] <= rep["before"]["chair_i"]
    assert rep["after"]["false_claims"] < rep["before"]["false_claims"]


def test_eval_suites_are_registered():
    args = build_parser().parse_args(["eval", "hallucination", "--n", "3", "--seed", "2"])
    assert args.eval_func is eh.run and args.n == 3
    args = build_parser().parse_args(["eval", "pope", "--n", "2"])
    assert args.eval_func is ep.run


# -- POPE ----------------------------------------------------------------------------------------
def test_pope_sampling_and_metrics():
    scenes, items = ep.build_synthetic(8, seed=2)
    for it in items:
        present = {f"{o.colour} {o.shape}" for o in scenes[int(it.image)].objects}
        assert (it.obj in present) == (it.label == "yes")
    for setting in ep.SETTINGS:
        sel = [it for it in items if it.setting == setting]
        assert sum(it.label == "yes" for it in sel) == sum(it.label == "no" for it in sel)
    for it in (it for it in items if it.setting == "adversarial" and it.label == "no"):
        present = [f"{o.colour} {o.shape}" for o in scenes[int(it.image)].objects]
        colour, shape = it.obj.split()
        assert any(p.startswith(colour + " ") or p.endswith(" " + shape) for p in present)
    m = ep.metrics(["yes", "yes", "no", "no"], ["yes", "no", "yes", "no"])
    assert m == {"n": 4, "accuracy": 0.5, "precision": 0.5, "recall": 0.5, "f1": 0.5,
                 "yes_ratio": 0.5}
    assert ep.parse_yes_no("No, there is no cat.") == "no"
    assert ep.parse_yes_no("There is not a cat.") == "no"
    assert ep.parse_yes_no("I see a cat.") == "yes"


@pytest.fixture(scope="module")
def fake_pope(tmp_path_factory):
    """COCO-style image names and a POPE question file, with synthetic scenes as the images."""
    root = tmp_path_factory.mktemp("pope")
    images = root / "val2014"
    images.mkdir()
    questions, answers, qid = [], [], 0
    for i in range(3):
        scene = render_scene(np.random.default_rng([i, 99]), n_objects=3, allow_overlap=False,
                             background="plain")
        name = f"COCO_val2014_{i:012d}.jpg"
        Image.fromarray(scene.image).save(images / name, quality=95)
        present = {f"{o.colour} {o.shape}" for o in scene.objects}
        absent = next(c for c in ep.CATEGORIES if c not in present)
        for obj, label in ((sorted(present)[0], "yes"), (absent, "no")):
            qid += 1
            questions.append({"question_id": qid, "image": name,
                              "text": ep.question_for(obj), "label": label})
            # another "model" that hallucinates: yes to everything
            answers.append({"question_id": qid, "text": f"Yes, there is a {obj} in the image."})
    qfile = root / "coco_pope_adversarial.json"
    qfile.write_text("\n".join(json.dumps(q) for q in questions) + "\n")
    afile = root / "answers.jsonl"
    afile.write_text("\n".join(json.dumps(a) for a in answers) + "\n")
    return qfile, images, afile


@requires_shapes
def test_real_pope_adapter_on_a_tiny_local_file(fake_pope, capsys):
    qfile, images, afile = fake_pope
    code = main(["eval", "pope", "--pope-file", str(qfile), "--images", str(images),
                 "--answers", str(afile), "--json"])
    rep = json.loads(capsys.readouterr().out)
    assert code == 0 and rep["mode"] == "real" and rep["questions"] == 6
    rows = {(r["answerer"], r["corrected"]): r for r in rep["rows"]}
    assert {r["setting"] for r in rep["rows"]} == {"adversarial"}
    assert rows[("answers", False)]["yes_ratio"] == 1.0
    assert rows[("answers", False)]["accuracy"] == 0.5
    assert rows[("answers", True)]["accuracy"] == 1.0  # every hallucinated yes was flipped
    assert rows[("lavr", False)]["accuracy"] == 1.0
    assert rep["flipped"]["answers"] == 3


def test_real_pope_reports_missing_images(fake_pope, tmp_path, capsys):
    qfile, _, _ = fake_pope
    empty = tmp_path / "empty"
    empty.mkdir()
    code = main(["eval", "pope", "--pope-file", str(qfile), "--images", str(empty)])
    err = capsys.readouterr().err
    assert code == 2 and "missing" in err and "COCO_val2014_000000000000.jpg" in err


@requires_shapes
def test_a_models_own_captions_are_scored_by_their_claims(shared_agent):
    from lavr.core_model.scripted import ScriptedModel

    scene, _ = eh.make_items(1, seed=1)[0]
    from lavr.apps.synthetic_scenes import COLOURS, SHAPES

    present = {(o.colour, o.shape) for o in scene.objects}
    absent = next((c, s) for c in COLOURS for s in SHAPES if (c, s) not in present)
    first = scene.objects[0]
    # one true object and one that is not there
    model = ScriptedModel({"caption": [f"I see a {first.colour} {first.shape} and a "
                                       f"{absent[0]} {absent[1]}."]}, repeat_last=True)
    corrector = Corrector(validator=ExpertValidator(experts=shared_agent.context.experts))
    rep = eh.evaluate_hallucination(1, seed=1, corrector=corrector, progress=False,
                                    captioner=model)
    assert model.requests[0].messages[0].text == eh.CAPTION_PROMPT
    assert rep["captioner"] == "scripted" and rep["injected"] == 0
    assert rep["before"]["false_claims"] >= 1 and rep["true_claims"]["before"] >= 1
    assert rep["after"]["false_claims"] < rep["before"]["false_claims"]
    assert "own captions" in eh.format_report(rep)
