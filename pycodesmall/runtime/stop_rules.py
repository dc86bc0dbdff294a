"""Python-aware rules that end a completion, applied to its decoded text.

Each rule looks at the completion so far and, when it should end, says where to cut it.
The engine calls `StopRules.cut` after every token; rules never see token ids.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["StopRules"]

_INDENT_CHARS = " \t\f"


def _indent_width(indent: str) -> int:
    # Python's own rule: tabs to the next multiple of 8. Only used to compare depths.
    width = 0
    for ch in indent:
        width = (width // 8 + 1) * 8 if ch == "\t" else width + (ch == " ")
    return width


@dataclass
class StopRules:
    """When to end a completion.

    line_prefix: the text of the prompt's last line (before the cursor), needed to know the
    indentation of the completion's first line.
    block_end: stop at a line that dedents below the completion's first non-blank line (the
    end of the block being written).
    max_lines: at most this many non-blank lines.
    stop_strings: cut at the first occurrence of any of these.
    """

    line_prefix: str = ""
    block_end: bool = False
    max_lines: int | None = None
    stop_strings: tuple[str, ...] = field(default_factory=tuple)

    def cut(self, text: str) -> int | None:
        """Where to cut `text` if the completion is over, else None."""
        cuts = [c for c in (self._stop_string_cut(text), self._line_cut(text)) if c is not None]
        return min(cuts) if cuts else None

    def _stop_string_cut(self, text: str) -> int | None:
        found = [i for i in (text.find(s) for s in self.stop_strings if s) if i >= 0]
        return min(found) if found else None

    def _line_cut(self, text: str) -> int | None:
        if not self.block_end and self.max_lines is None:
            return None
        lines = (self.line_prefix + text).split("\n")
        offset = -len(self.line_prefix)  # position of the current line's start within `text`
        reference = None
        content_lines = 0
        for number, line in enumerate(lines):
            complete = number < len(lines) - 1  # a line is judged once its newline arrived
            stripped = line.lstrip(_INDENT_CHARS)
            # The cursor's line counts only if the completion writes something on it.
            writes = stripped.strip() if number else line[len(self.line_prefix):].strip()
            if writes:
                width = _indent_width(line[: len(line) - len(stripped)])
                if reference is None:
                    reference = width
                elif self.block_end and width < reference:
                    return max(0, _trim_blank_tail(text, offset))
                if complete:
                    content_lines += 1
                    if self.max_lines is not None and content_lines >= self.max_lines:
                        return max(0, offset + len(line))
            offset += len(line) + 1
        return None


def _trim_blank_tail(text: str, end: int) -> int:
    """Cut position that also drops the newline and blank lines before `end`."""
    head = text[:end]
    return len(head.rstrip(" \t\f\r\n"))
