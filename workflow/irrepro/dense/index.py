"""faiss inner-product indexes over passage embeddings: exact, PQ-compressed, and IVF.

Kinds: `flat` (exact, IndexFlatIP); `pq<m>` (IndexPQ, m sub-quantizers of 8 bits, m bytes a
passage: the compressed indexes of the STAR/ADORE paper); `ivf<lists>-flat` and
`ivf<lists>-pq<m>` (inverted lists, for large corpora; `nprobe` lists are scanned per query).

Training is deterministic: k-means runs on a seeded sample of at most 256 vectors per centroid
(faiss's own `max_points_per_centroid`, so faiss does no further sampling of its own), with the
clustering seed set. On a GPU (faiss-gpu), indexes are cloned as DRhard does, with float16 lookup
tables for the PQ kinds; IndexPQ has no GPU version, so it goes over as the equivalent
IndexIVFPQ with a single list whose centroid is 0.
"""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np

KSUB = 256  # 8-bit sub-quantizers
POINTS_PER_CENTROID = 256
KIND = re.compile(r"(?:flat|pq(?P<pq>\d+)|ivf(?P<lists>\d+)-(?:flat|pq(?P<ivfpq>\d+)))")
KINDS_HELP = "flat, pq<m>, ivf<lists>-flat or ivf<lists>-pq<m> (e.g. pq96, ivf4096-pq48)"


@dataclass(frozen=True)
class IndexKind:
    lists: int | None  # inverted lists (IVF), None for a single scan
    m: int | None  # PQ sub-quantizers, None for uncompressed float32

    @classmethod
    def parse(cls, kind: str) -> IndexKind:
        match = KIND.fullmatch(kind)
        if match is None:
            raise ValueError(f"unknown index kind {kind!r}: expected {KINDS_HELP}")
        m = match["pq"] or match["ivfpq"]
        parsed = cls(int(match["lists"]) if match["lists"] else None, int(m) if m else None)
        if parsed.lists == 0 or parsed.m == 0:
            raise ValueError(f"index kind {kind!r}: list and sub-quantizer counts must be > 0")
        return parsed

    def check(self, n: int, d: int) -> None:
        """Fail before training on what faiss would reject (or assert on)."""
        if self.m is not None and d % self.m:
            raise ValueError(f"PQ with m={self.m} needs a dimension divisible by m, not {d}")
        if self.m is not None and n < KSUB:
            raise ValueError(f"PQ training needs at least {KSUB} vectors, got {n}")
        if self.lists is not None and n < self.lists:
            raise ValueError(
                f"IVF with {self.lists} lists needs at least that many vectors, got {n}"
            )

    def training_size(self, n: int) -> int:
        centroids = max(KSUB if self.m else 0, self.lists or 0)
        return min(n, POINTS_PER_CENTROID * centroids)


def build_index(embeddings: np.ndarray, kind: str, seed: int = 0) -> faiss.Index:
    """An inner-product index of `kind` holding `embeddings` (row i = label i)."""
    vectors = np.ascontiguousarray(embeddings, dtype=np.float32)
    n, d = vectors.shape
    spec = IndexKind.parse(kind)
    spec.check(n, d)
    index = new_index(spec, d, seed)
    if not index.is_trained:
        index.train(training_sample(vectors, spec.training_size(n), seed))
    index.add(vectors)
    return index


def new_index(spec: IndexKind, d: int, seed: int) -> faiss.Index:
    ip = faiss.METRIC_INNER_PRODUCT
    if spec.lists is None:
        index = faiss.IndexFlatIP(d) if spec.m is None else faiss.IndexPQ(d, spec.m, 8, ip)
    elif spec.m is None:
        index = faiss.IndexIVFFlat(faiss.IndexFlatIP(d), d, spec.lists, ip)
    else:
        index = faiss.IndexIVFPQ(faiss.IndexFlatIP(d), d, spec.lists, spec.m, 8, ip)
    if spec.lists is not None:
        index.cp.seed = seed
    if spec.m is not None:
        index.pq.cp.seed = seed
    return index


def training_sample(vectors: np.ndarray, size: int, seed: int) -> np.ndarray:
    """`size` distinct rows chosen by `seed`, in corpus order."""
    if size >= len(vectors):
        return vectors
    rows = np.sort(np.random.default_rng(seed).choice(len(vectors), size=size, replace=False))
    return vectors[rows]


# ---------------------------------------------------------------------- files


