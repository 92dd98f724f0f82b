"""Fine-tuning a vision-language model on chat records: the engine of ``lavr train``.

Two stages, as the survey describes:

- ``align``: image–caption pairs train the vision encoder and projector of
  ``lavr-mllm`` through the frozen language model.
- ``roles``: instruction tuning with a LoRA adapter on the language model
  (vision frozen), on the roles' records (plan, decide, refine, vqa). The base
  can be ``lavr-mllm`` or any ``AutoModelForImageTextToText`` checkpoint
  (e.g. Qwen2.5-VL-3B on a user's GPU with ``device="cuda"``).

Data is a JSON-lines file of chat records, one per line, the format TRL uses
for vision-language SFT::

    {"messages": [{"role": "user", "content": [{"type": "image"},
                                               {"type": "text", "text": "Plan: ..."}]},
                  {"role": "assistant", "content": "{...}"}],
     "images": ["images/00001.png"]}

Image paths are relative to the data file. The loss covers the last assistant
turn only, and the logits are computed only at the positions that loss needs
(a 262k-word vocabulary over every position costs ~50x more on a CPU). The
``transformers.Trainer`` does the rest: batching, optimiser, schedule, seed,
progress bar, checkpoints every ``save_steps`` and resuming from the last one.
"""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
import shutil
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from lavr.core_model.errors import InputError, TrainingError
from lavr.core_model.textfiles import read_text_file

logger = logging.getLogger(__name__)

STAGES = ("align", "roles")
#: LoRA goes on the language model's attention and MLP projections (not the vision tower).
LORA_TARGETS = (r".*language_model.*\.(q_proj|k_proj|v_proj|o_proj|gate_proj|up_proj|down_proj)")
#: Default learning rates per stage.
DEFAULT_LR = {"align": 1e-3, "roles": 2e-4}
#: Where the Trainer keeps checkpoints inside the output folder.
CHECKPOINTS = "checkpoints"
#: Records the data a run's checkpoints were made from.
RUN_FILE = "lavr_train_run.json"
#: Base models that mean lavr's own model.
OWN_BASES = ("lavr-mllm", "new")


@dataclass
class Record:
    """One chat record: messages (the last one is the assistant's reply) and image paths."""

    messages: list[dict[str, Any]]
    images: list[Path] = field(default_factory=list)
    role: str = ""


@dataclass
class TrainOptions:
    """What to train, on what, and how.

    Attributes:
        stage: ``align`` or ``roles``.
        data: The JSON-lines record file.
        out: Output folder (parts or adapter, plus ``checkpoints/``).
        base: ``new`` (lavr-mllm with a fresh vision encoder), ``lavr-mllm``
            (the committed parts), a parts folder written by an earlier stage,
            or an ``AutoModelForImageTextToText`` folder / hub id.
        lm: Language model folder for lavr-mllm (default: the packaged Gemma 3 270M).
        epochs: Passes over the data (``max_steps`` wins when > 0).
        max_steps: Optimiser steps (-1: from ``epochs``).
        learning_rate: None: :data:`DEFAULT_LR` of the stage.
        batch_size: Records per forward pass.
        grad_accum: Forward passes per optimiser step.
        lora_r: LoRA rank (``roles``).
        lora_alpha: LoRA scale (``roles``).
        seed: Seeds initialisation, shuffling and dropout.
        device: ``auto``, ``cpu`` or ``cuda``.
        save_steps: A checkpoint every this many optimiser steps.
        max_length: Longest record in tokens (longer replies are cut).
        threads: torch CPU threads (None: torch's default).
        restart: Ignore existing checkpoints instead of resuming from them.
        progress: Show the Trainer's progress bar.
        image_size: Vision input side for ``base="new"``.
        image_tokens: Image tokens per image for ``base="new"``.
        vision: Vision encoder sizes for ``base="new"`` (None: the default).
        new_adapter: ``roles`` on lavr-mllm parts that have a LoRA adapter: start a
            fresh adapter instead of continuing to train that one.
        stop_after: Stop after this many optimiser steps while keeping the learning-rate
            schedule of the whole run (``epochs`` / ``max_steps``): a time budget that
            does not change what the finished steps did. None: run to the end.
        bf16: Compute in bfloat16 autocast (weights and optimiser stay float32). None:
            when the device supports it (a CUDA GPU with bf16, or a CPU with AVX512-BF16 /
            AMX; measured on this 2-core CPU: 1.6 s instead of 2.2 s per 160-token record).
    """

    stage: str
    data: Path
    out: Path
    base: str = "lavr-mllm"
    lm: Path | None = None
    epochs: float = 1.0
    max_steps: int = -1
    learning_rate: float | None = None
    batch_size: int = 1
    grad_accum: int = 4
    lora_r: int = 16
    lora_alpha: int = 32
    seed: int = 0
    device: str = "auto"
    save_steps: int = 20
    max_length: int = 384
    threads: int | None = None
    restart: bool = False
    progress: bool = True
    image_size: int | None = None
    image_tokens: int | None = None
    vision: dict[str, int] | None = None
    new_adapter: bool = False
    stop_after: int | None = None
    bf16: bool | None = None


