"""Completions decoded as their ids arrive give `decode_continuation`'s text, for work
that does not grow with the completion (tokenizer.ContinuationDecoder,
indentation.StreamDecoder, and the engine that feeds them and the stop rules)."""

import copy
import random

import pytest
import torch

from model_fixtures import stdlib_sources
from pycodesmall import indentation
from pycodesmall.runtime import Engine, StopRules

SNIPPETS = [
    "def f(x):\n    if x:\n        return x\n    return None\n\nprint(f(1))\n",
    "s = 'é日本🐍'\nt = \"naïve ∑ ü\"  # ¿qué?\n",  # characters split over byte-level ids
    "x = '\ue000\ue003\ue001'\n\ue002\n    \ue0ffy = 1\n",  # the transform's own marker characters
    "class A:\n\tdef f(self):\n\t    pass\n  \n\nx = 1",  # tabs, mixed indentation
    "if x:\r\n    y = 1\r\n\r\nz\r\n",  # CRLF
    "a = 1\x0c\n\x0cdef g():\n\x0c    pass\n\x0b\ue003\n",  # form feeds, vertical tab
    "def f(:\n  return\n        x\n   y\n",  # does not parse, odd dedents
    "print('<|endoftext|>')\n<|fim_prefix|>",  # special-token text in the source
]
PROMPTS = ["", "def f(x):\n", "def f(x):\n    ", "if a:\n    if b:\n        c\n", "x = 'é", "    y = ("]


def streamed(decoder, ids):
    """Everything `decoder` gives for `ids` fed one at a time, joined."""
    return "".join([decoder.add(i) for i in ids] + [decoder.finish()])


@pytest.fixture(scope="module")
def code_samples():
    """Pieces of real stdlib code (held out from the fixture tokenizer's training) and the
    tricky snippets, cut at seeded random places."""
    rng = random.Random(0)
    sources = stdlib_sources("http")
    pieces = []
    for src in sources:
        for _ in range(3):
            start = rng.randrange(len(src))
            pieces.append(src[start:start + rng.randint(1, 600)])
    return pieces + SNIPPETS


def test_continuation_decoder_gives_decode_continuation_on_code(tokenizer, code_samples):
    split_characters = 0
    for number, code in enumerate(code_samples):
        ids = tokenizer.encode(code)
        split_characters += sum("\ufffd" in tokenizer._tokenizer.decode([i]) for i in ids)
        for prompt in PROMPTS:
            _, state = tokenizer.encode_prompt(prompt)
            expected = tokenizer.decode_continuation(ids, state)
            assert streamed(tokenizer.continuation_decoder(state), ids) == expected, (number, prompt)
            if state is not None:
                assert state == tokenizer.encode_prompt(prompt)[1]  # the prompt's state is kept
    assert split_characters > 10  # non-ASCII characters were split over ids


def test_continuation_decoder_gives_decode_continuation_for_any_ids(tokenizer):
    """Model output may be ill-formed: stray markers and escapes, bytes of no character."""
    rng = random.Random(1)
    for _ in range(300):
        ids = [rng.randrange(tokenizer.vocab_size) for _ in range(rng.randint(0, 40))]
        _, state = tokenizer.encode_prompt(rng.choice(PROMPTS))
        healed = rng.choice(["", "", " o", "é", tokenizer._tokenizer.decode([rng.randrange(5, 300)])])
        assert (streamed(tokenizer.continuation_decoder(state, healed), ids)
                == tokenizer.decode_continuation(ids, state, healed)), (ids, healed)


@pytest.mark.parametrize("prompt, rest", [
    ("import o", "s\nimport sys\n"),
    ("x = fo", "o(1)\ny = 'é'\n"),
    ("    x = foo", "(1)\n    y = 'é'\n"),
])
def test_continuation_decoder_drops_the_healed_text(tokenizer, prompt, rest):
    ids, state = tokenizer.encode_prompt(prompt)
    healing = tokenizer.heal(ids)
    assert healing is not None
    kept, healed, _ = healing
    longer = tokenizer.encode_prompt(prompt + rest)[0]
    assert longer[:len(kept)] == kept
    longer = longer[len(kept):]  # what the model should write: it begins with the healed text
    assert tokenizer.decode_continuation(longer, state, healed) == rest
    assert streamed(tokenizer.continuation_decoder(state, healed), longer) == rest
    # A completion that does not repeat the healed text keeps all of its own.
    other = tokenizer.encode("\n")
    assert (streamed(tokenizer.continuation_decoder(state, healed), other)
            == tokenizer.decode_continuation(other, state, healed) == "\n")


def test_a_character_split_over_ids_comes_out_whole(tokenizer):
    ids = tokenizer.encode("'🐍'")
    pieces = [tokenizer._tokenizer.decode([i]) for i in ids]
    assert sum("\ufffd" in p for p in pieces) >= 2  # the snake is split over ids
    decoder = tokenizer.continuation_decoder(tokenizer.encode_prompt("")[1])
    out = [decoder.add(i) for i in ids] + [decoder.finish()]
    assert "".join(out) == "'🐍'"
    assert "" in out[:-1]  # its first bytes wait for the rest
    assert any("🐍" in piece for piece in out)  # it arrives in one piece, never in halves


# --- the indentation decoder alone

_ENCODED_ALPHABET = [indentation.INDENT4, indentation.INDENT, indentation.DEDENT, indentation.ESCAPE,
                     indentation.MARKERS[5], " ", "    ", "\t", "\f", "\v", "\r", "\n", "x", "é", "\ue0ff"]


