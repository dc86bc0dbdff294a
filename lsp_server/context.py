"""The prompt for a cursor in a file: the text before and after it, cut to fit the model.

When the file is too long, the window keeps the lines just before the cursor first (at
least `NEAREST_SHARE` of the budget), then, from further up, the headers of the definitions
that enclose the cursor and the imports (at most `IMPORT_SHARE`), then more of the lines
before the cursor, so the model sees the code it continues, which function it is writing
and which names exist.

Suggestions are validated in a larger context than the model sees (`Prompt.check`): a
window can start inside a docstring or a call, where `\"\"\"` or a stray argument looks valid.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property

__all__ = ["Prompt", "build_prompt", "check_context"]

NEAREST_SHARE = 0.5  # of the prefix budget, for the lines nearest the cursor, before anything else
IMPORT_SHARE = 0.25  # of the prefix budget, at most, for the imports
# The whole document is validated up to this many characters; past it, the definitions
# around the cursor (`check_context`). Validating costs tens of microseconds a line.
CHECK_CHARS = 12_000

_IMPORT = re.compile(r"(import|from)\s")
_HEADER = re.compile(r"(async\s+def|def|class)\s")
# A string or a comment, from where it begins to where it ends (or the end of the text):
# a triple-quoted string may span lines.
_STRINGS_AND_COMMENTS = re.compile(
    r"('\'\'|\"\"\")(?:\\[\s\S]|[\s\S])*?(?:\1|\Z)"
    r"|'(?:\\.|[^'\\\n])*'?"
    r'|"(?:\\.|[^"\\\n])*"?'
    r"|#[^\n]*")
_SIGNATURE_LINES = 100  # how far up a bracket is looked for; broken code may never close one


@dataclass(frozen=True)
class Prompt:
    """prefix/suffix: what the model sees before and after the cursor. cut: lines were left out.
    source/offset: the whole document and the cursor, for `check`."""

    prefix: str
    suffix: str
    cut: bool
    source: str = field(repr=False)
    offset: int

    @cached_property
    def check(self) -> tuple[str, str]:
        """The text before and after the cursor that suggestions are validated in.

        Computed on first use: a window that is measured and then cut again never needs it.
        """
        whole = self.source[:self.offset], self.source[self.offset:]
        return check_context(*whole) if self.cut else whole


def build_prompt(source: str, offset: int, max_prefix_chars: int, max_suffix_chars: int) -> Prompt:
    """The window around `offset` in `source`, at most about the given sizes, cut at line ends."""
    offset = max(0, min(offset, len(source)))
    prefix, suffix = source[:offset], source[offset:]
    cut = False
    if len(prefix) > max_prefix_chars:
        prefix, cut = _cut_prefix(prefix, max_prefix_chars), True
    if len(suffix) > max_suffix_chars:
        suffix, cut = _cut_suffix(suffix, max_suffix_chars), True
    return Prompt(prefix, suffix, cut, source, offset)


def check_context(prefix: str, suffix: str) -> tuple[str, str]:
    """The document's `prefix` and `suffix` at the cursor, cut for validation where it is long.

    Up to `CHECK_CHARS`: all of it. Longer: from the nearest `def`/`class` above the cursor
    no deeper than the code between (after the imports and enclosing headers) to the next
    one after the cursor no deeper than it: those lines start statements outside any string
    or bracket, so a suggestion breaks this part where it breaks the file. Where that is
    still longer, a window as the prompt's, of that size.
    """
    if len(prefix) + len(suffix) <= CHECK_CHARS:
        return prefix, suffix
    lines = prefix.split("\n")
    current = lines.pop()
    after = suffix.split("\n")
    in_string = _lines_in_strings(lines + [current + after[0]] + after[1:])
    start = _definition_start(lines, in_string)
    width = _width(lines[start]) if start < len(lines) else 0
    end = next((i for i in range(1, len(after)) if len(lines) + i not in in_string
                and _width(after[i]) <= width and _is_definition(after[i])), len(after))
    above = sorted({i for group in _imports(lines, in_string) + _enclosing_headers(lines, in_string)
                    for i in group if i < start})
    kept = [lines[i] for i in above] + lines[start:] + [current]
    kept_suffix = "\n".join(after[:end]) + ("\n" if end < len(after) else "")
    if sum(map(len, kept)) + len(kept_suffix) > CHECK_CHARS:
        return _cut_prefix(prefix, CHECK_CHARS * 3 // 4), _cut_suffix(suffix, CHECK_CHARS // 4)
    return "\n".join(kept), kept_suffix


def _cut_prefix(prefix: str, budget: int) -> str:
    """The lines nearest the cursor, enclosing headers, imports, then more of the nearest
    lines, in about `budget` chars; whole statements only, in the file's order."""
    lines = prefix.split("\n")
    current = lines.pop()  # the cursor's line, up to the cursor: always kept
    in_string = _lines_in_strings(lines)
    tail = _tail_start(lines, len(lines), int(budget * NEAREST_SHARE) - len(current))
    room = budget - len(current) - sum(len(lines[i]) + 1 for i in range(tail, len(lines)))
    kept: set[int] = set()
    shares = ((_enclosing_headers(lines, in_string), budget),
              (_imports(lines, in_string), budget * IMPORT_SHARE))
    for groups, limit in shares:
        spent = 0
        for group in groups:
            new = [i for i in group if i < tail and i not in kept]
            size = sum(len(lines[i]) + 1 for i in new)
            if size <= min(room, limit - spent):
                kept.update(new)
                room, spent = room - size, spent + size
    tail = _tail_start(lines, tail, room, kept)
    chosen = sorted(i for i in kept if i < tail) + list(range(tail, len(lines)))
    return "".join(lines[i] + "\n" for i in chosen) + current


