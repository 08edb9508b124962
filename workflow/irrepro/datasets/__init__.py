"""The data stage: any configured source -> corpus, queries and qrels Parquet artefacts.

`split_names` and `source_files` answer at DAG-construction time, without reading data;
`prepare` does the conversion.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from ..errors import ConfigError
from ..logs import Tally
from ..provenance import code_version
from . import demo, irds, local, sample
from .writer import EMPTY_DOCUMENTS, read_corpus_ids, write_corpus, write_qrels, write_queries

log = logging.getLogger(__name__)

SOURCES = ("demo", "msmarco-passage", "beir", "ir_datasets", "local")
IRDS_SOURCES = ("msmarco-passage", "beir", "ir_datasets")


def _local_root(spec: dict) -> Path:
    if not spec.get("path"):
        raise ConfigError("a local dataset needs `path` (the folder holding the files)")
    return Path(spec["path"]).expanduser()


def _local_discovery(spec: dict) -> local.Discovery:
    return local.discover_splits(spec.get("format", ""), _local_root(spec), spec.get("split_files"))


def _local_splits(spec: dict) -> dict[str, local.SplitFiles]:
    return _local_discovery(spec).splits


def unused_files(spec: dict) -> dict[str, str]:
    """Files of a local dataset's folder that look like a split's but are not used, and why."""
    return _local_discovery(spec).unused if spec.get("source") == "local" else {}


def split_names(spec: dict) -> list[str]:
    """The dataset's splits, each with queries and judgments."""
    source = spec.get("source")
    if source == "demo":
        demo.DemoSpec.from_config(spec)  # fail at DAG time on impossible sizes
        return list(demo.SPLITS)
    if source in IRDS_SOURCES:
        return [local.check_split_name(name, "splits") for name in irds.plan(spec)[1]]
    if source == "local":
        discovery = _local_discovery(spec)
        for file, why in discovery.unused.items():
            log.warning("not used: %s (%s)", file, why)
        return list(discovery.splits)
    raise ConfigError(f"dataset source must be one of {', '.join(SOURCES)}, not {source!r}")


def source_files(spec: dict) -> list[str]:
    """Local files the data stage reads (rule inputs, so that editing them re-runs it)."""
    if spec.get("source") != "local":
        return []
    root = _local_root(spec)
    files = [local.corpus_path(spec["format"], root, spec.get("corpus"))]
    for split in _local_splits(spec).values():
        files += [split.queries, split.qrels]
    return sorted({str(path) for path in files})


def relevance_level(spec: dict, split: str) -> int:
    """Lowest grade counted relevant by binary metrics (trec_eval -l); DL19 uses 2."""
    return int((spec.get("relevance_level") or {}).get(split, 1))


def prepare(
    spec: dict,
    corpus_out: str,
    queries_out: dict,
    qrels_out: dict,
    manifest_out: str,
    fingerprints: dict | None = None,
) -> dict:
    """Convert the configured source into artefacts; returns (and writes) a manifest of counts
    (and of the SHA-256 of each source file, `fingerprints`)."""
    join_title = spec.get("title", "join") == "join"
    source = spec["source"]
    splits = split_names(spec)
    manifest = {"source": source, "corpus": {}, "splits": {}, "unused_files": unused_files(spec)}
    if fingerprints:
        manifest["files_sha256"] = fingerprints
    manifest["written_by"] = code_version()
    sources = {}  # split -> (queries file, qrels file), named when a split turns out empty
    if source == "demo":
        world = demo.DemoWorld(demo.DemoSpec.from_config(spec))

        def corpus_source():
            return world.corpus()

        def split_records(name):
            return world.split(name)
    elif source == "local":
        fmt, root = spec["format"], _local_root(spec)
        corpus_file = local.corpus_path(fmt, root, spec.get("corpus"))
        files = _local_splits(spec)

        def corpus_source():
            return local.corpus_records(corpus_file, join_title)

        manifest["corpus"]["file"] = str(corpus_file)
        for name, (queries_file, qrels_file) in files.items():
            judged = f" (the queries judged in {qrels_file})" if fmt == "beir" else ""
            sources[name] = (f"{queries_file}{judged}", str(qrels_file))

        def split_records(name):
            qrels = list(local.qrel_records(fmt, files[name]))
            only = {q.query_id for q in qrels} if fmt == "beir" else None
            topic_field = spec.get("topic_field", "title")
            return local.query_records(fmt, files[name], topic_field, only), qrels
    else:
        corpus_id, split_ids = irds.plan(spec)
        irds.check_registered(corpus_id, split_ids)

        def corpus_source():
            return irds.corpus_records(irds.load(corpus_id), f"ir_datasets {corpus_id}", join_title)

        manifest["corpus"]["ir_datasets"] = corpus_id

        def split_records(name):
            dataset, label = irds.load(split_ids[name]), f"ir_datasets {split_ids[name]}"
            return irds.query_records(dataset, label), list(irds.qrel_records(dataset, label))

    corpus_records = corpus_source()
    if spec.get("sample_passages"):
        judged = {qrel.doc_id for name in splits for qrel in split_records(name)[1]}
        seed = int(spec.get("sample_seed", 0))
        corpus_records = sample.sampled(corpus_source, judged, spec["sample_passages"], seed)
        manifest["corpus"]["sample"] = {
            "passages": spec["sample_passages"], "judged_kept": len(judged), "seed": seed
        }  # fmt: skip
    empty = Tally(EMPTY_DOCUMENTS)
    manifest["corpus"]["documents"] = write_corpus(corpus_records, corpus_out, empty=empty)
    manifest["counted"] = empty.record()  # write_corpus logged it
    corpus_ids = read_corpus_ids(corpus_out)
    for name in splits:
        query_records, qrel_records = split_records(name)
        queries_from, qrels_from = sources.get(name, (None, None))
        queries = write_queries(query_records, queries_out[name], source=queries_from)
        qrels = write_qrels(
            qrel_records,
            qrels_out[name],
            corpus_ids,
            queries["query_id"],
            unknown_docs=spec.get("qrels_unknown_docs", "error"),
            source=qrels_from,
        )
        unjudged = len(set(queries["query_id"]) - set(qrels["query_id"]))
        if unjudged:
            log.warning(
                "split %s: %d queries have no judgments and are not evaluated", name, unjudged
            )
        manifest["splits"][name] = {
            "queries": len(queries),
            "judged_queries": int(qrels["query_id"].nunique()),
            "judgments": len(qrels),
            "relevance_grades": {
                str(k): int(v) for k, v in qrels["relevance"].value_counts().sort_index().items()
            },
            "relevance_level": relevance_level(spec, name),
        }
        log.info("split %s: %s", name, manifest["splits"][name])
    Path(manifest_out).write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def prepare_folder(spec: dict, folder: str | Path) -> dict:
    """The data stage's artefacts in its own layout under `folder` (corpus.parquet,
    queries/<split>.parquet, qrels/<split>.parquet, manifest.json), for code run outside
    Snakemake: tests and benchmarks."""
    folder = Path(folder)
    splits = split_names(spec)
    return prepare(
        spec,
        str(folder / "corpus.parquet"),
        {s: str(folder / "queries" / f"{s}.parquet") for s in splits},
        {s: str(folder / "qrels" / f"{s}.parquet") for s in splits},
        str(folder / "manifest.json"),
    )
