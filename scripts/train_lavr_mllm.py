"""The recipe that made the committed ``lavr-mllm`` parts (``core_model/weights/lavr-mllm``).

Steps (each resumable: run the script again after an interruption):

1. ``lavr train data``: scenes, questions in the training phrasings, the rule
   agent's runs kept when right against the ground truth → records per role
   plus an image caption per scene.
2. Subsets sized for a shared 2-core CPU: ``--captions`` caption records for
   alignment, ``--per-role`` records of each role for instruction tuning
   (the first records of each role in file order; the Trainer shuffles them).
3. ``lavr train align`` (vision encoder + projector through the frozen LM),
   then ``lavr train roles`` (LoRA on the LM) from the aligned parts.
4. Round two (``--round2-scenes``; the committed parts): fresh role records with
   the current prompts (``lavr train data`` on two blocks of scenes, one per
   core), a random subset per role (``--round2-per-role``), and ``lavr train
   roles`` continuing round one's LoRA adapter on them (bf16 autocast, two
   threads), stopped after ``--round2-stop-after`` steps of the one-epoch schedule.
5. The trained parts are copied into the package (``--install``).

Run::

    .venv/bin/python scripts/train_lavr_mllm.py --work runs/lavr-mllm --install

On a GPU add ``--device cuda`` and raise the sizes (``--scenes 5000 --captions
5000 --per-role plan=2000,refine=1000,decide=300,vqa=2000 --epochs 2``).
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import sys
from pathlib import Path

PARTS = ("config.json", "processor.json", "vision.safetensors", "adapter", "training.json")
LAVR = [str(Path(sys.executable).with_name("lavr"))]


def run(*args: str) -> None:
    print("+ lavr " + " ".join(args), flush=True)
    subprocess.run([*LAVR, *args], check=True)


def subset(src: Path, out: Path, caps: dict[str, int]) -> None:
    """The first ``caps[role]`` records of each role, in file order (the Trainer shuffles)."""
    taken: dict[str, list[str]] = {r: [] for r in caps}
    for line in src.read_text(encoding="utf-8").splitlines():
        role = json.loads(line).get("role", "")
        if role in caps and len(taken[role]) < caps[role]:
            taken[role].append(line)
    lines = [x for v in taken.values() for x in v]
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"{out}: " + ", ".join(f"{k} {len(v)}" for k, v in taken.items()))


def round2_data(work: Path, scenes: int, caps: dict[str, int], seed: int) -> Path:
    """Role records from ``2 x scenes`` new scenes (two processes), a random subset per role."""
    blocks = [work / f"data2_{k}" for k in (0, 1)]
    procs = [subprocess.Popen([*LAVR, "train", "data", str(b), "--n", str(scenes), "--seed",
                               str(k), "--no-progress"])
             for k, b in enumerate(blocks) if not (b / "records.jsonl").is_file()]
    if any(p.wait() for p in procs):
        raise SystemExit("lavr train data failed")
    out = work / "data2"
    (out / "images").mkdir(parents=True, exist_ok=True)
    by_role: dict[str, list[dict]] = {}
    for b in blocks:
        for img in (b / "images").iterdir():
            link = out / "images" / img.name
            if not link.exists():
                link.symlink_to(img.resolve())
        for line in (b / "records.jsonl").read_text(encoding="utf-8").splitlines():
            rec = json.loads(line)
            by_role.setdefault(rec["role"], []).append(rec)
    rng = random.Random(seed)
    chosen = []
    for role, n in caps.items():
        pool = list(by_role.get(role, []))
        rng.shuffle(pool)
        chosen += pool[:n]
    path = out / "roles.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in chosen), encoding="utf-8")
    print(f"{path}: " + ", ".join(f"{k} {min(n, len(by_role.get(k, [])))}"
                                  for k, n in caps.items()))
    return path


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--work", type=Path, default=Path("runs/lavr-mllm"))
    p.add_argument("--scenes", type=int, default=500)
    p.add_argument("--captions", type=int, default=120)
    p.add_argument("--per-role", default="plan=120,refine=70,decide=20,vqa=70")
    p.add_argument("--epochs", type=float, default=1.0)
    p.add_argument("--align-steps", type=int, default=15,
                   help="alignment optimiser steps of 4 records (-1: --epochs)")
    p.add_argument("--grad-accum", type=int, default=2, help="roles: records per step")
    p.add_argument("--align-lr", type=float, default=1e-3)
    p.add_argument("--roles-lr", type=float, default=5e-4)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--device", default="auto")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--round2-scenes", type=int, default=300,
                   help="round two: scenes per data block (two blocks; 0: no round two)")
    p.add_argument("--round2-per-role", default="plan=570,refine=450,decide=120,vqa=350")
    p.add_argument("--round2-lr", type=float, default=3e-4)
    p.add_argument("--round2-grad-accum", type=int, default=4)
    p.add_argument("--round2-threads", type=int, default=2)
    p.add_argument("--round2-stop-after", type=int, default=300,
                   help="round two: stop after this many steps of the one-epoch schedule")
    p.add_argument("--install", action="store_true",
                   help="copy the trained parts into core_model/weights/lavr-mllm")
    args = p.parse_args()
    work = args.work
    data = work / "data"
    if not (data / "records.jsonl").is_file():
        run("train", "data", str(data), "--n", str(args.scenes), "--seed", str(args.seed))
    subset(data / "records.jsonl", data / "align.jsonl", {"caption": args.captions})
    caps = {k: int(v) for k, v in (kv.split("=") for kv in args.per_role.split(","))}
    subset(data / "records.jsonl", data / "roles.jsonl", caps)
    common = ["--threads", str(args.threads), "--device", args.device, "--seed",
              str(args.seed), "--epochs", str(args.epochs), "--save-steps", "5"]
    run("train", "align", str(data / "align.jsonl"), "--out", str(work / "align"),
        "--base", "new", "--lr", str(args.align_lr), "--max-steps", str(args.align_steps),
        *common)
    run("train", "roles", str(data / "roles.jsonl"), "--out", str(work / "roles"),
        "--base", str(work / "align"), "--lr", str(args.roles_lr), "--grad-accum",
        str(args.grad_accum), *common)
    final = work / "roles"
    if args.round2_scenes > 0:
        caps2 = {k: int(v) for k, v in (kv.split("=") for kv in args.round2_per_role.split(","))}
        data2 = round2_data(work, args.round2_scenes, caps2, args.seed)
        final = work / "roles2"
        run("train", "roles", str(data2), "--out", str(final), "--base", str(work / "roles"),
            "--lr", str(args.round2_lr), "--grad-accum", str(args.round2_grad_accum),
            "--threads", str(args.round2_threads), "--device", args.device, "--seed",
            str(args.seed), "--epochs", "1", "--save-steps", "20",
            *(["--stop-after", str(args.round2_stop_after)] if args.round2_stop_after else []))
    if args.install:
        target = Path(__file__).resolve().parents[1] / "core_model" / "weights" / "lavr-mllm"
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        for name in PARTS:
            src = final / name
            (shutil.copytree if src.is_dir() else shutil.copy2)(src, target / name)
        print(f"installed the parts into {target}")


if __name__ == "__main__":
    main()
