"""Expert choice on photos: the shapes detector never describes a natural image; text
questions go to OCR; a missing detector gets an answer a person can act on."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageFilter

from lavr.apps.synthetic_scenes import render_scene
from lavr.planners.roles.rule_planner import RulePlanner
from lavr.tools import detect
from lavr.tools.base import ExpertPool
from tests.conftest import REPO, requires_shapes


def natural_texture(seed: int, size: tuple[int, int] = (320, 240)) -> np.ndarray:
    """A photo-like image: multi-octave colour noise, tinted, grained and slightly blurred."""
    rng = np.random.default_rng(seed)
    w, h = size
    img = np.zeros((h, w, 3), np.float32)
    for octave in range(1, 7):
        small = rng.normal(size=(max(2, h >> (7 - octave)), max(2, w >> (7 - octave)), 3))
        small = ((small - small.min()) / (np.ptp(small) + 1e-9) * 255).astype(np.uint8)
        layer = np.asarray(Image.fromarray(small).resize((w, h), Image.Resampling.BICUBIC))
        img += layer.astype(np.float32) / (2 ** (octave * 0.7))
    img = (img - img.min()) / np.ptp(img) * rng.uniform(0.4, 1.0, 3) * 255
    img = np.clip(img + rng.normal(0, 6, img.shape), 0, 255).astype(np.uint8)
    return np.asarray(Image.fromarray(img).filter(ImageFilter.GaussianBlur(0.8)))


@pytest.fixture(scope="module")
def pool() -> ExpertPool:
    return ExpertPool()


@requires_shapes
def test_shapes_detector_reports_nothing_on_natural_textures(pool):
    images = [natural_texture(seed) for seed in range(500, 506)]
    found = detect.detect_batch(images, detector="shapes", experts=pool, device="cpu")
    assert [len(d) for d in found] == [0] * len(images)


@requires_shapes
def test_shapes_detector_still_sees_generated_scenes(pool):
    rng = np.random.default_rng(2024)
    scenes = [render_scene(rng) for _ in range(12)]
    found = detect.detect_batch([s.image for s in scenes], detector="shapes", experts=pool,
                                device="cpu")
    assert sum(len(d) for d in found) >= 0.9 * sum(len(s.objects) for s in scenes)
    assert all(len(d) for d in found)


@requires_shapes
@pytest.mark.parametrize("name", ["shapes_1.png", "shapes_2.png", "sign.png"])
def test_the_shipped_examples_are_still_described(name, pool):
    image = np.asarray(Image.open(REPO / "examples" / name).convert("RGB"))
    (dets,) = detect.detect_batch([image], detector="shapes", experts=pool, device="cpu")
    assert len(dets) >= 1


@pytest.mark.parametrize("question", ["Is there any text?", "Is there text on the sign?",
                                      "Does it have any writing?", "What does the sign say?"])
def test_text_questions_are_planned_with_ocr(question):
    plan = RulePlanner().plan(question)
    assert [s.tool for s in plan.steps] == ["ocr"]


@pytest.mark.parametrize(("question", "label"), [("What colour is the sign?", "sign"),
                                                 ("Where is the dog?", "dog"),
                                                 ("How many cats are there?", "cat")])
def test_unknown_objects_are_asked_for_by_name(question, label):
    plan = RulePlanner().plan(question)
    assert plan.steps[0].tool == "detect" and plan.steps[0].args["labels"] == [label]


@requires_shapes
def test_offline_photo_questions_get_answers_a_person_can_act_on(monkeypatch, shared_agent):
    monkeypatch.setenv("LAVR_OFFLINE", "1")
    monkeypatch.delenv("LAVR_MODEL_DIR", raising=False)
    monkeypatch.setattr(detect, "_library_weights_dirs", lambda: [])
    agent = shared_agent
    photo = natural_texture(7, (200, 150))
    cats = agent.run(photo, "How many cats are there?").answer
    assert cats.startswith("I can't look for cats with the detectors installed here")
    assert "LAVR_OFFLINE" in cats and "$LAVR_MODEL_DIR" in cats
    described = agent.run(photo, "Describe this image").answer
    assert described.startswith("I can't describe this picture with the detectors installed "
                                "here (the shapes detector is made for other kinds of images)")
    for answer in (cats, described):
        assert "square" not in answer and "circle" not in answer and "triangle" not in answer
    text = agent.run(photo, "Is there any text?", max_steps=1)
    assert [s.tool for s in text.steps if s.node == "tool"] == ["ocr"]
    assert "text" in text.answer.lower()
