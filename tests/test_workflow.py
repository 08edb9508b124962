"""End to end through Snakemake, in a copy of the workflow in a temporary directory."""

import copy
import itertools
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SMALL_DEMO = {
    # fp32: the transfer test recomputes the runs' scores by hand in fp32; under `auto` a CPU
    # with bf16 instructions would round them by batch
    "precision": "fp32",
    "datasets": {
        "demo": {"n_passages": 300, "n_train": 60, "n_dev": 20, "n_test": 6},
        "demo-shifted": {"n_passages": 200, "n_train": 5, "n_dev": 5, "n_test": 10},
    },
    "transfer": {"methods": ["bm25", "star", "adore-star", "tct", "splade-max", "splade-released"]},
    # every rule of the dense and TCT stages once, on a tiny random BERT, in a few steps
    "methods": [
        *("bm25", "inbatch", "bm25neg", "star", "adore-star", "adore-bm25neg-pq6", "ance"),
        *("star-released", "adore-released", "tct-released"),
        *("colbert", "colbert-rerank", "tct", "tct-rerank", "hybrid-tct-bm25"),
        *("bert-reranker", "splade-max", "distilsplade", "splade-ensembledistil"),
        *("splade-selfdistil", "splade-released", "hybrid-tct-splade-max"),
    ],
    "dense": {
        "encoder": {"backbone": "tiny", "query_length": 12, "passage_length": 24},
        "train": {"steps": 2, "batch_size": 8, "checkpoint_every": 0, "log_every": 1},
        "methods": {
            "adore": {"epochs": 0.2, "batch_size": 8, "depth": 20, "metric_cut": 20},
            "ance": {"steps": 2, "batch_size": 8, "refresh_every": 1, "checkpoint_every": 0},
        },
    },
    "tct": {
        "encoder": {"backbone": "tiny", "query_length": 8, "passage_length": 24, "dim": 16},
        "colbert": {"steps": 2, "batch_size": 8, "checkpoint_every": 0, "log_every": 1},
        "train": {"steps": 2, "batch_size": 8, "checkpoint_every": 0, "log_every": 1},
    },
    "cross_encoder": {
        "encoder": {"backbone": "tiny", "max_length": 32, "pretrained": False},
        "train": {"steps": 2, "batch_size": 8, "checkpoint_every": 0, "log_every": 1},
        "rerank": {"depth": 20, "batch_size": 16},
    },
    "splade": {
        "encoder": {"backbone": "tiny", "query_length": 8, "passage_length": 24},
        "backbones": {},
        "train": {
            "steps": 2,
            "batch_size": 8,
            "checkpoint_every": 0,
            "log_every": 1,
            "flops_ramp": 2,
        },
        "teacher_depth": 4,
        "ensemble": ["bm25", "star"],
        "released": "splade-tiny",  # real weights
    },
    "fusion": {
        "tune_queries": 20,
        "latency_queries": 5,
        "alpha": {"start": 0.0, "stop": 1.0, "step": 0.25},
    },
}


DEMO = "config/config.yaml"  # the small demo is the demo with a few keys changed


