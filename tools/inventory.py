"""What experts this machine has, what would download on first use, and how big (``lavr models``)."""

from __future__ import annotations

from typing import Any

from lavr.core_model.download import asset_url, download_dir, offline_reason, reachable
from lavr.tools import detect, ocr, segment

__all__ = ["expert_inventory", "inventory_footer"]


def _status(present: bool, downloadable: bool, url: str | None) -> str:
    if present:
        return "installed"
    if not downloadable:
        return "missing"
    if offline_reason() is not None:
        return "missing (offline)"
    if url is not None and not reachable(url):
        return "missing (no network)"
    return "downloads on first use"


def _knows(spec: detect.DetectorSpec) -> str:
    if spec.open_vocabulary:
        return "any object named in the question"
    words = list(spec.vocabulary)
    return ", ".join(words) if len(words) <= 4 else f"{len(words)} classes ({', '.join(words[:4])} ...)"


def expert_inventory() -> list[dict[str, Any]]:
    """One JSON-able record per expert backend.

    Returns:
        Dicts with ``expert``, ``name``, ``weights`` (file names), ``present``,
        ``path`` (or None), ``status`` (``installed``, ``downloads on first use``,
        ``missing (offline)``, ``missing (no network)`` or ``missing``), ``size_mb``
        (approximate download size, 0 when unknown or none), ``needs`` (other
        files, in words) and ``finds`` (what it can look for).
    """
    rows: list[dict[str, Any]] = []
    for spec in detect.DETECTORS.values():
        st = detect.detector_weights(spec)
        asset = detect.weight_asset(spec)
        rows.append({
            "expert": "detect", "name": spec.name, "weights": st.filename, "present": st.present,
            "path": str(st.path) if st.path else None,
            "status": _status(st.present, asset is not None,
                              asset_url(asset) if asset else None),
            "size_mb": spec.size_mb if not st.present else 0.0, "needs": spec.extra,
            "finds": _knows(spec)})
    for method in ("sam", "mobile_sam"):
        st = segment.segment_weights(method)
        asset = segment.weight_asset(method)
        rows.append({
            "expert": "segment", "name": method, "weights": st.filename, "present": st.present,
            "path": str(st.path) if st.path else None,
            "status": _status(st.present, True, asset_url(asset)),
            "size_mb": asset.approx_mb if not st.present else 0.0, "needs": "",
            "finds": "pixel masks (used when named; auto picks installed backends only)"})
    rows.append({"expert": "segment", "name": "grabcut", "weights": "(none: OpenCV)",
                 "present": True, "path": None, "status": "installed", "size_mb": 0.0,
                 "needs": "", "finds": "pixel masks"})
    st = ocr.ocr_weights_status()
    rows.append({"expert": "ocr", "name": "easyocr-en", "weights": ", ".join(st["files"]),
                 "present": st["present"], "path": st["directory"],
                 "status": "installed" if st["present"] else "missing", "size_mb": 0.0,
                 "needs": "" if st["present"] else st["hint"], "finds": "English text"})
    return rows


def inventory_footer() -> str:
    """Where downloads go and how to change that, in one or two lines."""
    reason = offline_reason()
    if reason is not None:
        return (f"Downloads: off, {reason}. Put missing files in $LAVR_MODEL_DIR, or turn "
                f"offline mode off to fetch them on first use.")
    return (f"Downloads: standard weights are fetched on first use into {download_dir()} "
            f"(set LAVR_OFFLINE=1 to turn this off, $LAVR_MODEL_DIR to choose the folder, "
            f"$LAVR_WEIGHTS_URL for a mirror).")
