"""Results never stale: a replaced source file is seen whatever its mtime, and every artefact
says which library sources wrote it, so a table can tell rows of different code apart."""

import json
import os
import shutil
from pathlib import Path

import pandas as pd

from irrepro import artefacts, provenance, tables
from irrepro.datasets import fingerprint

LIBRARY = Path(provenance.__file__).parent


def test_a_replacement_with_an_older_mtime_changes_the_fingerprint(tmp_path):
    qrels, cache = tmp_path / "qrels.txt", tmp_path / "cache.json"
    qrels.write_text("1 0 D1 1\n")
    before = fingerprint.fingerprints([str(qrels)], cache)
    replacement = tmp_path / "new.txt"
    replacement.write_text("1 0 D2 1\n")
    old = qrels.stat().st_mtime - 3600
    os.utime(replacement, (old, old))
    os.replace(replacement, qrels)  # as tar, rsync -a or cp -p leave it
    after = fingerprint.fingerprints([str(qrels)], cache)
    assert before != after
    assert after[str(qrels)] == fingerprint.sha256(qrels)


def test_an_unchanged_file_is_not_read_again_and_a_touch_keeps_its_fingerprint(
    tmp_path, monkeypatch
):
    corpus, cache = tmp_path / "corpus.tsv", tmp_path / "cache.json"
    corpus.write_text("d1\tcats\n")
    first = fingerprint.fingerprints([str(corpus)], cache)
    reads = []
    monkeypatch.setattr(fingerprint, "sha256", lambda path: reads.append(path) or "x")
    assert fingerprint.fingerprints([str(corpus)], cache) == first and reads == []
    os.utime(corpus, (1e9, 1e9))
    monkeypatch.undo()
    assert fingerprint.fingerprints([str(corpus)], cache) == first  # same bytes, same digest


def test_a_missing_file_is_left_to_snakemake(tmp_path):
    assert fingerprint.fingerprints([str(tmp_path / "gone.tsv")], tmp_path / "c.json") == {}


def test_every_parquet_artefact_records_the_code_that_wrote_it(tmp_path):
    queries = tmp_path / "queries.parquet"
    artefacts.write_table(
        pd.DataFrame({"query_id": ["1"], "text": ["x"]}), queries, artefacts.QUERIES
    )
    run = tmp_path / "run.parquet"
    with artefacts.RunWriter(run, ["d1", "d2"]) as writer:
        writer.add(["1"], [[1, 0]], [[2.0, 1.0]])
    for path in (queries, run):
        assert artefacts.written_by(path) == provenance.code_version()
    assert artefacts.read_table(run, artefacts.RUN)["doc_id"].tolist() == ["d2", "d1"]


def test_the_library_digest_changes_with_an_uncommitted_edit(tmp_path):
    copy = tmp_path / "irrepro"
    shutil.copytree(LIBRARY, copy, ignore=shutil.ignore_patterns("__pycache__"))
    before = provenance.library_digest(copy)
    assert before == provenance.library_digest(LIBRARY)
    (copy / "bm25.py").write_text((copy / "bm25.py").read_text() + "\n# an edit\n")
    assert provenance.library_digest(copy) != before


def summary_file(path: Path, method: str, library: str, cpu: str = "AMD EPYC") -> str:
    writer = {"irrepro": "0.1.0", "library": library, "commit": "c" * 40, "dirty": False,
              "cpu": cpu}  # fmt: skip
    summary = {"method": method, "split": "dev", "metrics": {"MRR@10": 0.3}}
    path.write_text(json.dumps({**summary, "run_written_by": writer}))
    return str(path)


def write_star_adore(tmp_path, files) -> tuple[str, dict]:
    out = {k: str(tmp_path / f"t.{k}") for k in ("md", "csv", "json")}
    record = provenance.collect({}, tmp_path)
    found = tables.load_measurements(files)
    tables.write("star_adore", found, {"dev": "dev"}, ["MRR@10"], "demo", record, *out.values())
    return Path(out["md"]).read_text(), json.loads(Path(out["json"]).read_text())


def test_a_table_says_when_its_rows_come_from_different_code(tmp_path):
    files = [
        summary_file(tmp_path / "a.json", "bm25", "aaaa"),
        summary_file(tmp_path / "b.json", "star", "bbbb"),
    ]
    text, record = write_star_adore(tmp_path, files)
    assert "**The rows come from 2 versions of the library**" in text
    assert "`aaaa` (commit cccccccccccc): bm25/dev; `bbbb` (commit cccccccccccc): star/dev" in text
    assert record["runs_written_by"]["star/dev"]["library"] == "bbbb"


def test_a_table_of_one_code_version_has_no_warning(tmp_path):
    files = [
        summary_file(tmp_path / "a.json", "bm25", "aaaa"),
        summary_file(tmp_path / "b.json", "star", "aaaa"),
    ]
    text, _ = write_star_adore(tmp_path, files)
    assert "versions of the library" not in text
    assert "kinds of CPU" not in text


def test_a_table_says_when_its_rows_were_computed_on_different_cpus(tmp_path):
    """CPU training differs between CPU kinds (NOTES.md): a table mixing them says so."""
    files = [
        summary_file(tmp_path / "a.json", "bm25", "aaaa", cpu="AMD EPYC"),
        summary_file(tmp_path / "b.json", "star", "aaaa", cpu="Intel(R) Xeon(R) Processor"),
    ]
    text, _ = write_star_adore(tmp_path, files)
    assert ("**The rows were computed on 2 kinds of CPU**: AMD EPYC: bm25/dev; "
            "Intel(R) Xeon(R) Processor: star/dev.") in text  # fmt: skip
    assert "versions of the library" not in text
