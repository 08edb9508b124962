"""`sample_passages`: a smaller corpus that keeps every judged passage, the same on every run."""

import pandas as pd
import pytest

from irrepro.artefacts import CORPUS, QRELS, read_table
from irrepro.datasets import prepare_folder
from irrepro.datasets.sample import id_hash, sampled
from irrepro.datasets.writer import TextRecord
from irrepro.errors import ConfigError

DEMO = {"source": "demo", "n_passages": 400, "n_train": 40, "n_dev": 10, "n_test": 5}


def corpus(folder) -> pd.DataFrame:
    return read_table(folder / "corpus.parquet", CORPUS)


def judged(folder) -> set[str]:
    return {
        doc
        for split in ("train", "dev", "test")
        for doc in read_table(folder / "qrels" / f"{split}.parquet", QRELS)["doc_id"]
    }


def test_a_sample_keeps_every_judged_passage_and_the_smallest_hashes(tmp_path):
    full = tmp_path / "full"
    prepare_folder(DEMO, full)
    manifest = prepare_folder({**DEMO, "sample_passages": 250}, tmp_path / "sample")
    kept, everything = corpus(tmp_path / "sample"), corpus(full)
    needed = judged(full)
    assert len(kept) == 250 and needed <= set(kept["doc_id"])
    others = sorted(set(everything["doc_id"]) - needed, key=lambda d: id_hash(d, 0))
    assert set(kept["doc_id"]) - needed == set(others[: 250 - len(needed)])
    assert kept["doc_id"].tolist() == [d for d in everything["doc_id"] if d in set(kept["doc_id"])]
    assert manifest["corpus"]["sample"] == {"passages": 250, "judged_kept": len(needed), "seed": 0}
    for split in ("train", "dev", "test"):  # the judgments are the full corpus's
        pd.testing.assert_frame_equal(
            read_table(tmp_path / "sample" / "qrels" / f"{split}.parquet", QRELS),
            read_table(full / "qrels" / f"{split}.parquet", QRELS),
        )


def test_the_seed_changes_the_sample_and_nothing_else_does(tmp_path):
    records = [TextRecord(f"d{i}", "text", "f", i + 1) for i in range(50)]
    once = [r.id for r in sampled(lambda: records, {"d3"}, 10, seed=1)]
    reordered = [r.id for r in sampled(lambda: records[::-1], {"d3"}, 10, seed=1)]
    other_seed = [r.id for r in sampled(lambda: records, {"d3"}, 10, seed=2)]
    assert len(once) == 10 and "d3" in once and set(reordered) == set(once)
    assert set(other_seed) != set(once)


def test_a_sample_smaller_than_the_judged_passages_is_refused():
    records = [TextRecord(f"d{i}", "text", "f", i + 1) for i in range(5)]
    with pytest.raises(ConfigError, match="fewer than the 3 judged passages"):
        list(sampled(lambda: records, {"d0", "d1", "d2"}, 2))
