"""Shared fixtures: one agent (experts loaded once) and generated scenes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

REPO = Path(__file__).resolve().parents[1]
SHAPES_WEIGHTS = REPO / "tools" / "weights" / "shapes-yolo11n.pt"

requires_shapes = pytest.mark.skipif(
    not SHAPES_WEIGHTS.exists(), reason=f"shapes detector checkpoint missing: {SHAPES_WEIGHTS}")


def miniwob_browser() -> bool:
    """Whether MiniWoB++ tasks can run here: chromium, chromedriver and the miniwob package."""
    import importlib.util

    from lavr.episodes.gui.browser import BrowserUnavailableError, chromium_paths

    try:
        chromium_paths()
    except BrowserUnavailableError:
        return False
    return importlib.util.find_spec("miniwob") is not None


@pytest.fixture(scope="session")
def shared_agent():
    """A VisualAgent reused across tests so experts load once per session."""
    from lavr.agents import VisualAgent

    return VisualAgent()


@pytest.fixture(scope="session")
def built_yolo11n(tmp_path_factory) -> Path:
    """A YOLO11n checkpoint built here from ultralytics' ``yolo11n.yaml`` (random weights)."""
    pytest.importorskip("ultralytics")
    from ultralytics import YOLO

    path = tmp_path_factory.mktemp("weights") / "yolo11n.pt"
    YOLO("yolo11n.yaml").save(str(path))
    return path


def import_or_skip(module: str, why: str):
    """``pytest.importorskip`` for an optional extra; a failure instead of a skip when
    ``LAVR_REQUIRE_EXTRAS=1`` (CI installs ``lavr[dev]``, so there the tests must run)."""
    if os.environ.get("LAVR_REQUIRE_EXTRAS") == "1":
        import importlib

        return importlib.import_module(module)
    return pytest.importorskip(module, reason=why)
