"""The agent's roles: controller (planner), decision maker (decider), semantic refiner.

Each role has a rule implementation and a model (LLM) implementation side by side:

==========  ==========================  ==========================
role        rules                       a model
==========  ==========================  ==========================
plan        ``rule_planner.RulePlanner``  ``llm_planner.LLMPlanner``
decide      ``rule_decider.RuleDecider``  ``llm_decider.LLMDecider``
refine      ``rule_refiner``              ``llm_refiner.LLMRefiner``
==========  ==========================  ==========================

``model_role`` holds what the model roles share (role prompts in ``prompts/``, the
tool catalog, evidence as prompt text), ``compact`` the short prompts of a model
trained on the roles (lavr-mllm), and ``assign`` gives one model the roles it takes.
"""
