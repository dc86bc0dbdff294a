"""Prefix reuse: a prefill that starts from the previous prompt's keys and values gives the
logits, cache and generations of a full prefill, on both backends."""

import pytest
import torch

from model_fixtures import tiny_config
from pycodesmall.model import Transformer
from pycodesmall.pretrained import CodeModel
from pycodesmall.runtime import SamplingParams
from pycodesmall.runtime.prefix_reuse import PrefixReuse, shared_prefix_length

NO_PADDING = torch.zeros(1, dtype=torch.long)

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module", params=["torch", "onnx"])
def model(request, indent_tokenizer, tmp_path_factory) -> CodeModel:
    if request.param == "onnx":
        pytest.importorskip("onnxruntime")
        pytest.importorskip("onnx")
    torch.manual_seed(0)
    directory = CodeModel(Transformer(tiny_config(indent_tokenizer.vocab_size)), indent_tokenizer,
                          backend="torch").save_pretrained(tmp_path_factory.mktemp("reuse") / "tiny")
    return CodeModel.from_directory(directory, device="cpu", backend=request.param)


def prompts(model):
    first = model.tokenizer.encode("import os\n\ndef walk(folder):\n    for name in os.listdir(")
    second = first[:-2] + model.tokenizer.encode("folder):\n        ")
    return first, second


def test_a_reused_prefill_gives_the_logits_of_a_full_one(model):
    first, second = prompts(model)
    reusing = PrefixReuse(model.backend)
    reusing.prefill(torch.tensor([first]), NO_PADDING, 1, 8)
    logits, cache = reusing.prefill(torch.tensor([second]), NO_PADDING, 1, 8)
    assert reusing.reused == len(first) - 2
    full_logits, full_cache = model.backend.prefill(torch.tensor([second]), NO_PADDING, 1, 8)
    torch.testing.assert_close(logits, full_logits, atol=1e-5, rtol=1e-5)
    assert cache.length == full_cache.length == len(second) and cache.capacity == full_cache.capacity
    # the cache continues like a full one
    step_logits, _ = reusing.step(logits.argmax(-1), cache)
    torch.testing.assert_close(step_logits, model.backend.step(logits.argmax(-1), full_cache)[0],
                               atol=1e-5, rtol=1e-5)


def test_generations_match_after_the_previous_request_decoded_and_sampled(model):
    first, second = prompts(model)
    sampling = SamplingParams(temperature=0.8, seed=3)
    plain = [g.tokens for g in model.engine.generate([second], 12, sampling, num_samples=2)]
    model.reuse_prefixes()
    assert isinstance(model.engine.backend, PrefixReuse)
    try:
        model.engine.generate([first], 6, sampling, num_samples=3)  # decoding writes after the prompt
        reused = [g.tokens for g in model.engine.generate([second], 12, sampling, num_samples=2)]
        assert model.engine.backend.reused == len(first) - 2
        assert reused == plain
    finally:
        model.engine.backend = model.backend


def test_an_identical_prompt_still_runs_its_last_token(model):
    reusing = PrefixReuse(model.backend)
    ids = model.tokenizer.encode("x = 1\ny = ")
    reusing.prefill(torch.tensor([ids]), NO_PADDING, 1, 4)
    logits, cache = reusing.prefill(torch.tensor([ids]), NO_PADDING, 1, 4)
    assert reusing.reused == len(ids) - 1 and cache.length == len(ids) and logits.shape[0] == 1


def test_a_batch_of_prompts_is_prefilled_in_full_and_forgets_the_last_prompt(model):
    first, second = prompts(model)
    reusing = PrefixReuse(model.backend)
    reusing.prefill(torch.tensor([first]), NO_PADDING, 1, 4)
    reusing.prefill(torch.tensor([second, second]), torch.zeros(2, dtype=torch.long), 1, 4)
    assert reusing.reused == 0
    reusing.prefill(torch.tensor([second]), NO_PADDING, 1, 4)
    assert reusing.reused == 0


def test_shared_prefix_length():
    assert shared_prefix_length([1, 2, 3], [1, 2, 4], 10) == 2
    assert shared_prefix_length([1, 2, 3], [1, 2, 3], 2) == 2
    assert shared_prefix_length([], [1], 5) == 0
