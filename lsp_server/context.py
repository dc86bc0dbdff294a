"""The prompt for a cursor in a file: the text before and after it, cut to fit the model.

When the file is too long, the window keeps the lines just before the cursor and, from
further up, the imports and the headers of the definitions that enclose the cursor, so the
model still sees which names exist and which function it is writing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Prompt", "build_prompt"]

_IMPORT = re.compile(r"(import|from)\s")
_HEADER = re.compile(r"(async\s+def|def|class)\s")


@dataclass(frozen=True)
class Prompt:
    """prefix/suffix: what the model sees before and after the cursor. cut: lines were left out."""

    prefix: str
    suffix: str
    cut: bool = False


def build_prompt(source: str, offset: int, max_prefix_chars: int, max_suffix_chars: int) -> Prompt:
    """The window around `offset` in `source`, at most about the given sizes, cut at line ends."""
    offset = max(0, min(offset, len(source)))
    prefix, suffix = source[:offset], source[offset:]
    cut = False
    if len(prefix) > max_prefix_chars:
        prefix, cut = _cut_prefix(prefix, max_prefix_chars), True
    if len(suffix) > max_suffix_chars:
        end = suffix.rfind("\n", 0, max_suffix_chars)
        suffix, cut = suffix[: end + 1 if end >= 0 else 0], True
    return Prompt(prefix, suffix, cut)


def _cut_prefix(prefix: str, budget: int) -> str:
    """Imports, enclosing headers, then as many of the last lines as fit in `budget` chars."""
    lines = prefix.split("\n")
    current = lines.pop()  # the cursor's line, up to the cursor: always kept
    kept = _imports(lines) | _enclosing_headers(lines)
    room = budget - len(current) - sum(len(lines[i]) + 1 for i in kept)
    tail_start = len(lines)
    while tail_start > 0 and len(lines[tail_start - 1]) + 1 <= room:
        tail_start -= 1
        room -= len(lines[tail_start]) + 1
    chosen = sorted(i for i in kept if i < tail_start) + list(range(tail_start, len(lines)))
    return "".join(lines[i] + "\n" for i in chosen) + current


def _imports(lines: list[str]) -> set[int]:
    """Top-level import statements, with the continuation lines of parenthesised ones."""
    found, open_paren = set(), False
    for number, line in enumerate(lines):
        if open_paren or _IMPORT.match(line):
            found.add(number)
            open_paren = line.count("(") > line.count(")") or (open_paren and ")" not in line)
    return found


def _enclosing_headers(lines: list[str]) -> set[int]:
    """`def`/`class` lines (and their decorators) that enclose the end of `lines`."""
    found: set[int] = set()
    depth = None  # indentation of the shallowest line seen so far, walking upwards
    for number in range(len(lines) - 1, -1, -1):
        stripped = lines[number].lstrip()
        if not stripped or stripped.startswith("#"):
            continue
        width = len(lines[number]) - len(stripped)
        if depth is not None and width >= depth:
            continue
        depth = width
        if _HEADER.match(stripped):
            found.add(number)
            above = number - 1
            while above >= 0 and lines[above].lstrip().startswith("@"):
                found.add(above)
                above -= 1
        if width == 0:
            break
    return found
