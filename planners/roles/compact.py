"""Compact role prompts for a model trained on lavr's roles (``lavr-mllm``).

A model fine-tuned on the four roles needs no instructions, tool catalog or
few-shot demos: a short tag and the role's inputs say what to do, which keeps
its prompts (and so its cost on a CPU) small. The roles send these instead of
their full prompts when the model says ``compact_prompts = True``, and
``lavr train`` builds its role data with the same functions, so training and
use see the same text.

A trained model's replies are the same as any model's: the plan and decision
as JSON objects, the answer as text citing step ids.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from lavr.core_model.messages import ImagePart, Message
from lavr.core_model.model import MultimodalModel
from lavr.planners.plan import Plan, Step
from lavr.planners.roles.model_role import format_evidence
from lavr.tools.evidence import Evidence

if TYPE_CHECKING:
    from lavr.planners.demos.select import SelectedDemo
    from lavr.planners.demos.store import DemoRecord, DemoStore

#: Tags that start each role's prompt.
PLAN_TAG, DECIDE_TAG, REFINE_TAG = "Plan:", "Decide:", "Answer from evidence:"
#: Tag of an episode controller's prompt (GUI or embodied: choose the next action).
ACT_TAG = "Act:"
#: Most earlier actions an act prompt lists (the latest ones).
ACT_HISTORY = 5


def wants_compact(model: MultimodalModel) -> bool:
    """Whether ``model`` was trained on the compact prompts."""
    return model.compact_prompts


def demo_turns(demos: Sequence[DemoRecord | SelectedDemo], store: DemoStore | None,
               role: str) -> list[Message]:
    """In-context demos as earlier turns of the conversation, for a model that sees:
    per demo a user turn (its image and its instruction, tagged as ``role``'s prompt
    tags the question) and an assistant turn (its reply in ``role``'s trained form).

    Args:
        demos: :class:`~lavr.planners.demos.store.DemoRecord` (or selected demos) in
            prompt order.
        store: The :class:`~lavr.planners.demos.store.DemoStore` holding their images.
        role: ``plan`` (the reply is the demo's plan as compact JSON; demos without a
            plan are left out) or ``vqa`` (the reply is the demo's answer in plain words).

    Demos without images (text-only plan demos) are left out: the model was trained
    on image turns.
    """
    from lavr.planners.demos.select import SelectedDemo
    from lavr.planners.roles.rule_refiner import plain_text

    if role not in ("plan", "vqa"):
        raise ValueError(f"demo turns are for the plan and vqa roles, not {role!r}")
    if not demos:
        return []
    if store is None:
        raise ValueError("demo turns need the DemoStore that holds the demos' images")
    out: list[Message] = []
    for d in demos:
        demo = d.demo if isinstance(d, SelectedDemo) else d
        if not demo.images:
            continue
        if role == "plan":
            plan = demo.parsed_plan()
            if plan is None:
                continue
            text, reply = f"{PLAN_TAG} {demo.instruction.strip()}", plan_reply(plan)
        else:
            text, reply = demo.instruction.strip(), plain_text(demo.response)
        images = [ImagePart(img, "an example image") for img in store.images(demo)]
        out += [Message.user(*images, text), Message.assistant(reply)]
    return out


def plan_messages(question: str, image: np.ndarray | None, *,
                  demos: Sequence[DemoRecord | SelectedDemo] = (),
                  store: DemoStore | None = None) -> list[Message]:
    """The controller's prompt: the image (when given) and the tagged question, after any
    in-context demos (:func:`demo_turns`; only for a model that sees, so ``image`` given)."""
    text = f"{PLAN_TAG} {question.strip()}"
    if image is None:
        return [Message.user(text)]
    turns = demo_turns(demos, store, "plan") if demos else []
    return turns + [Message.user(ImagePart(image, "the image"), text)]


def decide_messages(plan: Plan, evidence: Sequence[Evidence],
                    budget_left: int) -> list[Message]:
    """The decision maker's prompt: question, evidence lines, budget."""
    return [Message.user(f"{DECIDE_TAG} {plan.question.strip()}\n"
                         f"{format_evidence(plan, evidence)}\nbudget {budget_left}")]


def refine_messages(plan: Plan, evidence: Sequence[Evidence]) -> list[Message]:
    """The refiner's prompt: question and evidence lines."""
    text = f"{REFINE_TAG} {plan.question.strip()}\n{format_evidence(plan, evidence)}"
    if plan.note:
        text += f"\nnote: {plan.note}"
    return [Message.user(text)]


def vqa_messages(question: str, image: np.ndarray, *,
                 demos: Sequence[DemoRecord | SelectedDemo] = (),
                 store: DemoStore | None = None) -> list[Message]:
    """The seeing expert's prompt (also ``--direct``): the image and the question, after
    any in-context demos (:func:`demo_turns`)."""
    turns = demo_turns(demos, store, "vqa") if demos else []
    return turns + [Message.user(ImagePart(image, "the image"), question.strip())]


def act_messages(instruction: str, state: str, actions: Sequence[str],
                 done: Sequence[str] = ()) -> list[Message]:
    """An episode controller's prompt: the tagged instruction, the state in short lines (a
    GUI's numbered elements, ``e3 button "Submit"``, each standing for ``click e3``), the
    latest actions taken (at most :data:`ACT_HISTORY`) and the other actions allowed by
    name. No picture: the state is given in words.

    Args:
        instruction: What the episode is to do.
        state: The state lines.
        actions: Allowed action names the state lines do not stand for.
        done: Actions taken so far, in words, oldest first.
    """
    lines = [f"{ACT_TAG} {instruction.strip()}"]
    if state.strip():
        lines.append(state.strip())
    if done:
        lines.append("done: " + "; ".join(done[-ACT_HISTORY:]))
    lines.append("actions: " + ", ".join(actions))
    return [Message.user("\n".join(lines))]


def act_reply(action: str) -> str:
    """An action choice as the trained controller writes it: ``{"action":"click e3"}``."""
    return json.dumps({"action": action}, separators=(",", ":"))


def plan_reply(plan: dict[str, Any] | Plan) -> str:
    """A plan as the trained controller writes it, as compact JSON: intent, target,
    relation, steps (tool, args; ids only when they are not ``s1, s2...`` in order) and
    the answer step (only when it is not the last step), so replies stay short."""
    data = plan.model_dump() if isinstance(plan, Plan) else dict(plan)
    out: dict[str, Any] = {"intent": data.get("intent", "unknown")}
    for key in ("target", "relation"):
        if data.get(key):
            out[key] = data[key]
    steps = data.get("steps", [])
    positional = all(s["id"] == f"s{i}" for i, s in enumerate(steps, start=1))
    out["steps"] = [({} if positional else {"id": s["id"]})
                    | {"tool": s["tool"], "args": s.get("args", {})} for s in steps]
    if data.get("answer_step") and (not steps or data["answer_step"] != steps[-1]["id"]):
        out["answer_step"] = data["answer_step"]
    return json.dumps(out, separators=(",", ":"))


def decision_reply(action: str, reason: str, steps: Sequence[Step] = ()) -> str:
    """A decision as the trained decision maker writes it (``steps``: the steps it adds)."""
    out: dict[str, Any] = {"action": action, "reason": reason}
    if steps:
        out["steps"] = [{"id": s.id, "tool": s.tool, "args": dict(s.args)} for s in steps]
    return json.dumps(out, separators=(",", ":"))
