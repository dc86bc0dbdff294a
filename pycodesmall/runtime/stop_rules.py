"""Python-aware rules that end a completion, applied to its decoded text as it arrives.

`StopRules` says when a completion is over. The engine feeds each new piece of a
sequence's text to that sequence's `StopWatch` (from `StopRules.watch`), which reads every
character once, so the work per token does not grow with the completion. Rules never see
token ids.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field

from pycodesmall.errors import ConfigError

__all__ = ["StopRules", "StopWatch"]

_INDENT_CHARS = " \t\f"
_TRIMMED_CHARS = " \t\f\r\n"  # dropped from the end of a completion cut at a block end
_CONTINUING_KEYWORDS = frozenset({"else", "elif", "except", "finally"})


@dataclass(frozen=True)
class StopRules:
    """When to end a completion.

    line_prefix: the text of the prompt's last line, up to the cursor. The rules know no
    more of the prompt: they take that line to begin outside brackets and strings, and to
    follow a line break (or to be the file's first line).

    block_end: stop at the end of the block the cursor is in, that is before the first line
    that begins a statement indented less than the cursor; lines inside brackets or strings
    and after a backslash are not statements. The cursor's indentation is that of its line;
    while that line holds nothing but whitespace (a prompt ending in a newline, as HumanEval's
    do), the whitespace the completion writes before its first statement counts too. A
    cursor at column 0 is in the module, which never ends: there the rule ends the first
    block the completion opens, before the first statement back at column 0 after an
    indented one, unless it goes on with the same statement (`else`, `elif`, `except`,
    `finally`). So "def f():\\n    return 1\\nx = 2" stops before "x = 2", while a run of
    top-level statements without a block goes on to another limit. The cut also drops the
    blank lines before that statement.

    max_lines: at most this many non-blank lines.

    stop_strings: cut where any of these begins. A match may begin before the cursor, in
    `line_prefix` or at the line break before it, as long as it ends in the completion: then
    the completion is cut at its start. So "\\ndef " also ends a completion that begins
    with "def " after a prompt that ends with a newline. A match wholly in the prompt does
    not count.
    """

    line_prefix: str = ""
    block_end: bool = False
    max_lines: int | None = None
    stop_strings: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        lines = self.max_lines
        if lines is not None and not (isinstance(lines, numbers.Integral) and not isinstance(lines, bool)
                                      and lines >= 1):
            raise ConfigError(f"max_lines must be an integer >= 1 or None, got {self.max_lines!r}")

    def watch(self) -> "StopWatch":
        """A checker for one sequence, to be fed its text piece by piece."""
        return StopWatch(self)

    def cut(self, text: str) -> int | None:
        """Where to cut the completion `text` if it is over, else None."""
        return self.watch().feed(text)


class StopWatch:
    """`StopRules` applied to one completion whose text arrives in pieces."""

    def __init__(self, rules: StopRules):
        self.rules = rules
        self._strings = tuple(s for s in rules.stop_strings if s)
        self._lookback = max((len(s) for s in self._strings), default=1) - 1
        # The text just before the next piece, prompt included; positions count from the
        # completion's start, so the prompt's end of line lies at negative positions.
        self._recent = _tail("\n" + rules.line_prefix, self._lookback)
        self._position = 0
        self._lines = _LineRules(rules) if rules.block_end or rules.max_lines is not None else None
        self.rule: str | None = None

    def feed(self, piece: str) -> int | None:
        """Read the next `piece` of the completion; where to cut it if it is over, else None.

        Once it returned a cut, the watch is done: feed it nothing more, and `rule` names
        the rule that made it: "block_end", "max_lines" or "stop_string". The rule that fires
        at the earliest character wins (at the same character, the earlier cut; at the same
        cut, the first of those names), so the cut does not depend on how the text is split
        into pieces.
        """
        fired = [f for f in (self._stop_string_cut(piece),
                             self._lines.feed(piece, self._position) if self._lines else None)
                 if f is not None]
        self._position += len(piece)
        if not fired:
            return None
        _, cut, self.rule = min(fired)
        return cut

    def _stop_string_cut(self, piece: str) -> tuple[int, int, str] | None:
        """(position of the character that completes a match, cut, "stop_string") for the
        match that ends first in `piece`, if any."""
        if not self._strings:
            return None
        window = self._recent + piece
        window_start = self._position - len(self._recent)
        found = None
        for string in self._strings:
            # Only matches that end in the new piece: earlier ones were seen or lie in the prompt.
            index = window.find(string, max(0, len(self._recent) - len(string) + 1))
            if index >= 0:
                match = (window_start + index + len(string) - 1, max(0, window_start + index),
                         "stop_string")
                found = match if found is None else min(found, match)
        self._recent = _tail(window, self._lookback)
        return found


def _tail(text: str, length: int) -> str:
    return text[max(0, len(text) - length):] if length else ""


class _LineRules:
    """Block end and line count, one character at a time (see `StopRules`)."""

    def __init__(self, rules: StopRules):
        self.block_end, self.max_lines = rules.block_end, rules.max_lines
        self.lexer = _PythonLexer()
        self.cursor_indent: int | None = None  # known once the cursor's line has a statement
        self.opened = False  # a statement indented deeper than a column-0 cursor was written
        self.content_lines = 0
        self.first_word: str | None = None  # of a column-0 statement that may end the block
        self.word_cut = 0
        self.cursor_line = True
        self._new_line(logical=True)
        for ch in rules.line_prefix:
            self._read(ch, 0)
        self.writes = False  # only the completion's own text makes a line count
        self.kept_end = 0  # where a cut before the current line ends, blank lines dropped

    def _new_line(self, logical: bool) -> None:
        self.logical = logical  # the line begins a statement
        self.indent = 0
        self.in_indent = True  # still reading the line's leading spaces, tabs and form feeds
        self.blank = True
        self.writes = False

    def feed(self, piece: str, position: int) -> tuple[int, int, str] | None:
        """(position of the character that fired a rule, cut, the rule's name), if one fired
        in `piece`."""
        for offset, ch in enumerate(piece):
            fired = self._read(ch, position + offset)
            if fired is not None:
                return position + offset, *fired
        return None

    def _read(self, ch: str, position: int) -> tuple[int, str] | None:
        """Take the character at `position`; (cut, the rule's name) if a rule fires."""
        if self.first_word is not None:
            word = self.first_word + ch if ch.isalnum() or ch == "_" else None
            if word is not None and any(k.startswith(word) for k in _CONTINUING_KEYWORDS):
                self.first_word = word
            else:
                continues = word is None and self.first_word in _CONTINUING_KEYWORDS
                self.first_word = None
                if not continues:
                    return self.word_cut, "block_end"
        cut = rule = None
        if ch == "\n":
            cut, rule = self._end_line(position), "max_lines"
            self.cursor_line = False
            self._new_line(logical=not self.lexer.continues_line())
        elif ch in _INDENT_CHARS and self.in_indent:
            self.indent = (self.indent // 8 + 1) * 8 if ch == "\t" else self.indent + (ch == " ")
        else:
            self.in_indent = False
            if not ch.isspace():
                if self.blank:
                    self.blank = False
                    cut, rule = self._statement_starts(ch), "block_end"
                self.writes = True
        self.lexer.read(ch)
        if ch not in _TRIMMED_CHARS:
            self.kept_end = position + 1
        return None if cut is None else (cut, rule)

    def _statement_starts(self, ch: str) -> int | None:
        """The current line's first non-blank character `ch` arrived: is the block over?"""
        if self.cursor_indent is None:
            self.cursor_indent = self.indent
        if self.cursor_line or not (self.block_end and self.logical) or ch == "#":
            return None  # a comment line is no statement, wherever it is indented
        if self.indent < self.cursor_indent:
            return self.kept_end
        if self.cursor_indent == 0:
            if self.indent > 0:
                self.opened = True
            elif self.opened:  # back at column 0: the statement's first word decides
                if not any(k.startswith(ch) for k in _CONTINUING_KEYWORDS):
                    return self.kept_end
                self.first_word, self.word_cut = ch, self.kept_end
        return None

    def _end_line(self, position: int) -> int | None:
        if self.cursor_line and self.cursor_indent is None:
            self.cursor_indent = self.indent  # the cursor's line stayed blank
        if self.writes:
            self.content_lines += 1
            if self.max_lines is not None and self.content_lines >= self.max_lines:
                return position
        return None


class _PythonLexer:
    """Just enough of Python's tokenizer to tell whether a line break ends a statement:
    open brackets, strings (with their escapes and triple quotes), comments, backslashes."""

    def __init__(self):
        self.depth = 0  # open brackets
        self.quote = ""  # the quote that closes the current string ("'", '"', "'''", '"""')
        self.opening = 0  # quote characters just read outside a string: 1, or 2 for '' / ''' so far
        self.closing = 0  # quote characters just read inside a triple-quoted string
        self.escaped = False  # the next character of the string is escaped
        self.comment = False
        self.backslash = False

    def continues_line(self) -> bool:
        """Whether a line break now would continue the statement on the next line."""
        return self.depth > 0 or len(self.quote) == 3 or self.backslash or self.escaped

    def read(self, ch: str) -> None:
        if ch == "\r" and (self.backslash or self.escaped):
            return  # a backslash joins lines before a CRLF line break as before an LF
        self.backslash = False
        if self.opening:
            self._read_opening(ch)
        elif self.quote:
            self._read_string(ch)
        elif self.comment:
            self.comment = ch != "\n"
        elif ch in "'\"":
            self.quote, self.opening = ch, 1
        elif ch == "#":
            self.comment = True
        elif ch == "\\":
            self.backslash = True
        elif ch in "([{":
            self.depth += 1
        elif ch in ")]}":
            self.depth = max(0, self.depth - 1)

    def _read_opening(self, ch: str) -> None:
        if ch == self.quote:
            self.opening += 1
            if self.opening == 3:
                self.quote, self.opening = ch * 3, 0
            return
        if self.opening == 2:  # an empty string: back in code
            self.quote, self.opening = "", 0
            self.read(ch)
            return
        self.opening = 0  # the string's first character
        self._read_string(ch)

    def _read_string(self, ch: str) -> None:
        if self.escaped:
            self.escaped = False
        elif ch == "\\":
            self.escaped, self.closing = True, 0
        elif len(self.quote) == 1:
            if ch == self.quote or ch == "\n":  # a line break ends an unterminated string
                self.quote = ""
        elif ch == self.quote[0]:
            self.closing += 1
            if self.closing == 3:
                self.quote, self.closing = "", 0
        else:
            self.closing = 0
