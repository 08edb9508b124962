# STAR: one static hard negative per query (the warm-up model's top-200 minus positives) and
# the batch's positives as random negatives, initialised from the warm-up (BM25 Neg) model.
# Trained like every model: PLAN.train_inputs / PLAN.training from the method registry.


use rule train_warmup as train_star with:
    wildcard_constraints:
        method=methods.one_of(methods.trained(methods.STAR)),


# star-released, adore-released, tct-released: DRhard's and castorini's released checkpoints (or
# any bi-encoder named in `dense.released`, `tct.released`), saved as they are; adore-released
# searches star-released's index.
use rule train_warmup as train_released with:
    wildcard_constraints:
        method=methods.one_of(
            methods.trained(methods.RELEASED_DENSE) + methods.trained(methods.RELEASED_TCT)
        ),
