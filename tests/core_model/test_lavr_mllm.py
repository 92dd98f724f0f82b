"""lavr-mllm's pipeline on a tiny random config, offline: build, two-step training
(align, then LoRA roles), checkpoints and resume, parts, assembly, reload through
``AutoProcessor`` + ``AutoModelForImageTextToText``, generation through the backend;
and ``lavr train``'s one-line errors on bad input.

The tiny language model is a 2-layer Gemma 3 with a word-level tokenizer
(:mod:`tests.core_model.tiny_gemma`) standing in for the packaged 270M, so the
weights are noise: the tests check plumbing, never answers.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import numpy as np
import pytest

from lavr.apps.cli import main
from lavr.core_model.errors import TrainingError
from lavr.core_model.training import TrainOptions, read_records, train

os.environ.setdefault("HF_HUB_OFFLINE", "1")

TINY = {"image_size": 32, "image_tokens": 4,
        "vision": {"hidden_size": 16, "intermediate_size": 32, "num_hidden_layers": 1,
                   "num_attention_heads": 2}}


def write_records(folder: Path, n: int = 3) -> Path:
    from PIL import Image

    (folder / "images").mkdir(parents=True, exist_ok=True)
    lines = []
    for i in range(n):
        Image.fromarray(np.full((40, 50, 3), 60 * i, np.uint8)).save(folder / f"images/{i}.png")
        lines.append(json.dumps({
            "messages": [{"role": "user", "content": [
                {"type": "image"}, {"type": "text", "text": "how many circles ?"}]},
                {"role": "assistant", "content": f"there are {i + 1} circles ."}],
            "images": [f"images/{i}.png"], "role": "vqa"}))
    path = folder / "records.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def tiny_lm(tmp_path_factory):
    pytest.importorskip("peft")
    from tests.core_model.tiny_gemma import build_tiny_gemma

    return build_tiny_gemma(tmp_path_factory.mktemp("tiny_gemma"))


@pytest.mark.slow
def test_two_step_training_reloads_through_the_auto_classes(tmp_path, tiny_lm, monkeypatch):
    from transformers import AutoModelForImageTextToText, AutoProcessor

    from lavr.core_model.lavr_mllm import LavrMLLM, assemble
    from lavr.core_model.messages import ImagePart, Message

    monkeypatch.setenv("LAVR_CACHE_DIR", str(tmp_path / "cache"))
    data = write_records(tmp_path / "data")
    common = {"data": data, "lm": tiny_lm, "grad_accum": 1, "save_steps": 1,
              "progress": False}
    align = train(TrainOptions(stage="align", out=tmp_path / "align", base="new",
                               max_steps=1, **common, **TINY))
    assert align.steps == 1 and align.loss is not None
    assert set(align.files) >= {"config.json", "processor.json", "vision.safetensors"}
    roles = train(TrainOptions(stage="roles", out=tmp_path / "roles",
                               base=str(tmp_path / "align"), max_steps=1, lora_r=4, **common))
    assert roles.steps == 1 and "adapter/adapter_model.safetensors" in roles.files
    # the vision encoder trained in align is what roles started from and saved again
    a = (tmp_path / "align/vision.safetensors").read_bytes()
    assert a == (tmp_path / "roles/vision.safetensors").read_bytes()

    folder = assemble(tmp_path / "roles", lm_dir=tiny_lm)
    model = AutoModelForImageTextToText.from_pretrained(folder)
    processor = AutoProcessor.from_pretrained(folder)
    assert type(model).__name__ == "Gemma3ForConditionalGeneration"
    assert model.config.mm_tokens_per_image == 4
    assert type(processor).__name__ == "Gemma3Processor"

    backend = LavrMLLM(tmp_path / "roles", lm_dir=tiny_lm, max_new_tokens=4)
    image = np.zeros((30, 40, 3), np.uint8)
    text = backend.generate([Message.system("ignored"),
                             Message.user(ImagePart(image, "x"), "how many circles ?")])
    assert isinstance(text, str)
    assert backend.sees_images and backend.compact_prompts
    # on a CPU the language model decodes with int8 weights (the vision tower stays float32)
    assert "quantized" in type(backend.model.lm_head).__module__
    vision = list(backend.model.model.vision_tower.modules())
    assert vision and not any("quantized" in type(m).__module__ for m in vision)
    assert "ignored" not in backend.render([Message.system("ignored"), Message.user("hi")])


@pytest.mark.slow
def test_an_interrupted_run_resumes_from_its_last_checkpoint(tmp_path, tiny_lm):
    data = write_records(tmp_path / "data")
    opts = {"stage": "roles", "data": data, "out": tmp_path / "out", "base": "new",
            "lm": tiny_lm, "grad_accum": 1, "save_steps": 1, "progress": False,
            "lora_r": 2, **TINY}
    first = train(TrainOptions(max_steps=2, **opts))
    assert first.steps == 2 and first.resumed_from is None
    again = train(TrainOptions(max_steps=3, **opts))
    assert again.resumed_from is not None and again.resumed_from.endswith("checkpoint-2")
    assert again.steps == 3
    state = json.loads((tmp_path / "out/checkpoints/checkpoint-3/trainer_state.json")
                       .read_text())
    assert state["global_step"] == 3
    # run again when every step is done: no extra step, the same result
    same = train(TrainOptions(max_steps=3, **opts))
    assert same.steps == 3 and not (tmp_path / "out/checkpoints/checkpoint-4").exists()
    with pytest.raises(TrainingError, match="past the 2 steps asked for"):
        train(TrainOptions(max_steps=2, **opts))
    # --stop-after: a time budget inside a longer schedule; run again, it is done
    cut = {**opts, "out": tmp_path / "cut"}
    first = train(TrainOptions(max_steps=3, stop_after=1, **cut))
    assert first.steps == 1 and (tmp_path / "cut/adapter/adapter_config.json").is_file()
    assert train(TrainOptions(max_steps=3, stop_after=1, **cut)).steps == 1
    assert not (tmp_path / "cut/checkpoints/checkpoint-2").exists()
    # other data in the same folder: refused instead of mixing runs
    other = write_records(tmp_path / "other", n=2)
    with pytest.raises(TrainingError, match="other data"):
        train(TrainOptions(**{**opts, "data": other}, max_steps=4))


@pytest.mark.slow
def test_no_disk_space_for_a_checkpoint_is_refused_before_training(tmp_path, tiny_lm,
                                                                   monkeypatch):
    import shutil

    from lavr.core_model import training

    data = write_records(tmp_path / "data")
    monkeypatch.setattr(training.shutil, "disk_usage",
                        lambda p: shutil._ntuple_diskusage(10**9, 10**9 - 1000, 1000))
    with pytest.raises(TrainingError, match="not enough disk space"):
        train(TrainOptions(stage="align", data=data, out=tmp_path / "out", base="new",
                           lm=tiny_lm, max_steps=1, progress=False, **TINY))
    assert not list((tmp_path / "out").glob("checkpoints/checkpoint-*"))


def _records(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "r.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


GOOD = ('{"messages": [{"role": "user", "content": [{"type": "image"}, {"type": "text", '
        '"text": "q"}]}, {"role": "assistant", "content": "a"}], "images": ["%s"]}')


@pytest.mark.parametrize(("lines", "message"), [
    ((), "no records"),
    (("{not json",), "r.jsonl:1: not JSON"),
    (('{"text": "x"}',), "needs a 'messages' list"),
    (('{"messages": [{"role": "user", "content": "q"}, {"role": "user", "content": "a"}]}',),
     "last message must be the assistant"),
    ((GOOD % "missing.png",), "missing.png does not exist"),
    ((GOOD.replace(', "images": ["%s"]', ""),), "1 image part(s) in the messages but 0"),
])
def test_bad_data_gets_a_one_line_error(tmp_path, capsys, lines, message):
    path = _records(tmp_path, *lines)
    with pytest.raises(TrainingError, match=re.escape(message)):
        read_records(path)
    code = main(["train", "roles", str(path), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 2 and message.split(":")[-1].strip() in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


@pytest.mark.parametrize("data, message", [
    (bytes(range(256)) * 4, "not UTF-8 text"),  # was a UnicodeDecodeError
    (b"[" * 100_000, "nested too deeply"),  # was a RecursionError
])
def test_data_that_is_not_json_lines_text_gets_a_one_line_error(tmp_path, capsys, data, message):
    path = tmp_path / "r.jsonl"
    path.write_bytes(data)
    assert main(["train", "roles", str(path), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


@pytest.mark.parametrize("flag, value", [("--epochs", "0"), ("--batch-size", "0"),
                                         ("--grad-accum", "0"), ("--lora-r", "0"),
                                         ("--lr", "0"), ("--max-length", "0"),
                                         ("--max-steps", "0"), ("--stop-after", "0")])
def test_counts_and_rates_are_checked_before_a_model_loads(tmp_path, capsys, monkeypatch, flag,
                                                           value):
    from lavr.core_model import training

    def never(opts):
        raise AssertionError("training started with a bad option")

    monkeypatch.setattr(training, "train", never)
    data = write_records(tmp_path / "data", n=1)
    assert main(["train", "roles", str(data), "--out", str(tmp_path / "o"), flag, value]) == 2
    err = capsys.readouterr().err
    assert f"{flag} must be above 0" in err and err.count("\n") == 1


def test_missing_data_file_and_unknown_base_model_get_one_line_errors(tmp_path, capsys):
    assert main(["train", "roles", str(tmp_path / "none.jsonl"), "--out", str(tmp_path)]) == 2
    assert "no such data file" in capsys.readouterr().err
    data = write_records(tmp_path / "data", n=1)
    assert main(["train", "roles", str(data), "--out", str(tmp_path / "o"),
                 "--base", "no-such-model"]) == 2
    err = capsys.readouterr().err
    assert "unknown base model" in err and len(err.strip().splitlines()) == 1
    assert main(["train", "align", str(data), "--out", str(tmp_path / "o"),
                 "--base", str(tmp_path / "nothing-here")]) == 2
    assert "align stage trains lavr-mllm" in capsys.readouterr().err


def test_roles_continues_the_adapter_of_its_base_parts_unless_told_not_to(tmp_path):
    from lavr.core_model.lavr_mllm import ADAPTER_DIR, VISION_FILE
    from lavr.core_model.training import base_adapter

    parts = tmp_path / "parts"
    (parts / ADAPTER_DIR).mkdir(parents=True)
    (parts / VISION_FILE).write_bytes(b"")
    opts = {"data": tmp_path / "r.jsonl", "out": tmp_path / "o", "base": str(parts)}
    assert base_adapter(TrainOptions(stage="roles", **opts)) is None  # no adapter yet
    (parts / ADAPTER_DIR / "adapter_config.json").write_text("{}", encoding="utf-8")
    assert base_adapter(TrainOptions(stage="roles", **opts)) == parts / ADAPTER_DIR
    assert base_adapter(TrainOptions(stage="roles", new_adapter=True, **opts)) is None
    assert base_adapter(TrainOptions(stage="align", **opts)) is None
    assert base_adapter(TrainOptions(stage="roles", **{**opts, "base": "Qwen/x"})) is None


def test_an_unknown_quantize_option_is_refused():
    from lavr.core_model.errors import ModelConfigError
    from lavr.core_model.lavr_mllm import LavrMLLM

    with pytest.raises(ModelConfigError, match="quantize must be one of auto, int8, none"):
        LavrMLLM(quantize="int4")


def test_other_trained_parts_load_by_folder(tmp_path):
    from lavr.core_model.backends import load_model, parse_model_spec
    from lavr.core_model.errors import WeightsNotFoundError

    spec = parse_model_spec(f"lavr-mllm:{tmp_path}")
    assert (spec.backend, spec.target) == ("lavr-mllm", str(tmp_path))
    assert load_model(f"lavr-mllm:{tmp_path}", name="mine").parts == tmp_path  # lazy: no load
    with pytest.raises(WeightsNotFoundError, match="trained parts"):
        load_model(f"lavr-mllm:{tmp_path / 'nothing'}")
