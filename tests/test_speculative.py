"""Prompt-lookup drafting, and speculative greedy decoding giving plain greedy's tokens."""

from collections import Counter
from types import SimpleNamespace

import pytest
import torch

from model_fixtures import tiny_config
from pycodesmall.model import Transformer
from pycodesmall.runtime import Engine, SamplingParams, StopRules
from pycodesmall.runtime.speculative import PromptLookup, accepted_length
from pycodesmall.runtime.torch_backend import TorchBackend


pytestmark = pytest.mark.usefixtures("one_thread")


def test_draft_copies_what_followed_the_latest_match_of_the_longest_ngram():
    index = PromptLookup(num_draft=3).index([1, 2, 3, 4, 9, 2, 3, 5, 6, 7, 8, 2, 3])
    assert index.draft(8) == [5, 6, 7]  # "2 3" last continued with 5 (not 4), 3 tokens at most
    index = PromptLookup(num_draft=8).index([4, 1, 2, 3, 8, 3, 9, 1, 2, 3])
    assert index.draft(8) == [8, 3, 9, 1, 2, 3]  # the trigram "1 2 3" wins over the later "3"
    assert index.draft(2) == [8, 3]


def test_draft_follows_the_sequence_as_it_grows():
    index = PromptLookup(min_ngram=1).index([5, 6, 7])
    assert index.draft(4) == []  # nothing repeats yet
    index.extend([5])
    assert index.draft(4) == [6, 7, 5]
    index.extend([6, 7])
    assert index.draft(4) == [5, 6, 7]


def test_by_default_a_draft_needs_two_matching_tokens():
    index = PromptLookup().index([5, 6, 7, 5])
    assert index.draft(4) == []
    index.extend([6])
    assert index.draft(4) == [7, 5, 6]


def test_accepted_length_counts_the_agreeing_prefix():
    assert accepted_length([1, 2, 3], [1, 2, 4, 5]) == 2
    assert accepted_length([7], [1, 7]) == 0
    assert accepted_length([], [3]) == 0


def test_invalid_settings_are_rejected():
    with pytest.raises(ValueError):
        PromptLookup(num_draft=0)
    with pytest.raises(ValueError):
        PromptLookup(min_ngram=3, max_ngram=2)


class CountingBackend:
    """Wraps a backend and counts the model calls the engine makes, in all (`calls`) and
    per method (`counts`: prefill, step, verify, truncate)."""

    def __init__(self, backend):
        self.inner, self.calls, self.counts = backend, 0, Counter()
        self.name, self.config = backend.name, backend.config

    def __getattr__(self, attribute):
        method = getattr(self.inner, attribute)

        def counted(*args):
            self.calls += attribute != "truncate"
            self.counts[attribute] += 1
            return method(*args)
        return counted

    def reset(self):
        self.calls, self.counts = 0, Counter()


class Letters:
    """Detokenizer that writes each id as a letter."""

    @staticmethod
    def add(token):
        return chr(65 + token % 26)

    def finish(self):
        return ""


def assert_same_as_plain_greedy(backend, prompt, max_new_tokens, **kwargs):
    counting = CountingBackend(backend)
    engine = Engine(counting, eos_id=kwargs.pop("eos_id", None))
    [plain] = engine.generate([prompt], max_new_tokens, **kwargs)
    plain_calls = counting.calls
    assert counting.counts["verify"] == 0 and counting.counts["step"] == len(plain.tokens) - 1 + (
        plain.finish_reason == "eos")
    counting.reset()
    [fast] = engine.generate([prompt], max_new_tokens, lookup=PromptLookup(), **kwargs)
    # The lookup branch ran: one prefill, then only verify passes, never a plain step.
    assert counting.counts["prefill"] == 1 and counting.counts["step"] == 0
    assert counting.counts["verify"] >= 1
    assert fast.tokens == plain.tokens and fast.finish_reason == plain.finish_reason
    assert fast.text == plain.text
    assert fast.logprob == pytest.approx(plain.logprob, abs=1e-3)
    return plain_calls, counting.calls


@pytest.fixture(scope="module")
def torch_backend():
    torch.manual_seed(0)
    return TorchBackend(Transformer(tiny_config(512, max_position_embeddings=512)))


def test_speculative_decoding_gives_plain_greedy_tokens_in_fewer_calls(torch_backend):
    prompt = list(range(40, 72)) * 3 + list(range(40, 50))  # a file that repeats itself
    plain_calls, fast_calls = assert_same_as_plain_greedy(torch_backend, prompt, 128)
    assert plain_calls == 128 and fast_calls < plain_calls
    counting = CountingBackend(torch_backend)
    [g] = Engine(counting, eos_id=None).generate([prompt], 128, lookup=PromptLookup())
    # Fewer verify passes than tokens: drafts were accepted, several tokens per pass.
    assert counting.counts["verify"] == fast_calls - 1 < len(g.tokens) - 1