def snakemake(workdir: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    result = subprocess.run(
        [sys.executable, "-m", "snakemake", "--cores", "2", *args],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,  # the small demo: about 190 jobs on 2 cores
    )
    if check and result.returncode != 0:
        raise AssertionError(result.stdout[-3000:] + result.stderr[-5000:])
    return result


@pytest.fixture(scope="module")
def workflow_copy(tmp_path_factory) -> Path:
    """The files a clone has: Snakefile, workflow/, config/, profiles/, envs/."""
    copy = tmp_path_factory.mktemp("clone")
    shutil.copy(ROOT / "Snakefile", copy)
    for folder in ("workflow", "config", "profiles", "envs"):
        shutil.copytree(ROOT / folder, copy / folder, ignore=shutil.ignore_patterns("__pycache__"))
    return copy


def write_config(workdir: Path, name: str, config: dict) -> str:
    path = workdir / name
    path.write_text(yaml.safe_dump(config))
    return str(path)


@pytest.fixture(scope="module")
def small_demo(workflow_copy) -> Path:
    """The small demo run once through Snakemake; its results folder."""
    small = write_config(workflow_copy, "small.yaml", SMALL_DEMO)
    snakemake(workflow_copy, "--configfile", DEMO, small)
    return workflow_copy / "results" / "demo"


@pytest.mark.slow
def test_demo_dag_runs_end_to_end(workflow_copy, small_demo):
    results = small_demo
    tables = ("star_adore", "training_cost", "adore_pq", "tct_colbert", "tct_latency", "summary")
    for table in tables:
        assert (results / "tables" / f"{table}.md").stat().st_size > 0
        assert (results / "tables" / f"{table}.csv").exists()
    summary = json.loads((results / "metrics" / "bm25" / "dev.json").read_text())
    assert summary["queries"] == 20 and 0 < summary["metrics"]["MRR@10"] <= 1
    test = json.loads((results / "metrics" / "bm25" / "test.json").read_text())
    assert test["relevance_level"] == 2
    star = (results / "tables" / "star_adore.md").read_text()
    assert "| STAR | 0." in star and "| Rand Neg | not run | 0.301 |" in star
    pq = (results / "tables" / "adore_pq.md").read_text()
    assert "| PQ m=6 | 0.0" in pq and "| PQ m=12 | not run |" in pq
    cost = (results / "tables" / "training_cost.md").read_text()
    assert "| ADORE+STAR | 0 | 4 |" in cost  # no GPU here
    assert (results / "models" / "star" / "config.json").exists()
    tct = (results / "tables" / "tct_colbert.md").read_text()
    for row in ("BM25", "TCT", "ColBERT", "ColBERT (reranks BM25)", "TCT + BM25"):
        assert f"| {row} | 0." in tct, row
    assert "| ANCE | 0." in star and "| ANCE | 0 | 4 |" in cost
    tct_table = (results / "tables" / "tct_colbert.md").read_text()
    label = "TCT, released checkpoint (tct.released.tct; paper: castorini/tct_colbert-msmarco)"
    assert f"| {label} | 0." in tct_table
    for row, key in (("STAR", "star"), ("ADORE+STAR", "adore")):  # MiniLM standing in
        label = f"{row}, released checkpoint (dense.released.{key}; paper: DRhard's download)"
        assert f"| {label} | 0." in star
    ance = json.loads((results / "models" / "ance" / "training.json").read_text())
    assert [r["step"] for r in ance["refreshes"]] == [0, 1]
    timing = json.loads((results / "runs" / "colbert" / "dev.timing.json").read_text())
    assert timing["candidates_per_query"] > 0
    assert "| PoolAvg | not run |" in tct
    assert "| in-batch KD | 0." in (results / "tables" / "tct_ablation.md").read_text()
    alpha = json.loads((results / "fusion" / "tct-bm25" / "alpha.json").read_text())
    tried = [row["alpha"] for row in alpha["grid"]]
    assert tried[:5] == [0.0, 0.25, 0.5, 0.75, 1.0] and alpha["normalize"] == "none"
    assert alpha["extended"] == (len(tried) > 5) and alpha["configured"]["points"] == 5
    assert alpha["queries"] == 20 and alpha["alpha"] in tried
    assert {"mean", "std"} <= set(alpha["score_scale"]["dense"])
    latency = json.loads((results / "latency" / "hybrid-tct-bm25.json").read_text())
    assert latency["queries"] == 5 and latency["encode_ms"] > 0 and latency["depth"] == 300
    assert "| TCT + BM25 | " in (results / "tables" / "tct_latency.md").read_text()
    splade = (results / "tables" / "spladepp.md").read_text()
    for row in ("SPLADE-max", "DistilSPLADE-max", "SPLADE++ EnsembleDistil", "SPLADE++ SelfDistil"):
        assert f"| {row} | 0." in splade, row
    assert "| BERT reranker | 0." in star
    efficiency = json.loads((results / "runs" / "splade-max" / "dev.efficiency.json").read_text())
    assert efficiency["flops"] > 0 and efficiency["queries"] == 20
    assert (results / "teacher" / "cross-encoder-ensemble.parquet").exists()
    released = json.loads((results / "models" / "splade-released" / "training.json").read_text())
    assert released["pretrained"]
    provenance = json.loads((results / "tables" / "star_adore.provenance.json").read_text())
    assert provenance["config"]["datasets"]["demo"]["n_passages"] == 300
    negatives = pd.read_parquet(results / "negatives" / "bm25.parquet")
    assert negatives["rank"].max() <= 200 and len(negatives) > 0
    assert (results / "runs" / "bm25" / "dev.trec").read_text().count(" Q0 ") > 0
    for log in ("prepare_dataset.log", "bm25_index.log", "bm25_retrieve/dev.log"):
        assert (results / "logs" / log).stat().st_size > 0
    # nothing left to do: a second run is a no-op
    again = snakemake(workflow_copy, "--configfile", DEMO, str(workflow_copy / "small.yaml"), "-n")
    assert "Nothing to be done" in again.stdout + again.stderr


@pytest.mark.slow
def test_a_transferred_model_equals_the_saved_model_evaluated_by_hand(small_demo):
    """STAR and ADORE trained on the demo, and the released SPLADE-tiny, on demo-shifted's test
    split: our runs' scores and nDCG@10 against the saved models' exact dot products ranked and
    scored by trec_eval."""
    import faiss
    import pytrec_eval
    import torch

    from irrepro.dense.model import BiEncoder
    from irrepro.splade.model import Splade

    target = small_demo.parent / "demo-shifted"
    transfer = target / "transfer" / "demo"
    corpus = pd.read_parquet(target / "data" / "corpus.parquet")
    queries = pd.read_parquet(target / "data" / "queries" / "test.parquet")
    qrels = pd.read_parquet(target / "data" / "qrels" / "test.parquet")
    judged = {}
    for row in qrels.itertuples():
        judged.setdefault(str(row.query_id), {})[str(row.doc_id)] = int(row.relevance)
    star = BiEncoder.load(small_demo / "models" / "star")
    splade = Splade.load(small_demo / "models" / "splade-released")
    with torch.no_grad():
        # stored as encode_corpus stores them: float16
        passages = star.encode(corpus["text"].tolist(), 24).astype(np.float16).astype(np.float32)
        adore = BiEncoder.load(small_demo / "models" / "adore-star")
        scores_of = {
            "star": star.encode(queries["text"].tolist(), 12, kind="query") @ passages.T,
            "adore-star": adore.encode(queries["text"].tolist(), 12, kind="query") @ passages.T,
            "splade-released": (
                splade.encode(queries["text"].tolist(), 8)
                @ splade.encode(corpus["text"].tolist(), 24).T
            ).toarray(),
        }
    for method, scores in scores_of.items():
        docs = corpus["doc_id"].astype(str).tolist()
        run = {
            str(qid): dict(zip(docs, map(float, row), strict=True))
            for qid, row in zip(queries["query_id"], scores, strict=True)
        }
        if method.startswith("splade"):  # an inverted index returns the matching passages
            run = {qid: {d: s for d, s in found.items() if s > 0} for qid, found in run.items()}
        # every score of our run is the saved model's dot product on the target's texts
        ours_run = pd.read_parquet(transfer / "runs" / method / "test.parquet")
        pairs = zip(ours_run["query_id"], ours_run["doc_id"], strict=True)
        by_hand_scores = [run[str(q)][str(d)] for q, d in pairs]
        assert ours_run["score"].to_numpy() == pytest.approx(by_hand_scores, rel=1e-5, abs=1e-6)
        by_hand = pytrec_eval.RelevanceEvaluator(judged, {"ndcg_cut.10"}).evaluate(run)
        expected = np.mean([by_hand[q]["ndcg_cut_10"] for q in by_hand])
        ours = json.loads((transfer / "metrics" / method / "test.json").read_text())
        assert ours["queries"] == 10 and ours["relevance_level"] == 2
        assert ours["metrics"]["nDCG@10"] == pytest.approx(expected, abs=1e-6), method
    # the target's own index, of its passages; the source's untouched
    assert faiss.read_index(str(transfer / "index" / "star" / "flat.faiss")).ntotal == len(corpus)
    assert faiss.read_index(str(small_demo / "index" / "star" / "flat.faiss")).ntotal == 300
    table = pd.read_csv(small_demo / "tables" / "zero_shot.csv")
    for method, rows in table.groupby("method"):
        cells = rows.set_index("column")["ours"]
        assert cells["mean"] == pytest.approx(cells["demo-shifted"]), method
    assert set(table["method"]) == set(SMALL_DEMO["transfer"]["methods"])
    released = table[(table["method"] == "splade-released") & (table["column"] == "demo-shifted")]
    assert released["status"].tolist() == ["ok"] and released["published"].isna().all()
    assert "| Released SPLADE | 0." in (small_demo / "tables" / "zero_shot.md").read_text()


# What the report's page may print on the browser console: Snakemake's bundled Tailwind notice.
CONSOLE_ALLOWED = ("cdn.tailwindcss.com should not be used in production",)


@pytest.mark.slow
def test_the_html_report_holds_the_tables_and_figures_and_renders(workflow_copy, small_demo):
    results = small_demo
    figures = ["training", "table-star_adore", "per-query-star_adore", "table-spladepp"]
    for name in figures:
        svg = (results / "plots" / f"{name}.svg").read_text()
        assert svg.startswith("<?xml") and "</svg>" in svg, name
    assert not (results / "plots" / "per-query-training_cost.svg").exists()  # no metric column
    report = workflow_copy / "results" / "report.html"
    snakemake(workflow_copy, "--configfile", DEMO, str(workflow_copy / "small.yaml"),
              "--report", str(report))  # fmt: skip
    page = report.read_text()
    for name in [*(f"{f}.svg" for f in figures), "star_adore.md", "spladepp.md"]:
        assert name in page, name
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("no chromium to render the report (apt-get install chromium)")
    artefacts = Path(os.environ.get("IRREPRO_ARTIFACTS", ROOT / "artifacts"))
    artefacts.mkdir(parents=True, exist_ok=True)
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr",
             "--v=0", "--virtual-time-budget=10000", "--window-size=1400,1000"]  # fmt: skip
    shot = artefacts / "report.png"
    rendered = subprocess.run(
        [browser, *flags, f"--screenshot={shot}", "--dump-dom", report.as_uri()],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert rendered.returncode == 0, rendered.stderr[-3000:]
    for category in ("Tables", "Training curves", "Ours vs published", "Per-query metrics"):
        assert category in rendered.stdout, category  # the app ran and listed every category
    console = [line for line in rendered.stderr.splitlines() if ":CONSOLE" in line]
    assert [line for line in console if not any(ok in line for ok in CONSOLE_ALLOWED)] == []
    assert shot.stat().st_size > 10_000


def rules_to_rerun(workdir: Path, name: str, config: dict) -> set[str]:
    """The rules a dry run with this config would run, from its job stats table."""
    out = snakemake(workdir, "-n", "--configfile", DEMO, write_config(workdir, name, config)).stdout
    if "Nothing to be done" in out:
        return set()
    stats = out[out.index("Job stats:") :].splitlines()[3:]
    rules = {line.split()[0] for line in itertools.takewhile(str.strip, stats)}
    return rules - {"total", "all"}


def changed(config: dict, *path: str, value) -> dict:
    """A deep copy of `config` with one key set."""
    config = copy.deepcopy(config)
    section = config
    for key in path[:-1]:
        section = section.setdefault(key, {})
    section[path[-1]] = value
    return config


CHARTS = ("plot_table", "plot_per_query")  # a table's report figures follow it


@pytest.mark.slow
@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        # a BM25 scoring parameter: the index and everything downstream, not the data
        (("bm25", "k1"), 1.2, None),
        # the arithmetic of models: every training and inference job, not BM25's
        (("precision",), "bf16", None),
        # batch sizes of search, encoding and scoring change no result: nothing reruns
        (("bm25", "query_batch_size"), 7, set()),
        (("dense", "encode_batch_size"), 5, set()),
        (("splade", "query_batch_size"), 3, set()),
        (("tct", "rerank", "batch_size"), 3, set()),
        (("cross_encoder", "rerank", "batch_size"), 3, set()),
        # so does how often training saves its state
        (("dense", "train", "checkpoint_every"), 7, set()),
        # reranking depth: the rerankers' runs, not the teacher's or students' training
        (("tct", "rerank", "depth"), 50, {"rerank_bm25", "evaluate", "table", *CHARTS}),
        # which split plays the papers' dev: the tables, and the latency measured on it
        (
            ("datasets", "demo", "table_splits"),
            {"dev": "test"},
            {"measure_latency", "table", *CHARTS},
        ),
        # the score normalisation of hybrids: likewise
        (
            ("fusion", "normalize"),
            "zscore",
            {"tune_fusion", "fuse", "measure_latency", "evaluate", "table", *CHARTS},
        ),
        # the fusion grid: tuning, the fused runs and what reads them
        (
            ("fusion", "alpha"),
            {"start": 0.0, "stop": 1.0, "step": 0.5},
            {"tune_fusion", "fuse", "measure_latency", "evaluate", "table", *CHARTS},
        ),
    ],
)
def test_changing_one_key_reruns_only_the_rules_that_read_it(
    workflow_copy, small_demo, path, value, expected
):
    rerun = rules_to_rerun(workflow_copy, "changed.yaml", changed(SMALL_DEMO, *path, value=value))
    if path == ("bm25", "k1"):
        assert {"bm25_index", "bm25_retrieve", "mine_negatives", "train_colbert"} <= rerun
        assert "prepare_dataset" not in rerun
    elif path == ("precision",):
        models = {"train_warmup", "train_colbert", "train_cross_encoder", "train_splade"}
        inference = {"encode_corpus", "dense_retrieve", "teacher_scores", "splade_index",
                     "splade_retrieve", "rerank_bm25", "encode_colbert_tokens"}  # fmt: skip
        assert models | inference <= rerun
        assert not {"prepare_dataset", "bm25_index", "bm25_retrieve"} & rerun
    else:
        assert rerun == expected


