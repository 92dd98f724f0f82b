"""Open-vocabulary detectors' text encoders load only from configured folders (issue 15).

ultralytics builds YOLOE's MobileCLIP encoder itself in ``set_classes`` and looks for
``mobileclip_blt.ts`` in the working directory first; lavr resolves the file itself
(``$LAVR_MODEL_DIR``, lavr's cache, ultralytics' weights folder, lavr's download) and
never the working directory. No network: the download goes to a server on 127.0.0.1.
The model is a real ultralytics YOLOE built from its YAML (random weights) with the
real ``MobileCLIPTS`` loader; only the ``clip`` package's tokenizer is faked (the
package is not installed here) and the encoder is a tiny TorchScript module.
"""

from __future__ import annotations

import sys
import types
from pathlib import Path

import pytest

from lavr.tools import text_encoders as te
from lavr.tools.detect import get_detector
from lavr.tools.errors import ExpertUnavailableError

torch = pytest.importorskip("torch")
pytest.importorskip("ultralytics")


@pytest.fixture
def folders(tmp_path, monkeypatch):
    """A working directory with encoders planted in it, and empty configured folders."""
    cwd, cache, library = tmp_path / "cwd", tmp_path / "cache", tmp_path / "ultralytics"
    for d in (cwd, cache, library, cwd / "clip"):
        d.mkdir(parents=True, exist_ok=True)
    for name in ("mobileclip_blt.ts", "mobileclip2_b.ts", "ViT-B-32.pt", "clip/ViT-B-32.pt"):
        (cwd / name).write_bytes(b"planted in the working directory")
    monkeypatch.chdir(cwd)
    monkeypatch.delenv("LAVR_MODEL_DIR", raising=False)
    monkeypatch.delenv("LAVR_WEIGHTS_URL", raising=False)
    monkeypatch.setenv("LAVR_CACHE_DIR", str(cache))
    monkeypatch.setenv("LAVR_OFFLINE", "1")
    monkeypatch.setattr(te, "_library_dirs", lambda: [library])
    return types.SimpleNamespace(cwd=cwd, cache=cache, library=library, tmp=tmp_path)


@pytest.mark.parametrize("base", ["clip", "mobileclip", "mobileclip2"])
def test_a_file_in_the_working_directory_is_never_resolved(folders, base):
    encoder = te.TEXT_ENCODERS[base]
    with pytest.raises(ExpertUnavailableError) as info:
        te.resolve_text_encoder(encoder)
    message = str(info.value)
    assert encoder.filename in message and "offline" in message
    assert str(folders.cwd) not in message  # the working directory is not even searched


def test_configured_folders_in_order_and_the_published_digest(folders, monkeypatch):
    mc = te.TEXT_ENCODERS["mobileclip"]
    (folders.library / mc.filename).write_bytes(b"ultralytics' copy")
    assert te.resolve_text_encoder(mc) == (folders.library / mc.filename).resolve()
    model_dir = folders.tmp / "models"
    model_dir.mkdir()
    (model_dir / mc.filename).write_bytes(b"the operator's copy")
    monkeypatch.setenv("LAVR_MODEL_DIR", str(model_dir))
    assert te.resolve_text_encoder(mc) == (model_dir / mc.filename).resolve()
    # CLIP lives in ultralytics' clip/ folder and must be the published file
    clip = te.TEXT_ENCODERS["clip"]
    (folders.library / "clip").mkdir()
    (folders.library / "clip" / clip.filename).write_bytes(b"not the real ViT-B/32")
    monkeypatch.delenv("LAVR_MODEL_DIR")
    with pytest.raises(ExpertUnavailableError, match="not the published ViT-B-32.pt"):
        te.resolve_text_encoder(clip)


