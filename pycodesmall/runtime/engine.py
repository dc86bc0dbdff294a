"""`Engine.generate`: batched decoding with sampling and stop rules over any backend."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import torch

from pycodesmall.runtime.backend import Backend, left_pad
from pycodesmall.runtime.sampling import SamplingParams, penalize_repetition, sample
from pycodesmall.runtime.speculative import PromptLookup, accepted_length
from pycodesmall.runtime.stop_rules import StopRules

__all__ = ["Engine", "Generation", "Detokenizer", "SamplingParams", "Cancelled"]


class Detokenizer(Protocol):
    """The text of one generated sequence, built as its ids arrive, so that stop rules can
    look at every token for work that does not grow with the sequence."""

    def add(self, token: int) -> str:
        """The text `token` adds; text that later ids may still change is held back."""
        ...

    def finish(self) -> str:
        """The text held back: all `add` results and this make the sequence's text."""
        ...


class Cancelled(Exception):
    """Raised by `generate` when `should_cancel` returned True; no partial result is kept."""


@dataclass
class Generation:
    """One generated sequence.

    tokens: the ids generated (without the end-of-document id); text: the decoded
    completion cut by the stop rules (None without a detokenizer); logprob: the model's
    log-probability of `tokens` at temperature 1, for ranking candidates; finish_reason:
    "eos", "stop" (a stop rule fired) or "length" (max_new_tokens reached); stop_rule: the
    rule that cut `text` ("block_end", "max_lines", "stop_string"), None where none did.
    """

    tokens: list[int]
    text: str | None
    logprob: float
    finish_reason: str
    stop_rule: str | None = None


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
        detokenizers: Sequence[Callable[[], Detokenizer]] | None = None,
        stop_rules: Sequence[StopRules | None] | None = None,
        should_cancel: Callable[[], bool] | None = None,
        lookup: PromptLookup | None = None,
        first_tokens: Sequence[Sequence[int] | None] | None = None,
    ) -> list[Generation]:
        """Generate `num_samples` continuations of each prompt.

        Results are ordered prompt by prompt: row p * num_samples + s is sample s of prompt p.
        `detokenizers[p]()` starts the text of one sequence continuing prompt p;
        `stop_rules[p]` (which needs a detokenizer) decides when that text is complete. Each
        token's text is decoded and checked once, so the work per token does not grow with
        the completion. `should_cancel` is polled before every model call, so a cancelled
        request stops within one step. With `lookup`, greedy decoding of a single sequence
        checks drafts copied from the prompt (prompt-lookup speculative decoding) on backends
        that can `verify`: the same tokens in fewer model calls. Other requests ignore it:
        ONNX Runtime's attention verifies one sequence at a time, and decoding a batch's
        rows one by one with lookup is slower than one plain batch (16 HumanEval prompts,
        128 tokens, ONNX fp32 on one thread: 1.55 s against 1.25 s in batches of 8).
        `first_tokens[p]`, when not None, are the only ids the first token of prompt p may
        be (token healing).
        """
        if not prompts or any(len(p) == 0 for p in prompts):
            raise ValueError("every prompt needs at least one token")
        if max_new_tokens < 1 or num_samples < 1:
            raise ValueError("max_new_tokens and num_samples must be at least 1")
        if stop_rules is not None and detokenizers is None:
            raise ValueError("stop rules work on text: pass detokenizers too")

        def rows_of(per_prompt):
            return None if per_prompt is None else [x for x in per_prompt for _ in range(num_samples)]

        batch = len(prompts) * num_samples
        streams = None if detokenizers is None else [start() for start in rows_of(detokenizers)]
        watches = [None] * batch if stop_rules is None else [
            None if rules is None else rules.watch() for rules in rows_of(stop_rules)]
        allowed = rows_of(first_tokens)
        generated: list[list[int]] = [[] for _ in range(batch)]
        texts: list[list[str]] = [[] for _ in range(batch)]
        logprobs = [0.0] * batch
        finish: list[str | None] = [None] * batch
        cuts: list[int | None] = [None] * batch

        def read(row: int, piece: str) -> None:
            texts[row].append(piece)
            if watches[row] is not None and cuts[row] is None:
                cuts[row] = watches[row].feed(piece)

        def accept(row: int, token: int, logprob: float) -> None:
            """Record one token of `row`, unless the row is done; apply eos and stop rules."""
            if finish[row] is not None:
                return
            if token == self.eos_id:
                finish[row] = "eos"
                return
            generated[row].append(token)
            logprobs[row] += logprob
            if streams is not None:
                read(row, streams[row].add(token))
                if cuts[row] is not None:
                    finish[row] = "stop"

        def check_cancel() -> None:
            if should_cancel is not None and should_cancel():
                raise Cancelled()

        plain_greedy = sampling.greedy and sampling.repetition_penalty == 1
        if lookup is not None and plain_greedy and batch == 1 and hasattr(self.backend, "verify"):
            self._decode_with_lookup(list(prompts[0]), max_new_tokens, lookup, accept,
                                     lambda: finish[0] is not None, check_cancel, allowed)
        else:
            self._decode(prompts, max_new_tokens, sampling, num_samples, accept, generated,
                         lambda: all(f is not None for f in finish), check_cancel, allowed)

        results = []
        for row in range(batch):
            text = rule = None
            if streams is not None:
                if cuts[row] is None:
                    read(row, streams[row].finish())  # held-back text gets the rules' look too
                    if cuts[row] is not None and finish[row] is None:
                        finish[row] = "stop"
                text = "".join(texts[row])
                if cuts[row] is not None:
                    text, rule = text[: cuts[row]], watches[row].rule
            results.append(Generation(generated[row], text, logprobs[row], finish[row] or "length",
                                      rule))
        return results

    def _decode(self, prompts, max_new_tokens, sampling, num_samples, accept, generated, all_done,
                check_cancel, allowed):
        """One `step` per token for every row."""
        tokens, pads = left_pad([list(p) for p in prompts], self.pad_id)
        check_cancel()
        logits, cache = self.backend.prefill(tokens, pads, num_samples, max_new_tokens)
        logits = allow_only(logits, allowed)
        generator = None
        if sampling.seed is not None:
            generator = torch.Generator(device=logits.device).manual_seed(sampling.seed)
        for step in range(max_new_tokens):
            scores = penalize_repetition(logits, generated, sampling.repetition_penalty)
            next_ids = sample(scores, sampling, generator)
            chosen_logprobs = torch.log_softmax(logits, dim=-1).gather(-1, next_ids[:, None])[:, 0]
            for row, (token, lp) in enumerate(zip(next_ids.tolist(), chosen_logprobs.tolist())):
                accept(row, token, lp)
            if all_done() or step == max_new_tokens - 1:
                break
            check_cancel()
            logits, cache = self.backend.step(next_ids, cache)

    def _decode_with_lookup(self, prompt, max_new_tokens, lookup, accept, done, check_cancel, allowed):
        """Greedy decoding of one sequence that checks prompt-lookup drafts in one pass each.

        Every `verify` feeds the last chosen token plus a draft and returns the model's own
        greedy choice after each of them; the draft's agreeing prefix and the model's next
        choice are kept, the rest of the cache is rolled back. Same tokens as `_decode`.
        """
        check_cancel()
        logits, cache = self.backend.prefill(torch.tensor([prompt]), torch.zeros(1, dtype=torch.long),
                                             1, max_new_tokens)
        logits = allow_only(logits, allowed)[0]  # (vocab,) the model's scores for the next token
        history = lookup.index(prompt)
        produced = 0
        while True:
            token = int(logits.argmax())
            accept(0, token, float(torch.log_softmax(logits, dim=-1)[token]))
            history.extend([token])
            produced += 1
            if done() or produced == max_new_tokens:
                return
            draft = history.draft(max_new_tokens - produced - 1)
            check_cancel()
            length = cache.length
            verified, cache = self.backend.verify(torch.tensor([[token, *draft]]), cache)
            verified = verified[0]  # (1 + len(draft), vocab)
            predictions = verified.argmax(dim=-1).tolist()
            kept = accepted_length(draft, predictions)
            logprobs = torch.log_softmax(verified[:kept], dim=-1)
            for i in range(kept):
                accept(0, draft[i], float(logprobs[i, draft[i]]))
                history.extend([draft[i]])
                produced += 1
                if done() or produced == max_new_tokens:
                    return
            cache = self.backend.truncate(cache, length + 1 + kept)
            logits = verified[kept]


def allow_only(logits: torch.Tensor, allowed: Sequence[Sequence[int] | None] | None) -> torch.Tensor:
    """(B, vocab) logits with -inf outside `allowed[row]` (rows where it is None keep all)."""
    if allowed is None or all(ids is None for ids in allowed):
        return logits
    logits = logits.clone()
    for row, ids in enumerate(allowed):
        if ids is not None:
            keep = torch.zeros(logits.shape[-1], dtype=torch.bool, device=logits.device)
            keep[list(ids)] = True
            logits[row].masked_fill_(~keep, float("-inf"))
    return logits