def _cut_suffix(suffix: str, budget: int) -> str:
    """The lines of `suffix` that fit in `budget` chars."""
    end = suffix.rfind("\n", 0, budget)
    return suffix[: end + 1 if end >= 0 else 0]


def _tail_start(lines: list[str], start: int, room: int, kept: set[int] = frozenset()) -> int:
    """How far up from `start` the lines fit in `room` chars (lines in `kept` are paid for)."""
    while start > 0 and (start - 1 in kept or len(lines[start - 1]) + 1 <= room):
        start -= 1
        room -= 0 if start in kept else len(lines[start]) + 1
    return start


def _lines_in_strings(lines: list[str]) -> frozenset[int]:
    """The numbers of the lines that begin inside a string: the lines after the first of a
    triple-quoted one. A docstring's text at column 0 is neither a statement nor a dedent."""
    text = "\n".join(lines)
    inside: set[int] = set()
    line = position = 0
    for match in _STRINGS_AND_COMMENTS.finditer(text):
        line += text.count("\n", position, match.start())
        breaks = match.group(0).count("\n")
        inside.update(range(line + 1, line + breaks + 1))
        line, position = line + breaks, match.end()
    return frozenset(inside)


def _imports(lines: list[str], in_string: frozenset[int]) -> list[list[int]]:
    """Top-level import statements, each with the continuation lines of a parenthesised one."""
    found: list[list[int]] = []
    open_paren = False
    for number, line in enumerate(lines):
        if open_paren:
            found[-1].append(number)
        elif _IMPORT.match(line) and number not in in_string:
            found.append([number])
        else:
            continue
        open_paren = line.count("(") > line.count(")") or (open_paren and ")" not in line)
    return found


def _enclosing_headers(lines: list[str], in_string: frozenset[int]) -> list[list[int]]:
    """The `def`/`class` statements that enclose the end of `lines`, innermost first, each with
    its decorators and, where its signature goes over several lines, all of them."""
    found = []
    depth = None  # indentation of the shallowest statement seen so far, walking upwards
    number = len(lines)
    while number > 0:
        number -= 1
        stripped = lines[number].lstrip()
        if not stripped or stripped.startswith("#") or number in in_string:
            continue
        if depth is not None and _width(lines[number]) >= depth:
            continue
        end, number = number, _statement_start(lines, number)
        depth = _width(lines[number])
        if _HEADER.match(lines[number].lstrip()):
            first = number
            while first > 0 and lines[first - 1].lstrip().startswith("@"):
                first -= 1
            found.append(list(range(first, end + 1)))
        if depth == 0:
            break
    return found


def _definition_start(lines: list[str], in_string: frozenset[int]) -> int:
    """The nearest `def`/`class` line above the end of `lines` (at its decorators) that is no
    deeper than any line between: a sibling or an enclosing definition; 0 where there is none."""
    depth = None
    for number in range(len(lines) - 1, -1, -1):
        stripped = lines[number].lstrip()
        if not stripped or stripped.startswith("#") or number in in_string:
            continue
        depth = _width(lines[number]) if depth is None else min(depth, _width(lines[number]))
        if _width(lines[number]) == depth and _is_definition(stripped):
            while number > 0 and lines[number - 1].lstrip().startswith("@"):
                number -= 1
            return number
    return 0


def _is_definition(line: str) -> bool:
    stripped = line.lstrip()
    return stripped.startswith("@") or _HEADER.match(stripped) is not None


def _statement_start(lines: list[str], number: int) -> int:
    """The line where the statement ending on `lines[number]` starts: as far up as the brackets
    it closes were opened (strings and comments aside); `number` where none is found."""
    depth = 0
    for above in range(number, max(-1, number - _SIGNATURE_LINES), -1):
        code = _STRINGS_AND_COMMENTS.sub("", lines[above])
        depth += sum(map(code.count, ")]}")) - sum(map(code.count, "([{"))
        if depth <= 0:
            return above
    return number


def _width(line: str) -> int:
    return len(line) - len(line.lstrip())
