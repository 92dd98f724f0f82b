"""detect: label normalisation, detector choice, missing weights, real shapes detector."""

from __future__ import annotations

import subprocess
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
    detector_vocabulary,
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
    ctx.settings["detector"] = str(tmp_path / "missing.pt")  # operator config, not a plan
    with pytest.raises((ToolError, ExpertUnavailableError)) as err:
        tool.run(tool.Args(labels=[]), ctx)
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
    by_label = {str(lbl): box for lbl, box in zip(dets.label, dets.xyxy.tolist(), strict=True)}
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


@pytest.mark.parametrize("word,vocab,expected", [
    ("man", COCO_CLASSES, "person"),
    ("Women", COCO_CLASSES, "person"),
    ("TV", COCO_CLASSES, "tv"),
    ("the hot-dogs", COCO_CLASSES, "hot dog"),
    ("wine glasses", COCO_CLASSES, "wine glass"),
    ("cell phones", COCO_CLASSES, "cell phone"),
    ("skis", COCO_CLASSES, "skis"),
    ("puppies", COCO_CLASSES, "dog"),
    ("balls", COCO_CLASSES, "sports ball"),
    ("balls", SHAPES_CLASSES, "circle"),
    ("dots", SHAPES_CLASSES, "circle"),
    ("boxes", SHAPES_CLASSES, "square"),
    ("boxes", COCO_CLASSES, None),
    ("person", SHAPES_CLASSES, None),
])
def test_normalise_label_synonyms_and_vocabulary(word, vocab, expected):
    assert normalise_label(word, vocab) == expected


def test_detector_vocabulary_needs_no_model():
    assert detector_vocabulary("shapes") == ["circle", "square", "triangle"]
    assert detector_vocabulary("yolo11n") == list(COCO_CLASSES) and len(COCO_CLASSES) == 80
    assert detector_vocabulary("yolo-world") == []  # open vocabulary


def test_auto_spreads_mixed_labels_and_falls_back_to_open_vocabulary():
    closed = lambda name: name in ("shapes", "coco")  # noqa: E731
    runs = select_detectors(["circles", "men"], present=closed)
    assert [(r.detector, r.labels) for r in runs] == [("shapes", ("circle",)),
                                                       ("coco", ("person",))]
    world = lambda name: name in ("shapes", "yolo-world")  # noqa: E731
    runs = select_detectors(["people", "red kites"], present=world)
    assert [(r.detector, r.labels) for r in runs] == [("yolo-world", ("person", "red kite"))]
    assert [r.detector for r in select_detectors([], present=lambda n: n == "shapes")] == ["shapes"]


def test_named_detector_refuses_labels_it_does_not_know():
    with pytest.raises(ToolError) as err:
        select_detectors(["dog"], detector="shapes")
    assert "circle, square, triangle" in str(err.value) and "'dog'" in str(err.value)


def test_missing_yolo11n_on_disk_is_clear_and_downloads_nothing(tmp_path, monkeypatch):
    """Real weight lookup in empty folders: an error naming the file; no download attempt."""
    from lavr.tools import detect

    monkeypatch.setenv("LAVR_MODEL_DIR", str(tmp_path / "models"))
    monkeypatch.delenv("LAVR_ALLOW_DOWNLOAD", raising=False)
    monkeypatch.chdir(tmp_path)
    # ultralytics' own weights folder may hold yolo11n.pt on a developer machine
    monkeypatch.setattr(detect, "_library_weights_dirs", lambda: [tmp_path / "ultralytics"])
    downloads: list[str] = []
    monkeypatch.setattr(detect, "_download_ultralytics", downloads.append)
    tool = DetectTool()
    for args in (tool.Args(detector="coco"), tool.Args(labels=["people"])):
        with pytest.raises(ExpertUnavailableError) as err:
            tool.run(args, _ctx(np.zeros((32, 32, 3), np.uint8)))
        msg = str(err.value)
        assert "yolo11n.pt" in msg and "LAVR_MODEL_DIR" in msg
    assert downloads == []
    assert not list(tmp_path.rglob("*.pt"))


@requires_shapes
def test_a_pt_path_runs_that_checkpoint_with_its_sidecar_vocabulary():
    from conftest import SHAPES_WEIGHTS

    assert detector_vocabulary(str(SHAPES_WEIGHTS)) == ["circle", "square", "triangle"]
    ctx = _ctx(_drawn())
    ctx.settings["detector"] = str(SHAPES_WEIGHTS)  # an operator's path (--detector PATH)
    tool = DetectTool()
    res = tool.run(tool.Args(labels=["balls"]), ctx)
    assert res.value == {"circle": 1}
    assert res.summary.startswith("detect (shapes-yolo11n.pt): 1 object — 1 circle")


@requires_shapes
def test_no_labels_reports_everything_found():
    ctx = _ctx(_drawn())
    tool = DetectTool()
    res = tool.run(tool.Args(detector="shapes"), ctx)
    assert res.value == {"circle": 1, "square": 1}
    assert len(res.boxes) == 2
    assert res.summary.startswith("detect (shapes): 2 objects — ")
    res = tool.run(tool.Args(labels=["triangles"], detector="shapes"), ctx)
    assert res.summary == "detect (shapes): no triangle found"


@pytest.mark.parametrize("module", ["lavr.tools.detect", "lavr.tools.segment"])
def test_importing_the_tool_loads_no_heavy_library(module):
    code = (f"import sys, {module}; "
            "heavy = [m for m in ('torch', 'ultralytics', 'cv2', 'segment_anything') "
            "if m in sys.modules]; print(','.join(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
