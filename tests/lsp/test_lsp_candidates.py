from pycodesmall import Completion

from pycodesmall.lsp_server.candidates import rank_candidates

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
