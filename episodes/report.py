"""A self-contained HTML report of one episode: instruction, outcome, and every step.

Like a visual question's report (``lavr.agents.html_report``): pictures are
inlined as PNG data URIs and the style sheet is inline, so the file opens
anywhere offline. Each step shows the observation with the perceived objects,
the chosen cell or element and point drawn, then the step's trace records
(:meth:`~lavr.episodes.loop.Episode.records`, the same the demo shows): the
perception tools' summaries and timings, the action with who chose it (rules or a
model, and any fallback) and why, and the decision (continue, or done and why).
"""

from __future__ import annotations

import base64
import html
import io
import json
from typing import TYPE_CHECKING, Any

from PIL import Image

from lavr.episodes.draw import draw_step
from lavr.tools.trace import TraceEvent

if TYPE_CHECKING:
    from lavr.episodes.loop import Episode

_CSS = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 60rem; color: #222;
       line-height: 1.45; padding: 0 1rem; }
h1 { font-size: 1.4rem; margin-bottom: .2rem; }
.outcome { font-size: 1.1rem; padding: .6rem .9rem; margin: 1rem 0; border-left: 4px solid; }
.ok { background: #eef6ee; border-color: #3c8c3c; }
.fail { background: #fff4f4; border-color: #d66; }
.meta { color: #666; font-size: .85rem; }
details { border: 1px solid #ddd; border-radius: 4px; margin: .35rem 0; padding: .3rem .6rem; }
summary { cursor: pointer; }
figure { margin: .5rem 0; }
figure img { max-width: 100%; border: 1px solid #ccc; image-rendering: pixelated; }
pre { background: #f6f6f6; padding: .5rem; overflow-x: auto; font-size: .8rem; }
"""


def _data_uri(image: Image.Image) -> str:
    """``data:image/png;base64,...`` (importing :mod:`lavr.agents` for this would load the graph)."""
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _record_html(rec: TraceEvent) -> str:
    """One trace event (:meth:`Episode.records`): perception, the choice, or the decision."""
    if rec.node == "tool":
        cached = " (cached)" if rec.cached else ""
        error = f" <strong>error:</strong> {_esc(rec.error)}" if rec.error else ""
        return (f"<p class='meta'>perception <strong>{_esc(rec.tool)}</strong>{cached} "
                f"{float(rec.seconds or 0):.3f} s: {_esc(rec.summary)}{error}</p>")
    if rec.node == "act":
        action, _, why = rec.summary.partition(": ")
        return (f"<p class='act'>action <strong>{_esc(action)}</strong> "
                f"<span class='meta'>chosen by {_esc(rec.controller or '?')}</span>: "
                f"{_esc(why)}</p>")
    return f"<p class='decide'>decision: {_esc(rec.summary)}</p>"


def episode_html(episode: Episode, *, title: str = "", scale: int = 4) -> str:
    """The report as one HTML document.

    Args:
        episode: A finished episode (steps keep their images when run with ``keep_images``).
        title: Heading (default: the instruction).
        scale: Integer enlargement of the step pictures.
    """
    outcome = "success" if episode.success else "not solved"
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>{_esc(title or episode.instruction)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{_esc(title or episode.instruction)}</h1>",
        f"<p class='meta'>instruction: {_esc(episode.instruction)}</p>",
        f"<div class='outcome {'ok' if episode.success else 'fail'}'>{outcome}: "
        f"{episode.n_actions} actions, reward {episode.reward:.3f}, ended by "
        f"{_esc(episode.ended_by)}</div>",
    ]
    for rec in episode.steps:
        head = (f"<summary><strong>{rec.step}</strong> {_esc(rec.action.describe())} "
                f"<span class='meta'>[{_esc(rec.controller)}] {rec.seconds:.3f} s</span></summary>")
        body = []
        if rec.image is not None:
            img = draw_step(rec, scale=scale)
            body.append(f"<figure><img src='{_data_uri(img)}' alt='step {rec.step}'></figure>")
        for r in (*rec.records(), episode.decision(rec)):
            body.append(_record_html(r))
        if rec.attempts:
            body.append(f"<pre>{_esc(json.dumps(rec.attempts, indent=1, default=str))}</pre>")
        parts.append(f"<details{' open' if rec.step == 1 else ''}>{head}{''.join(body)}"
                     "</details>")
    parts.append("</body></html>")
    return "".join(parts)
