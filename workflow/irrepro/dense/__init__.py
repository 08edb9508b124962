"""Dense retrieval: bi-encoder model, corpus encoding, faiss indexes, retrieval, and training of
the STAR/ADORE paper's models.

Modules:
- model: `BiEncoder`, a shared query/passage encoder (CLS or mean pooling, optional
  Linear+LayerNorm head as in the official STAR model), saved so that transformers and
  sentence-transformers both load it;
- encode: the corpus encoded in shards of length-sorted batches, float16 on disk, resumable;
- index: faiss Flat (exact inner product), PQ and IVF indexes, on the GPU when faiss-gpu is there;
- retrieve: top-k runs from a query encoder and an index;
- losses: the In-Batch / sampled-negatives / STAR / ADORE losses as named classes;
- training: the recipe of the warm-up models and STAR (irrepro.train.job runs it);
- adore: the recipe and loss of a query encoder trained against a fixed index with dynamic
  hard negatives.
- released: released checkpoints (DRhard's STAR and ADORE) as rows of their own, untrained.
Backbones and token batches are irrepro.backbone and irrepro.tokens (shared with tct/).
"""
