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
    """The model gets <fim_prefix> <fim_suffix> suffix <fim_middle> prefix (SPM), the suffix
    encoded after the prefix's block stack, and the middle decodes from the cursor's state."""
    prefix, suffix = "def f(x):\n    ", "\n\nprint(f(2))\n"
    sent = []
    generate = tiny_model.engine.generate
    monkeypatch.setattr(tiny_model.engine, "generate",
                        lambda prompts, *args, **kwargs: sent.extend(prompts) or generate(prompts, *args, **kwargs))
    with_suffix = pycodesmall.complete(prefix, model=tiny_model, suffix=suffix, max_new_tokens=8,
                                       validate=False)
    tok = tiny_model.tokenizer
    prefix_ids, suffix_ids, state = tok.encode_infill(prefix, suffix)
    assert sent == [[tok.fim_prefix_id, tok.fim_suffix_id, *suffix_ids, tok.fim_middle_id, *prefix_ids]]
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


@pytest.mark.parametrize("kwargs, message", [
    (dict(temperature=float("nan")), "temperature must be a finite number >= 0, got nan"),
    (dict(temperature=float("inf")), "temperature must be a finite number >= 0"),
    (dict(temperature="0.5"), "temperature must be a finite number >= 0"),
    (dict(temperature=1, top_p=float("nan")), "top_p must be a number in"),
    (dict(temperature=1, top_k=2.5), "top_k must be an integer >= 1"),
    (dict(repetition_penalty=float("nan")), "repetition_penalty must be a finite number >= 1"),
    (dict(temperature=1, seed=2**64), r"seed must be an integer in \[0, 2\*\*64\)"),
    (dict(temperature=1, seed=-1), r"seed must be an integer in \[0, 2\*\*64\)"),
    (dict(temperature=1, seed=1.5), r"seed must be an integer"),
    (dict(max_lines=0), "max_lines must be an integer >= 1 or None, got 0"),
    (dict(max_lines=-1), "max_lines must be an integer >= 1 or None, got -1"),
    (dict(n=0), "n must be an integer >= 1"),
    (dict(n=2.0), "n must be an integer >= 1"),
    (dict(max_new_tokens=True), "max_new_tokens must be an integer >= 1"),
])
def test_bad_sampling_settings_are_clear_errors(tiny_model, kwargs, message):
    with pytest.raises(ConfigError, match=message):
        pycodesmall.complete("x = 1", model=tiny_model, max_new_tokens=kwargs.pop("max_new_tokens", 4),
                             **kwargs)


def test_a_tiny_temperature_samples_the_greedy_choice(tiny_model):
    greedy = pycodesmall.complete("def add(a, b):\n", model=tiny_model, max_new_tokens=8, validate=False)
    tiny = pycodesmall.complete("def add(a, b):\n", model=tiny_model, max_new_tokens=8, validate=False,
                                temperature=1e-300, seed=0)
    assert tiny.raw_text == greedy.raw_text


@pytest.mark.parametrize("where", ["prefix", "suffix", "stop"])
def test_lone_surrogates_are_clear_errors(tiny_model, where):
    text = {"prefix": "x = '\ud800'\n", "suffix": "", "stop": ()}
    if where != "prefix":
        text["prefix"] = "x = 1\n"
        text[where] = "\udcff" if where == "suffix" else ("a", "\ud800")
    with pytest.raises(ConfigError, match=rf"{where} is not valid Unicode: a lone surrogate"):
        pycodesmall.complete(text["prefix"], model=tiny_model, suffix=text["suffix"], stop=text["stop"],
                             max_new_tokens=4)


def test_more_completions_than_memory_holds_are_refused_before_decoding(tiny_model, monkeypatch):
    from pycodesmall import api

    monkeypatch.setattr(api, "available_memory", lambda device: 2 << 30)
    monkeypatch.setattr(tiny_model.engine, "generate",
                        lambda *args, **kwargs: pytest.fail("decoding started"))
    with pytest.raises(ConfigError, match=r"200000 sequences .* need about \d+\.\d GiB .* 2\.0 GiB"):
        pycodesmall.complete("x = 1", model=tiny_model, n=200_000, max_new_tokens=64)


def test_a_batch_needs_prompts(tiny_model):
    with pytest.raises(ConfigError, match="at least one prompt"):
        pycodesmall.complete_batch([], model=tiny_model)
    with pytest.raises(ConfigError, match="takes a list of prefixes"):
        pycodesmall.complete_batch("x = 1", model=tiny_model)
