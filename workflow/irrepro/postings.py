"""Exact top-k over posting lists, in trec_eval order: BM25's and SPLADE's retrieval.

A query's score of a document is the sum, over the query's terms in the order given, of the
term's weight times the document's posting weight, accumulated in the query weights' dtype
(float32 for BM25, as bm25s sums; float64 for SPLADE). Only documents that score above zero
are candidates; among those tied with the k-th, the lowest tie keys are kept, so the top-k is
exactly the first k of the run in trec_eval order (score descending, then `tie_key` ascending:
doc id descending).

Why not bm25s' retrieval: it zeroes and scans a score for every document of the collection per
query and cuts its top-k with a heap that picks arbitrarily among ties at the cut; here each
thread reuses one score buffer and visits only the documents the query touched, and the rows
come out already in run order, so the run writer need not sort them
(benchmarks/results/bm25_throughput.md).
"""

from __future__ import annotations

import numba
import numpy as np

from .runtime import use_numba_threads


def top_k(
    query_ptr: np.ndarray,
    query_terms: np.ndarray,
    query_weights: np.ndarray,
    term_ptr: np.ndarray,
    doc_rows: np.ndarray,
    doc_weights: np.ndarray,
    tie_key: np.ndarray,
    depth: int,
    threads: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(rows, scores), each (queries, depth), in trec_eval order; row -1 and score -inf pad a
    query matching fewer documents. Query i's terms are query_terms[query_ptr[i]:query_ptr[i+1]]
    (ids outside the vocabulary are skipped); term t's postings are
    doc_rows/doc_weights[term_ptr[t]:term_ptr[t+1]] (a CSC matrix of documents x terms).
    `threads`: numba's current setting unless given."""
    depth = max(0, min(int(depth), len(tie_key)))
    query_weights = np.asarray(query_weights)
    if depth == 0:
        shape = (len(query_ptr) - 1, 0)
        return np.full(shape, -1, dtype=np.int64), np.full(shape, -np.inf)
    # when no product of weights is zero or negative a partial sum never returns to zero, so
    # a zero score marks a document not yet touched and no other bookkeeping is needed (1.4x)
    positive = bool(
        len(query_weights) == 0
        or len(doc_weights) == 0
        or query_weights.min() * doc_weights.min().astype(query_weights.dtype) > 0
    )
    previous = numba.get_num_threads()
    threads = previous if threads is None else threads
    use_numba_threads(threads)
    try:
        return _top_k(
            np.asarray(query_ptr, dtype=np.int64),
            np.asarray(query_terms, dtype=np.int64),
            query_weights,
            np.asarray(term_ptr, dtype=np.int64),
            doc_rows,
            doc_weights,
            np.asarray(tie_key, dtype=np.int64),
            depth,
            positive,
            max(1, min(len(query_ptr) - 1, 4 * numba.get_num_threads())),
        )
    finally:
        numba.set_num_threads(previous)


@numba.njit(parallel=True, cache=True)
def _top_k(
    query_ptr,
    query_terms,
    query_weights,
    term_ptr,
    doc_rows,
    doc_weights,
    tie_key,
    depth,
    positive,
    n_blocks,
):
    n_queries, n_docs, n_terms = len(query_ptr) - 1, len(tie_key), len(term_ptr) - 1
    rows = np.full((n_queries, depth), -1, dtype=np.int64)
    scores = np.full((n_queries, depth), -np.inf, dtype=np.float64)
    capacity = 4 * max(depth, 256)
    # a few query blocks per thread balance the load; each block reuses its buffers and resets
    # only the documents its queries touched
    for block in numba.prange(n_blocks):
        accumulated = np.zeros(n_docs, dtype=query_weights.dtype)
        seen = np.zeros(0 if positive else n_docs, dtype=np.bool_)
        touched = np.empty(n_docs, dtype=np.int64)
        docs = np.empty(capacity, dtype=np.int64)
        values = np.empty(capacity, dtype=query_weights.dtype)
        keys = np.empty(capacity, dtype=np.int64)  # the docs' tie keys, compared without a gather
        for q in range(block * n_queries // n_blocks, (block + 1) * n_queries // n_blocks):
            n_touched = 0
            for p in range(query_ptr[q], query_ptr[q + 1]):
                term, weight = query_terms[p], query_weights[p]
                if term < 0 or term >= n_terms:
                    continue
                for j in range(term_ptr[term], term_ptr[term + 1]):
                    doc = doc_rows[j]
                    if positive:
                        first = accumulated[doc] == 0
                    else:
                        first = not seen[doc]
                        seen[doc] = True
                    if first:
                        touched[n_touched] = doc
                        n_touched += 1
                    accumulated[doc] += weight * doc_weights[j]
            # admit a document if it comes before the threshold (score, tie key) in run order;
            # when the buffer fills, cut it to the first `depth` and raise the threshold to
            # the last of them (amortised linear, where a heap costs a sift per admission)
            n_kept, floor_score, floor_key = 0, 0.0, -1
            for i in range(n_touched):
                doc = touched[i]
                value = accumulated[doc]
                accumulated[doc] = 0
                if not positive:
                    seen[doc] = False
                if not _before(value, tie_key[doc], floor_score, floor_key):
                    continue
                if n_kept == capacity:
                    n_kept = _cut(docs, values, keys, n_kept, depth)
                    floor_score, floor_key = values[n_kept - 1], keys[n_kept - 1]
                    if not _before(value, tie_key[doc], floor_score, floor_key):
                        continue
                docs[n_kept] = doc
                values[n_kept] = value
                keys[n_kept] = tie_key[doc]
                n_kept += 1
            n_kept = _cut(docs, values, keys, n_kept, depth)
            _sort(docs, values, keys, n_kept)
            rows[q, :n_kept] = docs[:n_kept]
            scores[q, :n_kept] = values[:n_kept]
    return rows, scores


@numba.njit(inline="always")
def _before(score, key, other_score, other_key):
    """Whether (score, tie key) comes before (other_score, other_key) in run order."""
    return score > other_score or (score == other_score and key < other_key)


@numba.njit(inline="always")
def _earlier(values, keys, i, j):
    """Whether buffer entry i comes before entry j in run order (tie keys are distinct, so this
    is a total order)."""
    return _before(values[i], keys[i], values[j], keys[j])


@numba.njit(inline="always")
def _swap(docs, values, keys, i, j):
    docs[i], docs[j] = docs[j], docs[i]
    values[i], values[j] = values[j], values[i]
    keys[i], keys[j] = keys[j], keys[i]


@numba.njit(inline="always")
def _partition(docs, values, keys, low, high):
    """Lomuto's partition of [low, high] around the median of three; returns the pivot's
    final place (the entries before it come before it in run order)."""
    middle = (low + high) // 2
    if _earlier(values, keys, middle, low):
        _swap(docs, values, keys, middle, low)
    if _earlier(values, keys, high, low):
        _swap(docs, values, keys, high, low)
    if _earlier(values, keys, middle, high):
        _swap(docs, values, keys, middle, high)
    store = low
    for i in range(low, high):
        if _earlier(values, keys, i, high):
            _swap(docs, values, keys, i, store)
            store += 1
    _swap(docs, values, keys, store, high)
    return store


@numba.njit(cache=True)
def _cut(docs, values, keys, n, depth):
    """Keeps, in place, the `depth` of the first n buffer entries that come first in run order,
    the last of them at depth - 1 (quickselect). Returns how many are kept.

    Hand-written, as is the sort below, because numba's np.partition and np.argsort took ~10 s
    to compile in every fresh checkout (the demo's first BM25 and SPLADE retrievals)."""
    if n <= depth:
        return n
    k, low, high = depth - 1, 0, n - 1
    while low < high:
        pivot = _partition(docs, values, keys, low, high)
        if pivot == k:
            break
        if pivot < k:
            low = pivot + 1
        else:
            high = pivot - 1
    return depth


@numba.njit(cache=True)
def _sort(docs, values, keys, n):
    """Sorts the first n buffer entries into run order: quicksort down to runs of 16, then one
    insertion sort."""
    stack = np.empty(128, dtype=np.int64)  # larger sides pushed: <= log2(n) (low, high) pairs
    top = 0
    low, high = 0, n - 1
    while True:
        while high - low >= 16:
            pivot = _partition(docs, values, keys, low, high)
            if pivot - low < high - pivot:
                stack[top], stack[top + 1] = pivot + 1, high
                high = pivot - 1
            else:
                stack[top], stack[top + 1] = low, pivot - 1
                low = pivot + 1
            top += 2
        if top == 0:
            break
        top -= 2
        low, high = stack[top], stack[top + 1]
    for i in range(1, n):
        j = i
        while j > 0 and _earlier(values, keys, j, j - 1):
            _swap(docs, values, keys, j, j - 1)
            j -= 1
