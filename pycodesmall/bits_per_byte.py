"""Bits per byte: the one held-out loss of the project, defined here and nowhere else.

Definition. A file's bits are the negative log2-likelihood of all of its tokens, the first
one included: an end-of-document id goes in front of the file (what precedes every file in
training), and the end-of-document id after it is not scored (the file's bytes end before
it). Files longer than the context are scored in windows of `context` tokens that start
every `context // 2` tokens; each window scores only the tokens no earlier window scored,
so every token after the first window sees at least half a context before it. A set of
files is summed, bits over UTF-8 bytes of the original source: a byte-weighted mean, the
one loss that compares models with different tokenizers.

The bits per byte of a continuation given its prompt (a reference solution given its
benchmark prompt) is the bits of prompt and continuation as one text less the bits of the
prompt alone, over the continuation's bytes (`continuation_bits_per_byte`).

Anything else that reports "bits per byte" (the training log's running estimate on random
windows of the validation shards) is an approximation of this and says so.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

__all__ = ["ScoreWindow", "BitsPerByte", "token_logprobs", "text_bits", "bits_per_byte",
           "continuation_bits_per_byte"]

# ids of at most one context -> natural-log probability of ids[1:], each given those before it.
ScoreWindow = Callable[[Sequence[int]], Sequence[float]]


@dataclass(frozen=True)
class BitsPerByte:
    """Totals over a set of texts; `value` is bits per byte. `per_text` keeps each text's
    (bits, bytes) where the caller will resample texts (a paired bootstrap over files)."""

    bits: float
    bytes: int
    tokens: int
    texts: int
    per_text: tuple[tuple[float, int], ...] = ()

    @property
    def value(self) -> float | None:
        return self.bits / self.bytes if self.bytes else None

    @property
    def bytes_per_token(self) -> float | None:
        return self.bytes / self.tokens if self.tokens else None


def token_logprobs(score_window: ScoreWindow, ids: Sequence[int], context: int) -> list[float]:
    """Log-probabilities of ids[1:], windowed as the module docstring defines."""
    if context < 2:
        raise ValueError(f"a context of {context} tokens cannot score anything")
    stride = context // 2
    out: list[float] = []
    start = 0
    while len(out) < len(ids) - 1:
        window = ids[start:start + context]
        already = len(out) - start  # positions of this window that an earlier one scored
        out.extend(list(score_window(window))[already:])
        start += stride
    return out


def text_bits(score_window: ScoreWindow, encode: Callable[[str], list[int]], start_id: int,
              text: str, context: int) -> tuple[float, int]:
    """(bits, tokens) of one text: `start_id` in front, every token of `encode(text)` scored."""
    ids = [start_id, *encode(text)]
    return -sum(token_logprobs(score_window, ids, context)) / math.log(2), len(ids) - 1


def bits_per_byte(score_window: ScoreWindow, encode: Callable[[str], list[int]], start_id: int,
                  texts: Iterable[str], context: int) -> BitsPerByte:
    """Bits per byte of `texts` taken together (empty texts count for nothing)."""
    per_text, tokens = [], 0
    for text in texts:
        size = len(text.encode("utf-8"))
        if size == 0:
            continue
        text_bits_, text_tokens = text_bits(score_window, encode, start_id, text, context)
        per_text.append((text_bits_, size))
        tokens += text_tokens
    return BitsPerByte(sum(b for b, _ in per_text), sum(n for _, n in per_text), tokens, len(per_text),
                       tuple(per_text))


def continuation_bits_per_byte(score_window: ScoreWindow, encode: Callable[[str], list[int]],
                               start_id: int, pairs: Iterable[tuple[str, str]],
                               context: int) -> BitsPerByte:
    """Bits per byte of each continuation given its prompt, over (prompt, continuation)
    pairs taken together: the bits of prompt + continuation as one text less the bits of
    the prompt alone, over the continuation's bytes (both texts scored as `text_bits`
    scores a file, so the tokenization at the seam is the one the whole text gets)."""
    bits, nbytes, tokens, count = 0.0, 0, 0, 0
    for prompt, continuation in pairs:
        size = len(continuation.encode("utf-8"))
        if size == 0:
            continue
        whole, whole_tokens = text_bits(score_window, encode, start_id, prompt + continuation, context)
        alone, prompt_tokens = text_bits(score_window, encode, start_id, prompt, context)
        bits += whole - alone
        nbytes, tokens, count = nbytes + size, tokens + whole_tokens - prompt_tokens, count + 1
    return BitsPerByte(bits, nbytes, tokens, count)
