"""``--direct`` (the model alone) and ``lavr eval mllm``'s direct mode with scripted models."""

from __future__ import annotations

import numpy as np
import pytest

from lavr.apps.eval_mllm import answer_direct, direct_messages, evaluate_mllm, format_report
from lavr.core_model.errors import InputError
from lavr.core_model.scripted import ScriptedModel

IMG = np.zeros((20, 30, 3), np.uint8)


def test_a_compact_model_gets_the_trained_vqa_prompt_and_others_the_vqa_expert_prompt():
    plain = ScriptedModel(["Yes."])
    trained = ScriptedModel(["Yes."])
    trained.compact_prompts = True
    assert [m.role for m in direct_messages(plain, IMG, "Is there a red circle?")] == \
        ["system", "user"]
    msgs = direct_messages(trained, IMG, " Is there a red circle? ")
    assert len(msgs) == 1 and msgs[0].text == "Is there a red circle?" and msgs[0].images
    assert answer_direct(trained, IMG, "Is there a red circle?") == "Yes."
    assert trained.requests[0].task == "vqa"


def test_a_text_only_model_cannot_answer_directly():
    with pytest.raises(InputError, match="text-only"):
        answer_direct(ScriptedModel(["x"], sees_images=False), IMG, "q")


def test_direct_mode_scores_every_question_type_on_the_same_items():
    model = ScriptedModel(["Yes."], repeat_last=True)
    rep = evaluate_mllm(model, n=10, seed=1, modes=("direct",), phrasings="heldout",
                        progress=False)
    per = rep["direct"]["per_type"]
    assert sorted(per) == ["colour", "count", "exists", "read", "spatial"]
    assert all(v["n"] == 2 for v in per.values())
    # "Yes." is right exactly when the answer is yes
    yes = sum(1 for r in rep["rows"] if r["gold"] == "yes")
    assert rep["direct"]["accuracy"] == pytest.approx(yes / 10)
    assert per["count"]["correct"] == 0 and len(model.requests) == 10
    assert rep["rows"][0]["question"] != "" and "direct" in format_report(rep)


def test_shards_are_disjoint_and_cover_the_run():
    from lavr.apps.evaluate import parse_shard, shard_items
    from lavr.core_model.errors import InputError

    items = list("abcdefg")
    parts = [shard_items(items, (k, 3)) for k in range(3)]
    assert sorted(i for p in parts for i, _ in p) == list(range(7))
    assert parts[1] == [(1, "b"), (4, "e")]
    assert shard_items(items, None) == list(enumerate(items))
    assert parse_shard("1/2") == (1, 2) and parse_shard(None) is None
    for bad in ("2/2", "x", "1/0", "-1/2"):
        with pytest.raises(InputError, match="--shard takes K/N"):
            parse_shard(bad)
