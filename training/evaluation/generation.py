"""The one place where the evaluation asks a model for completions.

Tasks describe what they want as `Request`s and receive `Sample`s back, so every task,
metric and oracle test runs without a model: tests pass their own `Generate` callable.
`generate_samples` is the real one, on top of `pycodesmall.complete_batch`, which decodes
several prompts and their n samples as one batch.

Benchmark prompts are never cut silently. A request's generation budget is what the
context leaves after its prompt, capped by the task (`Request.max_new_tokens`, else the
run's `max_new_tokens`); only a task that says so (`allow_cut`, e.g. line completion in
long real files) gets prompts cut from the left, and every summary records how many were.
"""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import pycodesmall
from pycodesmall.api import encode_request

__all__ = ["Sampling", "Request", "Sample", "Generate", "PromptTooLong", "generate_samples",
           "generation_summary", "truncate_at_stop"]


@dataclass(frozen=True)
class Sampling:
    """How to sample; temperature 0 means greedy decoding. `batch_size` prompts (each with
    its n samples) are decoded together; with sampling, batch b uses seed `seed + b`."""

    n: int = 1
    temperature: float = 0.0
    top_p: float = 0.95
    repetition_penalty: float = 1.0
    max_new_tokens: int = 384
    seed: int = 0
    batch_size: int = 8


@dataclass(frozen=True)
class Request:
    """One prompt and the task's rules for it: stop rules, a cap on new tokens (None: the
    run's `max_new_tokens`), and whether the prompt may lose its oldest tokens to fit."""

    prompt: str
    stop: tuple[str, ...] = ()
    stop_at_block_end: bool = False
    max_lines: int | None = None
    max_new_tokens: int | None = None
    allow_cut: bool = False

    @property
    def rules(self) -> tuple:
        return self.stop, self.stop_at_block_end, self.max_lines


@dataclass(frozen=True)
class Sample:
    """One completion: its text (cut at the stop strings), why generation ended ("eos",
    "stop" or "length"), how many tokens it took, and prompt tokens cut to fit."""

    text: str
    finish_reason: str = "stop"
    tokens: int = 0
    prompt_tokens_cut: int = 0

    def record(self) -> dict:
        """The fields every task stores beside a sample's own measures."""
        return {"finish_reason": self.finish_reason, "tokens": self.tokens,
                "prompt_tokens_cut": self.prompt_tokens_cut}


Generate = Callable[[list[Request], Sampling], list[list[Sample]]]


class PromptTooLong(ValueError):
    """A prompt that leaves no room in the context, in a task that does not allow cuts."""


def truncate_at_stop(text: str, stop: tuple[str, ...]) -> str:
    """Cut at the earliest stop string. The engine stops there too; doing it here as well
    keeps results independent of whether a backend returns the stop string."""
    cut = min((index for index in (text.find(s) for s in stop) if index >= 0), default=len(text))
    return text[:cut]


def generation_summary(completions: list[list[Sample]]) -> dict:
    """What a task's summary records of its generation: prompts cut, and why samples ended."""
    samples = [sample for row in completions for sample in row]
    reasons = Counter(sample.finish_reason for sample in samples)
    return {"prompts": len(completions),
            "prompts_cut": sum(any(s.prompt_tokens_cut for s in row) for row in completions),
            "finish_reasons": {reason: count / len(samples) for reason, count in sorted(reasons.items())},
            "mean_tokens": sum(s.tokens for s in samples) / len(samples) if samples else 0.0}


def _budget(model, request: Request, cap: int) -> int:
    """New tokens for `request`: what the context leaves after its prompt, at most `cap`."""
    prompt_tokens = len(encode_request(model.tokenizer, request.prompt, "", 10**9).ids)
    room = model.context_length - prompt_tokens
    if room >= cap or request.allow_cut:
        return cap
    if room < 1:
        raise PromptTooLong(f"a prompt of {prompt_tokens} tokens does not fit this model's "
                            f"{model.context_length}-token context, and this task does not "
                            f"allow cut prompts: {request.prompt[:80]!r}...")
    return room


def _batches(requests: list[Request], budgets: list[int], size: int):
    """Consecutive runs of at most `size` requests that share stop rules and budget (one
    batch has one set of each), as (indices, requests, budget)."""
    start = 0
    while start < len(requests):
        end = start + 1
        while (end < len(requests) and end - start < size
               and (requests[end].rules, budgets[end]) == (requests[start].rules, budgets[start])):
            end += 1
        yield range(start, end), requests[start:end], budgets[start]
        start = end


def generate_samples(model, requests: list[Request], sampling: Sampling) -> list[list[Sample]]:
    """`sampling.n` completions per request from a `pycodesmall` model (see the module
    docstring for budgets and cuts); raises `PromptTooLong` before generating anything."""
    budgets = [_budget(model, request, request.max_new_tokens or sampling.max_new_tokens)
               for request in requests]
    samples: list[list[Sample]] = [[] for _ in requests]
    for batch_number, (indices, batch, budget) in enumerate(
            _batches(requests, budgets, sampling.batch_size)):
        stop, stop_at_block_end, max_lines = batch[0].rules
        with warnings.catch_warnings():
            if all(request.allow_cut for request in batch):  # recorded in every Sample instead
                warnings.filterwarnings("ignore", message=r".* prompt\(s\) cut by")
            rows = pycodesmall.complete_batch(
                [request.prompt for request in batch], model, n=sampling.n,
                max_new_tokens=budget, temperature=sampling.temperature,
                top_p=sampling.top_p, repetition_penalty=sampling.repetition_penalty,
                seed=sampling.seed + batch_number, max_lines=max_lines,
                stop=stop, stop_at_block_end=stop_at_block_end, validate=False)
        for index, completions in zip(indices, rows):
            samples[index] = [Sample(truncate_at_stop(c.text, stop), c.finish_reason, c.tokens,
                                     c.prompt_tokens_cut) for c in completions]
    return samples
