"""The cross-encoder: [CLS] query [SEP] passage [SEP] through a transformer and a one-logit
classifier. It is the BERT-reranker row of the STAR/ADORE table (BM25's top-k reranked) and the
teacher of SPLADE++ (its scores of train (query, negative) pairs, which the distilled SPLADE
models learn the margins of).

Trained in the pipeline on BM25 triples (a softmax over each query's positive and negatives), or
a pretrained one named in config (`cross_encoder.pretrained`, e.g. the SPLADE++ teacher
cross-encoder/ms-marco-MiniLM-L-6-v2). A saved model is a transformers sequence-classification
checkpoint, which sentence-transformers' CrossEncoder loads as it is.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm
from transformers import (
    AutoModelForSequenceClassification,
    AutoTokenizer,
    BertConfig,
    BertForSequenceClassification,
)

from . import precision as amp
from .artefacts import NEGATIVES, QRELS, TEACHER_SCORES, read_table, write_table
from .backbone import TINY_CONFIG, BackboneError, minilm_path, resolve
from .model_files import staged_directory
from .train.data import BatchPlan, Corpus, NegativePool, PairBatches
from .train.job import Job, TrainData
from .train.losses import Loss, loss_class

log = logging.getLogger(__name__)


class CrossEncoder(nn.Module):
    """`forward(**pair_tokens)` gives one relevance score per (query, passage) pair."""

    def __init__(self, model, tokenizer):
        super().__init__()
        if model.config.num_labels != 1:
            raise ValueError(f"a cross-encoder has one output, not {model.config.num_labels}")
        self.model, self.tokenizer = model, tokenizer
        self.train(model.training)

    @classmethod
    def from_backbone(cls, name: str, seed: int = 0) -> CrossEncoder:
        """A backbone with a new classifier (initialised from `seed`), or a trained
        cross-encoder by HF id or path."""
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            if name == "tiny":
                tokenizer = AutoTokenizer.from_pretrained(minilm_path())
                config = BertConfig(vocab_size=tokenizer.vocab_size, **TINY_CONFIG, num_labels=1)
                return cls(BertForSequenceClassification(config).eval(), tokenizer)
            return cls.load(resolve(name))

    @classmethod
    def load(cls, source: str | Path) -> CrossEncoder:
        try:
            model = AutoModelForSequenceClassification.from_pretrained(str(source), num_labels=1)
            tokenizer = AutoTokenizer.from_pretrained(str(source))
        except (OSError, ValueError) as error:
            raise BackboneError(f"cannot load cross-encoder {str(source)!r}: {error}") from error
        return cls(model, tokenizer)

    def save(self, directory: str | Path) -> None:
        with staged_directory(directory) as tmp:
            self.model.save_pretrained(tmp)
            self.tokenizer.save_pretrained(tmp)

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def gradient_checkpointing_enable(self, **kwargs) -> None:
        self.model.gradient_checkpointing_enable(**kwargs)

    def tokenize_pairs(self, queries, passages, max_length: int) -> dict:
        tokens = self.tokenizer(
            [str(q) for q in queries],
            [str(p) for p in passages],
            truncation="longest_first",
            max_length=max_length,
            padding=True,
            return_tensors="pt",
        )
        return dict(tokens)

    def forward(self, **tokens) -> torch.Tensor:
        return self.model(**tokens).logits[:, 0]

    @torch.no_grad()
    def score(
        self, queries, passages, max_length: int, batch_size: int = 64, precision: str | None = None
    ) -> np.ndarray:
        """float32 scores of the pairs, in input order (batches are cut from pairs sorted by
        length, so a pair's score does not depend on the batch it lands in beyond padding and,
        in bf16, rounding); `precision`: irrepro.precision's, None the job's."""
        lengths = np.array(
            [len(str(q)) + len(str(p)) for q, p in zip(queries, passages, strict=True)]
        )
        order = np.argsort(-lengths, kind="stable")
        out = np.empty(len(order), dtype=np.float32)
        was_training = self.training
        self.eval()
        try:
            with amp.autocast(self.device, precision):
                for start in range(0, len(order), batch_size):
                    rows = order[start : start + batch_size]
                    pairs = [queries[i] for i in rows], [passages[i] for i in rows]
                    tokens = self.tokenize_pairs(*pairs, max_length)
                    tokens = {k: v.to(self.device) for k, v in tokens.items()}
                    out[rows] = self(**tokens).float().cpu().numpy()
        finally:
            self.train(was_training)
        return out


class PairTokenBatches(PairBatches):
    """Each query paired with its positive and its negatives, tokenized together:
    `pairs` holds B positive pairs then the B x n negative pairs."""

    def __init__(self, model: CrossEncoder, max_length: int, *args, **kwargs):
        super().__init__(None, {}, *args, **kwargs)
        self.model, self.max_length = model, max_length

    def __call__(self, step: int) -> dict:
        picked, positives, negatives = self.sample(step)
        texts = [str(t) for t in self.queries.texts[picked]]
        per_query = negatives.shape[1]
        queries = texts + [t for t in texts for _ in range(per_query)]
        passages = self.corpus.text(positives) + self.corpus.text(negatives.reshape(-1))
        own = np.array(
            [
                self.queries.is_positive([q], row)[0]
                for q, row in zip(picked, negatives, strict=True)
            ]
        )
        return {
            "pairs": self.model.tokenize_pairs(queries, passages, self.max_length),
            "negative_is_positive": torch.from_numpy(own),
        }


class LocalizedCrossEntropyLoss(Loss):
    """Softmax cross entropy of each query's positive against its own negatives."""

    name = "localized-ce"

    def __call__(self, model, batch, step):
        mask = batch["negative_is_positive"]
        scores = model(**batch["pairs"])
        size = len(mask)
        grouped = torch.cat([scores[:size, None], scores[size:].view(size, -1)], dim=1)
        grouped = grouped.masked_fill(F.pad(mask, (1, 0), value=False), float("-inf"))
        target = torch.zeros(size, dtype=torch.long, device=scores.device)
        return F.cross_entropy(grouped, target), {}


