"""Micro-batching of concurrent expert calls, and detector predictions shared through the cache."""

from __future__ import annotations

import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from lavr.apps.synthetic_scenes import render_scene
from lavr.core_model.images import image_hash
from lavr.tools import detect
from lavr.tools.base import ArtifactStore, ExpertPool, ResultCache, ToolContext
from lavr.tools.batching import MicroBatcher

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from conftest import requires_shapes  # noqa: E402


def _call_all(batcher: MicroBatcher, items: list[int]) -> list[int]:
    with ThreadPoolExecutor(max_workers=len(items)) as pool:
        return list(pool.map(batcher, items))


def test_concurrent_calls_meet_in_one_batch_and_get_their_own_results():
    sizes: list[int] = []

    def fn(xs: list[int]) -> list[int]:
        sizes.append(len(xs))
        return [x * 10 for x in xs]

    # a long wait that ends as soon as the batch is full: one call of all six
    batcher = MicroBatcher(fn, max_size=6, max_wait_s=30.0)
    assert _call_all(batcher, list(range(6))) == [0, 10, 20, 30, 40, 50]
    assert sizes == [6] and batcher.stats.largest == 6 and batcher.stats.calls == 6


def test_batches_never_exceed_the_maximum_and_every_item_is_answered():
    sizes: list[int] = []
    batcher = MicroBatcher(lambda xs: sizes.append(len(xs)) or [-x for x in xs], max_size=3,
                           max_wait_s=0.0)
    items = list(range(20))
    assert _call_all(batcher, items) == [-x for x in items]
    assert max(sizes) <= 3 and sum(sizes) == 20


def test_a_lone_call_does_not_wait_with_zero_wait():
    batcher = MicroBatcher(lambda xs: [x + 1 for x in xs], max_size=8, max_wait_s=0.0)
    assert batcher(1) == 2 and batcher.stats.batches == 1


def test_an_error_reaches_every_caller_of_the_batch_and_the_batcher_recovers():
    fail = threading.Event()
    fail.set()

    def fn(xs: list[int]) -> list[int]:
        if fail.is_set():
            raise ValueError("expert crashed")
        return xs

    batcher = MicroBatcher(fn, max_size=4, max_wait_s=30.0)
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = [pool.submit(batcher, i) for i in range(4)]
        for f in futures:
            with pytest.raises(ValueError, match="expert crashed"):
                f.result()
    fail.clear()
    batcher.max_wait_s = 0.0  # alone now: do not wait for company
    assert batcher(7) == 7


def test_a_wrong_number_of_results_is_an_error_not_a_mixup():
    batcher = MicroBatcher(lambda xs: xs[:1], max_size=2, max_wait_s=30.0)
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = [pool.submit(batcher, i) for i in range(2)]
        for f in futures:
            with pytest.raises(RuntimeError, match="1 results for 2 items"):
                f.result()


def test_bad_settings_are_refused():
    with pytest.raises(ValueError):
        MicroBatcher(list, max_size=0)
    with pytest.raises(ValueError):
        MicroBatcher(list, max_wait_s=-1)
    with pytest.raises(ValueError):
        MicroBatcher(list, lanes=0)


def _overlap_probe(expected: int, timeout: float):
    """A batch function that records how many of its calls ran at once; its first
    ``expected`` calls wait (at most ``timeout`` s) until that many are inside."""
    state = {"inside": 0, "peak": 0, "calls": 0}
    lock, met = threading.Lock(), threading.Event()

    def fn(xs: list[int]) -> list[int]:
        with lock:
            state["inside"] += 1
            state["calls"] += 1
            state["peak"] = max(state["peak"], state["inside"])
            first = state["calls"] <= expected
            if state["inside"] >= expected:
                met.set()
        if first:
            met.wait(timeout)
        with lock:
            state["inside"] -= 1
        return [x * 2 for x in xs]

    return fn, state


def test_lanes_run_that_many_batches_at_once_and_answer_every_caller():
    fn, state = _overlap_probe(2, timeout=10.0)
    batcher = MicroBatcher(fn, max_size=3, max_wait_s=0.0, lanes=2)
    items = list(range(12))
    assert _call_all(batcher, items) == [x * 2 for x in items]
    assert state["peak"] == 2 and batcher.stats.calls == 12 and batcher.stats.largest <= 3


def test_one_lane_never_runs_two_batches_at_once():
    fn, state = _overlap_probe(2, timeout=0.3)  # a lone call waits 0.3 s for a second
    batcher = MicroBatcher(fn, max_size=3, max_wait_s=0.0, lanes=1)
    assert _call_all(batcher, list(range(4))) == [0, 2, 4, 6]
    assert state["peak"] == 1


