"""Does the shapes detector stay out of photos? Decisive shares on scenes, textures and photos.

    .venv/bin/python benchmarks/expert_choice.py [--scenes 150] [--textures 30] [--seed 12345]
        [--photos 'PATH_OR_GLOB' ...]

For each image, the shapes detector predicts down to the candidate floor (0.05) and
the *decisive share* is (boxes at or above its threshold 0.5) / (candidate boxes).
A narrow-domain detector reports nothing on an image whose share is below its
``min_decisive_share`` (0.5 for shapes). Prints, per group, the share range and on
how many images the detector reported objects with and without the check, then the
cost of the checkpoint safety check beside loading the checkpoint with ultralytics.
Photos are optional (none ship with lavr); pass any folder of JPEG/PNG photos.
"""

from __future__ import annotations

import argparse
import glob
import sys
import time
from pathlib import Path

import numpy as np


def _shares(images: list[np.ndarray], pool: object) -> list[tuple[float, int, int]]:
    from lavr.tools import detect

    spec = detect.DETECTORS["shapes"]
    run = detect.select_detectors([], detector="shapes")[0]
    loaded = detect._get_loaded(run, pool, "cpu")  # noqa: SLF001 - measuring internals
    out = []
    for raw in detect._predict_now(loaded, images, detect.CANDIDATE_FLOOR):  # noqa: SLF001
        sure = int((raw.confidence > spec.conf).sum())
        share = sure / len(raw) if len(raw) else 1.0
        kept = 0 if sure and sure < (spec.min_decisive_share or 0) * len(raw) else sure
        out.append((share, sure, kept))
    return out


def _report(name: str, rows: list[tuple[float, int, int]]) -> None:
    with_boxes = [r for r in rows if r[1]]
    shares = [r[0] for r in with_boxes]
    lo, hi = (min(shares), max(shares)) if shares else (float("nan"), float("nan"))
    print(f"{name:18} {len(rows):6d} {lo:10.2f} {hi:10.2f} "
          f"{sum(1 for r in rows if r[1]):14d} {sum(1 for r in rows if r[2]):13d}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scenes", type=int, default=150)
    p.add_argument("--textures", type=int, default=30)
    p.add_argument("--seed", type=int, default=12345)
    p.add_argument("--photos", nargs="*", default=[])
    args = p.parse_args(argv)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from lavr.apps.synthetic_scenes import render_scene
    from lavr.core_model.images import load_image
    from lavr.tools.base import ExpertPool
    from tests.tools.test_expert_choice import natural_texture

    pool = ExpertPool()
    rng = np.random.default_rng(args.seed)
    groups = {
        "generated scenes": [render_scene(rng).image for _ in range(args.scenes)],
        "natural textures": [natural_texture(args.seed + i) for i in range(args.textures)],
    }
    photos = sorted({f for pattern in args.photos for f in glob.glob(pattern)})
    if photos:
        groups["photos"] = [load_image(f) for f in photos]
    print(f"{'group':18} {'images':>6} {'min share':>10} {'max share':>10} "
          f"{'reported before':>14} {'reported now':>13}")
    for name, images in groups.items():
        _report(name, _shares(images, pool))

    from lavr.core_model import checkpoints
    from lavr.tools.detect import WEIGHTS_DIR

    path = WEIGHTS_DIR / "shapes-yolo11n.pt"
    t0 = time.perf_counter()
    checkpoints.scan_checkpoint(path)
    scan = time.perf_counter() - t0
    from ultralytics import YOLO

    t0 = time.perf_counter()
    YOLO(str(path))
    load = time.perf_counter() - t0
    print(f"\ncheckpoint check of {path.name}: {scan * 1000:.0f} ms; ultralytics load "
          f"{load * 1000:.0f} ms (check / load = {scan / load:.2f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
