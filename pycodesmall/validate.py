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

from pycodesmall.syntax import EditorState, char_offset, compile_error, syntax_error

__all__ = ["validate", "Validation", "Problem"]

_NEWLINE = re.compile(r"\r\n|\r|\n")
_MID_LINE_END = re.compile(r"[^\r\n]*\S[^\r\n]*\Z")


@dataclass(frozen=True)
class Problem:
    """A pyflakes finding that the completion introduced. `kind` is pyflakes' class name, or
    "Unchecked" where pyflakes could not check the file."""

    kind: str
    message: str
    line: int  # 1-based, in prefix + completion + suffix
    column: int


@dataclass
class Validation:
    """text: what of the completion to show, cut at a line boundary where it had to be cut.

    valid: `text` adds no syntax error to its context: the file parses with it (or fails only
    where it failed anyway, further down), or `text` is a valid beginning whose continuation
    is still to come (`ends_open`). truncated: `text` is shorter than the completion.
    problems: pyflakes findings that `text` introduces (undefined names, unused imports, ...).
    """

    text: str
    valid: bool
    truncated: bool
    syntax_error: str | None = None
    problems: list[Problem] = field(default_factory=list)
    ends_open: bool = False

    @property
    def has_undefined_names(self) -> bool:
        return any(p.kind == "UndefinedName" for p in self.problems)


def validate(prefix: str, completion: str, suffix: str = "", *, cut_off: bool = False,
             line_cut: bool = False) -> Validation:
    """Check `completion` between `prefix` and `suffix`; cut it to what is valid.

    The completion is judged by itself, for files that are broken at the cursor as files in
    an editor are: it must add no error inside itself or right after it (a completion that
    fills an empty block makes it parse; an error may remain further down the suffix, no
    earlier than before). Tried first: the whole completion, then its cuts at line
    boundaries, longest first. Failing those, a valid beginning: a cut at a line boundary
    that goes on over the next lines (a block header, an open bracket) where the model went
    on to write them, or was stopped before it could: by the token cap (`cut_off`), when the
    whole completion may also stop mid-line where it can still go on on its line, or by a
    line limit at the line break after the completion (`line_cut`). A completion that ended
    on its own (end of document, end of block, a stop string) must be complete.
    `pycodesmall.api.validate_completion` says which from how generation ended.
    """
    state = EditorState(prefix, suffix)
    cuts = _line_cuts(completion)
    first_error = None
    for cut in cuts:
        candidate = completion[:cut]
        if state.fits(candidate):
            problem = _compile_problem(prefix, candidate, suffix)
            if problem is None:
                return Validation(candidate, True, cut < len(completion), first_error,
                                  _introduced_problems(prefix, candidate, suffix))
            first_error = first_error or problem
        elif first_error is None:
            error = syntax_error(prefix + candidate + suffix)
            first_error = None if error is None else f"{error.msg} (line {error.lineno})"
    for cut in cuts:
        candidate = completion[:cut]
        at_line_end = cut < len(completion) or line_cut or not _ends_mid_line(completion)
        if (at_line_end and (cut_off or line_cut or completion[cut:].strip())
                and state.ending(candidate) == "lines"):
            return Validation(candidate, True, cut < len(completion), first_error, ends_open=True)
    if cut_off and _ends_mid_line(completion) and state.ending(completion) in ("lines", "line"):
        return Validation(completion, True, False, first_error, ends_open=True)
    # Nothing survives: only an empty completion is trivially valid.
    return Validation("", not completion.strip(), bool(completion), first_error)


def _line_cuts(completion: str) -> list[int]:
    """The whole completion, then every non-empty cut just before a line break, longest first."""
    cuts = {len(completion)} | {m.start() for m in _NEWLINE.finditer(completion)}
    return sorted((c for c in cuts if c), reverse=True)


def _ends_mid_line(text: str) -> bool:
    """`text` stops inside a line: something other than indentation follows its last line break."""
    return _MID_LINE_END.search(text) is not None


def _compile_problem(prefix: str, candidate: str, suffix: str) -> str | None:
    """The compiler's error in `candidate` where the file parses with it (a misplaced
    `from __future__` import, `return` outside a function); errors elsewhere are not its."""
    source = prefix + candidate + suffix
    error = compile_error(source) if syntax_error(source) is None else None
    if error is None:
        return None
    at = char_offset(source, error.lineno, error.offset)
    inside = at is None or len(prefix) <= at <= len(prefix) + len(candidate)
    return f"{error.msg} (line {error.lineno})" if inside else None


class _Unchecked(Exception):
    """pyflakes cannot check this source; the message says why."""


def _pyflakes_messages(source: str) -> list:
    """pyflakes' findings in `source`, which parses. Raises `_Unchecked` where pyflakes cannot
    check it: source that does not compile (pyflakes asserts on a late `from __future__`
    import) or that nests deeper than its recursion can follow."""
    error = compile_error(source)
    if error is not None:
        raise _Unchecked(f"{error.msg} (line {error.lineno})")
    try:
        return pyflakes_checker.Checker(ast.parse(source), filename="<completion>").messages
    except RecursionError:
        raise _Unchecked("nested too deeply") from None


def _introduced_problems(prefix: str, completion: str, suffix: str) -> list[Problem]:
    """pyflakes findings present with the completion and absent without it (where the file
    cannot be checked without it, those on the completion's lines); where pyflakes cannot
    check the file with it, one "Unchecked" problem says so."""
    source = prefix + completion + suffix
    if not completion.strip() or syntax_error(source) is not None:
        return []  # nothing to check, or the file is broken further down
    first_line = prefix.count("\n") + 1
    try:
        after = _pyflakes_messages(source)
    except _Unchecked as why:
        return [Problem("Unchecked", f"pyflakes could not check this file: {why}", first_line, 0)]
    try:
        seen = Counter(_message_key(m) for m in _pyflakes_messages(prefix + suffix))
    except (_Unchecked, SyntaxError):
        last_line = first_line + completion.count("\n")
        after = [m for m in after if first_line <= m.lineno <= last_line]
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
