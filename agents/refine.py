"""Rule-mode semantic refiner: a fluent answer written from evidence only.

Every sentence cites the step ids it rests on (``[s3]``) and boxes where they help.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from lavr.planners.plan import Plan
from lavr.tools.base import ArtifactStore
from lavr.tools.detections import Detections

NUMBER_WORDS = ["no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
                "ten", "eleven", "twelve"]


def _plural(noun: str, n: int) -> str:
    if n == 1 or not noun:
        return noun
    last = noun.split()[-1]
    if last in ("person",):
        return noun[: -len(last)] + "people"
    if last.endswith(("s", "x", "ch", "sh")):
        return noun + "es"
    if last.endswith("y") and last[-2:-1] not in "aeiou":
        return noun[:-1] + "ies"
    return noun + "s"


def _num(n: int) -> str:
    return NUMBER_WORDS[n] if 0 <= n < len(NUMBER_WORDS) else str(n)


def _box(b: list[float]) -> str:
    return "[" + ", ".join(str(int(round(v))) for v in b) + "]"


def _where(box: list[float], size: list[int] | None) -> str:
    if not size:
        return ""
    w, h = size
    cx, cy = (box[0] + box[2]) / 2 / max(w, 1), (box[1] + box[3]) / 2 / max(h, 1)
    col = "left" if cx < 1 / 3 else "right" if cx > 2 / 3 else "centre"
    row = "top" if cy < 1 / 3 else "bottom" if cy > 2 / 3 else "middle"
    if row == "middle" and col == "centre":
        return "in the centre"
    if row == "middle":
        return f"on the {col}"
    if col == "centre":
        return f"at the {row}"
    return f"at the {row} {col}"


class _Evidence:
    def __init__(self, plan: Plan, records: list[dict[str, Any]], artifacts: ArtifactStore) -> None:
        self.plan = plan
        self.by_id = {r["step_id"]: r for r in records}
        self.records = records
        self.artifacts = artifacts

    def get(self, sid: str | None) -> dict[str, Any] | None:
        return self.by_id.get(sid) if sid else None

    def dets(self, sid: str | None) -> Detections | None:
        rec = self.get(sid)
        if not rec or not rec.get("artifact_id") or rec["artifact_id"] not in self.artifacts:
            return None
        obj = self.artifacts.get(rec["artifact_id"])
        return obj if isinstance(obj, Detections) else None

    def source_of(self, sid: str) -> str | None:
        step = next((s for s in self.plan.steps if s.id == sid), None)
        if step is None:
            return None
        return step.args.get("source") or step.args.get("a")

    def answer(self) -> tuple[str, dict[str, Any], list[str]] | None:
        """``(answer step id, its record, its citation chain)``, or None if it failed."""
        sid = self.plan.answer_step
        rec = self.get(sid)
        if sid is None or rec is None or rec.get("error"):
            return None
        return sid, rec, self.chain(sid)

    def errors(self) -> list[dict[str, Any]]:
        return [r for r in self.records if r.get("error") and not r.get("skipped")]

    def chain(self, sid: str | None) -> list[str]:
        """sid and the steps it derives from (for citation)."""
        out: list[str] = []
        while sid and sid not in out:
            out.append(sid)
            sid = self.source_of(sid)
        return list(reversed(out))


def _cite(ids: list[str]) -> str:
    ids = [i for i in dict.fromkeys(ids) if i]
    return f" [{', '.join(ids)}]" if ids else ""


def _failure(ev: _Evidence) -> tuple[str, list[str]]:
    errs = ev.errors()
    if not errs:
        return "", []
    first = errs[0]
    if first.get("user_message"):  # the tool already said it for a person
        return f"{first['user_message']}{_cite([first['step_id']])}", [first["step_id"]]
    reason = str(first["error"]).removeprefix(f"{first['tool']}: ").rstrip(".")
    return (f"I could not gather the evidence: {first['tool']} failed ({reason})."
            f"{_cite([first['step_id']])}", [first["step_id"]])


def _describe_all(dets: Detections) -> str:
    names = Counter(dets.describe(i) for i in range(len(dets)))
    parts = [f"{_num(n)} {_plural(name, n)}" for name, n in names.most_common()]
    if len(parts) > 1:
        return ", ".join(parts[:-1]) + " and " + parts[-1]
    return parts[0] if parts else "nothing"


def _answer_count(ev: _Evidence, target: str, exists: bool) -> tuple[str, list[str]]:
    got = ev.answer()
    if got is None:
        return _failure(ev)
    sid, rec, chain = got
    value = rec.get("value")
    if value is not None and not isinstance(value, (int, float)):
        # a model's plan may end a count on a step that gives objects, not a number
        own = ev.dets(sid)
        if own is None:
            return (f"The plan's last step ({rec['tool']}) does not give a number.{_cite(chain)}",
                    chain)
        value = len(own)
    n = int(value or 0)
    dets = ev.dets(ev.source_of(sid) if sid else None)
    boxes = ""
    if dets is not None and 0 < len(dets) <= 6:
        boxes = " at " + ", ".join(_box(b) for b in dets.xyxy.tolist())
    noun = target or "object"
    if exists:
        if n == 0:
            return f"No, I found no {noun} in the image.{_cite(chain)}", chain
        return (f"Yes, there {'is' if n == 1 else 'are'} {_num(n)} {_plural(noun, n)}{boxes}."
                f"{_cite(chain)}"), chain
    verb = "is" if n == 1 else "are"
    return f"There {verb} {_num(n)} {_plural(noun, n)}{boxes}.{_cite(chain)}", chain


def _answer_colour(ev: _Evidence, target: str) -> tuple[str, list[str]]:
    got = ev.answer()
    if got is None:
        return _failure(ev)
    sid, rec, chain = got
    dets = ev.dets(sid)
    noun = target or "object"
    if dets is None or len(dets) == 0:
        return f"I found no {noun}, so I cannot name its colour.{_cite(chain)}", chain
    colours = [str(c) for c in dets.data.get("colour", [])]
    if not colours:
        return f"I could not determine the colour of the {noun}.{_cite(chain)}", chain
    if len(dets) == 1:
        return (f"The {noun} is {colours[0]} (box {_box(dets.xyxy[0].tolist())})."
                f"{_cite(chain)}"), chain
    counts = Counter(colours)
    if len(counts) == 1:
        return (f"All {_num(len(dets))} {_plural(noun, len(dets))} are {colours[0]}."
                f"{_cite(chain)}"), chain
    parts = ", ".join(f"{_num(n)} {c}" for c, n in counts.most_common())
    return (f"There are {_num(len(dets))} {_plural(noun, len(dets))}: {parts}.{_cite(chain)}",
            chain)


def _inside(box: list[float], region: list[float]) -> bool:
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    return region[0] <= cx <= region[2] and region[1] <= cy <= region[3]


def _mean(xs: list[float]) -> float:
    return sum(xs) / len(xs) if xs else 0.0


def _merge_rereads(base: dict[str, Any], rereads: list[dict[str, Any]]) -> tuple[list[str], list[str]]:
    """Lines of the first OCR pass, each replaced by a zoomed re-read that is more confident."""
    lines = [str(t) for t in base["value"]]
    scores = list(base.get("scores") or [])
    boxes = base.get("boxes") or []
    used = [base["step_id"]]
    for rec in rereads:
        region = rec.get("args", {}).get("region")
        if not region or not rec.get("value"):
            continue
        for i, box in enumerate(boxes[:len(lines)]):
            old = scores[i] if i < len(scores) else 0.0
            if _inside(box, region) and _mean(rec.get("scores") or []) > old:
                lines[i] = " ".join(str(t) for t in rec["value"])
                used.append(rec["step_id"])
    return lines, used


def _answer_read(ev: _Evidence) -> tuple[str, list[str]]:
    ocr = [r for r in ev.records if r["tool"] == "ocr" and not r.get("skipped")]
    good = [r for r in ocr if not r.get("error") and r.get("value")]
    whole = [r for r in good if not r.get("args", {}).get("region")]
    if whole:
        rereads = [r for r in good if r.get("args", {}).get("region")]
        lines, used = _merge_rereads(whole[-1], rereads)
        rec = whole[-1]
        quoted = ", ".join(f'"{t}"' for t in lines)
        where = f" (box {_box(rec['boxes'][0])})" if rec.get("boxes") and len(lines) == 1 else ""
        verb = "reads" if len(lines) == 1 else "reads, line by line,"
        return f"The text {verb} {quoted}{where}.{_cite(used)}", used
    if good:
        rec = good[-1]
        quoted = ", ".join(f'"{t}"' for t in rec["value"])
        return f"The text reads {quoted}.{_cite([rec['step_id']])}", [rec["step_id"]]
    if ocr and all(r.get("error") for r in ocr):
        return _failure(ev)
    ids = [r["step_id"] for r in ocr]
    return f"I could not find any readable text in the image.{_cite(ids)}", ids


def _answer_locate(ev: _Evidence, target: str, size: list[int] | None) -> tuple[str, list[str]]:
    got = ev.answer()
    if got is None:
        return _failure(ev)
    sid, rec, chain = got
    dets = ev.dets(sid)
    noun = target or "object"
    if dets is None or len(dets) == 0:
        return f"I found no {noun} in the image.{_cite(chain)}", chain
    places = [f"{_where(b, size)} (box {_box(b)})" for b in dets.xyxy.tolist()[:6]]
    if len(dets) == 1:
        return f"The {noun} is {places[0]}.{_cite(chain)}", chain
    return (f"I found {_num(len(dets))} {_plural(noun, len(dets))}: " + "; ".join(places)
            + f".{_cite(chain)}"), chain


def _answer_relation(ev: _Evidence) -> tuple[str, list[str]]:
    sid = ev.plan.answer_step
    rec = ev.get(sid)
    step = next((s for s in ev.plan.steps if s.id == sid), None)
    if rec is None:
        return _failure(ev)
    if rec.get("error"):
        a_ids = ev.chain(step.args.get("a")) if step else []
        b_ids = ev.chain(step.args.get("b")) if step else []
        return (f"I could not check that: {rec['error']}.{_cite(a_ids + b_ids + [sid])}",
                a_ids + b_ids + [sid])
    a_ids = ev.chain(step.args.get("a")) if step else []
    b_ids = ev.chain(step.args.get("b")) if step else []
    cited = list(dict.fromkeys(a_ids + b_ids + [sid]))
    value = rec.get("value")
    summary = str(rec.get("summary", "")).removeprefix("relation: ")
    if isinstance(value, bool):
        return f"{'Yes' if value else 'No'}: {summary}.{_cite(cited)}", cited
    return f"{summary}.{_cite(cited)}", cited


def _answer_segment(ev: _Evidence, target: str) -> tuple[str, list[str]]:
    got = ev.answer()
    if got is None:
        return _failure(ev)
    sid, rec, chain = got
    areas = [int(a) for a in (rec.get("value") or [])]
    noun = target or "object"
    if not areas:
        return f"I found no {noun} to segment.{_cite(chain)}", chain
    return (f"I segmented {_num(len(areas))} {_plural(noun, len(areas))}; mask area" + ("s " if len(areas) > 1 else " ")
            + ", ".join(f"{a} px" for a in areas) + f".{_cite(chain)}"), chain


def _answer_list(ev: _Evidence) -> tuple[str, list[str]]:
    got = ev.answer()
    if got is None:
        return _failure(ev)
    sid, rec, chain = got
    dets = ev.dets(sid)
    if dets is None or len(dets) == 0:
        return f"I did not detect any objects I know.{_cite(chain)}", chain
    return f"I see {_describe_all(dets)}.{_cite(chain)}", chain


def _answer_unknown(ev: _Evidence) -> tuple[str, list[str]]:
    found = []
    ids = []
    for rec in ev.records:
        if rec.get("error"):
            continue
        if rec["tool"] == "colour":
            dets = ev.dets(rec["step_id"])
            if dets is not None and len(dets):
                found.append(_describe_all(dets))
                ids.append(rec["step_id"])
        if rec["tool"] == "ocr" and rec.get("value"):
            found.append("text " + ", ".join(f'"{t}"' for t in rec["value"]))
            ids.append(rec["step_id"])
    note = ev.plan.note or "I could not work out how to answer this question."
    what = "; ".join(found) if found else "no objects or text I could recognise"
    return f"{note} What I found: {what}.{_cite(ids)}", ids


def refine_answer(plan: Plan, evidence: list[dict[str, Any]], artifacts: ArtifactStore, *,
                  image_size: list[int] | None = None) -> tuple[str, list[str]]:
    """Write the answer for ``plan`` from ``evidence``.

    Returns:
        ``(answer, cited_step_ids)``.
    """
    ev = _Evidence(plan, evidence, artifacts)
    target = plan.target
    intent = plan.intent
    if intent in ("count", "exists"):
        answer, cited = _answer_count(ev, target, intent == "exists")
    elif intent == "colour":
        answer, cited = _answer_colour(ev, target)
    elif intent == "read":
        answer, cited = _answer_read(ev)
    elif intent == "locate":
        answer, cited = _answer_locate(ev, target, image_size)
    elif intent == "relation":
        answer, cited = _answer_relation(ev)
    elif intent == "segment":
        answer, cited = _answer_segment(ev, target)
    elif intent == "list":
        answer, cited = _answer_list(ev)
    else:
        answer, cited = _answer_unknown(ev)
    skipped = [r for r in evidence if r.get("skipped") and "budget" in str(r.get("error"))]
    if skipped:
        answer += f" (The step budget ran out before {len(skipped)} step(s) could run.)"
    elif not answer and plan.answer_step and plan.answer_step not in ev.by_id:
        # the loop stopped on the budget before the answer step was reached (fixed-length CoT)
        answer = "I could not answer: the step budget ran out before the answer step could run."
    return answer, cited
