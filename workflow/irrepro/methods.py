"""The method registry: every table row the pipeline knows, grouped in families.

A `Family` owns what a new method touches outside its own library code: the names of its
methods, the config section its settings come from (`settings`: exactly the fields its rules
read), the files its training reads (`train_inputs`), and the library function that builds its
training job (`recipe`, imported only by the job that trains). A `Method` is one table row: its
label, its family, and how its runs are made (`run`: the rule that writes runs/<name>/).

`implemented` is False for families whose rules are declared in the DAG but whose code has not
landed yet; their methods may appear in `methods:` only for a dry run (`snakemake -n`), and
tables show them as "not run" until their runs exist.

Nothing here imports torch: the Snakefile reads this module while it builds the DAG.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import ConfigError
from .layout import Layout
from .speed import TRAINING_BOOKKEEPING, speed_settings, without_speed

PQ_M = (6, 12, 24, 48, 96)
HYBRID_PREFIX = "hybrid-"
RERANK_SUFFIX = "-rerank"

# How a method's runs are made, i.e. which rule writes runs/<method>/<split>.parquet.
BM25_RUN, DENSE_RUN, RERANK_RUN, FUSION_RUN = "bm25", "dense", "rerank", "fusion"
SPLADE_RUN = "splade"
COLBERT_RUN = "colbert"  # end to end: a token index, candidates, exact MaxSim
SPARSE_KINDS = (BM25_RUN, SPLADE_RUN)  # runs that can be the sparse side of a hybrid


@dataclass(frozen=True)
class Method:
    """One table row and how it is made.

    `base`: the model whose documents it searches or whose scores rerank (ADORE: its base
    model; a reranker: its model); `index`: the kind of index it searches. For training:
    `init`, the model it starts from; `teacher`, the model it starts from and learns from;
    `negatives`, the run whose train top-k it trains on; `teacher_scores`, whether it learns
    the cross-encoder's scores of those negatives."""

    name: str
    label: str
    family: Family
    run: str
    loss: str | None = None  # the training loss by default (config: `loss:` of its section)
    base: str | None = None
    index: str = "flat"
    init: str | None = None
    teacher: str | None = None
    negatives: str | None = None
    teacher_scores: bool = False

    @property
    def implemented(self) -> bool:
        return self.family.implemented


@dataclass(frozen=True)
class Family:
    """A group of methods trained by one recipe from one config section.

    `section` is the top-level config key of its settings (and of its encoder's input lengths);
    `recipe` the "module:function" that builds a method's training job (irrepro.train.job);
    `scorer` how its models rerank a run (irrepro.candidates.SCORERS)."""

    name: str
    section: str | None = None
    recipe: str | None = None
    implemented: bool = True
    scorer: str | None = None

    def settings(self, config: dict, method: Method) -> dict:
        """The config fields training `method` reads (its rule's params)."""
        raise ConfigError(f"{method.name} is not trained by the pipeline")

    def encoder(self, config: dict, method: Method) -> dict:
        """The encoder settings (input lengths included) `method`'s texts go through."""
        return config[self.section]["encoder"]

    def train_inputs(self, method: Method, layout: Layout) -> dict[str, str]:
        """Files training `method` reads besides the corpus and the train queries."""
        inputs = {}
        if method.init:
            inputs["init"] = layout.model(method.init)
        if method.teacher:
            inputs["teacher"] = layout.model(method.teacher)
        if method.negatives:
            inputs["negatives"] = layout.negatives(method.negatives)
        if method.negatives and method.teacher_scores:
            inputs["teacher_scores"] = layout.teacher_scores(method.negatives)
        return inputs

    def rerank_settings(self, config: dict) -> dict:
        """How this family's models read a (query, passage) when they rerank a run."""
        section = config[self.section]
        lengths = {k: section["encoder"][k] for k in ("query_length", "passage_length")}
        return {**without_speed(section["rerank"], f"{self.section}.rerank"), **lengths}


