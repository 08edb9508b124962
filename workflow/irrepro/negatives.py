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
