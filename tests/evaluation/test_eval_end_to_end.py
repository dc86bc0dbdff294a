"""The whole harness on a tiny randomly initialised model saved to disk.

A harness test, not a quality number: random weights pass nothing. It checks that
`pycodesmall-train eval` loads a saved model, generates in batches through the library,
runs and scores every task and writes result files the report can render.
"""

from __future__ import annotations

import bisect
import fnmatch
import gzip
import json
import math
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from pycodesmall.training.evaluation.cli import eval_command
from pycodesmall.training.evaluation.report import report_command
from pycodesmall.training.evaluation.results import read_results


@pytest.fixture
def one_torch_thread():
    """On a busy 2-core machine two intra-op threads spin against each other and scoring
    gets about 30 times slower; one thread keeps this test at a few seconds."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def small_corpus(tmp_path) -> str:
    path = tmp_path / "small.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as out:
        for module in (bisect, fnmatch):
            out.write(json.dumps({"text": Path(module.__file__).read_text(encoding="utf-8"),
                                  "path": f"Lib/{module.__name__}.py", "package": "cpython",
                                  "source": "stdlib"}) + "\n")
    return str(path)


def test_eval_command_runs_every_task_on_a_saved_model(tiny_model_dir, data_dir, small_corpus,
                                                       tmp_path, one_torch_thread):
    output = tmp_path / "results"
    arguments = ["--model", str(tiny_model_dir), "--tasks", "humaneval,mbpp,syntax,lines,bpb",
                 "--limit", "2", "--n", "2", "--temperature", "0.8", "--max-new-tokens", "12",
                 "--lines-per-file", "1", "--functions-per-file", "1", "--timeout", "5",
                 "--data-dir", data_dir, "--corpus", small_corpus, "--output-dir", str(output),
                 "--device", "cpu", "--backend", "torch"]
    outcome = CliRunner().invoke(eval_command, arguments)
    assert outcome.exit_code == 0, outcome.output
    results = {r["task"]: r for r in read_results([output])}
    assert set(results) == {"humaneval", "mbpp-sanitized-0shot", "syntax", "lines", "bpb"}
    for result in results.values():
        assert result["model"] == str(tiny_model_dir)
        assert result["tokenizer"] == "indent-1024"
        assert result["config"]["n"] == 2 and result["wall_time_s"] > 0

    humaneval = results["humaneval"]
    assert [s["task_id"] for s in humaneval["samples"]] == ["HumanEval/0"] * 2 + ["HumanEval/1"] * 2
    assert all(s["category"] != "passed" for s in humaneval["samples"])
    assert humaneval["summary"]["pass@1"] == 0.0
    assert len(results["syntax"]["samples"]) == 2 * 2 * 2  # 2 sources, 2 prompts, n = 2
    assert results["lines"]["summary"]["lines"] == 2

    # Random weights give a near-uniform next-token distribution over the 1024 ids:
    # about log2(1024) = 10 bits per token.
    bpb = results["bpb"]["summary"]
    bits_per_token = bpb["bits_per_byte"] * bpb["bytes_per_token"]
    assert math.isclose(bits_per_token, 10.0, abs_tol=1.0)

    report = CliRunner().invoke(report_command, [str(output)])
    assert report.exit_code == 0 and "| humaneval |" in report.output


def test_eval_command_rejects_bad_requests_before_loading_a_model():
    arguments = ["--model", "no-such-model", "--tasks", "humaneval,bpb"]
    missing_corpus = CliRunner().invoke(eval_command, arguments)
    assert missing_corpus.exit_code == 2 and "bpb need(s) --corpus" in missing_corpus.output
    unknown = CliRunner().invoke(eval_command, ["--model", "no-such-model", "--tasks", "hmm"])
    assert unknown.exit_code == 2 and "unknown task(s) hmm" in unknown.output