CROSS_ENCODER_LOSSES = (LocalizedCrossEntropyLoss,)


@dataclass(frozen=True)
class CrossEncoderSpec:
    """The `cross_encoder` section's model settings (defaults: the SPLADE++ teacher)."""

    backbone: str = "cross-encoder/ms-marco-MiniLM-L-6-v2"
    max_length: int = 256
    pretrained: bool = True  # use the backbone as it is: no training in the pipeline


def cross_encoder_job(data: TrainData) -> Job:
    spec = CrossEncoderSpec(**data.settings["encoder"])
    model = CrossEncoder.from_backbone(spec.backbone, data.train.seed)
    loss = loss_class(CROSS_ENCODER_LOSSES, data.loss_name(), data.method.name)()
    pool = NegativePool(data.inputs["negatives"], data.queries, data.corpus)
    plan = BatchPlan(len(data.queries), data.train.batch_size, data.train.seed)
    negatives = int(data.section.get("negatives", 1))
    batches = PairTokenBatches(model, spec.max_length, data.corpus, data.queries, plan,
                               negatives=negatives, pool=pool)  # fmt: skip
    return Job(model, loss, batches, {"encoder": asdict(spec)}, pretrained=spec.pretrained)


def teacher_scores(
    model: CrossEncoder,
    corpus: Corpus,
    queries: pd.DataFrame,
    qrels_path,
    negatives_path,
    out_path,
    depth: int,
    max_length: int,
    batch_size: int = 64,
    scored_paths=(),
) -> pd.DataFrame:
    """The cross-encoder's score of every train query's positives and of the first `depth`
    negatives of a negatives file: what a distilled model may train on. Pairs found in
    `scored_paths` (the same cross-encoder's scores of another negatives file) keep their score
    there instead of being scored again."""
    qrels = read_table(qrels_path, QRELS)
    negatives = read_table(negatives_path, NEGATIVES).sort_values(
        ["query_id", "rank"], kind="mergesort"
    )
    pairs = pd.concat(
        [
            qrels.loc[qrels["relevance"] > 0, ["query_id", "doc_id"]],
            negatives.groupby("query_id", sort=False).head(depth)[["query_id", "doc_id"]],
        ]
    ).drop_duplicates()
    texts = dict(zip(queries["query_id"].astype(str), queries["text"], strict=True))
    pairs = pairs[pairs["query_id"].isin(texts)].reset_index(drop=True)
    pairs = with_known_scores(pairs, scored_paths)
    todo = pairs["score"].isna().to_numpy()
    new = pairs.loc[todo, ["query_id", "doc_id"]]
    passages = corpus.text(corpus.rows(new["doc_id"]))
    scores = []
    chunk = 64 * batch_size
    for start in tqdm(range(0, len(new), chunk), unit="chunk", desc="teacher scores"):
        part_queries = [texts[q] for q in new["query_id"].iloc[start : start + chunk]]
        part_passages = passages[start : start + chunk]
        scores.append(model.score(part_queries, part_passages, max_length, batch_size))
    out = pairs.astype({"score": np.float32})
    out.loc[todo, "score"] = np.concatenate(scores) if scores else np.zeros(0, np.float32)
    write_table(out, out_path, TEACHER_SCORES)
    reused = len(out) - int(todo.sum())
    log.info("%d pairs of %d queries, %d of them scored in %s", len(out),
             out["query_id"].nunique(), reused, list(scored_paths))  # fmt: skip
    return out


def with_known_scores(pairs: pd.DataFrame, paths) -> pd.DataFrame:
    """`pairs` with a `score` column: a pair's score in the teacher files `paths`, else NaN."""
    if not paths:
        return pairs.assign(score=np.nan)
    known = pd.concat([read_table(path, TEACHER_SCORES) for path in paths])
    known = known.drop_duplicates(["query_id", "doc_id"])
    return pairs.merge(known, on=["query_id", "doc_id"], how="left")
