"""Tasks, driven by fake generators: prompt formats, scoring, and what lands in results."""

from __future__ import annotations

import math

import pytest

from pycodesmall.training.evaluation.config import EvalConfig
from pycodesmall.training.evaluation.generation import Request, Sample, _batches, truncate_at_stop
from pycodesmall.training.evaluation.tasks import bpb, humaneval, lines, mbpp, syntax
from pycodesmall.training.evaluation.tasks.humaneval import humaneval_problems
from pycodesmall.training.evaluation.tasks.lines import edit_similarity, levenshtein
from pycodesmall.training.evaluation.tasks.mbpp import mbpp_problems


def answering(answers):
    """A Generate that looks each prompt up in `answers` (prompt -> list of sample texts)."""
    def generate(requests, sampling):
        return [[Sample(text) for text in answers[request.prompt]] for request in requests]
    return generate


def test_humaneval_scores_pass_at_k_and_classifies_each_sample(data_dir):
    problems = humaneval_problems(data_dir)[:4]
    answers = {p.request.prompt: [p.reference, ""] for p in problems[:3]}
    answers[problems[3].request.prompt] = ["    return undefined_name\n", "    retur 1\n"]
    config = EvalConfig(n=2, temperature=0.8, limit=4, data_dir=data_dir)
    result = humaneval.evaluate(config, answering(answers))
    assert result.name == "humaneval"
    assert result.summary["pass@1"] == pytest.approx((0.5 * 3 + 0) / 4)
    assert "pass@10" not in result.summary  # n = 2 cannot estimate it
    assert [s["category"] for s in result.samples] == [
        "passed", "wrong_answer", "passed", "wrong_answer", "passed", "wrong_answer",
        "name_error", "syntax_error"]
    assert result.summary["categories"]["passed"] == pytest.approx(3 / 8)
    assert result.summary["code"]["compile_rate"] == pytest.approx(7 / 8)
    assert result.samples[6]["code"]["compile"] == "valid"
    assert result.summary["isolation"]


def test_humaneval_prompt_is_the_problem_prompt_with_block_end_stop(data_dir):
    problem = humaneval_problems(data_dir)[0]
    assert problem.request.prompt.startswith("from typing import List")
    assert problem.request.stop_at_block_end
    assert problem.program("    pass\n").endswith("check(has_close_elements)\n")


def test_mbpp_zero_shot_prompt_is_a_docstring_with_one_test_then_the_signature(data_dir):
    problems = {p.task_id: p for p in mbpp_problems("sanitized", 0, data_dir)}
    problem = problems["Mbpp/2"]
    assert problem.request.prompt == (
        '"""\nWrite a function to find the shared elements from the given two lists.\n'
        'assert set(similar_elements((3, 4, 5, 6),(5, 7, 4, 10))) == set((4, 5))\n"""\n'
        "def similar_elements(test_tup1, test_tup2):\n")
    assert problem.solution("  return 1\n") == problem.request.prompt + "  return 1\n"
    assert problem.entry_point == "similar_elements"
    # The reference's imports come before the signature; its body is the oracle completion.
    with_import = problems["Mbpp/3"]
    assert with_import.request.prompt.endswith('"""\nimport math\ndef is_not_prime(n):\n')
    assert with_import.reference.startswith("    result = False\n")


def test_mbpp_full_variant_is_the_test_split(data_dir):
    problems = mbpp_problems("full", 0, data_dir)
    assert [p.task_id for p in problems] == [f"Mbpp/{i}" for i in range(11, 511)]
    assert "\r" not in "".join(p.reference + p.tests for p in problems)


def test_mbpp_three_shot_prompt_has_three_worked_examples(data_dir):
    problem = mbpp_problems("full", 3, data_dir)[0]
    prompt = problem.request.prompt
    assert prompt.count("[BEGIN]") == 4 and prompt.count("[DONE]") == 3
    assert prompt.startswith("You are an expert Python programmer, and here is your task: "
                             "Write a function to find the similar elements")
    assert prompt.endswith("Your code should pass these tests:\n\n" + problem.tests + "\n[BEGIN]\n")
    assert problem.request.stop == ("[DONE]",)


