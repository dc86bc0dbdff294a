"""The one place where the evaluation asks a model for completions.

Tasks describe what they want as `Request`s and receive plain strings back, so every task,
metric and oracle test runs without a model: tests pass their own `Generate` callable.
`generate_samples` is the real one, on top of `pycodesmall.complete_batch`, which decodes
several prompts and their n samples as one batch.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Sampling", "Request", "Generate", "generate_samples", "truncate_at_stop"]


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
    """One prompt and the task's stop rules for it."""

    prompt: str
    stop: tuple[str, ...] = ()
    stop_at_block_end: bool = False
    max_lines: int | None = None

    @property
    def rules(self) -> tuple:
        return self.stop, self.stop_at_block_end, self.max_lines


Generate = Callable[[list[Request], Sampling], list[list[str]]]


def truncate_at_stop(text: str, stop: tuple[str, ...]) -> str:
    """Cut at the earliest stop string. The engine stops there too; doing it here as well
    keeps results independent of whether a backend returns the stop string."""
    cut = min((index for index in (text.find(s) for s in stop) if index >= 0), default=len(text))
    return text[:cut]


def _batches(requests: list[Request], size: int):
    """Consecutive runs of at most `size` requests that share stop rules (one batch has
    one set of rules), as (indices, requests)."""
    start = 0
    while start < len(requests):
        end = start + 1
        while (end < len(requests) and end - start < size
               and requests[end].rules == requests[start].rules):
            end += 1
        yield range(start, end), requests[start:end]
        start = end


def generate_samples(model, requests: list[Request], sampling: Sampling) -> list[list[str]]:
    """`sampling.n` completions per request from a `pycodesmall` model. Prompts longer than
    the context lose their oldest tokens (the library does that; its warning is expected
    here, for the long files of the line-completion task)."""
    import pycodesmall

    samples: list[list[str]] = [[] for _ in requests]
    for batch_number, (indices, batch) in enumerate(_batches(requests, sampling.batch_size)):
        stop, stop_at_block_end, max_lines = batch[0].rules
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="prompt of .* cut")
            rows = pycodesmall.complete_batch(
                [request.prompt for request in batch], model, n=sampling.n,
                max_new_tokens=sampling.max_new_tokens, temperature=sampling.temperature,
                top_p=sampling.top_p, repetition_penalty=sampling.repetition_penalty,
                seed=sampling.seed + batch_number, max_lines=max_lines,
                stop=stop, stop_at_block_end=stop_at_block_end, validate=False)
        for index, completions in zip(indices, rows):
            samples[index] = [truncate_at_stop(c.text, stop) for c in completions]
    return samples
