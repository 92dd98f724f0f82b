"""Text encoders of the open-vocabulary detectors, resolved by lavr, never by ultralytics.

YOLO-World embeds class names with CLIP ViT-B/32, YOLOE with MobileCLIP
(``mobileclip_blt.ts``, or ``mobileclip2_b.ts`` for YOLOE-26). Left to itself,
ultralytics builds them inside ``set_classes``: it loads the MobileCLIP TorchScript
from the **working directory** first (``attempt_download_asset``) and otherwise
downloads it from GitHub, and it pip-installs the ``clip`` package when it is
missing. A file planted in the directory a server was started from would become a
model.

lavr instead resolves each encoder file itself, like every other weight
(:mod:`lavr.core_model.weights`): ``$LAVR_MODEL_DIR`` → lavr's weights cache →
ultralytics' own weights folder (``clip/`` inside it for CLIP) → a download on
first use through lavr's downloader (atomic, size-checked, fails fast offline) →
a one-line error naming the file and the folders searched. The working directory
is never searched. A file with a published SHA-256 (CLIP) must match it. The
encoder is built from that absolute path and handed to the model, so ultralytics
never looks for one itself. TorchScript archives are deserialised by TorchScript,
which does not run Python pickle code.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lavr.core_model.download import WeightAsset, download_asset
from lavr.core_model.errors import WeightsNotFoundError
from lavr.core_model.weights import resolve_weights
from lavr.tools.errors import ExpertUnavailableError

logger = logging.getLogger(__name__)

__all__ = ["TEXT_ENCODERS", "TextEncoder", "build_text_encoder", "encoder_for",
           "resolve_text_encoder", "set_classes"]

TOOL_NAME = "detect"
#: Weights that ship inside the package (none of the encoders do; a weights package may).
PACKAGE_DIR = Path(__file__).parent / "weights"
_ASSETS = "https://github.com/ultralytics/assets/releases/download/v8.4.0/"
_CLIP_SHA256 = "40d365715913c9da98579312b702a82c18be219cc2a73407c4526f58eba950af"


@dataclass(frozen=True)
class TextEncoder:
    """One text encoder an open-vocabulary detector needs.

    Attributes:
        base: ultralytics' name for it (``clip``, ``mobileclip``, ``mobileclip2``).
        asset: The file and where it is published.
        library_subdir: Its folder inside ultralytics' weights folder (``""``: the folder).
    """

    base: str
    asset: WeightAsset
    library_subdir: str = ""

    @property
    def filename(self) -> str:
        return self.asset.filename


#: The encoders lavr knows, by ultralytics' base name.
TEXT_ENCODERS: dict[str, TextEncoder] = {
    "clip": TextEncoder("clip", WeightAsset(
        "ViT-B-32.pt", f"https://openaipublic.azureedge.net/clip/models/{_CLIP_SHA256}/"
                       "ViT-B-32.pt", 338.0, sha256=_CLIP_SHA256), "clip"),
    "mobileclip": TextEncoder("mobileclip", WeightAsset(
        "mobileclip_blt.ts", _ASSETS + "mobileclip_blt.ts", 572.0)),
    "mobileclip2": TextEncoder("mobileclip2", WeightAsset(
        "mobileclip2_b.ts", _ASSETS + "mobileclip2_b.ts", 571.0)),
}

_verified: dict[tuple[str, int, int], bool] = {}
_verified_lock = threading.Lock()


def _library_dirs() -> list[Path]:
    """ultralytics' weights folder (``[]`` when ultralytics is not installed)."""
    try:
        from ultralytics.utils import SETTINGS
    except ImportError:
        return []
    return [Path(SETTINGS["weights_dir"])]


def encoder_for(model: Any, kind: str) -> TextEncoder:
    """The encoder a loaded YOLO-World (``kind="world"``) or YOLOE model embeds names with.

    Raises:
        ExpertUnavailableError: The model names an encoder lavr does not know.
    """
    if kind == "world":
        return TEXT_ENCODERS["clip"]
    variant = str(getattr(getattr(model, "model", None), "text_model", "mobileclip:blt"))
    base = variant.split(":", 1)[0]
    if base not in TEXT_ENCODERS or base == "clip" and kind != "world":
        raise ExpertUnavailableError(
            TOOL_NAME, f"the model asks for text encoder {variant!r}, which lavr does not "
                       f"know (known: mobileclip, mobileclip2)")
    return TEXT_ENCODERS[base]


