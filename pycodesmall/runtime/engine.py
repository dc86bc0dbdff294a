"""`Engine.generate`: batched decoding with sampling and stop rules over any backend."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from pycodesmall.runtime.backend import Backend, left_pad
from pycodesmall.runtime.sampling import SamplingParams, sample
from pycodesmall.runtime.stop_rules import StopRules

__all__ = ["Engine", "Generation", "SamplingParams", "Cancelled"]


class Cancelled(Exception):
    """Raised by `generate` when `should_cancel` returned True; no partial result is kept."""


@dataclass
class Generation:
    """One generated sequence.

    tokens: the ids generated (without the end-of-document id); text: the decoded
    completion cut by the stop rules (None without a detokenizer); logprob: the model's
    log-probability of `tokens` at temperature 1, for ranking candidates; finish_reason:
    "eos", "stop" (a stop rule fired) or "length" (max_new_tokens reached).
    """

    tokens: list[int]
    text: str | None
    logprob: float
    finish_reason: str


class Engine:
    """Owns sampling, stop rules and batching; the backend only runs the model."""

    def __init__(self, backend: Backend, eos_id: int | None, pad_id: int = 0):
        self.backend = backend
        self.eos_id = eos_id
        self.pad_id = pad_id

    def generate(
        self,
        prompts: Sequence[Sequence[int]],
        max_new_tokens: int,
        sampling: SamplingParams = SamplingParams(),
        num_samples: int = 1,
        detokenizers: Sequence[Callable[[list[int]], str]] | None = None,
        stop_rules: Sequence[StopRules | None] | None = None,
        should_cancel: Callable[[], bool] | None = None,
    ) -> list[Generation]:
        """Generate `num_samples` continuations of each prompt.

        Results are ordered prompt by prompt: row p * num_samples + s is sample s of prompt p.
        `detokenizers[p]` turns ids generated after prompt p into text; `stop_rules[p]`
        (which needs a detokenizer) decides when that text is complete. `should_cancel` is
        polled before every model call, so a cancelled request stops within one step.
        """
        if not prompts or any(len(p) == 0 for p in prompts):
            raise ValueError("every prompt needs at least one token")
        if max_new_tokens < 1 or num_samples < 1:
            raise ValueError("max_new_tokens and num_samples must be at least 1")
        if stop_rules is not None and detokenizers is None:
            raise ValueError("stop rules work on text: pass detokenizers too")

        def rows_of(per_prompt):
            return None if per_prompt is None else [x for x in per_prompt for _ in range(num_samples)]

        detok, rules = rows_of(detokenizers), rows_of(stop_rules)
        batch = len(prompts) * num_samples
        tokens, pads = left_pad([list(p) for p in prompts], self.pad_id)
        if should_cancel is not None and should_cancel():
            raise Cancelled()
        logits, cache = self.backend.prefill(tokens, pads, num_samples, max_new_tokens)
        generator = None
        if sampling.seed is not None:
            generator = torch.Generator(device=logits.device).manual_seed(sampling.seed)

        generated: list[list[int]] = [[] for _ in range(batch)]
        logprobs = [0.0] * batch
        finish: list[str | None] = [None] * batch
        cuts: list[int | None] = [None] * batch
        for step in range(max_new_tokens):
            next_ids = sample(logits, sampling, generator)
            chosen_logprobs = torch.log_softmax(logits, dim=-1).gather(-1, next_ids[:, None])[:, 0]
            for row, (token, lp) in enumerate(zip(next_ids.tolist(), chosen_logprobs.tolist())):
                if finish[row] is not None:
                    continue
                if token == self.eos_id:
                    finish[row] = "eos"
                    continue
                generated[row].append(token)
                logprobs[row] += lp
                if rules is not None and rules[row] is not None:
                    cut = rules[row].cut(detok[row](generated[row]))
                    if cut is not None:
                        finish[row], cuts[row] = "stop", cut
            if all(f is not None for f in finish) or step == max_new_tokens - 1:
                break
            if should_cancel is not None and should_cancel():
                raise Cancelled()
            logits, cache = self.backend.step(next_ids, cache)

        results = []
        for row in range(batch):
            text = None
            if detok is not None:
                text = detok[row](generated[row])
                if cuts[row] is not None:
                    text = text[: cuts[row]]
            results.append(Generation(generated[row], text, logprobs[row], finish[row] or "length"))
        return results
