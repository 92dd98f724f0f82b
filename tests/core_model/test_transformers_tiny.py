"""The transformers backend on tiny randomly initialised models built here, offline.

A 2-layer Qwen2-VL (vision tower included) with a WordLevel tokenizer that
knows the Qwen2-VL image tokens, saved to a tmp dir and reloaded through
``AutoProcessor`` + ``AutoModelForImageTextToText``; and a 2-layer text-only
Qwen2 causal LM without a chat template. Their output is noise: the tests
check plumbing — images reach the processor and the vision tower, caps,
batching, streaming, and in the graph malformed output → re-asks → rule
fallback, with the answer still arriving.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pytest

from lavr.core_model.hf import TransformersModel, fit_image, plain_transcript
from lavr.core_model.messages import Message

os.environ.setdefault("HF_HUB_OFFLINE", "1")
pytest.importorskip("transformers")
pytest.importorskip("tokenizers")
pytestmark = pytest.mark.slow  # imports torch and transformers: ~10-30 s on 2 CPU cores

IMG = np.zeros((100, 200, 3), np.uint8)
IMG[:, 100:] = (250, 10, 10)


class Spy:
    """Wraps the processor: records what it is given, then does its job."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.calls: list[dict[str, Any]] = []

    def __call__(self, **kwargs: Any) -> Any:
        out = self.inner(**kwargs)
        self.calls.append({**kwargs, "outputs": {k: tuple(v.shape) for k, v in out.items()}})
        return out

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


@pytest.fixture(scope="module")
def vlm_dir(tmp_path_factory):
    from tests.core_model.tiny_vlm import build_tiny_vlm

    return build_tiny_vlm(tmp_path_factory.mktemp("tiny_vlm"))


@pytest.fixture
def vlm(vlm_dir):
    model = TransformersModel(vlm_dir, max_new_tokens=12, max_image_side=112, name="tiny-vlm")
    model.load()
    spy = Spy(model.processor)
    model.processor = spy
    visual = model.model.model.visual
    seen: list[tuple[int, ...]] = []
    handle = visual.register_forward_hook(lambda mod, args, out: seen.append(tuple(args[0].shape)))
    yield model, spy, seen
    handle.remove()


def test_checkpoint_is_small_and_loads_through_the_auto_classes(vlm_dir, vlm):
    size = sum(f.stat().st_size for f in vlm_dir.iterdir())
    assert size < 1_000_000
    model, _, _ = vlm
    assert model.kind == "vlm" and model.sees_images
    assert type(model.processor.inner).__name__ == "Qwen2VLProcessor"
    assert type(model.model).__name__ == "Qwen2VLForConditionalGeneration"
    assert str(model.device) == "cpu"


def test_images_reach_the_processor_and_the_vision_tower(vlm):
    model, spy, seen = vlm
    text = model.generate([Message.system("You plan."), Message.user(IMG, "how many circle ?")])
    assert isinstance(text, str)
    (call,) = spy.calls
    (images,) = call["images"]
    assert len(images) == 1 and max(images[0].size) <= 112  # resolution cap applied
    assert images[0].size == (112, 56)
    assert "<|vision_start|><|image_pad|><|vision_end|>how many circle ?" in call["text"][0]
    assert call["outputs"]["pixel_values"][0] > 0 and call["outputs"]["image_grid_thw"] == (1, 3)
    assert len(seen) == 1  # the vision tower ran once, on the prefill
    assert model.stats.images == 1


def test_text_only_turns_send_no_pixels(vlm):
    model, spy, seen = vlm
    model.generate([Message.user("what colour is the image ?")])
    assert "images" not in spy.calls[0] and seen == []


def test_batching_groups_image_and_text_conversations(vlm):
    model, spy, _ = vlm
    convs = [[Message.user(IMG, "how many ?")], [Message.user("what colour ?")],
             [Message.user(IMG[:50], "is there a square ?")]]
    single = [model.generate(c) for c in convs]
    spy.calls.clear()
    batched = model.generate_batch(convs)
    assert len(batched) == 3
    assert sorted(len(c["text"]) for c in spy.calls) == [1, 2]  # 2 with images, 1 without
    assert batched == single  # left padding keeps greedy outputs unchanged


def test_streaming_matches_generate(vlm):
    model, _, _ = vlm
    msgs = [Message.user(IMG, "plan the question")]
    assert "".join(model.stream(msgs)).strip() == model.generate(msgs)


def test_json_mode_stopping_rule_sees_a_complete_object(vlm):
    from lavr.core_model.hf import _text_stop

    model, _, _ = vlm
    tok = model.tokenizer
    prompt = tok("plan", return_tensors="pt")["input_ids"]
    n = prompt.shape[1]
    rule = _text_stop(tok, n, (), json_mode=True)
    import torch

    def ids(text: str) -> Any:
        return torch.cat([prompt, tok(text, return_tensors="pt")["input_ids"]], dim=1)

    assert rule(ids("{ s1"), None).tolist() == [False]
    assert rule(ids("{ s1 }"), None).tolist() == [True]
    stop = _text_stop(tok, n, ("red",), json_mode=False)
    assert stop(ids("action red"), None).tolist() == [True]


def test_fit_image_caps_both_ways():
    big = fit_image(np.zeros((500, 2000, 3), np.uint8), max_side=1000)
    assert big.size == (1000, 250)
    tiny = fit_image(np.zeros((8, 16, 3), np.uint8), max_side=1000, min_side=32)
    assert tiny.size == (64, 32)


def test_text_only_causal_lm_uses_a_plain_transcript(tmp_path):
    from tests.core_model.tiny_vlm import build_tiny_causal_lm

    path = build_tiny_causal_lm(tmp_path / "lm")
    model = TransformersModel(path, max_new_tokens=8).load()
    assert model.kind == "causal" and not model.sees_images and model.chat_template is None
    msgs = [Message.system("You plan."), Message.user(IMG, "how many ?")]
    prompt = model.render(model.prepare(msgs))
    assert prompt == plain_transcript(model.prepare(msgs))
    assert prompt.endswith("User: [image: not shown]\n\nhow many ?\nAssistant:")
    assert isinstance(model.generate(msgs), str)
    assert model.stats.images == 0


def test_noise_model_in_the_graph_reasks_falls_back_and_still_answers(vlm):
    """The tiny model writes noise: every role's output is unusable, the rules take over."""
    from lavr.agents import VisualAgent
    from tests.agents.test_model_roles import registry

    model, spy, seen = vlm
    agent = VisualAgent(model=model, registry=registry(), model_retries=1, verify=False)
    res = agent.run(IMG, "How many dots are there?")
    plan_recs = [r for r in res.steps if r.node == "plan"]
    assert [r.summary for r in plan_recs[:2]] == [
        "tiny-vlm plan attempt 1/2: rejected", "tiny-vlm plan attempt 2/2: rejected"]
    assert all(r.error and r.raw for r in plan_recs[:2])
    assert "falling back to the rule planner" in plan_recs[2].summary
    assert res.plan["planner"] == "rule"
    # the controller saw the image, through the processor and the vision tower, both times
    plan_calls = [c for c in spy.calls if c.get("images")]
    assert len(plan_calls) == 2 and len(seen) == 2
    decide = [r for r in res.steps if r.node == "decide"]
    assert any("the rule decider decides" in r.summary for r in decide)
    refine = [r for r in res.steps if r.node == "refine"]
    assert any("the rule refiner writes it" in r.summary for r in refine)
    assert res.answer_grounded.startswith("There are two ") and res.answer_grounded.endswith("[s1, s2]")
    assert res.answer.startswith("There are two ") and "[s" not in res.answer