def test_mbpp_three_shot_references_pass(data_dir):
    config = EvalConfig(limit=3, mbpp_shots=3, data_dir=data_dir)
    problems = mbpp_problems("sanitized", 3, data_dir)[:3]
    result = mbpp.evaluate(config, answering({p.request.prompt: [p.reference] for p in problems}))
    assert result.name == "mbpp-sanitized-3shot"
    assert result.summary["pass@1"] == 1.0


def test_syntax_task_measures_validity_and_indentation_errors(data_dir, stdlib_corpus):
    config = EvalConfig(limit=6, data_dir=data_dir, corpus=stdlib_corpus)
    references = {prompt.request.prompt: prompt.reference
                  for prompts in syntax._prompt_sources(config).values() for prompt in prompts}
    assert len(references) == 12  # 6 from the corpus, 6 from HumanEval

    real = syntax.evaluate(config, answering({p: [r] for p, r in references.items()}))
    assert real.summary["compile_rate"] == 1.0 and real.summary["functions"] == 12
    assert real.summary["sources"]["corpus"]["compile_rate"] == 1.0
    assert real.summary["sources"]["humaneval"]["compile_rate"] == 1.0

    misindented = {p: ["        x = 1\n    return x\n", "\treturn 1\n        return 2\n"]
                   for p in references}
    broken = syntax.evaluate(EvalConfig(n=2, temperature=0.8, limit=6, data_dir=data_dir, corpus=stdlib_corpus),
                             answering(misindented))
    for summary in (broken.summary, *broken.summary["sources"].values()):
        assert summary["compile_rate"] == 0.0
        assert summary["indentation_error_rate"] == 1.0
        assert summary["tab_error_rate"] == 0.5


def test_corpus_prompts_are_signature_and_docstring(stdlib_corpus):
    from pycodesmall.training.evaluation.benchmark_data import load_corpus_files

    file = next(load_corpus_files(stdlib_corpus))  # textwrap
    prompts = syntax.corpus_function_prompts(file, per_file=10, seed=0)
    assert {p.origin for p in prompts} >= {"Lib/textwrap.py:dedent", "Lib/textwrap.py:indent"}
    dedent = next(p for p in prompts if p.origin.endswith(":dedent"))
    assert dedent.request.prompt.startswith("def dedent(text):\n")
    assert dedent.request.prompt.rstrip().endswith('"""')
    assert dedent.reference.lstrip().startswith("# Look for the longest leading string")


def test_lines_task_scores_exact_match_and_edit_similarity(stdlib_corpus):
    config = EvalConfig(lines_per_file=4, corpus=stdlib_corpus)
    from pycodesmall.training.evaluation.benchmark_data import load_corpus_files

    prompts = [p for f in load_corpus_files(stdlib_corpus) for p in lines.line_prompts(f, 4, 0)]
    assert len(prompts) == 12
    assert all(p.request.prompt.strip() and p.request.max_lines == 1 for p in prompts)
    perfect = lines.evaluate(config, answering({p.request.prompt: [p.target + "\nnext line"]
                                                for p in prompts}))
    assert {key: perfect.summary[key] for key in ("lines", "samples", "exact_match",
                                                  "edit_similarity")} == {
        "lines": 12, "samples": 12, "exact_match": 1.0, "edit_similarity": 1.0}
    assert perfect.summary["generation"]["prompts_cut"] == 0
    assert perfect.summary["indentation_match"] == perfect.summary["code_edit_similarity"] == 1.0
    empty = lines.evaluate(config, answering({p.request.prompt: [""] for p in prompts}))
    assert empty.summary["exact_match"] == 0.0 and empty.summary["edit_similarity"] == 0.0
    assert empty.summary["code_edit_similarity"] == 0.0
    assert empty.summary["indentation_match"] == sum(p.target == p.target.lstrip() for p in prompts) / 12


def test_line_scores_split_the_indentation_from_the_code():
    misindented = lines.line_scores("return x", "        return x")
    assert misindented == {"exact_match": False, "edit_similarity": pytest.approx(1 - 8 / 16),
                           "indentation_match": False, "code_edit_similarity": 1.0}
    wrong_code = lines.line_scores("    return y  ", "    return x\n")
    assert wrong_code == {"exact_match": False, "edit_similarity": pytest.approx(1 - 1 / 12),
                          "indentation_match": True, "code_edit_similarity": pytest.approx(1 - 1 / 8)}
    assert lines.line_scores("\treturn x", "    return x")["indentation_match"] is False


