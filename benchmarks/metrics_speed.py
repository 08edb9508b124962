"""Metric computation time: irrepro.metrics.evaluate next to pytrec_eval and trectools.

A synthetic run of 7,000 queries x 1,000 results (scores rounded so that some tie) is evaluated
against binary qrels (~1.1 relevant per query, like MS MARCO dev) and graded qrels (grades 0-3,
relevance level 2, like TREC DL 2019). Each timing is the best of --repeat runs.

    python benchmarks/metrics_speed.py [--queries 7000 --depth 1000 --repeat 3]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
import pytrec_eval
from _common import OtherCPU, markdown_table, write_result
from trectools import TrecEval, TrecQrel, TrecRun

from irrepro.metrics import evaluate

METRICS = ["MRR@10", "R@100", "R@1000", "nDCG@10", "MAP"]
TREC_MEASURES = {"recip_rank", "recall.100", "recall.1000", "ndcg_cut.10", "map"}
TREC_KEYS = {"R@100": "recall_100", "R@1000": "recall_1000", "nDCG@10": "ndcg_cut_10", "MAP": "map"}
POOL = 1_000_003  # a prime: offset + i * step (mod POOL) never repeats within a ranking


# --------------------------------------------------------------------------- synthetic data


def synthetic_run(queries: int, depth: int, rng: np.random.Generator) -> pd.DataFrame:
    offset = rng.integers(0, POOL, size=(queries, 1))
    step = rng.integers(1, POOL, size=(queries, 1))
    docs = (offset + step * np.arange(depth)) % POOL
    scores = np.round(30 - rng.exponential(0.02, size=(queries, depth)).cumsum(axis=1), 2)
    return pd.DataFrame(
        {
            "query_id": np.repeat([str(q) for q in range(queries)], depth),
            "doc_id": docs.ravel().astype(str).astype(object),
            "rank": np.tile(np.arange(1, depth + 1), queries),
            "score": scores.ravel(),
        }
    )


def synthetic_qrels(
    run: pd.DataFrame, per_query: np.ndarray, grades: np.ndarray, skew: float, rng
) -> pd.DataFrame:
    """`per_query[q]` judgments for query q, mostly of documents high in its ranking."""
    depth = len(run) // len(per_query)
    query = np.repeat(np.arange(len(per_query)), per_query)
    position = np.floor(depth * rng.random(len(query)) ** skew).astype(int)
    doc_ids = run["doc_id"].to_numpy()[query * depth + position].astype(object)
    unretrieved = rng.random(len(query)) < 0.15
    doc_ids[unretrieved] = [f"x{q}-{i}" for i, q in enumerate(query[unretrieved])]
    qrels = pd.DataFrame({"query_id": query.astype(str), "doc_id": doc_ids, "relevance": grades})
    return qrels.drop_duplicates(["query_id", "doc_id"]).reset_index(drop=True)


def variants(queries: int, depth: int, seed: int) -> tuple[pd.DataFrame, dict]:
    rng = np.random.default_rng(seed)
    run = synthetic_run(queries, depth, rng)
    binary_counts = 1 + (rng.random(queries) < 0.1)
    binary = synthetic_qrels(run, binary_counts, np.ones(binary_counts.sum(), int), 3.0, rng)
    graded_counts = np.full(queries, 8)
    grade = rng.choice(4, size=graded_counts.sum(), p=[0.45, 0.25, 0.2, 0.1])
    graded = synthetic_qrels(run, graded_counts, grade, 2.0, rng)
    return run, {"binary (level 1)": (binary, 1), "graded (level 2)": (graded, 2)}


# --------------------------------------------------------------------------- the three tools


def nested_dict(outer: pd.Series, inner: pd.Series, values: pd.Series) -> dict:
    """{outer: {inner: value}} as pytrec_eval wants it, grouping with one stable sort."""
    codes, keys = pd.factorize(outer)
    order = np.argsort(codes, kind="stable")
    inner_list = inner.to_numpy()[order].tolist()
    value_list = values.to_numpy()[order].tolist()
    ends = np.cumsum(np.bincount(codes, minlength=len(keys)))
    out, start = {}, 0
    for key, end in zip(keys, ends, strict=True):
        out[key] = dict(zip(inner_list[start:end], value_list[start:end], strict=True))
        start = end
    return out


def run_pytrec_eval(run: pd.DataFrame, qrels: pd.DataFrame, level: int) -> tuple:
    start = time.perf_counter()
    run_dict = nested_dict(run["query_id"], run["doc_id"], run["score"].astype(float))
    qrels_dict = nested_dict(qrels["query_id"], qrels["doc_id"], qrels["relevance"].astype(int))
    built = time.perf_counter()
    evaluator = pytrec_eval.RelevanceEvaluator(qrels_dict, TREC_MEASURES, relevance_level=level)
    results = pd.DataFrame.from_dict(evaluator.evaluate(run_dict), orient="index")
    per_query = pd.DataFrame({name: results[key] for name, key in TREC_KEYS.items()})
    # trec_eval's recip_rank has no cut-off: RR@10 is RR where the first hit is in the top 10
    per_query.insert(0, "MRR@10", results["recip_rank"].where(results["recip_rank"] >= 0.1, 0.0))
    end = time.perf_counter()
    return per_query.sort_index(), built - start, end - start


def run_trectools(run: pd.DataFrame, qrels: pd.DataFrame) -> dict[str, float]:
    trec_run, trec_qrels = TrecRun(), TrecQrel()
    trec_run.run_data = run.rename(columns={"query_id": "query", "doc_id": "docid"}).assign(
        q0="Q0", system="bench"
    )[["query", "q0", "docid", "rank", "score", "system"]]
    trec_qrels.qrels_data = qrels.rename(
        columns={"query_id": "query", "doc_id": "docid", "relevance": "rel"}
    ).assign(q0="0")[["query", "q0", "docid", "rel"]]
    evaluator = TrecEval(trec_run, trec_qrels)
    return {
        "MRR@10": evaluator.get_reciprocal_rank(depth=10),
        "R@100": evaluator.get_recall(depth=100),
        "R@1000": evaluator.get_recall(depth=1000),
        "nDCG@10": evaluator.get_ndcg(depth=10),
        "MAP": evaluator.get_map(),
    }


def best_of(repeat: int, function, *args):
    """(best wall seconds, result of the last call)."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        result = function(*args)
        best = min(best, time.perf_counter() - start)
    return best, result


