"""Fill-in-the-middle at inference is the training rearrangement of the same document."""

from __future__ import annotations

import random

import numpy as np

from model_fixtures import stdlib_sources
from pycodesmall.api import encode_request
from pycodesmall.tokenizer import transform
from pycodesmall.training.objectives import FillInTheMiddle


def _training_fim(tokenizer) -> FillInTheMiddle:
    return FillInTheMiddle(1.0, 0.0, tokenizer.eot_id, tokenizer.fim_prefix_id,
                           tokenizer.fim_middle_id, tokenizer.fim_suffix_id)


def _is_prompt_blank_line(prefix: str) -> bool:
    """A prefix whose last line holds only indentation is the cursor after Enter: the
    prompt encodes it as the start of a statement there, on purpose (`encode_prompt`)."""
    last = prefix.rsplit("\n", 1)[-1]
    return bool(last) and not last.strip()


def test_inference_ids_equal_the_training_rearrangement_at_random_cursors(tokenizer):
    """For documents cut at random token boundaries, with the middle still to write, the
    prompt `complete()` sends is exactly what training made of the whole document's ids."""
    rng = random.Random(0)
    documents = stdlib_sources("json")  # whole files: they parse, as every training file does
    objective, compared = _training_fim(tokenizer), 0
    for document in documents:
        encoded = transform(document, tokenizer.variant)  # what BPE sees in training
        ids = tokenizer.encode(document)
        starts = [start for start, _ in tokenizer._tokenizer.encode(encoded).offsets]
        for cursor in rng.sample(range(1, len(ids)), 30):
            prefix = tokenizer.decode(ids[:cursor])
            suffix = document[len(prefix):]
            if not document.startswith(prefix) or _is_prompt_blank_line(prefix):
                continue  # a cut inside a character's bytes is no cursor an editor has
            if tokenizer.decode(ids[cursor - 1:cursor]) == "":
                continue  # after a DEDENT: the same text cursor as before it, which is compared
            split = starts[cursor]
            if (tokenizer._ids(encoded[:split]) != ids[:cursor]
                    or tokenizer._ids(encoded[split:]) != ids[cursor:]):
                continue  # BPE merges across this cut: no text-level cursor gives these ids
            trained = objective.rearrange(np.array(ids), cursor, cursor, spm=True).tolist()
            assert encode_request(tokenizer, prefix, suffix, 10**6).ids == trained, (
                tokenizer.variant, prefix[-40:], suffix[:40])
            compared += 1
    assert compared > 40


def test_the_suffix_keeps_the_prefix_block_stack(indent_tokenizer):
    """A suffix inside a function body has no INDENT of its own: the prefix opened the block."""
    prefix, suffix = "def f(x):\n    y = ", "x + 1\n    return y\n"
    prefix_ids, suffix_ids, state = indent_tokenizer.encode_infill(prefix, suffix)
    alone = indent_tokenizer.encode(suffix)
    assert suffix_ids != alone
    assert indent_tokenizer.decode_continuation(suffix_ids, state) == suffix
