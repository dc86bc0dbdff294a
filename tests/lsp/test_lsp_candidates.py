import pycodesmall
from pycodesmall import Completion

from pycodesmall.lsp_server.candidates import rank_candidates
from pycodesmall.lsp_server.completer import prompt_for, suggest
from pycodesmall.lsp_server.settings import Settings

PREFIX = "import os\n\ndef f(path):\n    return "


def raw(text: str, logprob: float = -1.0, tokens: int = 1) -> Completion:
    return Completion(text, None, tokens, logprob, "stop", raw_text=text)


def test_candidates_are_cut_to_valid_text_and_invalid_ones_dropped():
    ranked = rank_candidates(PREFIX, "", [raw("os.path.basename(path)\n    )))"), raw("((("), raw("   ")])
    assert [c.text for c in ranked] == ["os.path.basename(path)"]
    assert ranked[0].truncated


def test_undefined_names_rank_below_known_ones_then_the_model_decides():
    ranked = rank_candidates(PREFIX, "", [
        raw("missing_name(path)", logprob=-0.1),
        raw("os.sep", logprob=-4.0, tokens=2),
        raw("path", logprob=-1.0, tokens=2),
        raw("path", logprob=-3.0, tokens=2),
    ])
    assert [(c.text, c.undefined_names) for c in ranked] == [
        ("path", False), ("os.sep", False), ("missing_name(path)", True)]
    assert ranked[0].score == -0.5


def test_without_validation_everything_non_blank_is_kept_and_trailing_space_goes_at_line_ends():
    ranked = rank_candidates(PREFIX, "\nx = 1", [raw("((( \n"), raw(" ")], validate=False)
    assert [c.text for c in ranked] == ["((("]
    assert rank_candidates("x = (", "1)", [raw("0 + ")], validate=False)[0].text == "0 + "


def test_a_completion_stopped_by_the_line_limit_may_open_a_block_one_that_ended_may_not():
    prefix = "def f(words):\n    for word in words:\n        "

    def header(finish_reason, stop_rule=None):
        return Completion("if word:", None, 3, -1.0, finish_reason, raw_text="if word:",
                          stop_rule=stop_rule)

    assert [c.text for c in rank_candidates(prefix, "", [header("stop", "max_lines")])] == ["if word:"]
    # The end of the document, or a dedent, right after a header: the body never comes.
    assert rank_candidates(prefix, "", [header("eos"), header("stop", "block_end")]) == []


def test_the_bundled_model_suggests_a_block_header_in_one_line_by_default():
    # What the demo page found: `if word in words:` was dropped as "expected an indented block".
    model = pycodesmall.load(device="cpu")
    source = "def count(words, text):\n    n = 0\n    for word in words:\n        "
    settings = Settings()
    assert settings.max_lines == 1
    [suggestion] = suggest(model, prompt_for(model, source, len(source), settings), settings)
    assert suggestion.text.startswith("if ") and suggestion.text.endswith(":")
