"""Training negatives mined from a run: its top-k on train queries minus the judged positives.

The same operation gives BM25 negatives (from the BM25 run) and static hard negatives (from the
warm-up dense model's run), as in STAR/ADORE's data preparation.
"""

from __future__ import annotations

import pandas as pd


def negatives_from_run(run: pd.DataFrame, qrels: pd.DataFrame, depth: int) -> pd.DataFrame:
    """Top-`depth` documents of each query minus its judged positives, keeping the run's rank."""
    positives = qrels.loc[qrels["relevance"] > 0, ["query_id", "doc_id"]].assign(_positive=True)
    top = run.loc[run["rank"] <= depth, ["query_id", "doc_id", "rank"]]
    merged = top.merge(positives, on=["query_id", "doc_id"], how="left")
    negatives = merged.loc[merged["_positive"].isna(), ["query_id", "doc_id", "rank"]]
    return negatives.sort_values(["query_id", "rank"], kind="mergesort").reset_index(drop=True)


def ensemble_negatives(sources: list[pd.DataFrame], depth: int) -> pd.DataFrame:
    """Several negatives files pooled per query, as SPLADE++ EnsembleDistil's candidates: the
    sources' negatives interleaved rank by rank (the first source first on a rank), each
    document once, the first `depth` kept, ranked 1, 2, ... in that order."""
    tagged = [
        frame[["query_id", "doc_id", "rank"]].assign(_source=i) for i, frame in enumerate(sources)
    ]
    pooled = pd.concat(tagged, ignore_index=True).sort_values(
        ["query_id", "rank", "_source"], kind="mergesort"
    )
    pooled = pooled.drop_duplicates(["query_id", "doc_id"], keep="first")
    pooled = pooled.groupby("query_id", sort=False).head(depth).copy()
    pooled["rank"] = pooled.groupby("query_id", sort=False).cumcount() + 1
    return pooled[["query_id", "doc_id", "rank"]].reset_index(drop=True)
