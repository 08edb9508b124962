"""irrepro-check-config: what Snakemake cannot say about a --configfile (its YAML syntax) and
the workflow's own parse-time checks, from the command line."""

from irrepro.check_config import main

DATASET = "dataset: mine\ndatasets:\n  mine: {source: local, format: msmarco, path: /data}\n"


def run(tmp_path, capsys, *texts: str) -> tuple[int, str]:
    files = []
    for number, text in enumerate(texts):
        files.append(tmp_path / f"c{number}.yaml")
        files[-1].write_text(text)
    status = main([str(f) for f in files])
    captured = capsys.readouterr()
    return status, (captured.err or captured.out).strip()


def test_a_yaml_syntax_error_names_file_line_and_column(tmp_path, capsys):
    status, message = run(tmp_path, capsys, DATASET + "bm25: {k1: 0.9\nmethods: [bm25]\n")
    assert status == 1
    assert message == (
        f"irrepro: {tmp_path / 'c0.yaml'}:5:8: expected ',' or '}}', but got ':' "
        "(while parsing a flow mapping from line 4)"
    )


def test_a_tab_is_named_where_it_is(tmp_path, capsys):
    status, message = run(tmp_path, capsys, DATASET, "bm25:\n\tk1: 0.9\n")
    assert (status, message) == (
        1,
        f"irrepro: {tmp_path / 'c1.yaml'}:2:1: found character '\\t' that cannot start any token",
    )


def test_schema_errors_name_the_last_file_that_sets_the_key(tmp_path, capsys):
    status, message = run(tmp_path, capsys, DATASET + "methods: [bm25]\n", "bm25: {k1: fast}\n")
    assert status == 1
    assert message == f"irrepro: {tmp_path / 'c1.yaml'}:1: bm25.k1: 'fast' is not of type 'number'"


def test_the_plan_checks_run_too(tmp_path, capsys):
    """/data does not exist: the workflow would stop on it at parse time, and so does this."""
    assert run(tmp_path, capsys, DATASET + "methods: [bm25]\n") == (
        1,
        "irrepro: dataset folder /data does not exist",
    )


def test_a_valid_config_and_a_missing_file(tmp_path, capsys):
    data = tmp_path / "data"
    data.mkdir()
    (data / "collection.tsv").write_text("d1\tsome text\n")
    (data / "queries.test.tsv").write_text("q1\ttext\n")
    (data / "qrels.test.tsv").write_text("q1 0 d1 1\n")
    config = DATASET.replace("/data", str(tmp_path / "data")) + "methods: [bm25]\n"
    assert run(tmp_path, capsys, config) == (0, f"irrepro: {tmp_path / 'c0.yaml'}: valid")
    assert main([str(tmp_path / "absent.yaml")]) == 1
    assert "absent.yaml: No such file or directory" in capsys.readouterr().err
    assert main([]) == 2
