"""A tiny randomly initialised Gemma 3 text model and tokenizer on disk (no network, ~100 KB).

It stands in for the packaged Gemma 3 270M where a test needs lavr-mllm's whole
pipeline (build, train, save parts, assemble, reload) in seconds. Its output is
noise.
"""

from __future__ import annotations

from pathlib import Path

#: Words the WordLevel tokenizer knows (everything else maps to <unk>).
WORDS = ('{ } [ ] : , " . ? plan decide answer from evidence how many circle circles square '
         "red blue green yes no there are is the a of intent count steps id tool args detect "
         "labels source s1 s2 action stop reason 1 2 3 it").split()
SPECIAL = ["<pad>", "<eos>", "<bos>", "<unk>", "<start_of_turn>", "<end_of_turn>",
           "<start_of_image>", "<end_of_image>", "user", "model", "\n"]


def build_tiny_gemma(path: Path, *, seed: int = 0) -> Path:
    """Write a 2-layer ``Gemma3ForCausalLM`` and its tokenizer to ``path``."""
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import Gemma3ForCausalLM, Gemma3TextConfig, PreTrainedTokenizerFast

    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    vocab = {tok: i for i, tok in enumerate(SPECIAL + list(dict.fromkeys(WORDS)))}
    core = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Punctuation()])
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=core, unk_token="<unk>",
                                        pad_token="<pad>", eos_token="<eos>", bos_token="<bos>")
    tokenizer.add_special_tokens({"additional_special_tokens": SPECIAL[4:8]})
    config = Gemma3TextConfig(
        vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=2, num_key_value_heads=1, head_dim=16, sliding_window=32,
        layer_types=["sliding_attention", "full_attention"], max_position_embeddings=1024,
        pad_token_id=0, eos_token_id=1, bos_token_id=2)
    torch.manual_seed(seed)
    model = Gemma3ForCausalLM(config).eval()
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path