@pytest.mark.slow
def test_local_trec_collection_gets_metrics_and_a_table(workflow_copy, tmp_path):
    data = tmp_path / "mini"
    data.mkdir()
    docs = {
        "D1": "retrieval of information from text collections",
        "D2": "compilers translate programs into machine code",
        "D3": "operating systems schedule processes",
    }
    (data / "corpus.jsonl").write_text(
        "".join(json.dumps({"id": k, "contents": v}) + "\n" for k, v in docs.items())
    )
    (data / "topics.txt").write_text(
        "<top>\n<num> Number: 1\n<title> information retrieval\n</top>\n"
        "<top>\n<num> Number: 2\n<title> compilers\n</top>\n"
    )
    (data / "qrels.txt").write_text("1 0 D1 1\n2 0 D2 1\n2 0 D3 0\n")
    config = {
        "dataset": "mini",
        "datasets": {"mini": {"source": "local", "format": "trec", "path": str(data)}},
        "methods": ["bm25"],
        "bm25": {"k1": 0.9, "b": 0.4},
    }
    snakemake(workflow_copy, "--configfile", write_config(workflow_copy, "mini.yaml", config))
    metrics = json.loads((workflow_copy / "results/mini/metrics/bm25/test.json").read_text())
    assert metrics["metrics"]["MRR@10"] == 1.0 and metrics["queries"] == 2
    assert (
        "| BM25 | test | 1.000 |" in (workflow_copy / "results/mini/tables/summary.md").read_text()
    )


