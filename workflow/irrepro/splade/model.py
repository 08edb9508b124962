"""SPLADE (Formal et al.): a masked-LM encoder whose vocabulary logits become sparse term weights.

w_j = max over the text's tokens i of log(1 + ReLU(logit_ij)), padding masked; queries and
documents share the encoder and are scored by the dot product of their weights. Any masked-LM
backbone serves; one without an MLM head (MiniLM) gets BERT's head with its output layer tied to
the input embeddings (irrepro.backbone says so in the log). A saved model is a transformers
masked-LM checkpoint and a sentence-transformers `SparseEncoder` at the same time.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import torch
import transformers
from torch import nn

from .. import precision as amp
from ..backbone import load_backbone, load_saved
from ..model_files import staged_directory, write_json, write_modules_json
from ..tokens import PackedTokens, tokenize
from .pooling import max_pooled_logits

CONFIG = "irrepro_splade.json"
POOLING_DIR = "1_SpladePooling"


class Splade(nn.Module):
    """`forward(input_ids, attention_mask)` gives (B, vocabulary) non-negative term weights."""

    def __init__(self, backbone, tokenizer):
        super().__init__()
        if backbone.get_output_embeddings() is None:
            raise ValueError(
                f"{type(backbone).__name__} has no masked-LM head: SPLADE needs one (load the "
                "backbone with masked_lm=True)"
            )
        self.backbone, self.tokenizer = backbone, tokenizer
        self.train(backbone.training)

    @classmethod
    def from_backbone(cls, name: str, seed: int = 0) -> Splade:
        return cls(*load_backbone(name, seed, masked_lm=True))

    @classmethod
    def load(cls, directory: str | Path) -> Splade:
        _, backbone, tokenizer = load_saved(directory, CONFIG, masked_lm=True)
        return cls(backbone, tokenizer)

    def save(self, directory: str | Path) -> None:
        """transformers files at the top level, sentence-transformers' SparseEncoder beside."""
        with staged_directory(directory) as tmp:
            self.backbone.save_pretrained(tmp)
            self.tokenizer.save_pretrained(tmp)
            write_sparse_encoder_files(tmp, self.vocabulary_size)
            write_json(tmp / CONFIG, {"vocabulary_size": self.vocabulary_size})

    @property
    def vocabulary_size(self) -> int:
        return self.backbone.get_output_embeddings().out_features

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def gradient_checkpointing_enable(self, **kwargs) -> None:
        self.backbone.gradient_checkpointing_enable(**kwargs)

    def tokenize(self, texts, max_length: int, kind: str = "passage") -> dict:
        return tokenize(self.tokenizer, texts, max_length, kind, None)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """max_i log1p(relu(x_i)) = log1p(relu(max_i x_i)) (both monotone), so the logits go
        through one masked max (irrepro.splade.pooling, which also spares the backward the
        (batch, length, vocabulary) gradient), not three element-wise operations."""
        peaks = max_pooled_logits(self.backbone, input_ids, attention_mask)
        return torch.log1p(torch.relu(peaks))

    @torch.no_grad()
    def encode(
        self,
        texts: Sequence[str],
        max_length: int,
        batch_size: int = 64,
        progress=None,
        precision: str | None = None,
    ) -> sp.csr_matrix:
        """(len(texts), vocabulary) float32 CSR of term weights, in input order; batches are
        cut from texts sorted by token count. `precision`: irrepro.precision's, None the job's."""
        tokens = PackedTokens.from_texts(self.tokenizer, texts, max_length)
        order = np.argsort(-tokens.lengths, kind="stable")
        rows, columns, values = [], [], []
        was_training = self.training
        self.eval()
        try:
            with amp.autocast(self.device, precision):
                for start in range(0, len(order), batch_size):
                    batch = order[start : start + batch_size]
                    input_ids, attention_mask = tokens.batch(batch)
                    weights = self(input_ids.to(self.device), attention_mask.to(self.device))
                    weights = weights.float()
                    row, column = torch.nonzero(weights, as_tuple=True)
                    rows.append(batch[row.cpu().numpy()])
                    columns.append(column.cpu().numpy())
                    values.append(weights[row, column].cpu().numpy())
                    if progress is not None:
                        progress.update(len(batch))
        finally:
            self.train(was_training)
        shape = (len(texts), self.vocabulary_size)
        if not rows:
            return sp.csr_matrix(shape, dtype=np.float32)
        matrix = sp.coo_matrix(
            (np.concatenate(values), (np.concatenate(rows), np.concatenate(columns))), shape
        )
        return matrix.tocsr().astype(np.float32)


def write_sparse_encoder_files(directory: Path, vocabulary_size: int) -> None:
    """modules.json and configs as sentence-transformers 6 writes them for a SPLADE model."""
    modules = [
        ("", "mlm_transformer.MLMTransformer"),
        (POOLING_DIR, "splade_pooling.SpladePooling"),
    ]
    write_modules_json(directory, "sentence_transformers.sparse_encoder.modules", modules)
    write_json(
        directory / "sentence_bert_config.json",
        {
            "transformer_task": "fill-mask",
            "modality_config": {"text": {"method": "forward", "method_output_name": "logits"}},
            "module_output_name": "token_embeddings",
        },
    )
    (directory / POOLING_DIR).mkdir(exist_ok=True)
    write_json(
        directory / POOLING_DIR / "config.json",
        {
            "pooling_strategy": "max",
            "activation_function": "relu",
            "embedding_dimension": vocabulary_size,
        },
    )
    write_json(
        directory / "config_sentence_transformers.json",
        {
            "__version__": {"transformers": transformers.__version__, "pytorch": torch.__version__},
            "model_type": "SparseEncoder",
            "prompts": {"query": "", "document": ""},
            "default_prompt_name": None,
            "similarity_fn_name": "dot",
        },
    )
