"""A point's sampled measures: what the record keeps of each task, on literal samples and on a
tiny random model.

Random weights pass nothing; the model test checks the record's layout and that its counts
agree with each other, not a quality number."""

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
from pycodesmall.training.evaluation.code_measures import measure_code
from pycodesmall.training.evaluation.tasks.functional import summarise_code
from pycodesmall.training.study.measure import _cut_by_length, measure
from pycodesmall.training.study.plan import Evaluation, Sampled


@pytest.fixture
def test_split(tmp_path) -> str:
    path = tmp_path / "test.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as out:
        out.write(json.dumps({"text": Path(textwrap.__file__).read_text(encoding="utf-8"),
                              "path": "Lib/textwrap.py", "package": "cpython", "source": "stdlib"}) + "\n")
    return str(path)


def test_the_cut_samples_are_counted_and_left_out_of_the_validity_of_the_rest():
    valid, broken, cut = "def f():\n    return 1\n", "def f(:\n    return 1\n", "def f():\n    if x:\n"
    code = summarise_code([measure_code(c) for c in (valid, broken, cut)], [False, False, True])
    assert _cut_by_length(code) == {"cut_by_length_rate": pytest.approx(1 / 3), "cut_and_valid_rate": 0.0,
                                    "cut_valid_in_comment_rate": 0.0, "ended_on_their_own": {
                                        "samples": 2, "syntax_valid": 0.5, "indentation_error_rate": 0.0}}
    only_cut = summarise_code([measure_code(cut), measure_code("def f():\n    return 1\n    # again")],
                              [True, True])
    assert _cut_by_length(only_cut) == {"cut_by_length_rate": 1.0, "cut_and_valid_rate": 0.5,
                                        "cut_valid_in_comment_rate": 0.5, "ended_on_their_own": {
                                            "samples": 0, "syntax_valid": None, "indentation_error_rate": None}}


def test_sampled_measures_say_how_many_samples_the_token_cap_cut(indent_tokenizer, benchmark_data_dir,
                                                                 test_split, tmp_path, one_thread):
    torch.manual_seed(0)
    # a context long enough for every HumanEval prompt, which the syntax task completes
    model = CodeModel(Transformer(tiny_config(indent_tokenizer.vocab_size, max_position_embeddings=2048)),
                      indent_tokenizer, device="cpu")
    sampled = Sampled(n=2, max_new_tokens=8, humaneval_problems=2, lines_files=1)
    evaluation = Evaluation(test_files=1, reference=False, sampled=sampled, test_split=test_split,
                            benchmarks=str(benchmark_data_dir))
    record = measure(model, evaluation, tmp_path / "eval", sampled)
    humaneval, syntax = record["sampled"]["humaneval"], record["sampled"]["syntax"]
    assert humaneval["problems"] == 2 and humaneval["n"] == 2
    # HumanEval: n samples a problem; the syntax task: one greedy sample a function
    for task, samples in ((humaneval, 2 * 2), (syntax, syntax["functions"])):
        cut, ended = task["cut_by_length_rate"], task["ended_on_their_own"]
        assert 0 <= task["syntax_valid"] <= 1
        assert ended["samples"] == round(samples * (1 - cut))
        assert cut > 0.5  # 8 new tokens of a random model: most samples run into the cap
        # the compiler's messages account for every sample that does not compile
        assert sum(task["compile_errors"].values()) == pytest.approx(1 - task["syntax_valid"])
        if ended["samples"]:
            assert 0 <= ended["syntax_valid"] <= 1 and 0 <= ended["indentation_error_rate"] <= 1
        else:  # no rate over no samples
            assert ended["syntax_valid"] is None and ended["indentation_error_rate"] is None
