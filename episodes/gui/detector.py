"""The UI-element detector trained here: YOLO11n on rendered MiniWoB++ screenshots.

``scripts/train_ui_detector.py`` renders MiniWoB++ pages (never the evaluation-only
tasks) and labels each screenshot from the page's DOM at generation time; at run time
the detector sees pixels only. Its checkpoint ships in ``lavr/tools/weights``
(``ui-yolo11n.pt``, with a JSON card of held-out metrics beside it), like the shapes
detector's, and loads with nothing downloaded.

:class:`UiDetector` finds :data:`UI_CLASSES` on an ``HxWx3 uint8 RGB`` screenshot and
returns :class:`DetectedElement` (kind, XYXY pixel box, score). :func:`complement`
turns the detections the classical parse (:func:`~lavr.episodes.gui.perception.find_elements`)
missed into :class:`~lavr.episodes.gui.perception.ScreenElement` so the agent can act on them.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lavr.core_model.checkpoints import check_checkpoint
from lavr.core_model.errors import UnsafeCheckpointError
from lavr.core_model.weights import WeightStatus, locate_weights
from lavr.episodes.gui.perception import ScreenElement, ScreenParse
from lavr.tools.detect import WEIGHTS_DIR, open_yolo
from lavr.tools.errors import ExpertUnavailableError

logger = logging.getLogger(__name__)

#: The detector's classes, in checkpoint order.
UI_CLASSES = ("button", "input", "checkbox", "radio", "link", "tab", "dropdown", "text")
#: The checkpoint's file name (in ``lavr/tools/weights`` or ``$LAVR_MODEL_DIR``).
WEIGHTS_FILE = "ui-yolo11n.pt"
#: Inference size when the card beside the checkpoint does not name one.
DEFAULT_IMGSZ = 256
#: Lowest score reported by default.
DEFAULT_CONF = 0.3
#: Name of the perception tool that runs the detector.
TOOL_NAME = "ui_elements"

Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class DetectedElement:
    """One UI element the detector found.

    Attributes:
        kind: One of :data:`UI_CLASSES`.
        box: ``(x1, y1, x2, y2)`` XYXY pixels of the screenshot.
        score: Detector confidence in [0, 1].
    """

    kind: str
    box: Box
    score: float

    @property
    def center(self) -> tuple[float, float]:
        """``(x, y)`` centre of the box in pixels."""
        return (self.box[0] + self.box[2]) / 2.0, (self.box[1] + self.box[3]) / 2.0

    def describe(self) -> str:
        """Short text for traces, e.g. ``checkbox 0.91 @(12,80)``."""
        x, y = self.center
        return f"{self.kind} {self.score:.2f} @({x:.0f},{y:.0f})"


def ui_detector_weights() -> WeightStatus:
    """Where the UI detector's checkpoint is (``$LAVR_MODEL_DIR``, then lavr's weights folder)."""
    return locate_weights(WEIGHTS_FILE, package_dirs=[WEIGHTS_DIR])


def _card_imgsz(path: Path) -> int:
    import json

    try:
        return int(json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))["imgsz"])
    except (OSError, ValueError, KeyError, TypeError):
        return DEFAULT_IMGSZ


class UiDetector:
    """Finds buttons, text fields, checkboxes, radios, links, tabs, dropdowns and text.

    The model loads on the first :meth:`detect` (ultralytics imported then), once.

    Args:
        weights: Checkpoint path; None resolves :data:`WEIGHTS_FILE` (:func:`ui_detector_weights`).
        conf: Lowest score kept.
    """

    def __init__(self, weights: str | os.PathLike | None = None, *,
                 conf: float = DEFAULT_CONF) -> None:
        self.weights = Path(weights) if weights is not None else None
        self.conf = conf
        self._model: Any = None
        self._imgsz = DEFAULT_IMGSZ
        self._lock = threading.Lock()

    def path(self) -> Path:
        """The checkpoint to load.

        Raises:
            ExpertUnavailableError: It is not on this machine (one line naming the file,
                where it was looked for and how to make it).
        """
        if self.weights is not None:
            if not self.weights.is_file():
                raise ExpertUnavailableError(
                    TOOL_NAME, f"UI detector checkpoint {self.weights} not found")
            return self.weights
        status = ui_detector_weights()
        if status.path is None:
            raise ExpertUnavailableError(
                TOOL_NAME, f"UI detector checkpoint {WEIGHTS_FILE} not found (looked in "
                f"{', '.join(status.searched)}); train it with scripts/train_ui_detector.py "
                f"or put it in $LAVR_MODEL_DIR")
        return status.path

    def load(self) -> Any:
        """The ultralytics model (loaded once; the checkpoint passes lavr's safety check first)."""
        with self._lock:
            if self._model is not None:
                return self._model
            path = self.path()
            try:
                check_checkpoint(path)
            except UnsafeCheckpointError as exc:
                raise ExpertUnavailableError(
                    TOOL_NAME, f"UI detector checkpoint {path.name} failed lavr's safety check "
                    f"({exc.reason})") from exc
            os.environ.setdefault("YOLO_OFFLINE", "1")
            try:
                from ultralytics import YOLO
            except ImportError as exc:
                raise ExpertUnavailableError(
                    TOOL_NAME, f"ultralytics is not installed ({exc}); pip install "
                    f"'lavr[detect]'") from exc
            model = open_yolo(YOLO, path, TOOL_NAME)
            names = model.names
            got = tuple(names[k] for k in sorted(names)) if isinstance(names, dict) else tuple(names)
            if got != UI_CLASSES:
                raise ExpertUnavailableError(
                    TOOL_NAME, f"{path.name} is not the UI detector: its classes are "
                    f"{', '.join(got)}, expected {', '.join(UI_CLASSES)}")
            self._imgsz = _card_imgsz(path)
            logger.info("loaded the UI detector from %s (imgsz %d)", path, self._imgsz)
            self._model = model
            return model

    def detect(self, image: np.ndarray, *, conf: float | None = None) -> list[DetectedElement]:
        """The UI elements on a screenshot, top to bottom then left to right.

        Args:
            image: ``HxWx3 uint8 RGB`` screenshot.
            conf: Lowest score kept (None: the detector's ``conf``).

        Returns:
            One :class:`DetectedElement` per box (boxes clipped to the image).
        """
        model = self.load()
        h, w = image.shape[:2]
        with self._lock:  # ultralytics predictors are not thread-safe
            result = model.predict(np.ascontiguousarray(image[..., ::-1]), imgsz=self._imgsz,
                                   conf=self.conf if conf is None else conf, device="cpu",
                                   verbose=False)[0]
        boxes = result.boxes.xyxy.cpu().numpy()
        scores = result.boxes.conf.cpu().numpy()
        classes = result.boxes.cls.cpu().numpy().astype(int)
        out = [DetectedElement(UI_CLASSES[c], (float(max(b[0], 0)), float(max(b[1], 0)),
                                               float(min(b[2], w)), float(min(b[3], h))),
                               float(s))
               for b, s, c in zip(boxes, scores, classes, strict=True)]
        return sorted(out, key=lambda e: (round(e.box[1] / 4), e.box[0]))


_SHARED: dict[str, UiDetector] = {}
_SHARED_LOCK = threading.Lock()


def shared_detector() -> UiDetector:
    """The process's default :class:`UiDetector` (one model for every agent and tool)."""
    with _SHARED_LOCK:
        return _SHARED.setdefault("default", UiDetector())


def _overlap_share(a: Sequence[float], b: Sequence[float]) -> float:
    """Intersection of ``a`` and ``b`` over the area of the smaller of the two."""
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    area = max(min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1])), 1e-6)
    return ix * iy / area


