"""`complete()`: prompts, fill-in-the-middle, context limits, validation, bad input."""

import pytest

import pycodesmall
from pycodesmall.errors import ConfigError


def test_greedy_completion_is_deterministic(tiny_model):
    first = pycodesmall.complete("def add(a, b):\n", model=tiny_model, max_new_tokens=12, validate=False)
    again = pycodesmall.complete("def add(a, b):\n", model=tiny_model, max_new_tokens=12, validate=False)
    assert isinstance(first, pycodesmall.Completion)
    assert first.text == again.text and first.tokens == again.tokens > 0
    assert first.valid is None


def test_n_samples_with_seed_repeat_and_differ(tiny_model):
    kwargs = dict(model=tiny_model, n=4, temperature=1.0, seed=3, max_new_tokens=10, validate=False)
    a = pycodesmall.complete("import os\n", **kwargs)
    b = pycodesmall.complete("import os\n", **kwargs)
    assert [c.raw_text for c in a] == [c.raw_text for c in b]
    assert len({c.raw_text for c in a}) > 1


def test_validation_cuts_to_valid_python(tiny_model):
    result = pycodesmall.complete("def add(a, b):\n", model=tiny_model, max_new_tokens=16)
    check = pycodesmall.validate("def add(a, b):\n", result.raw_text)
    assert result.text == check.text and result.valid == check.valid
    assert result.raw_text.startswith(result.text)


def test_fill_in_the_middle_sends_the_suffix_as_training_encodes_it(tiny_model, monkeypatch):
    """The model gets <fim_prefix> prefix <fim_suffix> suffix <fim_middle>, the suffix encoded
    after the prefix's block stack, and the middle decodes from the cursor's state."""
    prefix, suffix = "def f(x):\n    ", "\n\nprint(f(2))\n"
    sent = []
    generate = tiny_model.engine.generate
    monkeypatch.setattr(tiny_model.engine, "generate",
                        lambda prompts, *args, **kwargs: sent.extend(prompts) or generate(prompts, *args, **kwargs))
    with_suffix = pycodesmall.complete(prefix, model=tiny_model, suffix=suffix, max_new_tokens=8,
                                       validate=False)
    tok = tiny_model.tokenizer
    prefix_ids, suffix_ids, state = tok.encode_infill(prefix, suffix)
    assert sent == [[tok.fim_prefix_id, *prefix_ids, tok.fim_suffix_id, *suffix_ids, tok.fim_middle_id]]
    assert tok.decode_continuation(suffix_ids, state) == suffix
    assert with_suffix.tokens > 0


def test_prompt_longer_than_the_context_is_cut_from_the_left(tiny_model):
    long_prompt = "x = 1\n" * 400  # far more tokens than the 256-token context
    with pytest.warns(UserWarning, match="cut by"):
        result = pycodesmall.complete(long_prompt, model=tiny_model, max_new_tokens=8, validate=False)
    assert result.tokens > 0
    full = len(tiny_model.tokenizer.encode_prompt(long_prompt)[0])
    assert result.prompt_tokens_cut == full - (tiny_model.context_length - 8)


def test_bad_requests_are_clear_errors(tiny_model):
    with pytest.raises(ConfigError, match="empty prompt"):
        pycodesmall.complete("  \n", model=tiny_model)
    with pytest.raises(ConfigError, match="leaves no room"):
        pycodesmall.complete("x = 1", model=tiny_model, max_new_tokens=10_000)
    with pytest.raises(ConfigError, match="temperature"):
        pycodesmall.complete("x = 1", model=tiny_model, temperature=-1)
    with pytest.raises(ConfigError, match="top_p"):
        pycodesmall.complete("x = 1", model=tiny_model, temperature=1, top_p=1.5)


def test_model_name_loads_once_per_process(tiny_model_dir, monkeypatch):
    from pycodesmall import api
    loads = []
    real_load = api.load
    monkeypatch.setattr(api, "load", lambda name: loads.append(name) or real_load(name, device="cpu"))
    monkeypatch.setattr(api, "_default_models", {})
    for _ in range(2):
        pycodesmall.complete("x = ", model=str(tiny_model_dir), max_new_tokens=2, validate=False)
    assert loads == [str(tiny_model_dir)]