def write_index(index: faiss.Index, path: str | Path) -> None:
    """Write atomically (a killed job leaves no truncated index under the final name)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    faiss.write_index(to_cpu(index), str(tmp))
    tmp.replace(path)


def read_index(path: str | Path) -> faiss.Index:
    return faiss.read_index(str(path))


def index_size_bytes(path: str | Path) -> int:
    return os.path.getsize(path)


# ---------------------------------------------------------------------- search


def search(
    index: faiss.Index,
    queries: np.ndarray,
    k: int,
    batch_size: int = 4096,
    nprobe: int | None = None,
    use_gpu="auto",
) -> tuple[np.ndarray, np.ndarray]:
    """Top-k by inner product: (scores float32 (n, k), rows int64 (n, k)); where fewer than k
    passages are found, rows are -1 and scores -inf. `nprobe` applies to IVF indexes (and is set
    on `index` itself); others ignore it. `use_gpu`: "auto" (when faiss-gpu sees a GPU), True,
    False. Pass an index from `to_gpu` to avoid copying it to the GPU at every call."""
    queries = np.ascontiguousarray(queries, dtype=np.float32)
    if nprobe is not None:
        set_nprobe(index, nprobe)
    index = on_device(index, use_gpu)
    scores = np.empty((len(queries), k), dtype=np.float32)
    rows = np.empty((len(queries), k), dtype=np.int64)
    for start in range(0, len(queries), batch_size):
        stop = start + batch_size
        scores[start:stop], rows[start:stop] = index.search(queries[start:stop], k)
    scores[rows < 0] = -np.inf
    return scores, rows


def set_nprobe(index: faiss.Index, nprobe: int) -> None:
    if is_gpu_index(index):
        faiss.GpuParameterSpace().set_index_parameter(index, "nprobe", nprobe)
    elif faiss.try_extract_index_ivf(index) is not None:
        faiss.extract_index_ivf(index).nprobe = nprobe


# ---------------------------------------------------------------------- GPU


def gpu_available() -> bool:
    return hasattr(faiss, "StandardGpuResources") and faiss.get_num_gpus() > 0


def is_gpu_index(index: faiss.Index) -> bool:
    return hasattr(faiss, "GpuIndex") and isinstance(index, faiss.GpuIndex)


def on_device(index: faiss.Index, use_gpu="auto") -> faiss.Index:
    """The index where `use_gpu` wants it searched (a GPU index stays as it is)."""
    wanted = gpu_available() if use_gpu == "auto" else bool(use_gpu)
    if not wanted or is_gpu_index(index):
        return index
    if not gpu_available():
        raise RuntimeError("use_gpu=True, but faiss has no GPU support or sees no GPU here")
    return to_gpu(index)


def to_gpu(index: faiss.Index) -> faiss.Index:
    """A copy on GPU 0; PQ kinds use float16 lookup tables (DRhard's `useFloat16` for its
    compressed index), exact kinds keep float32 vectors."""
    compressed = isinstance(index, faiss.IndexPQ | faiss.IndexIVFPQ)
    if isinstance(index, faiss.IndexPQ):
        index = pq_as_single_list_ivf(index)
    options = faiss.GpuClonerOptions()
    options.useFloat16 = compressed
    return faiss.index_cpu_to_gpu(gpu_resources(), 0, index, options)


def to_cpu(index: faiss.Index) -> faiss.Index:
    return faiss.index_gpu_to_cpu(index) if is_gpu_index(index) else index


@functools.cache
def gpu_resources():
    """One set of GPU resources for the process; faiss indexes on the GPU refer to it."""
    return faiss.StandardGpuResources()


def pq_as_single_list_ivf(index: faiss.IndexPQ) -> faiss.IndexIVFPQ:
    """The same codes and scores as an IndexIVFPQ with one list centred at 0 (residual = vector),
    which faiss-gpu can hold; IndexPQ itself has no GPU implementation."""
    quantizer = faiss.IndexFlatIP(index.d)
    quantizer.add(np.zeros((1, index.d), dtype=np.float32))
    ivf = faiss.IndexIVFPQ(
        quantizer, index.d, 1, index.pq.M, index.pq.nbits, faiss.METRIC_INNER_PRODUCT
    )
    ivf.pq = index.pq
    ivf.is_trained = True
    codes = faiss.vector_to_array(index.codes)
    labels = np.arange(index.ntotal, dtype=np.int64)
    ivf.invlists.add_entries(0, index.ntotal, faiss.swig_ptr(labels), faiss.swig_ptr(codes))
    ivf.ntotal = index.ntotal
    return ivf
