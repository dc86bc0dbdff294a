"""A point's sampled measures on a tiny random model: what the record keeps of each task.

Random weights pass nothing; this checks the record's layout and that its counts agree with
each other, not a quality number."""

from __future__ import annotations

import gzip
import json
import textwrap
from pathlib import Path

import pytest
import torch
from model_fixtures import tiny_config

from pycodesmall.model import Transformer
from pycodesmall.pretrained import CodeModel
from pycodesmall.training.study.measure import measure
from pycodesmall.training.study.plan import Evaluation, Sampled


@pytest.fixture
def test_split(tmp_path) -> str:
    path = tmp_path / "test.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as out:
        out.write(json.dumps({"text": Path(textwrap.__file__).read_text(encoding="utf-8"),
                              "path": "Lib/textwrap.py", "package": "cpython", "source": "stdlib"}) + "\n")
    return str(path)


def test_sampled_measures_say_how_many_samples_the_token_cap_cut(indent_tokenizer, benchmark_data_dir,
                                                                 test_split, tmp_path):
    torch.manual_seed(0)
    # a context long enough for every HumanEval prompt, which the syntax task completes
    model = CodeModel(Transformer(tiny_config(indent_tokenizer.vocab_size, max_position_embeddings=2048)),
                      indent_tokenizer, device="cpu")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # two threads spin against each other on a busy 2-core machine
    try:
        sampled = Sampled(n=2, max_new_tokens=8, humaneval_problems=2, lines_files=1)
        evaluation = Evaluation(test_files=1, reference=False, sampled=sampled, test_split=test_split,
                                benchmarks=str(benchmark_data_dir))
        record = measure(model, evaluation, tmp_path / "eval", sampled)
    finally:
        torch.set_num_threads(threads)
    humaneval, syntax = record["sampled"]["humaneval"], record["sampled"]["syntax"]
    assert humaneval["problems"] == 2 and humaneval["n"] == 2
    # HumanEval: n samples a problem; the syntax task: one greedy sample a function
    for task, samples in ((humaneval, 2 * 2), (syntax, syntax["functions"])):
        cut, ended = task["cut_by_length_rate"], task["ended_on_their_own"]
        assert 0 <= task["syntax_valid"] <= 1
        assert ended["samples"] == round(samples * (1 - cut))
        assert cut > 0.5  # 8 new tokens of a random model: most samples run into the cap
        if ended["samples"]:
            assert 0 <= ended["syntax_valid"] <= 1 and 0 <= ended["indentation_error_rate"] <= 1
        else:  # no rate over no samples
            assert ended["syntax_valid"] is None and ended["indentation_error_rate"] is None
