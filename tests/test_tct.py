"""TCT-ColBERT: MaxSim against a loop, the losses against hand computations, ColBERT's input
format, the students' marked mean pooling, training on a tiny backbone, and reranking against
brute-force scores."""

import math
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import torch

from irrepro.artefacts import NEGATIVES, QRELS, QUERIES, RUN, read_table, write_table
from irrepro.candidates import Candidates, RerankSplit, rerank_runs
from irrepro.datasets import prepare_folder
from irrepro.dense.embeddings import EmbeddingStore
from irrepro.dense.encode import encode_corpus, encode_queries
from irrepro.dense.model import BiEncoder
from irrepro.errors import ConfigError
from irrepro.rerank import rerank_colbert
from irrepro.tct.colbert import ColBERT, maxsim, maxsim_pairs
from irrepro.tct.losses import distillation_kl, inbatch_softmax_loss, tct_loss
from irrepro.train.data import Corpus
from irrepro.train.job import train_method

# ---------------------------------------------------------------------- MaxSim


def loop_maxsim(q, q_mask, d, d_mask):
    total = 0.0
    for i in range(q.shape[0]):
        if not q_mask[i]:
            continue
        best = max(float(q[i] @ d[j]) for j in range(d.shape[0]) if d_mask[j])
        total += best
    return total


def test_maxsim_matches_a_loop():
    g = torch.Generator().manual_seed(0)
    queries = torch.randn(3, 5, 4, generator=g)
    docs = torch.randn(4, 7, 4, generator=g)
    query_mask = torch.ones(3, 5, dtype=torch.bool)
    query_mask[1, 3:] = False
    doc_mask = torch.rand(4, 7, generator=g) > 0.3
    doc_mask[:, 0] = True
    scores = maxsim(queries, query_mask, docs, doc_mask)
    for a in range(3):
        for b in range(4):
            expected = loop_maxsim(queries[a], query_mask[a], docs[b], doc_mask[b])
            assert scores[a, b].item() == pytest.approx(expected, abs=1e-5)
    paired = maxsim_pairs(queries[:3], query_mask, docs[:3], doc_mask[:3])
    assert torch.allclose(paired, scores.diagonal(), atol=1e-6)


def test_maxsim_ignores_masked_tokens_even_when_they_would_win():
    queries = torch.tensor([[[1.0, 0.0]]])
    docs = torch.tensor([[[5.0, 0.0], [-1.0, 0.0]]])
    doc_mask = torch.tensor([[False, True]])
    assert maxsim(queries, torch.ones(1, 1, dtype=torch.bool), docs, doc_mask).item() == -1.0


# ---------------------------------------------------------------------- losses


def test_inbatch_softmax_loss_by_hand():
    scores = torch.tensor([[2.0, 1.0, 0.0, 3.0], [0.5, 1.5, 1.0, -1.0]])
    false_negatives = torch.tensor([[False, False, False, True], [False, False, False, False]])
    # row 0: the false negative (3.0) leaves the softmax; row 1: target column 1
    row0 = -(2.0 - math.log(math.exp(2.0) + math.exp(1.0) + math.exp(0.0)))
    row1 = -(1.5 - math.log(sum(math.exp(x) for x in (0.5, 1.5, 1.0, -1.0))))
    loss = inbatch_softmax_loss(scores, false_negatives)
    assert loss.item() == pytest.approx((row0 + row1) / 2, abs=1e-6)


def test_distillation_kl_by_hand():
    student = torch.tensor([[1.0, 0.0, -1.0]])
    teacher = torch.tensor([[0.5, 0.25, 0.0]])
    tau = 0.25

    def softmax(xs):
        exps = [math.exp(x) for x in xs]
        return [e / sum(exps) for e in exps]

    p_teacher = softmax([x / tau for x in teacher[0].tolist()])
    p_student = softmax(student[0].tolist())
    expected = sum(t * math.log(t / s) for t, s in zip(p_teacher, p_student, strict=True))
    assert distillation_kl(student, teacher, tau).item() == pytest.approx(expected, abs=1e-6)


