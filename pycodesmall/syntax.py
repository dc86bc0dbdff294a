"""What Python's own parser says about a file being edited, where it is broken at the cursor.

Two questions that `validate` asks of a completion: does the file, with it, fail only where
it failed before (`fits`), and can the text up to its end still go on into valid Python
(`ending`)? Both answer with the interpreter's parser, so they agree with what runs.
"""

from __future__ import annotations

import ast
import codeop
import re
import warnings

__all__ = ["syntax_error", "compile_error", "ending", "char_offset", "EditorState"]

_NEWLINE = re.compile(r"\r\n|\r|\n")
# What the parser can refuse with besides a SyntaxError: null bytes, deep nesting.
_PARSER_FAILURES = (ValueError, OverflowError, RecursionError, MemoryError)


def syntax_error(source: str) -> SyntaxError | None:
    """The parser's first error in `source`, or None where it parses."""
    try:
        compile(source, "<completion>", "exec", flags=ast.PyCF_ONLY_AST, dont_inherit=True)
    except SyntaxError as e:
        return e
    except _PARSER_FAILURES as e:
        return SyntaxError(str(e))  # no place: never located inside or outside a completion
    return None


def compile_error(source: str) -> SyntaxError | None:
    """The error that only compiling finds in source that parses: `return` outside a
    function, a late `from __future__` import, `nonlocal` at module level, ..."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # invalid escape sequences and the like
            compile(source, "<completion>", "exec", dont_inherit=True)
    except SyntaxError as e:
        return e
    except _PARSER_FAILURES as e:
        return SyntaxError(str(e))
    return None


def ending(source: str) -> str:
    """How `source` ends: "complete" (it parses); "lines" (it goes on over the next lines:
    a bracket left open, a block header whose body comes next, a triple-quoted string: the
    interactive interpreter's "incomplete input"); "line" (it goes on on the same line only:
    `x = a +`, `if x`, an open string on the last line); "broken" (an error before the end,
    which nothing written after it can repair)."""
    error = syntax_error(source)
    if error is None:
        return "complete"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if codeop.compile_command(source, "<completion>", "exec") is None:
                return "lines"
    except SyntaxError as e:
        error = e
    except _PARSER_FAILURES:
        return "broken"
    at = char_offset(source, error.lineno, error.offset)
    if at is None:
        return "broken"
    last_line = max((m.end() for m in _NEWLINE.finditer(source)), default=0)
    if at >= len(source.rstrip()) or (
            error.msg.startswith("unterminated string literal") and at >= last_line):
        return "line"
    return "broken"


def char_offset(source: str, lineno: int | None, col: int | None) -> int | None:
    """The character offset of a parser position (1-based line and column), None if none."""
    if lineno is None:
        return None
    starts = [0] + [m.end() for m in _NEWLINE.finditer(source)]
    if lineno - 1 >= len(starts):
        return len(source)
    return min(starts[lineno - 1] + max((col or 1) - 1, 0), len(source))


class EditorState:
    """A file split at the cursor into `prefix` and `suffix`, as the parser sees it.

    A completion is judged after the part of the prefix that is a valid beginning: all of
    it, or, where an earlier line is broken, from the first top-level line after the break
    from which it is one. Where the break is in the statement being written, nothing before
    the cursor's line can be trusted: the completion is judged on that line alone, dedented,
    and the suffix is not checked (`suffix` is None).
    """

    def __init__(self, prefix: str, suffix: str):
        start = _valid_beginning_start(prefix)
        self.indent = ""
        if start is None:
            line = prefix[max((m.end() for m in _NEWLINE.finditer(prefix)), default=0):]
            self.indent = line[:len(line) - len(line.lstrip())]
            self.prefix, self.suffix = line[len(self.indent):], None
            self.error = self._error_at = self._next_code = None
            return
        self.prefix, self.suffix = prefix[start:], suffix
        self.error = syntax_error(self.prefix + suffix)
        self._error_at = None if self.error is None else char_offset(
            self.prefix + suffix, self.error.lineno, self.error.offset)
        self._next_code = _next_code(suffix)

    def fits(self, text: str) -> bool:
        """`text` at the cursor adds no syntax error: the file parses with it, or fails only
        in the suffix, past the code that follows the cursor, and no earlier than before."""
        if self.suffix is None:
            return self.ending(text) == "complete"
        source = self.prefix + text + self.suffix
        error = syntax_error(source)
        if error is None:
            return True
        if self.error is None:
            return False
        at = char_offset(source, error.lineno, error.offset)
        in_suffix = None if at is None else at - len(self.prefix) - len(text)
        if in_suffix is None or self._next_code is None or in_suffix <= self._next_code[1]:
            return False  # inside the completion or right after it
        if isinstance(error, IndentationError) and in_suffix < self._next_code[2]:
            return False  # the line after the completion no longer fits its indentation
        before = self._error_at - len(self.prefix)
        return before < 0 or in_suffix >= before

    def ending(self, text: str) -> str:
        """`ending` of the judged prefix and `text`."""
        if self.suffix is None:
            lines = _NEWLINE.split(text)
            if any(line.strip() and not line.startswith(self.indent) for line in lines[1:]):
                return "broken"  # below the cursor's indentation: outside what can be judged
            text = "\n".join(lines[:1] + [line[len(self.indent):] for line in lines[1:]])
        return ending(self.prefix + text)


def _valid_beginning_start(prefix: str) -> int | None:
    """Where the prefix becomes a valid beginning: 0, or the start of a line at column 0
    after its last unrepairable error; None when there is none before the cursor."""
    start = 0
    while True:
        part = prefix[start:]
        if ending(part) != "broken":
            return start
        error = syntax_error(part)
        at = char_offset(part, error.lineno, error.offset) if error is not None else None
        if at is None:
            return None
        following = re.compile(r"^[^\s#)\]}]", re.M).search(part, _line_end(part, at))
        if following is None:
            return None
        start += following.start()


def _line_end(text: str, at: int) -> int:
    found = _NEWLINE.search(text, at)
    return len(text) if found is None else found.end()


def _next_code(suffix: str) -> tuple[int, int, int] | None:
    """The first line of code in the suffix: (its start, its first character, its end), as
    offsets in the suffix; None where only blank lines and comments follow."""
    starts = [0] + [m.end() for m in _NEWLINE.finditer(suffix)]
    for start in starts:
        found = _NEWLINE.search(suffix, start)
        end = len(suffix) if found is None else found.start()
        stripped = suffix[start:end].lstrip()
        if stripped and not stripped.startswith("#"):
            return start, end - len(stripped), end
    return None
