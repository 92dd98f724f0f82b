"""detect: label normalisation, detector choice, missing weights, real shapes detector."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from lavr.core_model.images import image_hash
from lavr.tools.base import ArtifactStore, ExpertPool, ToolContext
from lavr.tools.detect import (
    COCO_CLASSES,
    SHAPES_CLASSES,
    DetectTool,
    detect_batch,
    get_detector,
    list_detectors,
    normalise_label,
    select_detectors,
)
from lavr.tools.errors import ExpertUnavailableError, ToolError

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from conftest import requires_shapes  # noqa: E402


@pytest.mark.parametrize("word,vocab,expected", [
    ("people", COCO_CLASSES, "person"),
    ("persons", COCO_CLASSES, "person"),
    ("cars", COCO_CLASSES, "car"),
    ("bikes", COCO_CLASSES, "bicycle"),
    ("The Stop Signs", COCO_CLASSES, "stop sign"),
    ("circles", SHAPES_CLASSES, "circle"),
    ("squares", SHAPES_CLASSES, "square"),
    ("triangles", SHAPES_CLASSES, "triangle"),
    ("dragon", COCO_CLASSES, None),
    ("", COCO_CLASSES, None),
])
def test_normalise_label(word, vocab, expected):
    assert normalise_label(word, vocab) == expected


def test_auto_picks_the_detector_whose_vocabulary_covers_the_labels():
    everything = lambda name: True  # noqa: E731
    assert [r.detector for r in select_detectors(["circles"], present=everything)] == ["shapes"]
    assert [r.detector for r in select_detectors(["people"], present=everything)] == ["coco"]
    runs = select_detectors(["people"], present=everything)
    assert runs[0].labels == ("person",)
    assert {r.detector for r in select_detectors([], present=everything)} == {"shapes", "coco"}


def test_missing_coco_weights_name_the_file_and_where_to_put_it():
    only_shapes = lambda name: name == "shapes"  # noqa: E731
    with pytest.raises(ExpertUnavailableError) as err:
        select_detectors(["person"], present=only_shapes)
    msg = str(err.value)
    assert "yolo11n.pt" in msg and "LAVR_MODEL_DIR" in msg


def test_unknown_detector_and_missing_path_are_clear(tmp_path):
    with pytest.raises(ToolError) as err:
        get_detector("nonsense")
    assert "unknown detector 'nonsense'" in str(err.value)
    ctx = _ctx(np.zeros((32, 32, 3), np.uint8))
    tool = DetectTool()
    with pytest.raises((ToolError, ExpertUnavailableError)) as err:
        tool.run(tool.Args(labels=[], detector=str(tmp_path / "missing.pt")), ctx)
    assert "missing.pt" in str(err.value)


def test_list_detectors_reports_presence():
    rows = {r["name"]: r for r in list_detectors()}
    assert set(rows) >= {"shapes", "coco", "yolo-world", "yoloe"}
    assert rows["shapes"]["present"] is True
    assert rows["shapes"]["weights"] == "shapes-yolo11n.pt"


def _ctx(arr: np.ndarray) -> ToolContext:
    return ToolContext(image=arr, image_hash=image_hash(arr), artifacts=ArtifactStore(),
                       experts=ExpertPool(), settings={"device": "cpu", "detector": "auto"})


def _drawn() -> np.ndarray:
    img = Image.new("RGB", (320, 320), (120, 120, 120))
    d = ImageDraw.Draw(img)
    d.ellipse([40, 60, 110, 130], fill=(220, 30, 30))
    d.rectangle([180, 150, 260, 230], fill=(40, 70, 220))
    return np.asarray(img)


@requires_shapes
def test_real_shapes_detector_finds_a_drawn_circle_and_square():
    arr = _drawn()
    ctx = _ctx(arr)
    tool = DetectTool()
    res = tool.run(tool.Args(labels=["circles", "squares"]), ctx)
    assert res.value == {"circle": 1, "square": 1}
    dets = ctx.artifacts.get(res.artifact_id)
    by_label = {str(lbl): box for lbl, box in zip(dets.label, dets.xyxy.tolist())}
    cx = (by_label["circle"][0] + by_label["circle"][2]) / 2
    assert 65 <= cx <= 85
    assert "shapes" in res.summary
    # a label nobody asked for is not reported
    res = tool.run(tool.Args(labels=["triangle"]), ctx)
    assert res.value == {"triangle": 0}


@requires_shapes
def test_detect_batch_matches_single_calls():
    arr = _drawn()
    pool = ExpertPool()
    batch = detect_batch([arr, arr[:, ::-1].copy()], labels=["circle"], experts=pool)
    assert [len(d) for d in batch] == [1, 1]
    assert batch[1].xyxy[0][0] > 180  # mirrored image: the circle moved right
    assert pool.load_count == {k: 1 for k in pool.load_count}  # loaded once
