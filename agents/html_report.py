"""A self-contained HTML trace of one answer: question, answer, plan, steps and pictures.

Every picture is inlined as a base64 PNG data URI and the style sheet is inline,
so the file opens anywhere, offline, and can be attached to a bug report.
"""

from __future__ import annotations

import base64
import html
import io
import json
from typing import TYPE_CHECKING, Any

from PIL import Image

from lavr.tools.draw import draw_detections
from lavr.tools.evidence import Evidence
from lavr.tools.trace import TraceEvent

if TYPE_CHECKING:
    from lavr.agents.result import AgentResult

_CSS = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 60rem; color: #222;
       line-height: 1.45; padding: 0 1rem; }
h1 { font-size: 1.4rem; margin-bottom: .2rem; }
.answer { font-size: 1.15rem; background: #eef6ee; border-left: 4px solid #3c8c3c;
          padding: .6rem .9rem; margin: 1rem 0; }
.meta { color: #666; font-size: .85rem; }
figure { margin: 1rem 0; }
figure img { max-width: 100%; border: 1px solid #ccc; }
figcaption { color: #555; font-size: .85rem; }
details { border: 1px solid #ddd; border-radius: 4px; margin: .35rem 0; padding: .3rem .6rem; }
details.error { border-color: #d66; background: #fff4f4; }
summary { cursor: pointer; }
summary .node { font-weight: 600; }
summary .secs { color: #888; font-size: .85rem; }
pre { background: #f6f6f6; padding: .5rem; overflow-x: auto; font-size: .8rem; }
table { border-collapse: collapse; width: 100%; font-size: .9rem; }
td, th { border: 1px solid #ddd; padding: .25rem .45rem; text-align: left; vertical-align: top; }
"""


def png_data_uri(image: Image.Image) -> str:
    """``data:image/png;base64,...`` for a PIL image."""
    buf = io.BytesIO()
    image.save(buf, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _figure(image: Image.Image, caption: str, *, css_class: str) -> str:
    return (f'<figure class="{css_class}"><img src="{png_data_uri(image)}" alt="{_esc(caption)}">'
            f"<figcaption>{_esc(caption)}</figcaption></figure>")


def _step_title(rec: TraceEvent) -> str:
    parts = [f'<span class="node">{_esc(rec.node)}</span>']
    if rec.step:
        parts.append(_esc(rec.step))
    if rec.tool:
        parts.append(_esc(rec.tool))
    if rec.cached:
        parts.append("(cached)")
    parts.append(f'<span class="secs">{float(rec.seconds or 0):.2f} s</span>')
    return " ".join(parts)


def _trace_html(result: AgentResult) -> str:
    pictures = result.step_detections()
    drawn: set[str] = set()
    items = []
    for rec in result.steps:
        body = [f"<p>{_esc(rec.summary)}</p>"]
        if rec.error:
            body.append(f"<p><strong>error:</strong> {_esc(rec.error)}</p>")
        if rec.args:
            body.append(f"<pre>{_esc(json.dumps(rec.args, indent=1, default=str))}</pre>")
        step = rec.step
        if rec.node == "tool" and step in pictures and step not in drawn:
            drawn.add(step)
            dets = pictures[step]
            body.append(_figure(draw_detections(result.image, dets),
                                f"{step}: {len(dets)} region(s)", css_class="step-image"))
        css = ' class="error"' if rec.error else ""
        items.append(f"<details{css}><summary>{_step_title(rec)}</summary>{''.join(body)}"
                     "</details>")
    return "\n".join(items)


def _plan_html(plan: dict[str, Any]) -> str:
    if not plan:
        return "<p>No plan.</p>"
    rows = "".join(
        f"<tr><td>{_esc(s.get('id'))}</td><td>{_esc(s.get('tool'))}</td>"
        f"<td><code>{_esc(json.dumps(s.get('args', {}), default=str))}</code></td>"
        f"<td>{_esc(s.get('why', ''))}</td></tr>" for s in plan.get("steps", []))
    reasoning = "".join(f"<li>{_esc(r)}</li>" for r in plan.get("reasoning", []))
    return (f"<p>Planner <strong>{_esc(plan.get('planner', '?'))}</strong>, intent "
            f"<strong>{_esc(plan.get('intent', '?'))}</strong>, answer step "
            f"{_esc(plan.get('answer_step'))}.</p>"
            + (f"<ol>{reasoning}</ol>" if reasoning else "")
            + "<table><tr><th>step</th><th>tool</th><th>args</th><th>why</th></tr>"
            + rows + "</table>")


def _evidence_html(evidence: list[Evidence]) -> str:
    rows = "".join(
        f"<tr><td>{_esc(e.step_id)}</td><td>{_esc(e.tool)}</td>"
        f"<td>{_esc(e.summary)}</td>"
        f"<td><code>{_esc(json.dumps(e.value, default=str))}</code></td>"
        f"<td>{_esc(e.error or '')}</td></tr>" for e in evidence)
    return ("<table><tr><th>step</th><th>tool</th><th>summary</th><th>value</th><th>error</th>"
            "</tr>" + rows + "</table>")


def _history_html(history: list[dict[str, Any]]) -> str:
    if not history:
        return ""
    items = "".join(f"<li><strong>Q:</strong> {_esc(t.get('question', ''))}<br>"
                    f"<strong>A:</strong> {_esc(t.get('answer', ''))}</li>" for t in history)
    return f"<h2>Earlier in this conversation</h2><ol>{items}</ol>"


def render_html(result: AgentResult, *, title: str = "lavr trace") -> str:
    """The whole trace of ``result`` as one HTML document (no external resources).

    Args:
        result: A finished run.
        title: The document title.

    Returns:
        HTML text: answer, annotated picture, plan, every step (tool steps
        with their own picture), evidence and the conversation's earlier turns.
    """
    h, w = result.image.shape[:2]
    dets = result.detections
    answer_fig = _figure(result.annotated_image(),
                         f"evidence behind the answer: {len(dets)} region(s)",
                         css_class="answer-image")
    thread = f", thread {_esc(result.thread_id)}" if result.thread_id else ""
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{_esc(title)}: {_esc(result.question)}</title>
<style>{_CSS}</style>
</head>
<body>
<h1>{_esc(result.question)}</h1>
<p class="meta">image {w}x{h}, hash {_esc(result.image_hash)}{thread}</p>
<div class="answer">{_esc(result.answer)}</div>
{answer_fig}
{_history_html(result.history)}
<h2>Plan</h2>
{_plan_html(result.plan)}
<h2>Steps</h2>
{_trace_html(result)}
<h2>Evidence</h2>
{_evidence_html(result.evidence)}
</body>
</html>
"""
