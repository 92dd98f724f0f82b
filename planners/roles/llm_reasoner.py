"""The model reasoner: in tree mode, sub-questions no expert answered go to a model that sees."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np

from lavr.core_model.errors import LavrError
from lavr.core_model.messages import ImagePart, Message
from lavr.core_model.model import MultimodalModel
from lavr.planners.cot import AnswerFn, CotOptions, Reasoning, build_reasoning
from lavr.planners.plan import Plan
from lavr.tools.evidence import Evidence
from lavr.tools.registry import ToolRegistry

logger = logging.getLogger(__name__)

#: Generation cap for the model's answer to one sub-question.
SUBQUESTION_MAX_TOKENS = 48


class LLMReasoner:
    """Builds the chain or tree; in tree mode the model answers what the experts did not.

    Args:
        model: A model that sees images (the one the ``vqa`` tool asks).
        tools: The agent's tools, which word the tree's sub-questions (default: built-in).
    """

    def __init__(self, model: MultimodalModel, tools: ToolRegistry | None = None) -> None:
        self.model = model
        self.tools = tools

    @property
    def name(self) -> str:
        return self.model.name

    def reason(self, plan: Plan, evidence: Sequence[Evidence], *, options: CotOptions,
               image: np.ndarray | None = None) -> Reasoning | None:
        """The chain or tree for ``options`` (None when chain-of-thought is off)."""
        answer_fn = self._answer_fn(image) if options.mode == "tree" and image is not None \
            and self.model.sees_images else None
        return build_reasoning(options.mode, plan, list(evidence), max_steps=options.steps,
                               answer_fn=answer_fn, tools=self.tools)

    def _answer_fn(self, image: np.ndarray) -> AnswerFn:
        """Asks the model one sub-question about ``image`` (None: it could not tell)."""

        def ask(question: str) -> str | None:
            msgs = [Message.system("Answer the question about the image in one short sentence. "
                                   "If you cannot tell from the image, reply exactly: unsure."),
                    Message.user(ImagePart(image, "the image"), question)]
            try:
                reply = self.model.generate(msgs, max_new_tokens=SUBQUESTION_MAX_TOKENS,
                                            task="subquestion").strip()
            except LavrError as exc:
                logger.info("model could not answer sub-question %r: %s", question, exc)
                return None
            return None if not reply or reply.lower().strip(" .") == "unsure" else reply

        return ask
