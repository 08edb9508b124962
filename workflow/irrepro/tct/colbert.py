"""ColBERT (Khattab and Zaharia, 2020), the teacher of TCT-ColBERT: late interaction by MaxSim.

Input as in ColBERT v1: [CLS] [Q] query [SEP] filled with [MASK] to 32 tokens (query
augmentation), [CLS] [D] passage [SEP]; every token's output goes through a 128-d linear layer
(no bias) and is L2-normalised. Passage tokens that are punctuation, and padding, are dropped
before MaxSim: score(q, d) = sum over query tokens of the max over passage tokens of their dot.
One departure: the [MASK] fillers are attended to (ColBERT v1 gives them attention mask 0, v2
made it an option), as in TCT-ColBERT's released query encoder. The tokenisation is
irrepro.tokens', so a student bi-encoder with markers reads the very token batch its
teacher reads.
"""

from __future__ import annotations

import string
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from torch import nn

from ..backbone import load_backbone, load_saved, weights_fingerprint
from ..model_files import staged_directory, write_json
from ..tokens import Markers, tokenize

CONFIG = "irrepro_colbert.json"
LINEAR = "colbert_linear.safetensors"


class ColBERT(nn.Module):
    """`forward(input_ids, attention_mask, kind)` gives (token vectors, mask of tokens used)."""

    def __init__(self, backbone, tokenizer, dim: int = 128):
        super().__init__()
        self.backbone = backbone
        self.tokenizer = tokenizer
        self.markers = Markers.for_model(backbone, tokenizer)
        self.linear = nn.Linear(backbone.config.hidden_size, dim, bias=False)
        self.register_buffer("skiplist", punctuation_ids(tokenizer), persistent=False)
        self.train(backbone.training)

    @classmethod
    def from_backbone(cls, name: str, dim: int = 128, seed: int = 0) -> ColBERT:
        backbone, tokenizer = load_backbone(name, seed)
        model = cls(backbone, tokenizer, dim)
        generator = torch.Generator().manual_seed(seed)
        with torch.no_grad():  # nn.Linear's own init, from a seeded generator
            bound = 1 / model.linear.in_features**0.5
            model.linear.weight.uniform_(-bound, bound, generator=generator)
        return model

    @classmethod
    def load(cls, directory: str | Path) -> ColBERT:
        config, backbone, tokenizer = load_saved(directory, CONFIG)
        model = cls(backbone, tokenizer, config["dim"])
        model.linear.weight.data.copy_(load_file(str(Path(directory) / LINEAR))["weight"])
        return model

    def save(self, directory: str | Path) -> None:
        """The transformer at the top level (a student starts from it), the projection beside."""
        with staged_directory(directory) as tmp:
            self.backbone.save_pretrained(tmp)
            self.tokenizer.save_pretrained(tmp)
            save_file({"weight": self.linear.weight.detach().cpu().contiguous()}, str(tmp / LINEAR))
            write_json(tmp / CONFIG, {"dim": self.dim})

    @property
    def dim(self) -> int:
        return self.linear.out_features

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def fingerprint(self) -> str:
        """Hash of the weights and the tokenizer: what decides the token vectors."""
        tokenizer = [type(self.tokenizer).__name__, len(self.tokenizer)]
        return weights_fingerprint(self, {"dim": self.dim, "tokenizer": tokenizer})

    def tokenize(self, texts, max_length: int, kind: str = "passage") -> dict:
        return tokenize(self.tokenizer, texts, max_length, kind, self.markers)

    def forward(self, input_ids, attention_mask, kind: str = "passage"):
        hidden = self.backbone(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        vectors = F.normalize(self.linear(hidden), p=2, dim=-1)
        if kind == "query":  # every position counts, the [MASK] fillers included
            return vectors, torch.ones_like(attention_mask, dtype=torch.bool)
        mask = attention_mask.bool() & ~torch.isin(input_ids, self.skiplist)
        return vectors * mask.unsqueeze(-1), mask


def punctuation_ids(tokenizer) -> torch.Tensor:
    """Ids of the tokens that are a single punctuation character (ColBERT's skiplist)."""
    ids = {
        token_id
        for symbol in string.punctuation
        for token_id in tokenizer.encode(symbol, add_special_tokens=False)[:1]
        if tokenizer.convert_ids_to_tokens(token_id).strip("Ġ▁") == symbol
    }
    return torch.tensor(sorted(ids), dtype=torch.long)


def maxsim(queries, query_mask, docs, doc_mask) -> torch.Tensor:
    """(Q, D) scores of every query against every passage: queries (Q, Lq, d), docs (D, Ld, d)."""
    similarity = torch.einsum("qid,pjd->qpij", queries, docs)
    similarity = similarity.masked_fill(~doc_mask[None, :, None, :], float("-inf"))
    best = similarity.max(dim=-1).values
    best = torch.where(torch.isinf(best), torch.zeros_like(best), best)  # a passage of no tokens
    return (best * query_mask[:, None, :]).sum(-1)


def maxsim_pairs(queries, query_mask, docs, doc_mask) -> torch.Tensor:
    """(N,) scores of query n against passage n (the rows of the two batches paired up)."""
    similarity = torch.einsum("nid,njd->nij", queries, docs)
    similarity = similarity.masked_fill(~doc_mask[:, None, :], float("-inf"))
    best = similarity.max(dim=-1).values
    best = torch.where(torch.isinf(best), torch.zeros_like(best), best)
    return (best * query_mask).sum(-1)
