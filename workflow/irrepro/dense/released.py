"""Released bi-encoders as rows of their own, evaluated without training (`star-released`,
`adore-released`, `tct-released`): a full-scale setup is checked against the published numbers
in hours, before anything is trained. castorini's TCT-ColBERT is a BERT read with Pyserini's
input format (`markers: pyserini`, mean pooling after the marker).

DRhard distributes STAR and ADORE as folders of its `RobertaDot` (config.json and
pytorch_model.bin: `roberta.*`, the `embeddingHead` Linear and the `norm` LayerNorm over the
first token), which is exactly our BiEncoder with pooling `cls` and a head; such a folder is read
as that, its tokenizer being roberta-base's unless `tokenizer` says otherwise. Any other
checkpoint is read as every dense model's backbone is (our saved models, a sentence-transformers
or transformers folder or model id) with the entry's pooling and normalisation.
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch
from safetensors.torch import load_file
from transformers import AutoTokenizer, RobertaConfig, RobertaModel

from ..lookup import query_files
from ..train.job import Job, TrainData
from ..train.losses import Loss
from .encode import query_vectors_after_save
from .model import ENCODER_CONFIG, BiEncoder

log = logging.getLogger(__name__)

DRHARD_HEAD = {  # RobertaDot's head parameters -> BiEncoder.head (Linear, LayerNorm)
    "embeddingHead.weight": "0.weight",
    "embeddingHead.bias": "0.bias",
    "norm.weight": "1.weight",
    "norm.bias": "1.bias",
}
DRHARD_TOKENIZER = "roberta-base"  # what DRhard's preprocess.py tokenizes with


class NoLoss(Loss):
    name = "none (released)"


def released_job(data: TrainData) -> Job:
    """The released checkpoint of the row, saved as it is (a query encoder searching another
    model's documents, released ADORE, with its query vectors: irrepro.dense.encode)."""
    encoder = data.settings["encoder"]
    store = query_vectors_after_save(
        query_files(data.inputs), encoder["query_length"], data.train.precision
    )
    return Job(load_released(encoder), NoLoss(), None, {"encoder": encoder}, pretrained=True,
               after_save=store)  # fmt: skip


def load_released(encoder: dict) -> BiEncoder:
    """The bi-encoder an entry of `dense.released` / `tct.released` names (`checkpoint`; an
    entry without one is refused when the plan reads it, methods.ReleasedDenseFamily)."""
    source = encoder["checkpoint"]
    folder = Path(source)
    state = drhard_state(folder) if folder.is_dir() else None
    if state is not None:
        log.info("%s: DRhard's RobertaDot (CLS, Linear + LayerNorm head)", source)
        return from_drhard(folder, state, encoder.get("tokenizer") or DRHARD_TOKENIZER)
    if (folder / ENCODER_CONFIG).exists():
        return BiEncoder.load(folder)
    return BiEncoder.from_backbone(
        source,
        encoder.get("pooling", "cls"),
        False,
        encoder.get("normalize", False),
        markers=encoder.get("markers") or False,
    )


def drhard_state(folder: Path) -> dict[str, torch.Tensor] | None:
    """The weights of a DRhard checkpoint folder, or None if the folder is not one."""
    for name in ("model.safetensors", "pytorch_model.bin"):
        path = folder / name
        if path.exists():
            if path.suffix == ".safetensors":
                state = load_file(path)
            else:
                state = torch.load(path, map_location="cpu", weights_only=True)
            return state if "embeddingHead.weight" in state else None
    return None


def from_drhard(folder: Path, state: dict, tokenizer: str) -> BiEncoder:
    backbone = RobertaModel(RobertaConfig.from_pretrained(folder), add_pooling_layer=False)
    body = {
        key.removeprefix("roberta."): v for key, v in state.items() if key.startswith("roberta.")
    }
    body.pop("embeddings.position_ids", None)  # a buffer older transformers saved
    backbone.load_state_dict(body, strict=True)
    model = BiEncoder(backbone.eval(), AutoTokenizer.from_pretrained(tokenizer), "cls", head=True)
    head = {ours: state[theirs] for theirs, ours in DRHARD_HEAD.items()}
    model.head.load_state_dict(head, strict=True)
    return model
