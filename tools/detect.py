"""Object detection with YOLO experts: shapes, COCO and open-vocabulary detectors.

Detectors, by name:

- ``shapes``: ``shapes-yolo11n.pt`` shipped in ``lavr/tools/weights`` (circle,
  square, triangle).
- ``coco`` (alias ``yolo11n``): ``yolo11n.pt``, the 80 COCO classes.
- ``yolo-world`` (``yolov8s-worldv2.pt``) and ``yoloe`` (``yoloe-11s-seg.pt``):
  open vocabulary; the requested labels become the model's classes, embedded by a
  text encoder (CLIP, MobileCLIP) that lavr resolves itself, never from the working
  directory (:mod:`lavr.tools.text_encoders`).
- a path ending in ``.pt``, from the operator only (``--detector PATH``,
  ``VisualAgent(detector=PATH)``): that checkpoint. A plan (written by a model or
  edited in the demo) may name only the detectors above: :class:`DetectArgs` refuses
  paths. Every checkpoint passes :func:`~lavr.core_model.checkpoints.check_checkpoint`
  before ultralytics unpickles it.

``auto`` picks the first detector whose vocabulary covers the requested labels
and whose weights are on this machine. Importing this module never imports
torch or ultralytics; models load on first use through the expert pool.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

import numpy as np
from pydantic import Field, StringConstraints, field_validator

from lavr.core_model import deadline
from lavr.core_model.checkpoints import check_checkpoint
from lavr.core_model.download import (
    WeightAsset,
    asset_url,
    download_asset,
    offline_reason,
    reachable,
)
from lavr.core_model.errors import InputError, UnsafeCheckpointError, WeightsNotFoundError
from lavr.core_model.weights import (
    WeightStatus,
    downloads_allowed,
    locate_weights,
    resolve_weights,
)
from lavr.tools.base import ExpertPool, ResultCache, Tool, ToolArgs, ToolContext, ToolResult
from lavr.tools.batching import MicroBatcher
from lavr.tools.detections import Detections, from_ultralytics
from lavr.tools.errors import ExpertUnavailableError, ToolError
from lavr.tools.labels import (
    COCO_CLASSES,
    SHAPES_CLASSES,
    canonical_label,
    clean_label,
    normalise_label,
)
from lavr.tools.vocab import join_words, plural

__all__ = [
    "COCO_CLASSES", "SHAPES_CLASSES", "DETECTORS", "DetectTool", "DetectorRun", "DetectorSpec",
    "TOOLS", "Batching", "DetectorLoader", "PredictOptions", "predict_raw", "check_detector_setting", "detect_batch",
    "detector_names", "detector_vocabulary", "detector_weights", "get_detector", "is_detector_name",
    "lane_plan", "list_detectors", "normalise_label", "resolve_device", "select_detectors",
]

logger = logging.getLogger(__name__)

#: Weights that ship inside the package.
WEIGHTS_DIR = Path(__file__).parent / "weights"
#: Order in which ``auto`` tries detectors.
AUTO_ORDER = ("shapes", "coco", "yolo-world", "yoloe")
#: Closed-vocabulary detectors run together when no labels are asked for.
CLOSED_DETECTORS = ("shapes", "coco")
TOOL_NAME = "detect"
MAX_BOXES = 10
#: Most labels one detect step may ask for (an open-vocabulary model embeds each).
MAX_LABELS = 20
#: Longest label, in characters.
MAX_LABEL_CHARS = 60
#: The model runs at no more than this score threshold and its output is then cut at the
#: asked one, so calls at different thresholds (the agent's detect step, the verifier) share
#: one model pass through the result cache. Exact: a box above the asked threshold can only
#: be suppressed by a higher-scoring box, which both passes keep.
PREDICT_CONF_CEILING = 0.25

_ULTRALYTICS_RELEASES = "the Ultralytics assets releases (https://github.com/ultralytics/assets/releases)"


@dataclass(frozen=True)
class DetectorSpec:
    """What a detector is, before anything loads.

    Attributes:
        name: Detector name (``shapes``, ``coco`` ...) or the checkpoint path.
        weights: Candidate weight file names, preferred first (or one path).
        vocabulary: Class names; empty for open-vocabulary detectors and for
            checkpoints whose classes are only known once loaded.
        kind: ``yolo`` (closed vocabulary), ``world`` or ``yoloe``.
        imgsz: Inference size in pixels.
        hint: How to get the weights, for error messages.
        downloadable: Whether ultralytics can download the weights by name.
        explicit: True when ``weights[0]`` is a user-given path.
        conf: Default score threshold (when the caller gives none).
        nms_iou: IoU threshold of non-maximum suppression.
        agnostic_nms: Suppress overlapping boxes across classes (one object per place).
        size_mb: Approximate size of the first weights file (for ``lavr models``).
        extra: Other files the detector needs, in words (for ``lavr models``).
        min_decisive_share: For detectors trained on a narrow kind of image: the
            share of candidate boxes (score >= :data:`CANDIDATE_FLOOR`) that must
            reach ``conf`` for the image to count as one of its kind; below it the
            detector reports nothing for that image. None: no such check.
    """

    name: str
    weights: tuple[str, ...]
    vocabulary: tuple[str, ...] = ()
    kind: str = "yolo"
    imgsz: int = 640
    hint: str = ""
    downloadable: bool = False
    explicit: bool = False
    conf: float = 0.25
    nms_iou: float = 0.7
    agnostic_nms: bool = False
    size_mb: float = 0.0
    extra: str = ""
    min_decisive_share: float | None = None

    @property
    def open_vocabulary(self) -> bool:
        """Whether any label can be asked for (YOLO-World, YOLOE)."""
        return self.kind in ("world", "yoloe")


def _download_hint(filename: str) -> str:
    return (f"lavr downloads {filename} on first use when online; or download it from "
            f"{_ULTRALYTICS_RELEASES} and put it in $LAVR_MODEL_DIR.")


DETECTORS: dict[str, DetectorSpec] = {
    "shapes": DetectorSpec(
        "shapes", ("shapes-yolo11n.pt",), SHAPES_CLASSES, "yolo", 320,
        "The shapes detector ships with lavr in lavr/tools/weights; reinstall lavr.",
        # solid opaque shapes: one object per place; thresholds chosen on 300 generated
        # scenes (seed 7), see README "Detector thresholds". Decisive share: generated
        # scenes >= 0.6, photos and natural textures <= 0.42 (README "Expert choice").
        conf=0.5, nms_iou=0.5, agnostic_nms=True, size_mb=5.4, min_decisive_share=0.5),
    "coco": DetectorSpec(
        "coco", ("yolo11n.pt",), COCO_CLASSES, "yolo", 640, _download_hint("yolo11n.pt"),
        downloadable=True, size_mb=5.4),
    "yolo-world": DetectorSpec(
        "yolo-world", ("yolov8s-worldv2.pt", "yolov8m-worldv2.pt", "yolov8l-worldv2.pt",
                       "yolov8x-worldv2.pt"),
        (), "world", 640, _download_hint("yolov8s-worldv2.pt"), downloadable=True,
        size_mb=25.0, extra="CLIP ViT-B/32 text encoder (~340 MB, fetched by lavr on first use)"),
    "yoloe": DetectorSpec(
        "yoloe", ("yoloe-11s-seg.pt", "yoloe-11m-seg.pt", "yoloe-11l-seg.pt",
                  "yoloe-v8s-seg.pt"),
        (), "yoloe", 640, _download_hint("yoloe-11s-seg.pt"), downloadable=True,
        size_mb=27.0, extra="MobileCLIP text encoder (~570 MB, fetched by lavr on first use)"),
}
#: Where ultralytics publishes its standard weights (``$LAVR_WEIGHTS_URL`` overrides).
ULTRALYTICS_ASSETS_URL = "https://github.com/ultralytics/assets/releases/download/v8.3.0/"
#: Lowest score counted as a candidate box by the decisiveness check.
CANDIDATE_FLOOR = 0.05
_ALIASES = {"yolo11n": "coco", "yolo11n.pt": "coco", "world": "yolo-world",
            "yoloworld": "yolo-world", "yolo_world": "yolo-world"}


# -- specs, weights and vocabularies ------------------------------------------------------
def _read_sidecar(weights: Path) -> dict[str, Any]:
    """The ``<weights>.json`` beside a checkpoint (imgsz, names), or ``{}``."""
    sidecar = weights.with_suffix(".json")
    if not sidecar.is_file():
        return {}
    try:
        data = json.loads(sidecar.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        logger.warning("ignoring unreadable %s: %s", sidecar, exc)
        return {}
    return data if isinstance(data, dict) else {}


def _sidecar_imgsz(data: dict[str, Any], default: int) -> int:
    value = data.get("imgsz", default)
    if isinstance(value, (list, tuple)) and value:
        value = max(value)
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _sidecar_names(data: dict[str, Any]) -> tuple[str, ...]:
    names = data.get("names", data.get("classes", ()))
    if isinstance(names, dict):
        names = [names[k] for k in sorted(names, key=lambda k: int(k))]
    return tuple(str(n) for n in names) if isinstance(names, (list, tuple)) else ()


def _path_spec(path: str) -> DetectorSpec:
    p = Path(path).expanduser()
    stem = p.stem.lower()
    kind = "world" if "world" in stem else "yoloe" if "yoloe" in stem else "yolo"
    data = _read_sidecar(p)
    vocabulary = () if kind != "yolo" else _sidecar_names(data)
    return DetectorSpec(str(p), (str(p),), vocabulary, kind, _sidecar_imgsz(data, 640),
                        explicit=True)


def is_detector_name(name: str) -> bool:
    """Whether ``name`` is ``auto`` or a registered detector name or alias (not a path)."""
    key = str(name).strip().lower()
    return key == "auto" or key in DETECTORS or key in _ALIASES


def detector_names() -> list[str]:
    """``auto`` and the registered detector names, for messages and pickers."""
    return ["auto", *DETECTORS]


def get_detector(name: str) -> DetectorSpec:
    """The :class:`DetectorSpec` for a detector name or an operator's ``.pt`` path.

    Paths are operator configuration: callers holding a name from a plan, a model
    or a web client check it with :func:`is_detector_name` first.

    Raises:
        ToolError: The name is neither a known detector nor a ``.pt`` path.
    """
    key = str(name).strip()
    if key.lower().endswith(".pt") and key.lower() not in _ALIASES:
        return _path_spec(key)
    key = _ALIASES.get(key.lower(), key.lower())
    if key not in DETECTORS:
        raise ToolError(TOOL_NAME, f"unknown detector {name!r}; expected one of "
                                   f"{', '.join(['auto', *DETECTORS])} or a path ending in .pt")
    return DETECTORS[key]


def check_detector_setting(detector: str) -> str:
    """Check an operator's detector setting up front: a registered name, or a ``.pt``
    file that exists and passes the checkpoint safety check.

    Args:
        detector: ``auto``, a detector name, or a path to a ``.pt`` checkpoint.

    Returns:
        ``detector`` unchanged.

    Raises:
        InputError: Not a name and not an existing ``.pt`` file.
        UnsafeCheckpointError: The file could run code when unpickled (or is not a
            checkpoint); nothing in it was run.
    """
    value = str(detector).strip()
    if is_detector_name(value):
        return detector
    if not value.lower().endswith(".pt"):
        raise InputError(f"detector {value!r}: expected one of {', '.join(detector_names())} "
                         f"or a path to a .pt checkpoint")
    path = Path(value).expanduser()
    if not path.is_file():
        raise InputError(f"detector {value!r}: no such file; expected a YOLO checkpoint (.pt) or "
                         f"one of {', '.join(detector_names())}")
    check_checkpoint(path)
    return detector


def detector_vocabulary(name: str) -> list[str]:
    """Class names a detector knows, without loading it.

    Open-vocabulary detectors (``yolo-world``, ``yoloe``) return ``[]``: they take
    any label. A ``.pt`` path returns the names in its ``.json`` sidecar, else ``[]``.
    """
    return list(get_detector(name).vocabulary)


def _library_weights_dirs() -> list[Path]:
    """ultralytics' own weights folder (imports ultralytics; ``[]`` when not installed)."""
    try:
        from ultralytics.utils import SETTINGS
    except ImportError:
        return []
    return [Path(SETTINGS["weights_dir"])]


