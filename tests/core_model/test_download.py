"""Weights on first use: fetched once from a local HTTP server (standing in for the
weights URL) with a progress bar, checked, atomically kept and reused; offline fails fast."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import numpy as np
import pytest

from lavr.core_model import download
from lavr.core_model.download import WeightAsset, download_asset, download_file
from lavr.core_model.errors import UnsafeCheckpointError, WeightsNotFoundError
from lavr.tools import detect
from lavr.tools.base import ExpertPool
from lavr.tools.errors import ExpertUnavailableError
from tests.local_http import LocalGetServer
from tests.security.payloads import evil_checkpoint


class FileServer(LocalGetServer):
    """Serves files from a folder on 127.0.0.1; records requested paths."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.truncate_to: int | None = None  # send fewer bytes than Content-Length
        super().__init__()

    def get(self, handler: BaseHTTPRequestHandler) -> None:
        path = self.root / handler.path.lstrip("/")
        if not path.is_file():
            handler.send_error(404)
            return
        data = path.read_bytes()
        self.send(handler, data[:self.truncate_to] if self.truncate_to else data, length=len(data))


@pytest.fixture
def server(tmp_path) -> Iterator[FileServer]:
    root = tmp_path / "served"
    root.mkdir()
    srv = FileServer(root)
    yield srv
    srv.close()


@pytest.fixture
def online(tmp_path, monkeypatch, server):
    """Downloads allowed, pointed at the local server; empty model folders."""
    for var in ("LAVR_OFFLINE", "HF_HUB_OFFLINE", "LAVR_ALLOW_DOWNLOAD", "LAVR_MODEL_DIR"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("LAVR_WEIGHTS_URL", server.url)
    monkeypatch.setenv("LAVR_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(detect, "_library_weights_dirs", lambda: [tmp_path / "ultralytics"])
    monkeypatch.setattr(download, "_unreachable", {})
    return tmp_path / "cache"


IMG = np.full((64, 64, 3), 128, np.uint8)


def test_yolo11n_is_fetched_once_with_progress_then_reused(online, server, built_yolo11n,
                                                           capfd):
    shutil.copy(built_yolo11n, server.root / "yolo11n.pt")
    pool = ExpertPool()
    detect.detect_batch([IMG], labels=["person"], detector="coco", experts=pool, device="cpu")
    assert server.requests == ["/yolo11n.pt"]
    kept = online / "yolo11n.pt"
    assert kept.read_bytes() == built_yolo11n.read_bytes()
    assert not [p for p in online.iterdir() if p.name != "yolo11n.pt"]  # no temp file left
    err = capfd.readouterr().err
    assert "downloading yolo11n.pt" in err and "100%" in err  # the progress bar
    # a new process (new pool) finds the cached file: no second request
    detect.detect_batch([IMG], labels=["person"], detector="coco", experts=ExpertPool(),
                        device="cpu")
    assert server.requests == ["/yolo11n.pt"]
    assert detect.detector_weights(detect.get_detector("coco")).source == "lavr-cache"


def test_a_downloaded_payload_is_refused_and_not_kept(online, server, tmp_path):
    marker = tmp_path / "MARKER"
    evil_checkpoint(server.root / "yolo11n.pt", marker)
    with pytest.raises(ExpertUnavailableError, match="refusing to load it|can't look"):
        detect.detect_batch([IMG], labels=["person"], detector="coco", experts=ExpertPool(),
                            device="cpu")
    assert server.requests == ["/yolo11n.pt"]
    assert not marker.exists()
    assert not (online / "yolo11n.pt").exists()


def test_a_truncated_download_leaves_no_file(online, server, tmp_path):
    (server.root / "w.pt").write_bytes(b"x" * 10_000)
    server.truncate_to = 4_000
    dest = tmp_path / "out" / "w.pt"
    with pytest.raises(WeightsNotFoundError, match="got 4000 of 10000 bytes"):
        download_file(f"{server.url}/w.pt", dest, read_timeout=5)
    assert not dest.parent.exists() or not any(dest.parent.iterdir())


def test_size_and_sha256_are_checked(online, server, tmp_path):
    (server.root / "w.bin").write_bytes(b"abc")
    with pytest.raises(WeightsNotFoundError, match="SHA-256"):
        download_file(f"{server.url}/w.bin", tmp_path / "a.bin", sha256="0" * 64)
    with pytest.raises(WeightsNotFoundError, match="more than the 2 bytes"):
        download_file(f"{server.url}/w.bin", tmp_path / "b.bin", size=2)
    good = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert download_file(f"{server.url}/w.bin", tmp_path / "c.bin", sha256=good,
                         size=3).read_bytes() == b"abc"
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix == ".bin") == ["c.bin"]


def test_a_failing_verify_deletes_the_file(online, server, tmp_path):
    (server.root / "x.pt").write_bytes(b"not a checkpoint")
    from lavr.core_model.checkpoints import check_checkpoint

    with pytest.raises(UnsafeCheckpointError, match="not a zip-format"):
        download_file(f"{server.url}/x.pt", tmp_path / "x.pt", verify=check_checkpoint)
    assert list(tmp_path.glob("*x.pt*")) == []


@pytest.mark.parametrize(("var", "value"), [("LAVR_OFFLINE", "1"), ("HF_HUB_OFFLINE", "1"),
                                            ("LAVR_ALLOW_DOWNLOAD", "0")])
def test_offline_never_connects_and_says_what_to_do(online, server, monkeypatch, var, value):
    monkeypatch.setenv(var, value)
    shutil.copy(Path(detect.WEIGHTS_DIR) / "shapes-yolo11n.pt", server.root / "yolo11n.pt")
    with pytest.raises(ExpertUnavailableError) as info:
        detect.detect_batch([IMG], labels=["cat"], experts=ExpertPool(), device="cpu")
    msg = info.value.user_message
    assert msg.startswith("I can't look for cats with the detectors installed here")
    assert var in msg and "$LAVR_MODEL_DIR" in msg
    assert server.requests == []


def test_no_network_fails_fast_once_and_then_does_not_retry(online, monkeypatch, tmp_path):
    # a closed port on 127.0.0.1 stands in for "no network": connection refused at once
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("LAVR_WEIGHTS_URL", f"http://127.0.0.1:{port}")
    asset = WeightAsset("yolo11n.pt", "unused", 5.4)
    with pytest.raises(WeightsNotFoundError, match="cannot reach 127.0.0.1"):
        download_asset(asset)
    with pytest.raises(WeightsNotFoundError, match="was unreachable earlier"):
        download_asset(asset)
    assert not download.reachable(f"http://127.0.0.1:{port}/x")
    # auto no longer picks a detector that would need that host
    assert not detect.is_usable("coco")


def test_only_http_and_https_are_fetched(tmp_path):
    with pytest.raises(WeightsNotFoundError, match="only http and https"):
        download_file("file:///etc/passwd", tmp_path / "x")
