"""CPU mixed precision: what `precision: auto` (bf16 autocast on a CPU with AMX or AVX512-BF16)
buys the demo's models against fp32, and how far its outputs move.

1. Training: a step of the trainer's work (forward, backward, fused AdamW) at the demo's shapes:
   the dense/STAR step (16 queries x 16 tokens, 32 passages x 48), TCT's (batch 32), the
   cross-encoder's (64 pairs x 64 tokens) on MiniLM, and SPLADE's on SPLADE-tiny.
2. Inference through our own classes: BiEncoder.encode, CrossEncoder.score, Splade.encode, each
   with precision fp32 and auto on the same texts; the gap is the largest relative error of a
   vector (or score) and how many of each query's top-10 by fp32 stay in the top-10.

    python benchmarks/cpu_precision.py
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from _common import markdown_table, write_result

from irrepro import precision as amp
from irrepro.backbone import load_backbone


def seconds_per_call(function, repeats: int) -> float:
    function()  # warm: oneDNN builds its kernels on the first call of a shape
    started = time.perf_counter()
    for _ in range(repeats):
        function()
    return (time.perf_counter() - started) / repeats


def backbone_output(model, ids):
    return model(input_ids=ids, attention_mask=torch.ones_like(ids))[0]


def splade_output(model, ids):
    return model(ids, torch.ones_like(ids))  # (batch, vocabulary) through irrepro's pooling


def training_step(model, forward, batches, precision: str):
    """A step's work: forward under autocast, a loss over every output, backward, fused AdamW."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5, fused=True)

    def step():
        with amp.autocast("cpu", precision):
            outputs = [forward(model, ids) for ids in batches]
            loss = sum(output.float().pow(2).mean() for output in outputs)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()

    return step


def training_section(args) -> str:
    from irrepro.splade.model import Splade

    def ids(batch, length):
        return torch.randint(1000, 20000, (batch, length), generator=generator)

    generator = torch.Generator().manual_seed(args.seed)
    minilm, _ = load_backbone("minilm")
    splade = Splade.from_backbone("splade-tiny")
    shapes = [
        ("dense (STAR, ANCE, warm-up): q 16x16 + p 32x48", minilm, backbone_output,
         [ids(16, 16), ids(32, 48)]),
        ("TCT: q 32x16 + p 64x48", minilm, backbone_output, [ids(32, 16), ids(64, 48)]),
        ("cross-encoder: 64 pairs x 64", minilm, backbone_output, [ids(64, 64)]),
        ("SPLADE-tiny (irrepro's max pooling): q 16x16 + p 80x48", splade, splade_output,
         [ids(16, 16), ids(80, 48)]),
    ]  # fmt: skip
    rows = []
    for name, model, forward, batches in shapes:
        model.train()
        fp32 = seconds_per_call(training_step(model, forward, batches, "fp32"), args.repeats)
        auto = seconds_per_call(training_step(model, forward, batches, "auto"), args.repeats)
        rows.append([name, f"{fp32:.3f}", f"{auto:.3f}", f"{fp32 / auto:.2f}x"])
    header = ["step", "fp32 s", f"auto ({amp.describe('auto', 'cpu')}) s", "speed-up"]
    note = (
        "Each step: forward of every batch under autocast, a loss over all outputs, backward, "
        "fused AdamW (as the trainer), dropout on."
    )
    return "## Training steps\n\n" + note + "\n\n" + markdown_table(header, rows)


def texts(args):
    rng = np.random.default_rng(args.seed)
    words = [f"w{i}" for i in range(400)] + ["retrieval", "sparse", "passage", "query", "index"]
    passages = [" ".join(rng.choice(words, size=rng.integers(20, 40))) for _ in range(args.texts)]
    queries = [" ".join(rng.choice(words, size=6)) for _ in range(args.queries)]
    return queries, passages