def test_levenshtein_and_edit_similarity():
    assert levenshtein("kitten", "sitting") == 3
    assert levenshtein("", "abc") == 3
    assert edit_similarity("return x", "return y") == pytest.approx(1 - 1 / 8)
    assert edit_similarity("", "") == 1.0


def test_bits_per_byte_is_total_bits_over_utf8_bytes(stdlib_corpus):
    config = EvalConfig(corpus=stdlib_corpus)
    uniform_bytes = bpb.Scorer(encode=lambda text: list(text.encode("utf-8")),
                               score_window=lambda ids: [-math.log(256)] * (len(ids) - 1),
                               start_id=0, context=64)
    result = bpb.evaluate(config, None, uniform_bytes)
    assert result.summary["files"] == 3
    assert result.summary["bits_per_byte"] == pytest.approx(8.0)
    assert result.summary["bytes_per_token"] == 1.0

    # Two bytes per token, each token at probability 1/2: 1 bit per 2 bytes.
    pairs = bpb.Scorer(encode=lambda text: list(range(math.ceil(len(text.encode()) / 2))),
                       score_window=lambda ids: [-math.log(2)] * (len(ids) - 1),
                       start_id=0, context=64)
    half_bit = bpb.evaluate(config, None, pairs).summary["bits_per_byte"]
    assert half_bit == pytest.approx(0.5, rel=1e-3)


def test_corpus_tasks_need_a_corpus():
    with pytest.raises(ValueError, match="--corpus"):
        lines.evaluate(EvalConfig(), answering({}))


def test_truncate_at_stop_cuts_at_the_earliest_stop():
    assert truncate_at_stop("    return 1\ndef g():\n", ("\nclass ", "\ndef ")) == "    return 1"
    assert truncate_at_stop("x = 1", ("\n",)) == "x = 1"


def test_batches_share_stop_rules_and_budget_and_respect_the_size():
    a, b = Request("a", ("\n",)), Request("b", ("[DONE]",))
    batches = [(list(indices), [r.prompt for r in batch], budget)
               for indices, batch, budget in _batches([a, a, a, b, a, a], [9, 9, 9, 9, 9, 5], 2)]
    assert batches == [([0, 1], ["a", "a"], 9), ([2], ["a"], 9), ([3], ["b"], 9),
                       ([4], ["a"], 9), ([5], ["a"], 5)]


def test_several_greedy_samples_are_refused():
    with pytest.raises(ValueError, match="temperature"):
        EvalConfig(n=4, temperature=0.0)


def test_hashed_settings_leave_out_where_and_how_fast_but_not_what():
    base = EvalConfig()
    assert EvalConfig(workers=7, data_dir="/x").settings() == base.settings()
    assert EvalConfig(n=5, temperature=0.8).settings() != base.settings()
    assert EvalConfig(workers=7).run_settings() == {"workers": 7, "data_dir": None,
                                                    "corpus": None}
    with pytest.raises(ValueError):
        EvalConfig(mbpp_shots=2)


def test_cpu_time_binds_and_the_wall_clock_allows_waiting_for_a_core():
    limits = EvalConfig(timeout_s=4.0).limits
    assert (limits.cpu_s, limits.timeout_s) == (4, 12.0)


def test_a_corpus_sample_is_a_seeded_subset_in_file_order(stdlib_corpus):
    from pycodesmall.training.evaluation.benchmark_data import load_corpus_files

    every = [f.path for f in load_corpus_files(stdlib_corpus)]
    samples = {seed: [f.path for f in load_corpus_files(stdlib_corpus, sample=2, seed=seed)]
               for seed in range(8)}
    assert all(len(s) == 2 and s == [p for p in every if p in s] for s in samples.values())
    assert len({tuple(s) for s in samples.values()}) > 1  # the seed chooses
    assert [f.path for f in load_corpus_files(stdlib_corpus, sample=2, seed=3)] == samples[3]
    assert [f.path for f in load_corpus_files(stdlib_corpus, sample=10)] == every
    bpb_config = EvalConfig(corpus=stdlib_corpus, corpus_files=1, seed=5)
    result = bpb.evaluate(bpb_config, scorer=bpb.Scorer(encode=lambda t: [1] * len(t),
                                                        score_window=lambda ids: [-0.1] * (len(ids) - 1),
                                                        start_id=0, context=64))
    assert result.summary["files"] == 1 and result.samples[0]["path"] == samples[5][0]