class ScriptBackend:
    """A model that writes `script` after any prompt, one sequence at a time: the token at
    generated position i is script[i], then 0. Its cache is a length, so verify and
    truncate keep positions as a real backend's cache does; a wrong rollback shows."""

    name, config = "script", None

    def __init__(self, script, vocab=64):
        self.script, self.vocab = script, vocab

    def _logits(self, generated_positions):
        logits = torch.linspace(-4.0, -2.0, self.vocab).repeat(len(generated_positions), 1)
        for row, i in enumerate(generated_positions):
            logits[row, self.script[i] if i < len(self.script) else 0] = 3.0
        return logits

    def prefill(self, tokens, pad_lengths, num_samples, max_new_tokens):
        cache = SimpleNamespace(length=tokens.shape[1], prompt=tokens.shape[1])
        return self._logits([0] * (len(tokens) * num_samples)), cache

    def step(self, tokens, cache):
        cache.length += 1
        return self._logits([cache.length - cache.prompt] * len(tokens)), cache

    def verify(self, tokens, cache):
        first = cache.length - cache.prompt + 1  # the first fed token is generated position first - 1
        cache.length += tokens.shape[1]
        return self._logits(range(first, first + tokens.shape[1]))[None], cache

    def truncate(self, cache, length):
        cache.length = length
        return cache


SCRIPT = [11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30] * 2


def test_speculative_decoding_keeps_stop_rules_and_eos():
    prompt = [1, 2] + SCRIPT[:20] + [3] + SCRIPT[:20]  # drafts copy the script from the prompt
    backend = ScriptBackend(SCRIPT)
    [plain] = Engine(backend, eos_id=None).generate([prompt], 30)
    assert plain.tokens == SCRIPT[:30]
    _, fast_calls = assert_same_as_plain_greedy(backend, prompt, 30)
    assert fast_calls < 15  # drafts were accepted
    # An eos id that is the script's 13th token ends the sequence there, inside a draft.
    eos = SCRIPT[12]
    plain_calls, _ = assert_same_as_plain_greedy(backend, prompt, 30, eos_id=eos)
    [ended] = Engine(backend, eos_id=eos).generate([prompt], 30, lookup=PromptLookup())
    assert ended.tokens == SCRIPT[:12] and ended.finish_reason == "eos" and plain_calls == 13
    # A stop string the 10th and 11th tokens' letters make cuts the text there.
    script = "".join(map(Letters.add, SCRIPT[:30]))
    stop = StopRules(stop_strings=(script[9:11],))
    assert_same_as_plain_greedy(backend, prompt, 30, stop_rules=[stop], detokenizers=[Letters])
    [cut] = Engine(backend, eos_id=None).generate([prompt], 30, stop_rules=[stop], detokenizers=[Letters],
                                                  lookup=PromptLookup())
    assert cut.finish_reason == "stop" and cut.text == script[:9] and len(cut.tokens) == 11


def test_speculative_decoding_with_a_draft_rejected_midway():
    """The script leaves the prompt's pattern at token 6: the draft's rest is rolled back."""
    script = [11, 12, 13, 14, 15, 16, 40, 41, 42, 43, 11, 12, 13, 14, 50, 51]
    prompt = [1] + list(range(11, 31)) * 2
    backend = ScriptBackend(script)
    assert_same_as_plain_greedy(backend, prompt, len(script) + 4, eos_id=0)
    counting = CountingBackend(backend)
    [g] = Engine(counting, eos_id=0).generate([prompt], 30, lookup=PromptLookup())
    assert g.tokens == script and g.finish_reason == "eos" and counting.counts["truncate"] >= 1


REPEATING = list(range(40, 72)) * 3 + list(range(40, 50))  # drafts would be found here


@pytest.mark.parametrize("prompts, num_samples, sampling", [
    ([[5, 6, 7, 5, 6], [9, 9, 9]], 1, SamplingParams()),  # a batch of two prompts
    ([REPEATING, REPEATING[5:]], 1, SamplingParams()),
    ([REPEATING], 2, SamplingParams()),  # two samples of one prompt: a batch of two as well
    ([REPEATING], 1, SamplingParams(temperature=0.8, seed=3)),  # sampling
    ([REPEATING], 1, SamplingParams(repetition_penalty=1.2)),  # greedy, but not plain greedy
])
def test_lookup_is_ignored_outside_plain_greedy_decoding_of_one_sequence(
        torch_backend, prompts, num_samples, sampling):
    """The engine uses lookup only for one plain greedy sequence (see `Engine.generate`):
    other requests decode exactly as without it, by plain steps, and never call verify."""
    counting = CountingBackend(torch_backend)
    engine = Engine(counting, eos_id=None)
    plain = engine.generate(prompts, 24, sampling, num_samples)
    plain_counts = counting.counts
    counting.reset()
    looked_up = engine.generate(prompts, 24, sampling, num_samples, lookup=PromptLookup())
    assert [g.tokens for g in looked_up] == [g.tokens for g in plain]
    assert [g.logprob for g in looked_up] == pytest.approx([g.logprob for g in plain], abs=1e-4)
    assert counting.counts["verify"] == 0 and counting.counts["truncate"] == 0
    assert counting.counts == plain_counts == Counter(prefill=1, step=23)


def test_speculative_decoding_keeps_the_first_token_restriction(torch_backend):
    prompt = list(range(40, 72)) * 3 + list(range(40, 50))
    [free] = Engine(torch_backend, eos_id=None).generate([prompt], 4)
    allowed = [t for t in (3, 4, 5) if t != free.tokens[0]]
    assert_same_as_plain_greedy(torch_backend, prompt, 32, first_tokens=[allowed])
    [held] = Engine(torch_backend, eos_id=None).generate([prompt], 4, lookup=PromptLookup(),
                                                         first_tokens=[allowed])
    assert held.tokens[0] in allowed