def detector_weights(spec: DetectorSpec) -> WeightStatus:
    """Where a detector's weights are, without downloading (first present candidate)."""
    if spec.explicit:
        return locate_weights(Path(spec.weights[0]).name, explicit=spec.weights[0])
    cache_dirs = [] if spec.name == "shapes" else _library_weights_dirs()
    statuses = []
    for filename in spec.weights:
        status = locate_weights(filename, package_dirs=[WEIGHTS_DIR], cache_dirs=cache_dirs)
        if status.present:
            return status
        statuses.append(status)
    return statuses[0]


def weight_asset(spec: DetectorSpec) -> WeightAsset | None:
    """The downloadable file of a built-in detector, or None."""
    if not spec.downloadable or spec.explicit:
        return None
    filename = spec.weights[0]
    return WeightAsset(filename, ULTRALYTICS_ASSETS_URL + filename, spec.size_mb)


def _download_ultralytics(filename: str) -> Path:
    """Fetch an ultralytics asset into lavr's download folder; it must pass the
    checkpoint safety check before it is kept."""
    spec = next(s for s in DETECTORS.values() if s.weights[0] == filename)
    asset = weight_asset(spec)
    if asset is None:
        raise ToolError(TOOL_NAME, f"{filename} is not downloadable")
    return download_asset(asset, verify=check_checkpoint)


