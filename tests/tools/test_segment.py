"""segment: GrabCut on drawn scenes, a tiny random SamPredictor through SamSegmenter, errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from lavr.core_model.images import image_hash
from lavr.tools.base import ArtifactStore, ExpertPool, ToolContext, ToolResult
from lavr.tools.detections import Detections
from lavr.tools.errors import ExpertUnavailableError, ToolError
from lavr.tools.registry import default_registry
from lavr.tools.segment import (
    GrabCutSegmenter,
    SamSegmenter,
    SegmentTool,
    choose_method,
    load_segmenter,
    segment_weights,
)


def _scene() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    img = Image.new("RGB", (200, 160), (128, 128, 128))
    d = ImageDraw.Draw(img)
    d.ellipse([30, 40, 90, 100], fill=(220, 30, 30))
    d.rectangle([120, 50, 170, 110], fill=(40, 70, 220))
    arr = np.asarray(img)
    circle = np.all(arr == (220, 30, 30), axis=-1)
    square = np.all(arr == (40, 70, 220), axis=-1)
    return arr, circle, square


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max((a | b).sum(), 1))


def _ctx(arr: np.ndarray) -> ToolContext:
    return ToolContext(image=arr, image_hash=image_hash(arr), artifacts=ArtifactStore(),
                       experts=ExpertPool(), settings={"device": "cpu"})


def test_grabcut_from_a_detect_step_gives_real_masks():
    arr, circle, square = _scene()
    ctx = _ctx(arr)
    dets = Detections(np.array([[26, 36, 95, 105], [116, 46, 175, 115]], float),
                      np.array([0.9, 0.8]), ["circle", "square"])
    ctx.outputs["s1"] = ToolResult(summary="", artifact_id=ctx.artifacts.put(dets))
    tool = SegmentTool()
    res = tool.run(tool.Args(source="s1", method="grabcut"), ctx)
    out = ctx.artifacts.get(res.artifact_id)
    assert out.mask.shape == (2, 160, 200)
    assert list(out.label) == ["circle", "square"]
    assert _iou(out.mask[0], circle) >= 0.8
    assert _iou(out.mask[1], square) >= 0.8
    assert res.value == [int(out.mask[0].sum()), int(out.mask[1].sum())]
    assert "grabcut" in res.summary


def test_grabcut_point_prompt_grows_the_object():
    arr, circle, _ = _scene()
    masks, scores = GrabCutSegmenter().segment(arr, "h", boxes=[], points=[[60, 70]])
    assert masks.shape == (1, 160, 200) and len(scores) == 1
    assert _iou(masks[0], circle) >= 0.8


@pytest.mark.parametrize("args,words", [
    ({}, "at least one of source"),
    ({"boxes": [[10, 10, 5, 20]]}, "is empty"),
    ({"points": [[1, 2, 3]]}, "2 finite numbers"),
    ({"boxes": [[1, 2, 3]]}, "4 finite numbers"),
])
def test_bad_arguments_are_clear(args, words):
    reg = default_registry()
    with pytest.raises(ToolError) as err:
        reg.parse_args("segment", args)
    assert words in str(err.value)


def test_point_off_the_image_is_refused():
    arr, _, _ = _scene()
    tool = SegmentTool()
    with pytest.raises(ToolError):
        tool.run(tool.Args(points=[[500, 500]], method="grabcut"), _ctx(arr))


def test_auto_without_sam_weights_is_grabcut_and_sam_gives_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("LAVR_MODEL_DIR", str(tmp_path))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.delenv("LAVR_ALLOW_DOWNLOAD", raising=False)
    monkeypatch.chdir(tmp_path)
    if segment_weights("sam").present or segment_weights("mobile_sam").present:
        pytest.skip("SAM weights are on this machine")
    assert choose_method("auto") == "grabcut"
    with pytest.raises(ExpertUnavailableError) as err:
        load_segmenter("sam")
    assert "sam_vit_b_01ec64.pth" in str(err.value) and "LAVR_MODEL_DIR" in str(err.value)


def _tiny_sam():
    """A randomly initialised, very small SAM (real segment-anything modules)."""
    import torch
    from segment_anything.modeling import (
        ImageEncoderViT,
        MaskDecoder,
        PromptEncoder,
        Sam,
        TwoWayTransformer,
    )

    torch.manual_seed(0)
    img_size, patch, dim = 256, 16, 32
    emb = img_size // patch
    return Sam(
        image_encoder=ImageEncoderViT(img_size=img_size, patch_size=patch, embed_dim=64, depth=1,
                                      num_heads=2, out_chans=dim, window_size=4,
                                      global_attn_indexes=(0,)),
        prompt_encoder=PromptEncoder(embed_dim=dim, image_embedding_size=(emb, emb),
                                     input_image_size=(img_size, img_size), mask_in_chans=4),
        mask_decoder=MaskDecoder(num_multimask_outputs=3, transformer_dim=dim,
                                 transformer=TwoWayTransformer(depth=1, embedding_dim=dim,
                                                               mlp_dim=64, num_heads=2),
                                 iou_head_depth=1, iou_head_hidden_dim=16),
    ).eval()


def test_sam_predictor_plumbing_with_a_tiny_random_sam():
    """Real SamPredictor code path: prompts in, full-size boolean masks out, embedding cached."""
    pytest.importorskip("segment_anything")
    from segment_anything import SamPredictor

    arr, _, _ = _scene()
    seg = SamSegmenter(SamPredictor(_tiny_sam()))
    calls = []
    original = seg.predictor.set_image
    seg.predictor.set_image = lambda img: (calls.append(img.shape), original(img))[1]
    masks, scores = seg.segment(arr, "hash-1", boxes=[[26, 36, 95, 105]], points=[[145, 80]])
    assert masks.shape == (2, 160, 200) and masks.dtype == bool
    assert scores.shape == (2,)
    seg.segment(arr, "hash-1", boxes=[[116, 46, 175, 115]], points=[])
    assert calls == [(160, 200, 3)]  # the image embedding is computed once per image


def test_boxes_and_points_through_the_tool():
    """Explicit box and point prompts (a flat-coloured square is the hard case for a point)."""
    arr, circle, square = _scene()
    ctx = _ctx(arr)
    tool = SegmentTool()
    res = tool.run(tool.Args(boxes=[[26, 36, 95, 105]], points=[[145, 80], [60, 70]],
                             method="grabcut"), ctx)
    out = ctx.artifacts.get(res.artifact_id)
    assert list(out.label) == ["object"] * 3
    assert min(_iou(m, t) for m, t in zip(out.mask, [circle, square, circle], strict=True)) >= 0.8
    assert res.summary.startswith("segment (grabcut): 3 masks, areas ")
    assert res.summary.endswith(" px")
    # boxes are tightened to the masks
    assert out.xyxy[1].tolist() == pytest.approx([120, 50, 171, 111], abs=2)


def test_source_without_detections_segments_nothing():
    arr, _, _ = _scene()
    ctx = _ctx(arr)
    ctx.outputs["d1"] = ToolResult(summary="", artifact_id=ctx.artifacts.put(Detections.empty()))
    tool = SegmentTool()
    res = tool.run(tool.Args(source="d1", method="grabcut"), ctx)
    assert res.value == []
    assert ctx.artifacts.get(res.artifact_id).mask.shape == (0, 160, 200)
    assert "nothing to segment" in res.summary


def test_unknown_source_step_and_box_off_the_image_are_tool_errors():
    arr, _, _ = _scene()
    tool = SegmentTool()
    with pytest.raises(ToolError) as err:
        tool.run(tool.Args(source="nope", method="grabcut"), _ctx(arr))
    assert "'nope'" in str(err.value)
    with pytest.raises(ToolError) as err:
        tool.run(tool.Args(boxes=[[300, 300, 400, 400]], method="grabcut"), _ctx(arr))
    assert "outside" in str(err.value)


def test_grabcut_on_a_photo_stays_inside_the_box():
    import ultralytics

    from lavr.core_model.images import load_image

    bus = load_image(Path(ultralytics.__file__).parent / "assets" / "bus.jpg")
    box = [50, 400, 250, 900]
    mask = GrabCutSegmenter().box_mask(bus, box)
    assert mask.shape == bus.shape[:2]
    ys, xs = np.nonzero(mask)
    assert xs.min() >= 50 and xs.max() < 250 and ys.min() >= 400 and ys.max() < 900
    assert 0.1 < mask.sum() / (200 * 500) < 0.95
