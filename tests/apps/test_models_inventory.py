"""``lavr models``: what is installed, what would download on first use, and how big."""

from __future__ import annotations

import json

from lavr.apps.cli import main


def _rows(capsys) -> list[dict]:
    assert main(["models", "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_models_says_what_is_installed_and_what_would_download(capsys, monkeypatch, tmp_path):
    for var in ("LAVR_OFFLINE", "HF_HUB_OFFLINE", "LAVR_ALLOW_DOWNLOAD", "LAVR_MODEL_DIR"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("LAVR_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr("lavr.tools.detect._library_weights_dirs", lambda: [])
    monkeypatch.setattr("lavr.core_model.download._unreachable", {})
    rows = {r["name"]: r for r in _rows(capsys)}
    assert rows["shapes"]["status"] == "installed" and rows["shapes"]["size_mb"] == 0
    assert rows["coco"]["status"] == "downloads on first use"
    assert 4 < rows["coco"]["size_mb"] < 7
    assert rows["grabcut"]["status"] == "installed"
    assert main(["models"]) == 0
    text = capsys.readouterr().out
    assert "downloads on first use" in text and "5.4 MB" in text
    assert f"fetched on first use into {tmp_path}" in text


def test_models_offline_says_so(capsys, monkeypatch):
    monkeypatch.setenv("LAVR_OFFLINE", "1")
    monkeypatch.delenv("LAVR_MODEL_DIR", raising=False)
    monkeypatch.setattr("lavr.tools.detect._library_weights_dirs", lambda: [])
    rows = {r["name"]: r for r in _rows(capsys)}
    assert rows["coco"]["status"] == "missing (offline)"
    assert main(["models"]) == 0
    assert "Downloads: off, offline mode is on (LAVR_OFFLINE=1)" in capsys.readouterr().out
