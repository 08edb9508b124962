"""BM25 on the real CACM collection through the Snakemake pipeline, next to Anserini's MAP.

For each way of handling the qrels' unknown document ids (keep, drop, and the ids zero-padded as
a control) a config is written to a temp dir and `snakemake --cores 2 --configfile <cfg>` runs
with cwd /work/main; MAP comes from results/cacm/metrics/bm25/test.json.

    python benchmarks/cacm_bm25.py [/work/shared/data/cacm]
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import tempfile
from pathlib import Path

import yaml
from _common import REPO, VENV_BIN, OtherCPU, Timer, markdown_table, venv_env, write_result

ANSERINI_MAP = 0.3123  # Anserini's CACM regression, BM25 k1=0.9 b=0.4, Porter, top-1000
TOLERANCE = 0.01


def corpus_ids(data: Path) -> set[str]:
    with open(data / "corpus.jsonl") as lines:
        return {json.loads(line)["id"] for line in lines}


def padded(doc_id: str) -> str:
    prefix, number = doc_id.split("-")
    return f"{prefix}-{int(number):04d}"


def qrels_audit(data: Path) -> tuple[str, list[list[str]]]:
    """What the data says about the qrels' document ids, as Markdown, and the qrels rows."""
    ids = corpus_ids(data)
    rows = [line.split() for line in (data / "qrels.txt").read_text().splitlines() if line.strip()]
    topics = re.findall(r"<DOCNO>\s*(\S+)\s*</DOCNO>", (data / "topics.txt").read_text())
    unknown = [row for row in rows if row[2] not in ids]
    recovered = [row for row in unknown if padded(row[2]) in ids]
    numbers = [row[2].split("-")[1] for row in rows]
    short = sum(len(number) < 4 for number in numbers)
    padded_small = sum(len(number) == 4 and int(number) < 1000 for number in numbers)
    widths = "/".join(str(w) for w in sorted({len(doc_id.split("-")[1]) for doc_id in ids}))
    text = "\n".join(
        [
            f"- corpus.jsonl: {len(ids):,} documents, ids `{min(ids)}` ... `{max(ids)}`, every "
            f"number written with {widths} digits.",
            f"- topics.txt: {len(topics)} topics; qrels.txt: {len(rows)} judgments (grades "
            f"{'/'.join(sorted({row[3] for row in rows}))}) for "
            f"{len({row[0] for row in rows})} topics.",
            f"- In qrels.txt, {short} judgments write a number below 1000 without padding and "
            f"{padded_small} with it. {len(unknown)} judgments name an id that is not in the "
            f"corpus (e.g. {', '.join(f'`{row[2]}`' for row in unknown[:3])}), spread over "
            f"{len({row[0] for row in unknown})} topics; {len(recovered)} of these "
            f"{len(unknown)} ids exist in the corpus once zero-padded to four digits "
            "(`CACM-756` -> `CACM-0756`).",
        ]
    )
    return text, rows


def fixed_copy(data: Path, rows: list[list[str]], target: Path) -> Path:
    """The collection with zero-padded qrels ids (corpus and topics linked, not copied)."""
    target.mkdir()
    for name in ("corpus.jsonl", "topics.txt"):
        (target / name).symlink_to(data / name)
    lines = [f"{q} {it} {padded(doc_id)} {rel}\n" for q, it, doc_id, rel in rows]
    (target / "qrels.txt").write_text("".join(lines))
    return target


