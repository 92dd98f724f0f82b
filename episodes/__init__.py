"""Episodes: perceive–act loops in environments (GUI pages, BabyAI grid worlds) on the lavr stack.

One loop (:mod:`lavr.episodes.loop`) runs every episode: observe, run the
perception tools from a :class:`~lavr.tools.registry.ToolRegistry`, let the
controller role choose the next action (rules, or a model writing typed JSON
with the same validation and fallback as plans), act, and decide whether the
episode is done, under a step budget. The layer sits above ``agents`` and
below ``apps``.
"""
