"""`validate`: is a completion valid Python in its context, and what does it break?

Used by `complete()`, the language server and the evaluation alike, so that a completion
shown to a user, served to an editor or scored in the study passes the same check.
"""

from __future__ import annotations

import ast
import re
from collections import Counter
from dataclasses import dataclass, field

from pyflakes import checker as pyflakes_checker

__all__ = ["validate", "Validation", "Problem"]

_NEWLINE = re.compile(r"\r\n|\r|\n")


@dataclass(frozen=True)
class Problem:
    """A pyflakes finding that the completion introduced. `kind` is pyflakes' class name."""

    kind: str
    message: str
    line: int  # 1-based, in prefix + completion + suffix
    column: int


@dataclass
class Validation:
    """text: the completion cut to its longest valid prefix at a line boundary.

    valid: `text` parses in context (or adds no syntax error that was not there before).
    truncated: `text` is shorter than the completion. problems: pyflakes findings that
    `text` introduces (undefined names, unused imports, ...).
    """

    text: str
    valid: bool
    truncated: bool
    syntax_error: str | None = None
    problems: list[Problem] = field(default_factory=list)

    @property
    def has_undefined_names(self) -> bool:
        return any(p.kind == "UndefinedName" for p in self.problems)


def validate(prefix: str, completion: str, suffix: str = "") -> Validation:
    """Check `completion` between `prefix` and `suffix`; cut it to what is valid.

    Where the file parses without the completion, the completion must keep it parsing. Where
    it did not parse before (a prompt that ends in an open block, a broken line further
    down), the completion must not add a syntax error of its own: the first error must stay
    where it was, or move into the suffix no earlier than before. Candidates are tried from the whole completion down to single lines.
    """
    before_error = _first_syntax_error(prefix + suffix)
    before_region = None if before_error is None else _region(
        prefix + suffix, before_error, len(prefix), 0)
    first_error = None
    for cut in _line_cuts(completion):
        candidate = completion[:cut]
        source = prefix + candidate + suffix
        error = _first_syntax_error(source)
        if error is not None and first_error is None:
            first_error = f"{error.msg} (line {error.lineno})"
        ok = error is None or (
            before_region is not None
            and _no_new_error(before_region, _region(source, error, len(prefix), len(candidate)),
                              suffix))
        if ok:
            problems = _introduced_problems(prefix, candidate, suffix, error is None)
            return Validation(candidate, True, cut < len(completion),
                              None if cut == len(completion) else first_error, problems)
    # Nothing survives: only an empty completion is trivially valid.
    return Validation("", not completion.strip(), bool(completion), first_error)


def _line_cuts(completion: str) -> list[int]:
    """The whole completion, then every non-empty cut just before a line break, longest first."""
    cuts = {len(completion)} | {m.start() for m in _NEWLINE.finditer(completion)}
    return sorted((c for c in cuts if c), reverse=True)


def _first_syntax_error(source: str) -> SyntaxError | None:
    try:
        compile(source, "<completion>", "exec", flags=ast.PyCF_ONLY_AST, dont_inherit=True)
    except SyntaxError as e:
        return e
    except (ValueError, RecursionError, MemoryError) as e:  # null bytes, deep nesting
        return SyntaxError(str(e))
    return None


def _region(source: str, error: SyntaxError, prefix_len: int, completion_len: int):
    """Where `error` lies: ("prefix", offset) or ("suffix", offset from the suffix start)."""
    offset = _char_offset(source, error.lineno, error.offset)
    if offset is None:
        return ("unknown", error.msg)
    if offset < prefix_len:
        return ("prefix", offset, error.msg)
    if offset < prefix_len + completion_len:
        return ("completion", offset - prefix_len, error.msg)
    return ("suffix", offset - prefix_len - completion_len, error.msg)


def _no_new_error(before: tuple, after: tuple, suffix: str) -> bool:
    if after == before:
        return True
    # At real code of the suffix, no earlier than before: the completion only uncovered a
    # later error. An error at the end of the file is the completion's (an open block).
    return (after[0] == "suffix" and bool(suffix[after[1]:].strip())
            and (before[0] != "suffix" or after[1] >= before[1]))


def _char_offset(source: str, lineno: int | None, col: int | None) -> int | None:
    if lineno is None:
        return None
    starts = [0] + [m.end() for m in _NEWLINE.finditer(source)]
    if lineno - 1 >= len(starts):
        return len(source)
    return min(starts[lineno - 1] + max((col or 1) - 1, 0), len(source))


def _pyflakes_messages(source: str):
    tree = ast.parse(source)
    return pyflakes_checker.Checker(tree, filename="<completion>").messages


def _introduced_problems(prefix: str, completion: str, suffix: str, parses: bool) -> list[Problem]:
    """pyflakes findings present with the completion and absent without it."""
    if not parses or not completion.strip():
        return []
    after = _pyflakes_messages(prefix + completion + suffix)
    if _first_syntax_error(prefix + suffix) is None:
        seen = Counter(_message_key(m) for m in _pyflakes_messages(prefix + suffix))
    else:
        seen = Counter()
    problems = []
    for message in after:
        key = _message_key(message)
        if seen[key]:
            seen[key] -= 1
            continue
        problems.append(Problem(type(message).__name__, message.message % message.message_args,
                                message.lineno, message.col))
    return problems


def _message_key(message) -> tuple:
    return (type(message).__name__, message.message_args)
