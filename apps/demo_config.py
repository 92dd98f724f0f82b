"""What the demo offers and accepts, decided on the server: models, detectors, examples,
uploads. No Gradio import (the CLI builds its parser from here without it).

A web client picks a model and a detector by name from the lists the operator
set (:class:`Offer`); it never supplies a model string, a URL or a weights
path. Uploads are read as images before anything else sees them; example
images are served from a copy of their own; server paths never reach a message.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image

from lavr.core_model.config import DEFAULT_MAX_STEPS
from lavr.core_model.errors import InputError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelChoice:
    """A model the operator offers in the demo; web clients pick it by :attr:`name`.

    Attributes:
        name: What the settings panel and the API show (never a URL).
        spec: The model string (``rule``, ``gemma``, ``openai:<model>@<url>``...).
        options: Backend options (``timeout``, ``max_new_tokens``...).
        roles: What the model does (None: all roles).
        retries: Re-asks after an unusable reply.
    """

    name: str
    spec: str
    options: dict[str, Any] = field(default_factory=dict)
    roles: tuple[str, ...] | None = None
    retries: int = 2


_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def model_choice(text: str) -> ModelChoice:
    """``NAME=SPEC`` or ``SPEC`` (named after the spec without its URL) as a :class:`ModelChoice`.

    Raises:
        InputError: A bad model string.
    """
    from lavr.core_model.backends import parse_model_spec

    name, sep, spec = text.partition("=")
    if not sep or not _NAME.match(name.strip()):
        name, spec = "", text
    parsed = parse_model_spec(spec.strip())
    if not name:
        name = parsed.backend if parsed.backend in ("rule", "gemma") or not parsed.target \
            else f"{parsed.backend}:{parsed.target}"
    return ModelChoice(name=name.strip(), spec=str(parsed))


@dataclass(frozen=True)
class Offer:
    """What web clients may choose from: set by the operator, checked on the server.

    A browser (or any API client) picks a model and a detector by name from
    these lists; it never supplies a model string, a URL or a weights path.

    Attributes:
        models: Models by name; the first is the default.
        detectors: Detector names.
        max_steps: Largest step budget a client may ask for.
    """

    models: dict[str, ModelChoice]
    detectors: list[str]
    max_steps: int = 30

    @classmethod
    def build(cls, models: list[ModelChoice] | None = None, *,
              detectors: list[str] | None = None, max_steps: int = 30) -> Offer:
        """An offer from the operator's models (default: ``rule``) and detectors
        (default: ``auto`` and every detector whose weights are here).

        Raises:
            InputError: Two models with one name.
        """
        chosen: dict[str, ModelChoice] = {}
        for m in models or [ModelChoice("rule", "rule")]:
            if m.name in chosen:
                raise InputError(f"two demo models are named {m.name!r}; name them with "
                                 "--model NAME=SPEC")
            chosen[m.name] = m
        return cls(chosen, list(detectors or detector_choices()), max_steps)

    def settings(self, *, detector: str | None, max_steps: Any, verify: Any, review_plan: Any,
                 model: str | None, cot: str | None, icl: Any) -> Settings:
        """Check a client's choices against the offer.

        Raises:
            InputError: A value that is not on offer (one line naming it and what is).
        """
        model = model or next(iter(self.models))
        if model not in self.models:
            raise InputError(f"unknown model {_shown(model)}; this demo offers: "
                             + ", ".join(self.models))
        detector = detector or "auto"
        if detector not in self.detectors:
            raise InputError(f"unknown detector {_shown(detector)}; this demo offers: "
                             + ", ".join(self.detectors))
        if (cot or "off") not in ("off", "chain", "tree"):
            raise InputError(f"chain of thought must be off, chain or tree, not {_shown(cot)}")
        auto = icl is None or str(icl).strip().lower() in ("", "auto")
        try:
            steps = int(max_steps if max_steps is not None else 12)
            k = None if auto else int(icl)
        except (TypeError, ValueError) as exc:
            raise InputError("the step budget and the number of in-context examples must "
                             "be whole numbers (examples may also be 'auto')") from exc
        if not 1 <= steps <= self.max_steps or not (k is None or 0 <= k <= 8):
            raise InputError(f"the step budget must be 1-{self.max_steps} and in-context "
                             "examples 0-8")
        return Settings(detector=detector, max_steps=steps, verify=bool(verify),
                        review_plan=bool(review_plan), model=model, cot=cot or "off", icl=k)


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "…'"


@dataclass(frozen=True)
class Settings:
    """What the settings panel chose for one question (checked by :meth:`Offer.settings`).

    Attributes:
        detector: Detector name (``auto``, ``shapes``, ...).
        max_steps: Tool-call budget.
        verify: Whether the check/correction node runs.
        review_plan: Pause after planning for the user's approval.
        model: Name of one of the offered models.
        cot: Chain-of-thought mode, ``off``, ``chain`` or ``tree``.
        icl: Number of in-context demos; None: the controller's default (6 for a model,
            none for the rules).
    """

    detector: str = "auto"
    max_steps: int = DEFAULT_MAX_STEPS
    verify: bool = True
    review_plan: bool = False
    model: str = "rule"
    cot: str = "off"
    icl: int | None = None


@dataclass(frozen=True)
class Example:
    """A bundled example: an image file and a question about it."""

    image: Path
    question: str


def detector_choices() -> list[str]:
    """``auto`` and every detector whose weights are on this machine."""
    from lavr.tools.detect import list_detectors

    return ["auto"] + [d["name"] for d in list_detectors() if d["present"]]


#: The starter examples shipped inside the package (present in a wheel install too).
PACKAGED_EXAMPLES = Path(__file__).resolve().parent / "data" / "examples" / "examples.json"


def find_examples(path: str | Path | None = None) -> list[Example]:
    """The examples of an ``examples.json`` whose image files exist.

    Args:
        path: A JSON list of ``{"image", "question"}``; image paths are relative to
            the file's folder (or its parent, as in the repository's ``examples/``).
            By default the starter examples shipped with the package.

    Raises:
        InputError: ``path`` is missing, not such a list, or names no existing image.
    """
    file = Path(path).expanduser() if path else PACKAGED_EXAMPLES
    from lavr.core_model.textfiles import read_json_file

    if not file.exists():
        raise InputError(f"examples file {file} does not exist")
    try:
        items = read_json_file(file, what="JSON list of examples")
    except InputError as exc:
        raise InputError(f"examples file {file} is not readable JSON: {exc}") from exc
    if not isinstance(items, list) or not all(
            isinstance(i, dict) and isinstance(i.get("image"), str)
            and isinstance(i.get("question"), str) for i in items):
        raise InputError(f"examples file {file} must be a JSON list of "
                         '{"image": PATH, "question": TEXT}')
    found = []
    for item in items:
        image = Path(item["image"]).expanduser()
        where = [image] if image.is_absolute() else [file.parent / image,
                                                     file.parent.parent / image]
        hit = next((p for p in where if p.is_file()), None)
        if hit is None:
            logger.warning("example image %s not found; skipped", item["image"])
            continue
        found.append(Example(hit.resolve(), item["question"]))
    if not found:
        raise InputError(f"examples file {file} names no existing image")
    return found


def stage_examples(examples: list[Example], folder: Path | None = None) -> list[Example]:
    """Copy the example images, and nothing else, into a folder of their own.

    The demo serves examples from this copy, so nothing beside an example image
    in its original folder is ever reachable from the browser.

    Args:
        examples: The examples (any folders).
        folder: Where to copy (default: a new temporary folder).
    """
    folder = folder or Path(tempfile.mkdtemp(prefix="lavr-demo-examples-"))
    staged, copies = [], {}
    for ex in examples:
        if ex.image not in copies:
            target = folder / f"{len(copies)}{ex.image.suffix.lower()}"
            shutil.copyfile(ex.image, target)
            copies[ex.image] = target
        staged.append(Example(copies[ex.image], ex.question))
    return staged


def image_problem(path: str | Path) -> str | None:
    """Why an uploaded file cannot be used as an image (None when it can).

    The check reads the file's content (Pillow), not its name or the browser's word.
    """
    try:
        with Image.open(path) as img:
            img.verify()
    except Exception:  # noqa: BLE001 - anything Pillow cannot read is refused
        return ("The uploaded file is not an image. Upload a picture (PNG, JPEG, WebP, "
                "BMP or GIF).")
    return None


def scrub_paths(text: str, paths: list[str]) -> str:
    """``text`` with server-side upload paths replaced by "the uploaded image"."""
    for p in sorted(filter(None, paths), key=len, reverse=True):
        text = text.replace(p, "the uploaded image")
    folders = {tempfile.gettempdir(), os.environ.get("GRADIO_TEMP_DIR", "")}
    for folder in filter(None, folders):
        text = re.sub(re.escape(folder.rstrip("/")) + r"/[^\s'\"]+", "the uploaded image", text)
    return text


def experts_line() -> str:
    """One sentence saying what the installed experts can find (shown under the title)."""
    from lavr.tools.detect import DETECTORS, list_detectors
    from lavr.tools.ocr import ocr_weights_status

    found = []
    for row in list_detectors():
        if not row["present"]:
            continue
        spec = DETECTORS[row["name"]]
        if spec.open_vocabulary:
            found.append(f"any object you name ({row['name']})")
        elif len(spec.vocabulary) <= 8:
            found.append(", ".join(f"{v}s" for v in spec.vocabulary))
        else:
            found.append(f"{len(spec.vocabulary)} kinds of everyday things "
                         f"({', '.join(spec.vocabulary[:4])}, …)")
    ocr = ocr_weights_status()
    if ocr["present"] and ocr["library_installed"]:
        found.append("printed text")
    if not found:
        return "No detector or OCR weights are installed: run `lavr models` to see what is missing."
    return ("The installed experts can find " + "; ".join(found)
            + " — and tell their colours, sizes, positions and counts.")
