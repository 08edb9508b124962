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
    split="|".join(PLAN.splits),


def dense_training(method):
    """A dense method's training settings: the shared `dense.train` with its own overrides."""
    return {**config["dense"]["train"], **config["dense"]["methods"].get(method, {})}


def dense_retrieval_inputs(wildcards):
    """Query encoder, and the index and embeddings of the model whose documents it searches."""
    base, kind = M.dense_index_of(wildcards.method)
    return {
        "model": f"{R}/models/{wildcards.method}",
        "index": f"{R}/index/{base}/{kind}.faiss",
        "embeddings": f"{R}/embeddings/{base}",
    }


def adore_inputs(wildcards):
    base, kind = M.dense_index_of(wildcards.method)
    return {
        "doc_encoder": f"{R}/models/{base}",
        "embeddings": f"{R}/embeddings/{base}",
        "index": f"{R}/index/{base}/{kind}.faiss",
    }
