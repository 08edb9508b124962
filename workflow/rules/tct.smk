# TCT-ColBERT: the ColBERT teacher, and bi-encoder students started from it and distilled from
# it inside each training step. Their reranking of BM25 (Table 3) is in rerank.smk.


use rule train_warmup as train_colbert with:
    wildcard_constraints:
        method=methods.one_of(methods.trained(methods.COLBERT)),


use rule train_warmup as train_tct with:
    wildcard_constraints:
        method=methods.one_of(methods.trained(methods.TCT_STUDENTS)),