def top10_kept(fp32_scores: np.ndarray, auto_scores: np.ndarray) -> float:
    """Mean share of each query's fp32 top-10 still in its auto top-10."""
    first = np.argsort(-fp32_scores, axis=1)[:, :10]
    second = np.argsort(-auto_scores, axis=1)[:, :10]
    return float(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(first, second, strict=True)]))


def relative_error(reference: np.ndarray, other: np.ndarray) -> float:
    """Vectors: the largest error relative to the vector's norm; scores: to the scores' sd."""
    if reference.ndim > 1:
        error = np.linalg.norm(reference - other, axis=-1)
        return float(np.max(error / np.maximum(np.linalg.norm(reference, axis=-1), 1e-9)))
    return float(np.max(np.abs(reference - other)) / reference.std())


def inference_section(args) -> str:
    from irrepro.cross_encoder import CrossEncoder
    from irrepro.dense.model import BiEncoder
    from irrepro.splade.model import Splade

    queries, passages = texts(args)
    dense = BiEncoder.from_backbone("minilm", pooling="mean")
    splade = Splade.from_backbone("splade-tiny")
    cross = CrossEncoder.from_backbone("minilm")
    dense_queries = dense.encode(queries, 16, 128, precision="fp32")
    splade_queries = splade.encode(queries, 16, 64, precision="fp32").toarray()
    pairs = ([q for q in queries for _ in range(args.pairs_per_query)],
             passages[: args.pairs_per_query] * len(queries))  # fmt: skip
    per_query = (len(queries), args.pairs_per_query)
    # (call, outputs in a precision, each query's scores from those outputs)
    runs = [
        ("BiEncoder.encode, MiniLM, 48 tokens (passages)",
         lambda p: dense.encode(passages, 48, 128, precision=p),
         lambda out: dense_queries @ out.T),
        ("Splade.encode, SPLADE-tiny, 48 tokens (passages)",
         lambda p: splade.encode(passages, 48, 64, precision=p).toarray(),
         lambda out: splade_queries @ out.T),
        ("CrossEncoder.score, MiniLM, 64 tokens (pairs)",
         lambda p: cross.score(*pairs, 64, 64, precision=p),
         lambda out: out.reshape(per_query)),
    ]  # fmt: skip
    rows = []
    for name, run, scores in runs:
        outputs, seconds = {}, {}
        for precision in ("fp32", "auto"):
            run(precision)
            started = time.perf_counter()
            outputs[precision] = run(precision)
            seconds[precision] = time.perf_counter() - started
        count = len(outputs["fp32"])
        kept = top10_kept(scores(outputs["fp32"]), scores(outputs["auto"]))
        error = relative_error(outputs["fp32"], outputs["auto"])
        fp32, auto = seconds["fp32"], seconds["auto"]
        rows.append([name, f"{count / fp32:,.0f}", f"{count / auto:,.0f}", f"{fp32 / auto:.2f}x",
                     f"{error:.4f}", f"{kept:.3f}"])  # fmt: skip
    header = [
        "call",
        "fp32 /s",
        "auto /s",
        "speed-up",
        "largest error (of the norm; scores: of their sd)",
        "top-10 kept",
    ]
    note = (
        f"{args.texts:,} passages of 20-40 words, {args.queries} queries; the cross-encoder "
        f"scores each query with {args.pairs_per_query} passages. Random weights in the "
        "cross-encoder's new head; MiniLM and SPLADE-tiny as shipped."
    )
    return "## Inference\n\n" + note + "\n\n" + markdown_table(header, rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5, help="timed training steps")
    parser.add_argument("--texts", type=int, default=2_000)
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--pairs-per-query", type=int, default=40)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--name", default="cpu_precision")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    native = "has" if amp.cpu_has_native_bf16() else "lacks"
    intro = (
        f"This CPU {native} bf16 matrix instructions (AMX or AVX512-BF16), so `precision: auto` "
        f"is {amp.describe('auto', 'cpu')} here; {args.threads} threads."
    )
    sections = [intro, training_section(args), inference_section(args)]
    write_result(args.name, "CPU mixed precision: bf16 autocast against fp32", sections)


if __name__ == "__main__":
    main()
