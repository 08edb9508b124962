"""Dense retrieval: bi-encoder model, corpus encoding, faiss indexes, retrieval, and training of
the STAR/ADORE paper's models.

Modules:
- backbone: resolve a backbone name (HF id or path; `minilm` = the bundled all-MiniLM-L6-v2;
  `tiny` = a small randomly initialised BERT for tests) to a model and tokenizer;
- model: `BiEncoder`, a shared query/passage encoder (CLS or mean pooling, optional
  Linear+LayerNorm head as in the official STAR model), saved so that transformers and
  sentence-transformers both load it;
- encode: the corpus encoded in shards of length-sorted batches, float16 on disk, resumable;
- index: faiss Flat (exact inner product), PQ and IVF indexes, on the GPU when faiss-gpu is there;
- retrieve: top-k runs from a query encoder and an index;
- training: In-Batch / Rand / BM25 Neg warm-up models and STAR on the shared trainer;
- adore: the query encoder trained against a fixed index with dynamic hard negatives.
"""