def would_download(spec: DetectorSpec) -> bool:
    """Whether ``spec``'s missing weights would be fetched on first use right now."""
    asset = weight_asset(spec)
    return asset is not None and downloads_allowed() and reachable(asset_url(asset))


def _resolve_path(spec: DetectorSpec) -> Path:
    """A local weights path for ``spec``, downloading only when allowed.

    Raises:
        ExpertUnavailableError: The weights are not here (message names file and hint).
    """
    status = detector_weights(spec)
    if status.path is not None:
        return status.path
    if spec.explicit:
        raise ExpertUnavailableError(
            TOOL_NAME, f"detector weights {spec.weights[0]} do not exist; expected a YOLO "
                       f"checkpoint (.pt) file")
    filename = spec.weights[0]
    download = (lambda: _download_ultralytics(filename)) if spec.downloadable else None
    try:
        return resolve_weights(filename, package_dirs=[WEIGHTS_DIR], download=download,
                               cache_dirs=[] if spec.name == "shapes" else _library_weights_dirs(),
                               hint=spec.hint)
    except WeightsNotFoundError as exc:
        raise ExpertUnavailableError(TOOL_NAME, f"detector {spec.name!r} unavailable: {exc}",
                                     detail=exc.hint) from exc
    except UnsafeCheckpointError as exc:  # a downloaded file that failed the safety check
        raise ExpertUnavailableError(
            TOOL_NAME, f"detector {spec.name!r}: the downloaded {filename} was not kept: {exc}",
            user_message=f"I can't use the {spec.name} detector: the {filename} downloaded from "
                         f"{asset_url(weight_asset(spec) or WeightAsset(filename, '', 0))} failed "
                         f"lavr's safety check ({exc.reason}), so it was deleted.") from exc


def list_detectors() -> list[dict[str, Any]]:
    """One record per built-in detector, for ``lavr models``.

    Returns:
        Dicts with ``name``, ``weights`` (file name), ``path`` (resolved, or None),
        ``present``, ``vocabulary_size`` (None for open vocabulary) and
        ``open_vocabulary``.
    """
    rows = []
    for spec in DETECTORS.values():
        status = detector_weights(spec)
        rows.append({
            "name": spec.name,
            "weights": status.filename,
            "path": str(status.path) if status.path else None,
            "present": status.present,
            "vocabulary_size": None if spec.open_vocabulary else len(spec.vocabulary),
            "open_vocabulary": spec.open_vocabulary,
        })
    return rows


# -- choosing detectors ---------------------------------------------------------------------
@dataclass(frozen=True)
class DetectorRun:
    """One detector to run and the labels to keep (empty: everything it finds)."""

    detector: str
    labels: tuple[str, ...] = ()


def _map_labels(labels: Sequence[str], spec: DetectorSpec) -> tuple[str, ...] | None:
    """Labels in ``spec``'s vocabulary, or None when one of them is not in it."""
    if spec.open_vocabulary:
        return tuple(dict.fromkeys(canonical_label(w) for w in labels))
    if not spec.vocabulary:  # a checkpoint whose classes are known only once loaded
        return tuple(dict.fromkeys(clean_label(w) for w in labels))
    mapped = [normalise_label(w, spec.vocabulary) for w in labels]
    if any(m is None for m in mapped):
        return None
    return tuple(dict.fromkeys(m for m in mapped if m is not None))


def is_usable(name: str) -> bool:
    """Whether a detector can run here: weights present, or fetched on first use."""
    spec = get_detector(name)
    return detector_weights(spec).present or would_download(spec)


def _plural(word: str) -> str:
    if word.endswith(("s", "x", "z", "ch", "sh")):
        return word + "es"
    if word.endswith("y") and word[-2:-1] not in ("a", "e", "i", "o", "u"):
        return word[:-1] + "ies"
    if word.endswith("person"):
        return word[:-6] + "people"
    return word + "s"


def _words(labels: Sequence[str]) -> str:
    names = [_plural(str(w)) for w in dict.fromkeys(labels)]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


def cannot_look_message(labels: Sequence[str], detector: str, *, detail: str = "",
                        context: str = "") -> str:
    """What to tell a user when the detector that could answer is not on this machine.

    Args:
        labels: What was asked for (empty: the whole picture).
        detector: The built-in detector that would serve.
        detail: Why its weights are missing (offline, download failed ...).
        context: Why the detectors that are here do not help, if known.

    Returns:
        Plain sentences: what lavr cannot do, why, and what the user can do.
    """
    spec = DETECTORS[detector]
    file = spec.weights[0]
    size = f", about {spec.size_mb:g} MB" if spec.size_mb else ""
    what = f"look for {_words(labels)}" if labels else "describe this picture"
    if not labels:
        knows = f"the {spec.name} detector can"
    elif spec.open_vocabulary:
        knows = f"an open-vocabulary detector ({spec.name}) could look for them"
    else:
        knows = f"the {spec.name} detector knows them"
    offline = offline_reason()
    why = offline or (detail.split(". ")[0].rstrip(". ") if detail else "")
    if why.startswith("download failed: "):
        why = "the download failed: " + why.removeprefix("download failed: ")
    here = f" ({context})" if context else ""
    text = (f"I can't {what} with the detectors installed here{here}: {knows}, but its weights "
            f"({file}{size}) are not on this machine" + (f" and {why}" if why else "") + ". ")
    if offline:
        text += (f"Turn offline mode off and ask again to download {file}, or put the file "
                 f"in $LAVR_MODEL_DIR.")
    elif spec.downloadable:
        text += (f"Connect to the internet and ask again (lavr downloads {file} on first use), "
                 f"or put the file in $LAVR_MODEL_DIR.")
    else:
        text += spec.hint
    if spec.extra:
        text += f" It also needs its {spec.extra}."
    return text


def _explicit_run(labels: Sequence[str], detector: str) -> list[DetectorRun]:
    spec = get_detector(detector)
    mapped = _map_labels(labels, spec)
    if mapped is None:
        unknown = [w for w in labels if normalise_label(w, spec.vocabulary) is None]
        raise ToolError(TOOL_NAME, f"detector {spec.name!r} knows {', '.join(spec.vocabulary)}; "
                                   f"got {', '.join(map(repr, unknown))}")
    return [DetectorRun(spec.name, mapped)]