def without_checkpointing(training: dict) -> dict:
    return {key: value for key, value in training.items() if key not in TRAINING_BOOKKEEPING}


def with_checkpointing(settings: dict, config: dict, name: str) -> dict:
    """Training settings of method `name` (its rule's params) with how often it saves its
    state, read from the config: the params leave that out (Plan.training), so changing it
    reruns nothing."""
    if "training" not in settings:
        return settings
    record = get(name)
    resolved = record.family.settings(config, record)["training"]
    kept = {key: resolved[key] for key in TRAINING_BOOKKEEPING if key in resolved}
    return {**settings, "training": {**settings["training"], **kept}}


def _training(section: dict, method: str) -> dict:
    """A section's shared `train` block with the method's own overrides."""
    return {**section["train"], **section.get("methods", {}).get(method, {})}


class DenseFamily(Family):
    """STAR/ADORE's bi-encoders: the warm-up models (In-Batch, Rand, BM25 Neg) and STAR."""

    def settings(self, config, method):
        section = config[self.section]
        return {"encoder": section["encoder"], "training": _training(section, method.name)}


class AnceFamily(DenseFamily):
    """ANCE: a warm-up model trained on negatives it re-mines from its own index as it trains
    (its corpus encodings are sharded as encode_corpus's)."""

    def settings(self, config, method):
        shards = {"shard_size": config[self.section]["shard_size"]}
        return {**super().settings(config, method), **shards}


class ReleasedDenseFamily(Family):
    """Released bi-encoders evaluated without training, each row's checkpoint from
    `<section>.released.<key>`: DRhard's STAR, its ADORE query encoder, which searches the
    released STAR's index (its `base`), and castorini's TCT-ColBERT."""

    checkpoint_keys = {"star-released": "star", "adore-released": "adore", "tct-released": "tct"}

    def settings(self, config, method):
        return {"encoder": self.encoder(config, method), "training": config[self.section]["train"]}

    def encoder(self, config, method) -> dict:
        """The section's encoder settings under the row's own entry (input lengths included:
        DRhard's inference reads 32 query and 256 passage tokens)."""
        section = config[self.section]
        key = self.checkpoint_keys[method.name]
        released = section["released"][key]
        if not released.get("checkpoint"):
            raise ConfigError(
                f"{method.name} needs {self.section}.released.{key}.checkpoint: a model id or "
                "the folder downloaded from the paper's code"
            )
        return {**section["encoder"], **{k: v for k, v in released.items() if v is not None}}


class AdoreFamily(Family):
    """ADORE: a query encoder trained against its base model's fixed index."""

    def encoder(self, config, method):
        """Its base's: the queries are encoded as the base model's were."""
        base = get(method.base)
        return base.family.encoder(config, base)

    def settings(self, config, method):
        section = config[self.section]
        return {
            "training": _training(section, "adore"),
            "query_length": self.encoder(config, method)["query_length"],
        }

    def train_inputs(self, method, layout):
        return {
            "doc_encoder": layout.model(method.base),
            "embeddings": layout.embeddings(method.base),
            "index": layout.index(method.base, method.index),
        }


class ColbertFamily(Family):
    """TCT-ColBERT's teacher: ColBERT trained by in-batch softmax over MaxSim scores."""

    def settings(self, config, method):
        section = config[self.section]
        return {"encoder": section["encoder"], "training": section["colbert"]}


class TctStudentFamily(Family):
    """TCT-ColBERT's students, started from the teacher and (but PoolAvg) distilled from it."""

    def settings(self, config, method):
        section = config[self.section]
        return {
            "encoder": section["encoder"],
            "distillation": {key: section[key] for key in ("tau", "gamma")},
            "training": _training(section, method.name),
        }


class CrossEncoderFamily(Family):
    """The cross-encoder: the BERT-reranker row and SPLADE++'s teacher."""

    def settings(self, config, method):
        section = config[self.section]
        return {"encoder": section["encoder"], "training": section["train"]}

    def rerank_settings(self, config):
        section = config[self.section]
        rerank = without_speed(section["rerank"], f"{self.section}.rerank")
        return {**rerank, "max_length": section["encoder"]["max_length"]}


