"""Crop/zoom tools and tiles()."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from pydantic import ValidationError

from lavr.tools.detections import Detections
from lavr.tools.errors import ToolError
from lavr.tools.registry import ToolRegistry
from lavr.tools.zoom import MARGIN, MAX_OUTPUT_SIDE, TOOLS, CropTool, ZoomTool, crop, tiles
from tests.fake_tools import tool_context


def gradient(h: int = 120, w: int = 200) -> np.ndarray:
    """An image whose every pixel is distinct enough to check where a crop came from."""
    yy, xx = np.mgrid[:h, :w]
    return np.stack([xx % 256, yy % 256, (xx + yy) % 256], axis=-1).astype(np.uint8)


def test_crop_tool_cuts_the_box_exactly() -> None:
    image = gradient()
    ctx = tool_context(image)
    res = CropTool().run(CropTool.Args(box=[10, 20, 50, 60]), ctx)
    assert res.value == {"box": [10, 20, 50, 60], "width": 40, "height": 40}
    assert res.artifact_id.startswith("img_")
    np.testing.assert_array_equal(ctx.artifacts.get(res.artifact_id), image[20:60, 10:50])
    assert res.summary == "crop: box [10,20,50,60] → 40x40 px (pixels [10,20,50,60])"


def test_zoom_tool_upsamples_with_lanczos() -> None:
    image = gradient()
    ctx = tool_context(image)
    res = ZoomTool().run(ZoomTool.Args(box=[10, 20, 50, 40], scale=3), ctx)
    assert res.value == {"box": [10, 20, 50, 40], "width": 120, "height": 60}
    expected = np.asarray(Image.fromarray(image[20:40, 10:50]).resize((120, 60), Image.LANCZOS))
    np.testing.assert_array_equal(ctx.artifacts.get(res.artifact_id), expected)
    assert "at 3x" in res.summary


def test_fractional_boxes_round_outwards_and_clip() -> None:
    res = CropTool().run(CropTool.Args(box=[-5.5, 10.2, 30.1, 500]), tool_context(gradient()))
    assert res.value["box"] == [0, 10, 31, 120]


def test_zoom_on_a_detection_adds_a_margin() -> None:
    dets = Detections([[0, 0, 10, 10], [100, 40, 140, 80]], [0.9, 0.8], ["dot", "sign"])
    ctx = tool_context(gradient(), s1=dets)
    args = ZoomTool.Args(source="s1", index=1, scale=2)
    assert ZoomTool().dependencies(args) == ["s1"]
    res = ZoomTool().run(args, ctx)
    m = round(40 * MARGIN)
    assert res.value["box"] == [100 - m, 40 - m, 140 + m, 80 + m]
    assert res.value["width"] == 2 * (40 + 2 * m)
    assert res.summary.startswith("zoom: sign [100,40,140,80] of s1 → ")
    first = CropTool().run(CropTool.Args(source="s1"), ctx)
    assert first.value["box"] == [0, 0, 11, 11]  # margin clipped at the image edge


def test_scale_is_capped_for_big_crops() -> None:
    image = np.zeros((600, 1200, 3), np.uint8)
    cut = crop(image, [0, 0, 1200, 600], scale=8.0)
    assert cut.scale == MAX_OUTPUT_SIDE / 1200
    assert max(cut.image.shape[:2]) == MAX_OUTPUT_SIDE


def test_zoom_errors() -> None:
    dets = Detections([[0, 0, 10, 10]], [0.9], ["dot"])
    ctx = tool_context(gradient(), s1=dets, s2=Detections.empty())
    with pytest.raises(ToolError, match=r"index 3 is out of range: step 's1' has 1 objects \(0..0\)"):
        ZoomTool().run(ZoomTool.Args(source="s1", index=3), ctx)
    with pytest.raises(ToolError, match="step 's2' has no objects to zoom"):
        ZoomTool().run(ZoomTool.Args(source="s2"), ctx)
    with pytest.raises(ToolError, match="outside the 200x120 image"):
        CropTool().run(CropTool.Args(box=[300, 300, 400, 400]), ctx)
    with pytest.raises(ToolError, match="is empty: expected x1 < x2"):
        CropTool().run(CropTool.Args(box=[50, 50, 40, 60]), ctx)
    with pytest.raises(ToolError, match="scale must be >= 1"):
        crop(gradient(), [0, 0, 10, 10], scale=0.5)


def test_args_need_exactly_one_of_box_and_source() -> None:
    with pytest.raises(ValidationError, match="got neither"):
        ZoomTool.Args()
    with pytest.raises(ValidationError, match="got both"):
        CropTool.Args(box=[0, 0, 1, 1], source="s1")
    with pytest.raises(ValidationError):
        ZoomTool.Args(box=[0, 0, 1, 1], scale=9)
    reg = ToolRegistry(TOOLS)
    assert reg.names() == ["crop", "zoom"]
    with pytest.raises(ToolError, match="zoom: invalid arguments: .*exactly one of box or source"):
        reg.parse_args("zoom", {"scale": 2})
    with pytest.raises(ToolError, match="crop: invalid arguments"):
        reg.parse_args("crop", {"box": [0, 0, 1, 1], "scale": 2})  # crop has no scale


# -- tiles ---------------------------------------------------------------------------
def test_tiles_without_overlap_cover_the_image_once() -> None:
    image = gradient(120, 200)
    out = tiles(image, 2, 3, overlap=0.0)
    assert len(out) == 6
    cover = np.zeros((120, 200), int)
    for (x1, y1, x2, y2), tile in out:
        np.testing.assert_array_equal(tile, image[y1:y2, x1:x2])
        cover[y1:y2, x1:x2] += 1
    assert (cover == 1).all()
    assert [box for box, _ in out][:3] == [(0, 0, 67, 60), (67, 0, 133, 60), (133, 0, 200, 60)]


def test_tiles_with_overlap_overlap_and_stay_inside() -> None:
    out = tiles(gradient(100, 100), 2, 2, overlap=0.2)
    boxes = [box for box, _ in out]
    assert boxes == [(0, 0, 55, 55), (45, 0, 100, 55), (0, 45, 55, 100), (45, 45, 100, 100)]


def test_tiles_refuse_bad_grids() -> None:
    with pytest.raises(ValueError, match="1 <= n_rows"):
        tiles(gradient(), 0, 2)
    with pytest.raises(ValueError, match="1 <= n_rows"):
        tiles(gradient(10, 10), 2, 11)
    with pytest.raises(ValueError, match=r"overlap must be in \[0, 1\)"):
        tiles(gradient(), 2, 2, overlap=1.0)