@pytest.mark.slow
def test_a_config_of_ones_own_takes_the_documented_defaults_not_the_demos(workflow_copy):
    """Only a bare `snakemake` runs the demo; a --configfile starts from the schema's defaults."""
    assert "rule train_splade:" in snakemake(workflow_copy, "-n").stdout  # the demo's 23 methods
    sizes = {"n_passages": 200, "n_train": 20, "n_dev": 10, "n_test": 5}
    config = {"dataset": "mine", "datasets": {"mine": {"source": "demo", **sizes}}}
    config_file = write_config(workflow_copy, "mine.yaml", {**config, "methods": ["bm25"]})
    planned = snakemake(workflow_copy, "-n", "--configfile", config_file).stdout
    assert "rule bm25_index:" in planned and "rule train_splade:" not in planned
    index = "results/mine/index/bm25"
    snakemake(workflow_copy, "--configfile", config_file, "--", index)
    params = json.loads((workflow_copy / index / "irrepro_bm25.json").read_text())["params"]
    assert (params["k1"], params["b"]) == (0.9, 0.4)  # config/README's defaults; the demo's 0.82


@pytest.mark.slow
def test_msmarco_dry_run_shows_the_full_dag(workflow_copy):
    out = snakemake(workflow_copy, "-n", "--configfile", "config/msmarco-passage.yaml")
    text = out.stdout
    for rule in (
        "prepare_dataset",
        "bm25_index",
        "train_warmup",
        "mine_negatives",
        "train_star",
        "build_dense_index",
        "train_adore",
        "train_colbert",
        "train_tct",
        "fuse",
        "train_splade",
        "teacher_scores",
        "evaluate",
        "table",
    ):
        assert f"rule {rule}:" in text or f"\n{rule} " in text, rule


