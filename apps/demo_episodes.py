"""The demo's episode panel: run one embodied episode and read its trace like a question's.

The panel runs a BabyAI level from the standard 7x7 egocentric view (or the full
frame) with the rule controller and shows the episode's trace records
(:meth:`lavr.episodes.loop.Episode.records`) as the same collapsible chat messages
a visual question's steps become (:func:`lavr.apps.demo_render.episode_messages`),
and any step's picture — the observation, what was perceived, the chosen cell and
the action — picked with a slider. GUI episodes share the loop and the records, so
:func:`episode_view` shows them the same way.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from typing import Any

from lavr.apps import demo_render as render
from lavr.core_model.errors import LavrError

logger = logging.getLogger(__name__)

#: Most steps one demo episode may take (the level's own limit applies below it).
MAX_DEMO_STEPS = 600


@dataclass
class EpisodeState:
    """One browser session's episode: its pictures by step (1-based) and the PNGs written."""

    pictures: list[render.Picture] = field(default_factory=list)
    files: dict[int, str] = field(default_factory=dict)


def episode_view(episode: Any) -> tuple[list[render.Message], dict[str, Any], EpisodeState]:
    """Chat messages, the outcome as data, and the pictures of a finished episode."""
    pictures = list(render.episode_pictures(episode).values())
    outcome = {"instruction": episode.instruction, "success": episode.success,
               "reward": round(float(episode.reward), 4), "actions": episode.n_actions,
               "ended_by": episode.ended_by}
    return render.episode_messages(episode), outcome, EpisodeState(pictures)


class EpisodePanel:
    """Handlers of the episode panel.

    Args:
        cache_dir: Where step pictures are written as PNG files for the page.
    """

    def __init__(self, cache_dir: str) -> None:
        self.cache_dir = cache_dir

    def levels(self) -> list[str]:
        """The BabyAI ladder (empty when minigrid is not installed)."""
        from lavr.episodes.embodied.babyai import LEVELS

        return list(LEVELS)

    def run(self, level: str, seed: float | int | None, view: str
            ) -> tuple[list[render.Message], dict[str, Any], str | None, Any, EpisodeState]:
        """Run one episode: messages, outcome, the first step's picture, slider, state."""
        from lavr.episodes.embodied.babyai import evaluate_env

        try:
            seed_value = int(seed if seed is not None else 0)
            result = evaluate_env(str(level), episodes=1, seed=seed_value, view=str(view),
                                  max_steps=MAX_DEMO_STEPS, keep_images=True)
        except (LavrError, ValueError, TypeError) as exc:
            msg = render.error_message(f"Cannot run the episode: {exc}")
            return [msg], {"status": "error", "error": str(exc)}, None, self._slider(0), \
                EpisodeState()
        messages, outcome, state = episode_view(result.episodes[0])
        outcome.update(level=str(level), seed=seed_value, view=str(view))
        return messages, outcome, self.picture(1, state), self._slider(len(state.pictures)), \
            state

    def picture(self, step: float | int | None, state: EpisodeState | None) -> str | None:
        """The PNG file of one step's picture (None when there is none)."""
        if state is None or not state.pictures or step is None:
            return None
        k = min(max(int(step), 1), len(state.pictures))
        if k not in state.files:
            state.files[k] = render.cached_png(self.cache_dir, state.pictures[k - 1].render())
        return state.files[k]

    @staticmethod
    def _slider(n: int) -> Any:
        import gradio as gr

        # a slider needs minimum < maximum: one step leaves it at 1..2, not interactive
        return gr.update(minimum=1, maximum=max(n, 2), value=1, interactive=n > 1)


def add_episode_panel(cache_dir: str | None = None) -> EpisodePanel:
    """Lay the panel out inside the current ``gr.Blocks`` (a closed accordion) and wire it."""
    import tempfile

    import gradio as gr

    panel = EpisodePanel(cache_dir or os.path.join(tempfile.gettempdir(), "lavr-demo"))
    try:
        levels = panel.levels()
    except LavrError as exc:  # pragma: no cover - minigrid missing
        logger.info("episode panel off: %s", exc)
        return panel
    with gr.Accordion("Episodes: watch the embodied agent (BabyAI)", open=False,
                      elem_id="episodes"):
        with gr.Row():
            level = gr.Dropdown(levels, value=levels[0], label="Level", elem_id="ep-level")
            seed = gr.Number(0, precision=0, label="Seed", elem_id="ep-seed")
            view = gr.Radio(["partial", "full"], value="partial", label="View",
                            elem_id="ep-view")
            run_btn = gr.Button("Run episode", variant="primary", elem_id="ep-run")
        with gr.Row():
            with gr.Column(scale=3):
                chat = gr.Chatbot(label="Episode trace", height=420, elem_id="ep-chat",
                                  feedback_options=None)
            with gr.Column(scale=2):
                picture = gr.Image(label="Step", type="filepath", interactive=False,
                                   height=320, elem_id="ep-picture")
                step = gr.Slider(1, 2, value=1, step=1, label="Step", interactive=False,
                                 elem_id="ep-step")
                outcome = gr.JSON(label="Outcome", elem_id="ep-outcome")
        state = gr.State(None)
        run_btn.click(panel.run, [level, seed, view], [chat, outcome, picture, step, state],
                      api_name="episode")
        step.change(panel.picture, [step, state], [picture], api_visibility="private")
    return panel
