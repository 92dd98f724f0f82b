"""Multimodal chain-of-thought: a reasoning chain or a DDCoT-style tree, grounded in evidence.

Two shapes of reasoning are built from a :class:`~lavr.planners.plan.Plan` and the
evidence its steps produced:

* **chain** (:class:`ReasoningChain`): ordered reasoning steps; each step that
  needs the image is tied to the tool step(s) whose evidence supports it, with
  that evidence's status (``supported``, ``failed``, ``not_run``) — a line that
  cites no tool step is marked ``no_evidence``.
* **tree** (:class:`ReasoningTree`, after DDCoT): the question decomposed into
  sub-questions (nested by the data flow between steps); each is answered by the
  experts, else by the MLLM when one can see the image, else marked
  ``uncertain``; the sub-answers are aggregated into the final reasoning.

Length is *adaptive* (``steps=None``: as many steps as the decision maker
gathers) or *fixed* (at most ``steps`` reasoning steps, which also caps the
tool calls). Prompting is *zero-shot* (an instruction to reason step by step,
citing step ids) or *few-shot* (demos with rationales, see
:mod:`lavr.planners.demos.store`).

The rule controller's chain is honest by construction: its plan's reasoning
lines are ``"s1: find circles with the detector"``, one per step it runs.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from lavr.planners.plan import Plan, Step
from lavr.tools.evidence import Evidence, by_step
from lavr.tools.registry import ToolRegistry, builtin_tools

CotMode = Literal["off", "chain", "tree"]
CotPrompting = Literal["zero-shot", "few-shot"]
COT_MODES: tuple[str, ...] = ("off", "chain", "tree")

#: Zero-shot instruction added to a model controller's prompt for ``chain``.
CHAIN_INSTRUCTION = (
    "Think step by step. In \"reasoning\", write one line per step, in order; start each "
    "line that needs the image with the id of the tool step that will show it "
    "(\"s1: ...\")."
)
#: Zero-shot instruction added to a model controller's prompt for ``tree``.
TREE_INSTRUCTION = (
    "First break the question into simple sub-questions. In \"reasoning\", write one line per "
    "sub-question, ending with a question mark; start each line with the id of the tool step "
    "that answers it (\"s1: Where are the circles?\"). Write a sub-question with no step id "
    "when no tool can answer it."
)
#: Added when the length is fixed; ``{n}`` is the number of steps.
FIXED_LENGTH_INSTRUCTION = "Use at most {n} reasoning steps (and at most {n} tool steps)."

_STEP_REF = re.compile(r"\b([A-Za-z][A-Za-z0-9_]{0,15})\b")


class CotOptions(BaseModel):
    """How to reason for one question.

    Attributes:
        mode: ``off``, ``chain`` or ``tree``.
        steps: Fixed length — at most this many reasoning steps (and tool
            calls); None is adaptive (the decision maker stops when the answer
            is determined).
        prompting: ``zero-shot`` (an instruction to reason step by step) or
            ``few-shot`` (in-context demos carry rationales; needs ``icl`` k > 0
            to show any).
    """

    model_config = ConfigDict(extra="forbid")

    mode: CotMode = "off"
    steps: int | None = Field(None, ge=1, le=64)
    prompting: CotPrompting = "zero-shot"

    @property
    def enabled(self) -> bool:
        """Whether any reasoning structure is built."""
        return self.mode != "off"

    @classmethod
    def coerce(cls, value: CotOptions | dict[str, Any] | str | None, *,
               steps: int | None = None) -> CotOptions:
        """Options from a mode string, a dict or options (``steps`` overrides when given)."""
        if value is None:
            opts = cls()
        elif isinstance(value, CotOptions):
            opts = value
        elif isinstance(value, str):
            opts = cls(mode=value.strip().lower())  # type: ignore[arg-type]
        else:
            opts = cls.model_validate(value)
        if steps is not None:
            opts = opts.model_copy(update={"steps": steps})
            cls.model_validate(opts.model_dump())  # re-check the bound
        return opts

    def instructions(self) -> str:
        """Zero-shot prompt text for a model controller ("" when off)."""
        if self.mode == "off":
            return ""
        text = CHAIN_INSTRUCTION if self.mode == "chain" else TREE_INSTRUCTION
        if self.steps is not None:
            text += " " + FIXED_LENGTH_INSTRUCTION.format(n=self.steps)
        return text


EvidenceStatus = Literal["supported", "failed", "not_run", "no_evidence"]


class ChainStep(BaseModel):
    """One step of a reasoning chain.

    Attributes:
        index: 1-based position in the chain.
        text: The reasoning step, in words.
        step_ids: Tool steps whose evidence supports it (empty: none cited).
        evidence: Those steps' evidence summaries, in the same order.
        status: ``supported`` (all cited steps ran), ``failed`` (one errored),
            ``not_run`` (one was skipped or not reached), ``no_evidence``.
    """

    index: int
    text: str
    step_ids: list[str] = Field(default_factory=list)
    evidence: list[str] = Field(default_factory=list)
    status: EvidenceStatus = "no_evidence"


class ReasoningChain(BaseModel):
    """An ordered reasoning chain tied to evidence.

    Attributes:
        kind: Always ``chain``.
        steps: The reasoning steps in order.
        conclusion: What the answer step established ("" when there is none).
        conclusion_steps: The step(s) behind the conclusion.
        length: ``adaptive`` or ``fixed``.
        max_steps: The fixed length, if any.
        dropped: Reasoning steps left out by the fixed length.
        planner: Who wrote the plan the chain comes from.
    """

    kind: Literal["chain"] = "chain"
    steps: list[ChainStep] = Field(default_factory=list)
    conclusion: str = ""
    conclusion_steps: list[str] = Field(default_factory=list)
    length: Literal["adaptive", "fixed"] = "adaptive"
    max_steps: int | None = None
    dropped: int = 0
    planner: str = ""


AnswerSource = Literal["expert", "model", "uncertain"]


class SubQuestion(BaseModel):
    """A node of a reasoning tree.

    Attributes:
        id: ``q1``, ``q2``... in the order asked.
        question: The sub-question.
        step_ids: Tool steps that answer it.
        answer: Its answer (the evidence summary, the model's reply, or why not).
        source: ``expert``, ``model`` or ``uncertain``.
        children: Sub-questions it builds on.
        refers_to: Sub-questions it also builds on that are drawn under another node.
    """

    id: str
    question: str
    step_ids: list[str] = Field(default_factory=list)
    answer: str = ""
    source: AnswerSource = "uncertain"
    children: list[SubQuestion] = Field(default_factory=list)
    refers_to: list[str] = Field(default_factory=list)


class ReasoningTree(BaseModel):
    """A DDCoT-style decomposition: sub-questions, their answers, the aggregate.

    Attributes:
        kind: Always ``tree``.
        question: The question (the root).
        children: Top-level sub-questions.
        aggregate: The final reasoning built from the sub-answers.
        uncertain: How many sub-questions neither experts nor the model answered.
        length: ``adaptive`` or ``fixed``.
        max_steps: The fixed length (sub-questions), if any.
        dropped: Sub-questions left out by the fixed length.
        planner: Who wrote the plan the tree comes from.
    """

    kind: Literal["tree"] = "tree"
    question: str
    children: list[SubQuestion] = Field(default_factory=list)
    aggregate: str = ""
    uncertain: int = 0
    length: Literal["adaptive", "fixed"] = "adaptive"
    max_steps: int | None = None
    dropped: int = 0
    planner: str = ""

    def nodes(self) -> list[SubQuestion]:
        """Every sub-question, depth first."""
        out: list[SubQuestion] = []

        def walk(nodes: list[SubQuestion]) -> None:
            for n in nodes:
                out.append(n)
                walk(n.children)

        walk(self.children)
        return out


Reasoning = ReasoningChain | ReasoningTree


# -- helpers over plan and evidence ------------------------------------------------------

def _status(ids: list[str], evidence: dict[str, Evidence]) -> EvidenceStatus:
    if not ids:
        return "no_evidence"
    recs = [evidence.get(i) for i in ids]
    if any(r is None or r.skipped for r in recs):
        return "not_run"
    if any(r.failed for r in recs if r is not None):
        return "failed"
    return "supported"


def cited_steps(text: str, step_ids: list[str]) -> list[str]:
    """Step ids of the plan that ``text`` is about.

    A line that starts with a step id (``"s2: colour(source=s1)"``) is about that
    step alone (ids later in it are the step's inputs); otherwise every step id
    it mentions counts, in order of first mention.
    """
    known = set(step_ids)
    lead = re.match(r"^\s*\[?([A-Za-z][A-Za-z0-9_]{0,15})\]?\s*[:.)\-–]", text)
    if lead and lead.group(1) in known:
        return [lead.group(1)]
    out: list[str] = []
    for m in _STEP_REF.finditer(text):
        sid = m.group(1)
        if sid in known and sid not in out:
            out.append(sid)
    return out


def _strip_ref(text: str, ids: list[str]) -> str:
    """``"s1: find circles"`` → ``"find circles"`` (only a leading reference is removed)."""
    for sid in ids:
        m = re.match(rf"^\s*\[?{re.escape(sid)}\]?\s*[:.)\-–]\s*", text)
        if m:
            return text[m.end():].strip()
    return text.strip()


def _summary(rec: Evidence | None) -> str:
    if rec is None:
        return "not run"
    return rec.summary.strip()


def _answer_summary(plan: Plan, evidence: dict[str, Evidence]) -> tuple[str, list[str]]:
    if plan.answer_step and plan.answer_step in evidence:
        return _summary(evidence[plan.answer_step]), [plan.answer_step]
    return "", []


# -- chain ----------------------------------------------------------------------------------

def build_chain(plan: Plan, evidence: list[Evidence], *,
                max_steps: int | None = None) -> ReasoningChain:
    """The reasoning chain of ``plan``, each step tied to the evidence that supports it.

    The plan's ``reasoning`` lines come first, in order, each tied to the step ids
    it mentions; steps the lines never mention (e.g. ones the decision maker
    added) follow with their ``why``. The conclusion is the answer step's
    evidence.

    Args:
        plan: The final plan (with any steps the decision maker added).
        evidence: The run's evidence.
        max_steps: Fixed length: keep at most this many reasoning steps.
    """
    by_id = by_step(evidence)
    ids = [s.id for s in plan.steps]
    lines: list[tuple[str, list[str]]] = []
    mentioned: set[str] = set()
    for line in plan.reasoning:
        refs = cited_steps(line, ids)
        mentioned.update(refs)
        text = _strip_ref(line, refs)
        if text:
            lines.append((text, refs))
    for step in plan.steps:
        if step.id not in mentioned:
            lines.append((step.why or f"run {step.tool}", [step.id]))
    dropped = 0
    if max_steps is not None and len(lines) > max_steps:
        dropped = len(lines) - max_steps
        lines = lines[:max_steps]
    steps = [ChainStep(index=i + 1, text=text, step_ids=refs,
                       evidence=[_summary(by_id.get(r)) for r in refs],
                       status=_status(refs, by_id))
             for i, (text, refs) in enumerate(lines)]
    conclusion, conc_ids = _answer_summary(plan, by_id)
    return ReasoningChain(steps=steps, conclusion=conclusion, conclusion_steps=conc_ids,
                          length="fixed" if max_steps is not None else "adaptive",
                          max_steps=max_steps, dropped=dropped, planner=plan.planner)


# -- tree -----------------------------------------------------------------------------------

def sub_question(step: Step, plan: Plan, tools: ToolRegistry | None = None) -> str:
    """The sub-question a tool step answers, in words: the tool's own wording
    (:meth:`~lavr.tools.base.Tool.sub_question`), else the step's ``why`` as a question.

    Args:
        step: The step.
        plan: Its plan (the question's target shapes the wording).
        tools: The tools (default: the built-in tools).
    """
    tool = (tools or builtin_tools()).find(step.tool)
    asked = tool.sub_question(step.args, target=plan.target) if tool is not None else None
    if asked:
        return asked
    return step.why.rstrip(".?") + "?" if step.why else f"What does {step.tool} find?"


def _step_sources(step: Step) -> list[str]:
    """Earlier step ids that ``step`` reads (from its args, without a registry)."""
    out = []
    for key in ("source", "a", "b"):
        v = step.args.get(key)
        if isinstance(v, str) and v:
            out.append(v)
    return out


#: ``answer_fn(question)`` → the MLLM's answer, or None when it cannot tell.
AnswerFn = Callable[[str], "str | None"]


def build_tree(plan: Plan, evidence: list[Evidence], *,
               answer_fn: AnswerFn | None = None,
               max_steps: int | None = None,
               tools: ToolRegistry | None = None) -> ReasoningTree:
    """The DDCoT-style tree of ``plan``: sub-questions answered, then aggregated.

    Every tool step answers one sub-question (the controller's wording when a
    reasoning line asks it for that step, else one phrased from the step); a step's sub-question has as
    children the sub-questions of the steps it reads (a step read by several is
    drawn once and referred to by id elsewhere). Reasoning lines of the plan that
    ask a question no step answers become sub-questions for the model
    (``answer_fn``), else uncertain. A step that failed or never ran leaves its
    sub-question to the model too.

    Args:
        plan: The final plan.
        evidence: Evidence records.
        answer_fn: Asks the MLLM a sub-question about the image; None without one.
        max_steps: Fixed length: at most this many sub-questions.
        tools: The tools that word the steps' sub-questions (default: the built-in tools).
    """
    by_id = by_step(evidence)
    steps = {s.id: s for s in plan.steps}
    ids = list(steps)
    # Free sub-questions: reasoning lines that ask something but cite no step; and,
    # when no step answers the question, the question itself.
    free = [line.strip() for line in plan.reasoning
            if line.strip().endswith("?") and not cited_steps(line, ids)]
    if plan.answer_step is None and plan.question.strip() in free:
        free.remove(plan.question.strip())
    # Sub-questions the controller wrote for a step ("s1: Where are the circles?").
    asked: dict[str, str] = {}
    for line in plan.reasoning:
        refs = cited_steps(line, ids)
        text = _strip_ref(line, refs)
        if len(refs) == 1 and text.endswith("?"):
            asked.setdefault(refs[0], text)
    budget = [max_steps if max_steps is not None else 10**6]
    dropped = [0]
    counter = [0]
    placed: dict[str, str] = {}

    def answer(question: str, step_ids: list[str]) -> tuple[str, AnswerSource]:
        status = _status(step_ids, by_id)
        if status == "supported":
            return "; ".join(_summary(by_id[s]) for s in step_ids), "expert"
        reason = ("the expert failed: " + "; ".join(_summary(by_id.get(s)) for s in step_ids)
                  if status == "failed" else "no expert can answer it" if not step_ids
                  else "its expert step did not run")
        if answer_fn is not None:
            reply = answer_fn(question)
            if reply and reply.strip():
                return reply.strip(), "model"
        return reason, "uncertain"

    def node_for(sid: str) -> SubQuestion | None:
        if budget[0] <= 0:
            dropped[0] += 1
            return None
        budget[0] -= 1
        counter[0] += 1
        qid = f"q{counter[0]}"
        placed[sid] = qid
        step = steps[sid]
        children: list[SubQuestion] = []
        refers: list[str] = []
        for dep in _step_sources(step):
            if dep not in steps:
                continue
            if dep in placed:
                refers.append(placed[dep])
                continue
            child = node_for(dep)
            if child is not None:
                children.append(child)
        text = asked.get(sid) or sub_question(step, plan, tools)
        ans, source = answer(text, [sid])
        return SubQuestion(id=qid, question=text, step_ids=[sid], answer=ans, source=source,
                           children=children, refers_to=refers)

    # Roots: the answer step first, then other steps no step reads (e.g. added re-reads).
    read_by_others = {d for s in plan.steps for d in _step_sources(s)}
    roots = [plan.answer_step] if plan.answer_step in steps else []
    roots += [s.id for s in plan.steps if s.id not in read_by_others and s.id not in roots]
    top: list[SubQuestion] = []

    def free_node(q: str) -> None:
        if budget[0] <= 0:
            dropped[0] += 1
            return
        budget[0] -= 1
        counter[0] += 1
        ans, source = answer(q, [])
        top.append(SubQuestion(id=f"q{counter[0]}", question=q, answer=ans, source=source))

    if plan.answer_step is None:  # no step answers the question itself
        free_node(plan.question.strip())
    for sid in roots:
        if sid in placed:
            continue
        node = node_for(sid)
        if node is not None:
            top.append(node)
    for q in free:
        free_node(q)
    tree = ReasoningTree(question=plan.question, children=top, planner=plan.planner,
                         length="fixed" if max_steps is not None else "adaptive",
                         max_steps=max_steps, dropped=dropped[0])
    nodes = tree.nodes()
    tree.uncertain = sum(1 for n in nodes if n.source == "uncertain")
    tree.aggregate = aggregate(tree, plan, by_id)
    return tree


def aggregate(tree: ReasoningTree, plan: Plan, evidence: dict[str, Evidence]) -> str:
    """The final reasoning from the sub-answers (what the answer rests on, what is unsure)."""
    nodes = tree.nodes()
    answered = [n for n in nodes if n.source != "uncertain"]
    parts = []
    main = next((n for n in nodes if plan.answer_step in n.step_ids), None)
    if main is not None and main.source != "uncertain":
        parts.append(f"The answer rests on {main.id} ({main.question}): {main.answer}")
    elif plan.answer_step is None:
        parts.append("No single step answers the question; the answer reports what the "
                     "experts found")
    else:
        parts.append(f"The step that answers the question ({plan.answer_step}) gave no answer")
    parts.append(f"{len(answered)} of {len(nodes)} sub-questions answered "
                 f"({sum(1 for n in answered if n.source == 'expert')} by experts, "
                 f"{sum(1 for n in answered if n.source == 'model')} by the model)")
    if tree.uncertain:
        unsure = ", ".join(n.id for n in nodes if n.source == "uncertain")
        parts.append(f"uncertain: {unsure}")
    if tree.dropped:
        parts.append(f"{tree.dropped} sub-question(s) left out by the fixed length")
    return "; ".join(parts) + "."


def build_reasoning(mode: CotMode, plan: Plan, evidence: list[Evidence], *,
                    max_steps: int | None = None,
                    answer_fn: AnswerFn | None = None,
                    tools: ToolRegistry | None = None) -> Reasoning | None:
    """A chain, a tree (its sub-questions worded by ``tools``), or None for ``off``."""
    if mode == "chain":
        return build_chain(plan, evidence, max_steps=max_steps)
    if mode == "tree":
        return build_tree(plan, evidence, answer_fn=answer_fn, max_steps=max_steps,
                          tools=tools)
    return None


def reasoning_from_dict(data: dict[str, Any] | None) -> Reasoning | None:
    """Parse a chain or tree from its ``model_dump()`` (None stays None)."""
    if not data:
        return None
    if data.get("kind") == "tree":
        return ReasoningTree.model_validate(data)
    return ReasoningChain.model_validate(data)


# -- text rendering (what the CLI prints) ----------------------------------------------------

_MARK = {"supported": "✓", "failed": "✗", "not_run": "–", "no_evidence": "?"}


def render_chain(chain: ReasoningChain) -> list[str]:
    """The chain as readable lines."""
    out = []
    for s in chain.steps:
        cite = f" [{', '.join(s.step_ids)}]" if s.step_ids else ""
        out.append(f"{s.index}. {s.text}{cite} {_MARK[s.status]}")
        for sid, ev in zip(s.step_ids, s.evidence, strict=True):
            out.append(f"     {sid}: {ev}")
    if chain.dropped:
        out.append(f"   ({chain.dropped} more step(s) left out: fixed length {chain.max_steps})")
    if chain.conclusion:
        out.append(f"⇒ {chain.conclusion} [{', '.join(chain.conclusion_steps)}]")
    return out


def render_tree(tree: ReasoningTree) -> list[str]:
    """The tree as readable lines (box-drawing branches)."""
    out = [f"Q: {tree.question}"]

    def walk(nodes: list[SubQuestion], prefix: str) -> None:
        for i, n in enumerate(nodes):
            last = i == len(nodes) - 1
            branch, cont = ("└─ ", "   ") if last else ("├─ ", "│  ")
            cite = f" [{', '.join(n.step_ids)}]" if n.step_ids else ""
            refs = f" (uses {', '.join(n.refers_to)})" if n.refers_to else ""
            out.append(f"{prefix}{branch}{n.id}: {n.question}{cite}{refs}")
            out.append(f"{prefix}{cont}   → {n.source}: {n.answer}")
            walk(n.children, prefix + cont)

    walk(tree.children, "  ")
    out.append(f"⇒ {tree.aggregate}")
    return out


def render_reasoning(reasoning: Reasoning | dict[str, Any] | None) -> list[str]:
    """A chain or tree (or its dict) as readable lines; [] for None."""
    if isinstance(reasoning, dict):
        reasoning = reasoning_from_dict(reasoning)
    if reasoning is None:
        return []
    if isinstance(reasoning, ReasoningTree):
        return render_tree(reasoning)
    return render_chain(reasoning)
