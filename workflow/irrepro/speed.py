"""Settings that change how fast a job runs, never what it writes: batch sizes of encoding,
search and scoring, ColBERT's passage budget when reranking, and how often training saves its
state (`checkpoint_every`: Plan.training keeps it out of the params, methods.with_checkpointing
puts it back in the job).

A job reads them from the config with `speed_settings`, not from its rule's params, so that
changing one reruns nothing (Snakemake reruns a job whose params changed); `without_speed`
keeps them out of the settings a rule passes as params.
"""

from __future__ import annotations

# config section (dotted) -> its keys that only set speed
SPEED_ONLY = {
    "bm25": ("query_batch_size",),
    "dense": ("encode_batch_size",),
    "splade": ("encode_batch_size", "query_batch_size"),
    "tct.rerank": ("batch_size", "doc_budget"),
    "tct.end_to_end": ("batch_size", "doc_budget"),
    "cross_encoder.rerank": ("batch_size",),
}

# training settings that change when a job saves its state, never the model it trains: they
# are kept out of the training params (Plan.training) and of a checkpoint's fingerprint
TRAINING_BOOKKEEPING = ("checkpoint_every",)


def _section(config: dict, where: str) -> dict:
    for key in where.split("."):
        config = config[key]
    return config


def speed_settings(config: dict, where: str) -> dict:
    """The speed-only keys of config section `where` (e.g. "tct.rerank"); {} if it has none."""
    section = _section(config, where)
    return {key: section[key] for key in SPEED_ONLY.get(where, ()) if key in section}


def without_speed(settings: dict, where: str) -> dict:
    """`settings` (the values of section `where`) less its speed-only keys."""
    return {key: value for key, value in settings.items() if key not in SPEED_ONLY[where]}
