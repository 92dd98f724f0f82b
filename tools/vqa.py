"""The ``vqa`` expert: ask the multimodal model itself about the image or a crop.

The model reaches the tool through :attr:`~lavr.tools.base.ToolContext.model`
(the agent puts it there when the model takes the ``vqa`` role). Without a
model, or with a text-only one, the tool reports itself unavailable, so the
controller's plan fails visibly instead of inventing an answer.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import Field, model_validator

from lavr.core_model.errors import LavrError
from lavr.core_model.messages import ImagePart, Message
from lavr.tools.base import MAX_STEP_ID, Tool, ToolArgs, ToolContext, ToolResult
from lavr.tools.errors import ExpertUnavailableError, ToolError
from lavr.tools.zoom import crop, target_region

logger = logging.getLogger(__name__)

#: The expert's instruction (a constant, never modified).
VQA_PROMPT = ("You are a visual expert. Answer the question about the image in one short "
              "sentence, from what you see. If it cannot be seen, say that you cannot tell.")
VQA_MAX_TOKENS = 96
#: Crops smaller than this on their shorter side are enlarged before asking.
MIN_CROP_SIDE = 64


class VqaArgs(ToolArgs):
    """What to ask and where to look: the whole image, a ``box`` or object ``index`` of ``source``."""

    question: str = Field(min_length=1, max_length=500, description="what to ask the model")
    box: list[float] | None = Field(None, min_length=4, max_length=4,
                                    description="XYXY pixel box to look at; null = whole image")
    source: str | None = Field(None, max_length=MAX_STEP_ID,
                               description="step id whose detection to look at")
    index: int = Field(0, ge=0, le=999, description="which detection of source (0 = first)")

    @model_validator(mode="after")
    def _one_region(self) -> VqaArgs:
        if self.box is not None and self.source is not None:
            raise ValueError("give box or source, not both")
        return self


class VqaTool(Tool):
    """Ask the multimodal model a free-form question about the image or one region."""

    name: ClassVar[str] = "vqa"
    description: ClassVar[str] = (
        "Ask the multimodal model a free-form question about the whole image, a box "
        "[x1,y1,x2,y2], or object `index` of an earlier step; returns its short answer.")
    Args: ClassVar[type[ToolArgs]] = VqaArgs
    refs: ClassVar[tuple[str, ...]] = ("source",)
    cacheable: ClassVar[bool] = False
    asks_model: ClassVar[bool] = True

    def sub_question(self, args: Mapping[str, Any], *, target: str) -> str | None:
        """The question the step asks the model."""
        return str(args["question"]) if args.get("question") else None

    def run(self, args: VqaArgs, ctx: ToolContext) -> ToolResult:
        """Crop if asked, then ask ``ctx.model``; the answer is the value."""
        model = ctx.model
        if model is None:
            raise ExpertUnavailableError(self.name, "no multimodal model is configured "
                                         "(choose one with --model or VisualAgent(model=...))")
        if not model.sees_images:
            raise ExpertUnavailableError(self.name, f"the model {model.name!r} is text-only "
                                         "and cannot look at the image")
        image, box, where = ctx.image, None, "the image"
        if args.box is not None or args.source is not None:
            box, margin, where = self._region(args, ctx)
            cut = crop(ctx.image, box, margin=margin, tool=self.name)
            scale = max(1.0, MIN_CROP_SIDE / max(1, min(cut.image.shape[:2])))
            if scale > 1.0:
                cut = crop(ctx.image, box, margin=margin, scale=scale, tool=self.name)
            image, box = cut.image, [float(v) for v in cut.box]
        msgs = [Message.system(VQA_PROMPT),
                Message.user(ImagePart(image, where), args.question)]
        try:
            answer = model.generate(msgs, max_new_tokens=VQA_MAX_TOKENS, task="vqa").strip()
        except LavrError as exc:
            raise ToolError(self.name, f"the model failed: {exc}") from exc
        if not answer:
            raise ToolError(self.name, "the model gave an empty answer")
        return ToolResult(summary=f"vqa on {where}: {args.question} → {answer}", value=answer,
                          boxes=[box] if box else [])

    def _region(self, args: VqaArgs, ctx: ToolContext) -> tuple[list[float], float, str]:
        return target_region(self.name, ctx, box=args.box, source=args.source, index=args.index,
                             verb="look at")


TOOLS: list[Tool] = [VqaTool()]