@dataclass
class TrainResult:
    """What a run produced."""

    out: Path
    steps: int
    seconds: float
    loss: float | None
    records: int
    resumed_from: str | None = None
    files: dict[str, int] = field(default_factory=dict)


def read_records(path: str | os.PathLike) -> list[Record]:
    """The records of a JSON-lines file, checked.

    Raises:
        TrainingError: Missing or empty file, a line that is not a valid record,
            or an image file that does not exist (the message names the line).
    """
    path = Path(path)
    if path.is_dir() and (path / "records.jsonl").is_file():  # lavr train data's folder
        path = path / "records.jsonl"
    if not path.is_file():
        raise TrainingError(str(path), "no such data file (give the records.jsonl that "
                            "'lavr train data' writes)")
    try:
        text = read_text_file(path, what="JSON-lines file of records")
    except InputError as exc:
        raise TrainingError(str(path), str(exc).removeprefix(f"{path}: ")) from None
    records = []
    for no, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
        except RecursionError:
            raise TrainingError(f"{path}:{no}", "JSON nested too deeply") from None
        except json.JSONDecodeError as exc:
            raise TrainingError(f"{path}:{no}", f"not JSON ({exc.msg})") from exc
        records.append(_record(raw, path, no))
    if not records:
        raise TrainingError(str(path), "no records (the file is empty)")
    return records


def _record(raw: Any, path: Path, no: int) -> Record:
    where = f"{path}:{no}"
    if not isinstance(raw, dict) or not isinstance(raw.get("messages"), list):
        raise TrainingError(where, "a record needs a 'messages' list")
    msgs = raw["messages"]
    if len(msgs) < 2 or not all(isinstance(m, dict) and m.get("role") in
                                ("system", "user", "assistant") for m in msgs):
        raise TrainingError(where, "'messages' needs at least two turns, each with a role "
                            "system, user or assistant")
    last = msgs[-1]
    if last["role"] != "assistant" or not isinstance(last.get("content"), str) \
            or not last["content"].strip():
        raise TrainingError(where, "the last message must be the assistant's reply as "
                            "non-empty text")
    n_parts = sum(1 for m in msgs if isinstance(m.get("content"), list)
                  for p in m["content"] if isinstance(p, dict) and p.get("type") == "image")
    images = raw.get("images") or []
    if not isinstance(images, list) or len(images) != n_parts:
        raise TrainingError(where, f"{n_parts} image part(s) in the messages but "
                            f"{len(images) if isinstance(images, list) else 'no'} image path(s)")
    files = [(path.parent / str(p)) for p in images]
    for f in files:
        if not f.is_file():
            raise TrainingError(where, f"image {f} does not exist")
    return Record(msgs, files, str(raw.get("role", "")))