def _split_closed(labels: Sequence[str], present: Callable[[str], bool]) -> list[DetectorRun]:
    """Spread labels over present closed-vocabulary detectors; [] if one is left over."""
    parts: dict[str, list[str]] = {}
    for word in labels:
        for name in CLOSED_DETECTORS:
            mapped = normalise_label(word, DETECTORS[name].vocabulary)
            if mapped is not None and present(name):
                parts.setdefault(name, []).append(mapped)
                break
        else:
            return []
    return [DetectorRun(n, tuple(dict.fromkeys(ls))) for n, ls in parts.items()]


def _missing_error(labels: Sequence[str], missing: Sequence[str]) -> ExpertUnavailableError:
    specs = [DETECTORS[n] for n in missing]
    msg = cannot_look_message(labels, specs[0].name)
    if len(specs) > 1:
        logger.info("detect: %s would also serve", ", ".join(s.name for s in specs[1:]))
    return ExpertUnavailableError(TOOL_NAME, msg, user_message=msg)


def select_detectors(
    labels: Sequence[str] = (),
    *,
    detector: str = "auto",
    present: Callable[[str], bool] | None = None,
) -> list[DetectorRun]:
    """Decide which detectors to run for ``labels``.

    ``auto`` with labels: the first of shapes, coco whose vocabulary covers every
    label and whose weights are present; else the labels spread over present
    closed-vocabulary detectors; else a present open-vocabulary detector.
    ``auto`` without labels: every present closed-vocabulary detector.

    Args:
        labels: Requested labels as written (synonyms and plurals allowed).
        detector: ``auto``, a detector name or a ``.pt`` path.
        present: Whether a detector can run (defaults to :func:`is_usable`: weights
            on this machine or fetched on first use); lets tests decide without files.

    Returns:
        Detectors to run, each with its canonical labels.

    Raises:
        ExpertUnavailableError: Only detectors without weights could serve.
        ToolError: Unknown detector, or labels a named detector does not know.
    """
    present = present or is_usable
    if detector.strip().lower() != "auto":
        return _explicit_run(labels, detector)
    if not labels:
        runs = [DetectorRun(n) for n in CLOSED_DETECTORS if present(n)]
        if not runs:
            raise _missing_error([], CLOSED_DETECTORS)
        skipped = [n for n in CLOSED_DETECTORS if not any(r.detector == n for r in runs)]
        if skipped:
            logger.info("detect auto: skipping %s (weights not on this machine)",
                        ", ".join(skipped))
        return runs
    missing: list[str] = []
    for name in CLOSED_DETECTORS:
        mapped = _map_labels(labels, DETECTORS[name])
        if mapped is not None:
            if present(name):
                return [DetectorRun(name, mapped)]
            missing.append(name)
    split = _split_closed(labels, present)
    if split:
        return split
    for name in AUTO_ORDER:
        if DETECTORS[name].open_vocabulary:
            if present(name):
                return [DetectorRun(name, _map_labels(labels, DETECTORS[name]) or ())]
            missing.append(name)
    raise _missing_error(labels, missing)


@dataclass
class Coverage:
    """Which detectors can look for what (:func:`coverage`).

    Attributes:
        groups: Detector name → labels to ask it for ([] = everything it knows).
        unavailable: Label → why no detector can look for it.
        everything_reason: Why "every object" cannot be counted, else None.
    """

    groups: dict[str, list[str]] = field(default_factory=dict)
    unavailable: dict[str, str] = field(default_factory=dict)
    everything_reason: str | None = None

    def labels_of(self, detector: str, labels: Sequence[str]) -> list[str]:
        """Which of ``labels`` ``detector`` may find (all for an open-vocabulary one)."""
        spec = get_detector(detector)
        return [x for x in labels
                if spec.open_vocabulary or not spec.vocabulary or x in spec.vocabulary]


def coverage(labels: Sequence[str], *, everything: bool = False,
             detector: str = "auto") -> Coverage:
    """The detector calls that look for ``labels`` (and every object, with
    ``everything``): one per detector, a closed-vocabulary detector asked for
    everything it knows (its other classes tell occluded shapes apart), an
    open-vocabulary one for the labels it is to find.

    Args:
        labels: Canonical labels.
        everything: Whether every object is wanted (then ``auto`` needs the weights
            of every closed-vocabulary detector).
        detector: ``auto``, a detector name or a ``.pt`` path.
    """
    out = Coverage()
    if everything:
        try:
            for run in select_detectors([], detector=detector):
                out.groups.setdefault(run.detector, [])
        except ToolError as exc:
            out.everything_reason = exc.reason
        if detector.strip().lower() == "auto" and out.everything_reason is None:
            missing = [n for n in CLOSED_DETECTORS
                       if not detector_weights(get_detector(n)).present]
            if missing:
                out.everything_reason = (
                    f"counting every object needs all detectors; weights missing for "
                    f"{', '.join(missing)}")
    for label in labels:
        try:
            runs = select_detectors([label], detector=detector)
        except ToolError as exc:
            out.unavailable[label] = exc.reason
            continue
        for run in runs:
            wanted = out.groups.setdefault(run.detector, [])
            if get_detector(run.detector).open_vocabulary:
                wanted.extend(x for x in run.labels if x not in wanted)
    return out


# -- loading and running ---------------------------------------------------------------------
def resolve_device(device: str | None = "auto") -> str:
    """``auto`` → ``cuda`` when ``torch.cuda.is_available()`` else ``cpu``; others unchanged."""
    if device and device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


