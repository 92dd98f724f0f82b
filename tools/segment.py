"""Segmentation from box and point prompts: SAM, MobileSAM/SAM 2, or OpenCV GrabCut.

Backends:

- ``sam``: segment-anything's ``SamPredictor`` (``sam_vit_b_01ec64.pth`` ...).
- ``mobile_sam``: ultralytics ``SAM`` with ``mobile_sam.pt`` or a SAM 2.1 checkpoint.
- ``grabcut``: classical OpenCV GrabCut, no weights; always available.

``auto`` takes the first of these whose weights are on this machine (it never
downloads). Naming ``sam`` or ``mobile_sam`` fetches its weights on first use unless
offline (``LAVR_OFFLINE=1``); SAM checkpoints load weights-only.
Importing this module imports neither torch nor OpenCV.
"""

from __future__ import annotations

import importlib.util
import logging
import math
import os
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np
from pydantic import Field, field_validator, model_validator

from lavr.core_model import deadline
from lavr.core_model.checkpoints import check_checkpoint, safe_torch_load
from lavr.core_model.download import WeightAsset, download_asset
from lavr.core_model.errors import UnsafeCheckpointError, WeightsNotFoundError
from lavr.core_model.weights import WeightStatus, locate_weights, resolve_weights
from lavr.tools.base import MAX_STEP_ID, Tool, ToolArgs, ToolContext, ToolResult
from lavr.tools.detect import (
    ULTRALYTICS_ASSETS_URL,
    WEIGHTS_DIR,
    _library_weights_dirs,
    resolve_device,
)
from lavr.tools.detections import Detections
from lavr.tools.errors import ExpertUnavailableError, ToolError
from lavr.tools.pixels import check_image, clip_box
from lavr.tools.vocab import plural

__all__ = ["GrabCutSegmenter", "SamSegmenter", "SegmentArgs", "SegmentTool", "Segmenter",
           "TOOLS", "UltralyticsSamSegmenter", "choose_method", "segment_weights"]

logger = logging.getLogger(__name__)

TOOL_NAME = "segment"
Method = Literal["auto", "sam", "mobile_sam", "grabcut"]

#: segment-anything checkpoints, smallest first.
SAM_WEIGHTS = ("sam_vit_b_01ec64.pth", "sam_vit_l_0b3195.pth", "sam_vit_h_4b8939.pth")
#: ultralytics SAM-family checkpoints used by ``mobile_sam``, lightest first.
MOBILE_SAM_WEIGHTS = ("mobile_sam.pt", "sam2.1_t.pt", "sam2.1_s.pt", "sam2.1_b.pt")
_SAM_URL = "https://dl.fbaipublicfiles.com/segment_anything/"
_HINTS = {
    "sam": (f"Download {SAM_WEIGHTS[0]} from {_SAM_URL} and put it in $LAVR_MODEL_DIR, "
            f"or use method 'grabcut'."),
    "mobile_sam": ("Download mobile_sam.pt from the Ultralytics assets releases "
                   "(https://github.com/ultralytics/assets/releases) and put it in "
                   "$LAVR_MODEL_DIR, or use method 'grabcut'."),
}
#: GrabCut runs on crops downscaled to at most this many pixels a side.
GRABCUT_MAX_SIDE = 400
#: Most prompts (source objects + boxes + points) one step segments: each costs
#: about 0.05 s (GrabCut) to 0.3 s (SAM on CPU) and an image-sized mask.
MAX_PROMPTS = 32
#: Largest number of mask areas quoted in a summary.
_SUMMARY_AREAS = 8


