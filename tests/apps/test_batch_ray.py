"""``lavr batch --engine ray``: the Ray Data pipeline writes the local engine's results file."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lavr.apps.cli import main
from lavr.apps.synthetic_scenes import render_scene

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from conftest import import_or_skip, requires_shapes  # noqa: E402

from lavr.apps.batch_ray import start_local_ray  # noqa: E402

ray = import_or_skip("ray", "Ray is not installed: pip install 'lavr[ray]'")
import_or_skip("ray.data", "Ray Data is not installed: pip install 'lavr[ray]'")


@pytest.fixture(scope="module")
def local_ray():
    """One small Ray for the module, on 127.0.0.1 with 2 CPUs."""
    start_local_ray(ray, num_cpus=2)
    ray.data.DataContext.get_current().enable_progress_bars = False
    yield ray
    ray.shutdown()


def _lines(path: Path) -> dict[str, dict]:
    return {r["id"]: r for r in map(json.loads, path.read_text().splitlines())}


def _same(rec: dict) -> dict:
    """A result line without timings (they differ between any two runs)."""
    def clean(x: dict) -> dict:
        return {k: v for k, v in x.items() if k not in ("seconds",)}
    return {**{k: v for k, v in rec.items() if k not in ("seconds", "steps", "evidence")},
            "evidence": [clean(e) for e in rec["evidence"]],
            "steps": [(s["node"], s.get("tool"), s.get("summary")) for s in rec["steps"]]}


@requires_shapes
def test_ray_engine_writes_the_local_engines_lines(tmp_path, local_ray):
    folder = tmp_path / "imgs"
    folder.mkdir()
    records = []
    for i, question in enumerate(["How many circles are there?", "Is there a red square?",
                                  "What colour is the triangle?"]):
        Image.fromarray(render_scene(np.random.default_rng([5, i]), width=224, height=224,
                                     max_size=60).image).save(folder / f"{i}.png")
        records.append({"id": f"q{i}", "image": f"imgs/{i}.png", "question": question})
    records.append({"id": "bad", "image": "imgs/missing.png", "question": "How many circles?"})
    src = tmp_path / "q.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in records))
    common = ["--detector", "shapes", "--no-progress", "--workers", "2"]
    assert main(["batch", str(src), "--out", str(tmp_path / "local.jsonl"), *common]) == 0
    assert main(["batch", str(src), "--out", str(tmp_path / "ray.jsonl"), "--engine", "ray",
                 *common]) == 0
    local, on_ray = _lines(tmp_path / "local.jsonl"), _lines(tmp_path / "ray.jsonl")
    assert sorted(on_ray) == sorted(local) == ["bad", "q0", "q1", "q2"]
    for key in local:
        assert _same(on_ray[key]) == _same(local[key]), key
    assert on_ray["bad"]["error"] and on_ray["q0"]["answer"]
    # resumable like the local engine: nothing left to do
    assert main(["batch", str(src), "--out", str(tmp_path / "ray.jsonl"), "--engine", "ray",
                 *common]) == 0
    assert len(_lines(tmp_path / "ray.jsonl")) == 4
