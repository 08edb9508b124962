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
NEGATIVE_SOURCES = ("bm25", "bm25neg", "splade-max")  # runs whose train top-k become negatives
HYBRIDS = {"hybrid-poolavg-bm25": ("poolavg", "bm25"), "hybrid-tct-bm25": ("tct", "bm25")}

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
    Method("colbert", "ColBERT", "tct"),
    *[Method(name, _LABELS[name], "tct") for name in TCT_STUDENTS],
    *[Method(f"{name}-rerank", f"{_LABELS[name]} (rerank)", "tct") for name in TCT_STUDENTS],
    *[Method(name, f"{_LABELS[dense]} + BM25", "fusion") for name, (dense, _) in HYBRIDS.items()],
    # SPLADE++ (Formal et al. 2022)
    *[Method(name, _LABELS[name], "splade") for name in SPLADE],
]

METHODS: dict[str, Method] = {method.name: method for method in _ALL}


def get(name: str) -> Method:
    try:
        return METHODS[name]
    except KeyError:
        raise ConfigError(
            f"unknown method {name!r} in `methods`; known: {', '.join(METHODS)}"
        ) from None


def label(name: str) -> str:
    return METHODS[name].label if name in METHODS else name


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