# -- arguments -----------------------------------------------------------------------------
class SegmentArgs(ToolArgs):
    """Arguments of ``segment``: prompts from a detection step, boxes and/or points."""

    source: str | None = Field(default=None, max_length=MAX_STEP_ID,
                               description="step id whose detections to segment")
    boxes: list[list[float]] | None = Field(default=None, max_length=MAX_PROMPTS,
                                            description=f"XYXY pixel boxes (at most {MAX_PROMPTS})")
    points: list[list[float]] | None = Field(
        default=None, max_length=MAX_PROMPTS,
        description=f"XY pixel points on objects (at most {MAX_PROMPTS})")
    method: Method = "auto"

    @field_validator("boxes")
    @classmethod
    def _four_numbers(cls, boxes: list[list[float]] | None) -> list[list[float]] | None:
        for box in boxes or []:
            if len(box) != 4 or not all(math.isfinite(v) for v in box):
                raise ValueError(f"each box must be [x1, y1, x2, y2] (4 finite numbers), got {box}")
            if box[2] <= box[0] or box[3] <= box[1]:
                raise ValueError(f"box {box} is empty: expected x1 < x2 and y1 < y2")
        return boxes

    @field_validator("points")
    @classmethod
    def _two_numbers(cls, points: list[list[float]] | None) -> list[list[float]] | None:
        for point in points or []:
            if len(point) != 2 or not all(math.isfinite(v) for v in point):
                raise ValueError(f"each point must be [x, y] (2 finite numbers), got {point}")
        return points

    @model_validator(mode="after")
    def _some_prompt(self) -> SegmentArgs:
        if not self.source and not self.boxes and not self.points:
            raise ValueError("give at least one of source (a detection step id), "
                             "boxes ([[x1, y1, x2, y2], ...]) or points ([[x, y], ...])")
        return self


# -- backends ------------------------------------------------------------------------------
class Segmenter(Protocol):
    """A loaded segmentation backend."""

    method: str

    def segment(self, image: np.ndarray, image_hash: str, *, boxes: Sequence[Sequence[float]],
                points: Sequence[Sequence[float]]) -> tuple[np.ndarray, np.ndarray]:
        """Masks ``(N, H, W) bool`` and scores ``(N,)`` for boxes then points."""
        ...


def _stack(masks: list[np.ndarray], scores: list[float], shape: tuple[int, int]
           ) -> tuple[np.ndarray, np.ndarray]:
    if not masks:
        return np.zeros((0, *shape), bool), np.zeros(0, np.float32)
    return np.stack(masks).astype(bool), np.asarray(scores, np.float32)


@dataclass
class SamSegmenter:
    """segment-anything ``SamPredictor``; the image embedding is cached by image hash.

    Attributes:
        predictor: A ``segment_anything.SamPredictor``.
    """

    predictor: Any
    method: str = "sam"
    _image_hash: str | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def segment(self, image: np.ndarray, image_hash: str, *, boxes: Sequence[Sequence[float]],
                points: Sequence[Sequence[float]]) -> tuple[np.ndarray, np.ndarray]:
        """See :class:`Segmenter`. ``image`` is ``HxWx3 uint8 RGB``."""
        masks, scores = [], []
        with self._lock:
            if self._image_hash != image_hash:
                self.predictor.set_image(image)
                self._image_hash = image_hash
            for box in boxes:
                deadline.check()  # one prompt at a time: Stop or the deadline ends the loop
                m, s, _ = self.predictor.predict(box=np.asarray(box, np.float32),
                                                 multimask_output=False)
                masks.append(m[0])
                scores.append(float(s[0]))
            for point in points:
                deadline.check()
                m, s, _ = self.predictor.predict(point_coords=np.asarray([point], np.float32),
                                                 point_labels=np.ones(1, int),
                                                 multimask_output=True)
                best = int(np.argmax(s))
                masks.append(m[best])
                scores.append(float(s[best]))
        return _stack(masks, scores, image.shape[:2])


