"""SPLADE and the cross-encoder: the representation against a loop, FLOPS and its ramp and the
losses by hand, exact sparse retrieval against a brute-force product (ties included), the
efficiency figure and the Anserini export on hand-made vectors, the cross-encoder's scores
whatever the batch, and training on a tiny backbone (killed and resumed, teacher scores)."""

import json
import math
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import torch

from irrepro.artefacts import (
    NEGATIVES,
    QRELS,
    QUERIES,
    RUN,
    TEACHER_SCORES,
    read_table,
    write_table,
)
from irrepro.backbone import splade_tiny_path
from irrepro.cross_encoder import CrossEncoder, LocalizedCrossEntropyLoss, teacher_scores
from irrepro.datasets import prepare_folder
from irrepro.errors import ConfigError, DataError
from irrepro.lookup import stored_queries_path
from irrepro.negatives import ensemble_negatives
from irrepro.splade.index import (
    SparseIndex,
    anserini_query,
    anserini_vector,
    build_sparse_index,
    efficiency,
    encode_queries,
    encode_query_splits,
    export_anserini,
    query_encoding_seconds,
    read_query_weights,
    sparse_run,
)
from irrepro.splade.losses import InBatchNllLoss, KlLoss, MarginMseLoss, Regularizer, flops
from irrepro.splade.model import Splade
from irrepro.train.data import Corpus
from irrepro.train.job import train_method

# ---------------------------------------------------------------------- representation


@torch.no_grad()
def test_weights_are_the_max_over_real_tokens_of_log1p_relu_logits():
    model = Splade.from_backbone("tiny", seed=1)
    batch = model.tokenize(["sparse retrieval", "a much longer text than the first one"], 16)
    weights = model(**batch)
    logits = model.backbone(**batch).logits
    for b in range(2):
        real = int(batch["attention_mask"][b].sum())
        expected = torch.zeros(logits.shape[-1])
        for i in range(real):  # padding positions are left out
            expected = torch.maximum(expected, torch.log1p(torch.relu(logits[b, i])))
        torch.testing.assert_close(weights[b], expected)
    dense = model.encode(["sparse retrieval"], 16).toarray()[0]
    np.testing.assert_allclose(dense, weights[0].numpy(), atol=1e-6)  # padding differs