def test_downloaded_on_first_use_by_lavr_into_its_cache(folders, monkeypatch):
    import http.server
    import threading

    payload = b"mobileclip from the mirror" * 100
    requests: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):  # noqa: N802 - http.server API
            requests.append(self.path)
            self.send_response(200)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        for name in ("LAVR_OFFLINE", "HF_HUB_OFFLINE", "LAVR_ALLOW_DOWNLOAD"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("LAVR_WEIGHTS_URL", f"http://127.0.0.1:{httpd.server_address[1]}")
        path = te.resolve_text_encoder(te.TEXT_ENCODERS["mobileclip"])
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert requests == ["/mobileclip_blt.ts"]
    assert path == (folders.cache / "mobileclip_blt.ts").resolve()
    assert path.read_bytes() == payload


class _TinyEncoder(torch.nn.Module):
    def forward(self, texts: torch.Tensor) -> torch.Tensor:
        return torch.ones(texts.shape[0], 512)


def _fake_clip(monkeypatch) -> None:
    """The ``clip`` package's tokenizer (ultralytics imports the package; not installed)."""
    clip, sub = types.ModuleType("clip"), types.ModuleType("clip.clip")
    sub.tokenize = lambda texts, context_length=77, truncate=False: torch.zeros(
        (len(texts), context_length), dtype=torch.long)
    clip.clip = sub
    monkeypatch.setitem(sys.modules, "clip", clip)
    monkeypatch.setitem(sys.modules, "clip.clip", sub)
    monkeypatch.delitem(sys.modules, "ultralytics.nn.text_model", raising=False)
    import importlib

    # imported now with the fake; removed again after the test (the original comes back)
    monkeypatch.setitem(sys.modules, "ultralytics.nn.text_model",
                        importlib.import_module("ultralytics.nn.text_model"))


def test_yoloe_set_classes_never_loads_the_planted_encoder(folders, monkeypatch):
    from ultralytics import YOLOE

    _fake_clip(monkeypatch)
    planted = folders.cwd / "mobileclip_blt.ts"
    torch.jit.save(torch.jit.script(_TinyEncoder()), str(planted))  # a loadable file
    loaded: list[Path] = []
    real_load = torch.jit.load

    def recording_load(f, *args, **kwargs):
        loaded.append(Path(f).resolve())
        return real_load(f, *args, **kwargs)

    monkeypatch.setattr(torch.jit, "load", recording_load)
    spec = get_detector("yoloe")
    model = YOLOE("yoloe-11n.yaml")  # a real YOLOE (random weights, no download)
    # the threat: left to itself, ultralytics loads the encoder from the working directory
    model.set_classes(["circle"])
    assert loaded == [planted]
    loaded.clear()
    fresh = YOLOE("yoloe-11n.yaml")
    from lavr.tools.detect import _set_vocabulary

    with pytest.raises(ExpertUnavailableError, match="mobileclip_blt.ts"):
        _set_vocabulary(fresh, spec, ["square"])  # offline, nothing configured: refused
    assert loaded == []
    # configured: loaded from $LAVR_MODEL_DIR, and the classes are set
    model_dir = folders.tmp / "models"
    model_dir.mkdir()
    torch.jit.save(torch.jit.script(_TinyEncoder()), str(model_dir / "mobileclip_blt.ts"))
    monkeypatch.setenv("LAVR_MODEL_DIR", str(model_dir))
    _set_vocabulary(fresh, spec, ["square", "circle"])
    assert loaded == [(model_dir / "mobileclip_blt.ts").resolve()]
    assert list(fresh.names.values()) == ["square", "circle"]
    _set_vocabulary(fresh, spec, ["triangle"])  # the encoder is reused
    assert len(loaded) == 1 and list(fresh.names.values()) == ["triangle"]


def test_no_clip_package_is_a_clear_error_not_a_pip_install(folders, monkeypatch):
    monkeypatch.delitem(sys.modules, "clip", raising=False)
    monkeypatch.setattr(te.importlib.util, "find_spec",
                        lambda name, *a: None if name == "clip" else object())
    model_dir = folders.tmp / "models"
    model_dir.mkdir()
    (model_dir / "mobileclip_blt.ts").write_bytes(b"x")
    monkeypatch.setenv("LAVR_MODEL_DIR", str(model_dir))
    with pytest.raises(ExpertUnavailableError, match="needs the 'clip' package"):
        te.build_text_encoder(te.TEXT_ENCODERS["mobileclip"],
                              te.resolve_text_encoder(te.TEXT_ENCODERS["mobileclip"]), "cpu")