@dataclass
class UltralyticsSamSegmenter:
    """ultralytics ``SAM`` (MobileSAM, SAM 2.1) with box and point prompts.

    Attributes:
        model: An ``ultralytics.SAM``.
        device: Torch device string.
    """

    model: Any
    device: str = "cpu"
    method: str = "mobile_sam"
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def _run(self, bgr: np.ndarray, n: int, **prompts: Any) -> tuple[list[np.ndarray], list[float]]:
        with self._lock:
            result = self.model.predict(bgr, device=self.device, verbose=False, **prompts)[0]
        h, w = bgr.shape[:2]
        data = result.masks.data.cpu().numpy() if result.masks is not None else np.zeros((0, h, w))
        if len(data) != n:
            raise ToolError(TOOL_NAME, f"{self.method} returned {len(data)} masks for {n} prompts")
        masks = [_resize_mask(m > 0.5, (h, w)) for m in data]
        conf = result.boxes.conf.cpu().numpy() if result.boxes is not None else np.ones(n)
        scores = [float(c) for c in conf] if len(conf) == n else [1.0] * n
        return masks, scores

    def segment(self, image: np.ndarray, image_hash: str, *, boxes: Sequence[Sequence[float]],
                points: Sequence[Sequence[float]]) -> tuple[np.ndarray, np.ndarray]:
        """See :class:`Segmenter`. ``image`` is ``HxWx3 uint8 RGB``."""
        bgr = np.ascontiguousarray(image[..., ::-1])
        masks: list[np.ndarray] = []
        scores: list[float] = []
        if boxes:
            m, s = self._run(bgr, len(boxes), bboxes=[list(map(float, b)) for b in boxes])
            masks += m
            scores += s
        if points:
            m, s = self._run(bgr, len(points), points=[list(map(float, p)) for p in points],
                             labels=[1] * len(points))
            masks += m
            scores += s
        return _stack(masks, scores, image.shape[:2])