@pytest.mark.parametrize("chunk", [1 << 25, 1])  # all texts in one chunk; one at a time
def test_gradients_equal_autograd_through_the_full_logits(monkeypatch, chunk):
    """irrepro.splade.pooling's gathered backward against autograd's dense one, for every
    parameter, on a padded batch scored like training (dot products plus FLOPS)."""
    from irrepro.splade import pooling

    monkeypatch.setitem(pooling.CHUNK_ELEMENTS, "cpu", chunk)
    model = Splade.from_backbone("tiny", seed=3)
    queries = model.tokenize(["sparse retrieval", "what is a posting list"], 8, kind="query")
    passages = model.tokenize(["a short passage", "a much longer passage than the first", "x"], 16)

    def loss(encode):
        q, d = encode(queries), encode(passages)
        return (q @ d.T).logsumexp(1).sum() + flops(q) + flops(d)

    def reference(batch):
        logits = model.backbone(**batch).logits
        padding = ~batch["attention_mask"].bool().unsqueeze(-1)
        return torch.log1p(torch.relu(logits)).masked_fill(padding, 0).max(dim=1).values

    gradients = []
    for encode in (lambda batch: model(**batch), reference):
        model.zero_grad()
        loss(encode).backward()
        gradients.append(
            {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
        )
    assert gradients[0].keys() == gradients[1].keys()
    assert any(g.abs().sum() > 0 for g in gradients[0].values())
    for name, expected in gradients[1].items():  # float32 sums in another order
        scale = expected.abs().max().item()
        torch.testing.assert_close(
            gradients[0][name], expected, rtol=0, atol=1e-5 * scale + 1e-6, msg=name
        )


def test_a_backbone_without_a_masked_lm_head_is_refused():
    from irrepro.backbone import load_backbone

    with pytest.raises(ValueError, match="no masked-LM head"):
        Splade(*load_backbone("tiny"))


@torch.no_grad()
def test_saved_splade_equals_sentence_transformers_sparse_encoder(tmp_path):
    from sentence_transformers import SparseEncoder

    model = Splade.from_backbone("splade-tiny")  # the real released SPLADE-tiny
    model.save(tmp_path / "splade")
    texts = ["what is dense retrieval", "hard negatives make training harder", "a"]
    ours = Splade.load(tmp_path / "splade").encode(texts, 32).toarray()
    theirs = SparseEncoder(str(tmp_path / "splade"), device="cpu").encode(
        texts, convert_to_tensor=True
    )
    np.testing.assert_allclose(ours, theirs.to_dense().numpy(), atol=1e-6)
    assert (ours > 0).sum(axis=1).min() > 0 and (ours > 0).sum(axis=1).max() < 200  # sparse


# ---------------------------------------------------------------------- regularizer, losses


def test_flops_and_its_quadratic_ramp_by_hand():
    weights = torch.tensor([[1.0, 0.0, 2.0], [3.0, 0.0, 0.0]])
    # per-term batch means 2, 0, 1 -> 4 + 0 + 1
    assert flops(weights).item() == 5.0
    reg = Regularizer(query_weight=0.5, document_weight=0.25, ramp_steps=4)
    assert [reg.ramp(s) for s in range(6)] == [1 / 16, 4 / 16, 9 / 16, 1.0, 1.0, 1.0]
    documents = [torch.tensor([[2.0, 0.0]]), torch.tensor([[0.0, 4.0]])]  # FLOPS 4 and 16
    penalty, metrics = reg(weights, documents, step=1)
    assert penalty.item() == pytest.approx(4 / 16 * (0.5 * 5 + 0.25 * (4 + 16) / 2))
    assert metrics["flops_document"] == 10.0
    l1 = Regularizer(1.0, 0.0, 1, query_regularizer="l1")(weights, documents, step=0)[0]
    assert l1.item() == pytest.approx((3 + 3) / 2)


def vector_batch(q, p, n, **extra):
    return {"queries": {"w": q}, "positives": {"w": p}, "negatives": {"w": n}, **extra}


def identity(w):
    return w


def test_inbatch_nll_and_margin_mse_by_hand():
    q = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    p = torch.tensor([[2.0, 0.0], [0.0, 1.0]])
    n = torch.tensor([[1.0, 1.0], [0.0, 0.0]])
    none = Regularizer(0.0, 0.0, 1)
    batch = vector_batch(
        q, p, n, positive_mask=torch.eye(2, dtype=torch.bool),
        negative_is_positive=torch.zeros(2, 2, dtype=torch.bool),
        teacher_scores=torch.tensor([[1.5, 1.0], [3.0, 1.0]]),  # margins 0.5 and 2
    )  # fmt: skip
    # q0 scores [2, 0, 1, 0] (positive first), q1 scores [0, 1, 1, 0] (positive second)
    nll = (-math.log(math.e**2 / (math.e**2 + 1 + math.e + 1))
           - math.log(math.e / (1 + math.e + math.e + 1))) / 2  # fmt: skip
    loss, metrics = InBatchNllLoss(none)(identity, batch, step=0)
    assert loss.item() == pytest.approx(nll, rel=1e-6) and metrics["ranking_loss"] == loss.item()
    # margins: q0 2 - 1 = 1 (teacher 0.5), q1 1 - 0 = 1 (teacher 2)
    loss, _ = MarginMseLoss(none)(identity, batch, step=0)
    assert loss.item() == pytest.approx(((1 - 0.5) ** 2 + (1 - 2) ** 2) / 2)
    with_flops, _ = MarginMseLoss(Regularizer(1.0, 0.0, 1))(identity, batch, step=0)
    assert with_flops.item() == pytest.approx(loss.item() + flops(q).item())


def test_distillation_over_several_negatives_by_hand():
    q = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    p = torch.tensor([[3.0, 0.0], [0.0, 1.0]])
    n = torch.tensor([[1.0, 5.0], [2.0, 0.0], [0.0, 0.0], [7.0, 1.0]])  # q0: rows 0, 1; q1: 2, 3
    teacher = torch.tensor([[4.0, 1.0, 0.0], [2.0, 2.0, -1.0]])
    batch = vector_batch(q, p, n, teacher_scores=teacher)
    none = Regularizer(0.0, 0.0, 1)
    # the model's scores: q0 [3, 1, 2], q1 [2, 0, 2]
    model = [[3.0, 1.0, 2.0], [2.0, 0.0, 2.0]]
    margins = [(3 - 1, 4 - 1), (3 - 2, 4 - 0), (2 - 0, 2 - 2), (2 - 2, 2 + 1)]
    loss, _ = MarginMseLoss(none)(identity, batch, step=0)
    assert loss.item() == pytest.approx(sum((m - t) ** 2 for m, t in margins) / 4)

    def softmax(xs):
        total = sum(math.exp(x) for x in xs)
        return [math.exp(x) / total for x in xs]

    kl = (
        sum(
            sum(t * math.log(t / m) for t, m in zip(softmax(ts), softmax(ms), strict=True))
            for ts, ms in zip(teacher.tolist(), model, strict=True)
        )
        / 2
    )
    loss, _ = KlLoss(none)(identity, batch, step=0)
    assert loss.item() == pytest.approx(kl, rel=1e-6)

    # plus half the in-batch NLL over [p0, p1, n0..n3]; n1 is also relevant to q1 (masked)
    batch["positive_mask"] = torch.eye(2, dtype=torch.bool)
    batch["negative_is_positive"] = torch.tensor([[False] * 4, [False, True, False, False]])
    e = math.exp
    nll = (-math.log(e(3) / (e(3) + e(0) + e(1) + e(2) + e(0) + e(7)))
           - math.log(e(2) / (e(0) + e(2) + e(10) + e(0) + e(2)))) / 2  # fmt: skip
    loss, _ = KlLoss(none, inbatch_weight=0.5)(identity, batch, step=0)
    assert loss.item() == pytest.approx(kl + 0.5 * nll, rel=1e-6)


# ---------------------------------------------------------------------- index and retrieval


def brute_force(queries, documents, doc_ids, depth):
    """trec_eval order over documents sharing a term: score descending, doc id descending."""
    scores = (
        sp.csr_matrix(queries, dtype=np.float64) @ sp.csr_matrix(documents, dtype=np.float64).T
    ).toarray()
    out = []
    for row in scores:
        matched = [j for j in range(len(doc_ids)) if row[j] > 0]
        matched.sort(key=lambda j: doc_ids[j], reverse=True)
        matched.sort(key=lambda j: -row[j])
        out.append(matched[:depth])
    return out


def test_sparse_retrieval_equals_a_brute_force_product_ties_included():
    rng = np.random.default_rng(0)
    values = lambda n: rng.integers(1, 4, n).astype(float)  # noqa: E731  small integers: many ties
    documents = sp.random(400, 60, density=0.08, random_state=1, data_rvs=values).tocsr()
    queries = sp.random(30, 60, density=0.1, random_state=2, data_rvs=values).tocsr()
    rare = sp.csr_matrix(([2.0], ([5], [0])), shape=(400, 1))  # a term of document 5 only
    documents = sp.hstack([documents, rare], format="csr")
    only_rare = sp.csr_matrix(([1.0], ([0], [60])), shape=(1, 61))
    queries = sp.vstack([sp.hstack([queries, sp.csr_matrix((30, 1))]), only_rare], format="csr")
    doc_ids = [f"d{i:03d}" if i % 3 else str(i) for i in range(400)]
    index = SparseIndex.from_matrix(documents, doc_ids)
    rows, scores = index.search(queries, depth=7)
    expected = brute_force(queries, documents, doc_ids, 7)
    for got, want, got_scores in zip(rows, expected, scores, strict=True):
        assert [r for r in got if r >= 0] == want
        assert np.all(np.diff(got_scores[got >= 0]) <= 0)
    assert rows[-1].tolist() == [5, -1, -1, -1, -1, -1, -1]  # matches one document only


def test_compile_prepares_the_kernel_a_search_of_the_index_runs():
    """The timed search of splade_retrieve must not include numba's compile: in a fresh
    process (this one may have compiled it already), compile() leaves search nothing to add."""
    script = """
import scipy.sparse as sp
from irrepro import postings
from irrepro.splade.index import SparseIndex
index = SparseIndex.from_matrix(sp.random(30, 12, density=0.3, random_state=0),
                                [f"d{i}" for i in range(30)])
index.compile()
compiled = set(postings._top_k.signatures)
index.search(sp.random(4, 12, density=0.5, random_state=1), depth=5)
assert compiled and set(postings._top_k.signatures) == compiled, postings._top_k.signatures
"""
    subprocess.run([sys.executable, "-c", script], check=True)


def test_efficiency_figures_on_a_hand_made_index():
    documents = sp.csr_matrix(np.array([[1, 0, 2], [0, 0, 1], [3, 0, 0], [0, 0, 1]], float))
    queries = sp.csr_matrix(np.array([[1, 1, 0], [0, 0, 5]], float))
    figures = efficiency(SparseIndex.from_matrix(documents, list("abcd")), queries)
    # p_d = (2/4, 0, 3/4), p_q = (1/2, 1/2, 1/2): 0.25 + 0 + 0.375
    assert figures["flops"] == pytest.approx(0.625)
    assert figures["query_nonzeros"] == 1.5 and figures["document_nonzeros"] == 1.25


def test_anserini_export_round_trips_the_scaled_weights(tmp_path):
    documents = sp.csr_matrix(np.array([[0.5, 0.0, 1.234], [0.0, 0.004, 2.0]], np.float32))
    vocabulary = ["alpha", "beta", "gamma"]
    index = SparseIndex.from_matrix(documents, ["D1", "D2"])
    assert export_anserini(index, vocabulary, tmp_path / "docs.jsonl") == 2
    lines = [json.loads(line) for line in (tmp_path / "docs.jsonl").read_text().splitlines()]
    assert lines[0] == {"id": "D1", "contents": "", "vector": {"alpha": 50, "gamma": 123}}
    assert lines[1]["vector"] == {"gamma": 200}  # 0.004 rounds to 0: dropped
    back = np.zeros((2, 3))
    for i, line in enumerate(lines):
        for token, weight in line["vector"].items():
            back[i, vocabulary.index(token)] = weight / 100
    np.testing.assert_allclose(back, np.round(documents.toarray() * 100) / 100)
    query = sp.csr_matrix(np.array([[0.03, 0.0, 0.011]]))
    assert anserini_query(query, 0, vocabulary) == "alpha alpha alpha gamma"
    assert anserini_vector(query, 0, vocabulary) == {"alpha": 3, "gamma": 1}


# ---------------------------------------------------------------------- pipeline pieces


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("splade")
    spec = {"source": "demo", "n_passages": 60, "n_train": 16, "n_dev": 6, "n_test": 3}
    prepare_folder(spec, root)
    qrels = read_table(root / "qrels/train.parquet", QRELS)
    rows = [
        (q, f"{(int(d) + k) % 60}", k)
        for q, d in zip(qrels.query_id, qrels.doc_id, strict=True)
        for k in (1, 2, 3)
    ]
    negatives = pd.DataFrame(rows, columns=["query_id", "doc_id", "rank"])
    write_table(negatives, root / "negatives.parquet", NEGATIVES)
    return root


def inputs(data, **more):
    return {
        "corpus": str(data / "corpus.parquet"),
        "queries": str(data / "queries/train.parquet"),
        "qrels": str(data / "qrels/train.parquet"),
        "negatives": str(data / "negatives.parquet"),
        **more,
    }


@torch.no_grad()
def test_cross_encoder_scores_do_not_depend_on_the_batch():
    model = CrossEncoder.from_backbone("tiny", seed=3)
    queries = ["q one", "a second query", "q one", "three"] * 3
    passages = [f"passage number {i} " * (i % 4 + 1) for i in range(12)]
    one = model.score(queries, passages, 32, batch_size=1)
    many = model.score(queries, passages, 32, batch_size=5)
    np.testing.assert_allclose(one, many, atol=1e-5)
    tokens = model.tokenize_pairs(queries[:1], passages[:1], 32)
    assert one[0] == pytest.approx(model(**tokens).item(), abs=1e-5)


def test_localized_cross_entropy_by_hand():
    scores = torch.tensor([2.0, 0.0, 1.0, 3.0, 0.5, -1.0])  # 2 positives, then 2 x 2 negatives

    def model(**_):
        return scores

    batch = {"pairs": {}, "negative_is_positive": torch.tensor([[False, False], [False, True]])}
    loss, _ = LocalizedCrossEntropyLoss()(model, batch, step=0)
    # query 0: [2 | 1, 3]; query 1: [0 | 0.5, (-1 masked)]
    expected = (-math.log(math.e**2 / (math.e**2 + math.e + math.e**3))
                - math.log(1 / (1 + math.exp(0.5)))) / 2  # fmt: skip
    assert loss.item() == pytest.approx(expected, rel=1e-6)


SPLADE_SETTINGS = {
    "encoder": {"backbone": "tiny", "query_length": 8, "passage_length": 16},
    "training": {"optimizer": "adamw", "lr": 1e-3, "batch_size": 4, "steps": 4, "warmup": 0,
                 "checkpoint_every": 2, "log_every": 1, "flops_ramp": 4},
}  # fmt: skip


def test_splade_trains_and_a_killed_run_resumes_to_the_same_weights(data, tmp_path, monkeypatch):
    def train(where):
        train_method(
            "splade-max",
            inputs=inputs(data),
            settings=SPLADE_SETTINGS,
            out_dir=str(where / "model"),
            checkpoint_dir=str(where / "ck"),
        )
        return where / "model"

    whole = train(tmp_path / "whole")
    log = pd.read_parquet(whole / "train_log.parquet")
    assert log["regularizer_ramp"].tolist() == [1 / 16, 4 / 16, 9 / 16, 1.0]
    assert json.loads((whole / "training.json").read_text())["regularizer"]["query_weight"] == 3e-4
    original = InBatchNllLoss.__call__

    def dies_at_step_three(self, model, batch, step):
        if step == 2:
            raise KeyboardInterrupt("killed")
        return original(self, model, batch, step)

    monkeypatch.setattr(InBatchNllLoss, "__call__", dies_at_step_three)
    with pytest.raises(KeyboardInterrupt):
        train(tmp_path / "killed")
    monkeypatch.setattr(InBatchNllLoss, "__call__", original)
    resumed = train(tmp_path / "killed")
    a, b = Splade.load(whole).state_dict(), Splade.load(resumed).state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    again = pd.read_parquet(resumed / "train_log.parquet")
    pd.testing.assert_series_equal(again["regularizer_ramp"], log["regularizer_ramp"])


def test_teacher_scores_reuse_the_pairs_another_file_scored(data, tmp_path, monkeypatch):
    teacher = CrossEncoder.from_backbone("tiny", seed=0)
    train = (
        teacher,
        Corpus(data / "corpus.parquet"),
        read_table(data / "queries/train.parquet", QUERIES),
        data / "qrels/train.parquet",
        data / "negatives.parquet",
    )
    whole = teacher_scores(*train, tmp_path / "whole.parquet", depth=2, max_length=32)
    teacher_scores(*train, tmp_path / "first.parquet", depth=1, max_length=32)
    scored = []
    original = CrossEncoder.score
    monkeypatch.setattr(
        CrossEncoder,
        "score",
        lambda self, queries, *args: scored.extend(queries) or original(self, queries, *args),
    )
    again = teacher_scores(
        *train, tmp_path / "again.parquet", depth=2, max_length=32,
        scored_paths=[tmp_path / "first.parquet"],
    )  # fmt: skip
    assert len(scored) == 16  # each query's second negative; positives and firsts are known
    pd.testing.assert_frame_equal(again, whole, check_exact=False, atol=1e-5)
    assert read_table(tmp_path / "again.parquet", TEACHER_SCORES).equals(again)


def test_distillation_needs_every_teacher_score_and_learns_from_them(data, tmp_path):
    teacher = CrossEncoder.from_backbone("tiny", seed=0)
    scored = teacher_scores(
        teacher,
        Corpus(data / "corpus.parquet"),
        read_table(data / "queries/train.parquet", QUERIES),
        data / "qrels/train.parquet",
        data / "negatives.parquet",
        tmp_path / "teacher.parquet",
        depth=2,
        max_length=32,
    )
    assert len(scored) == 16 * 3  # each query's positive and its first 2 negatives
    settings = {**SPLADE_SETTINGS, "teacher_depth": 2}

    def distil(teacher_file, out):
        train_method(
            "distilsplade",
            inputs=inputs(data, teacher_scores=str(teacher_file)),
            settings=settings,
            out_dir=str(tmp_path / out),
            checkpoint_dir=str(tmp_path / f"ck-{out}"),
        )

    distil(tmp_path / "teacher.parquet", "m")
    assert (tmp_path / "m" / "train_log.parquet").exists()
    settings["training"] = {**SPLADE_SETTINGS["training"], "inbatch_weight": 1.0}
    distil(tmp_path / "teacher.parquet", "with-inbatch")
    first, second = (
        pd.read_parquet(tmp_path / m / "train_log.parquet") for m in ("m", "with-inbatch")
    )
    assert (second["ranking_loss"] > first["ranking_loss"]).iloc[0]  # the same first batch, + NLL
    with pytest.raises(ConfigError, match="inbatch_weight adds an in-batch term"):
        train_method("splade-max", inputs=inputs(data), settings=settings,
                     out_dir=str(tmp_path / "x"), checkpoint_dir=str(tmp_path / "ck"))  # fmt: skip
    settings["training"] = SPLADE_SETTINGS["training"]
    partial = read_table(tmp_path / "teacher.parquet", TEACHER_SCORES).iloc[::2]
    write_table(partial, tmp_path / "partial.parquet", TEACHER_SCORES)
    with pytest.raises(ValueError, match="no teacher score for query"):
        distil(tmp_path / "partial.parquet", "m2")


def test_released_row_indexes_and_retrieves_with_splade_tiny(data, tmp_path):
    settings = {"encoder": {"backbone": "splade-tiny", "query_length": 16, "passage_length": 48},
                "training": {"lr": 1e-5, "batch_size": 4, "steps": 1}}  # fmt: skip
    train_method(
        "splade-released",
        inputs=inputs(data),
        settings=settings,
        out_dir=str(tmp_path / "released"),
        checkpoint_dir=str(tmp_path / "ck"),
    )
    assert json.loads((tmp_path / "released" / "training.json").read_text())["pretrained"]
    model = Splade.load(tmp_path / "released")
    reference = Splade.from_backbone("splade-tiny")
    pairs = zip(model.state_dict().values(), reference.state_dict().values(), strict=True)
    assert all(torch.equal(a, b) for a, b in pairs)
    stats = build_sparse_index(model, data / "corpus.parquet", tmp_path / "index", 48)
    assert stats["documents"] == 60 and stats["empty_documents"] == 0
    index = SparseIndex(tmp_path / "index")
    queries = read_table(data / "queries/dev.parquet", QUERIES)
    weights = encode_queries(model, queries["text"].tolist(), 16)
    sparse_run(index, queries["query_id"], weights, tmp_path / "run.parquet", depth=10)
    run = read_table(tmp_path / "run.parquet", RUN)
    assert run["query_id"].nunique() == len(queries) and run["rank"].max() <= 10
    documents = Splade.load(tmp_path / "released").encode(
        Corpus(data / "corpus.parquet").text(range(60)), 48
    )
    expected = brute_force(weights, documents, list(index.doc_ids), 10)
    for (query_id, part), want in zip(run.groupby("query_id", sort=False), expected, strict=True):
        assert list(part["doc_id"]) == [index.doc_ids[j] for j in want], query_id


def test_stored_query_weights_are_the_models_and_time_their_encoding(data, tmp_path):
    """The indexing job's stored weights, read back for a subset in another order (the tune
    queries are train's), equal the model's; queries.json gives the encoding's share."""
    model = Splade.from_backbone("tiny", seed=5)
    queries = read_table(data / "queries/dev.parquet", QUERIES)
    record = encode_query_splits(model, {"dev": data / "queries/dev.parquet"}, tmp_path, 16)
    assert record["dev"]["queries"] == len(queries) and record["dev"]["encode_seconds"] > 0
    subset = queries.iloc[[4, 0, 2]]
    path = stored_queries_path(tmp_path, "dev")
    stored = read_query_weights(path, subset["query_id"], model.vocabulary_size)
    expected = encode_queries(model, subset["text"].tolist(), 16)
    assert stored.shape == expected.shape and abs(stored - expected).max() < 1e-6
    seconds = query_encoding_seconds(tmp_path, "dev", 3)
    assert seconds == pytest.approx(record["dev"]["encode_seconds"] * 3 / len(queries))
    with pytest.raises(DataError, match=r"queries-dev.parquet: no weights for 1 queries"):
        read_query_weights(path, ["nope"], model.vocabulary_size)


def test_ensemble_negatives_interleave_the_sources_rank_by_rank():
    a = pd.DataFrame({"query_id": "q", "doc_id": ["x", "y", "z"], "rank": [1, 2, 3]})
    b = pd.DataFrame({"query_id": "q", "doc_id": ["y", "w"], "rank": [1, 3]})
    pooled = ensemble_negatives([a, b], depth=3)
    # rank 1: x (first source), y; rank 2: y again (dropped); rank 3: z, w (cut at depth 3)
    assert pooled["doc_id"].tolist() == ["x", "y", "z"] and pooled["rank"].tolist() == [1, 2, 3]


def test_splade_tiny_is_bundled():
    assert (splade_tiny_path() + "/config.json").endswith("config.json")
