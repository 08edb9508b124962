"""Token batches shared by every encoder: plain, or in ColBERT's input format (markers).

ColBERT's format (the ColBERT teacher and TCT-ColBERT's students, so that both read one token
batch): a [Q] or [D] marker after [CLS], queries filled with [MASK] to their full length (query
augmentation, the fillers attended to). Pyserini's format (castorini's released TCT-ColBERT):
"[CLS] [Q] " and "[CLS] [D] " written as text, so the marker is the three word pieces "[ q ]",
and no [SEP] at the end; the same query filling. `PackedTokens` keeps many texts' ids in one
flat array for encoding a corpus in batches cut in any order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import chain

import numpy as np
import torch

TOKENIZE_CHUNK = 4096
KINDS = ("query", "passage")
# ColBERT's markers are BERT's first unused vocabulary entries; other vocabularies get new tokens.
MARKER_TOKENS = {"query": ("[unused0]", "[Q]"), "passage": ("[unused1]", "[D]")}
MARKER_STYLES = ("colbert", "pyserini")


@dataclass(frozen=True)
class Markers:
    """Token ids of the marked input formats: the [Q] / [D] marker after [CLS] (one token,
    or Pyserini's word pieces), the query filler [MASK], and whether a text ends with [SEP]."""

    query: int | tuple[int, ...]
    passage: int | tuple[int, ...]
    fill: int
    end_with_sep: bool = True

    @classmethod
    def for_model(cls, backbone, tokenizer, style: str = "colbert") -> Markers:
        """ColBERT's: BERT's [unused0]/[unused1] where the vocabulary has them; else [Q]/[D]
        are added to the tokenizer and the backbone's embeddings grow to match. Pyserini's:
        the word pieces of "[Q]" and "[D]", nothing added."""
        if tokenizer.mask_token_id is None or tokenizer.cls_token_id is None:
            raise ValueError("markers need a tokenizer with [CLS] and [MASK] tokens")
        if style not in MARKER_STYLES:
            raise ValueError(f"markers must be one of {MARKER_STYLES}, not {style!r}")
        if style == "pyserini":
            pieces = {kind: tuple(tokenizer(text, add_special_tokens=False)["input_ids"])
                      for kind, (_, text) in MARKER_TOKENS.items()}  # fmt: skip
            return cls(pieces["query"], pieces["passage"], tokenizer.mask_token_id, False)
        vocab = tokenizer.get_vocab()
        ids = {}
        for kind, (unused, added) in MARKER_TOKENS.items():
            if unused in vocab:
                ids[kind] = vocab[unused]
            else:
                tokenizer.add_special_tokens({"additional_special_tokens": [added]})
                ids[kind] = tokenizer.convert_tokens_to_ids(added)
        if len(tokenizer) > backbone.get_input_embeddings().num_embeddings:
            backbone.resize_token_embeddings(len(tokenizer))
        return cls(ids["query"], ids["passage"], tokenizer.mask_token_id)

    def of(self, kind: str) -> tuple[int, ...]:
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
        marker = self.query if kind == "query" else self.passage
        return (marker,) if isinstance(marker, int) else marker

    @property
    def skip(self) -> int:
        """Positions before the pooled tokens: [CLS] and the marker."""
        return 1 + len(self.of("query"))


def tokenize(tokenizer, texts, max_length: int, kind: str, markers: Markers | None) -> dict:
    """A padded batch; with markers, ColBERT's format (the marker after [CLS], queries filled
    with attended [MASK] tokens to exactly max_length)."""
    if markers is None:
        batch = tokenizer(
            [str(t) for t in texts],
            truncation=True,
            max_length=max_length,
            padding=True,
            return_tensors="pt",
        )
        return {"input_ids": batch["input_ids"], "attention_mask": batch["attention_mask"]}
    tokens = PackedTokens.from_texts(tokenizer, texts, max_length, kind, markers)
    input_ids, attention_mask = tokens.batch(np.arange(len(tokens)))
    return {"input_ids": input_ids, "attention_mask": attention_mask}


@dataclass
class PackedTokens:
    """Token ids of many texts in one flat int32 array: a 100k-passage shard costs ~30 MB
    instead of the ~300 MB of Python lists, and batches can be cut in any order."""

    ids: np.ndarray
    offsets: np.ndarray
    pad_id: int
    fill_to: int | None = None  # queries with markers: [MASK]-filled to this length

    @classmethod
    def from_texts(
        cls,
        tokenizer,
        texts: Sequence[str],
        max_length: int,
        kind: str = "passage",
        markers: Markers | None = None,
    ) -> PackedTokens:
        pieces, lengths = [], []
        marker = list(markers.of(kind)) if markers is not None else None
        # without a final [SEP] the text gets its place: the same length budget in all
        sep_dropped = markers is not None and not markers.end_with_sep
        room = max_length if marker is None else max_length - len(marker) + sep_dropped
        for start in range(0, len(texts), TOKENIZE_CHUNK):
            chunk = [str(text) for text in texts[start : start + TOKENIZE_CHUNK]]
            ids = tokenizer(
                chunk,
                truncation=True,
                max_length=room,
                return_attention_mask=False,
                return_token_type_ids=False,
            )["input_ids"]
            if marker is not None:
                end = -1 if sep_dropped else None
                ids = [row[:1] + marker + row[1:end] for row in ids]
            lengths.extend(len(row) for row in ids)
            pieces.append(np.fromiter(chain.from_iterable(ids), dtype=np.int32))
        offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        flat = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.int32)
        if marker is not None and kind == "query":
            return cls(flat, offsets, markers.fill, fill_to=max_length)
        return cls(flat, offsets, tokenizer.pad_token_id)

    def __len__(self) -> int:
        return len(self.offsets) - 1

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    def batch(self, rows: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        """(input_ids, attention_mask) for `rows`, right-padded to the longest of them, or
        filled to `fill_to` with attended filler tokens."""
        lengths = self.lengths[rows]
        width = self.fill_to or lengths.max(initial=1)
        mask = np.arange(width) < lengths[:, None]
        input_ids = np.full(mask.shape, self.pad_id, dtype=np.int64)
        input_ids[mask] = np.concatenate(
            [self.ids[self.offsets[r] : self.offsets[r + 1]] for r in rows]
        )
        attention = np.ones(mask.shape, np.int64) if self.fill_to else mask.astype(np.int64)
        return torch.from_numpy(input_ids), torch.from_numpy(attention)