class SpladeFamily(Family):
    """SPLADE-max, DistilSPLADE-max and SPLADE++: one recipe, their loss and negatives differ."""

    def settings(self, config, method):
        section = config[self.section]
        backbone = section.get("backbones", {}).get(method.name, section["encoder"]["backbone"])
        settings = {
            "encoder": {**section["encoder"], "backbone": backbone},
            "training": _training(section, method.name),
        }
        if method.teacher_scores:  # the negatives the teacher scored are those it trains on
            settings["teacher_depth"] = section["teacher_depth"]
        return settings


class ReleasedSpladeFamily(Family):
    """Released SPLADE checkpoints evaluated without training, each row's from its config key:
    `splade.released` (the paper's EnsembleDistil) and `splade.released_selfdistil`."""

    checkpoint_keys = {
        "splade-released": "released",
        "splade-released-selfdistil": "released_selfdistil",
    }

    def settings(self, config, method):
        section = config[self.section]
        checkpoint = section[self.checkpoint_keys[method.name]]
        return {
            "encoder": {**section["encoder"], "backbone": checkpoint},
            "training": section["train"],
        }


class RerankFamily(Family):
    """A first-stage run (BM25's top-k) reordered by a trained model."""

    def settings(self, config, method):
        model = get(method.base).family
        return {**model.rerank_settings(config), "scorer": model.scorer}

    def speed(self, config: dict, method: Method) -> dict:
        """Its scoring batch sizes (not params: speed.py), from the reranking model's section."""
        return speed_settings(config, f"{get(method.base).family.section}.rerank")

    def inputs(self, method: Method, layout: Layout) -> dict[str, str]:
        """The model; a bi-encoder reranks with its stored passage and query vectors instead."""
        if get(method.base).family.scorer == "stored-vectors":
            return {"embeddings": layout.embeddings(method.base)}
        return {"model": layout.model(method.base)}


BM25 = Family("bm25", "bm25")
RELEASED_DENSE = ReleasedDenseFamily(
    "dense-released", "dense", "irrepro.dense.released:released_job"
)
RELEASED_TCT = ReleasedDenseFamily("tct-released", "tct", RELEASED_DENSE.recipe)
WARMUP = DenseFamily("warm-up", "dense", "irrepro.dense.training:biencoder_job")
STAR = DenseFamily("star", "dense", WARMUP.recipe)
ANCE = AnceFamily("ance", "dense", "irrepro.dense.ance:ance_job")
ADORE = AdoreFamily("adore", "dense", "irrepro.dense.adore:adore_job")
COLBERT = ColbertFamily("colbert", "tct", "irrepro.tct.training:colbert_job", scorer="maxsim")
TCT_STUDENTS = TctStudentFamily(
    "tct-students", "tct", "irrepro.tct.training:student_job", scorer="stored-vectors"
)
RERANK = RerankFamily("rerank")
FUSION = Family("fusion", "fusion")
CROSS_ENCODER = CrossEncoderFamily(
    "cross-encoder", "cross_encoder", "irrepro.cross_encoder:cross_encoder_job",
    scorer="cross-encoder",
)  # fmt: skip
SPLADE = SpladeFamily("splade", "splade", "irrepro.splade.training:splade_job")
SPLADE_RELEASED = ReleasedSpladeFamily(
    "splade-released", "splade", "irrepro.splade.training:released_job"
)
FAMILIES = (BM25, WARMUP, STAR, ANCE, ADORE, RELEASED_DENSE, COLBERT, TCT_STUDENTS,
            RELEASED_TCT, RERANK, FUSION, CROSS_ENCODER, SPLADE, SPLADE_RELEASED)  # fmt: skip
ENSEMBLE = "ensemble"  # negatives pooled from several runs (splade.ensemble): EnsembleDistil's

