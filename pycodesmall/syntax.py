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
    return _ending(source)[0]


def _ending(source: str) -> tuple[str, SyntaxError | None]:
    """`ending` and the parser's error that decided it (None where `source` parses)."""
    error = syntax_error(source)
    if error is None:
        return "complete", None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if codeop.compile_command(source, "<completion>", "exec") is None:
                return ("broken" if _hides_an_error(source, error) else "lines"), error
    except SyntaxError as e:
        error = e
    except _PARSER_FAILURES:
        return "broken", error
    at = char_offset(source, error.lineno, error.offset)
    if at is None:
        return "broken", error
    last_line = max((m.end() for m in _NEWLINE.finditer(source)), default=0)
    if at >= len(source.rstrip()) or (
            error.msg.startswith("unterminated string literal") and at >= last_line):
        return ("broken" if _hides_an_error(source, error) else "line"), error
    return "broken", error


_CLOSERS = {"(": ")", "[": "]", "{": "}"}
_QUOTE = re.compile(r"""[A-Za-z]*('''|\"\"\"|'|")""")


def _hides_an_error(source: str, error: SyntaxError) -> bool:
    """An open string or bracket at the end of `source` keeps the parser from reporting an
    error before it (a parameter list that cannot be one, a bytes literal with an invalid
    escape): closing them, as any continuation must, shows an error on an earlier line than
    the one they open on, or in a string that was already closed. (An error on their own
    line may be the operand still to come: `f(a, *` closed is `f(a, *)`.)"""
    closed, quoted, first_line = source, False, error.lineno or 0
    for _ in range(8):
        if error.msg.endswith("was never closed") and error.msg[1:2] in _CLOSERS:
            closed += _CLOSERS[error.msg[1]]
        elif error.msg.startswith("unterminated"):  # a string, closed with its own quote
            at = char_offset(closed, error.lineno, error.offset)
            quote = None if at is None else _QUOTE.match(closed, at)
            if quote is None:
                return False
            closed, quoted = closed + quote.group(1), True
        else:
            break
        error = syntax_error(closed)
        if error is None:
            return False
    if error.lineno is None or error.msg.startswith("f-string"):
        return False
    if error.msg.startswith(("(value error)", "(unicode error)")) and not quoted:
        return True  # a string closed before the end: nothing to come can change it
    return error.lineno < first_line


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
        cursor_line = prefix[max((m.end() for m in _NEWLINE.finditer(prefix)), default=0):]
        self._block_end = _block_end(suffix, _indent_width(cursor_line))

    def fits(self, text: str) -> bool:
        """`text` at the cursor adds no syntax error: the file parses with it, or fails only
        where the file failed before, or further down: past the rest of the cursor's block
        (the suffix up to its first line no deeper than the cursor's, that line included, as
        an `except:` or `else:` that goes on the statement at the cursor), no earlier than
        before, and not in a string that the completion left open."""
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
        if in_suffix == before:
            return True  # the suffix's own error, where it was
        if error.msg.startswith("unterminated"):
            return False  # the suffix's quotes pair up anew: a string the completion opened
        if in_suffix < self._block_end and not error.msg.endswith("was never closed"):
            return False  # the cursor's block no longer parses (a bracket the suffix left
            # open is its own, wherever the completion ends)
        return before < 0 or in_suffix >= before

    def ending(self, text: str) -> str:
        """`ending` of the judged prefix and `text`; "broken" also where the text stops in a
        statement that cannot open a block while the suffix goes on deeper (a bracket or a
        docstring left open where the next line is indented as a body)."""
        if self.suffix is None:
            lines = _NEWLINE.split(text)
            if any(line.strip() and not line.startswith(self.indent) for line in lines[1:]):
                return "broken"  # below the cursor's indentation: outside what can be judged
            text = "\n".join(lines[:1] + [line[len(self.indent):] for line in lines[1:]])
            return ending(self.prefix + text)
        source = self.prefix + text
        verdict, error = _ending(source)
        if verdict in ("lines", "line") and self._next_code is not None:
            line = _open_line(source, error)
            next_width = _indent_width(self.suffix[self._next_code[0]:self._next_code[1]])
            if (line is not None and next_width > _indent_width(line)
                    and line.split(None, 1)[0].rstrip(":") not in _BLOCK_KEYWORDS):
                return "broken"
        return verdict


_BLOCK_KEYWORDS = {"if", "elif", "else", "while", "for", "with", "def", "class", "try",
                   "except", "finally", "async", "match", "case"}


def _indent_width(line: str) -> int:
    return len(line) - len(line.lstrip(" \t"))


def _open_line(source: str, error: SyntaxError) -> str | None:
    """The line where the statement left open at the end of `source` starts, as far as the
    parser's error tells: the line of the open bracket or string, else the last line; None
    where the open part is a block header whose body comes next."""
    if error.msg.startswith(("expected an indented block", "expected 'except' or 'finally'")):
        return None
    lines = _NEWLINE.split(source)
    if error.msg.endswith("was never closed") or error.msg.startswith("unterminated"):
        if error.lineno is not None and 0 < error.lineno <= len(lines):
            return lines[error.lineno - 1] if lines[error.lineno - 1].strip() else None
    last = next((line for line in reversed(lines) if line.strip()), None)
    return last


def _block_end(suffix: str, width: int) -> int:
    """The end of the suffix's first line of code no deeper than `width` (the end of the
    block the cursor is in, and the line that goes on or follows it); the suffix's length
    where there is none."""
    for start in [0] + [m.end() for m in _NEWLINE.finditer(suffix)]:
        found = _NEWLINE.search(suffix, start)
        end = len(suffix) if found is None else found.start()
        line = suffix[start:end]
        stripped = line.lstrip(" \t")
        if stripped and not stripped.startswith("#") and len(line) - len(stripped) <= width:
            return end
    return len(suffix)


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
