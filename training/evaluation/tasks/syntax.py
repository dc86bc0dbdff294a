"""Syntax and indentation validity of generated function bodies.

Prompts are real signatures with their docstrings: module-level functions of held-out
corpus files, and the HumanEval prompts. The model writes the body; the function is then
compiled as a whole. Reported per prompt source: the rate at which it compiles (the AST
validity rate) and the rate of IndentationError/TabError, the errors an
indentation-aware tokenizer is meant to remove, plus the code measures of every sample.
"""

from __future__ import annotations

import ast
import itertools
import random
import warnings
from dataclasses import dataclass

from pycodesmall.training.evaluation.benchmark_data import (CorpusFile, load_corpus_files,
                                                            load_humaneval)
from pycodesmall.training.evaluation.code_measures import measure_code
from pycodesmall.training.evaluation.generation import Generate, Request, generation_summary
from pycodesmall.training.evaluation.results import TaskResult
from pycodesmall.training.evaluation.tasks.functional import CUT_RATES, summarise_code

__all__ = ["STOP", "FunctionPrompt", "corpus_function_prompts", "humaneval_function_prompts",
           "evaluate"]

STOP = ("\ndef ", "\nclass ", "\nif __name__", "\n@")


@dataclass(frozen=True)
class FunctionPrompt:
    """A signature and docstring to complete; `reference` is the real body."""

    origin: str
    request: Request
    reference: str


def _documented_functions(tree: ast.Module):
    """Module-level functions whose docstring is followed by a body on later lines."""
    for node in tree.body:
        if (isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
                and ast.get_docstring(node) is not None and len(node.body) > 1
                and node.body[1].lineno > node.body[0].end_lineno):
            yield node


def corpus_function_prompts(file: CorpusFile, per_file: int, seed: int) -> list[FunctionPrompt]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(file.text)
    except (SyntaxError, ValueError):
        return []
    lines = file.text.splitlines(keepends=True)
    candidates = list(_documented_functions(tree))
    chosen = random.Random(f"{seed}:{file.path}").sample(candidates,
                                                         min(per_file, len(candidates)))
    prompts = []
    for node in sorted(chosen, key=lambda node: node.lineno):
        start = min([node.lineno] + [decorator.lineno for decorator in node.decorator_list])
        docstring_end = node.body[0].end_lineno
        prompts.append(FunctionPrompt(
            origin=f"{file.path}:{node.name}",
            # Real docstrings can outgrow a small context: kept from the end, and counted.
            request=Request("".join(lines[start - 1:docstring_end]), STOP,
                            stop_at_block_end=True, allow_cut=True),
            reference="".join(lines[docstring_end:node.end_lineno])))
    return prompts


def humaneval_function_prompts(data_dir: str | None) -> list[FunctionPrompt]:
    return [FunctionPrompt(record["task_id"], Request(record["prompt"], STOP,
                                                      stop_at_block_end=True),
                           record["canonical_solution"])
            for record in load_humaneval(data_dir)]


def _prompt_sources(config) -> dict[str, list[FunctionPrompt]]:
    sources = {}
    if config.corpus:
        sources["corpus"] = list(itertools.islice(
            (prompt for file in load_corpus_files(config.corpus, sample=config.corpus_files, seed=config.seed)
             for prompt in corpus_function_prompts(file, config.functions_per_file, config.seed)),
            config.limit))
    sources["humaneval"] = humaneval_function_prompts(config.data_dir)[:config.limit]
    return sources


def evaluate(config, generate: Generate, scorer=None) -> TaskResult:
    """Summary: the rates over all sources at the top, each source under "sources"."""
    sources, samples = {}, []
    for source, prompts in _prompt_sources(config).items():
        completions = generate([prompt.request for prompt in prompts], config.sampling)
        measures, cut = [], []
        for prompt, prompt_completions in zip(prompts, completions):
            for index, completion in enumerate(prompt_completions):
                code = measure_code(prompt.request.prompt + completion.text)
                measures.append(code)
                cut.append(completion.finish_reason == "length")
                samples.append({"source": source, "origin": prompt.origin, "sample": index,
                                "completion": completion.text, **completion.record(),
                                "code": code})
        sources[source] = {"functions": len(prompts), **summarise_code(measures, cut),
                           "generation": generation_summary(completions)}
    overall = summarise_code([sample["code"] for sample in samples],
                             [sample["finish_reason"] == "length" for sample in samples])
    summary = {"functions": sum(s["functions"] for s in sources.values()),
               **{key: overall[key] for key in ("samples", "compile_rate", "indentation_error_rate",
                                                "tab_error_rate", "compile_errors", *CUT_RATES,
                                                "ended_on_their_own")},
               "sources": sources}
    return TaskResult("syntax", summary, samples)