_ALL = [
    Method("bm25", "BM25", BM25, BM25_RUN),
    # STAR/ADORE (Zhan et al. 2021)
    Method("inbatch", "In-Batch Neg", WARMUP, DENSE_RUN, loss="inbatch"),
    Method("randneg", "Rand Neg", WARMUP, DENSE_RUN, loss="sampled-negatives"),
    Method("bm25neg", "BM25 Neg", WARMUP, DENSE_RUN, loss="sampled-negatives", negatives="bm25"),
    Method("star", "STAR", STAR, DENSE_RUN, loss="star", init="bm25neg", negatives="bm25neg"),
    Method("ance", "ANCE", ANCE, DENSE_RUN, loss="ance", init="bm25neg"),
    Method("star-released", "STAR (released)", RELEASED_DENSE, DENSE_RUN),
    Method(
        "adore-released", "ADORE+STAR (released)", RELEASED_DENSE, DENSE_RUN, base="star-released"
    ),
    Method(
        "bert-reranker",
        "BERT reranker",
        CROSS_ENCODER,
        RERANK_RUN,
        "localized-ce",
        base="bert-reranker",
        negatives="bm25",
    ),  # fmt: skip
    # TCT-ColBERT (Lin et al. 2021)
    Method("colbert", "ColBERT", COLBERT, COLBERT_RUN, "colbert", negatives="bm25"),
    *(
        Method(name, label, TCT_STUDENTS, DENSE_RUN, loss, teacher="colbert", negatives="bm25")
        for name, label, loss in (
            ("poolavg", "PoolAvg", "labels"),
            ("tct-triplet", "TCT (triplet KD)", "triplet-kd"),
            ("tct", "TCT", "inbatch-kd"),
        )
    ),
    Method("tct-released", "TCT-ColBERT (released)", RELEASED_TCT, DENSE_RUN),
    # SPLADE v2 and SPLADE++ (Formal et al. 2021, 2022)
    Method("splade-max", "SPLADE-max", SPLADE, SPLADE_RUN, "inbatch-nll", negatives="bm25"),
    *(
        Method(
            name, label, SPLADE, SPLADE_RUN, "margin-mse", negatives=negatives, teacher_scores=True
        )  # fmt: skip
        for name, label, negatives in (
            ("distilsplade", "DistilSPLADE-max", "bm25"),
            ("splade-ensembledistil", "SPLADE++ EnsembleDistil", ENSEMBLE),
            ("splade-selfdistil", "SPLADE++ SelfDistil", "distilsplade"),
        )
    ),
    Method("splade-released", "Released SPLADE", SPLADE_RELEASED, SPLADE_RUN),
    Method(
        "splade-released-selfdistil", "Released SPLADE (SelfDistil)", SPLADE_RELEASED, SPLADE_RUN
    ),
]


def _adore(base: Method, kind: str = "flat") -> Method:
    suffix = "" if kind == "flat" else f"-{kind}"
    label = f"ADORE+{base.label}" + ("" if kind == "flat" else f", PQ m={kind[2:]}")
    return Method(f"adore-{base.name}{suffix}", label, ADORE, DENSE_RUN, "adore", base.name, kind)


def _reranker(model: Method) -> Method:
    label = f"{model.label} (reranks BM25)"
    return Method(f"{model.name}{RERANK_SUFFIX}", label, RERANK, RERANK_RUN, base=model.name)


METHODS: dict[str, Method] = {method.name: method for method in _ALL}


def names(*, family: Family | None = None, run: str | tuple[str, ...] | None = None) -> tuple:
    """Names of the registered methods of a family and/or whose runs one of `run` makes."""
    runs = (run,) if isinstance(run, str) else run
    return tuple(
        m.name
        for m in METHODS.values()
        if (family is None or m.family is family) and (runs is None or m.run in runs)
    )


def _register(methods) -> None:
    METHODS.update((method.name, method) for method in methods)


_register(
    _adore(METHODS[base]) for base in names(family=WARMUP) + names(family=STAR) + names(family=ANCE)
)
_register(_adore(METHODS["bm25neg"], f"pq{m}") for m in PQ_M)  # Table 5: BM25 Neg's index
_register(_reranker(METHODS[name]) for name in names(family=COLBERT) + names(family=TCT_STUDENTS))


