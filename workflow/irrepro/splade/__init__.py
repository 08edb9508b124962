"""SPLADE v2 and SPLADE++: sparse expansion models from a masked-LM head.

Modules:
- model: `Splade`, w_j = max_i log(1 + ReLU(logit_ij)), saved as a SparseEncoder too;
- losses: in-batch NLL and MarginMSE, each with the FLOPS regularizer ramped by the step;
- training: the recipe (irrepro.train.job runs it) and the released-checkpoint row;
- index: the inverted index, exact top-k retrieval (numba), efficiency figures, and the export
  to Anserini's JsonVectorCollection.
The cross-encoder teacher is irrepro.cross_encoder.
"""
