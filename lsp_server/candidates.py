"""From raw model output to the suggestions an editor shows: validated, cut, ranked.

Each candidate is checked between the prompt's prefix and suffix as `complete()` checks
it (`validate_completion`: one stopped by the line limit may end in a block header), cut to
its longest valid part, and dropped when nothing valid is left. Candidates that use names
defined nowhere rank below those that do not; then the model decides.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from pycodesmall import Completion
from pycodesmall.api import validate_completion

__all__ = ["Candidate", "rank_candidates"]


@dataclass(frozen=True)
class Candidate:
    """text: what to insert at the cursor. score: mean log-probability per generated token."""

    text: str
    score: float
    truncated: bool = False
    undefined_names: bool = False


def rank_candidates(prefix: str, suffix: str, completions: Iterable[Completion],
                    validate: bool = True) -> list[Candidate]:
    """Distinct, non-empty candidates, best first; only valid ones when `validate`."""
    best: dict[str, Candidate] = {}
    for completion in completions:
        score = completion.logprob / max(1, completion.tokens)
        if validate:
            check = validate_completion(prefix, completion, suffix)
            if not check.valid:
                continue
            candidate = Candidate(_trim_end(check.text, suffix), score, check.truncated,
                                  check.has_undefined_names)
        else:
            candidate = Candidate(_trim_end(completion.raw_text, suffix), score)
        if candidate.text.strip() and (candidate.text not in best
                                       or best[candidate.text].score < candidate.score):
            best[candidate.text] = candidate
    return sorted(best.values(), key=lambda c: (c.undefined_names, c.truncated, -c.score))


def _trim_end(text: str, suffix: str) -> str:
    """Without trailing blank space where the suffix starts a new line anyway (or is empty)."""
    if not suffix or suffix[0] in "\r\n":
        return text.rstrip()
    return text
