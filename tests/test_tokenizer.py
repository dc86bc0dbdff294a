import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from model_fixtures import stdlib_sources
from pycodesmall import indentation
from pycodesmall.errors import ConfigError
from pycodesmall.tokenizer import SPECIAL_TOKENS, PythonTokenizer

TRICKY = [
    "",
    "\n",
    "def f():\n    return 1\n",
    "class A:\n\tdef f(self):\n\t    pass\n  \n\nx = 1",  # tabs, mixed, trailing spaces
    "if x:\r\n    y = 1\r\n\r\nz\r\n",  # CRLF
    "a = 1\x0c\n\x0cdef g():\n\x0c    pass\n",  # form feeds
    "def f(:\n  return\n        x\n   y\n",  # does not parse, odd dedents
    "s = 'é日本🐍'\n    # stray indent\n",
    "x = '\ue000\ue003\ue001'\n\ue002\n",  # the transform's own marker characters
    "print('<|endoftext|>')\n<|fim_prefix|>",  # special-token text in the source
    "   \n\t\n  x\n",
    "x = 1   \n\n    \n",
]


@pytest.mark.parametrize("src", TRICKY)
def test_round_trip_on_tricky_sources(tokenizer, src):
    assert tokenizer.decode(tokenizer.encode(src)) == src


def test_special_tokens_have_fixed_ids_and_text_never_becomes_one(tokenizer):
    ids = [tokenizer.eot_id, tokenizer.fim_prefix_id, tokenizer.fim_middle_id,
           tokenizer.fim_suffix_id, tokenizer.pad_id]
    assert ids == list(range(len(SPECIAL_TOKENS)))
    assert not set(tokenizer.encode("<|endoftext|><|fim_middle|>")) & set(ids)


def test_variant_is_recorded_in_tokenizer_json(tokenizer, tmp_path):
    tokenizer.save(tmp_path)
    loaded = PythonTokenizer.from_file(tmp_path / "tokenizer.json")
    assert loaded.variant == tokenizer.variant
    src = "def f(a):\n    if a:\n        return a\n"
    assert loaded.encode(src) == tokenizer.encode(src)


def test_indent_variant_needs_fewer_tokens_on_held_out_code(training_texts):
    # Lines at the depth of the line before (most lines) cost no indentation token at all.
    held_out = stdlib_sources("http", "urllib")
    sizes = {v: sum(map(len, PythonTokenizer.train(training_texts, v, 1024).encode_batch(held_out)))
             for v in ("bpe", "indent")}
    assert sizes["indent"] < sizes["bpe"]


def test_ast_variant_marks_the_statements_their_first_token_does_not_name(training_texts):
    tok = PythonTokenizer.train(training_texts, "ast", 1024)
    src = ('import os\n@cache\ndef f(x):\n    """Doc."""\n    y = os.sep\n    y += x\n'
           '    print(y)\n    await g()\n    match = 1\n    match y:\n        case _:\n            ...\n'
           '    return y\n')
    text = tok._tokenizer.decode(tok.encode(src), skip_special_tokens=False)
    marker = dict(zip(indentation.STATEMENT_TYPES, indentation.MARKERS[4:]))
    assert [c for c in text if c in marker.values()] == [
        marker[name] for name in ("Assign", "AugAssign", "Expr", "Assign", "Match")]
    assert tok.decode(tok.encode(src)) == src


@pytest.mark.parametrize("prompt, generated, expected", [
    ("def f(x):\n    ", "return x\n", "return x\n"),  # cursor after indentation: kept as typed
    ("def f(x):\n", "\ue000return x\n", "    return x\n"),  # model writes the indent
    ("def f(x):\n    y = x\n    ", "return y", "return y"),
    ("def f(x):\n    y = x\n", "return y", "    return y"),  # same block: no marker needed
    ("if a:\n    if b:\n        c\n", "\ue002d", "    d"),  # dedent one level
])
def test_continuation_decodes_in_prompt_context(indent_tokenizer, prompt, generated, expected):
    ids, state = indent_tokenizer.encode_prompt(prompt)
    gen_ids = indent_tokenizer._tokenizer.encode(generated, add_special_tokens=False).ids
    assert indent_tokenizer.decode_continuation(gen_ids, state) == expected


def test_decoding_arbitrary_ids_never_fails(tokenizer):
    ids = list(range(tokenizer.vocab_size))
    assert isinstance(tokenizer.decode(ids), str)


def test_bad_variant_and_bad_file_give_clear_errors(training_texts, tmp_path):
    with pytest.raises(ConfigError, match="unknown tokenizer variant"):
        PythonTokenizer.train(training_texts, "chars", 1024)
    with pytest.raises(ConfigError, match="too small"):
        PythonTokenizer.train(training_texts, "ast", 270)
    (tmp_path / "tokenizer.json").write_text("{not json")
    with pytest.raises(ConfigError, match="cannot read tokenizer"):
        PythonTokenizer.from_file(tmp_path)
    with pytest.raises(ConfigError, match="no tokenizer.json"):
        PythonTokenizer.from_file(tmp_path / "missing")


_indent_piece = st.sampled_from([" ", "  ", "    ", "\t", " \t", "\f", ""])
_content = st.sampled_from(["x = 1", "def f():", "pass", "# c", "'''s", "\ue001", "é", "", "  "])
_line_end = st.sampled_from(["\n", "\r\n", "\r", ""])
_line = st.tuples(st.lists(_indent_piece, max_size=4), _content, _line_end).map(
    lambda t: "".join(t[0]) + t[1] + t[2])


@settings(max_examples=300, deadline=None)
@given(st.lists(_line, max_size=12).map("".join))
def test_property_whitespace_mixes_round_trip(indent_tokenizer, src):
    assert indent_tokenizer.decode(indent_tokenizer.encode(src)) == src
    markers = indentation.annotate_statements(src)
    assert indentation.decode(indentation.encode(src, markers)) == src


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_property_any_text_round_trips_through_the_transform(src):
    assert indentation.decode(indentation.encode(src)) == src


def test_healing_takes_back_the_last_token_and_lets_a_longer_one_replace_it(tokenizer):
    prompt, rest = "import o", "s\nimport sys\n"  # " o" or " os": the pieces differ
    ids, state = tokenizer.encode_prompt(prompt)
    kept, healed, allowed = tokenizer.heal(ids)
    assert kept == ids[:-1] and prompt.endswith(healed) and ids[-1] in allowed
    assert all(tokenizer.decode([i]).startswith(healed) for i in allowed)
    longer = tokenizer.encode_prompt(prompt + rest)[0]  # what the model should write instead
    assert longer[:len(kept)] == kept and longer[len(kept)] in allowed
    assert tokenizer.decode_continuation(longer[len(kept):], state, healed) == rest


@pytest.mark.parametrize("prompt", ["x", "def f(x):\n    ", "def f(x):\n"])
def test_nothing_to_heal_in_one_token_after_a_marker_or_at_a_line_start(indent_tokenizer, prompt):
    ids, _ = indent_tokenizer.encode_prompt(prompt)
    assert indent_tokenizer.heal(ids) is None
