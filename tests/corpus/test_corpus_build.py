import json

from corpus_fixtures import LOCAL_PACKAGE, read_split

from pycodesmall.training.corpus.checksums import sha256_file
from pycodesmall.training.corpus.split import SPLITS


def report(corpus):
    return json.loads((corpus / "build_report.json").read_text())


def local_paths_kept(corpus):
    return {row["path"] for s in SPLITS for row in read_split(corpus, s)
            if row["package"] == LOCAL_PACKAGE}


def test_each_planted_file_meets_its_filter(built_corpus):
    dropped = report(built_corpus)["dropped"]
    assert dropped["licence_rejected"]["files"] == 1  # copyleft-demo
    assert dropped["non_utf8"]["files"] == 1
    assert dropped["generated"]["files"] == 2  # api_pb2.py by name, schema.py by its header
    assert dropped["unparsable"]["files"] == 1
    assert dropped["long_lines"]["files"] == 1
    assert dropped["too_small"]["files"] >= 1  # empty.py (and empty stdlib __init__ files)
    assert dropped["exact_duplicate"]["files"] >= 1
    assert dropped["near_duplicate"]["files"] >= 1
    assert dropped["contaminated"]["files"] == 1
    assert local_paths_kept(built_corpus) == {"stats.py", "analysis.ipynb"}
    assert report(built_corpus)["packages"]["local:planted"]["files_in"] == 11  # not .hidden/


def test_planted_humaneval_solution_is_listed(built_corpus):
    decontamination = report(built_corpus)["decontamination"]
    assert [(d["package"], d["path"]) for d in decontamination["dropped_files"]] == [
        (LOCAL_PACKAGE, "leaked.py")]
    assert decontamination["dropped_files"][0]["tasks"] == ["HumanEval/0"]


def test_notebook_becomes_python_with_markdown_as_comments(built_corpus):
    rows = [r for s in SPLITS for r in read_split(built_corpus, s) if r["path"] == "analysis.ipynb"]
    assert rows[0]["text"] == ("# # Fitting a line\n# We fit y = a x + b.\n\n"
                               "# %matplotlib inline\nimport statistics\n"
                               "slope = statistics.linear_regression([1, 2, 3], [2, 4, 6]).slope\n")
    assert report(built_corpus)["notebooks_converted"] == 1


def test_stage_counts_add_up(built_corpus):
    r = report(built_corpus)
    stages, dropped = r["stages"], r["dropped"]
    assert stages["discovered"]["files"] == stages["decontamination"]["files"] + sum(
        d["files"] for d in dropped.values())
    kept = sum(r["splits"][s]["files"] for s in SPLITS)
    assert kept == stages["decontamination"]["files"]
    assert sum(len(read_split(built_corpus, s)) for s in SPLITS) == kept
    assert all(r["splits"][s]["files"] > 0 for s in SPLITS)


def test_no_package_in_two_splits(built_corpus):
    seen = {}
    for split in SPLITS:
        for row in read_split(built_corpus, split):
            key = (row["source"], row["package"])
            assert seen.setdefault(key, split) == split
            assert set(row) == {"text", "path", "package", "source"}
    assert {k[0] for k in seen} == {"stdlib", "local", "pypi"}


def test_report_records_provenance(built_corpus):
    r = report(built_corpus)
    pypi = {s["name"]: s for s in r["sources"] if s["source"] == "pypi"}
    archive = built_corpus.parent / "cache" / "permissive-demo-1.0" / "permissive-demo-1.0.tar.gz"
    assert pypi["permissive-demo"]["sha256"] == sha256_file(archive)
    assert pypi["permissive-demo"]["licence"] == "MIT"
    assert pypi["copyleft-demo"]["version"] == "2.0"
    assert len(r["config_sha256"]) == 64 and r["wall_time_s"] >= 0
    assert r["packages"]["pypi:copyleft-demo"]["files_out"] == 0
