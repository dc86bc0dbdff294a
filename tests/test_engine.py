"""The engine with a fake backend and a character tokenizer: no weights needed."""

import pytest
import torch

from pycodesmall.runtime import Cancelled, Engine, SamplingParams, StopRules
from pycodesmall.runtime.sampling import sample


class ScriptedBackend:
    """Always predicts the next character of a script, whatever the prompt."""

    name = "scripted"

    def __init__(self, script: str, vocab: int = 256):
        self.script, self.vocab, self.calls = script, vocab, 0

    def _logits(self, positions):
        logits = torch.full((len(positions), self.vocab), -10.0)
        for row, pos in enumerate(positions):
            char = self.script[pos] if pos < len(self.script) else "\x00"
            logits[row, ord(char)] = 10.0
        return logits

    def prefill(self, tokens, pad_lengths, num_samples, max_new_tokens):
        self.calls += 1
        cache = [0] * (len(tokens) * num_samples)
        return self._logits(cache), cache

    def step(self, tokens, cache):
        self.calls += 1
        cache = [p + 1 for p in cache]
        return self._logits(cache), cache


def chars(ids):
    return "".join(map(chr, ids))


class CharText:
    """Detokenizer of the character vocabulary: each id is one character."""

    def add(self, token):
        return chr(token)

    def finish(self):
        return ""


def test_eos_ends_a_sequence():
    engine = Engine(ScriptedBackend("abc"), eos_id=0)
    [g] = engine.generate([[1]], max_new_tokens=10)
    assert chars(g.tokens) == "abc" and g.finish_reason == "eos"


def test_length_limit():
    engine = Engine(ScriptedBackend("abcdef"), eos_id=0)
    [g] = engine.generate([[1]], max_new_tokens=4)
    assert chars(g.tokens) == "abcd" and g.finish_reason == "length" and g.stop_rule is None


def test_block_end_stop_rule_cuts_the_text():
    script = "    x = 1\n    return x\n\nprint(f())\n"
    engine = Engine(ScriptedBackend(script), eos_id=0)
    [g] = engine.generate([[1]], 60, detokenizers=[CharText], stop_rules=[StopRules(block_end=True)])
    assert g.finish_reason == "stop" and g.stop_rule == "block_end"
    assert g.text == "    x = 1\n    return x"
    assert chars(g.tokens).startswith(g.text) and len(g.tokens) < len(script)


def test_stop_strings_and_max_lines():
    engine = Engine(ScriptedBackend("a = 1\nb = 2\nc = 3\n"), eos_id=0)
    [g] = engine.generate([[1]], 60, detokenizers=[CharText], stop_rules=[StopRules(stop_strings=("b =",))])
    assert g.text == "a = 1\n" and g.stop_rule == "stop_string"
    [g] = engine.generate([[1]], 60, detokenizers=[CharText], stop_rules=[StopRules(max_lines=2)])
    assert g.text == "a = 1\nb = 2" and g.stop_rule == "max_lines"


def test_cancellation_stops_within_one_step():
    backend = ScriptedBackend("x" * 100)
    engine = Engine(backend, eos_id=0)
    polls = []

    def should_cancel():
        polls.append(1)
        return len(polls) > 3

    with pytest.raises(Cancelled):
        engine.generate([[1]], 100, should_cancel=should_cancel)
    assert backend.calls == 3  # prefill and two steps, then the poll before the next call


def test_rows_are_ordered_prompt_by_prompt():
    engine = Engine(ScriptedBackend("ab"), eos_id=0)
    results = engine.generate([[1], [2, 3]], 5, num_samples=2)
    assert len(results) == 4 and all(chars(g.tokens) == "ab" for g in results)


def test_empty_prompt_is_rejected():
    with pytest.raises(ValueError, match="at least one token"):
        Engine(ScriptedBackend("a"), eos_id=0).generate([[]], 5)


def test_top_k_and_top_p_restrict_the_choice():
    logits = torch.tensor([[5.0, 4.0, 0.0, -1.0]]).repeat(2000, 1)
    gen = torch.Generator().manual_seed(0)
    top_k = sample(logits, SamplingParams(temperature=1.0, top_k=2), gen)
    assert set(top_k.tolist()) == {0, 1}
    # p(0) is ~0.70 here, so top_p=0.5 keeps only the first token.
    top_p = sample(logits, SamplingParams(temperature=1.0, top_p=0.5), gen)
    assert set(top_p.tolist()) == {0}
    greedy = sample(logits[:1], SamplingParams())
    assert greedy.tolist() == [0]


def test_repetition_penalty_breaks_a_greedy_loop():
    # Token 1 is always slightly preferred over token 2: plain greedy repeats it forever.
    class Loop:
        name = "loop"

        def prefill(self, tokens, pad_lengths, num_samples, max_new_tokens):
            return self.step(None, None)

        def step(self, tokens, cache):
            logits = torch.full((1, 8), -5.0)
            logits[0, 1], logits[0, 2] = 2.0, 1.8
            return logits, cache

    plain = Engine(Loop(), eos_id=0).generate([[3]], 6)
    assert plain[0].tokens == [1] * 6
    penalised = Engine(Loop(), eos_id=0).generate([[3]], 6, SamplingParams(repetition_penalty=1.2))
    assert penalised[0].tokens[:2] == [1, 2]
    with pytest.raises(Exception, match="repetition_penalty"):
        SamplingParams(repetition_penalty=0.5)


def test_first_tokens_restrict_only_the_first_choice():
    engine = Engine(ScriptedBackend("abc"), eos_id=0)
    [g] = engine.generate([[1]], 3, first_tokens=[[ord("x"), ord("y")]])
    assert chars(g.tokens) == "xbc"
    [free, held] = engine.generate([[1], [1]], 3, first_tokens=[None, [ord("y")]])
    assert chars(free.tokens) == "abc" and chars(held.tokens) == "ybc"
