# ANCE: the BM25 Neg warm-up model trained on negatives from its own top-200, the corpus
# re-encoded, re-indexed and re-mined every `refresh_every` steps inside the training job
# (irrepro.dense.ance). Its encoding, index and runs are every bi-encoder's (dense.smk).


use rule train_warmup as train_ance with:
    wildcard_constraints:
        method=methods.one_of(methods.trained(methods.ANCE)),
