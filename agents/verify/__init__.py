"""Woodpecker-style hallucination correction in five stages.

1. :mod:`~lavr.agents.verify.extract` — key concept extraction.
2. :mod:`~lavr.agents.verify.questions` — question formulation.
3. :mod:`~lavr.agents.verify.validate` — visual knowledge validation with experts.
4. :mod:`~lavr.agents.verify.claims` — visual claim generation with verdicts.
5. :mod:`~lavr.agents.verify.correct` — correction of the text.

:class:`~lavr.agents.verify.pipeline.Corrector` runs all five.
"""