def test_tct_loss_combines_labels_and_teacher():
    g = torch.Generator().manual_seed(1)
    student, teacher = torch.randn(3, 6, generator=g), torch.randn(3, 6, generator=g)
    none = torch.zeros(3, 6, dtype=torch.bool)
    labels = inbatch_softmax_loss(student, none)
    inbatch = tct_loss(student, teacher, none, gamma=0.1, tau=0.25, triplet_only=False)
    assert inbatch.item() == pytest.approx(
        0.1 * labels.item() + 0.9 * distillation_kl(student, teacher, 0.25).item(), abs=1e-6
    )
    # triplet-only: query i distils over its own positive (column i) and negative (3 + i)
    own = torch.tensor([[0, 3], [1, 4], [2, 5]])
    triplet = tct_loss(student, teacher, none, gamma=0.1, tau=0.25, triplet_only=True)
    kl = distillation_kl(student.gather(1, own), teacher.gather(1, own), 0.25)
    assert triplet.item() == pytest.approx(0.1 * labels.item() + 0.9 * kl.item(), abs=1e-6)
    assert tct_loss(student, None, none, 0.1, 0.25, False).item() == pytest.approx(labels.item())


# ---------------------------------------------------------------------- input format


@pytest.fixture(scope="module")
def colbert():
    return ColBERT.from_backbone("tiny", dim=16, seed=0)


def test_colbert_query_is_marked_and_filled_with_masks(colbert):
    tokens = colbert.tokenize(["what is a cat", "dog"], 10, "query")
    ids, attention = tokens["input_ids"], tokens["attention_mask"]
    tokenizer = colbert.tokenizer
    assert ids.shape == (2, 10) and bool(attention.all())
    assert (ids[:, 0] == tokenizer.cls_token_id).all()
    assert (ids[:, 1] == colbert.markers.query).all()
    assert tokenizer.convert_ids_to_tokens(int(colbert.markers.query)) == "[unused0]"
    assert (ids[1, 4:] == tokenizer.mask_token_id).all()  # [CLS] [Q] dog [SEP] [MASK]...
    vectors, used = colbert(ids, attention, kind="query")
    assert vectors.shape == (2, 10, 16) and bool(used.all())
    assert torch.allclose(vectors.norm(dim=-1), torch.ones(2, 10), atol=1e-5)


def test_colbert_passage_drops_punctuation_and_padding(colbert):
    tokens = colbert.tokenize(["a cat , a dog .", "cat"], 12, "passage")
    ids = tokens["input_ids"]
    assert (ids[:, 1] == colbert.markers.passage).all()
    vectors, used = colbert(**tokens, kind="passage")
    words = colbert.tokenizer.convert_ids_to_tokens(ids[0].tolist())
    for position, word in enumerate(words):
        assert bool(used[0, position]) == (word not in (",", ".", "[PAD]"))
    assert torch.all(vectors[~used] == 0)
    assert not used[1, 4:].any()  # [CLS] [D] cat [SEP] then padding


def test_colbert_saves_and_loads(colbert, tmp_path):
    colbert.save(tmp_path / "colbert")
    again = ColBERT.load(tmp_path / "colbert")
    tokens = colbert.tokenize(["a cat sat"], 8, "passage")
    assert torch.allclose(colbert(**tokens)[0], again(**tokens)[0], atol=1e-6)


def test_marked_student_pools_the_tokens_after_the_marker():
    model = BiEncoder.from_backbone("tiny", pooling="mean", markers=True, seed=0)
    tokens = model.tokenize(["a cat sat on the mat", "dog"], 12, "passage")
    hidden = model.backbone(**tokens).last_hidden_state
    mask = tokens["attention_mask"].clone()
    mask[:, :2] = 0
    expected = (hidden * mask[..., None]).sum(1) / mask.sum(1, keepdim=True)
    assert torch.allclose(model(**tokens), expected, atol=1e-5)
    # the batched inference path (packed, length-sorted) gives the same vectors
    texts = ["a cat sat on the mat", "dog", "what is a cat"]
    for kind in ("query", "passage"):
        one_by_one = torch.cat([model(**model.tokenize([t], 12, kind)) for t in texts])
        encoded = model.encode(texts, 12, batch_size=2, kind=kind)
        assert np.allclose(encoded, one_by_one.detach().numpy(), atol=1e-5)


