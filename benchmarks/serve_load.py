"""Load test of `lavr serve` on 127.0.0.1: latency and throughput at 1, 5 and 20 clients.

    .venv/bin/python benchmarks/serve_load.py [--clients 1 5 20] [--requests 40]

Starts the Ray Serve app in this process (a local Ray on 127.0.0.1), warms it up, then
for each level runs that many client threads that send `--requests` POST /v1/ask requests
in all, each with a different generated scene (so the answer cache never helps), and
checks every reply: HTTP 200, the image hash of the image that was sent, and the
answer a local agent gives for that image. Prints p50/p95 latency, requests/s, errors
and wrong answers per level.
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import os
import socket
import statistics
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import numpy as np

QUESTION = "How many circles are there?"


def _png(seed: int) -> tuple[np.ndarray, bytes]:
    from PIL import Image

    from lavr.apps.synthetic_scenes import render_scene

    image = render_scene(np.random.default_rng([77, seed])).image
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="PNG")
    return image, buf.getvalue()


def _ask(base: str, png: bytes) -> tuple[int, dict, float]:
    body = json.dumps({"image": base64.b64encode(png).decode(), "question": QUESTION}).encode()
    req = urllib.request.Request(base + "/v1/ask", data=body,
                                 headers={"Content-Type": "application/json"})
    t0 = time.perf_counter()
    try:
        with urllib.request.urlopen(req, timeout=600) as resp:
            status, data = resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        status, data = exc.code, {}
    return status, data, time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clients", type=int, nargs="+", default=[1, 5, 20])
    ap.add_argument("--requests", type=int, default=40, help="requests per level")
    ap.add_argument("--max-replicas", type=int, default=1)
    args = ap.parse_args()
    import ray
    from ray import serve

    from lavr.agents import VisualAgent
    from lavr.apps.batch_ray import start_local_ray
    from lavr.apps.cli import build_parser
    from lavr.apps.serve_app import build_app
    from lavr.core_model.images import image_hash

    for name in ("RAY_SERVE_PROXY_READY_CHECK_TIMEOUT_S", "RAY_SERVE_PROXY_HEALTH_CHECK_TIMEOUT_S"):
        os.environ.setdefault(name, "60")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    total = len(args.clients) * args.requests + 1
    scenes = [_png(i) for i in range(total)]
    local = VisualAgent(verify=True)
    expected = [local.run(img, QUESTION).answer for img, _ in scenes]
    sargs = build_parser().parse_args(["serve", "--port", str(port),
                                       "--max-replicas", str(args.max_replicas)])
    start_local_ray(ray)
    try:
        serve.start(http_options={"host": "127.0.0.1", "port": port})
        serve.run(build_app(sargs), name="lavr", route_prefix="/")
        status, _, warm = _ask(base, scenes[-1][1])  # loads the experts
        print(f"warm-up request: HTTP {status} in {warm:.1f} s")
        offset = 0
        print(f"{'clients':>7} {'requests':>8} {'p50 ms':>8} {'p95 ms':>8} {'req/s':>7} "
              f"{'errors':>6} {'wrong':>5}")
        for clients in args.clients:
            idx = list(range(offset, offset + args.requests))
            offset += args.requests
            t0 = time.perf_counter()
            with ThreadPoolExecutor(max_workers=clients) as pool:
                replies = list(pool.map(lambda i: (i, *_ask(base, scenes[i][1])), idx))
            wall = time.perf_counter() - t0
            lat = sorted(r[3] for r in replies)
            errors = sum(1 for r in replies if r[1] != 200)
            wrong = sum(1 for i, st, data, _ in replies if st == 200 and (
                data.get("answer") != expected[i]
                or data.get("image", {}).get("hash") != image_hash(scenes[i][0])))
            p95 = lat[min(len(lat) - 1, int(round(0.95 * (len(lat) - 1))))]
            print(f"{clients:>7} {len(idx):>8} {statistics.median(lat) * 1000:>8.0f} "
                  f"{p95 * 1000:>8.0f} {len(idx) / wall:>7.2f} {errors:>6} {wrong:>5}",
                  flush=True)
    finally:
        serve.shutdown()
        ray.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
