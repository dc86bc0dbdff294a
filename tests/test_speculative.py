"""Prompt-lookup drafting, and speculative greedy decoding giving plain greedy's tokens."""

import pytest
import torch

from model_fixtures import tiny_config
from pycodesmall.model import Transformer
from pycodesmall.runtime import Engine, StopRules
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
    """Wraps a backend and counts the model calls the engine makes."""

    def __init__(self, backend):
        self.inner, self.calls = backend, 0
        self.name, self.config = backend.name, backend.config

    def __getattr__(self, attribute):
        method = getattr(self.inner, attribute)

        def counted(*args):
            self.calls += attribute != "truncate"
            return method(*args)
        return counted


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
    plain_calls, counting.calls = counting.calls, 0
    [fast] = engine.generate([prompt], max_new_tokens, lookup=PromptLookup(), **kwargs)
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


def test_speculative_decoding_keeps_stop_rules_and_eos(torch_backend):
    prompt = [7, 8, 9, 10] * 20
    [plain] = Engine(torch_backend, eos_id=None).generate([prompt], 30)
    eos = plain.tokens[12]  # the model's 13th token ends the sequence
    assert_same_as_plain_greedy(torch_backend, prompt, 30, eos_id=eos)
    script = "".join(map(Letters.add, plain.tokens))
    stop = StopRules(stop_strings=(script[9:11],))
    assert_same_as_plain_greedy(torch_backend, prompt, 30, stop_rules=[stop], detokenizers=[Letters])


def test_sampling_and_batches_decode_as_before(torch_backend):
    engine = Engine(torch_backend, eos_id=None)
    prompts = [[5, 6, 7, 5, 6], [9, 9, 9]]
    assert ([g.tokens for g in engine.generate(prompts, 12, lookup=PromptLookup())]
            == [g.tokens for g in engine.generate(prompts, 12)])


def test_speculative_decoding_keeps_the_first_token_restriction(torch_backend):
    prompt = list(range(40, 72)) * 3 + list(range(40, 50))
    [free] = Engine(torch_backend, eos_id=None).generate([prompt], 4)
    allowed = [t for t in (3, 4, 5) if t != free.tokens[0]]
    assert_same_as_plain_greedy(torch_backend, prompt, 32, first_tokens=[allowed])
    [held] = Engine(torch_backend, eos_id=None).generate([prompt], 4, lookup=PromptLookup(),
                                                         first_tokens=[allowed])
    assert held.tokens[0] in allowed
