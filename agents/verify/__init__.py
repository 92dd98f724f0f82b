"""Woodpecker-style hallucination correction in five stages.

1. :mod:`~lavr.agents.verify.extract` — key concept extraction.
2. :mod:`~lavr.agents.verify.questions` — question formulation.
3. :mod:`~lavr.agents.verify.validate` — visual knowledge validation: the questions'
   tool steps run by the graph's tool execution (:mod:`~lavr.agents.verify.steps`).
4. :mod:`~lavr.agents.verify.claims` — visual claim generation with verdicts.
5. :mod:`~lavr.agents.verify.correct` — correction of the text.

:class:`~lavr.agents.verify.pipeline.Corrector` runs all five.
"""

from lavr.agents.verify.extract import LLMExtractor, RuleExtractor
from lavr.agents.verify.pipeline import CheckResult, CorrectionResult, Corrector
from lavr.agents.verify.types import Answer, Claim, Concept, Fix, Question
from lavr.agents.verify.validate import ExpertValidator, VisualKnowledge

__all__ = ["Answer", "CheckResult", "Claim", "Concept", "CorrectionResult", "Corrector",
           "ExpertValidator", "Fix", "LLMExtractor", "Question", "RuleExtractor",
           "VisualKnowledge"]
