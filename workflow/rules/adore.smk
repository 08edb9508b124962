# ADORE: the base model's query encoder trained against its fixed document index (flat, or PQ
# for the compressed-index table), with dynamic hard negatives retrieved at every step.


use rule train_warmup as train_adore with:
    wildcard_constraints:
        method=methods.one_of(methods.trained(methods.ADORE)),