class ChatCollator:
    """Tokenises records for training: prompt (with images) + reply, loss on the reply.

    The prompt is the processor's chat template with the generation prompt;
    the reply is what the template adds after it (the text and the end-of-turn
    marker), so the model learns to stop.
    """

    def __init__(self, processor: Any, *, max_length: int = 384) -> None:
        self.processor = processor
        self.tokenizer = getattr(processor, "tokenizer", processor)
        self.max_length = max_length

    def reply_text(self, messages: Sequence[dict[str, Any]]) -> tuple[str, str]:
        """``(prompt, reply)`` as the chat template writes them."""
        proc = self.processor
        prompt = proc.apply_chat_template(list(messages[:-1]), add_generation_prompt=True,
                                          tokenize=False)
        full = proc.apply_chat_template(list(messages), tokenize=False)
        reply = messages[-1]["content"]
        if full.startswith(prompt):
            reply = full[len(prompt):]
        else:
            reply = reply + (self.tokenizer.eos_token or "")
        return prompt, reply

    def encode(self, rec: Record) -> dict[str, Any]:
        """One record as tensors: sequence ones (1-D) and the image ones."""
        import torch
        from PIL import Image

        prompt, reply = self.reply_text(rec.messages)
        images = [Image.open(p).convert("RGB") for p in rec.images]
        kw: dict[str, Any] = {"text": [prompt], "return_tensors": "pt",
                              "add_special_tokens": not self._has_bos(prompt)}
        if images:
            kw["images"] = [images]
        enc = dict(self.processor(**kw)) if images or self.processor is not self.tokenizer \
            else dict(self.tokenizer(prompt, return_tensors="pt",
                                     add_special_tokens=kw["add_special_tokens"]))
        ids = enc["input_ids"][0]
        reply_ids = torch.tensor(self.tokenizer(reply, add_special_tokens=False)["input_ids"],
                                 dtype=ids.dtype)
        room = self.max_length - len(ids)
        if room < 1:
            raise TrainingError(str(rec.images[0]) if rec.images else "a record",
                                f"prompt of {len(ids)} tokens exceeds max_length "
                                f"{self.max_length}")
        reply_ids = reply_ids[:room]
        out: dict[str, Any] = {"images": {}}
        seq_len = len(ids)
        for key, value in enc.items():
            if isinstance(value, torch.Tensor) and value.dim() == 2 \
                    and value.shape[1] == seq_len and value.shape[0] == 1:
                fill = reply_ids if key == "input_ids" else torch.full_like(
                    reply_ids, 1 if key == "attention_mask" else 0)
                out[key] = torch.cat([value[0], fill])
            else:
                out["images"][key] = value
        out["labels"] = torch.cat([torch.full((seq_len,), -100, dtype=torch.long),
                                   reply_ids.long()])
        return out

    def _has_bos(self, prompt: str) -> bool:
        bos = self.tokenizer.bos_token
        return bool(bos) and prompt.startswith(bos)

    def __call__(self, records: list[Record]) -> dict[str, Any]:
        import torch

        encoded = [self.encode(r) for r in records]
        width = max(len(e["input_ids"]) for e in encoded)
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0
        batch: dict[str, Any] = {}
        seq_keys = [k for k in encoded[0] if k != "images"]
        for key in seq_keys:
            fill = pad if key == "input_ids" else -100 if key == "labels" else 0
            rows = [torch.cat([e[key], torch.full((width - len(e[key]),), fill,
                                                  dtype=e[key].dtype)]) for e in encoded]
            batch[key] = torch.stack(rows)
        image_keys = {k for e in encoded for k in e["images"]}
        for key in image_keys:
            parts = [e["images"][key] for e in encoded if key in e["images"]]
            batch[key] = torch.cat(parts) if isinstance(parts[0], torch.Tensor) else parts
        return batch


def response_loss(model: Any, inputs: dict[str, Any],
                  num_items: Any = None) -> tuple[Any, Any]:
    """Cross-entropy on the reply tokens, with logits computed only where they count.

    Returns:
        ``(loss, model_output)``.
    """
    import torch
    import torch.nn.functional as F

    labels = inputs.pop("labels")
    target = labels[:, 1:]
    used = target != -100
    positions = used.any(0).nonzero().flatten()
    out = model(**inputs, logits_to_keep=positions, use_cache=False)
    logits = out.logits.float()
    picked = target[:, positions]
    loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), picked.reshape(-1),
                           ignore_index=-100, reduction="sum")
    n = num_items if num_items is not None else used.sum()
    if isinstance(n, torch.Tensor):
        n = n.to(loss.device)
    return loss / n, out


