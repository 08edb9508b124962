# Shared setup: the library on the path, the config validated, the plan of what to build.
# Every path comes from LAYOUT (irrepro.layout), every method's settings and training inputs
# from PLAN (irrepro.plan), which asks the method registry (irrepro.methods).

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

from irrepro import failures, methods, slurm_limits
from irrepro.plan import Plan

SCHEMA = "../schemas/config.schema.yaml"
STARTED = failures.workflow_start()

with failures.config_errors_exit():  # a config mistake is one line naming file, line and key
    failures.validate_config(config, Path(workflow.current_basedir, SCHEMA), workflow.configfiles)
    PLAN = Plan(config)
LAYOUT = PLAN.layout
# Retrieval and reranking serve a model's evaluated splits in one job (one model and index load
# instead of one per split), logged under this name; train and tune runs are a job each.
EVAL_SPLITS = PLAN.eval_splits
EVALUATED = "evaluated"
# The demo's longest path is BM25 negatives -> cross-encoder -> teacher scores -> distilled
# SPLADE -> its negatives -> teacher scores -> SelfDistil, about half its wall time on 2 cores;
# run last, it set the wall time. The profiles start the teachers' jobs and all they need first
# (`prioritize: [teacher_scores]`); the SPLADE jobs after them get this priority.
FIRST_ON_LONGEST_PATH = 1
# BM25's dev and test runs are a second's work that the rerankers (on the demo the
# cross-encoder's 30 s, ColBERT's 13 s) and the hybrids wait for. Among ready jobs of equal
# priority Snakemake starts those with larger inputs first, in which an index folder counts for
# little, so it would start them last (see also bm25_retrieve_train's threads).
UNBLOCKS_LONG_JOBS = 1
CPU_ENV = "../../envs/cpu.yaml"
GPU_ENV = "../../envs/gpu.yaml"


wildcard_constraints:
    split="|".join(PLAN.run_splits),


onstart:
    with failures.config_errors_exit():  # a SLURM request that would pend forever: one line
        slurm_limits.check_before_submitting(workflow)


onerror:
    failures.report_failed_jobs(PLAN.log_dirs(), STARTED)
