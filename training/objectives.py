"""Training objectives: how a window of corpus tokens becomes (inputs, targets).

Every objective has the same interface, `example(window, rng) -> (inputs, targets)`: it takes
`block_size + 1` token ids straight from the shards and returns two `block_size` arrays; a
target of `IGNORE_INDEX` is left out of the loss. The loop trains with cross-entropy on
the targets and knows nothing else about the objective, so the study can add further
objectives (masked function bodies, docstring-to-code) as new classes here.

Fill-in-the-middle (Bavarian et al. 2022, "Efficient Training of Language Models to Fill in
the Middle") is applied per document: the window is split at end-of-document tokens, and
each document, with probability `rate`, is cut at two random *token* boundaries into
prefix, middle and suffix and rearranged as

    PSM:  <fim_prefix> prefix <fim_suffix> suffix <fim_middle> middle
    SPM:  <fim_prefix> <fim_suffix> suffix <fim_middle> prefix middle

(the SPM form is the paper's variant whose prefix and middle stay contiguous). The
document's end-of-document token, when it lies in the window, follows the middle, so the
model learns to stop a middle with it. Each rearranged document is 3 tokens longer; the
window is cut back to its length. Splitting at token boundaries needs no re-tokenization
(the shards hold ids only); with the `indent` tokenizer the suffix therefore keeps the
indentation markers it has in the full document, relative to the indentation where the
middle ends.
"""

from __future__ import annotations

import numpy as np

from pycodesmall.tokenizer import PythonTokenizer
from pycodesmall.training.train_config import ObjectiveSection

__all__ = ["IGNORE_INDEX", "Objective", "NextToken", "FillInTheMiddle", "build_objective"]

IGNORE_INDEX = -100  # F.cross_entropy's default ignore_index


class Objective:
    """Base class: next-token prediction over `transform(window)`."""

    def example(self, window: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        tokens = self.transform(window.astype(np.int64), rng)
        return tokens[:-1], tokens[1:]

    def transform(self, window: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """A rearranged window of the same length; the base objective leaves it as is."""
        return window


class NextToken(Objective):
    """Plain causal language modelling."""


class FillInTheMiddle(Objective):
    """Document-level FIM with a mix of PSM and SPM orderings (see the module docstring)."""

    def __init__(self, rate: float, spm_rate: float, eot_id: int, prefix_id: int,
                 middle_id: int, suffix_id: int):
        self.rate, self.spm_rate = rate, spm_rate
        self.eot_id, self.prefix_id, self.middle_id, self.suffix_id = eot_id, prefix_id, middle_id, suffix_id

    def transform(self, window: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        pieces, start = [], 0
        for end in [*np.flatnonzero(window == self.eot_id), len(window)]:
            document = window[start:end]
            if len(document) and rng.random() < self.rate:
                lo, hi = np.sort(rng.integers(0, len(document) + 1, size=2))
                document = self.rearrange(document, lo, hi, spm=rng.random() < self.spm_rate)
            pieces.append(document)
            pieces.append(window[end:end + 1])  # the end-of-document token, if any
            start = end + 1
        return np.concatenate(pieces)[:len(window)]

    def rearrange(self, document: np.ndarray, lo: int, hi: int, spm: bool) -> np.ndarray:
        """`document` cut into prefix [:lo], middle [lo:hi], suffix [hi:], in FIM order."""
        prefix, middle, suffix = document[:lo], document[lo:hi], document[hi:]
        p, m, s = ([t] for t in (self.prefix_id, self.middle_id, self.suffix_id))
        if spm:
            return np.concatenate([p, s, suffix, m, prefix, middle]).astype(document.dtype)
        return np.concatenate([p, prefix, s, suffix, m, middle]).astype(document.dtype)


def build_objective(section: ObjectiveSection, tokenizer: PythonTokenizer) -> Objective:
    """The training objective a config asks for."""
    if section.fim_rate == 0:
        return NextToken()
    return FillInTheMiddle(section.fim_rate, section.fim_spm_rate, tokenizer.eot_id,
                           tokenizer.fim_prefix_id, tokenizer.fim_middle_id, tokenizer.fim_suffix_id)
