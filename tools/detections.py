"""One result type for detection, segmentation and OCR.

:class:`Detections` holds parallel numpy arrays. Adapters (:func:`from_ultralytics`,
:func:`from_easyocr`) convert another library's *output* without importing it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np


def _as_str_array(values: Iterable[Any], n: int, name: str) -> np.ndarray:
    arr = np.empty(n, dtype=object)
    values = list(values)
    if len(values) != n:
        raise ValueError(f"{name} has {len(values)} entries, expected {n}")
    for i, v in enumerate(values):
        arr[i] = "" if v is None else str(v)
    return arr


@dataclass
class Detections:
    """Boxes with labels, scores and optional masks, OCR text and extra data.

    Attributes:
        xyxy: ``(N, 4) float32`` boxes, XYXY pixels.
        confidence: ``(N,) float32`` scores in [0, 1].
        label: ``(N,) object`` class names (``"text"`` for OCR lines).
        mask: Optional ``(N, H, W) bool`` instance masks.
        text: Optional ``(N,) object`` recognised text (OCR).
        data: Extra per-detection arrays of length N (e.g. ``"colour"``).
    """

    xyxy: np.ndarray
    confidence: np.ndarray
    label: np.ndarray
    mask: np.ndarray | None = None
    text: np.ndarray | None = None
    data: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        xyxy = np.asarray(self.xyxy, dtype=np.float32)
        if xyxy.size == 0:
            xyxy = xyxy.reshape(0, 4)
        if xyxy.ndim != 2 or xyxy.shape[1] != 4:
            raise ValueError(f"xyxy must be (N, 4), got {xyxy.shape}")
        n = len(xyxy)
        self.xyxy = xyxy
        conf = np.asarray(self.confidence, dtype=np.float32).reshape(-1)
        if len(conf) != n:
            raise ValueError(f"confidence has {len(conf)} entries, expected {n}")
        self.confidence = conf
        self.label = _as_str_array(self.label, n, "label")
        if self.mask is not None:
            mask = np.asarray(self.mask, dtype=bool)
            if mask.ndim != 3 or len(mask) != n:
                raise ValueError(f"mask must be (N, H, W) with N={n}, got {mask.shape}")
            self.mask = mask
        if self.text is not None:
            self.text = _as_str_array(self.text, n, "text")
        data: dict[str, np.ndarray] = {}
        for key, values in dict(self.data).items():
            arr = np.asarray(values, dtype=object) if not isinstance(values, np.ndarray) else values
            if len(arr) != n:
                raise ValueError(f"data[{key!r}] has {len(arr)} entries, expected {n}")
            data[key] = arr
        self.data = data

    # -- construction ------------------------------------------------------
    @classmethod
    def empty(cls) -> Detections:
        """An empty result."""
        return cls(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), [])

    @classmethod
    def merge(cls, items: Iterable[Detections]) -> Detections:
        """Concatenate results; masks/text/data kept only where all have them."""
        items = [d for d in items if len(d)]
        if not items:
            return cls.empty()
        masks = None
        if all(d.mask is not None for d in items) and len({d.mask.shape[1:] for d in items}) == 1:
            masks = np.concatenate([d.mask for d in items])
        texts = None
        if all(d.text is not None for d in items):
            texts = np.concatenate([d.text for d in items])
        keys = set.intersection(*(set(d.data) for d in items))
        data = {k: np.concatenate([np.asarray(d.data[k], dtype=object) for d in items]) for k in keys}
        return cls(np.concatenate([d.xyxy for d in items]),
                   np.concatenate([d.confidence for d in items]),
                   np.concatenate([d.label for d in items]), masks, texts, data)

    # -- access -------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.xyxy)

    def __getitem__(self, index: Any) -> Detections:
        """Index with a boolean mask, an int, a slice or an index array."""
        if isinstance(index, (int, np.integer)):
            index = [int(index)]
        idx = np.asarray(index) if not isinstance(index, slice) else index
        if isinstance(idx, np.ndarray) and idx.dtype == bool and len(idx) != len(self):
            raise IndexError(f"boolean index has {len(idx)} entries, expected {len(self)}")
        return Detections(
            self.xyxy[idx], self.confidence[idx], self.label[idx],
            None if self.mask is None else self.mask[idx],
            None if self.text is None else self.text[idx],
            {k: v[idx] for k, v in self.data.items()},
        )

    @property
    def area(self) -> np.ndarray:
        """``(N,)`` mask areas where masks exist, else box areas, in pixels."""
        if len(self) == 0:
            return np.zeros(0, np.float32)
        if self.mask is not None:
            return self.mask.reshape(len(self), -1).sum(axis=1).astype(np.float32)
        wh = np.clip(self.xyxy[:, 2:] - self.xyxy[:, :2], 0, None)
        return (wh[:, 0] * wh[:, 1]).astype(np.float32)

    @property
    def center(self) -> np.ndarray:
        """``(N, 2)`` box centres (x, y) in pixels."""
        return (self.xyxy[:, :2] + self.xyxy[:, 2:]) / 2.0

    def with_data(self, key: str, values: Iterable[Any]) -> Detections:
        """A copy with ``data[key]`` set."""
        data = dict(self.data)
        data[key] = np.asarray(list(values), dtype=object)
        return Detections(self.xyxy, self.confidence, self.label, self.mask, self.text, data)

    def describe(self, i: int) -> str:
        """Short human text for detection ``i``: ``"red circle"`` or ``'text "STOP"'``."""
        parts = []
        colour = self.data.get("colour")
        if colour is not None and colour[i]:
            parts.append(str(colour[i]))
        parts.append(str(self.label[i]))
        s = " ".join(parts)
        if self.text is not None and self.text[i]:
            s += f' "{self.text[i]}"'
        return s

    def to_records(self, *, ndigits: int = 1) -> list[dict[str, Any]]:
        """JSON-able list: one dict per detection (no masks)."""
        out = []
        for i in range(len(self)):
            rec: dict[str, Any] = {
                "label": str(self.label[i]),
                "box": [round(float(v), ndigits) for v in self.xyxy[i]],
                "confidence": round(float(self.confidence[i]), 3),
            }
            if self.text is not None:
                rec["text"] = str(self.text[i])
            for k, v in self.data.items():
                val = v[i]
                rec[k] = val.item() if isinstance(val, np.generic) else val
            out.append(rec)
        return out


def from_ultralytics(result: Any, *, names: Mapping[int, str] | None = None) -> Detections:
    """Convert one ultralytics ``Results`` object (boxes, optional masks).

    Args:
        result: An ``ultralytics.engine.results.Results``.
        names: Class-id → name map; defaults to ``result.names``.

    Returns:
        Detections with masks resized to the original image when present.
    """
    boxes = result.boxes
    names = names if names is not None else result.names
    if boxes is None or len(boxes) == 0:
        return Detections.empty()
    xyxy = boxes.xyxy.cpu().numpy()
    conf = boxes.conf.cpu().numpy()
    cls = boxes.cls.cpu().numpy().astype(int)
    labels = [names[int(c)] for c in cls]
    mask = None
    if getattr(result, "masks", None) is not None:
        m = result.masks.data.cpu().numpy() > 0.5
        h, w = result.orig_shape
        if m.shape[1:] != (h, w):
            from PIL import Image

            m = np.stack([np.asarray(Image.fromarray(mi).resize((w, h), Image.NEAREST)) for mi in m])
        mask = m.astype(bool)
    return Detections(xyxy, conf, labels, mask)


def from_easyocr(output: Iterable[Any]) -> Detections:
    """Convert EasyOCR ``readtext(..., detail=1)`` output ``[(quad, text, conf), ...]``."""
    xyxy, conf, texts = [], [], []
    for quad, text, score in output:
        pts = np.asarray(quad, dtype=np.float32).reshape(-1, 2)
        xyxy.append([pts[:, 0].min(), pts[:, 1].min(), pts[:, 0].max(), pts[:, 1].max()])
        conf.append(float(score))
        texts.append(str(text))
    if not xyxy:
        return Detections(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), [], text=[])
    return Detections(np.asarray(xyxy), np.asarray(conf), ["text"] * len(texts), text=texts)