def _hint(encoder: TextEncoder) -> str:
    return (f"put {encoder.filename} (from {encoder.asset.url}) in $LAVR_MODEL_DIR or "
            f"lavr's weights cache")


def _check_sha256(path: Path, encoder: TextEncoder) -> None:
    """Refuse a file whose content is not the published one (when a digest is known)."""
    expected = encoder.asset.sha256
    if not expected:
        return
    st = path.stat()
    key = (str(path), st.st_size, st.st_mtime_ns)
    with _verified_lock:
        if _verified.get(key):
            return
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    if digest.hexdigest() != expected:
        raise ExpertUnavailableError(
            TOOL_NAME, f"text encoder {path} is not the published {encoder.filename} "
                       f"(SHA-256 {digest.hexdigest()[:16]}…, expected {expected[:16]}…); "
                       f"refusing to load it", detail=_hint(encoder))
    with _verified_lock:
        _verified[key] = True


def resolve_text_encoder(encoder: TextEncoder) -> Path:
    """The encoder's file, from a configured folder or lavr's download; never the cwd.

    Returns:
        An absolute path to an existing file.

    Raises:
        ExpertUnavailableError: Nowhere local and not downloadable here (offline, no
            network), or the file is not the published one.
    """
    cache_dirs = [d / encoder.library_subdir if encoder.library_subdir else d
                  for d in _library_dirs()]
    hint = _hint(encoder)
    try:
        path = resolve_weights(encoder.filename, package_dirs=[PACKAGE_DIR],
                               cache_dirs=cache_dirs,
                               download=lambda: download_asset(encoder.asset, hint=hint),
                               hint=hint)
    except WeightsNotFoundError as exc:
        raise ExpertUnavailableError(
            TOOL_NAME, f"text encoder unavailable: {exc}", detail=exc.hint) from exc
    path = path.resolve()
    _check_sha256(path, encoder)
    return path


def _require_clip_package() -> None:
    """ultralytics' text models need the ``clip`` package; without it, importing them
    would pip-install it at run time, so lavr refuses first."""
    if "clip" in sys.modules:
        return
    if importlib.util.find_spec("clip") is None:
        raise ExpertUnavailableError(
            TOOL_NAME, "open-vocabulary detection needs the 'clip' package for its text "
                       "encoder; pip install git+https://github.com/ultralytics/CLIP.git")


def build_text_encoder(encoder: TextEncoder, path: Path, device: Any) -> Any:
    """ultralytics' text model for ``encoder``, loaded from ``path`` (absolute) only."""
    _require_clip_package()
    from ultralytics.nn import text_model

    if not path.is_absolute():  # ultralytics would look in the working directory first
        raise ValueError(f"text encoder path must be absolute, got {path}")
    if encoder.base == "clip":
        return text_model.CLIP(str(path), device)  # clip.load() takes a file path as is
    return text_model.MobileCLIPTS(device, weight=str(path))


def set_classes(model: Any, kind: str, labels: Sequence[str]) -> None:
    """Set an open-vocabulary model's classes with a text encoder lavr resolved.

    Args:
        model: An ultralytics ``YOLOWorld`` (``kind="world"``) or ``YOLOE``.
        kind: ``world`` or ``yoloe``.
        labels: Class names.

    Raises:
        ExpertUnavailableError: The encoder (or the ``clip`` package) is missing.
    """
    encoder = encoder_for(model, kind)
    path = resolve_text_encoder(encoder)
    inner = model.model
    device = next(inner.parameters()).device
    cached = getattr(inner, "clip_model", None)
    if getattr(cached, "lavr_path", None) != str(path):
        cached = build_text_encoder(encoder, path, device)
        cached.lavr_path = str(path)
        inner.clip_model = cached  # ultralytics uses it instead of building its own
    names = list(labels)
    logger.info("setting %d classes with text encoder %s", len(names), path)
    if kind == "world":
        inner.set_classes(names, cache_clip_model=True)
        inner.names = names
        model.predictor = None
    else:
        model.set_classes(names, inner.get_text_pe(names, cache_clip_model=True))
