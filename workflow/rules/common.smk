# Shared setup: the library on the path, the config validated, the plan of what to build.

import os
import sys
from pathlib import Path

LIBRARY_DIR = str(Path(workflow.basedir) / "workflow")
# The library is importable here and in every job's script whether or not it is pip-installed
# (jobs in --sdm conda environments only get its dependencies). We set PYTHONPATH for the
# jobs we spawn; it is not something the user must provide, hence no `envvars:` assertion.
sys.path.insert(0, LIBRARY_DIR)
os.environ.update(
    PYTHONPATH=os.pathsep.join(p for p in (LIBRARY_DIR, os.getenv("PYTHONPATH")) if p)
)

from snakemake.utils import validate

from irrepro import methods as M
from irrepro.plan import Plan


validate(config, "../schemas/config.schema.yaml")

PLAN = Plan(config)
R = PLAN.root
CPU_ENV = "../../envs/cpu.yaml"
GPU_ENV = "../../envs/gpu.yaml"
TRAIN = {
    "queries": f"{R}/data/queries/train.parquet",
    "qrels": f"{R}/data/qrels/train.parquet",
}


def run_depth(wildcards):
    """Train runs only feed negative mining, so they stop at train_depth."""
    return config["retrieval"]["train_depth" if wildcards.split == "train" else "depth"]


wildcard_constraints:
    split="|".join([*PLAN.splits, PLAN.tune_split]),


def dense_training(method):
    """A dense method's training settings: the shared `dense.train` with its own overrides."""
    return {**config["dense"]["train"], **config["dense"]["methods"].get(method, {})}


def dense_search_files(method):
    """Query encoder, and the index and embeddings of the model whose documents it searches."""
    base, kind = M.dense_index_of(method)
    return {
        "model": f"{R}/models/{method}",
        "index": f"{R}/index/{base}/{kind}.faiss",
        "embeddings": f"{R}/embeddings/{base}",
    }


def dense_retrieval_inputs(wildcards):
    return dense_search_files(wildcards.method)


def adore_inputs(wildcards):
    base, kind = M.dense_index_of(wildcards.method)
    return {
        "doc_encoder": f"{R}/models/{base}",
        "embeddings": f"{R}/embeddings/{base}",
        "index": f"{R}/index/{base}/{kind}.faiss",
    }


def encoder_config(method):
    """Input lengths of a dense method's encoder: TCT-ColBERT's students have their own."""
    base, _ = M.dense_index_of(method)
    return config["tct" if base in M.TCT_STUDENTS else "dense"]["encoder"]


def tct_training(method):
    """The teacher's settings, or a student's: the shared `tct.train` with its overrides."""
    if method == "colbert":
        return config["tct"]["colbert"]
    return {**config["tct"]["train"], **config["tct"]["methods"].get(method, {})}


def rerank_inputs(wildcards):
    """The reranker's model; a bi-encoder also needs its stored passage vectors."""
    model = wildcards.reranker.removesuffix("-rerank")
    inputs = {"model": f"{R}/models/{model}"}
    if model != "colbert":
        inputs["embeddings"] = f"{R}/embeddings/{model}"
    return inputs


def latency_inputs(wildcards):
    """What a hybrid's online path touches: query encoder, index, sparse run of the dev split."""
    split = PLAN.latency_split()
    return {
        **dense_search_files(wildcards.dense),
        "queries": f"{R}/data/queries/{split}.parquet",
        "sparse": f"{R}/runs/{wildcards.sparse}/{split}.parquet",
    }
