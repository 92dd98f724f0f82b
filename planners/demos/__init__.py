"""In-context demos: the demo store (``store``), text and image embeddings (``embed``),
choosing demos for a question (``select``) and laying them out in a prompt (``prompt``).

The packaged starter bank lives in ``data/demos``.
"""
