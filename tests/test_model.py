"""The model matches Hugging Face transformers, and cached decoding matches recomputation."""

import pytest
import torch

from model_fixtures import tiny_config
from pycodesmall.config import ModelConfig
from pycodesmall.errors import ConfigError
from pycodesmall.model import Transformer
from pycodesmall.pretrained import CodeModel
from pycodesmall.runtime import Engine

transformers = pytest.importorskip("transformers")


@pytest.mark.parametrize("overrides", [
    {},  # multi-query groups (2 kv heads for 4 query heads)
    {"num_key_value_heads": 4, "tie_word_embeddings": False},
    {"sliding_window": 8},  # saved as a Mistral config, which has the field
])
def test_saved_model_loads_in_transformers_with_the_same_logits(indent_tokenizer, tmp_path, overrides):
    torch.manual_seed(0)
    model = CodeModel(Transformer(tiny_config(indent_tokenizer.vocab_size, **overrides)),
                      indent_tokenizer, device="cpu")
    model.save_pretrained(tmp_path)
    hf = transformers.AutoModelForCausalLM.from_pretrained(tmp_path, dtype=torch.float32).eval()
    idx = torch.randint(0, indent_tokenizer.vocab_size, (2, 40))
    with torch.no_grad():
        ours = model.module(idx)
        theirs = hf(idx).logits
    torch.testing.assert_close(ours, theirs, atol=1e-4, rtol=0)


def _greedy_by_recomputation(module, prompt, steps):
    ids = list(prompt)
    with torch.no_grad():
        for _ in range(steps):
            ids.append(int(module(torch.tensor([ids]))[0, -1].argmax()))
    return ids[len(prompt):]


@pytest.mark.parametrize("overrides", [{}, {"sliding_window": 6}])
def test_kv_cached_greedy_equals_full_recomputation(indent_tokenizer, overrides):
    torch.manual_seed(0)
    module = Transformer(tiny_config(indent_tokenizer.vocab_size, **overrides)).eval()
    model = CodeModel(module, indent_tokenizer, device="cpu")
    engine = Engine(model.backend, eos_id=None, pad_id=indent_tokenizer.pad_id)
    prompts = [[5, 17, 300, 42, 8, 99, 23], [7, 11], [400, 3, 12, 19]]
    steps = 24
    expected = [_greedy_by_recomputation(module, p, steps) for p in prompts]
    assert [g.tokens for g in engine.generate(prompts[:1], steps)] == expected[:1]  # batch 1
    assert [g.tokens for g in engine.generate(prompts, steps)] == expected  # ragged batch


def test_several_samples_of_one_prompt_share_one_prefill(indent_tokenizer):
    torch.manual_seed(0)
    model = CodeModel(Transformer(tiny_config(indent_tokenizer.vocab_size)), indent_tokenizer, device="cpu")
    engine = Engine(model.backend, eos_id=None)
    greedy = engine.generate([[5, 6, 7]], 10, num_samples=3)
    assert len(greedy) == 3 and greedy[0].tokens == greedy[1].tokens == greedy[2].tokens


def test_parameter_count_formula_matches_the_module():
    for name in ("nano", "tiny", "base"):
        config = ModelConfig.from_name(name)
        assert Transformer(config).num_parameters() == config.num_parameters()


def test_invalid_configs_are_rejected_with_the_reason():
    with pytest.raises(ConfigError, match="not divisible"):
        ModelConfig(hidden_size=100, num_attention_heads=3)
    with pytest.raises(ConfigError, match="multiple of num_key_value_heads"):
        ModelConfig(num_attention_heads=8, num_key_value_heads=3)
    with pytest.raises(ConfigError, match="unknown config keys"):
        ModelConfig.from_name("tiny", hidden=3)
    with pytest.raises(ConfigError, match="unknown preset"):
        ModelConfig.from_name("huge")
