"""Every method (table row) the pipeline knows: its name in config, label, and producing stage.

`implemented` is False for stages whose rules are declared in the DAG but whose code has not
landed yet; such methods may appear in `methods:` only for a dry run (`snakemake -n`), and
tables show them as "not run" until their runs exist.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import ConfigError


@dataclass(frozen=True)
class Method:
    name: str
    label: str
    stage: str
    implemented: bool = False


WARMUP = ("inbatch", "randneg", "bm25neg")
ADORE_BASES = (*WARMUP, "star")
PQ_M = (6, 12, 24, 48, 96)
TCT_STUDENTS = ("poolavg", "tct-triplet", "tct")
BIENCODERS = (*WARMUP, "star", *TCT_STUDENTS)
SPLADE = ("splade-max", "distilsplade", "splade-ensembledistil", "splade-selfdistil")
ADORE = (
    *(f"adore-{base}" for base in ADORE_BASES),
    *(f"adore-bm25neg-pq{m}" for m in PQ_M),
)
DENSE_RUNS = (*BIENCODERS, *ADORE)  # methods whose runs are dense retrieval from a faiss index
SPARSE_RUNS = ("bm25", *SPLADE)
RERANKERS = ("colbert", *(f"{name}-rerank" for name in TCT_STUDENTS))  # of BM25's top-k
NEGATIVE_SOURCES = ("bm25", "bm25neg", "splade-max")  # runs whose train top-k become negatives
HYBRID_PREFIX = "hybrid-"

_LABELS = {
    "inbatch": "In-Batch Neg",
    "randneg": "Rand Neg",
    "bm25neg": "BM25 Neg",
    "star": "STAR",
    "poolavg": "PoolAvg",
    "tct-triplet": "TCT (triplet KD)",
    "tct": "TCT",
    "splade-max": "SPLADE-max",
    "distilsplade": "DistilSPLADE",
    "splade-ensembledistil": "SPLADE++ EnsembleDistil",
    "splade-selfdistil": "SPLADE++ SelfDistil",
}

_ALL = [
    Method("bm25", "BM25", "bm25", implemented=True),
    # STAR/ADORE (Zhan et al. 2021)
    *[Method(name, _LABELS[name], "dense", implemented=True) for name in WARMUP],
    Method("star", "STAR", "star", implemented=True),
    *[
        Method(f"adore-{base}", f"ADORE+{_LABELS[base]}", "adore", implemented=True)
        for base in ADORE_BASES
    ],
    *[
        Method(f"adore-bm25neg-pq{m}", f"ADORE+BM25 Neg, PQ m={m}", "adore", implemented=True)
        for m in PQ_M
    ],
    Method("bert-reranker", "BERT reranker", "rerank"),
    # TCT-ColBERT (Lin et al. 2021)
    Method("colbert", "ColBERT (reranks BM25)", "tct", implemented=True),
    *[Method(name, _LABELS[name], "tct", implemented=True) for name in TCT_STUDENTS],
    *[
        Method(f"{name}-rerank", f"{_LABELS[name]} (reranks BM25)", "tct", implemented=True)
        for name in TCT_STUDENTS
    ],
    # SPLADE++ (Formal et al. 2022)
    *[Method(name, _LABELS[name], "splade") for name in SPLADE],
]

METHODS: dict[str, Method] = {method.name: method for method in _ALL}


def hybrid_parts(name: str) -> tuple[str, str] | None:
    """(dense, sparse) of `hybrid-<dense>-<sparse>`, or None if `name` is not such a pair."""
    if not name.startswith(HYBRID_PREFIX):
        return None
    pair = name.removeprefix(HYBRID_PREFIX)
    for sparse in SPARSE_RUNS:
        dense = pair.removesuffix(f"-{sparse}")
        if dense != pair and dense in DENSE_RUNS:
            return dense, sparse
    return None


def get(name: str) -> Method:
    """A method by name; any `hybrid-<dense>-<sparse>` pair of known runs is one too."""
    if name in METHODS:
        return METHODS[name]
    parts = hybrid_parts(name)
    if parts is None:
        raise ConfigError(
            f"unknown method {name!r} in `methods`; known: {', '.join(METHODS)}, and "
            f"hybrid-<dense>-<sparse> for a dense run and one of {', '.join(SPARSE_RUNS)}"
        )
    dense, sparse = (get(part) for part in parts)
    implemented = dense.implemented and sparse.implemented
    return Method(name, f"{dense.label} + {sparse.label}", "fusion", implemented)


def known(name: str) -> bool:
    return name in METHODS or hybrid_parts(name) is not None


def label(name: str) -> str:
    return get(name).label if known(name) else name


def dense_index_of(method: str) -> tuple[str, str]:
    """(model whose document index a dense method searches, index kind): ADORE trains only a
    query encoder, so `adore-bm25neg-pq24` searches bm25neg's PQ m=24 index."""
    if method in BIENCODERS:
        return method, "flat"
    if method not in ADORE:
        raise ConfigError(f"{method!r} is not a dense retrieval method")
    base = method.removeprefix("adore-")
    for m in PQ_M:
        if base.endswith(f"-pq{m}"):
            return base.removesuffix(f"-pq{m}"), f"pq{m}"
    return base, "flat"


def one_of(names) -> str:
    """A wildcard constraint matching exactly these names."""
    return "|".join(re.escape(name) for name in names)
