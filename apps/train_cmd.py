"""``lavr train``: make role data, align lavr-mllm's vision, tune a VLM on the roles.

* ``lavr train data OUT --n 400 [--split train|heldout] [--kinds plan,decide,refine,vqa,caption]``
* ``lavr train align DATA --out DIR [--base new|lavr-mllm|PARTS]``: stage (a)
* ``lavr train roles DATA --out DIR [--base lavr-mllm|PARTS|MODEL]``: stage (b), LoRA

Training resumes from ``DIR/checkpoints`` when run again with the same data.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def add_parser(sub: Any) -> None:
    """Register ``lavr train data|align|roles``."""
    p = sub.add_parser("train", help="train lavr-mllm or tune a VLM on lavr's roles")
    tsub = p.add_subparsers(dest="train_cmd", required=True, parser_class=type(p))
    d = tsub.add_parser("data", help="role records from the agent's own successful runs")
    d.add_argument("out", help="output folder (records.jsonl + images/)")
    d.add_argument("--n", type=int, default=200, help="scenes (default 200)")
    d.add_argument("--seed", type=int, default=0, help="which block of scenes (default 0)")
    d.add_argument("--split", choices=("train", "heldout"), default="train",
                   help="phrasings and scenes: train, or held out for measuring")
    d.add_argument("--kinds", default="plan,decide,refine,vqa,caption",
                   help="records to write (default all: plan,decide,refine,vqa,caption)")
    d.add_argument("--detector", default="shapes", help="detector of the runs (default shapes)")
    d.add_argument("--no-progress", action="store_true")
    d.set_defaults(func=cmd_data)
    for stage, text in (("align", "stage (a): train the vision encoder + projector on "
                                  "image-caption records"),
                        ("roles", "stage (b): LoRA on the language model on role records")):
        s = tsub.add_parser(stage, help=text)
        s.add_argument("data", help="JSON-lines chat records (see 'lavr train data')")
        s.add_argument("--out", required=True, help="output folder (parts or adapter + "
                       "checkpoints/)")
        s.add_argument("--base", default="new" if stage == "align" else "lavr-mllm",
                       help="new, lavr-mllm, a parts folder, or (roles) any image-text-to-text "
                       "model folder or hub id, e.g. Qwen/Qwen2.5-VL-3B-Instruct")
        s.add_argument("--lm", help="language model folder for lavr-mllm (default: the "
                       "packaged Gemma 3 270M)")
        s.add_argument("--epochs", type=float, default=1.0)
        s.add_argument("--max-steps", type=int, default=-1, help="optimiser steps (wins over "
                       "--epochs)")
        s.add_argument("--stop-after", type=int, metavar="N", help="stop after N optimiser "
                       "steps, keeping the learning-rate schedule of the whole run")
        s.add_argument("--lr", type=float, help="learning rate (default 1e-3 align, 2e-4 roles)")
        s.add_argument("--batch-size", type=int, default=1)
        s.add_argument("--grad-accum", type=int, default=4)
        s.add_argument("--lora-r", type=int, default=16)
        s.add_argument("--lora-alpha", type=int, default=32)
        s.add_argument("--seed", type=int, default=0)
        s.add_argument("--device", default="auto", help="auto (default), cpu or cuda")
        s.add_argument("--save-steps", type=int, default=20, help="checkpoint every N steps")
        s.add_argument("--max-length", type=int, default=384, help="tokens per record")
        s.add_argument("--threads", type=int, help="torch CPU threads")
        s.add_argument("--restart", action="store_true", help="ignore existing checkpoints")
        s.add_argument("--bf16", choices=("auto", "on", "off"), default="auto",
                       help="bfloat16 autocast (default auto: when the GPU or CPU supports it)")
        if stage == "roles":
            s.add_argument("--new-adapter", action="store_true", help="lavr-mllm parts with "
                           "a LoRA adapter: start a fresh adapter (default: continue it)")
        s.add_argument("--no-progress", action="store_true")
        s.add_argument("--json", action="store_true", help="print the result as JSON")
        s.set_defaults(func=cmd_train, stage=stage)


def cmd_data(args: argparse.Namespace) -> int:
    """``lavr train data``."""
    from lavr.apps.train_data import KINDS, build
    from lavr.core_model.errors import InputError

    kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
    bad = [k for k in kinds if k not in KINDS]
    if bad or not kinds:
        raise InputError(f"unknown record kind(s) {', '.join(bad) or '(none)'}; kinds are "
                         + ", ".join(KINDS))
    if args.n < 1:
        raise InputError(f"--n must be at least 1, got {args.n}")
    counts = build(args.out, n=args.n, seed=args.seed, split=args.split, kinds=kinds,
                   detector=args.detector, progress=not args.no_progress)
    print(f"{Path(args.out) / 'records.jsonl'}: " + ", ".join(f"{k} {v}"
                                                             for k, v in counts.items()))
    return 0


def check_train_args(args: argparse.Namespace) -> None:
    """Refuse a count or rate the trainer cannot use, in one line, before any model loads
    (``--batch-size 0`` was the trainer's ValueError after loading; ``--epochs 0`` trained
    nothing and said so only in its summary).

    Raises:
        InputError: The first bad value.
    """
    from lavr.core_model.errors import InputError

    positive = {"--epochs": args.epochs, "--batch-size": args.batch_size,
                "--grad-accum": args.grad_accum, "--lora-r": args.lora_r,
                "--lora-alpha": args.lora_alpha, "--save-steps": args.save_steps,
                "--max-length": args.max_length, "--lr": args.lr,
                "--stop-after": args.stop_after, "--threads": args.threads,
                "--max-steps": None if args.max_steps == -1 else args.max_steps}
    for flag, value in positive.items():
        if value is not None and value <= 0:
            raise InputError(f"{flag} must be above 0, got {value}")


def cmd_train(args: argparse.Namespace) -> int:
    """``lavr train align|roles``."""
    from lavr.core_model.training import TrainOptions, train

    check_train_args(args)
    opts = TrainOptions(
        stage=args.stage, data=Path(args.data), out=Path(args.out), base=args.base,
        lm=Path(args.lm) if args.lm else None, epochs=args.epochs, max_steps=args.max_steps,
        learning_rate=args.lr, batch_size=args.batch_size, grad_accum=args.grad_accum,
        lora_r=args.lora_r, lora_alpha=args.lora_alpha, seed=args.seed, device=args.device,
        save_steps=args.save_steps, max_length=args.max_length, threads=args.threads,
        restart=args.restart, progress=not args.no_progress,
        new_adapter=bool(getattr(args, "new_adapter", False)),
        bf16=None if args.bf16 == "auto" else args.bf16 == "on",
        stop_after=args.stop_after)
    res = train(opts)
    if args.json:
        print(json.dumps({"out": str(res.out), "steps": res.steps, "seconds": round(res.seconds, 1),
                          "loss": res.loss, "records": res.records,
                          "resumed_from": res.resumed_from, "files": res.files}, indent=1))
        return 0
    resumed = f" (resumed from {res.resumed_from})" if res.resumed_from else ""
    print(f"{args.stage}: {res.steps} steps on {res.records} records in {res.seconds:.0f} s, "
          f"loss {res.loss}{resumed}", file=sys.stderr)
    for name, size in res.files.items():
        print(f"  {Path(res.out) / name}  {size / 1024:.0f} KB")
    return 0