RETRIEVAL = ("dense_retrieve", "splade_retrieve", "rerank_bm25", "colbert_retrieve")


def planned_runs(dry_run: str, rules=RETRIEVAL) -> list[tuple[str, set[tuple[str, str]]]]:
    """(rule, {(method, split)}) of each job of `rules` (or their `_split` copies) a dry run
    lists, from the Parquet files of its output line."""
    jobs = []
    for block in dry_run.split("\nrule ")[1:]:
        rule = block.split(":", 1)[0]
        if rule.removesuffix("_split") not in rules:
            continue
        outputs = next(line for line in block.splitlines() if line.strip().startswith("output:"))
        files = [Path(f.strip()) for f in outputs.split(":", 1)[1].split(",")]
        jobs.append((rule, {(f.parent.name, f.stem) for f in files if f.suffix == ".parquet"}))
    return jobs


@pytest.mark.slow
def test_a_model_serves_its_evaluated_splits_in_one_retrieval_job(workflow_copy):
    """dev and test of a model come from one job, which loads the model and index once, and
    are scored by one job; train (mining) and tune (fusion) runs are a job each, and no run is
    planned twice."""
    out = snakemake(workflow_copy, "-n", "--forceall", "--configfile", DEMO).stdout
    jobs = planned_runs(out)
    assert {rule for rule, _ in jobs} == {*RETRIEVAL, "dense_retrieve_split",
                                          "splade_retrieve_split"}  # fmt: skip
    for rule, runs in jobs:
        if rule.endswith("_split"):
            assert len(runs) == 1 and {split for _, split in runs} <= {"train", "tune"}, runs
        else:
            assert {split for _, split in runs} == {"dev", "test"} and len(runs) == 2, runs
    planned = [run for _, runs in jobs for run in runs]
    assert len(planned) == len(set(planned))
    assert ("star", "train") in planned and ("tct", "tune") in planned
    # and scored by one job: 36 evaluations of dev and test, not 72 of one split
    scored = planned_runs(out, ("evaluate",))
    assert len(scored) == 36
    for _, runs in scored:
        (method,) = {method for method, _ in runs}
        assert runs == {(method, "dev"), (method, "test")}