@dataclass
class LoadedDetector:
    """A loaded ultralytics model with what is needed to run it.

    Attributes:
        model: The ultralytics ``YOLO`` / ``YOLOWorld`` / ``YOLOE`` model.
        spec: The detector it came from.
        path: The weights file.
        device: Torch device string.
        imgsz: Inference size.
        key: Identity of the loaded model in the expert pool (result-cache keys use it).
        remote: Runs the model elsewhere (a served expert): ``remote(images, conf)``
            returns the raw detections; ``model`` is then None.
        replicate: Loads another copy of ``model`` (same weights and classes); with it,
            up to ``lanes`` predictions run at once, each on its own copy
            (ultralytics predictors are not thread-safe, so one copy serves one
            call at a time).
        lanes: Most copies (and so predictions at once); see :meth:`use_lanes`.
    """

    model: Any
    spec: DetectorSpec
    path: Path
    device: str
    imgsz: int
    key: str = ""
    remote: Callable[[list[np.ndarray], float], list[Detections]] | None = field(
        default=None, repr=False)
    replicate: Callable[[], Any] | None = field(default=None, repr=False)
    lanes: int = 1
    _made: int = field(default=0, repr=False)
    _free: list[Any] = field(default_factory=list, repr=False)
    _copies_cond: threading.Condition = field(default_factory=threading.Condition, repr=False)
    _batchers: dict[Any, MicroBatcher[np.ndarray, Detections]] = field(
        default_factory=dict, repr=False)
    _batchers_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        if self.model is not None:
            self._made = 1
            self._free.append(self.model)

    def use_lanes(self, lanes: int) -> None:
        """Allow up to ``lanes`` predictions at once (copies load on first need; the
        number only grows)."""
        with self._copies_cond:
            self.lanes = max(self.lanes, lanes)
            self._copies_cond.notify_all()

    @contextmanager
    def copy(self) -> Iterator[Any]:
        """A copy of the model for the caller alone while the block runs (waits for
        one to be free, or loads another while fewer than ``lanes`` exist)."""
        with self._copies_cond:
            while not self._free and (self._made >= self.lanes or self.replicate is None):
                self._copies_cond.wait()
            fresh = not self._free
            if fresh:
                self._made += 1  # this slot is ours; the copy loads outside the lock
            else:
                model = self._free.pop()
        if fresh:
            try:
                model = self.replicate()  # type: ignore[misc]
            except BaseException:
                with self._copies_cond:
                    self._made -= 1
                    self._copies_cond.notify_all()
                raise
            logger.info("detector %s: copy %d loaded for a parallel lane", self.spec.name,
                        self._made)
        try:
            yield model
        finally:
            with self._copies_cond:
                self._free.append(model)
                self._copies_cond.notify()

    def batcher(self, key: Any, batching: Batching,
                fn: Callable[[list[np.ndarray]], list[Detections]]) -> MicroBatcher[np.ndarray, Detections]:
        """The micro-batcher of single-image calls that share ``key`` (threshold, image shape)."""
        full = (key, batching)
        with self._batchers_lock:  # not ``_copies_cond``: waited on while models run
            found = self._batchers.get(full)
            if found is None:
                found = MicroBatcher(fn, max_size=batching.max_size,
                                     max_wait_s=batching.max_wait_s, lanes=batching.lanes)
                self._batchers[full] = found
            return found

    @property
    def names(self) -> list[str]:
        """Class names of the loaded model, by class id."""
        if self.model is None:  # served elsewhere: the spec's vocabulary
            return list(self.spec.vocabulary)
        names = self.model.names
        return [names[k] for k in sorted(names)] if isinstance(names, dict) else list(names)


def _import_ultralytics() -> Any:
    try:
        import ultralytics
    except ImportError as exc:
        raise ExpertUnavailableError(
            TOOL_NAME, f"ultralytics is not installed ({exc}); pip install 'lavr[detect]'") from exc
    return ultralytics


def open_yolo(cls: Any, path: Path, tool: str = TOOL_NAME) -> Any:
    """``cls(path)`` for an ultralytics model class; a file ultralytics cannot read as its
    model (a checkpoint of something else, a damaged one) becomes one clear error.

    Raises:
        ExpertUnavailableError: ultralytics could not load the file.
    """
    try:
        return cls(str(path))
    except Exception as exc:  # ultralytics raises TypeError/KeyError/RuntimeError... here
        reason = " ".join(str(exc).replace("ERROR", "").replace("\u274c\ufe0f", "").split())
        raise ExpertUnavailableError(
            tool, f"{path.name} is not a model ultralytics can load ({type(exc).__name__}: "
                  f"{reason.split('. ')[0][:200]})",
            user_message=f"I can't use the weights file {path.name}: it is not an ultralytics "
                         f"model. Replace it with a genuine copy.") from exc


def _set_vocabulary(model: Any, spec: DetectorSpec, labels: Sequence[str]) -> None:
    """Set an open-vocabulary model's classes; its text encoder is resolved by lavr
    (:mod:`lavr.tools.text_encoders`: configured folders or lavr's download, never the
    working directory), not by ultralytics."""
    from lavr.tools.text_encoders import set_classes

    if not labels:
        raise ToolError(TOOL_NAME, f"open-vocabulary detector {spec.name!r} needs labels to look for")
    set_classes(model, spec.kind, labels)


def load_detector(spec: DetectorSpec, *, labels: Sequence[str] = (), device: str = "cpu") -> LoadedDetector:
    """Load a detector's model (weights resolved locally first).

    Args:
        spec: The detector.
        labels: Classes to set on open-vocabulary models.
        device: Torch device string.

    Raises:
        ExpertUnavailableError: ultralytics or the weights are missing.
    """
    path = _resolve_path(spec)
    try:
        check_checkpoint(path)
    except UnsafeCheckpointError as exc:
        raise ExpertUnavailableError(
            TOOL_NAME, f"detector {spec.name!r}: {exc}",
            user_message=f"I can't use the {spec.name} detector: its weights file {path.name} "
                         f"failed lavr's safety check ({exc.reason}). Replace it with a genuine "
                         f"copy.") from exc
    ultralytics = _import_ultralytics()
    cls = {"world": ultralytics.YOLOWorld, "yoloe": ultralytics.YOLOE}.get(spec.kind,
                                                                           ultralytics.YOLO)
    model = open_yolo(cls, path)
    if spec.open_vocabulary:
        _set_vocabulary(model, spec, labels)
    imgsz = _sidecar_imgsz(_read_sidecar(path), spec.imgsz)
    logger.info("loaded detector %s from %s (imgsz %d, %s)", spec.name, path, imgsz, device)
    return LoadedDetector(model, spec, path, device, imgsz)


@dataclass(frozen=True)
class DetectorLoader:
    """Loads one detector into an expert pool; a pool that serves experts elsewhere
    builds a :meth:`proxy` instead (see ``lavr serve``).

    Attributes:
        spec: The detector.
        labels: Classes set on an open-vocabulary model.
        device: Torch device string.
        key: The pool key.
    """

    spec: DetectorSpec
    labels: tuple[str, ...]
    device: str
    key: str

    def __call__(self) -> LoadedDetector:
        loaded = load_detector(self.spec, labels=self.labels, device=self.device)
        loaded.key = f"{self.key}:{loaded.path}"
        loaded.replicate = self._model
        return loaded

    def _model(self) -> Any:
        return load_detector(self.spec, labels=self.labels, device=self.device).model

    def proxy(self, remote: Callable[[list[np.ndarray], float], list[Detections]]
              ) -> LoadedDetector:
        """A stand-in whose predictions come from ``remote(images, conf)`` (no model here)."""
        return LoadedDetector(None, self.spec, Path(self.spec.weights[0]), self.device,
                              self.spec.imgsz, key=f"{self.key}:served", remote=remote)


def _expert_key(spec: DetectorSpec, run: DetectorRun, device: str) -> str:
    """The expert-pool key of ``run``'s model on ``device``."""
    key = f"detect:{spec.name}:{device}"
    if spec.open_vocabulary:
        key += ":" + "|".join(run.labels)
    return key


