"""TCT-ColBERT: the ColBERT teacher and the bi-encoder students distilled from it.

Modules:
- colbert: `ColBERT` (markers, [MASK] query augmentation, 128-d token vectors, punctuation
  skiplist) and MaxSim;
- losses: the teacher's in-batch softmax and the students' (PoolAvg, TCT with in-batch or
  triplet-only distillation, Eq. 6) as named classes;
- training: the teacher's and the students' recipes (irrepro.train.job runs them).
Reranking BM25 by ColBERT or a student is irrepro.rerank; dense-sparse fusion (Eq. 7) is
irrepro.fusion: they serve any model or pair of runs, not only TCT's.
"""
