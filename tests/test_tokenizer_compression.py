"""benchmarks/tokenizer_compression.py: per-file accounting and the paired bootstrap."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import tokenizer_compression as bench  # noqa: E402

from pycodesmall import indentation  # noqa: E402
from pycodesmall.tokenizer import transform  # noqa: E402


def test_counts_are_encode_ids_and_markers(tokenizer, training_texts, tmp_path):
    tokenizer.save(tmp_path)
    config = {"variant": tokenizer.variant, "vocab_size": tokenizer.vocab_size}
    (tmp_path / "tokenizer_report.json").write_text(json.dumps({"config": config}))
    entry = bench.load_entry(tmp_path)
    texts = training_texts[:5]
    tokens, markers = bench.count_tokens(entry, texts)
    assert entry.name == f"{tokenizer.variant}-{tokenizer.vocab_size}"
    assert tokens.tolist() == [len(tokenizer.encode(t)) for t in texts]
    # Each marker is one added token: its count is its count in the text BPE sees.
    encoded = "".join(transform(t, tokenizer.variant) for t in texts)
    assert len(markers) == {"bpe": 0, "indent": 4, "ast": len(indentation.MARKERS)}[tokenizer.variant]
    assert markers == {name: encoded.count(m) for m, name in bench.MARKER_NAMES.items() if name in markers}


def test_ratio_of_sums_is_byte_weighted_and_paired():
    weights = bench.resample_weights(4, 500, np.random.default_rng(0))
    assert weights.sum(axis=1).tolist() == [4] * 500
    nbytes, tokens = np.array([100, 10, 10, 10]), np.array([10, 10, 10, 10])
    ratio = bench.ratio_of_sums(nbytes, tokens, weights)
    assert ratio["value"] == 130 / 40
    assert ratio["ci95"][0] < ratio["value"] < ratio["ci95"][1]
    same = bench.ratio_of_sums(tokens, tokens, weights)
    assert same == {"value": 1.0, "ci95": [1.0, 1.0]}