def trained(family: Family) -> tuple[str, ...]:
    """The models a family's training rule writes (its wildcard's values)."""
    return names(family=family) if family.recipe else ()


def biencoders() -> tuple[str, ...]:
    """Dense models with a corpus embedding and a document index of their own (not a query
    encoder searching its base's: ADORE's)."""
    return tuple(n for n in names(run=DENSE_RUN) if METHODS[n].base is None)


def negative_sources() -> tuple[str, ...]:
    """Negatives files some method trains on: runs' train top-k, and the ensemble's."""
    return tuple(sorted({m.negatives for m in METHODS.values() if m.negatives}))


def hybrid_name(dense: str, sparse: str) -> str:
    return f"{HYBRID_PREFIX}{dense}-{sparse}"


def hybrid_parts(name: str) -> tuple[str, str] | None:
    """(dense, sparse) of `hybrid-<dense>-<sparse>`, or None if `name` is not such a pair."""
    if not name.startswith(HYBRID_PREFIX):
        return None
    pair = name.removeprefix(HYBRID_PREFIX)
    for sparse in names(run=SPARSE_KINDS):
        dense = pair.removesuffix(f"-{sparse}")
        if dense != pair and dense in names(run=DENSE_RUN):
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
            f"hybrid-<dense>-<sparse> for a dense run and one of "
            f"{', '.join(names(run=SPARSE_KINDS))}"
        )
    dense, sparse = (get(part) for part in parts)
    family = FUSION if dense.implemented and sparse.implemented else _DECLARED_FUSION
    return Method(name, f"{dense.label} + {sparse.label}", family, FUSION_RUN)


_DECLARED_FUSION = Family("fusion", "fusion", implemented=False)


def known(name: str) -> bool:
    return name in METHODS or hybrid_parts(name) is not None


def label(name: str) -> str:
    return get(name).label if known(name) else name


def sparse_neural(method: str) -> bool:
    """Whether a method's runs come from a learned sparse (SPLADE) index."""
    return method in METHODS and METHODS[method].run == SPLADE_RUN


def dense_index_of(method: str) -> tuple[str, str]:
    """(model whose document index a dense method searches, index kind): ADORE trains only a
    query encoder, so `adore-bm25neg-pq24` searches bm25neg's PQ m=24 index."""
    record = METHODS.get(method)
    if record is None or record.run != DENSE_RUN:
        raise ConfigError(f"{method!r} is not a dense retrieval method")
    return record.base or method, record.index


def encodes_queries_when_trained(method: str) -> bool:
    """Whether `method` searches another model's documents (ADORE, released or trained: a
    query encoder only), so that no encoding job of its own stores its query vectors: its
    training job stores them in the model folder instead."""
    record = METHODS.get(method)
    return record is not None and record.run == DENSE_RUN and record.base not in (None, method)


def dense_search_files(
    method: str, models: Layout, documents: Layout, *, own_queries: bool = True
) -> dict[str, str]:
    """What a dense retrieval of `method` reads: the index and embeddings of the model whose
    documents it searches (from `documents`), whose encoding job also stored that model's query
    vectors. A method searching another model's documents (ADORE) reads its query vectors from
    its model folder (`query_vectors`), where its training job stored the dataset's queries;
    for other queries (`own_queries` False: a transfer target's) it reads its query encoder
    (`model`, from `models`) and encodes them itself."""
    base, kind = dense_index_of(method)
    files = {"index": documents.index(base, kind), "embeddings": documents.embeddings(base)}
    if encodes_queries_when_trained(method):
        files["query_vectors" if own_queries else "model"] = models.model(method)
    return files


def one_of(names) -> str:
    """A wildcard constraint matching exactly these names (none: nothing; an empty
    constraint would match anything)."""
    names = list(names)
    return "|".join(re.escape(name) for name in names) if names else "(?!)"