@pytest.mark.parametrize("seed", range(5))
def test_stream_decoder_gives_decode_for_pieces_of_any_size(seed):
    rng = random.Random(seed)
    for _ in range(4000):
        encoded = "".join(rng.choice(_ENCODED_ALPHABET) for _ in range(rng.randint(0, 14)))
        state = indentation.DecoderState(["", " ", "        "][:rng.randint(1, 3)], rng.random() < 0.5)
        expected = indentation.decode(encoded, state.copy())
        decoder, out, start = indentation.StreamDecoder(state), [], 0
        while start < len(encoded):
            size = rng.randint(1, 3)
            out.append(decoder.add(encoded[start:start + size]))
            start += size
        out.append(decoder.finish())
        assert "".join(out) == expected, (encoded, state)


@pytest.mark.parametrize("state, pieces, expected", [
    # A line start of blanks then an escape: whether the block's indentation is written
    # depends on the escaped character's line, so the blanks wait with the escape.
    (indentation.DecoderState(["", "    "], True), ["\v", indentation.ESCAPE, "\ue0ffx"], "    \v\ue0ffx"),
    (indentation.DecoderState(["", "    "], True), ["\r\t" + indentation.ESCAPE, "\ue001"], "    \r\t\ue001"),
    # Blanks that begin with an indentation character are the line's own indentation.
    (indentation.DecoderState(["", "    "], True), ["  ", indentation.ESCAPE, "\ue001"], "  \ue001"),
])
def test_stream_decoder_holds_a_blank_line_start_before_an_escape(state, pieces, expected):
    assert indentation.decode("".join(pieces), state.copy()) == expected
    decoder = indentation.StreamDecoder(state)
    assert "".join([decoder.add(p) for p in pieces] + [decoder.finish()]) == expected


# --- the engine reads each token's text once

class ReplayBackend:
    """Predicts a fixed list of ids, one per step, whatever the prompt; then id 0 (eos)."""

    name = "replay"

    def __init__(self, ids, vocab):
        self.ids, self.vocab = ids, vocab

    def _logits(self, positions):
        logits = torch.full((len(positions), self.vocab), -10.0)
        for row, position in enumerate(positions):
            logits[row, self.ids[position] if position < len(self.ids) else 0] = 10.0
        return logits

    def prefill(self, tokens, pad_lengths, num_samples, max_new_tokens):
        cache = [0] * (len(tokens) * num_samples)
        return self._logits(cache), cache

    def step(self, tokens, cache):
        cache = [p + 1 for p in cache]
        return self._logits(cache), cache


class CountingTokenizer:
    """The `tokenizers` object of a PythonTokenizer, counting the ids it decodes."""

    def __init__(self, inner):
        self.inner, self.ids_decoded = inner, 0

    def decode(self, ids, **kwargs):
        self.ids_decoded += len(ids)
        return self.inner.decode(ids, **kwargs)

    def __getattr__(self, attribute):
        return getattr(self.inner, attribute)


class CountingRules:
    """StopRules whose watches count the characters they are fed."""

    def __init__(self, rules):
        self.rules, self.fed, self.feeds = rules, 0, 0

    def watch(self):
        watch, counter = self.rules.watch(), self

        class Counted:
            def feed(self, piece):
                counter.fed += len(piece)
                counter.feeds += 1
                return watch.feed(piece)

            rule = property(lambda self: watch.rule)
        return Counted()


def long_function(lines):
    body = "".join(f"    y{i} = y{i - 1} + {i}  # step {i}\n" for i in range(1, lines))
    return "    y0 = x\n" + body + f"    return y{lines - 1}\n"


@pytest.mark.parametrize("lines", [50, 400])
def test_engine_work_per_token_does_not_grow_with_the_completion(tokenizer, monkeypatch, lines):
    prompt = "def f(x):\n"  # a HumanEval-like prompt: the completion writes its indentation
    completion = long_function(lines) + "\nprint(f(1))\n"
    ids, state = tokenizer.encode_prompt(prompt)
    if tokenizer.variant == "bpe":
        generated = tokenizer.encode(completion)
    else:
        generated = tokenizer._ids(indentation.encode_continuation(completion, state))
    assert tokenizer.decode_continuation(generated, state) == completion

    counted = copy.copy(tokenizer)
    counted._tokenizer = CountingTokenizer(tokenizer._tokenizer)
    indentation_chars = [0]
    decode = indentation.decode

    def counting_decode(encoded, state=None):
        indentation_chars[0] += len(encoded)
        return decode(encoded, state)
    monkeypatch.setattr(indentation, "decode", counting_decode)
    rules = CountingRules(StopRules(line_prefix="", block_end=True, stop_strings=("\ndef ",)))

    engine = Engine(ReplayBackend(generated, tokenizer.vocab_size), eos_id=0)
    [g] = engine.generate([ids], len(generated) + 5,
                          detokenizers=[lambda: counted.continuation_decoder(state)], stop_rules=[rules])
    monkeypatch.undo()
    assert g.finish_reason == "stop" and g.text == long_function(lines).rstrip("\n")
    produced = tokenizer.decode_continuation(g.tokens, state)  # all the text of the ids it took
    assert produced.startswith(g.text) and len(g.tokens) < len(generated)
    # Each id is decoded once (ASCII: no character waits for a later id), each character of
    # the text is fed to the stop rules once, and the indentation decoder reads each once.
    assert counted._tokenizer.ids_decoded == len(g.tokens)
    assert rules.feeds == len(g.tokens)
    assert len(g.text) < rules.fed <= len(produced)
    assert indentation_chars[0] <= len(tokenizer._tokenizer.decode(g.tokens))
