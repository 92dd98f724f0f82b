"""Train the ``shapes`` detector (YOLO11n from scratch) on synthetic scenes.

Generates train / val / held-out test splits with :mod:`lavr.apps.synthetic_scenes`
(different seeds, exact YOLO labels, some scenes with printed-word
distractors), trains ``yolo11n.yaml`` on CPU with nothing downloaded, evaluates
mAP50 and mAP50-95 on the held-out split, and writes a stripped half-precision
checkpoint plus a JSON card with the metrics next to it.

The defaults are what produced ``tools/weights/shapes-yolo11n.pt``: about
20 minutes of ``model.train`` wall time on 2 CPU cores (8 epochs of ~150 s incl.
per-epoch validation). Validation mAP50 was already ~0.99 after 6 epochs, so
``--epochs 6`` is a good choice when time is short.

Usage:
    .venv/bin/python scripts/train_shapes.py            # the defaults used for the shipped weights
    .venv/bin/python scripts/train_shapes.py --epochs 3 --n-train 200 --n-val 50   # smoke run
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

# Offline before ultralytics is imported: no analytics events, no hub calls.
os.environ.setdefault("YOLO_OFFLINE", "1")
os.environ.setdefault("MPLBACKEND", "Agg")

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from lavr.apps.synthetic_scenes import SHAPES, WORDS, render_scene  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SEEDS = {"train": 0, "val": 1, "test": 2}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=8)
    p.add_argument("--n-train", type=int, default=1500)
    p.add_argument("--n-val", type=int, default=300)
    p.add_argument("--n-test", type=int, default=300, help="held-out split (different seed)")
    p.add_argument("--imgsz", type=int, default=320)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument(
        "--text-fraction",
        type=float,
        default=0.3,
        help="share of scenes with a printed-word distractor",
    )
    p.add_argument(
        "--data-dir",
        type=Path,
        default=REPO / "datasets" / "shapes",
        help="where the generated dataset and training run go (git-ignored)",
    )
    p.add_argument("--out", type=Path, default=REPO / "tools" / "weights" / "shapes-yolo11n.pt")
    return p.parse_args(argv)


def write_split(
    root: Path, split: str, n: int, *, imgsz: int, seed: int, text_fraction: float
) -> int:
    """Render ``n`` scenes into ``root/images/split`` and ``root/labels/split``.

    Returns:
        The number of scenes that carry a text label.
    """
    img_dir, lbl_dir = root / "images" / split, root / "labels" / split
    for d in (img_dir, lbl_dir):
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    n_text = 0
    texts: dict[str, list[float]] = {}
    for i in range(n):
        text = WORDS[int(rng.integers(len(WORDS)))] if rng.random() < text_fraction else None
        scene = render_scene(rng, width=imgsz, height=imgsz, text=text)
        name = f"{split}_{i:05d}"
        Image.fromarray(scene.image).save(img_dir / f"{name}.png")
        (lbl_dir / f"{name}.txt").write_text("\n".join(scene.to_yolo_labels(SHAPES)) + "\n")
        if scene.texts and scene.texts[0].label_xyxy is not None:
            n_text += 1
            texts[name] = list(scene.texts[0].label_xyxy)
    (root / f"{split}_text_labels.json").write_text(json.dumps(texts))
    return n_text


def text_false_positives(
    model: Any, root: Path, *, imgsz: int, conf: float = 0.25
) -> dict[str, int]:
    """Count detections lying mostly on a text label in the held-out split."""
    labels = json.loads((root / "test_text_labels.json").read_text())
    hits = 0
    for name, (lx1, ly1, lx2, ly2) in labels.items():
        res = model.predict(
            root / "images" / "test" / f"{name}.png",
            imgsz=imgsz,
            conf=conf,
            device="cpu",
            verbose=False,
        )[0]
        for x1, y1, x2, y2 in res.boxes.xyxy.cpu().numpy():
            inter = max(0.0, min(x2, lx2) - max(x1, lx1)) * max(0.0, min(y2, ly2) - max(y1, ly1))
            if inter > 0.5 * (x2 - x1) * (y2 - y1):
                hits += 1
    return {"images_with_text": len(labels), "detections_on_text_label": hits}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    import ultralytics.data.utils as yolo_data_utils
    from ultralytics import YOLO

    # check_det_dataset() probes GitHub for Arial.ttf; we never plot, so skip it.
    yolo_data_utils.check_font = lambda *a, **k: None

    root = args.data_dir.resolve()
    t0 = time.time()
    sizes = {"train": args.n_train, "val": args.n_val, "test": args.n_test}
    with_text = {}
    for split, n in sizes.items():
        with_text[split] = write_split(
            root, split, n, imgsz=args.imgsz, seed=SEEDS[split], text_fraction=args.text_fraction
        )
        print(
            f"[data] {split}: {n} scenes ({with_text[split]} with text), seed {SEEDS[split]}",
            flush=True,
        )
    data_yaml = root / "data.yaml"
    names = "\n".join(f"  {i}: {n}" for i, n in enumerate(SHAPES))
    data_yaml.write_text(
        f"path: {root}\ntrain: images/train\nval: images/val\ntest: images/test\nnames:\n{names}\n"
    )
    print(f"[data] generated in {time.time() - t0:.0f}s under {root}", flush=True)

    model = YOLO("yolo11n.yaml")
    t_train = time.time()
    model.train(
        data=str(data_yaml),
        epochs=args.epochs,
        imgsz=args.imgsz,
        batch=args.batch,
        workers=args.workers,
        device="cpu",
        amp=False,
        plots=False,
        pretrained=False,
        project=str(root / "runs"),
        name="train",
        exist_ok=True,
        seed=0,
        deterministic=True,
        # Short CPU budget: one optimizer step per batch (nbs=batch) instead of
        # accumulating to 64, and no mosaic (test scenes are whole scenes at
        # native scale; mosaic halves object size and slows convergence).
        nbs=args.batch,
        optimizer="AdamW",
        lr0=0.002,
        cos_lr=True,
        warmup_epochs=1,
        mosaic=0.0,
        close_mosaic=0,
        scale=0.25,
        degrees=0.0,
        hsv_h=0.0,
        hsv_s=0.3,
        hsv_v=0.3,
        cache="ram",
        patience=100,
        verbose=True,
    )
    train_seconds = time.time() - t_train
    best = root / "runs" / "train" / "weights" / "best.pt"
    print(f"[train] {args.epochs} epochs in {train_seconds:.0f}s; best: {best}", flush=True)

    final = YOLO(str(best))
    metrics = final.val(
        data=str(data_yaml),
        split="test",
        imgsz=args.imgsz,
        batch=args.batch,
        device="cpu",
        plots=False,
        workers=args.workers,
        verbose=True,
    )
    map50, map5095 = float(metrics.box.map50), float(metrics.box.map)
    per_class = {
        SHAPES[int(c)]: float(m)
        for c, m in zip(metrics.box.ap_class_index, metrics.box.ap50, strict=True)
    }
    fp_text = text_false_positives(final, root, imgsz=args.imgsz)

    args.out.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(best, args.out)  # ultralytics already stripped it (fp16, no optimizer)
    card = {
        "model": "yolo11n (from yolo11n.yaml, no pretrained weights)",
        "classes": list(SHAPES),
        "imgsz": args.imgsz,
        "epochs": args.epochs,
        "batch": args.batch,
        "train_seconds": round(train_seconds, 1),  # model.train wall time, incl. val
        "dataset": {
            "sizes": sizes,
            "with_text": with_text,
            "seeds": SEEDS,
            "generator": "lavr.tools.synthetic.render_scene",
            "text_fraction": args.text_fraction,
        },
        "heldout_metrics": {
            "split": "test",
            "mAP50": round(map50, 4),
            "mAP50-95": round(map5095, 4),
            "AP50_per_class": {k: round(v, 4) for k, v in per_class.items()},
        },
        "text_label_check": fp_text,
        "file_bytes": args.out.stat().st_size,
        "ultralytics_version": _version("ultralytics"),
        "torch_version": _version("torch"),
    }
    args.out.with_suffix(".json").write_text(json.dumps(card, indent=2) + "\n")
    print(
        f"[result] held-out mAP50={map50:.4f} mAP50-95={map5095:.4f} "
        f"text-label FPs={fp_text['detections_on_text_label']}",
        flush=True,
    )
    print(
        f"[result] wrote {args.out} ({card['file_bytes'] / 1e6:.2f} MB) and "
        f"{args.out.with_suffix('.json')}",
        flush=True,
    )
    return 0


def _version(dist: str) -> str:
    from importlib.metadata import version

    return version(dist)


if __name__ == "__main__":
    sys.exit(main())
