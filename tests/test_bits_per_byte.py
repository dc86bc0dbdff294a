"""The one definition of bits per byte: every token scored once, with enough context."""

from __future__ import annotations

import math

import pytest

from pycodesmall.bits_per_byte import bits_per_byte, continuation_bits_per_byte, token_logprobs


def test_windows_score_every_token_once_with_at_least_half_a_context():
    context, ids = 8, list(range(31))  # an id is its own position

    def score_window(window):
        # Each score says which token it is and how many ids preceded it in its window.
        return [-(token * 1000 + before) for before, token in enumerate(window[1:], start=1)]

    scored = [(-value // 1000, -value % 1000) for value in token_logprobs(score_window, ids, context)]
    assert [position for position, _ in scored] == ids[1:]
    assert all(before == position for position, before in scored if position < context)
    assert all(context // 2 <= before < context for position, before in scored if position >= context)


def test_bits_per_byte_sums_bits_over_bytes_with_the_start_token_scored():
    # One token per byte, each at probability 1/4: 2 bits per byte, multi-byte characters too.
    texts = ["abc", "", "é" * 40]

    def encode(text):
        return list(text.encode("utf-8"))

    result = bits_per_byte(lambda window: [-math.log(4)] * (len(window) - 1), encode, 0, texts, 16)
    assert result.texts == 2 and result.bytes == 3 + 80 and result.tokens == 83
    assert result.value == pytest.approx(2.0) and result.bytes_per_token == 1.0
    assert [(pytest.approx(bits), size) for bits, size in result.per_text] == [(6.0, 3), (160.0, 80)]


def test_a_continuation_is_scored_given_its_prompt():
    # Each byte's probability is 1/2 after an "a" and 1/8 elsewhere: the continuation's bits
    # depend on the prompt's last byte, and the prompt's own bits are not counted.
    def encode(text):
        return list(text.encode("utf-8"))

    def score_window(window):
        return [-math.log(2 if before == ord("a") else 8) for before in window[:-1]]

    pairs = [("xxa", "b"), ("xxx", "bc"), ("", "b")]
    result = continuation_bits_per_byte(score_window, encode, 0, pairs, 16)
    assert result.texts == 3 and result.bytes == 4 and result.tokens == 4
    assert result.bits == pytest.approx(1 + 3 + 3 + 3)
