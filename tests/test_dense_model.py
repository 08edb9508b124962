"""BiEncoder: pooling and head against hand computations, and saved models that transformers
and sentence-transformers load to the same vectors."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
import transformers

from irrepro.backbone import BackboneError, load_backbone, minilm_path
from irrepro.dense.model import BiEncoder

TEXTS = [
    "what is dense retrieval",
    "hard negatives make the ranking objective harder to satisfy " * 6,  # truncated at 24
    "a",
    "Optimizing Dense Retrieval Model Training with Hard Negatives",
]
MAX_LENGTH = 24


def hidden_states(model: BiEncoder, batch: dict) -> torch.Tensor:
    return model.backbone(**batch).last_hidden_state


@torch.no_grad()
def test_cls_pooling_is_the_first_token():
    model = BiEncoder.from_backbone("tiny", pooling="cls")
    batch = model.tokenize(TEXTS, MAX_LENGTH)
    torch.testing.assert_close(model(**batch), hidden_states(model, batch)[:, 0])


@torch.no_grad()
def test_mean_pooling_averages_the_real_tokens_only():
    model = BiEncoder.from_backbone("tiny", pooling="mean")
    batch = model.tokenize(TEXTS, MAX_LENGTH)
    hidden = hidden_states(model, batch)
    lengths = batch["attention_mask"].sum(dim=1)
    assert lengths.max() == MAX_LENGTH and lengths.min() < MAX_LENGTH  # padding is present
    expected = torch.stack([hidden[i, : lengths[i]].mean(dim=0) for i in range(len(TEXTS))])
    torch.testing.assert_close(model(**batch), expected)


@torch.no_grad()
def test_head_is_linear_then_layer_norm_initialised_like_drhard():
    model = BiEncoder.from_backbone("tiny", pooling="cls", head=True)
    linear, norm = model.head
    assert torch.all(linear.bias == 0) and 0.015 < linear.weight.std().item() < 0.025
    batch = model.tokenize(TEXTS, MAX_LENGTH)
    projected = F.linear(hidden_states(model, batch)[:, 0], linear.weight, linear.bias)
    expected = F.layer_norm(projected, (model.dim,), norm.weight, norm.bias, norm.eps)
    torch.testing.assert_close(model(**batch), expected)


def test_normalize_gives_unit_vectors():
    model = BiEncoder.from_backbone("tiny", pooling="mean", normalize=True)
    norms = np.linalg.norm(model.encode(TEXTS, MAX_LENGTH), axis=1)
    np.testing.assert_allclose(norms, 1.0, rtol=1e-5)


def test_encode_matches_forward_in_input_order_and_restores_the_mode():
    model = BiEncoder.from_backbone("tiny", pooling="cls", head=True).train()
    vectors = model.encode(TEXTS, MAX_LENGTH, batch_size=2)  # batches are length-sorted
    assert model.training and vectors.dtype == np.float32 and vectors.shape == (4, model.dim)
    model.eval()
    with torch.no_grad():
        expected = [model(**model.tokenize([text], MAX_LENGTH))[0].numpy() for text in TEXTS]
    np.testing.assert_allclose(vectors, np.stack(expected), atol=1e-5)


def test_tiny_backbone_depends_only_on_the_seed():
    same = [BiEncoder.from_backbone("tiny", head=True, seed=3).fingerprint() for _ in range(2)]
    other = BiEncoder.from_backbone("tiny", head=True, seed=4).fingerprint()
    assert same[0] == same[1] != other


def test_tokenize_accepts_kind_and_returns_model_inputs():
    model = BiEncoder.from_backbone("tiny")
    batch = model.tokenize(TEXTS, MAX_LENGTH, kind="query")
    assert set(batch) == {"input_ids", "attention_mask"}
    assert batch["input_ids"].shape == (4, MAX_LENGTH)
    passages = model.tokenize(TEXTS, MAX_LENGTH, kind="passage")
    assert torch.equal(batch["input_ids"], passages["input_ids"])  # no markers (yet)


def test_bad_pooling_and_unknown_backbone_are_named():
    with pytest.raises(ValueError, match="max"):
        BiEncoder.from_backbone("tiny", pooling="max")
    with pytest.raises(BackboneError, match="no/such/model"):
        load_backbone("/no/such/model")


@pytest.mark.parametrize(
    "settings", [{"pooling": "cls", "head": True}, {"pooling": "mean", "normalize": True}]
)
def test_saved_encoder_loads_in_irrepro_transformers_and_sentence_transformers(tmp_path, settings):
    SentenceTransformer = pytest.importorskip("sentence_transformers").SentenceTransformer

    model = BiEncoder.from_backbone("tiny", **settings)
    vectors = model.encode(TEXTS, MAX_LENGTH)
    model.save(tmp_path / "encoder", max_seq_length=MAX_LENGTH)

    loaded = BiEncoder.load(tmp_path / "encoder")
    assert loaded.fingerprint() == model.fingerprint()
    np.testing.assert_array_equal(loaded.encode(TEXTS, MAX_LENGTH), vectors)

    backbone = transformers.AutoModel.from_pretrained(tmp_path / "encoder")
    batch = model.tokenize(TEXTS, MAX_LENGTH)
    with torch.no_grad():
        torch.testing.assert_close(hidden_states(model, batch), backbone(**batch).last_hidden_state)

    st_vectors = SentenceTransformer(str(tmp_path / "encoder"), device="cpu").encode(TEXTS)
    np.testing.assert_allclose(st_vectors, vectors, atol=1e-5)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["encoder"]  # no temporary left


def test_save_replaces_an_existing_directory(tmp_path):
    BiEncoder.from_backbone("tiny", head=True).save(tmp_path / "encoder")
    BiEncoder.from_backbone("tiny", pooling="mean").save(tmp_path / "encoder")
    loaded = BiEncoder.load(tmp_path / "encoder")
    assert loaded.pooling == "mean" and loaded.head is None
    assert not (tmp_path / "encoder" / "2_Dense").exists()


def test_minilm_mean_pooling_reproduces_the_bundled_sentence_transformer():
    SentenceTransformer = pytest.importorskip("sentence_transformers").SentenceTransformer

    model = BiEncoder.from_backbone("minilm", pooling="mean", normalize=True)
    reference = SentenceTransformer(minilm_path(), device="cpu")
    expected = reference.encode(TEXTS)
    vectors = model.encode(TEXTS, reference.max_seq_length)
    np.testing.assert_allclose(vectors, expected, atol=1e-5)


@torch.no_grad()
def test_backbone_with_a_masked_lm_head_says_it_ties_the_output_layer(tmp_path, caplog):
    with caplog.at_level("INFO", logger="irrepro.backbone"):
        model, tokenizer = load_backbone("tiny", seed=2, masked_lm=True)
    assert "tiny: the masked-LM output layer is tied to the input embeddings" in caplog.text
    assert model.get_output_embeddings().weight is model.get_input_embeddings().weight
    batch = tokenizer(TEXTS[:2], padding=True, return_tensors="pt")
    logits = model(**batch).logits
    assert logits.shape == (2, batch["input_ids"].shape[1], tokenizer.vocab_size)
    model.save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    caplog.clear()
    with caplog.at_level("INFO", logger="irrepro.backbone"):
        loaded, _ = load_backbone(str(tmp_path), masked_lm=True)
    assert "is tied to the input embeddings" in caplog.text
    torch.testing.assert_close(loaded.eval()(**batch).logits, logits)
    plain, _ = load_backbone(str(tmp_path))  # without the head: the encoder alone
    assert plain.get_output_embeddings() is None
