"""Detections: validation, indexing, merge, area (boxes and masks, empty included)."""

import numpy as np
import pytest

from lavr.tools.detections import Detections, from_easyocr


def _dets() -> Detections:
    mask = np.zeros((2, 10, 10), bool)
    mask[0, :2, :3] = True
    mask[1, 5:, 5:] = True
    return Detections(np.array([[0, 0, 3, 2], [5, 5, 10, 10]]), [0.9, 0.5], ["a", "b"], mask,
                      data={"colour": ["red", "blue"]})


def test_validation_says_what_was_expected():
    with pytest.raises(ValueError, match=r"xyxy must be \(N, 4\)"):
        Detections(np.zeros((2, 3)), [1, 1], ["a", "b"])
    with pytest.raises(ValueError, match="confidence has 1 entries, expected 2"):
        Detections(np.zeros((2, 4)), [1], ["a", "b"])


def test_boolean_indexing_returns_new_detections_with_everything_sliced():
    d = _dets()
    sub = d[d.confidence > 0.6]
    assert len(sub) == 1 and sub.label.tolist() == ["a"]
    assert sub.mask.shape == (1, 10, 10) and sub.data["colour"].tolist() == ["red"]
    assert sub.describe(0) == "red a"


def test_area_uses_masks_then_boxes_and_handles_empty():
    d = _dets()
    assert d.area.tolist() == [6.0, 25.0]
    assert Detections(d.xyxy, d.confidence, d.label).area.tolist() == [6.0, 25.0]
    empty = Detections(np.zeros((0, 4)), np.zeros(0), [], mask=np.zeros((0, 10, 10), bool))
    assert empty.area.shape == (0,)


def test_merge_and_easyocr_adapter():
    d = _dets()
    m = Detections.merge([d, d[[1]]])
    assert len(m) == 3 and m.mask.shape == (3, 10, 10)
    ocr = from_easyocr([([[0, 0], [10, 0], [10, 5], [0, 5]], "STOP", 0.9)])
    assert ocr.text.tolist() == ["STOP"] and ocr.xyxy.tolist() == [[0, 0, 10, 5]]