@pytest.mark.slow
def test_bad_config_is_refused_before_any_job(workflow_copy):
    config = {"methods": ["bm25", "not-a-method"]}
    out = snakemake(
        workflow_copy,
        "-n",
        "--configfile",
        DEMO,
        write_config(workflow_copy, "bad.yaml", config),
        check=False,
    )
    text = out.stdout + out.stderr
    assert out.returncode == 1 and "irrepro: unknown method 'not-a-method'" in text
    assert "Traceback" not in text


@pytest.mark.slow
def test_a_misspelt_key_is_one_line_naming_file_line_and_key(workflow_copy):
    bad = write_config(workflow_copy, "misspelt.yaml", {"methodz": ["bm25"]})
    out = snakemake(workflow_copy, "-n", "--configfile", DEMO, bad, check=False)
    text = out.stdout + out.stderr
    assert out.returncode == 1
    assert f"irrepro: {bad}:1: methodz: unknown key 'methodz' (did you mean 'methods'?)" in text
    assert "Traceback" not in text and "Failed validating" not in text
    assert len(text.splitlines()) <= 2  # the profile's notice and the message


def local_bm25(workdir: Path, folder: Path, name: str, **files: str | None) -> str:
    """An MS MARCO-layout folder (a file given as None is left out) and a config of BM25 on it,
    whose artefacts go to results/<name>/; returns the config's path."""
    texts = {"collection": "d1\tcats\nd2\tdogs\n", "queries": "q1\tcats\n", "qrels": "q1 0 d1 1\n"}
    folder.mkdir(exist_ok=True)
    for kind, text in {**texts, **files}.items():
        if text is not None:
            (folder / ("collection.tsv" if kind == "collection" else f"{kind}.dev.tsv")).write_text(
                text
            )
    dataset = {"source": "local", "format": "msmarco", "path": str(folder)}
    config = {"dataset": name, "datasets": {name: dataset}, "methods": ["bm25"]}
    return write_config(workdir, f"{name}.yaml", config)