def test_lane_plan_fills_the_cores_and_keeps_one_lane_on_a_gpu():
    assert detect.lane_plan("cpu", cores=2) == (2, 1)
    assert detect.lane_plan("cpu", cores=1) == (1, 1)
    assert detect.lane_plan("cpu", cores=32) == (detect.MAX_LANES, 32 // detect.MAX_LANES)
    assert detect.lane_plan("cuda", cores=16) == (1, 0)
    lanes, threads = detect.lane_plan("cpu")
    assert 1 <= lanes <= detect.MAX_LANES and lanes * threads <= max(detect.usable_cores(), 1)


# -- the real detector ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def pool() -> ExpertPool:
    """One expert pool for the module: the shapes model loads once."""
    return ExpertPool()


def _scenes(n: int) -> list[np.ndarray]:
    return [render_scene(np.random.default_rng([7, i]), width=224, height=192, max_size=60).image for i in range(n)]


def _same(a, b) -> bool:
    return (list(a.label) == list(b.label) and np.allclose(a.xyxy, b.xyxy, atol=0.5)
            and np.allclose(a.confidence, b.confidence, atol=1e-3))


@requires_shapes
def test_threshold_ceiling_gives_exactly_the_direct_predictions(pool):
    images = _scenes(4)
    run = detect.select_detectors([], detector="shapes")[0]
    loaded = detect._get_loaded(run, pool, "cpu")
    for conf in (0.5, 0.7):
        direct = detect._predict_now(loaded, images, conf)  # the model's own threshold
        shared = [d for d, _ in detect._predict(loaded, images, conf)]  # runs lower, then cut
        assert all(_same(a, b) for a, b in zip(direct, shared, strict=True))


def _detect_on(image: np.ndarray, pool: ExpertPool, settings: dict) -> detect.Detections:
    """The detect tool's detections (every label) on ``image`` with ``pool`` and ``settings``."""
    ctx = ToolContext(image=image, image_hash=image_hash(image), artifacts=ArtifactStore(),
                      experts=pool, settings=settings)
    res = detect.DetectTool().run(detect.DetectArgs(labels=[]), ctx)
    return ctx.artifacts.get(res.artifact_id)


@requires_shapes
def test_concurrent_detect_calls_are_batched_and_match_one_by_one(pool):
    images = _scenes(6)
    def run(image: np.ndarray, settings: dict) -> detect.Detections:
        return _detect_on(image, pool, settings)

    alone = [run(im, {"detector": "shapes", "batch_size": 1}) for im in images]
    settings = {"detector": "shapes", "batch_size": 6, "batch_wait_ms": 30_000}
    with ThreadPoolExecutor(max_workers=6) as workers:
        together = list(workers.map(lambda im: run(im, settings), images))
    assert all(_same(a, b) for a, b in zip(alone, together, strict=True))
    loaded = detect._get_loaded(detect.select_detectors([], detector="shapes")[0], pool, "cpu")
    stats = [b.stats for b in loaded._batchers.values()]
    assert max(s.largest for s in stats) == 6  # one model call for all six images


@requires_shapes
def test_predictions_are_shared_through_the_result_cache(monkeypatch, pool):
    calls: list[int] = []
    real = detect._predict_now
    monkeypatch.setattr(detect, "_predict_now",
                        lambda loaded, ims, conf: calls.append(len(ims)) or real(loaded, ims, conf))
    cache = ResultCache()
    (image,) = _scenes(1)
    opts = detect.PredictOptions(cache=cache, image_hashes=[image_hash(image)])
    first = detect.detect_batch([image], detector="shapes", experts=pool, options=opts)
    # another threshold and label filter: the same model pass is reused
    again = detect.detect_batch([image], labels=["circle"], detector="shapes",
                                min_confidence=0.3, experts=pool, options=opts)
    assert calls == [1]
    assert set(map(str, again[0].label)) <= {"circle"}
    assert len(again[0]) >= int(np.sum(first[0].label.astype(str) == "circle"))


@requires_shapes
def test_the_verify_node_reuses_the_runs_detector_pass(monkeypatch):
    from lavr.agents import VisualAgent

    calls: list[int] = []
    real = detect._predict_now
    monkeypatch.setattr(detect, "_predict_now",
                        lambda loaded, ims, conf: calls.append(len(ims)) or real(loaded, ims, conf))
    (image,) = _scenes(1)
    res = VisualAgent(detector="shapes", verify=True).run(image, "How many circles are there?")
    (verify,) = [s for s in res.steps if s.node == "verify"]
    assert verify.claims and "claim" in verify.summary  # the answer was checked ...
    assert calls == [1]  # ... with the detections of the run's own detect step


@requires_shapes
def test_lanes_predict_on_separate_model_copies_and_match_one_lane():
    pool = ExpertPool()  # its own: the copies made here stay out of the module's pool
    images = _scenes(8)
    def run(image: np.ndarray, settings: dict) -> detect.Detections:
        return _detect_on(image, pool, settings)

    alone = [run(im, {"detector": "shapes", "batch_size": 1}) for im in images]
    loaded = detect._get_loaded(detect.select_detectors([], detector="shapes")[0], pool, "cpu")
    import torch

    main_threads = torch.get_num_threads()
    used: set[int] = set()
    lane_threads: set[int] = set()
    real = type(loaded.model).predict

    def predict(model, *a, **kw):
        used.add(id(model))
        lane_threads.add(torch.get_num_threads())
        time.sleep(0.05)  # long enough for the other lane's batch to start meanwhile
        return real(model, *a, **kw)

    settings = {"detector": "shapes", "batch_size": 2, "batch_wait_ms": 0, "batch_lanes": 2,
                "batch_threads": 1}
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(type(loaded.model), "predict", predict)
        with ThreadPoolExecutor(max_workers=8) as workers:
            together = list(workers.map(lambda im: run(im, settings), images))
    assert all(_same(a, b) for a, b in zip(alone, together, strict=True))
    assert loaded._made == 2 and len(used) == 2  # two copies, both predicted
    assert lane_threads == {1}  # each lane's thread at the asked-for torch threads ...
    assert torch.get_num_threads() == main_threads  # ... and this thread's count untouched
