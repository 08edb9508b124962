"""`BiEncoder`: one encoder shared by queries and passages, scored by inner product.

backbone -> pooling (`cls`: first token, as STAR/ADORE; `mean`: attention-masked mean, as
sentence-transformers) -> optional head (Linear then LayerNorm: DRhard's `RobertaDot`) ->
optional L2 normalisation. A saved encoder is a transformers checkpoint (the backbone, at the top
level) and a sentence-transformers model at the same time, so both libraries load our results.

With `markers` (TCT-ColBERT's students, and the ColBERT teacher in irrepro.tct) the input is
ColBERT's: a [Q] or [D] marker after [CLS], queries filled with [MASK] to their full length
(query augmentation, the masks attended to), and mean pooling over the tokens after the
marker. `markers="pyserini"` is the input of castorini's released TCT-ColBERT as Pyserini
encodes it (irrepro.tokens). sentence-transformers cannot add the markers, so such a model is
saved for transformers and irrepro only.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
import transformers
from safetensors.torch import load_file, save_file
from torch import nn

from .. import precision as amp
from ..backbone import load_backbone, load_saved, weights_fingerprint
from ..model_files import staged_directory, write_json, write_modules_json
from ..tokens import Markers, PackedTokens, tokenize

POOLINGS = ("cls", "mean")
ENCODER_CONFIG = "irrepro_encoder.json"
DENSE_DIR, LAYER_NORM_DIR = "2_Dense", "3_LayerNorm"


def marker_style(markers: bool | str) -> str:
    """`markers` as saved and configured: True (older saves) is ColBERT's format."""
    return "colbert" if markers is True else markers