def run_pipeline(data: Path, policy: str, tmp: Path, label: str) -> dict:
    results = tmp / label
    config = {
        "dataset": "cacm",
        "results": str(results),
        "datasets": {
            "cacm": {
                "source": "local",
                "format": "trec",
                "path": str(data),
                "qrels_unknown_docs": policy,
            }
        },
        "methods": ["bm25"],
        "tables": [],
        "bm25": {"k1": 0.9, "b": 0.4, "stemmer": "porter"},
        "evaluation": {"metrics": ["MAP"]},
    }
    config_file = tmp / f"{label}.yaml"
    config_file.write_text(yaml.safe_dump(config))
    command = [str(VENV_BIN / "snakemake"), "--cores", "2", "--configfile", str(config_file)]
    with Timer() as timer:
        done = subprocess.run(command, cwd=REPO, env=venv_env(), capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"snakemake failed ({label}):\n{done.stderr[-4000:]}")
    summary = json.loads((results / "cacm/metrics/bm25/test.json").read_text())
    manifest = json.loads((results / "cacm/data/manifest.json").read_text())
    return {
        "map": summary["metrics"]["MAP"],
        "queries": summary["queries"],
        "judgments": manifest["splits"]["test"]["judgments"],
        "seconds": timer.seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", nargs="?", default="/work/shared/data/cacm", type=Path)
    parser.add_argument("--name", default="cacm_bm25", help="results/<name>.md")
    args = parser.parse_args()
    data = args.data.resolve()
    audit, rows = qrels_audit(data)

    other = OtherCPU().start()
    with tempfile.TemporaryDirectory(prefix="cacm-bench-") as name:
        tmp = Path(name)
        runs = {
            "keep (as trec_eval / Anserini)": run_pipeline(data, "keep", tmp, "keep"),
            "drop": run_pipeline(data, "drop", tmp, "drop"),
            "ids zero-padded (control)": run_pipeline(
                fixed_copy(data, rows, tmp / "padded-data"), "error", tmp, "padded"
            ),
        }

    other.stop()
    table_rows = []
    for label, result in runs.items():
        delta = result["map"] - ANSERINI_MAP
        verdict = "yes" if abs(delta) <= TOLERANCE else "no"
        table_rows.append(
            [label, result["judgments"], result["queries"], f"{result['map']:.4f}"]
            + [f"{ANSERINI_MAP:.4f}", f"{delta:+.4f}", verdict, f"{result['seconds']:.1f}"]
        )
    keep, drop, fixed = (result["map"] for result in runs.values())
    setup = (
        f"Collection `{data}` (local, TREC layout: corpus.jsonl, topics.txt, qrels.txt). "
        "BM25 k1 0.9, b 0.4, Lucene scoring, Porter stemmer, Lucene stopwords, top-1000, run "
        "by `snakemake --cores 2 --configfile <cfg>` in /work/main with results in a temp dir. "
        f"Target: MAP within {TOLERANCE} of Anserini's published {ANSERINI_MAP} "
        "(regressions for CACM, `trec_eval -m map`)."
    )
    table = markdown_table(
        [
            "qrels_unknown_docs",
            "judgments",
            "judged queries",
            "MAP",
            "Anserini",
            "delta",
            f"within {TOLERANCE}",
            "snakemake s",
        ],
        table_rows,
    )
    close = abs(fixed - ANSERINI_MAP) <= TOLERANCE
    explanation = "\n".join(
        [
            "## Why the qrels need `keep`",
            "Read from the data by this script:",
            audit,
            "",
            "trec_eval matches document ids as exact strings and puts every judged-relevant "
            "document in the denominator of AP, retrieved or not. With a corpus of padded ids, "
            "those judgments can never match a retrieved document: they count as relevant but "
            f"unretrievable. `keep` reproduces that and gives {keep:.4f} "
            f"({keep - ANSERINI_MAP:+.4f}); `drop` removes them from the denominators and "
            f"inflates MAP to {drop:.4f} ({drop - ANSERINI_MAP:+.4f}). The padded control lets "
            f"the pipeline find those documents and gives {fixed:.4f} "
            f"({fixed - ANSERINI_MAP:+.4f}), "
            + (
                f"also within {TOLERANCE}: MAP alone does not tell `keep` from repaired ids at "
                "this tolerance; the id mismatch above and Anserini's own files (below) do."
                if close
                else "outside the tolerance."
            ),
            "",
            "Checked by hand against castorini/anserini (not by this script, which runs "
            "offline): its `src/test/resources/sample_qrels/cacm/qrels.cacm.txt` has the same "
            "unpadded ids (same size, 14,194 bytes), while its BM25 run "
            "`src/test/resources/sample_runs/cacm/cacm-bm25.txt` writes padded ids, e.g. "
            "`CACM-0950` at rank 4 for topic 19 and `CACM-0268` at rank 8 for topic 24, which "
            "the qrels judge relevant as `CACM-950` and `CACM-268`. So Anserini's trec_eval "
            "numbers count these judgments as relevant but never retrieved, as `keep` does. "
            "The gap that remains between `keep` and 0.3123 is therefore not the qrels; "
            "candidates (not measured here) are indexing differences: Lucene's tokenizer and "
            "possessive filter, its one-byte length norms, how the documents were parsed.",
        ]
    )
    title = "BM25 on CACM via the Snakemake pipeline"
    write_result(args.name, title, [setup, table, explanation], other)


if __name__ == "__main__":
    main()
