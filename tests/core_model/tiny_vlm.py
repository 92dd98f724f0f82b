"""Build a tiny randomly initialised Qwen2-VL checkpoint on disk (no network, ~400 KB).

The weights are noise, so the model's output is noise too: tests that use it
check plumbing (images reach the processor, output is decoded, malformed output
is handled), never answers.
"""

from __future__ import annotations

import json
from pathlib import Path

#: Plain words the WordLevel tokenizer knows (everything else maps to [UNK]).
WORDS = (
    '{ } [ ] : , " s1 s2 s3 intent count steps id tool args detect labels circle square red '
    "how many are there what colour is the image question answer plan stop more action reason"
).split()
SPECIAL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "[UNK]"]
VISION = ["<|vision_start|>", "<|vision_end|>", "<|image_pad|>", "<|video_pad|>"]

CHAT_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for part in message['content'] %}"
    "{% if part['type'] == 'image' %}<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif part['type'] == 'text' %}{{ part['text'] }}{% endif %}"
    "{% endfor %}{% endif %}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def build_tiny_vlm(path: Path, *, seed: int = 0) -> Path:
    """Write a tiny Qwen2-VL model, processor and tokenizer to ``path``.

    Reload it with ``AutoProcessor.from_pretrained(path)`` and
    ``AutoModelForImageTextToText.from_pretrained(path)``.
    """
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import (
        PreTrainedTokenizerFast,
        Qwen2VLConfig,
        Qwen2VLForConditionalGeneration,
        Qwen2VLImageProcessor,
        Qwen2VLProcessor,
    )
    from transformers.models.qwen2_vl.video_processing_qwen2_vl import Qwen2VLVideoProcessor

    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    vocab = {tok: i for i, tok in enumerate(SPECIAL + VISION + list(dict.fromkeys(WORDS)))}
    core = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    core.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Punctuation()])
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=core, unk_token="[UNK]", pad_token="<|endoftext|>",
        eos_token="<|im_end|>", bos_token=None)
    tokenizer.add_special_tokens({"additional_special_tokens": SPECIAL[1:3] + VISION})
    ids = {t: tokenizer.convert_tokens_to_ids(t) for t in VISION}
    config = Qwen2VLConfig(
        text_config={
            "vocab_size": len(tokenizer), "hidden_size": 32, "intermediate_size": 64,
            "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
            "max_position_embeddings": 4096, "bos_token_id": None,
            "eos_token_id": tokenizer.eos_token_id, "pad_token_id": tokenizer.pad_token_id,
            "rope_parameters": {"rope_type": "default", "rope_theta": 10000.0,
                                "mrope_section": [1, 1, 2]},
        },
        vision_config={"depth": 2, "embed_dim": 32, "hidden_size": 32, "num_heads": 4,
                       "mlp_ratio": 2, "patch_size": 14, "spatial_merge_size": 2,
                       "temporal_patch_size": 2},
        image_token_id=ids["<|image_pad|>"], video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"], vision_end_token_id=ids["<|vision_end|>"],
    )
    torch.manual_seed(seed)
    model = Qwen2VLForConditionalGeneration(config).eval()
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    size = {"shortest_edge": 56 * 56, "longest_edge": 224 * 224}
    processor = Qwen2VLProcessor(
        image_processor=Qwen2VLImageProcessor(size=size),
        tokenizer=tokenizer,
        video_processor=Qwen2VLVideoProcessor(size=size),
        chat_template=CHAT_TEMPLATE,
    )
    model.save_pretrained(path)
    processor.save_pretrained(path)
    (path / "lavr_tiny_vlm.json").write_text(json.dumps({"seed": seed}), encoding="utf-8")
    return path


def build_tiny_causal_lm(path: Path, *, seed: int = 0) -> Path:
    """Write a tiny text-only causal LM (GLM architecture) without a chat template to ``path``.

    Without a template the backend writes a plain ``User:``/``Assistant:`` transcript.
    (GLM, because ``AutoTokenizer`` loads its tokenizer exactly as saved.)
    """
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import GlmConfig, GlmForCausalLM, PreTrainedTokenizerFast

    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    words = list(dict.fromkeys(WORDS + ["User", "Assistant", "Question"]))
    vocab = {tok: i for i, tok in enumerate(SPECIAL + words)}
    core = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    core.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Punctuation()])
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=core, unk_token="[UNK]",
                                        pad_token="<|endoftext|>", eos_token="<|im_end|>")
    config = GlmConfig(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64,
                       num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                       head_dim=8, max_position_embeddings=2048,
                       eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
                       tie_word_embeddings=True)
    torch.manual_seed(seed)
    model = GlmForCausalLM(config).eval()
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path