# --------------------------------------------------------------------------- report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=7_000)
    parser.add_argument("--depth", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--name", default="metrics_speed", help="results/<name>.md")
    args = parser.parse_args()

    other = OtherCPU().start()
    run, qrels_variants = variants(args.queries, args.depth, args.seed)
    ties = run.duplicated(["query_id", "score"]).mean()
    timing_rows, value_rows = [], []
    for variant, (qrels, level) in qrels_variants.items():
        print(f"{variant}: {len(qrels):,} judgments")
        ours_s, ours = best_of(args.repeat, evaluate, run, qrels, METRICS, level)
        ours = ours.set_index("query_id").sort_index()
        trec_runs = [run_pytrec_eval(run, qrels, level) for _ in range(args.repeat)]
        theirs = trec_runs[-1][0]
        build_s = min(r[1] for r in trec_runs)
        pytrec_s = min(r[2] for r in trec_runs)
        tools_s, tools = best_of(args.repeat, run_trectools, run, qrels)
        timing_rows.append(
            [variant, f"{len(qrels):,}", f"{ours_s:.2f}", f"{pytrec_s:.2f}", f"{build_s:.2f}"]
            + [f"{pytrec_s - build_s:.2f}", f"{tools_s:.2f}"]
        )
        assert ours.index.equals(theirs.index), "ours and pytrec_eval evaluate different queries"
        for metric in METRICS:
            diff = (ours[metric] - theirs[metric]).abs().max()
            value_rows.append(
                [variant, metric, f"{ours[metric].mean():.4f}", f"{theirs[metric].mean():.4f}"]
                + [f"{tools[metric]:.4f}", f"{diff:.1e}"]
            )

    other.stop()
    setup = (
        f"{args.queries:,} queries x {args.depth:,} results ({len(run):,} rows, "
        f"{ties:.1%} of them tied in score with the row before); metrics "
        f"{', '.join(METRICS)}; best of {args.repeat} runs; single process."
    )
    timing = markdown_table(
        [
            "qrels",
            "judgments",
            "irrepro s",
            "pytrec_eval s (total)",
            "of which dict building",
            "of which evaluation",
            "trectools s",
        ],
        timing_rows,
    )
    values = markdown_table(
        ["qrels", "metric", "irrepro", "pytrec_eval", "trectools", "max abs diff per query"],
        value_rows,
    )
    notes = "\n".join(
        [
            "- irrepro: `irrepro.metrics.evaluate(run_df, qrels_df, metrics, relevance_level)`.",
            "- pytrec_eval: building `{qid: {docid: score}}` / `{qid: {docid: rel}}` from the "
            "DataFrames, `RelevanceEvaluator(qrels, {recip_rank, recall.100, recall.1000, "
            "ndcg_cut.10, map}, relevance_level)`, `evaluate(run)`, back to a DataFrame. "
            "trec_eval's recip_rank has no cut-off, so MRR@10 is recip_rank where it is >= 0.1.",
            "- trectools: `TrecRun`/`TrecQrel` from the DataFrames, then "
            "`get_reciprocal_rank(depth=10)`, `get_recall(depth=100)`, `get_recall(depth=1000)`, "
            "`get_ndcg(depth=10)`, `get_map()`. It has no relevance level (rel > 0 is relevant), "
            "so its binary metrics differ on the graded qrels; its nDCG ranks in file order, not "
            "by score.",
            "- The last column compares irrepro's per-query values with pytrec_eval's.",
        ]
    )
    write_result(
        args.name,
        "Metric computation: irrepro vs pytrec_eval vs trectools",
        [setup, "## Seconds", timing, "## Mean values", values, notes],
        other,
    )


if __name__ == "__main__":
    main()