def _trainer_class() -> type:
    from transformers import Trainer

    class ResponseTrainer(Trainer):
        """A ``Trainer`` with :func:`response_loss`; a non-PEFT model's checkpoints keep
        only its trainable weights (the frozen language model is not copied each time)."""

        def compute_loss(self, model: Any, inputs: dict[str, Any], return_outputs: bool = False,
                         num_items_in_batch: Any = None) -> Any:
            loss, out = response_loss(model, inputs, num_items_in_batch)
            return (loss, out) if return_outputs else loss

        def _save(self, output_dir: str | None = None, state_dict: dict | None = None) -> None:
            if hasattr(self.model, "peft_config"):
                return super()._save(output_dir, state_dict)
            import safetensors.torch

            out = Path(output_dir or self.args.output_dir)
            out.mkdir(parents=True, exist_ok=True)
            trainable = {n for n, p in self.model.named_parameters() if p.requires_grad}
            state = {k: v.detach().contiguous().cpu()
                     for k, v in self.model.state_dict().items() if k in trainable}
            safetensors.torch.save_file(state, str(out / "model.safetensors"),
                                        metadata={"format": "pt"})
            self.model.config.to_json_file(str(out / "config.json"))
            return None

    return ResponseTrainer


def _data_key(path: Path) -> str:
    return hashlib.sha1(path.read_bytes()).hexdigest()[:16]


def _last_checkpoint(folder: Path) -> Path | None:
    found = [p for p in folder.glob("checkpoint-*") if p.is_dir()
             and (p / "trainer_state.json").is_file()]
    return max(found, key=lambda p: int(p.name.split("-")[-1]), default=None)


def _is_parts(path: Path) -> bool:
    from lavr.core_model.lavr_mllm import VISION_FILE

    return (path / VISION_FILE).is_file()


def load_base(opts: TrainOptions) -> tuple[Any, Any, bool]:
    """``(model, processor, own)`` for the options; ``own``: a lavr-mllm (saved as parts).

    Raises:
        TrainingError: The base cannot be found or loaded.
    """
    from lavr.core_model import lavr_mllm

    base = opts.base.strip()
    path = Path(base).expanduser()
    if base in OWN_BASES or _is_parts(path):
        lm = opts.lm or lavr_mllm.gemma_dir()
        if base == "new":
            model, processor = lavr_mllm.new_model(
                lm, seed=opts.seed, image_size=opts.image_size or lavr_mllm.IMAGE_SIZE,
                mm_tokens=opts.image_tokens or lavr_mllm.MM_TOKENS, vision=opts.vision)
        else:
            parts = lavr_mllm.PARTS_DIR if base == "lavr-mllm" else path
            model, processor = lavr_mllm.load_parts(parts, lm, adapter=False)
        return model, processor, True
    if opts.stage == "align":
        raise TrainingError(base, "the align stage trains lavr-mllm's vision encoder; use "
                            "--base new, lavr-mllm or a parts folder (a pre-trained VLM is "
                            "aligned already: use the roles stage)")
    return _load_vlm(base) + (False,)


def _load_vlm(base: str) -> tuple[Any, Any]:
    from transformers import AutoModelForImageTextToText, AutoProcessor

    from lavr.core_model.weights import downloads_allowed

    offline = not downloads_allowed()
    if "/" not in base and not Path(base).exists():
        raise TrainingError(base, "unknown base model: use new, lavr-mllm, a parts folder, "
                            "a model folder or a hub id such as Qwen/Qwen2.5-VL-3B-Instruct")
    try:
        processor = AutoProcessor.from_pretrained(base, local_files_only=offline)
        model = AutoModelForImageTextToText.from_pretrained(base, local_files_only=offline)
    except (OSError, ValueError) as exc:
        hint = " (offline: unset LAVR_OFFLINE/HF_HUB_OFFLINE to download it)" if offline else ""
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise TrainingError(base, f"cannot load this base model{hint}: {first}") from exc
    return model, processor


def base_adapter(opts: TrainOptions) -> Path | None:
    """The LoRA adapter of the lavr-mllm parts ``roles`` continues, or None (a fresh one)."""
    from lavr.core_model import lavr_mllm

    if opts.stage != "roles" or opts.new_adapter:
        return None
    base = opts.base.strip()
    parts = lavr_mllm.PARTS_DIR if base == "lavr-mllm" else Path(base).expanduser()
    if base != "lavr-mllm" and not _is_parts(parts):
        return None
    adapter = parts / lavr_mllm.ADAPTER_DIR
    return adapter if (adapter / "adapter_config.json").is_file() else None