def _get_loaded(run: DetectorRun, experts: ExpertPool, device: str) -> LoadedDetector:
    spec = get_detector(run.detector)
    key = _expert_key(spec, run, device)
    return experts.get(key, DetectorLoader(spec, tuple(run.labels), device, key))


@lru_cache(maxsize=256)
def _model_keys(labels: tuple[str, ...], detector: str, device: str) -> tuple[str, ...] | None:
    """Expert-pool keys of the models a detect call with these labels and detector runs
    (None: the call fails before any runs). Kept: the choice depends only on which
    weights this machine has, which a process does not see change in practice (if it
    did, a call would load its model in the graph's thread, once)."""
    try:
        runs = select_detectors(labels, detector=detector)
        return tuple(_expert_key(get_detector(run.detector), run, device) for run in runs)
    except ToolError:  # ExpertUnavailableError too
        return None


def _ready_here(key: str, experts: ExpertPool) -> bool:
    """Whether the model under ``key`` is loaded in this process with every copy it may
    use (not a served stand-in, nothing left to load)."""
    loaded = experts.peek(key)
    return isinstance(loaded, LoadedDetector) and loaded.remote is None and \
        loaded.model is not None and loaded._made >= loaded.lanes


def predict_raw(detector: str, images: Sequence[np.ndarray], *, labels: Sequence[str], conf: float,
                experts: ExpertPool, device: str = "auto") -> list[Detections]:
    """One model call on ``HxWx3 uint8 RGB`` images, unfiltered by label (what a served
    detector answers for :meth:`DetectorLoader.proxy`).

    Args:
        detector: Detector name or ``.pt`` path.
        labels: Classes set on an open-vocabulary model (ignored by closed ones).
        images: The images.
        conf: Score threshold.
        experts: Pool the model loads into.
        device: ``auto``, ``cpu``, ``cuda`` ...
    """
    _check_images(images)
    loaded = _get_loaded(DetectorRun(detector, tuple(labels)), experts, resolve_device(device))
    return _predict_now(loaded, images, conf)


def _keep_labels(loaded: LoadedDetector, run: DetectorRun) -> tuple[str, ...]:
    """The run's labels spelled as the loaded model names them."""
    if not run.labels or loaded.spec.vocabulary:
        return run.labels
    names = loaded.names
    mapped = [normalise_label(w, names) for w in run.labels]
    unknown = [w for w, m in zip(run.labels, mapped, strict=True) if m is None]
    if unknown:
        raise ToolError(TOOL_NAME, f"detector {loaded.spec.name!r} knows {', '.join(names)}; "
                                   f"got {', '.join(map(repr, unknown))}")
    return tuple(dict.fromkeys(m for m in mapped if m is not None))


@dataclass(frozen=True)
class Batching:
    """How one-image detector calls from concurrent threads are grouped (see
    :class:`~lavr.tools.batching.MicroBatcher`).

    Attributes:
        max_size: Most images in one model call.
        max_wait_s: How long the first call waits for others (0: never waits;
            calls that arrive while the model runs still join the next batch).
        lanes: Batches that may run at once, each on its own copy of the model
            (see :func:`lane_plan`).
        threads: Torch intra-op threads of each lane (0: leave torch's setting).
    """

    max_size: int = 8
    max_wait_s: float = 0.0
    lanes: int = 1
    threads: int = 0


#: Most model copies :func:`lane_plan` asks for (memory grows with each copy).
MAX_LANES = 8