class BiEncoder(nn.Module):
    """Shared query/passage encoder; `forward` gives (B, dim) vectors."""

    def __init__(
        self, backbone, tokenizer, pooling="cls", head=False, normalize=False, markers=False
    ):
        super().__init__()
        if pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, not {pooling!r}")
        if tokenizer.padding_side != "right":
            raise ValueError("BiEncoder needs a right-padding tokenizer (CLS is the first token)")
        self.backbone = backbone
        self.tokenizer = tokenizer
        self.pooling = pooling
        self.normalize = normalize
        self.markers = (
            Markers.for_model(backbone, tokenizer, marker_style(markers)) if markers else None
        )
        hidden = backbone.config.hidden_size
        self.head = nn.Sequential(nn.Linear(hidden, hidden), nn.LayerNorm(hidden)) if head else None
        self.train(backbone.training)  # eval after from_pretrained: one mode for all parts

    # ------------------------------------------------------------------ construction, saving

    @classmethod
    def from_backbone(
        cls, name, pooling="cls", head=False, normalize=False, seed=0, markers=False
    ) -> BiEncoder:
        """A fresh encoder on a named backbone (or a saved model's directory, e.g. a ColBERT
        teacher's, whose transformer it starts from); a new head is initialised as DRhard does."""
        backbone, tokenizer = load_backbone(name, seed)
        model = cls(backbone, tokenizer, pooling, head, normalize, markers)
        if model.head is not None:
            init_head(model.head, seed)
        return model

    @classmethod
    def load(cls, directory: str | Path) -> BiEncoder:
        config, backbone, tokenizer = load_saved(directory, ENCODER_CONFIG)
        model = cls(
            backbone,
            tokenizer,
            config["pooling"],
            config["head"],
            config["normalize"],
            config.get("markers", False),
        )
        if model.head is not None:
            load_head(model.head, Path(directory))
        return model

    def save(self, directory: str | Path, max_seq_length: int | None = None) -> None:
        """Write transformers + sentence-transformers files; `max_seq_length` is what
        sentence-transformers will truncate to (default: the longest input the backbone takes)."""
        max_seq_length = max_seq_length or self.longest_input()
        with staged_directory(directory) as tmp:
            self.backbone.save_pretrained(tmp)
            self.tokenizer.save_pretrained(tmp)
            if self.head is not None:
                save_head(self.head, tmp)
            if self.markers is None:
                write_sentence_transformers_files(self, tmp, max_seq_length)
            config = {
                "pooling": self.pooling,
                "head": self.head is not None,
                "normalize": self.normalize,
                "markers": True if self.marker_style == "colbert" else self.marker_style,
                "max_seq_length": max_seq_length,
            }
            write_json(tmp / ENCODER_CONFIG, config)

    # ------------------------------------------------------------------ encoding

    @property
    def marker_style(self) -> str | bool:
        if self.markers is None:
            return False
        return "colbert" if self.markers.end_with_sep else "pyserini"

    @property
    def dim(self) -> int:
        return self.backbone.config.hidden_size

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def longest_input(self) -> int:
        return min(self.tokenizer.model_max_length, self.backbone.config.max_position_embeddings)

    def gradient_checkpointing_enable(self, **kwargs) -> None:
        self.backbone.gradient_checkpointing_enable(**kwargs)

    def tokenize(self, texts: list[str], max_length: int, kind: str = "passage") -> dict:
        """Truncated batch padded to its longest text (queries with markers: to max_length)."""
        return tokenize(self.tokenizer, texts, max_length, kind, self.markers)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        hidden = self.backbone(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        if self.pooling == "cls":
            vectors = hidden[:, 0]
        elif self.markers is not None:  # TCT-ColBERT: the tokens after [CLS] and the marker
            skip = self.markers.skip
            vectors = masked_mean(hidden[:, skip:], attention_mask[:, skip:])
        else:
            vectors = masked_mean(hidden, attention_mask)
        if self.head is not None:
            vectors = self.head(vectors)
        return F.normalize(vectors, p=2, dim=-1) if self.normalize else vectors

    @torch.no_grad()
    def encode(
        self,
        texts: Sequence[str],
        max_length: int,
        batch_size: int = 64,
        device=None,
        progress=None,
        kind: str = "passage",
        precision: str | None = None,
    ) -> np.ndarray:
        """float32 (len(texts), dim) in input order. Batches are cut from texts sorted by token
        count, so they carry little padding. `device` moves the model there (and leaves it);
        `progress` (a tqdm bar) is advanced by each batch; `precision`: irrepro.precision's,
        None the job's."""
        if device is not None:
            self.to(device)
        tokens = PackedTokens.from_texts(self.tokenizer, texts, max_length, kind, self.markers)
        order = np.argsort(-tokens.lengths, kind="stable")
        vectors = np.empty((len(order), self.dim), dtype=np.float32)
        was_training = self.training
        self.eval()
        try:
            with amp.autocast(self.device, precision):
                for start in range(0, len(order), batch_size):
                    rows = order[start : start + batch_size]
                    input_ids, attention_mask = tokens.batch(rows)
                    output = self(input_ids.to(self.device), attention_mask.to(self.device))
                    vectors[rows] = output.float().cpu().numpy()
                    if progress is not None:
                        progress.update(len(rows))
        finally:
            self.train(was_training)
        return vectors

    def fingerprint(self) -> str:
        """Hash of everything that decides the vectors: weights, architecture, pooling, head."""
        settings = {
            "pooling": self.pooling,
            "normalize": self.normalize,
            "markers": self.markers is not None,
            "config": model_config(self.backbone),
            "tokenizer": [type(self.tokenizer).__name__, len(self.tokenizer)],
        }
        return weights_fingerprint(self, settings)


def masked_mean(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Mean over real tokens, computed as sentence-transformers' Pooling does."""
    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)


def model_config(backbone) -> dict:
    """The backbone config without bookkeeping fields that change on every save."""
    config = backbone.config.to_dict()
    return {
        k: v for k, v in config.items() if not k.startswith("_") and k != "transformers_version"
    }


# ---------------------------------------------------------------------- head and file layout


def init_head(head: nn.Sequential, seed: int) -> None:
    """DRhard's `_init_weights`: Linear weight ~ N(0, 0.02); bias 0; LayerNorm identity."""
    generator = torch.Generator().manual_seed(seed)
    linear, norm = head
    with torch.no_grad():
        nn.init.normal_(linear.weight, mean=0.0, std=0.02, generator=generator)
        nn.init.zeros_(linear.bias)
        nn.init.ones_(norm.weight)
        nn.init.zeros_(norm.bias)


def save_head(head: nn.Sequential, directory: Path) -> None:
    """The head as sentence-transformers' Dense (identity activation) and LayerNorm modules."""
    linear, norm = head
    hidden = linear.in_features
    dense_config = {
        "in_features": hidden,
        "out_features": linear.out_features,
        "bias": True,
        "activation_function": "torch.nn.modules.linear.Identity",
    }
    save_module(
        directory / DENSE_DIR,
        dense_config,
        {"linear.weight": linear.weight, "linear.bias": linear.bias},
    )
    save_module(
        directory / LAYER_NORM_DIR,
        {"dimension": hidden},
        {"norm.weight": norm.weight, "norm.bias": norm.bias},
    )


def load_head(head: nn.Sequential, directory: Path) -> None:
    linear, norm = head
    dense = load_file(str(directory / DENSE_DIR / "model.safetensors"))
    layer_norm = load_file(str(directory / LAYER_NORM_DIR / "model.safetensors"))
    linear.load_state_dict({"weight": dense["linear.weight"], "bias": dense["linear.bias"]})
    norm.load_state_dict({"weight": layer_norm["norm.weight"], "bias": layer_norm["norm.bias"]})


def save_module(directory: Path, config: dict, tensors: dict[str, torch.Tensor]) -> None:
    directory.mkdir()
    write_json(directory / "config.json", config)
    tensors = {name: tensor.detach().cpu().contiguous() for name, tensor in tensors.items()}
    save_file(tensors, str(directory / "model.safetensors"))


def write_sentence_transformers_files(
    model: BiEncoder, directory: Path, max_seq_length: int
) -> None:
    """modules.json and module configs in the classic layout, module types under their stable
    `sentence_transformers.models` names (checked with sentence-transformers 6.2)."""
    modules = [("", "Transformer"), ("1_Pooling", "Pooling")]
    if model.head is not None:
        modules += [(DENSE_DIR, "Dense"), (LAYER_NORM_DIR, "LayerNorm")]
    if model.normalize:
        normalize_dir = f"{len(modules)}_Normalize"
        modules.append((normalize_dir, "Normalize"))
        (directory / normalize_dir).mkdir()  # sentence-transformers writes no file for it
    write_modules_json(directory, "sentence_transformers.models", modules)
    write_json(
        directory / "sentence_bert_config.json",
        {"max_seq_length": max_seq_length, "do_lower_case": False},
    )
    (directory / "1_Pooling").mkdir(exist_ok=True)
    write_json(
        directory / "1_Pooling" / "config.json",
        {
            "word_embedding_dimension": model.dim,
            "pooling_mode_cls_token": model.pooling == "cls",
            "pooling_mode_mean_tokens": model.pooling == "mean",
            "pooling_mode_max_tokens": False,
            "pooling_mode_mean_sqrt_len_tokens": False,
        },
    )
    write_json(
        directory / "config_sentence_transformers.json",
        {
            "__version__": {"transformers": transformers.__version__, "pytorch": torch.__version__},
            "prompts": {},
            "default_prompt_name": None,
            "similarity_fn_name": "cosine" if model.normalize else "dot",
        },
    )
