import torch

from pycodesmall.runtime import SamplingParams

from pycodesmall.lsp_server.prefix_reuse import PrefixReusingBackend, reuse_prefixes

NO_PADDING = torch.zeros(1, dtype=torch.long)


def test_reused_prefill_gives_the_logits_and_generations_of_a_full_one(tiny_model):
    full = tiny_model.engine.backend
    reusing = PrefixReusingBackend(full)
    first = tiny_model.tokenizer.encode("import os\n\ndef walk(folder):\n    for name in os.listdir(")
    second = first[:-2] + tiny_model.tokenizer.encode("folder):\n        ")
    reusing.prefill(torch.tensor([first]), NO_PADDING, 1, 8)
    logits, _ = reusing.prefill(torch.tensor([second]), NO_PADDING, 1, 8)
    assert reusing.reused == len(first) - 2
    torch.testing.assert_close(logits, full.prefill(torch.tensor([second]), NO_PADDING, 1, 8)[0])

    plain = [g.tokens for g in tiny_model.engine.generate([second], 12, SamplingParams(), num_samples=2)]
    reuse_prefixes(tiny_model)
    assert isinstance(tiny_model.engine.backend, PrefixReusingBackend)
    tiny_model.engine.generate([first], 4)
    assert [g.tokens for g in tiny_model.engine.generate([second], 12, SamplingParams(), num_samples=2)] == plain
    assert tiny_model.engine.backend.reused == len(first) - 2


def test_an_identical_prompt_still_runs_its_last_token(tiny_model):
    reusing = PrefixReusingBackend(tiny_model.engine.backend)
    ids = tiny_model.tokenizer.encode("x = 1\ny = ")
    reusing.prefill(torch.tensor([ids]), NO_PADDING, 1, 4)
    logits, cache = reusing.prefill(torch.tensor([ids]), NO_PADDING, 1, 4)
    assert reusing.reused == len(ids) - 1 and cache.length == len(ids) and logits.shape[0] == 1
