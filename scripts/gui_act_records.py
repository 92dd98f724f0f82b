"""Split the GUI act records and mix them with role records; score a model on held-out ones.

    # split: held-out seeds and held-out tasks go to heldout.jsonl, the rest to train;
    # the training file also takes role records (plan, decide, refine, vqa) so those
    # roles keep what they learnt (images resolve next to the role file: mix.jsonl is
    # written into the role records' folder)
    .venv/bin/python scripts/gui_act_records.py split runs/gui_act/*.jsonl \\
        --heldout-seeds 103 --heldout-tasks a,b --roles runs/roles/records.jsonl \\
        --per-role 40 --out runs/gui_act
    # score: the model's first reply to each held-out prompt (no re-ask): valid (an
    # offered action) and the same as the rules' choice
    .venv/bin/python scripts/gui_act_records.py score runs/gui_act/heldout.jsonl \\
        --model lavr-mllm --threads 1
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path


def _read(paths: list[Path]) -> list[dict]:
    return [json.loads(line) for p in paths for line in p.read_text().splitlines() if line.strip()]


def split(args: argparse.Namespace) -> int:
    recs = _read(args.records)
    held_tasks = {t for t in args.heldout_tasks.split(",") if t}
    held_seeds = {int(s) for s in args.heldout_seeds.split(",") if s}
    train = [r for r in recs if r["task"] not in held_tasks and r["seed"] not in held_seeds]
    held = [r for r in recs if r not in train]
    rng = random.Random(0)
    roles: list[dict] = []
    if args.roles:
        by_role = defaultdict(list)
        short = _short(args.tokenizer, args.max_tokens) if args.tokenizer else (lambda r: True)
        for r in _read([args.roles]):
            if short(r):
                by_role[r["role"]].append(r)
        for rs in by_role.values():
            roles += rng.sample(rs, min(args.per_role, len(rs)))
    mix = [dict(r) for r in train] * args.repeat + roles
    rng.shuffle(mix)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "heldout.jsonl").write_text("".join(json.dumps(r) + "\n" for r in held))
    (args.out / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in train))
    where = args.roles.parent if args.roles else args.out
    (where / "mix.jsonl").write_text("".join(json.dumps(r) + "\n" for r in mix))
    print(f"train {len(train)} act records ({len(Counter(r['task'] for r in train))} tasks) "
          f"x{args.repeat} + {len(roles)} role records -> {where / 'mix.jsonl'}; held out "
          f"{len(held)} ({len(Counter(r['task'] for r in held))} tasks)", file=sys.stderr)
    return 0


def _short(tokenizer: Path, max_tokens: int):
    """A test that a record's chat text (plus 36 image tokens per image) fits ``max_tokens``."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tokenizer)

    def fits(r: dict) -> bool:
        msgs = [{"role": m["role"], "content": m["content"] if isinstance(m["content"], str)
                 else "".join(p.get("text", "") for p in m["content"])} for m in r["messages"]]
        text = tok.apply_chat_template(msgs, tokenize=False)
        return len(tok(text)["input_ids"]) + 36 * len(r.get("images") or []) <= max_tokens
    return fits


def _offered(prompt: str) -> set[str]:
    names = {f"click {m}" for m in re.findall(r"^(e\d+) ", prompt, re.M)}
    acts = re.search(r"^actions: (.*)$", prompt, re.M)
    if acts:
        names |= {a.strip() for a in re.findall(r'type "[^"]*"|[a-z]+', acts[1])}
    return names


def score(args: argparse.Namespace) -> int:
    import torch

    from lavr.core_model.backends import load_model
    from lavr.core_model.errors import ModelOutputError
    from lavr.core_model.messages import Message
    from lavr.core_model.structured import parse_structured
    from lavr.episodes.controller import ActionChoice

    torch.set_num_threads(args.threads)
    model = load_model(args.model, threads=args.threads)
    recs = _read([args.records])[: args.limit or None]
    model.generate([Message.user("Reply with OK.")], max_new_tokens=1, task="warmup")
    per_task: dict[str, Counter] = defaultdict(Counter)
    t0 = time.perf_counter()
    for r in recs:
        prompt = r["messages"][0]["content"][0]["text"]
        gold = json.loads(r["messages"][-1]["content"])["action"]
        offered = _offered(prompt)

        def parse(raw: str, offered: set[str] = offered) -> str:
            choice = parse_structured(raw, ActionChoice).action.strip()
            if choice not in offered:
                raise ModelOutputError(raw, [f"{choice!r} is not offered"])
            return choice

        got = model.structured([Message.user(prompt)], parse, retries=0, what="action",
                               max_new_tokens=24, task="act")
        c = per_task[r["task"]]
        c["n"] += 1
        c["valid"] += got.ok
        c["agree"] += got.ok and got.value == gold
    secs = time.perf_counter() - t0
    total = sum(per_task.values(), Counter())
    out = {"model": args.model, "records": total["n"],
           "valid": round(total["valid"] / max(total["n"], 1), 3),
           "agree": round(total["agree"] / max(total["n"], 1), 3),
           "seconds_per_record": round(secs / max(total["n"], 1), 2),
           "tasks": {t: dict(c) for t, c in sorted(per_task.items())}}
    print(json.dumps(out, indent=1))
    return 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("split")
    s.add_argument("records", nargs="+", type=Path)
    s.add_argument("--heldout-seeds", default="")
    s.add_argument("--heldout-tasks", default="")
    s.add_argument("--roles", type=Path, default=None)
    s.add_argument("--per-role", type=int, default=40)
    s.add_argument("--tokenizer", type=Path, default=None,
                   help="a model folder whose tokenizer measures the role records")
    s.add_argument("--max-tokens", type=int, default=240, help="longest role record kept")
    s.add_argument("--repeat", type=int, default=1, help="act records repeated this many times")
    s.add_argument("--out", type=Path, required=True)
    s.set_defaults(func=split)
    c = sub.add_parser("score")
    c.add_argument("records", type=Path)
    c.add_argument("--model", default="lavr-mllm")
    c.add_argument("--threads", type=int, default=1)
    c.add_argument("--limit", type=int, default=0)
    c.set_defaults(func=score)
    args = p.parse_args()
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