def usable_cores() -> int:
    """CPU cores this process may run on (its affinity mask where the OS has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def lane_plan(device: str, cores: int | None = None) -> tuple[int, int]:
    """How many detector lanes (model copies predicting at once) and torch threads per
    lane keep a machine's cores busy: ``(lanes, threads)``.

    On a CPU, one small-image YOLO call keeps about one core busy whatever torch's
    thread count (decoding, letterboxing, NMS and the small layers run serially), so
    the cores are filled by running calls side by side: one lane per core (at most
    :data:`MAX_LANES`, the cores shared out among them) with that many intra-op
    threads each. A GPU runs one lane and gets its parallelism from the batch.
    """
    if not device.startswith("cpu"):
        return 1, 0
    cores = cores or usable_cores()
    lanes = min(cores, MAX_LANES)
    return lanes, max(1, cores // lanes)


@dataclass(frozen=True)
class PredictOptions:
    """Where predictions may be shared: the result cache and the micro-batcher.

    Attributes:
        cache: Result cache for raw model output, keyed by (image hash, model, threshold).
        image_hashes: Content hashes of the images (needed for the cache).
        batching: Group one-image calls across threads (None: call the model directly).
    """

    cache: ResultCache | None = None
    image_hashes: Sequence[str] | None = None
    batching: Batching | None = None


def _predict_now(loaded: LoadedDetector, images: Sequence[np.ndarray],
                 conf: float) -> list[Detections]:
    """Run the model on ``HxWx3 uint8 RGB`` images in one call."""
    if loaded.remote is not None:
        return loaded.remote(list(images), conf)
    bgr = [np.ascontiguousarray(np.asarray(im)[..., ::-1]) for im in images]
    spec = loaded.spec
    with loaded.copy() as model:
        results = model.predict(bgr, imgsz=loaded.imgsz, conf=conf,
                                iou=spec.nms_iou, agnostic_nms=spec.agnostic_nms,
                                device=loaded.device, verbose=False)
    return [from_ultralytics(r) for r in results]


def _use_torch_threads(threads: int) -> None:
    """Set the calling thread's torch intra-op threads to ``threads`` (0: unchanged).

    With torch's OpenMP backend the count belongs to the calling thread, so lanes in
    different threads do not share one thread team. It is not set back afterwards:
    that would resize torch's thread pools twice a call, and a thread that runs lanes
    keeps running them.
    """
    if threads <= 0:
        return
    import torch

    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)


def _decisive(spec: DetectorSpec, raw: Detections, want: float, pconf: float
              ) -> tuple[Detections, str]:
    """Keep the detections above ``want``; for a narrow-domain detector, none at all when
    too few of its candidate boxes are confident (the image is not of its kind).

    Returns:
        The detections and a note ("" or why they were all dropped).
    """
    dets = raw[raw.confidence > want] if want > pconf else raw
    share = spec.min_decisive_share
    if share is None or not len(dets) or len(dets) >= share * len(raw):
        return dets, ""
    note = (f"this picture does not look like the {spec.name} detector's images (only "
            f"{len(dets)} of {len(raw)} candidate boxes are confident); its "
            f"{len(dets)} detection{'s' if len(dets) != 1 else ''} were not used")
    logger.info("detect %s: %s", spec.name, note)
    return dets[np.zeros(len(dets), bool)], note


def _predict(loaded: LoadedDetector, images: Sequence[np.ndarray], conf: float | None,
             options: PredictOptions | None = None) -> list[tuple[Detections, str]]:
    """Detections of ``HxWx3 uint8 RGB`` images at threshold ``conf`` (None: spec default).

    Cached raw output is reused; the rest goes to the model in one call, or through
    the micro-batcher when a single image is asked for and batching is on. A detector
    with ``min_decisive_share`` predicts down to :data:`CANDIDATE_FLOOR` so its
    decisiveness can be measured (see :func:`_decisive`).

    Returns:
        Per image, the detections and a note ("" unless they were all dropped).
    """
    opts = options or PredictOptions()
    spec = loaded.spec
    want = spec.conf if conf is None else conf
    ceiling = CANDIDATE_FLOOR if spec.min_decisive_share is not None else PREDICT_CONF_CEILING
    pconf = min(want, ceiling)
    out: list[Detections | None] = [None] * len(images)
    keys: list[str | None] = [None] * len(images)
    if opts.cache is not None and opts.image_hashes is not None:
        for i, digest in enumerate(opts.image_hashes):
            keys[i] = ResultCache.key(digest, "detect.predict", {"model": loaded.key,
                                                                  "conf": pconf})
            out[i] = opts.cache.get(keys[i])  # type: ignore[arg-type]
    todo = [i for i, d in enumerate(out) if d is None]
    if len(todo) == 1 and opts.batching is not None:
        image = np.asarray(images[todo[0]])
        batching = opts.batching
        if batching.lanes > 1:
            loaded.use_lanes(batching.lanes)

        def lane(ims: list[np.ndarray]) -> list[Detections]:
            _use_torch_threads(batching.threads)  # the lane's thread, for its batches
            return _predict_now(loaded, ims, pconf)

        batcher = loaded.batcher((pconf, image.shape), batching, lane)
        fresh = [batcher(image)]
    elif todo:
        fresh = _predict_now(loaded, [images[i] for i in todo], pconf)
    else:
        fresh = []
    for i, dets in zip(todo, fresh, strict=True):
        out[i] = dets
        key = keys[i]
        if key is not None and opts.cache is not None:
            opts.cache.put(key, dets)
    done = [d for d in out if d is not None]
    return [_decisive(spec, d, want, pconf) for d in done]


def _run_one(run: DetectorRun, images: Sequence[np.ndarray], *, experts: ExpertPool,
             device: str, conf: float | None, options: PredictOptions | None = None
             ) -> tuple[list[Detections], tuple[str, ...], list[str]]:
    try:
        loaded = _get_loaded(run, experts, device)
    except ExpertUnavailableError as exc:
        if exc.user_message is not None or run.detector not in DETECTORS:
            raise
        logger.info("detect: %s", exc.reason)
        msg = cannot_look_message(run.labels, run.detector, detail=exc.detail)
        raise ExpertUnavailableError(TOOL_NAME, msg, user_message=msg,
                                     detail=exc.detail) from exc
    labels = _keep_labels(loaded, run)
    out, notes = [], []
    for dets, note in _predict(loaded, images, conf, options):
        if labels:
            dets = dets[np.isin(dets.label.astype(str), labels)]
        out.append(dets.with_data("detector", [loaded.spec.name] * len(dets)))
        notes.append(note)
    return out, labels, notes


def _check_images(images: Sequence[np.ndarray]) -> None:
    for i, im in enumerate(images):
        arr = np.asarray(im)
        if arr.ndim != 3 or arr.shape[2] != 3 or arr.dtype != np.uint8:
            raise ToolError(TOOL_NAME, f"image {i}: expected HxWx3 uint8 RGB, got "
                                       f"shape {arr.shape} dtype {arr.dtype}")


@dataclass
class _Outcome:
    """What :func:`_detect` found, per image, and what it could not use."""

    dets: list[Detections]
    labels: list[str]
    notes: list[list[str]]
    ran: list[str]
    failed: list[ExpertUnavailableError]
    unsuited: list[str]


def _detect(images: Sequence[np.ndarray], runs: Sequence[DetectorRun], *, experts: ExpertPool,
            device: str, conf: float | None, options: PredictOptions | None = None,
            skip_unavailable: bool = False) -> _Outcome:
    """Run every detector of ``runs``; with ``skip_unavailable``, one whose weights
    cannot be had is left out (recorded in ``failed``) while another can run."""
    _check_images(images)
    per_run: list[list[Detections]] = []
    labels: list[str] = []
    notes: list[list[str]] = [[] for _ in images]
    ran: list[str] = []
    failed: list[ExpertUnavailableError] = []
    unsuited: list[str] = []
    for run in runs:
        deadline.check()  # past the run's deadline (or Stop) no further detector starts
        try:
            dets, used, run_notes = _run_one(run, images, experts=experts, device=device,
                                             conf=conf, options=options)
        except ExpertUnavailableError as exc:
            if not skip_unavailable:
                raise
            logger.info("detect: skipping %s: %s", run.detector, exc)
            failed.append(exc)
            continue
        per_run.append(dets)
        labels.extend(used)
        ran.append(run.detector)
        for i, note in enumerate(run_notes):
            if note:
                notes[i].append(note)
                unsuited.append(run.detector)
    if not ran and failed:
        raise failed[0]
    merged = [Detections.merge(ds[i] for ds in per_run) if per_run else Detections.empty()
              for i in range(len(images))]
    return _Outcome(merged, list(dict.fromkeys(labels)), notes, ran, failed,
                    list(dict.fromkeys(unsuited)))


def detect_batch(
    images: Sequence[np.ndarray],
    *,
    labels: Sequence[str] = (),
    detector: str = "auto",
    min_confidence: float | None = None,
    device: str = "auto",
    experts: ExpertPool | None = None,
    options: PredictOptions | None = None,
) -> list[Detections]:
    """Detect objects in many images with one ultralytics call per detector.

    Args:
        images: ``HxWx3 uint8 RGB`` arrays.
        labels: Labels to keep (synonyms/plurals allowed); empty keeps everything
            (then a detector whose weights cannot be had is skipped while another runs).
        detector: ``auto``, a detector name or a ``.pt`` path.
        min_confidence: Score threshold in [0, 1]; None uses each detector's default.
        device: ``auto``, ``cpu``, ``cuda``, ``cuda:1`` ...
        experts: Pool to load models into (a new one when None: models load per call).
        options: Result cache and micro-batching to share predictions through.

    Returns:
        One :class:`Detections` per image (XYXY pixels).
    """
    runs = select_detectors(labels, detector=detector)
    return _detect(images, runs, experts=experts or ExpertPool(), device=resolve_device(device),
                   conf=min_confidence, options=options, skip_unavailable=not labels).dets


# -- the tool ----------------------------------------------------------------------------------
def _counts(dets: Detections, labels: Sequence[str]) -> dict[str, int]:
    found = Counter(str(x) for x in dets.label)
    if labels:
        return {label: found.get(label, 0) for label in labels}
    return dict(found.most_common())


def _summary(name: str, counts: dict[str, int]) -> str:
    total = sum(counts.values())
    zero = [k for k, v in counts.items() if v == 0]
    head = f"detect ({name}):"
    if total == 0:
        return f"{head} no {' or '.join(zero)} found" if zero else f"{head} nothing found"
    parts = ", ".join(f"{v} {k}" for k, v in counts.items() if v)
    text = f"{head} {total} object{'s' if total != 1 else ''} — {parts}"
    if zero:
        text += f"; no {' or '.join(zero)} found"
    return text


def _top_boxes(dets: Detections, limit: int = MAX_BOXES) -> list[list[float]]:
    order = np.argsort(-dets.confidence)[:limit]
    return [[round(float(v), 1) for v in dets.xyxy[i]] for i in order]


class DetectArgs(ToolArgs):
    """Arguments of ``detect``."""

    labels: list[Annotated[str, StringConstraints(max_length=MAX_LABEL_CHARS)]] = Field(
        default_factory=list, max_length=MAX_LABELS,
        description="object names to find; empty finds everything")
    detector: str | None = Field(default=None,
                                 description="auto, shapes, coco, yolo-world or yoloe")
    min_confidence: float | None = Field(
        default=None, ge=0.0, le=1.0,
        description="score threshold; null uses the detector's default (shapes 0.5, others 0.25)")

    @field_validator("detector")
    @classmethod
    def _registered_name(cls, value: str | None) -> str | None:
        # A plan comes from a model or a web client: a path here would make lavr
        # unpickle a file of their choosing. Only registered names are accepted.
        if value is not None and not is_detector_name(value):
            raise ValueError(f"detector must be one of {', '.join(detector_names())} "
                             f"(a plan cannot name a weights file), got {value[:40]!r}")
        return value


class DetectTool(Tool):
    """Find objects (boxes, labels, scores) with a YOLO detector."""

    name = TOOL_NAME
    description = ("Find objects and return their boxes and counts; "
                   "labels like ['person', 'car'] or [] for everything.")
    Args = DetectArgs

    def sub_question(self, args: Mapping[str, Any], *, target: str) -> str:
        """``Where are the circles and squares in the image?`` (no labels: what objects)."""
        labels = [plural(str(x)) for x in args.get("labels") or []]
        named = join_words(labels)
        return (f"Where are the {named} in the image?" if labels
                else "What objects are in the image?")

    def may_block(self, args: ToolArgs, ctx: ToolContext) -> bool:
        """False when the call only computes: every detector it runs is loaded in this
        process (no weights to load, no served replica) and it does not wait to batch
        with other callers (``batch_wait_ms``) or load a lane's model copy (``batch_lanes``)."""
        if not isinstance(args, DetectArgs) or (
                args.detector is not None and not is_detector_name(args.detector)):
            return True
        settings = ctx.settings
        if float(settings.get("batch_wait_ms", 0.0) or 0.0) > 0 or \
                int(settings.get("batch_lanes", 1) or 1) > 1:
            return True
        keys = _model_keys(tuple(args.labels),
                           args.detector or str(settings.get("detector", "auto")),
                           resolve_device(str(settings.get("device", "auto"))))
        return keys is None or not all(_ready_here(key, ctx.experts) for key in keys)

    def run(self, args: ToolArgs, ctx: ToolContext) -> ToolResult:
        """Detect in ``ctx.image``; stores :class:`Detections`, value = label → count."""
        if not isinstance(args, DetectArgs):
            raise ToolError(self.name, f"expected DetectArgs, got {type(args).__name__}")
        if args.detector is not None and not is_detector_name(args.detector):
            raise ToolError(self.name, f"detector must be one of {', '.join(detector_names())}")
        detector = args.detector or str(ctx.settings.get("detector", "auto"))
        runs = select_detectors(args.labels, detector=detector)
        device = resolve_device(str(ctx.settings.get("device", "auto")))
        out = _detect([ctx.image], runs, experts=ctx.experts, device=device,
                      conf=args.min_confidence, options=predict_options(ctx),
                      skip_unavailable=not args.labels)
        dets, notes = out.dets[0], out.notes[0]
        if not args.labels and len(dets) == 0 and out.unsuited:
            _raise_cannot_describe(out)
        counts = _counts(dets, out.labels if args.labels else ())
        name = "+".join(_short_name(r) for r in out.ran)
        summary = _summary(name, counts)
        if notes:
            summary += "; " + "; ".join(notes)
        if out.failed:
            summary += "; not run: " + "; ".join(e.reason for e in out.failed)
        return ToolResult(summary=summary, value=counts,
                          artifact_id=self.store_detections(dets, ctx), boxes=_top_boxes(dets))


