"""Released dense checkpoints as rows (`star-released`, `adore-released`): a DRhard RobertaDot
folder reads as DRhard computes its vectors, and the rows' settings come from `dense.released`."""

import copy

import numpy as np
import pytest
import torch
from test_plan import load
from torch import nn
from transformers import AutoTokenizer, RobertaConfig, RobertaModel

from irrepro.backbone import minilm_path, tiny_backbone
from irrepro.dense.model import BiEncoder
from irrepro.dense.released import load_released
from irrepro.errors import ConfigError
from irrepro.plan import Plan

TEXTS = ["what is a dense retriever", "the passage about hard negatives and their training"]


class RobertaDot(nn.Module):
    """DRhard's model.py RobertaDot, as its query_emb / body_emb compute: RoBERTa's first
    token, then `embeddingHead` (Linear) and `norm` (LayerNorm)."""

    def __init__(self, config):
        super().__init__()
        self.roberta = RobertaModel(config, add_pooling_layer=False)
        self.embeddingHead = nn.Linear(config.hidden_size, config.hidden_size)
        self.norm = nn.LayerNorm(config.hidden_size)

    def forward(self, input_ids, attention_mask):
        first = self.roberta(input_ids=input_ids, attention_mask=attention_mask)[0][:, 0]
        return self.norm(self.embeddingHead(first))


@pytest.fixture(scope="module")
def drhard_folder(tmp_path_factory):
    """A small RobertaDot saved as DRhard's checkpoints are (config.json, pytorch_model.bin),
    with random weights and MiniLM's vocabulary (roberta-base's is not bundled)."""
    tokenizer = AutoTokenizer.from_pretrained(minilm_path())
    config = RobertaConfig(
        vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=2,
        num_attention_heads=2, intermediate_size=64, pad_token_id=tokenizer.pad_token_id,
        hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
    )  # fmt: skip
    torch.manual_seed(0)
    reference = RobertaDot(config).eval()
    with torch.no_grad():  # a head far from the identity, so that using it is checked
        reference.norm.weight.uniform_(0.5, 2.0)
        reference.norm.bias.normal_()
    folder = tmp_path_factory.mktemp("drhard") / "star"
    config.save_pretrained(folder)
    torch.save(reference.state_dict(), folder / "pytorch_model.bin")
    return folder, reference, tokenizer


def test_a_drhard_folder_encodes_as_robertadot(drhard_folder):
    folder, reference, tokenizer = drhard_folder
    model = load_released({"checkpoint": str(folder), "tokenizer": minilm_path()})
    assert model.pooling == "cls" and model.head is not None and not model.normalize
    batch = tokenizer(TEXTS, padding=True, truncation=True, max_length=24, return_tensors="pt")
    with torch.no_grad():
        expected = reference(batch["input_ids"], batch["attention_mask"]).numpy()
    got = model.encode(TEXTS, 24)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)


def test_a_saved_release_reloads_to_the_same_vectors(drhard_folder, tmp_path):
    folder, _, _ = drhard_folder
    model = load_released({"checkpoint": str(folder), "tokenizer": minilm_path()})
    model.save(tmp_path / "saved")
    again = load_released({"checkpoint": str(tmp_path / "saved")})  # our own format now
    np.testing.assert_allclose(again.encode(TEXTS, 24), model.encode(TEXTS, 24), atol=1e-6)


def test_another_checkpoint_reads_with_the_entrys_pooling():
    model = load_released({"checkpoint": "minilm", "pooling": "mean", "normalize": True})
    vectors = model.encode(TEXTS, 32)
    assert model.pooling == "mean" and model.head is None
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)


def test_released_rows_take_their_entry_and_the_sections_lengths():
    plan = Plan(load("config.yaml"))
    star = plan.training("star-released")["encoder"]
    assert star["checkpoint"] == "minilm" and star["query_length"] == 16
    assert plan.dense_search_files("adore-released")["index"].endswith("star-released/flat.faiss")
    full = Plan(load("msmarco-passage.yaml"))
    assert full.encoder_lengths("adore-released")["passage_length"] == 256
    assert full.encoder_lengths("star")["passage_length"] == 120  # the trained rows' own
    tct = full.training("tct-released")["encoder"]
    assert tct["checkpoint"] == "castorini/tct_colbert-msmarco" and tct["markers"] == "pyserini"
    assert (tct["pooling"], tct["query_length"], tct["passage_length"]) == ("mean", 36, 512)


def test_a_released_row_without_its_checkpoint_is_refused_by_name():
    config = copy.deepcopy(load("config.yaml"))
    config["dense"]["released"]["adore"] = {"checkpoint": None}
    with pytest.raises(
        ConfigError, match=r"adore-released needs dense\.released\.adore\.checkpoint"
    ):
        Plan(config).training("adore-released")


def pyserini_tct(model, tokenizer, texts, kind: str, max_length: int) -> np.ndarray:
    """Pyserini's TctColBertQueryEncoder / TctColBertDocumentEncoder, as written there."""
    if kind == "query":
        texts = ["[CLS] [Q] " + text + "[MASK]" * max_length for text in texts]
    else:
        texts = ["[CLS] [D] " + text for text in texts]
    inputs = tokenizer(texts, max_length=max_length, padding="longest", truncation=True,
                       add_special_tokens=False, return_tensors="pt")  # fmt: skip
    with torch.no_grad():
        hidden = model(**inputs).last_hidden_state[:, 4:, :]
    mask = inputs["attention_mask"][:, 4:].unsqueeze(-1).float()
    return ((hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)).numpy()


@pytest.mark.parametrize(("kind", "length"), [("query", 12), ("passage", 16), ("passage", 64)])
def test_pyserini_markers_encode_as_pyserinis_tct_colbert(kind, length):
    backbone, tokenizer = tiny_backbone(seed=3)
    model = BiEncoder(backbone, tokenizer, pooling="mean", markers="pyserini")
    texts = [*TEXTS, "a much longer passage " * 10]  # one is cut at `length`
    expected = pyserini_tct(backbone, tokenizer, texts, kind, length)
    np.testing.assert_allclose(model.encode(texts, length, kind=kind), expected, atol=1e-5)
    ids = model.tokenize(texts, length, kind)["input_ids"]
    marker = "[ q ]" if kind == "query" else "[ d ]"
    assert tokenizer.decode(ids[0, 1:4]) == marker and model.markers.skip == 4
