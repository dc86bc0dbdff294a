"""Line completion on held-out real files.

For random non-blank lines of each file (seeded per file), the prompt is the file up to
the start of that line and the model completes one line, indentation included. Scored
against the real line with trailing whitespace ignored: exact match, and edit
similarity, 1 - Levenshtein distance / length of the longer line (as in CodeXGLUE's line
completion task, with Levenshtein in place of a fuzzy-matching library). The score is also
split in two, because a tokenizer with INDENT/DEDENT tokens makes a line's leading whitespace
one decision where a plain BPE spells it out in spaces, which edit similarity counts character
by character: whether the indentation is right, and the edit similarity of the code after it.
A line gets at most `LINE_MAX_NEW_TOKENS`; prompts longer than the rest of the context keep
their last tokens, as an editor's would (the summary counts them).
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass

from pycodesmall.training.evaluation.benchmark_data import CorpusFile, load_corpus_files
from pycodesmall.training.evaluation.generation import Generate, Request, generation_summary
from pycodesmall.training.evaluation.results import TaskResult

__all__ = ["LINE_MAX_NEW_TOKENS", "LINE_SCORES", "LinePrompt", "line_prompts", "levenshtein", "edit_similarity",
           "line_scores", "evaluate"]

LINE_MAX_NEW_TOKENS = 48  # longer than all but a few of the corpus's lines
LINE_SCORES = ("exact_match", "edit_similarity", "indentation_match", "code_edit_similarity")  # `line_scores`' keys


@dataclass(frozen=True)
class LinePrompt:
    origin: str
    request: Request
    target: str


def line_prompts(file: CorpusFile, per_file: int, seed: int) -> list[LinePrompt]:
    lines = file.text.splitlines(keepends=True)
    first_code = next((index for index, line in enumerate(lines) if line.strip()), len(lines))
    # Only lines with some code before them: a prompt of blank lines gives nothing to go on.
    candidates = [index for index, line in enumerate(lines)
                  if index > first_code and line.strip()]
    chosen = random.Random(f"{seed}:{file.path}").sample(candidates,
                                                         min(per_file, len(candidates)))
    return [LinePrompt(origin=f"{file.path}:{index + 1}",
                       request=Request("".join(lines[:index]), ("\n",), max_lines=1,
                                       max_new_tokens=LINE_MAX_NEW_TOKENS, allow_cut=True),
                       target=lines[index].rstrip("\r\n"))
            for index in sorted(chosen)]


def levenshtein(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, 1):
        current = [i]
        for j, char_b in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1,
                               previous[j - 1] + (char_a != char_b)))
        previous = current
    return previous[-1]


def edit_similarity(prediction: str, target: str) -> float:
    longest = max(len(prediction), len(target))
    return 1.0 - levenshtein(prediction, target) / longest if longest else 1.0


def line_scores(prediction: str, target: str) -> dict:
    """A predicted line's scores against the real one (both without their line ending)."""
    prediction, target = prediction.rstrip(), target.rstrip()
    code, target_code = prediction.lstrip(), target.lstrip()
    return {"exact_match": prediction == target,
            "edit_similarity": edit_similarity(prediction, target),
            "indentation_match": prediction[:len(prediction) - len(code)] == target[:len(target) - len(target_code)],
            "code_edit_similarity": edit_similarity(code, target_code)}


def evaluate(config, generate: Generate, scorer=None) -> TaskResult:
    if not config.corpus:
        raise ValueError("the lines task needs held-out corpus files (--corpus)")
    prompts = list(itertools.islice(
        (prompt for file in load_corpus_files(config.corpus, sample=config.corpus_files, seed=config.seed)
         for prompt in line_prompts(file, config.lines_per_file, config.seed)), config.limit))
    completions = generate([prompt.request for prompt in prompts], config.sampling)
    samples = []
    for prompt, prompt_completions in zip(prompts, completions):
        for index, completion in enumerate(prompt_completions):
            prediction = completion.text.split("\n", 1)[0].rstrip()
            samples.append({"origin": prompt.origin, "sample": index, "target": prompt.target,
                            "prediction": prediction, **completion.record(),
                            **line_scores(prediction, prompt.target)})
    count = len(samples)
    summary = {"lines": len(prompts), "samples": count,
               **{score: sum(s[score] for s in samples) / count if count else 0.0
                  for score in LINE_SCORES},
               "generation": generation_summary(completions)}
    return TaskResult("lines", summary, samples)
