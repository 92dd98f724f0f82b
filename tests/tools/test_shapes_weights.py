"""The committed shapes detector loads offline and finds shapes in fresh scenes."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

import lavr.tools
from lavr.apps.synthetic_scenes import SHAPES, WORDS, Scene, render_scene

WEIGHTS = Path(lavr.tools.__file__).parent / "weights" / "shapes-yolo11n.pt"
CARD = WEIGHTS.with_suffix(".json")
SEED = 1234  # not one of the training / val / test seeds (0, 1, 2)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def model():
    os.environ.setdefault("YOLO_OFFLINE", "1")  # no analytics or hub calls
    ultralytics = pytest.importorskip("ultralytics", reason="ultralytics is not installed")
    return ultralytics.YOLO(str(WEIGHTS))


@pytest.fixture(scope="module")
def fresh_scenes() -> list[Scene]:
    rng = np.random.default_rng(SEED)
    return [render_scene(rng, text=WORDS[i % len(WORDS)] if i % 2 else None) for i in range(10)]


def _iou(a: np.ndarray, b: tuple[float, float, float, float]) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _predict(model, scene: Scene) -> tuple[np.ndarray, list[str]]:
    # ultralytics expects BGR for numpy input.
    result = model.predict(
        scene.image[..., ::-1], imgsz=320, conf=0.25, device="cpu", verbose=False
    )[0]
    boxes = result.boxes.xyxy.cpu().numpy()
    names = [result.names[int(c)] for c in result.boxes.cls.cpu().numpy()]
    return boxes, names


def test_card_describes_the_checkpoint() -> None:
    card = json.loads(CARD.read_text())
    assert card["classes"] == list(SHAPES)
    assert card["imgsz"] == 320
    assert card["heldout_metrics"]["mAP50"] > 0.5
    assert card["file_bytes"] == WEIGHTS.stat().st_size
    assert WEIGHTS.stat().st_size < 6_000_000


def test_class_names_match_synthetic_shapes(model) -> None:
    assert [model.names[i] for i in range(len(model.names))] == list(SHAPES)


def test_recall_and_classes_on_fresh_scenes(model, fresh_scenes: list[Scene]) -> None:
    found = total = wrong_class = false_pos = 0
    for scene in fresh_scenes:
        boxes, names = _predict(model, scene)
        used: set[int] = set()
        for obj in scene.objects:
            total += 1
            ious = [(_iou(b, obj.xyxy), j) for j, b in enumerate(boxes) if j not in used]
            best_iou, best_j = max(ious, default=(0.0, -1))
            if best_iou >= 0.5:
                used.add(best_j)
                if names[best_j] == obj.shape:
                    found += 1
                else:
                    wrong_class += 1
        false_pos += len(boxes) - len(used)
    assert total >= 20
    assert found / total >= 0.9, f"recall {found}/{total}, wrong class {wrong_class}"
    assert wrong_class <= 1
    assert false_pos <= max(1, total // 10)


def test_no_shapes_on_text_labels(model, fresh_scenes: list[Scene]) -> None:
    for scene in fresh_scenes:
        if not scene.texts:
            continue
        lx1, ly1, lx2, ly2 = scene.texts[0].label_xyxy
        boxes, _ = _predict(model, scene)
        for x1, y1, x2, y2 in boxes:
            inter = max(0.0, min(x2, lx2) - max(x1, lx1)) * max(0.0, min(y2, ly2) - max(y1, ly1))
            assert inter <= 0.5 * (x2 - x1) * (y2 - y1), f"shape detected on {scene.texts[0]}"
