"""Embodied agent: reads BabyAI/MiniGrid frames, parses the mission, plans paths, acts."""