#: Detector kinds :func:`complement` adds, as the parse's kind and icon.
_AS_PARSE_KIND = {"button": ("button", ""), "tab": ("button", ""), "input": ("input", ""),
                  "dropdown": ("input", "dropdown"), "checkbox": ("checkbox", ""),
                  "radio": ("radio", "")}
#: Lowest detector score :func:`complement` trusts.
COMPLEMENT_SCORE = 0.5
#: A detection overlapping a parsed element by more than this share (of the smaller box)
#: is that element, already seen.
SEEN_OVERLAP = 0.3


def complement(parse: ScreenParse, found: Sequence[DetectedElement], *,
               min_score: float = COMPLEMENT_SCORE) -> ScreenParse:
    """``parse`` plus the interactive elements the detector found and the parse missed.

    A detection is added when it is a widget (button, tab, text field, dropdown, checkbox,
    radio), scores at least ``min_score``, lies below the instruction banner and overlaps
    no parsed element (:data:`SEEN_OVERLAP`). Tabs become buttons and dropdowns inputs
    with ``icon="dropdown"``, the kinds the agent acts on; text and links stay with the
    classical parse and OCR.

    Args:
        parse: The classical parse of the screenshot.
        found: The detector's elements on the same screenshot.
        min_score: Lowest score used.

    Returns:
        A new :class:`ScreenParse` (``parse`` itself when nothing was added).
    """
    added: list[ScreenElement] = []
    banner_bottom = parse.banner[3] if parse.banner is not None else 0
    for det in found:
        if det.score < min_score or det.kind not in _AS_PARSE_KIND:
            continue
        box = tuple(int(round(v)) for v in det.box)
        if box[2] - box[0] < 4 or box[3] - box[1] < 4 or box[1] < banner_bottom:
            continue
        if any(_overlap_share(box, e.box) > SEEN_OVERLAP for e in (*parse.elements, *added)):
            continue
        kind, icon = _AS_PARSE_KIND[det.kind]
        text_boxes = (box,) if kind == "button" else ()
        added.append(ScreenElement(kind, box, text_boxes=text_boxes, icon=icon))  # type: ignore[arg-type]
        logger.debug("UI detector adds %s", det.describe())
    if not added:
        return parse
    elements = sorted([*parse.elements, *added], key=lambda e: (e.box[1] // 6, e.box[0], e.box[1]))
    return ScreenParse(image=parse.image, elements=elements, banner=parse.banner)
