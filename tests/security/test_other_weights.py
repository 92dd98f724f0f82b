"""SAM and EasyOCR weights: payloads in their folders never run."""

from __future__ import annotations

import shutil

import pytest
import torch

from lavr.tools import ocr, segment
from lavr.tools.errors import ExpertUnavailableError
from tests.security.payloads import evil_checkpoint


@pytest.mark.parametrize(("name", "weights", "needs", "refusal"), [
    ("sam", segment.SAM_WEIGHTS[0], "segment_anything", "weights-only loading refused"),
    ("mobile_sam", segment.MOBILE_SAM_WEIGHTS[0], "ultralytics", "refusing to load it"),
])
def test_a_segmenter_payload_is_refused_before_it_runs(tmp_path, monkeypatch, name, weights,
                                                       needs, refusal):
    """SAM loads weights-only; MobileSAM is checked before ultralytics unpickles it."""
    pytest.importorskip(needs)
    marker = tmp_path / "MARKER"
    evil_checkpoint(tmp_path / weights, marker)
    monkeypatch.setenv("LAVR_MODEL_DIR", str(tmp_path))
    with pytest.raises(ExpertUnavailableError, match=refusal):
        segment.load_segmenter(name, device="cpu")
    assert not marker.exists()


def test_a_sam_file_with_the_wrong_tensors_is_a_clear_error(tmp_path, monkeypatch):
    pytest.importorskip("segment_anything")
    torch.save({"w": torch.ones(2)}, tmp_path / segment.SAM_WEIGHTS[0])
    monkeypatch.setenv("LAVR_MODEL_DIR", str(tmp_path))
    with pytest.raises(ExpertUnavailableError, match="not a segment-anything checkpoint"):
        segment.load_segmenter("sam", device="cpu")


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