def test_marked_student_saves_markers(tmp_path):
    model = BiEncoder.from_backbone("tiny", pooling="mean", markers=True, seed=0)
    model.save(tmp_path / "student")
    assert not (tmp_path / "student" / "modules.json").exists()  # not a ST model: no markers
    again = BiEncoder.load(tmp_path / "student")
    assert again.markers == model.markers
    tokens = model.tokenize(["cat"], 8, "query")
    assert torch.allclose(model(**tokens), again(**tokens), atol=1e-6)


# ---------------------------------------------------------------------- training, reranking

TCT = {
    "encoder": {"backbone": "tiny", "query_length": 8, "passage_length": 16, "dim": 16},
    "distillation": {"tau": 0.25, "gamma": 0.1},
}
TRAINING = {"optimizer": "adamw", "lr": 1e-3, "batch_size": 6, "steps": 2, "log_every": 1}


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("tct")
    spec = {"source": "demo", "n_passages": 60, "n_train": 20, "n_dev": 6, "n_test": 3}
    prepare_folder(spec, root)
    qrels = read_table(root / "qrels/train.parquet", QRELS)
    pairs = zip(qrels.query_id, qrels.doc_id, strict=True)
    rows = [(q, f"{(int(d) + 7) % 60}", 1) for q, d in pairs]
    negatives = pd.DataFrame(rows, columns=["query_id", "doc_id", "rank"])
    write_table(negatives, root / "negatives.parquet", NEGATIVES)
    return root


def train(data, tmp, method, teacher=None):
    inputs = {
        "corpus": str(data / "corpus.parquet"),
        "queries": str(data / "queries/train.parquet"),
        "qrels": str(data / "qrels/train.parquet"),
        "negatives": str(data / "negatives.parquet"),
    }
    if teacher:
        inputs["teacher"] = teacher
    train_method(
        method,
        inputs=inputs,
        settings={**TCT, "training": TRAINING},
        out_dir=str(tmp / method),
        checkpoint_dir=str(tmp / f"ck-{method}"),
    )
    return tmp / method


