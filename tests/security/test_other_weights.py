"""SAM and EasyOCR weights: payloads in their folders never run."""

from __future__ import annotations

import shutil

import pytest
import torch

from lavr.tools import ocr, segment
from lavr.tools.errors import ExpertUnavailableError
from tests.security.payloads import evil_checkpoint


def test_a_sam_payload_is_refused_by_weights_only_loading(tmp_path, monkeypatch):
    pytest.importorskip("segment_anything")
    marker = tmp_path / "MARKER"
    evil_checkpoint(tmp_path / segment.SAM_WEIGHTS[0], marker)
    monkeypatch.setenv("LAVR_MODEL_DIR", str(tmp_path))
    with pytest.raises(ExpertUnavailableError, match="weights-only loading refused"):
        segment.load_segmenter("sam", device="cpu")
    assert not marker.exists()


def test_a_sam_file_with_the_wrong_tensors_is_a_clear_error(tmp_path, monkeypatch):
    pytest.importorskip("segment_anything")
    torch.save({"w": torch.ones(2)}, tmp_path / segment.SAM_WEIGHTS[0])
    monkeypatch.setenv("LAVR_MODEL_DIR", str(tmp_path))
    with pytest.raises(ExpertUnavailableError, match="not a segment-anything checkpoint"):
        segment.load_segmenter("sam", device="cpu")


def test_a_mobile_sam_payload_is_refused_before_ultralytics_loads_it(tmp_path, monkeypatch):
    pytest.importorskip("ultralytics")
    marker = tmp_path / "MARKER"
    evil_checkpoint(tmp_path / segment.MOBILE_SAM_WEIGHTS[0], marker)
    monkeypatch.setenv("LAVR_MODEL_DIR", str(tmp_path))
    with pytest.raises(ExpertUnavailableError, match="refusing to load it"):
        segment.load_segmenter("mobile_sam", device="cpu")
    assert not marker.exists()


def test_an_easyocr_payload_fails_easyocrs_md5_pin(tmp_path):
    pytest.importorskip("easyocr")
    status = ocr.ocr_weights_status()
    if not status["present"]:
        pytest.skip("EasyOCR weights not installed")
    marker = tmp_path / "MARKER"
    real = ocr.resolve_model_dir()
    for name in status["files"]:
        (tmp_path / name).symlink_to(real / name)
    (tmp_path / "english_g2.pth").unlink()
    evil_checkpoint(tmp_path / "english_g2.pth", marker)
    with pytest.raises(ExpertUnavailableError, match="MD5 mismatch"):
        ocr.load_reader(directory=tmp_path, device="cpu")
    assert not marker.exists()
    shutil.rmtree(tmp_path, ignore_errors=True)
