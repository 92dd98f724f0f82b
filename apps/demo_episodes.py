"""The demo's episode panel: run one episode and read its trace like a question's.

The panel runs a BabyAI level from the standard 7x7 egocentric view (or the full
frame) with the embodied agent, or one seeded MiniWoB++ task in headless Chromium
with the pixel-only GUI agent, both with the rule controller, and shows the
episode's trace records
(:meth:`lavr.episodes.loop.Episode.records`) as the same collapsible chat messages
a visual question's steps become (:func:`lavr.apps.demo_render.episode_messages`),
and any step's picture — the observation, what was perceived, the chosen cell and
the action — picked with a slider. GUI episodes share the loop and the records, so
:func:`episode_view` shows them the same way. A MiniWoB++ run that cannot start
(Chromium or the miniwob package missing, the task's page failing) ends in one
error message, never a traceback.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass, field
from typing import Any

from lavr.apps import demo_render as render
from lavr.apps.episode_cmd import check_seed
from lavr.core_model.errors import LavrError
from lavr.episodes.gui import DEFAULT_MAX_STEPS as GUI_MAX_STEPS

logger = logging.getLogger(__name__)

#: Most steps one demo episode may take (the level's own limit applies below it).
MAX_DEMO_STEPS = 600
#: Step budget of one MiniWoB++ episode in the demo (``lavr gui miniwob``'s default).
MAX_GUI_STEPS = GUI_MAX_STEPS
#: The environments the panel runs.
BABYAI, MINIWOB = "BabyAI", "MiniWoB++"
ENVIRONMENTS = (BABYAI, MINIWOB)


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
        self._gui_agent: Any = None
        # one GUI agent (its OCR and MiniLM loaded once) and one Chromium at a time
        self._gui_lock = threading.Lock()

    def levels(self) -> list[str]:
        """The BabyAI ladder (empty when minigrid is not installed)."""
        from lavr.episodes.embodied.babyai import LEVELS

        return list(LEVELS)

    def tasks(self) -> list[str]:
        """The standard MiniWoB++ tasks (CC-Net's and Pix2Act's set)."""
        from lavr.episodes.gui.evaluate import STANDARD_TASKS

        return list(STANDARD_TASKS)

    def run(self, level: str, seed: float | int | None, view: str,
            environment: str = BABYAI, task: str | None = None
            ) -> tuple[list[render.Message], dict[str, Any], str | None, Any, EpisodeState]:
        """Run one episode: messages, outcome, the first step's picture, slider, state.

        Args:
            level: BabyAI level (BabyAI only).
            seed: The episode's seed.
            view: ``partial`` or ``full`` (BabyAI only).
            environment: ``BabyAI`` or ``MiniWoB++``.
            task: MiniWoB++ task (MiniWoB++ only).
        """
        try:
            seed_value = check_seed(seed if seed is not None else 0, name="seed")
            if environment == MINIWOB:
                episode = self._run_miniwob(str(task or ""), seed_value)
                where = {"environment": MINIWOB, "task": str(task), "seed": seed_value}
            elif environment in (BABYAI, None, ""):
                from lavr.episodes.embodied.babyai import evaluate_env

                result = evaluate_env(str(level), episodes=1, seed=seed_value, view=str(view),
                                      max_steps=MAX_DEMO_STEPS, keep_images=True)
                episode = result.episodes[0]
                where = {"environment": BABYAI, "level": str(level), "seed": seed_value,
                         "view": str(view)}
            else:
                raise ValueError(f"unknown environment {environment!r} (choose "
                                 f"{' or '.join(ENVIRONMENTS)})")
        except (LavrError, ValueError, TypeError) as exc:
            return self._error(str(exc))
        except Exception as exc:  # noqa: BLE001 - a browser/driver failure: one message
            logger.exception("episode failed")
            return self._error(f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
                               .rstrip(": "))
        messages, outcome, state = episode_view(episode)
        outcome.update(where)
        if environment == MINIWOB:
            outcome["utterance"] = episode.info.get("utterance", "")
        return messages, outcome, self.picture(1, state), self._slider(len(state.pictures)), \
            state

    def _run_miniwob(self, task: str, seed: int) -> Any:
        """One seeded MiniWoB++ episode with the pixel-only GUI agent (experts warmed first)."""
        from lavr.episodes.gui.evaluate import STANDARD_TASKS, evaluate_task

        if task not in STANDARD_TASKS:
            raise ValueError(f"unknown MiniWoB++ task {task!r} (choose one of the "
                             f"{len(STANDARD_TASKS)} standard tasks)")
        with self._gui_lock:
            if self._gui_agent is None:
                from lavr.episodes.gui.agent import GuiAgent

                self._gui_agent = GuiAgent()
            result = evaluate_task(task, episodes=1, seed=seed, max_steps=MAX_GUI_STEPS,
                                   agent=self._gui_agent, keep_images=True)
        return result.episodes[0]

    def _error(self, text: str
               ) -> tuple[list[render.Message], dict[str, Any], None, Any, EpisodeState]:
        text = " ".join(text.split())  # one line, of a readable length
        text = text if len(text) <= 300 else text[:297] + "..."
        msg = render.error_message(f"Cannot run the episode: {text}")
        return [msg], {"status": "error", "error": text}, None, self._slider(0), EpisodeState()

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
    tasks = panel.tasks()
    with gr.Accordion("Episodes: watch the embodied (BabyAI) and GUI (MiniWoB++) agents",
                      open=False, elem_id="episodes"):
        with gr.Row():
            environment = gr.Radio(list(ENVIRONMENTS), value=BABYAI, label="Environment",
                                   elem_id="ep-env")
            level = gr.Dropdown(levels, value=levels[0], label="Level", elem_id="ep-level")
            task = gr.Dropdown(tasks, value=tasks[0], label="Task", elem_id="ep-task",
                               visible=False)
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
        environment.change(_show_inputs, [environment], [level, view, task],
                           api_visibility="private")
        # (level, seed, view) first as before; environment and task appended, with defaults
        run_btn.click(panel.run, [level, seed, view, environment, task],
                      [chat, outcome, picture, step, state], api_name="episode")
        step.change(panel.picture, [step, state], [picture], api_visibility="private")
    return panel


def _show_inputs(environment: str) -> tuple[Any, Any, Any]:
    """Level and view for BabyAI, the task for MiniWoB++."""
    import gradio as gr

    babyai = environment != MINIWOB
    return gr.update(visible=babyai), gr.update(visible=babyai), gr.update(visible=not babyai)