def _prepare(model: Any, stage: str, opts: TrainOptions) -> Any:
    """Freeze what the stage does not train; wrap with LoRA for ``roles`` (continuing the
    base parts' adapter when they have one, see :func:`base_adapter`)."""
    from lavr.core_model.lavr_mllm import VISION_PREFIXES

    for name, p in model.named_parameters():
        p.requires_grad = stage == "align" and name.startswith(VISION_PREFIXES)
    if stage == "align":
        return model
    from peft import LoraConfig, PeftModel, get_peft_model

    adapter = base_adapter(opts)
    if adapter is not None:
        logger.info("continuing the LoRA adapter in %s", adapter)
        return PeftModel.from_pretrained(model, str(adapter), is_trainable=True)

    config = LoraConfig(r=opts.lora_r, lora_alpha=opts.lora_alpha, lora_dropout=0.05,
                        target_modules=LORA_TARGETS, bias="none")
    return get_peft_model(model, config)


def _check_disk(out: Path, model: Any) -> None:
    """Refuse to start when a checkpoint (weights + optimiser state) would not fit."""
    trainable = sum(p.numel() * p.element_size() for p in model.parameters() if p.requires_grad)
    need = 3 * trainable + 16 * 2**20
    probe = out
    while not probe.exists():
        probe = probe.parent
    free = shutil.disk_usage(probe).free
    if free < need:
        raise TrainingError(str(out), f"not enough disk space for a checkpoint: "
                            f"{free / 2**20:.0f} MB free, about {need / 2**20:.0f} MB needed")


def train(opts: TrainOptions) -> TrainResult:
    """Run one stage (see the module docstring); resumes from ``out/checkpoints`` when it can.

    Raises:
        TrainingError: Bad data, an unknown base model, no disk space, a bad option.
    """
    if opts.stage not in STAGES:
        raise TrainingError(opts.stage, f"unknown stage; stages are {', '.join(STAGES)}")
    records = read_records(opts.data)
    if opts.device.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            raise TrainingError(opts.device, "CUDA is not available on this machine")
    out = Path(opts.out)
    ckpt_dir = out / CHECKPOINTS
    run_file = ckpt_dir / RUN_FILE
    data_key = _data_key(Path(opts.data))
    resume = None if opts.restart else _last_checkpoint(ckpt_dir)
    if resume is not None and run_file.is_file():
        made = json.loads(run_file.read_text(encoding="utf-8"))
        if made.get("data") != data_key or made.get("stage") != opts.stage:
            raise TrainingError(str(ckpt_dir), "these checkpoints were made from other data "
                                "or another stage; use --restart or another --out")
    last = min(x for x in (opts.max_steps, opts.stop_after or 0) if x > 0) \
        if max(opts.max_steps, opts.stop_after or 0) > 0 else -1
    done = _finished_checkpoint(resume, last)
    if opts.threads:
        import torch

        torch.set_num_threads(int(opts.threads))
    from transformers import TrainerState

    model, processor, own = load_base(opts)
    model = _prepare(model, opts.stage, opts)
    _check_disk(out, model)
    ckpt_dir.mkdir(parents=True, exist_ok=True)
    run_file.write_text(json.dumps({"data": data_key, "stage": opts.stage}), encoding="utf-8")
    trainer = _make_trainer(model, processor, records, opts, ckpt_dir)
    t0 = time.perf_counter()
    try:
        if done:
            # the Trainer would run one more step before it checks max_steps again
            trainer._load_from_checkpoint(str(resume))
            trainer.state = TrainerState.load_from_json(str(resume / "trainer_state.json"))
        else:
            trainer.train(resume_from_checkpoint=str(resume) if resume else None)
    except OSError as exc:
        if exc.errno == errno.ENOSPC:
            raise TrainingError(str(out), "disk full while writing a checkpoint; free space "
                                "and run the same command again to resume") from exc
        raise
    seconds = time.perf_counter() - t0
    record = {"stage": opts.stage, "base": opts.base, "records": len(records),
              "roles": _role_counts(records), "steps": int(trainer.state.global_step),
              "train_seconds": None if done else round(seconds, 1),
              "loss": _last_loss(trainer),
              "options": {k: (str(v) if isinstance(v, Path) else v)
                          for k, v in asdict(opts).items()}}
    files = _export(trainer.model, processor, out, own=own, record=record)
    return TrainResult(out, int(trainer.state.global_step), seconds, record["loss"],
                       len(records), str(resume) if resume else None, files)


