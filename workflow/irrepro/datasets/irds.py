"""Collections fetched by ir_datasets (downloads with checksums, cached in $IR_DATASETS_HOME).

`msmarco-passage` and `beir` are presets over the generic `ir_datasets` source, which takes one
id for the documents and one id per split for its queries and judgments.
"""

from __future__ import annotations

from collections.abc import Iterator

from ..errors import ConfigError
from .writer import QrelRecord, TextRecord

MSMARCO_PASSAGE = {
    "train": "msmarco-passage/train/judged",
    "dev": "msmarco-passage/dev/small",
    "dl19": "msmarco-passage/trec-dl-2019/judged",
}


def _registered(dataset_id: str) -> bool:
    import ir_datasets

    return dataset_id in ir_datasets.registry


def plan(spec: dict) -> tuple[str, dict[str, str]]:
    """(documents id, {split: queries+qrels id}) for an ir_datasets-backed dataset config."""
    source = spec["source"]
    if source == "msmarco-passage":
        wanted = spec.get("splits") or list(MSMARCO_PASSAGE)
        unknown = sorted(set(wanted) - set(MSMARCO_PASSAGE))
        if unknown:
            raise ConfigError(
                f"msmarco-passage has splits {', '.join(MSMARCO_PASSAGE)}; "
                f"unknown: {', '.join(unknown)}"
            )
        return "msmarco-passage", {name: MSMARCO_PASSAGE[name] for name in wanted}
    if source == "beir":
        if not spec.get("name"):
            raise ConfigError("a beir dataset needs `name` (e.g. scifact, nfcorpus, fiqa)")
        corpus = f"beir/{spec['name']}"
        splits = {}
        for split in spec.get("splits") or ["test"]:
            candidate = f"{corpus}/{split}"
            splits[split] = (
                candidate if _registered(candidate) or not _registered(corpus) else corpus
            )
        return corpus, splits
    if source == "ir_datasets":
        if not spec.get("corpus") or not isinstance(spec.get("splits"), dict):
            raise ConfigError(
                "an ir_datasets dataset needs `corpus: <id>` and `splits: {name: <id>}`"
            )
        return spec["corpus"], dict(spec["splits"])
    raise ConfigError(f"not an ir_datasets source: {source!r}")


def check_registered(corpus: str, splits: dict[str, str]) -> None:
    """Fail at DAG time, without downloading, on an id ir_datasets does not know."""
    import ir_datasets

    for dataset_id in [corpus, *splits.values()]:
        if not _registered(dataset_id):
            raise ConfigError(
                f"ir_datasets does not know {dataset_id!r} (see https://ir-datasets.com)"
            )
        dataset = ir_datasets.load(dataset_id)
        if dataset_id == corpus and not dataset.has_docs():
            raise ConfigError(f"ir_datasets {dataset_id!r} has no documents")
    for split, dataset_id in splits.items():
        dataset = ir_datasets.load(dataset_id)
        if not (dataset.has_queries() and dataset.has_qrels()):
            raise ConfigError(f"split {split!r}: ir_datasets {dataset_id!r} lacks queries or qrels")


def doc_text(doc, join_title: bool) -> str:
    if join_title or not hasattr(doc, "text"):
        return doc.default_text()
    return doc.text


def corpus_records(dataset, label: str, join_title: bool) -> Iterator[TextRecord]:
    """`dataset` is an ir_datasets dataset (or anything with the same docs_iter())."""
    for number, doc in enumerate(dataset.docs_iter(), start=1):
        yield TextRecord(doc.doc_id, doc_text(doc, join_title), label, number)


def query_records(dataset, label: str) -> Iterator[TextRecord]:
    for number, query in enumerate(dataset.queries_iter(), start=1):
        yield TextRecord(query.query_id, query.default_text(), label, number)


def qrel_records(dataset, label: str) -> Iterator[QrelRecord]:
    for number, qrel in enumerate(dataset.qrels_iter(), start=1):
        yield QrelRecord(qrel.query_id, qrel.doc_id, int(qrel.relevance), label, number)


def load(dataset_id: str):
    import ir_datasets

    return ir_datasets.load(dataset_id)
