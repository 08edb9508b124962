"""Training jobs in two torchrun processes (gloo, CPU) equal one process at the same global batch.

Each method here has a loss that couples the batch's examples (in-batch negatives, FLOPS over the
batch, MaxSim against every passage of the batch, ANCE's refresh by the main process while the
other waits), which is what data parallelism can get wrong. The tiny backbone has no dropout, so
one process and two compute the same function of the batch: the logged loss and gradient norm
agree to float32 rounding, and so do the weights under SGD (Adam's normalised step would turn
the rounding of a gradient that is exactly zero in theory, a classifier's bias under a softmax,
into a step of about lr).
"""

from __future__ import annotations

import json
import logging
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from safetensors.torch import load_file
from test_dense_training import data, train_data  # noqa: F401 (120 passages, 40 queries)

from irrepro.train.distributed import run
from irrepro.train.job import train_method

# fp32: in bf16 (`auto` on a CPU with AMX or AVX512-BF16) a process's share of the batch rounds
# differently from the whole batch, which this comparison would read as a wrong gradient
TRAINING = {"optimizer": "sgd", "lr": 0.1, "batch_size": 8, "steps": 3, "warmup": 1,
            "checkpoint_every": 0, "log_every": 1, "precision": "fp32"}  # fmt: skip
DENSE = {"backbone": "tiny", "pooling": "cls", "head": True, "normalize": False,
         "query_length": 12, "passage_length": 24}  # fmt: skip
SETTINGS = {
    "inbatch": {"encoder": DENSE, "training": TRAINING},
    "star": {"encoder": DENSE, "training": {**TRAINING, "negatives": 2}},
    # refreshes at steps 0 and 1, the first step's lr being 0 (warm-up): the same weights in
    # both runs. After a real step the stored float16 vectors of one run and two differ in a
    # few last bits, and that reorders near-tied passages at the top-k's edge.
    "ance": {"encoder": DENSE, "shard_size": 50,
             "training": {**TRAINING, "steps": 2, "refresh_every": 1, "depth": 20,
                          "negatives": 2}},
    "colbert": {"encoder": {"backbone": "tiny", "query_length": 8, "passage_length": 16,
                            "dim": 16}, "training": TRAINING},
    "splade-max": {"encoder": {"backbone": "tiny", "query_length": 8, "passage_length": 16},
                   "training": {**TRAINING, "flops_ramp": 2}},
    "bert-reranker": {"encoder": {"backbone": "tiny", "max_length": 32, "pretrained": False},
                      "training": {**TRAINING, "negatives": 2}},
}  # fmt: skip
WEIGHT_TOLERANCE = 1e-5


@pytest.fixture(scope="module")
def warm(data, tmp_path_factory) -> Path:  # noqa: F811
    """The warm-up model STAR and ANCE start from."""
    tmp = tmp_path_factory.mktemp("warm")
    inputs = {**train_data(data), "negatives": str(data / "negatives.parquet")}
    settings = {"encoder": DENSE, "training": TRAINING}
    train_method("bm25neg", inputs=inputs, settings=settings, out_dir=str(tmp / "model"),
                 checkpoint_dir=str(tmp / "ck"))  # fmt: skip
    return tmp / "model"


def train(method: str, inputs: dict, where: Path, processes: int) -> Path:
    kwargs = {
        "method": method,
        "inputs": inputs,
        "settings": SETTINGS[method],
        "out_dir": str(where / "model"),
        "checkpoint_dir": str(where / "ck"),
    }
    run(train_method, kwargs, processes)
    return where / "model"


def weights(model_dir: Path) -> dict[str, torch.Tensor]:
    tensors = {}
    for path in sorted(model_dir.rglob("*.safetensors")):
        name = path.relative_to(model_dir)
        tensors.update({f"{name}:{key}": value for key, value in load_file(path).items()})
    assert tensors, f"no weights under {model_dir}"
    return tensors


@pytest.mark.parametrize("method", list(SETTINGS))
def test_two_processes_train_the_model_of_one(data, warm, tmp_path, monkeypatch, method):  # noqa: F811
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    inputs = train_data(data)
    if method != "inbatch":
        inputs["negatives"] = str(data / "negatives.parquet")
    if method in ("star", "ance"):
        inputs["init"] = str(warm)
    one = train(method, inputs, tmp_path / "one", processes=1)
    two = train(method, inputs, tmp_path / "two", processes=2)

    log_one = pd.read_parquet(one / "train_log.parquet")
    log_two = pd.read_parquet(two / "train_log.parquet")
    steps = SETTINGS[method]["training"]["steps"]
    assert log_two["step"].tolist() == log_one["step"].tolist() == list(range(1, steps + 1))
    for column in ("loss", "grad_norm"):
        np.testing.assert_allclose(log_two[column], log_one[column], rtol=1e-4, err_msg=column)
    expected, got = weights(one), weights(two)
    assert got.keys() == expected.keys()
    for key, value in expected.items():
        difference = (got[key] - value).abs().max().item()
        assert difference <= WEIGHT_TOLERANCE, f"{key}: differs by {difference:.2g}"
    cost = json.loads((two / "training.json").read_text())
    assert cost["gpus"] == 0 and cost["method"] == method
    if method == "ance":  # the main process refreshed; the other read its negatives
        refreshes = [refresh["step"] for refresh in cost["refreshes"]]
        reference = json.loads((one / "training.json").read_text())["refreshes"]
        assert refreshes == [0, 1] == [refresh["step"] for refresh in reference]


def test_the_workers_log_records_reach_the_log_file(data, tmp_path):  # noqa: F811
    log_file = tmp_path / "rule.log"
    handler = logging.FileHandler(log_file)
    logging.getLogger().addHandler(handler)
    try:
        train("inbatch", train_data(data), tmp_path, processes=2)
    finally:
        logging.getLogger().removeHandler(handler)
        handler.close()
    lines = log_file.read_text().splitlines()
    assert any(line.startswith("[rank 1] ") and "inbatch: 40 train queries" in line
               for line in lines)  # fmt: skip
    assert any(line.startswith("[rank 0] ") and "step 3/3 loss" in line for line in lines)
    assert not any("%|" in line for line in lines)  # progress bars stay on the terminal


def test_a_batch_that_does_not_split_fails_with_its_reason(data, tmp_path, capfd):  # noqa: F811
    kwargs = {"method": "inbatch", "inputs": train_data(data), "out_dir": str(tmp_path / "m"),
              "settings": {"encoder": DENSE, "training": {**TRAINING, "batch_size": 7}},
              "checkpoint_dir": str(tmp_path / "ck")}  # fmt: skip
    with pytest.raises(subprocess.CalledProcessError):
        run(train_method, kwargs, 2)
    assert "batch_size 7 does not split evenly over 2 processes" in capfd.readouterr().err