@pytest.mark.slow
def test_a_mistake_found_while_reading_the_rules_is_one_line(workflow_copy, tmp_path):
    mine = local_bm25(workflow_copy, tmp_path, "nocorpus", collection=None)
    out = snakemake(workflow_copy, "-n", "--configfile", mine, check=False)
    text = out.stdout + out.stderr
    assert out.returncode == 1 and f"irrepro: no corpus in {tmp_path}" in text
    assert "Traceback" not in text and 'File "' not in text


@pytest.mark.slow
def test_bad_input_is_said_once_at_the_end_naming_file_and_line(workflow_copy, tmp_path):
    collection = "d1\tcats\nd2\tdogs\nd1\tfish\n"
    mine = local_bm25(workflow_copy, tmp_path / "mine", "mine", collection=collection)
    target = "results/mine/data/manifest.json"
    out = snakemake(workflow_copy, target, "--configfile", mine, check=False)
    message = f"{tmp_path / 'mine' / 'collection.tsv'}:3: duplicate doc_id 'd1'"
    assert out.returncode == 1
    assert (out.stdout + out.stderr).count(message) == 1
    assert out.stderr.index(message) > out.stderr.index("Exiting because a job execution failed")
    assert "Traceback" not in out.stdout + out.stderr


@pytest.mark.slow
def test_a_source_replaced_by_an_older_file_reruns_the_data_stage(workflow_copy, tmp_path):
    data = tmp_path / "old-mtime"
    mine = local_bm25(workflow_copy, data, "old")
    qrels = data / "qrels.dev.tsv"
    target = "results/old/data/manifest.json"
    snakemake(workflow_copy, target, "--configfile", mine)
    manifest = json.loads((workflow_copy / target).read_text())
    assert set(manifest["files_sha256"]) == {str(p) for p in data.iterdir()}
    assert manifest["written_by"]["library"]

    def replace_with(text: str) -> str:
        new = tmp_path / "qrels.new"
        new.write_text(text)
        old = qrels.stat().st_mtime - 3600
        os.utime(new, (old, old))  # what tar, rsync -a and cp -p leave
        os.replace(new, qrels)
        out = snakemake(workflow_copy, target, "--configfile", mine, "-n")
        return out.stdout + out.stderr

    assert "Nothing to be done" in replace_with("q1 0 d1 1\n")  # the same bytes
    assert "prepare_dataset" in replace_with("q1 0 d2 1\n")


@pytest.mark.slow
def test_a_job_asking_more_than_the_machine_has_runs_scaled_down_not_waiting(
    workflow_copy, tmp_path
):
    """Locally Snakemake caps a job's threads and resources at what was given: never a hang."""
    mine = local_bm25(workflow_copy, tmp_path / "big-ask", "big")
    out = snakemake(
        workflow_copy, "results/big/data/manifest.json",
        "--resources", "mem_mb=100", "gpu=0",
        "--set-resources", "prepare_dataset:mem_mb=1000000", "prepare_dataset:gpu=4",
        "--set-threads", "prepare_dataset=512",
        "--configfile", mine,
    )  # fmt: skip
    assert "mem_mb=100" in out.stdout + out.stderr