def _raise_cannot_describe(out: _Outcome) -> None:
    """Only detectors made for other kinds of images ran on a whole-picture question,
    and a general one is missing: say so, and what would help."""
    general = [n for n in CLOSED_DETECTORS if not DETECTORS[n].min_decisive_share]
    missing = [n for n in general if n not in out.ran]
    if not missing:
        return
    names = " and ".join(f"the {n} detector" for n in out.unsuited)
    context = f"{names} {'is' if len(out.unsuited) == 1 else 'are'} made for other kinds of images"
    detail = next((e.detail for e in out.failed if e.detail), "")
    msg = cannot_look_message([], missing[0], detail=detail, context=context)
    raise ExpertUnavailableError(TOOL_NAME, msg, user_message=msg)


def predict_options(ctx: ToolContext) -> PredictOptions:
    """Prediction sharing for a tool call: the run's result cache, and micro-batching
    unless ``settings['batch_size']`` is 0 or 1 and ``batch_lanes`` is 1
    (``batch_wait_ms``: the leader's wait; ``batch_lanes`` / ``batch_threads``: model
    copies predicting at once and torch threads of each, see :func:`lane_plan`)."""
    size = int(ctx.settings.get("batch_size", Batching.max_size) or 1)
    wait = float(ctx.settings.get("batch_wait_ms", 0.0) or 0.0) / 1000
    lanes = int(ctx.settings.get("batch_lanes", 1) or 1)
    threads = int(ctx.settings.get("batch_threads", 0) or 0)
    batched = size > 1 or lanes > 1
    return PredictOptions(cache=ctx.cache, image_hashes=[ctx.image_hash],
                          batching=Batching(size, wait, lanes, threads) if batched else None)


def _short_name(detector: str) -> str:
    return Path(detector).name if detector.lower().endswith(".pt") else detector


TOOLS: list[Tool] = [DetectTool()]
