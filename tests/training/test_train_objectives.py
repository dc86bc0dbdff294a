import numpy as np
import pytest

from pycodesmall.training.objectives import FillInTheMiddle, NextToken

EOT, PRE, MID, SUF = 0, 1, 2, 3
FIM = FillInTheMiddle(rate=1.0, spm_rate=0.5, eot_id=EOT, prefix_id=PRE, middle_id=MID, suffix_id=SUF)


def split_fim(tokens: list[int]) -> tuple[list[int], list[int], list[int]]:
    """(prefix, middle, suffix) of one FIM-ordered document, PSM or SPM."""
    assert tokens[0] == PRE
    if tokens[1] == SUF:  # SPM: PRE SUF suffix MID prefix+middle; the split of prefix+middle is lost
        mid = tokens.index(MID)
        return [], tokens[mid + 1:], tokens[2:mid]
    suf, mid = tokens.index(SUF), tokens.index(MID)
    return tokens[1:suf], tokens[mid + 1:], tokens[suf + 1:mid]


@pytest.mark.parametrize("spm", [False, True])
def test_rearranged_document_reassembles(spm):
    rng = np.random.default_rng(0)
    for _ in range(200):
        document = rng.integers(10, 100, size=int(rng.integers(1, 30)))
        lo, hi = np.sort(rng.integers(0, len(document) + 1, size=2))
        out = FIM.rearrange(document, lo, hi, spm=spm).tolist()
        prefix, middle, suffix = split_fim(out)
        assert prefix + middle + suffix == document.tolist()
        assert len(out) == len(document) + 3
        if not spm:
            assert (prefix, middle, suffix) == (document[:lo].tolist(), document[lo:hi].tolist(),
                                                 document[hi:].tolist())


def test_window_transform_keeps_documents_and_length():
    documents = [list(range(10, 20)), list(range(30, 45)), list(range(50, 58))]
    window = np.array(documents[0] + [EOT] + documents[1] + [EOT] + documents[2], dtype=np.int64)
    long_enough = FillInTheMiddle(1.0, 0.5, EOT, PRE, MID, SUF)
    out = long_enough.transform(np.concatenate([window, np.full(9, 99)]), np.random.default_rng(3))
    pieces = np.split(out, np.flatnonzero(out == EOT))
    for document, piece in zip(documents[:2], pieces):
        prefix, middle, suffix = split_fim(piece[piece != EOT].tolist())
        assert prefix + middle + suffix == document
    truncated = FIM.transform(window, np.random.default_rng(3))
    assert len(truncated) == len(window) and (truncated == EOT).sum() == 2


def test_fim_rate_zero_and_next_token_are_identity():
    window = np.arange(10, 40)
    window[[7, 19]] = EOT
    none = FillInTheMiddle(0.0, 0.5, EOT, PRE, MID, SUF)
    assert (none.transform(window, np.random.default_rng(0)) == window).all()
    x, y = NextToken().example(window, np.random.default_rng(0))
    assert (x == window[:-1]).all() and (y == window[1:]).all()


def test_fim_rate_is_the_fraction_of_documents():
    fim = FillInTheMiddle(0.5, 0.5, EOT, PRE, MID, SUF)
    rng = np.random.default_rng(1)
    window = np.tile(np.array([5, 6, 7, 8, EOT]), 400)
    outputs = [fim.transform(window, rng) for _ in range(5)]
    transformed = sum(int((out == PRE).sum()) for out in outputs)
    documents = sum(int((out == EOT).sum()) for out in outputs)  # those that fit the window
    assert 0.45 < transformed / documents < 0.55