@pytest.fixture(scope="module")
def trained(data, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("trained")
    teacher = train(data, tmp, "colbert")
    student = train(data, tmp, "tct", teacher=str(teacher))
    return teacher, student


def test_teacher_and_student_train_and_save(trained):
    teacher, student = trained
    assert (teacher / "train_log.parquet").exists() and (student / "training.json").exists()
    log = pd.read_parquet(student / "train_log.parquet")
    assert list(log["step"]) == [1, 2] and np.isfinite(log["loss"]).all()
    # the student starts from the teacher's transformer and leaves the teacher untouched
    loaded = ColBERT.load(teacher)
    tokens = loaded.tokenize(["cat"], 8, "query")
    again = ColBERT.load(teacher)
    assert torch.equal(loaded(**tokens, kind="query")[0], again(**tokens, kind="query")[0])
    assert BiEncoder.load(student).markers is not None


def test_students_need_a_teacher(data, tmp_path):
    with pytest.raises(ConfigError, match="teacher"):
        train(data, tmp_path, "poolavg")


def first_stage_run(data, tmp_path):
    """Every dev query against 10 passages, as a BM25 run would list them."""
    queries = read_table(data / "queries/dev.parquet", QUERIES)
    rows = [
        (q, str((7 * i + k) % 60), k + 1, 10.0 - k)
        for i, q in enumerate(queries["query_id"])
        for k in range(10)
    ]
    run = pd.DataFrame(rows, columns=["query_id", "doc_id", "rank", "score"])
    write_table(run, tmp_path / "bm25.parquet", RUN)
    return queries, run


@pytest.mark.parametrize("doc_budget", [15, 100_000])
def test_colbert_rerank_equals_brute_force(data, trained, tmp_path, doc_budget):
    queries, run = first_stage_run(data, tmp_path)
    model = ColBERT.load(trained[0]).eval()
    corpus = Corpus(data / "corpus.parquet")
    candidates = Candidates(tmp_path / "bm25.parquet", queries, corpus.rows, depth=8)
    assert sum(len(r) for r in candidates.rows) == 8 * len(queries)
    rerank_colbert(model, corpus, candidates, tmp_path / "out.parquet", 8, 16, 4, doc_budget)
    out = read_table(tmp_path / "out.parquet", RUN)
    with torch.no_grad():
        for query_id, text in zip(queries["query_id"], queries["text"], strict=True):
            docs = run[(run.query_id == query_id) & (run["rank"] <= 8)]["doc_id"].tolist()
            q, q_mask = model(**model.tokenize([text], 8, "query"), kind="query")
            d, d_mask = model(**model.tokenize(corpus.text(corpus.rows(docs)), 16), kind="passage")
            expected = dict(zip(docs, maxsim(q, q_mask, d, d_mask)[0].tolist(), strict=True))
            got = out[out.query_id == query_id]
            assert set(got.doc_id) == set(docs)
            for doc, score in zip(got.doc_id, got.score, strict=True):
                assert score == pytest.approx(expected[doc], abs=1e-4)
            assert list(got["rank"]) == list(range(1, 9))
            assert got.score.is_monotonic_decreasing


def test_biencoder_rerank_equals_dot_products(data, trained, tmp_path):
    """...of the stored query and passage vectors, read by a job that loads no model."""
    queries, run = first_stage_run(data, tmp_path)
    model = BiEncoder.load(trained[1])
    encode_corpus(model, data / "corpus.parquet", tmp_path / "emb", tmp_path / "work", 16, 8)
    encode_queries(model, {"dev": data / "queries/dev.parquet"}, tmp_path / "emb", 8)
    files = ["bm25.parquet", "queries/dev.parquet", "out.parquet", "out.trec"]
    paths = [str((data if name.startswith("queries") else tmp_path) / name) for name in files]
    split = RerankSplit(*paths, vector_split="dev")
    inputs = {"embeddings": str(tmp_path / "emb")}
    rerank_runs("stored-vectors", inputs, [split], {"depth": 10}, tag="t")
    corpus = Corpus(data / "corpus.parquet")
    out = read_table(tmp_path / "out.parquet", RUN)
    query_vectors = model.encode(queries["text"].tolist(), 8, kind="query")
    passages = model.encode(corpus.text(np.arange(len(corpus))), 16).astype(np.float16)
    for vector, query_id in zip(query_vectors, queries["query_id"], strict=True):
        got = out[out.query_id == query_id]
        rows = corpus.rows(got.doc_id)
        expected = passages[rows].astype(np.float32) @ vector
        assert np.allclose(got.score, expected, atol=1e-4)


def test_embedding_store_gathers_across_shards(tmp_path):
    model = BiEncoder.from_backbone("tiny", pooling="mean", seed=0)
    corpus = pd.DataFrame({"doc_id": [f"d{i}" for i in range(10)], "text": ["cat dog"] * 10})
    corpus["text"] = [f"passage {i} " * (i + 1) for i in range(10)]
    corpus.to_parquet(tmp_path / "corpus.parquet")
    encode_corpus(model, tmp_path / "corpus.parquet", tmp_path / "e", tmp_path / "w", 16, 4, 3)
    store = EmbeddingStore(tmp_path / "e")
    everything = model.encode(corpus["text"].tolist(), 16).astype(np.float16).astype(np.float32)
    rows = np.array([9, 0, 4, 3, 3])
    assert len(store) == 10 and len(store.shards) == 4
    assert np.allclose(store.rows(rows), everything[rows], atol=1e-3)


def test_the_jobs_that_read_stored_vectors_import_no_torch():
    """Their scripts' library modules start without torch and transformers (3-4 s a job)."""
    modules = ["irrepro.candidates", "irrepro.dense.retrieve", "irrepro.splade.index"]
    heavy = "{'torch', 'transformers'}"
    script = f"import sys, {', '.join(modules)}; print(sorted({heavy} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