def _resize_mask(mask: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    if mask.shape == shape:
        return mask
    from PIL import Image

    resized = Image.fromarray(mask.astype(np.uint8) * 255).resize((shape[1], shape[0]),
                                                                  Image.Resampling.NEAREST)
    return np.asarray(resized) > 127


@dataclass
class GrabCutSegmenter:
    """OpenCV GrabCut: box prompts init a rectangle; point prompts grow a colour region.

    Attributes:
        iterations: GrabCut iterations per prompt.
        colour_tolerance: Flood-fill tolerance per channel for point prompts (0-255).
    """

    iterations: int = 5
    colour_tolerance: int = 18
    method: str = "grabcut"

    def segment(self, image: np.ndarray, image_hash: str, *, boxes: Sequence[Sequence[float]],
                points: Sequence[Sequence[float]]) -> tuple[np.ndarray, np.ndarray]:
        """See :class:`Segmenter`. ``image`` is ``HxWx3 uint8 RGB``; scores are 1.0."""
        masks = [self.box_mask(image, box) for box in boxes]
        masks += [self.point_mask(image, point) for point in points]
        return _stack(masks, [1.0] * len(masks), image.shape[:2])

    def box_mask(self, image: np.ndarray, box: Sequence[float]) -> np.ndarray:
        """``(H, W) bool`` mask of the object inside a XYXY pixel box."""
        deadline.check()  # once a prompt: Stop or the run's deadline ends a long loop
        h, w = image.shape[:2]
        x1, y1, x2, y2 = clip_box(box, image.shape, tool=TOOL_NAME)
        margin = max(10, round(0.25 * max(x2 - x1, y2 - y1)))
        cx1, cy1 = max(0, x1 - margin), max(0, y1 - margin)
        cx2, cy2 = min(w, x2 + margin), min(h, y2 + margin)
        crop = np.ascontiguousarray(image[cy1:cy2, cx1:cx2, ::-1])
        rect = _inner_rect((x1 - cx1, y1 - cy1, x2 - x1, y2 - y1), crop.shape[:2])
        full = np.zeros((h, w), bool)
        if rect is None:
            logger.info("grabcut: box %s leaves no background; using the box as the mask", box)
            full[y1:y2, x1:x2] = True
            return full
        fg = _grabcut_rect(crop, rect, self.iterations)
        if not fg.any():
            logger.warning("grabcut found nothing in box %s; using the box as the mask", box)
            full[y1:y2, x1:x2] = True
            return full
        full[cy1:cy2, cx1:cx2] = fg
        return full

    def point_mask(self, image: np.ndarray, point: Sequence[float]) -> np.ndarray:
        """``(H, W) bool`` mask of the object under an XY pixel point.

        The colour region around the point (flood fill) seeds GrabCut; a region
        that is tiny or covers most of the image falls back to a box around the point.
        """
        deadline.check()
        h, w = image.shape[:2]
        x, y = _check_point(point, (h, w))
        region = self._flood(image, (x, y))
        area = int(region.sum())
        if not 0.0002 * h * w <= area <= 0.5 * h * w:
            half = max(8, min(h, w) // 8)
            mask = self.box_mask(image, [x - half, y - half, x + half + 1, y + half + 1])
            return _component_at(mask, (x, y)) if mask[y, x] else mask
        mask = self._refine(image, region, (x, y))
        mask = _component_at(mask, (x, y)) if mask[y, x] else mask
        if mask.sum() < 0.3 * area:
            logger.info("grabcut shrank the colour region at %s to %d px; keeping the region",
                        (x, y), int(mask.sum()))
            return region
        return mask

    def _flood(self, image: np.ndarray, seed: tuple[int, int]) -> np.ndarray:
        import cv2

        h, w = image.shape[:2]
        blurred = cv2.GaussianBlur(np.ascontiguousarray(image), (3, 3), 0)
        ff = np.zeros((h + 2, w + 2), np.uint8)
        tol = (self.colour_tolerance,) * 3
        flags = 4 | cv2.FLOODFILL_MASK_ONLY | cv2.FLOODFILL_FIXED_RANGE | (255 << 8)
        cv2.floodFill(blurred, ff, seed, (0, 0, 0), tol, tol, flags)
        return ff[1:-1, 1:-1] > 0

    def _refine(self, image: np.ndarray, region: np.ndarray, seed: tuple[int, int]) -> np.ndarray:
        """GrabCut initialised from a flood-fill region; the region itself if that fails."""
        import cv2

        h, w = region.shape
        ys, xs = np.nonzero(region)
        size = max(xs.max() - xs.min() + 1, ys.max() - ys.min() + 1)
        margin = max(10, round(0.25 * size))
        cx1, cy1 = max(0, xs.min() - margin), max(0, ys.min() - margin)
        cx2, cy2 = min(w, xs.max() + 1 + margin), min(h, ys.max() + 1 + margin)
        sub = region[cy1:cy2, cx1:cx2].astype(np.uint8)
        # The blur in _flood trims about a pixel off the edge: grow it back, and let
        # a band around the region be "probably background" rather than certain.
        grown = cv2.dilate(sub, np.ones((3, 3), np.uint8)) > 0
        band = max(3, round(0.1 * size))
        near = cv2.dilate(sub, np.ones((2 * band + 1, 2 * band + 1), np.uint8)) > 0
        gc = np.full(sub.shape, cv2.GC_BGD, np.uint8)
        gc[near] = cv2.GC_PR_BGD
        gc[grown] = cv2.GC_PR_FGD
        cv2.circle(gc, (seed[0] - cx1, seed[1] - cy1), 2, int(cv2.GC_FGD), -1)
        if not (gc == cv2.GC_BGD).any() and not (gc == cv2.GC_PR_BGD).any():
            return region
        crop = np.ascontiguousarray(image[cy1:cy2, cx1:cx2, ::-1])
        try:
            cv2.grabCut(crop, gc, (0, 0, 0, 0), np.zeros((1, 65), np.float64),
                        np.zeros((1, 65), np.float64), self.iterations, cv2.GC_INIT_WITH_MASK)
        except cv2.error as exc:
            logger.info("grabcut refinement failed (%s); using the colour region", exc)
            return region
        out = np.zeros((h, w), bool)
        out[cy1:cy2, cx1:cx2] = (gc == cv2.GC_FGD) | (gc == cv2.GC_PR_FGD)
        return out


def _grabcut_rect(crop: np.ndarray, rect: tuple[int, int, int, int], iterations: int
                  ) -> np.ndarray:
    """Foreground of ``crop`` (``HxWx3 uint8 BGR``) from a rectangle, at most
    :data:`GRABCUT_MAX_SIDE` pixels a side (larger crops run downscaled)."""
    import cv2

    h, w = crop.shape[:2]
    scale = min(1.0, GRABCUT_MAX_SIDE / max(h, w))
    small, small_rect = crop, rect
    if scale < 1.0:
        small = cv2.resize(crop, (max(1, round(w * scale)), max(1, round(h * scale))),
                           interpolation=cv2.INTER_AREA)
        x, y, rw, rh = rect
        sh, sw = small.shape[:2]
        sx, sy = min(sw - 2, round(x * scale)), min(sh - 2, round(y * scale))
        small_rect = (sx, sy, max(1, min(sw - sx, round(rw * scale))),
                      max(1, min(sh - sy, round(rh * scale))))
    gc = np.zeros(small.shape[:2], np.uint8)
    cv2.grabCut(small, gc, small_rect, np.zeros((1, 65), np.float64),
                np.zeros((1, 65), np.float64), iterations, cv2.GC_INIT_WITH_RECT)
    fg = ((gc == cv2.GC_FGD) | (gc == cv2.GC_PR_FGD)).astype(np.uint8)
    if scale < 1.0:
        fg = cv2.resize(fg, (w, h), interpolation=cv2.INTER_NEAREST)
    return fg > 0


def _inner_rect(rect: tuple[int, int, int, int], shape: tuple[int, int]
                ) -> tuple[int, int, int, int] | None:
    """A GrabCut rectangle that leaves some background in the crop, or None."""
    x, y, rw, rh = rect
    ch, cw = shape
    if x > 0 or y > 0 or x + rw < cw or y + rh < ch:
        return rect
    dx, dy = max(1, rw // 50), max(1, rh // 50)
    if rw - 2 * dx < 2 or rh - 2 * dy < 2:
        return None
    return x + dx, y + dy, rw - 2 * dx, rh - 2 * dy


def _check_point(point: Sequence[float], shape: tuple[int, int]) -> tuple[int, int]:
    h, w = shape
    x, y = (float(v) for v in point)
    if not (0 <= x < w and 0 <= y < h):
        raise ToolError(TOOL_NAME, f"point [{x:g}, {y:g}] is outside the {w}x{h} image")
    return int(x), int(y)


def _component_at(mask: np.ndarray, point: tuple[int, int]) -> np.ndarray:
    """The 8-connected part of ``mask`` that contains ``point`` (x, y)."""
    import cv2

    _, labels = cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)
    return labels == labels[point[1], point[0]]


# -- weights and backend choice ---------------------------------------------------------------
def _torch_hub_checkpoints() -> Path:
    """torch.hub's checkpoint folder, computed without importing torch."""
    home = os.environ.get("TORCH_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "torch")
    return Path(home) / "hub" / "checkpoints"


def _cache_dirs(method: str) -> list[Path]:
    return [_torch_hub_checkpoints()] if method == "sam" else _library_weights_dirs()


def segment_weights(method: str) -> WeightStatus:
    """Where the weights of ``sam`` or ``mobile_sam`` are (first present candidate)."""
    files = SAM_WEIGHTS if method == "sam" else MOBILE_SAM_WEIGHTS
    cache = _cache_dirs(method)
    statuses = [locate_weights(f, package_dirs=[WEIGHTS_DIR], cache_dirs=cache) for f in files]
    return next((s for s in statuses if s.present), statuses[0])


def _library_installed(method: str) -> bool:
    module = "segment_anything" if method == "sam" else "ultralytics"
    return importlib.util.find_spec(module) is not None


def choose_method(method: str = "auto") -> str:
    """The backend to use: ``auto`` → sam, else mobile_sam, else grabcut (by weights present)."""
    if method != "auto":
        return method
    for candidate in ("sam", "mobile_sam"):
        if _library_installed(candidate) and segment_weights(candidate).present:
            logger.info("segment: using %s (weights %s)", candidate,
                        segment_weights(candidate).path)
            return candidate
    logger.info("segment: no SAM weights on this machine; using grabcut")
    return "grabcut"


def weight_asset(method: str) -> WeightAsset:
    """The file ``sam`` or ``mobile_sam`` downloads on first use."""
    if method == "sam":
        return WeightAsset(SAM_WEIGHTS[0], _SAM_URL + SAM_WEIGHTS[0], 375.0)
    return WeightAsset(MOBILE_SAM_WEIGHTS[0], ULTRALYTICS_ASSETS_URL + MOBILE_SAM_WEIGHTS[0], 40.7)


def _download(method: str) -> Path:
    # sam loads weights-only (tensors, no code); mobile_sam is unpickled by ultralytics,
    # so the download must pass the checkpoint safety check before it is kept
    verify = None if method == "sam" else check_checkpoint
    return download_asset(weight_asset(method), verify=verify, hint=_HINTS[method])


def _weights_path(method: str) -> Path:
    status = segment_weights(method)
    if status.path is not None:
        return status.path
    try:
        return resolve_weights(status.filename, package_dirs=[WEIGHTS_DIR],
                               cache_dirs=_cache_dirs(method),
                               download=lambda: _download(method), hint=_HINTS[method])
    except WeightsNotFoundError as exc:
        raise ExpertUnavailableError(TOOL_NAME, f"method {method!r} unavailable: {exc}") from exc


def _sam_model_type(path: Path) -> str:
    for model_type in ("vit_b", "vit_l", "vit_h"):
        if model_type in path.name:
            return model_type
    return "vit_b"


def load_segmenter(method: str, *, device: str = "cpu") -> Segmenter:
    """Load a backend (``sam``, ``mobile_sam`` or ``grabcut``).

    Raises:
        ExpertUnavailableError: The library or weights are missing.
        ToolError: Unknown method.
    """
    if method == "grabcut":
        return GrabCutSegmenter()
    if method not in ("sam", "mobile_sam"):
        raise ToolError(TOOL_NAME, f"unknown method {method!r}; expected auto, sam, mobile_sam "
                                   f"or grabcut")
    path = _weights_path(method)
    if method == "sam":
        try:
            from segment_anything import SamPredictor, sam_model_registry
        except ImportError as exc:
            raise ExpertUnavailableError(
                TOOL_NAME, f"segment-anything is not installed ({exc}); "
                           f"pip install 'lavr[segment]'") from exc
        try:
            state = safe_torch_load(path)  # weights only: tensors, never code
        except UnsafeCheckpointError as exc:
            raise ExpertUnavailableError(TOOL_NAME, f"method 'sam': {exc}") from exc
        sam = sam_model_registry[_sam_model_type(path)](checkpoint=None)
        try:
            sam.load_state_dict(state)
        except (RuntimeError, TypeError) as exc:
            raise ExpertUnavailableError(
                TOOL_NAME, f"method 'sam': {path} is not a segment-anything checkpoint "
                           f"({str(exc).splitlines()[0]})") from exc
        sam.to(device)
        return SamSegmenter(SamPredictor(sam))
    try:
        from ultralytics import SAM
    except ImportError as exc:
        raise ExpertUnavailableError(
            TOOL_NAME, f"ultralytics is not installed ({exc}); pip install 'lavr[detect]'") from exc
    try:
        check_checkpoint(path)  # ultralytics unpickles it fully
    except UnsafeCheckpointError as exc:
        raise ExpertUnavailableError(TOOL_NAME, f"method 'mobile_sam': {exc}") from exc
    return UltralyticsSamSegmenter(SAM(str(path)), device=device)


# -- the tool ----------------------------------------------------------------------------------
@dataclass
class _Prompts:
    """Box prompts from a source step and from args, then point prompts."""

    source: Detections
    boxes: list[list[float]]
    points: list[list[float]]

    @property
    def all_boxes(self) -> list[list[float]]:
        return [list(map(float, b)) for b in self.source.xyxy] + self.boxes

    def __len__(self) -> int:
        return len(self.source) + len(self.boxes) + len(self.points)


def _tight_boxes(masks: np.ndarray, fallback: list[list[float]]) -> np.ndarray:
    """XYXY pixel boxes around each mask; ``fallback[i]`` where a mask is empty."""
    out = np.asarray(fallback, np.float32).reshape(-1, 4).copy()
    for i, mask in enumerate(masks):
        ys, xs = np.nonzero(mask)
        if len(xs):
            out[i] = [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]
    return out


def _build(prompts: _Prompts, masks: np.ndarray, scores: np.ndarray) -> Detections:
    n_src = len(prompts.source)
    fallback = prompts.all_boxes + [[x, y, x + 1, y + 1] for x, y in prompts.points]
    xyxy = _tight_boxes(masks, fallback)
    src = prompts.source
    parts = [Detections(xyxy[:n_src], src.confidence, src.label, masks[:n_src], src.text,
                        dict(src.data))]
    n_extra = len(prompts) - n_src
    if n_extra:
        parts.append(Detections(xyxy[n_src:], scores[n_src:], ["object"] * n_extra, masks[n_src:]))
    if len(parts) == 1 or n_src == 0:
        return parts[-1]
    return Detections.merge(parts)


def _summary(method: str, areas: list[int], source: str | None) -> str:
    head = f"segment ({method}):"
    if not areas:
        return f"{head} nothing to segment (step {source!r} found no objects)"
    shown = ", ".join(str(a) for a in areas[:_SUMMARY_AREAS])
    more = ", …" if len(areas) > _SUMMARY_AREAS else ""
    noun = "mask, area" if len(areas) == 1 else "masks, areas"
    return f"{head} {len(areas)} {noun} {shown}{more} px"


class SegmentTool(Tool):
    """Pixel masks for objects given by a detection step, boxes or points."""

    name = TOOL_NAME
    description = ("Segment objects into pixel masks from a detect step (source), "
                   "XYXY boxes or XY points; returns mask areas in pixels.")
    Args = SegmentArgs
    refs = ("source",)
    cacheable = False

    def sub_question(self, args: Mapping[str, Any], *, target: str) -> str:
        """``Which pixels belong to the circles?``"""
        return f"Which pixels belong to the {plural(target) or 'objects'}?"

    def run(self, args: ToolArgs, ctx: ToolContext) -> ToolResult:
        """Segment ``ctx.image``; stores :class:`Detections` with ``mask`` (N, H, W)."""
        if not isinstance(args, SegmentArgs):
            raise ToolError(self.name, f"expected SegmentArgs, got {type(args).__name__}")
        image = check_image(ctx.image, tool=self.name)
        prompts = self._prompts(args, ctx)
        method = choose_method(args.method)
        if len(prompts) == 0:
            dets = Detections(np.zeros((0, 4)), np.zeros(0), [],
                              mask=np.zeros((0, *image.shape[:2]), bool))
        else:
            segmenter = self._segmenter(method, ctx)
            masks, scores = segmenter.segment(image, ctx.image_hash, boxes=prompts.all_boxes,
                                              points=prompts.points)
            dets = _build(prompts, masks, scores)
        areas = [int(m.sum()) for m in dets.mask] if dets.mask is not None else []
        return ToolResult(summary=_summary(method, areas, args.source), value=areas,
                          artifact_id=self.store_detections(dets, ctx),
                          boxes=[[round(float(v), 1) for v in b] for b in dets.xyxy[:10]])

    def _prompts(self, args: SegmentArgs, ctx: ToolContext) -> _Prompts:
        source = ctx.detections(args.source, tool=self.name) if args.source else Detections.empty()
        room = MAX_PROMPTS - len(args.boxes or []) - len(args.points or [])
        if len(source) > room:
            if room <= 0:
                raise ToolError(self.name, f"too many prompts: at most {MAX_PROMPTS} boxes, "
                                           f"points and source objects together")
            keep = np.zeros(len(source), bool)
            keep[np.argsort(-source.confidence, kind="stable")[:room]] = True
            logger.info("segment: %d objects of step %r; segmenting the %d most confident",
                        len(source), args.source, room)
            source = source[keep]
        for box in args.boxes or []:
            clip_box(box, ctx.image.shape, tool=self.name)  # refuses boxes off the image
        for point in args.points or []:
            _check_point(point, ctx.image.shape[:2])
        return _Prompts(source, list(args.boxes or []), list(args.points or []))

    def _segmenter(self, method: str, ctx: ToolContext) -> Segmenter:
        if method == "grabcut":
            return GrabCutSegmenter()
        device = resolve_device(str(ctx.settings.get("device", "auto")))
        return ctx.experts.get(f"segment:{method}:{device}",
                               lambda: load_segmenter(method, device=device))


TOOLS: list[Tool] = [SegmentTool()]
