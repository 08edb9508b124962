"""TCT-ColBERT: the ColBERT teacher and the bi-encoder students distilled from it.

Modules:
- colbert: `ColBERT` (markers, [MASK] query augmentation, 128-d token vectors, punctuation
  skiplist) and MaxSim;
- training: the teacher's in-batch softmax training and the students' (PoolAvg, TCT with
  in-batch or triplet-only distillation, Eq. 6) on the shared trainer;
- rerank: a first-stage run reordered by ColBERT (candidates encoded on the fly) or by a
  bi-encoder's stored vectors.
Dense-sparse fusion (Eq. 7) is irrepro.fusion: it serves any pair of runs, not only TCT's.
"""