def _finished_checkpoint(resume: Path | None, max_steps: int) -> bool:
    """Whether the checkpoint resumed from already holds all ``max_steps`` steps
    (the last step a run makes: ``max_steps`` or ``stop_after``).

    Raises:
        TrainingError: It holds more steps than ``max_steps`` asks for.
    """
    if resume is None or max_steps <= 0:
        return False
    state = json.loads((resume / "trainer_state.json").read_text(encoding="utf-8"))
    step = int(state.get("global_step", 0))
    if step > max_steps:
        raise TrainingError(str(resume), f"the last checkpoint is at step {step}, past the "
                            f"{max_steps} steps asked for (--max-steps / --stop-after); use "
                            "--restart or ask for more steps")
    return step == max_steps


def _role_counts(records: Sequence[Record]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for r in records:
        counts[r.role or "-"] = counts.get(r.role or "-", 0) + 1
    return counts


def _last_loss(trainer: Any) -> float | None:
    losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    if losses:
        return round(float(sum(losses[-5:]) / len(losses[-5:])), 4)
    final = [h["train_loss"] for h in trainer.state.log_history if "train_loss" in h]
    return round(float(final[-1]), 4) if final else None


def _make_trainer(model: Any, processor: Any, records: list[Record], opts: TrainOptions,
                  ckpt_dir: Path) -> Any:
    import torch
    from transformers import TrainingArguments

    cuda = opts.device.startswith("cuda") or (opts.device == "auto"
                                               and torch.cuda.is_available())
    bf16 = opts.bf16 if opts.bf16 is not None else _bf16_supported(cuda)
    args = TrainingArguments(
        output_dir=str(ckpt_dir), per_device_train_batch_size=opts.batch_size,
        gradient_accumulation_steps=opts.grad_accum, num_train_epochs=opts.epochs,
        max_steps=opts.max_steps, learning_rate=opts.learning_rate or DEFAULT_LR[opts.stage],
        lr_scheduler_type="cosine", warmup_steps=min(10, max(opts.max_steps // 10, 0)),
        weight_decay=0.0, logging_steps=1, save_strategy="steps", save_steps=opts.save_steps,
        save_total_limit=2, seed=opts.seed, data_seed=opts.seed, report_to="none",
        remove_unused_columns=False, dataloader_num_workers=0, use_cpu=not cuda,
        bf16=bf16, disable_tqdm=not opts.progress, save_only_model=False)
    trainer = _trainer_class()(model=model, args=args, train_dataset=_ListDataset(records),
                               data_collator=ChatCollator(processor, max_length=opts.max_length),
                               callbacks=[_stop_after(opts.stop_after)] if opts.stop_after
                               else None)
    trainer.model_accepts_loss_kwargs = True
    return trainer


def _stop_after(steps: int) -> Any:
    """A ``TrainerCallback`` that ends training (with a checkpoint) after ``steps`` steps."""
    from transformers import TrainerCallback

    class StopAfter(TrainerCallback):
        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> Any:
            if state.global_step >= steps:
                control.should_training_stop = True
                control.should_save = True
            return control

    return StopAfter()


def _bf16_supported(cuda: bool) -> bool:
    """Whether bfloat16 autocast is fast here (a bf16 GPU, or a CPU with bf16 instructions)."""
    import torch

    if cuda:
        return bool(torch.cuda.is_bf16_supported())
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


class _ListDataset:
    """Records as a map-style dataset."""

    def __init__(self, records: list[Record]) -> None:
        self.records = records

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, i: int) -> Record:
        return self.records[i]


def _export(model: Any, processor: Any, out: Path, *, own: bool,
            record: dict[str, Any]) -> dict[str, int]:
    """Write the result: lavr-mllm parts, or a LoRA adapter + processor for another VLM."""
    from lavr.core_model import lavr_mllm

    if own:
        lavr_mllm.save_parts(model, processor, out, record=record)
    else:
        model.save_pretrained(str(out / lavr_mllm.ADAPTER_DIR))
        processor.save_pretrained(str(out / lavr_mllm.ADAPTER_DIR))
        (out / "training.json").write_text(json.dumps(record, indent=1), encoding="utf-8")
    return {str(f.relative_to(out)): f.stat().st_size for f in sorted(out.rglob("*"))
            if f.is_file() and CHECKPOINTS not in f.relative_to(out).parts}


__all__ = ["STAGES", "Record", "TrainOptions", "TrainResult", "read_records",
           "train"]
