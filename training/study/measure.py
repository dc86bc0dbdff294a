"""What every point of the study is measured on, in minutes.

- `test_bpb`: bits per byte (`pycodesmall.bits_per_byte`) of a seeded sample of held-out
  files of the test split, the same files for every point.
- `humaneval_reference_bpb`, `mbpp_reference_bpb`: bits per byte of the benchmarks'
  reference solutions given their prompts (the prompts that `pycodesmall-train eval`
  sends), a smooth measure of function completion while pass@k sits at the floor.
- `sampled` (a model's last point, where the plan asks): HumanEval pass@1 and pass@10 from
  n samples at a temperature, their error categories and syntax validity, and greedy line
  completion and syntax validity on held-out functions, through `pycodesmall-train eval`'s
  own tasks (their result files stay in the run directory). The validity tasks also keep the
  share of samples cut by the token cap and the validity of the rest, and the commonest
  compiler messages of the samples that do not compile (what a tokenizer's invalid code gets
  wrong); line completion also keeps its two parts, the indentation and the code after it.

Scoring runs in fp32 whatever the run trained in, so every point is measured alike.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import pycodesmall
from pycodesmall.bits_per_byte import BitsPerByte, bits_per_byte, continuation_bits_per_byte
from pycodesmall.training.evaluation.benchmark_data import load_corpus_files
from pycodesmall.training.evaluation.cli import run_evaluation
from pycodesmall.training.evaluation.config import EvalConfig
from pycodesmall.training.evaluation.generation import generate_samples
from pycodesmall.training.evaluation.tasks.functional import CUT_RATES
from pycodesmall.training.evaluation.tasks.humaneval import humaneval_problems
from pycodesmall.training.evaluation.tasks.lines import LINE_SCORES
from pycodesmall.training.evaluation.tasks.mbpp import mbpp_problems
from pycodesmall.training.study.plan import Evaluation, Experiment, Sampled

__all__ = ["evaluate_point", "measure"]


def evaluate_point(model_dir: Path, point, experiment: Experiment) -> dict:
    """The evaluation record of one point (see the module docstring)."""
    model = pycodesmall.load(str(model_dir), device="cpu", backend="torch")
    sampled = experiment.evaluation.sampled if point.final else None
    return measure(model, experiment.evaluation, model_dir.parent / "eval", sampled)


def measure(model, evaluation: Evaluation, eval_dir: Path, sampled: Sampled | None = None) -> dict:
    """Bits per byte on the test sample and the reference solutions, and the sampled
    measures when `sampled` is given (their result files go to `eval_dir`)."""
    score, benchmarks = model.score_window, evaluation.benchmarks
    encode, start, context = model.tokenizer.encode, model.tokenizer.eot_id, model.context_length
    files = list(load_corpus_files(evaluation.test_split, None, evaluation.test_files, evaluation.seed))
    record = {"test_bpb": _summary(bits_per_byte(score, encode, start, (f.text for f in files), context),
                                   files=[f.path for f in files])}
    if evaluation.reference:
        for name, problems in (("humaneval", humaneval_problems(benchmarks)),
                               ("mbpp", mbpp_problems("sanitized", 0, benchmarks))):
            pairs = [(p.request.prompt, p.reference) for p in problems]
            record[f"{name}_reference_bpb"] = _summary(
                continuation_bits_per_byte(score, encode, start, pairs, context))
    if sampled is not None:
        record["sampled"] = _sampled(model, sampled, evaluation.test_split, benchmarks, eval_dir)
    return record


def _summary(result: BitsPerByte, files: list[str] | None = None) -> dict:
    summary = {"value": result.value, "bits": result.bits, "bytes": result.bytes,
               "tokens": result.tokens, "texts": result.texts}
    if files is not None:  # each file's bits and bytes, in `files` order: comparisons pair them
        summary["files"] = len(files)
        summary["file_bits"] = [bits for bits, _ in result.per_text]
        summary["file_bytes"] = [size for _, size in result.per_text]
    return summary


def _sampled(model, sampled, test_split: str, benchmarks: str | None, eval_dir: Path) -> dict:
    generate = functools.partial(generate_samples, model)
    tokenizer_id = f"{model.tokenizer.variant}-{model.tokenizer.vocab_size}"
    at_temperature = EvalConfig(n=sampled.n, temperature=sampled.temperature, top_p=sampled.top_p,
                                max_new_tokens=sampled.max_new_tokens, limit=sampled.humaneval_problems,
                                data_dir=benchmarks)
    greedy = EvalConfig(max_new_tokens=sampled.max_new_tokens, corpus=test_split,
                        corpus_files=sampled.lines_files, data_dir=benchmarks)
    results = {}
    for names, config in ((["humaneval"], at_temperature), (["lines", "syntax"], greedy)):
        for path in run_evaluation(names, config, generate, None, str(eval_dir.parent / "model"),
                                   tokenizer_id, eval_dir):
            result = json.loads(Path(path).read_text(encoding="utf-8"))
            results[result["task"]] = result["summary"]
    humaneval, lines, syntax = results["humaneval"], results["lines"], results["syntax"]
    return {
        "humaneval": {"n": sampled.n, "temperature": sampled.temperature, "problems": humaneval["problems"],
                      **{k: humaneval[k] for k in ("pass@1", "pass@1_ci95", "pass@10", "pass@10_ci95")
                         if k in humaneval},
                      "error_categories": humaneval["categories"],
                      "syntax_valid": humaneval["code"]["compile_rate"],
                      "indentation_error_rate": humaneval["code"]["indentation_error_rate"],
                      "compile_errors": humaneval["code"]["compile_errors"],
                      **_cut_by_length(humaneval["code"]),
                      "defines_entry_point_rate": humaneval.get("defines_entry_point_rate")},
        "lines": {key: lines[key] for key in ("lines", *LINE_SCORES)},
        "syntax": {"functions": syntax["functions"], "syntax_valid": syntax["compile_rate"],
                   "indentation_error_rate": syntax["indentation_error_rate"],
                   "compile_errors": syntax["compile_errors"], **_cut_by_length(syntax)},
    }


def _cut_by_length(code: dict) -> dict:
    """How many samples the token cap cut, and the validity of those that ended on their own: a
    sample cut mid-block parses only if the cap fell where its code is complete (most often inside
    a comment that a greedy completion repeats up to the cap), so a difference in validity may be
    one in how often a model ends its function. The cut samples that parse, and those of them that
    end in a comment, are kept as rates over all samples."""
    ended = code["ended_on_their_own"]
    rates = {key: ended[rate] if ended["samples"] else None
             for key, rate in (("syntax_valid", "compile_rate"), ("indentation_error_rate", "indentation_error_rate"))}
    return {**{rate: code[rate] for rate in CUT_RATES},
            "ended_on_their_own": {"samples": ended["samples"], **rates}}
