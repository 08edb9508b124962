"""SPLADE models over training seeds on the demo: is the spladepp table's ordering more than
the spread from the seed alone?

The demo trains each SPLADE model once (seed 42), and its dev MRR@10 gaps (a few hundredths)
are the size that the CPU kind alone moves a model (NOTES.md). This retrains each model with
other seeds (the seed sets the initial head, the batch order and every sampled negative), from
the same negatives and teacher scores as the demo's own models, indexes, retrieves dev and
scores it exactly as the workflow does, and reports each model's mean and spread over seeds and
the paired per-query difference of each pair of models averaged over seeds.

Needs a finished demo in the working directory (`snakemake --cores 2`, results/demo/):

    python benchmarks/splade_seeds.py [--seeds 1 2 3] [--methods splade-max distilsplade ...]
"""

from __future__ import annotations

import argparse
import copy
import itertools
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from _common import markdown_table, write_result

from irrepro import runtime
from irrepro.artefacts import QRELS, QUERIES, RUN, read_table
from irrepro.check_config import read_config
from irrepro.metrics import evaluate
from irrepro.plan import Plan
from irrepro.speed import speed_settings
from irrepro.splade.index import SparseIndex, build_sparse_index, encode_queries, sparse_run
from irrepro.splade.model import Splade
from irrepro.train.job import train_method
from irrepro.train.trainer import TrainSettings

METHODS = ["splade-max", "distilsplade", "splade-ensembledistil", "splade-selfdistil"]
METRIC = "MRR@10"


def default_seed(plan: Plan, method: str) -> int:
    return plan.training(method)["training"].get("seed", TrainSettings.seed)


def per_query_of_demo(plan: Plan, method: str, split: str) -> pd.Series:
    """The demo's own model (the default seed), as its evaluate job scored it."""
    table = pd.read_parquet(plan.layout.metrics(method, split, "parquet"))
    return table.set_index("query_id")[METRIC]


def per_query_of_seed(plan: Plan, method: str, seed: int, split: str, work: Path) -> pd.Series:
    """Train `method` with `seed` on the demo's inputs, index, retrieve `split`, score it."""
    settings = copy.deepcopy(plan.training(method))
    settings["training"]["seed"] = seed
    name = f"{method}-{seed}"
    model_dir, checkpoints = work / "models" / name, work / "checkpoints" / name
    train_method(method, inputs=plan.train_inputs(method), settings=settings,
                 out_dir=str(model_dir), checkpoint_dir=str(checkpoints))  # fmt: skip
    model, lengths = Splade.load(model_dir), plan.sparse_settings(method)
    speed = speed_settings(plan.config, "splade")
    build_sparse_index(model, plan.layout.corpus(), work / "index" / name,
                       lengths["passage_length"], speed["encode_batch_size"])  # fmt: skip
    run_path = work / "runs" / f"{name}.parquet"
    run_path.parent.mkdir(parents=True, exist_ok=True)
    queries = read_table(plan.layout.queries(split), QUERIES)
    weights = encode_queries(model, queries["text"].tolist(), lengths["query_length"],
                             speed["query_batch_size"])  # fmt: skip
    sparse_run(SparseIndex(work / "index" / name), queries["query_id"], weights, run_path,
               depth=plan.run_depth(split), batch_size=speed["query_batch_size"])  # fmt: skip
    qrels = read_table(plan.layout.qrels(split), QRELS)
    scores = evaluate(read_table(run_path, RUN), qrels, [METRIC], plan.relevance_level(split))
    return scores.set_index("query_id")[METRIC]


def paired(a: pd.DataFrame, b: pd.DataFrame) -> tuple[float, float]:
    """Mean over queries of (a - b) averaged over seeds, and its standard error."""
    difference = (a.mean(axis=1) - b.mean(axis=1)).to_numpy()
    return difference.mean(), difference.std(ddof=1) / np.sqrt(len(difference))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--methods", nargs="+", default=METHODS)
    parser.add_argument("--configfile", nargs="+", default=["config/config.yaml"])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--name", default="splade_seeds")
    args = parser.parse_args()
    runtime.use_threads(args.threads)
    plan = Plan(read_config(args.configfile))
    split = plan.roles["dev"]
    scores: dict[str, pd.DataFrame] = {}
    with tempfile.TemporaryDirectory(prefix="splade-seeds-") as name:
        for method in args.methods:
            columns = {default_seed(plan, method): per_query_of_demo(plan, method, split)}
            for seed in args.seeds:
                columns[seed] = per_query_of_seed(plan, method, seed, split, Path(name))
            scores[method] = pd.DataFrame(columns)

    seeds_header = [f"seed {seed}" for seed in next(iter(scores.values())).columns]
    model_rows = [
        [method, *(f"{v:.3f}" for v in table.mean()), f"{table.mean().mean():.3f}",
         f"{table.mean().std(ddof=1):.3f}"]
        for method, table in scores.items()
    ]  # fmt: skip
    pair_rows = []
    for a, b in itertools.combinations(scores, 2):
        mean, error = paired(scores[a], scores[b])
        wins = int((scores[a].mean() > scores[b].mean()).sum())
        pair_rows.append([f"{a} - {b}", f"{mean:+.3f}", f"{error:.3f}", f"{mean / error:+.1f}",
                          f"{wins} of {scores[a].shape[1]}"])  # fmt: skip
    queries = len(next(iter(scores.values())))
    sections = [
        f"Dev {METRIC} on `{plan.dataset}` ({queries} judged queries). The first seed column "
        "is the demo's own model (its evaluate job's per-query file); the others are retrained "
        "here from the same negatives and teacher scores with only the training seed changed.",
        markdown_table(["model", *seeds_header, "mean", "sd over seeds"], model_rows),
        "## Pairs: per-query difference averaged over seeds",
        "Standard error over queries of the per-query difference of the seed-averaged models; "
        "*seeds won*: in how many seed columns the first model's mean is the higher.",
        markdown_table(["pair", "difference", "standard error", "z", "seeds won"], pair_rows),
    ]
    write_result(args.name, f"SPLADE over training seeds ({plan.dataset})", sections)


if __name__ == "__main__":
    main()
