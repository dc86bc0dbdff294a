"""The one place where the evaluation asks a model for completions.

Tasks describe what they want as `Request`s and receive plain strings back, so every task,
metric and oracle test runs without a model: tests pass their own `Generate` callable.
`generate_samples` is the real one, on top of `pycodesmall.complete`, which batches the n
samples of a prompt.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Sampling", "Request", "Generate", "generate_samples", "truncate_at_stop",
           "fit_to_context"]


@dataclass(frozen=True)
class Sampling:
    """How to sample; temperature 0 means greedy decoding."""

    n: int = 1
    temperature: float = 0.0
    top_p: float = 0.95
    max_new_tokens: int = 384
    seed: int = 0


@dataclass(frozen=True)
class Request:
    """One prompt and the task's stop rules for it."""

    prompt: str
    stop: tuple[str, ...] = ()
    stop_at_block_end: bool = False
    max_lines: int | None = None


Generate = Callable[[list[Request], Sampling], list[list[str]]]


def truncate_at_stop(text: str, stop: tuple[str, ...]) -> str:
    """Cut at the earliest stop string. The engine stops there too; doing it here as well
    keeps results independent of whether a backend returns the stop string."""
    cut = min((index for index in (text.find(s) for s in stop) if index >= 0), default=len(text))
    return text[:cut]


def fit_to_context(prompt: str, count_tokens: Callable[[str], int], budget: int) -> str:
    """The longest suffix of `prompt` that starts at a line and fits in `budget` tokens:
    long files keep their most recent lines, as an editor would send them."""
    if count_tokens(prompt) <= budget:
        return prompt
    lines = prompt.splitlines(keepends=True)
    low, high = 1, len(lines)  # find the fewest dropped leading lines that fit
    while low < high:
        middle = (low + high) // 2
        if count_tokens("".join(lines[middle:])) <= budget:
            high = middle
        else:
            low = middle + 1
    return "".join(lines[low:])


def generate_samples(model, requests: list[Request], sampling: Sampling) -> list[list[str]]:
    """`sampling.n` completions per request from a `pycodesmall` model, prompts trimmed to
    the model's context. Request i uses seed `sampling.seed + i`, so results do not depend
    on how requests are split across runs."""
    import pycodesmall

    budget = model.config.max_position_embeddings - sampling.max_new_tokens
    count_tokens = lambda text: len(model.tokenizer.encode(text))  # noqa: E731
    samples = []
    for index, request in enumerate(requests):
        completions = pycodesmall.complete(
            fit_to_context(request.prompt, count_tokens, budget), model=model, n=sampling.n,
            temperature=sampling.temperature, top_p=sampling.top_p,
            max_new_tokens=sampling.max_new_tokens, max_lines=request.max_lines,
            stop=list(request.stop), seed=sampling.seed + index, validate=False,
            stop_at_block_end=request.stop_at_block_end)
        if sampling.n == 1 and not isinstance(completions, list):
            completions = [completions]
        samples.append([truncate_at_stop(c.text, request.stop) for c in completions])
    return samples
