"""The lossless indentation transform behind the `indent` and `ast` tokenizer variants.

Python's block structure lives in leading whitespace, which byte-level BPE spends many
tokens on and which a model must count to close a block. The transform rewrites each line's
indentation relative to the enclosing block, the way Python's own tokenizer does:

    INDENT4          the line is 4 spaces deeper than the enclosing block
    INDENT + ws      the line is `ws` (any other run of spaces, tabs, form feeds) deeper
    DEDENT           leave one block; repeated until the enclosing indentation is a prefix
    (nothing)        same indentation as the enclosing block

Blank lines (only whitespace) are kept verbatim and do not change the block stack. The
transform needs no parser, so files that do not parse, tabs, mixed indentation, CRLF and
form feeds all round-trip byte for byte. Marker characters come from Unicode's private use
area; any such character already in the source is escaped, so `decode(encode(s)) == s` for
every string. It cannot be written as a `tokenizers` pipeline step (it keeps a stack), so it
lives here as one pure function pair used by both training and inference.

The `ast` variant additionally puts a statement-type marker (see `STATEMENT_TYPES`) in
front of each statement that begins a line and whose first token does not already say what
statement it is; the decoder drops those markers.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

__all__ = [
    "INDENT4", "INDENT", "DEDENT", "ESCAPE", "STATEMENT_TYPES", "MARKERS",
    "DecoderState", "StreamDecoder", "encode", "decode", "encode_prompt", "encode_continuation",
    "annotate_statements",
]

INDENT4 = "\ue000"
INDENT = "\ue001"
DEDENT = "\ue002"
ESCAPE = "\ue003"
_RESERVED_FIRST, _RESERVED_LAST = 0xE000, 0xE0FF  # every marker lies in this range

# The statements that begin like an expression (a name, a bracket, an operator) or with a soft
# keyword: at the start of such a line the model cannot yet tell an assignment from a call, or
# `match x:` from `match = x`, and the marker says it up front. A statement led by a keyword
# (`def`, `return`, `import`, `@`, ...) or a literal (a docstring, `...`) is named by that
# token already: a marker there would cost a token and say nothing (on the validation split,
# marking every statement costs +4.8% tokens; these alone +2.9%).
STATEMENT_TYPES = ("Assign", "AugAssign", "AnnAssign", "Expr", "Match", "TypeAlias")
_NAMED_BY_FIRST_TOKEN = (ast.Constant, ast.Await, ast.Yield, ast.YieldFrom)  # Expr values
_STATEMENT_MARKER = {name: chr(0xE010 + i) for i, name in enumerate(STATEMENT_TYPES)}
_STATEMENT_MARKER_CHARS = frozenset(_STATEMENT_MARKER.values())
MARKERS = (INDENT4, INDENT, DEDENT, ESCAPE, *_STATEMENT_MARKER.values())

_INDENT_CHARS = " \t\f"
_BLANK_CHARS = " \t\f\r\v"


def _is_reserved(ch: str) -> bool:
    return _RESERVED_FIRST <= ord(ch) <= _RESERVED_LAST


def _escape(text: str) -> str:
    if not any(_is_reserved(c) for c in text):
        return text
    return "".join(ESCAPE + c if _is_reserved(c) else c for c in text)


def _leading_indent(line: str) -> str:
    return line[: len(line) - len(line.lstrip(_INDENT_CHARS))]


def _is_blank(text: str) -> bool:
    return text.strip(_BLANK_CHARS) == ""


def _indent_markers(indent: str, stack: list[str]) -> str:
    """Markers that move `stack` to `indent`, updating `stack` in place."""
    out = []
    while not indent.startswith(stack[-1]):
        stack.pop()
        out.append(DEDENT)
    extra = indent[len(stack[-1]):]
    if extra:
        stack.append(indent)
        out.append(INDENT4 if extra == "    " else INDENT + extra)
    return "".join(out)


def encode(src: str, statement_markers: dict[int, str] | None = None) -> str:
    """The encoded form of `src`; `statement_markers` maps 0-based line numbers to a marker."""
    return _encode(src, statement_markers, prompt=False)[0]


def encode_prompt(src: str, statement_markers: dict[int, str] | None = None) -> tuple[str, "DecoderState"]:
    """Like `encode`, for a prompt that the model will continue; also returns the decoder
    state at its end, from which `decode` turns the generated text into the completion.

    A prompt whose last line holds only indentation (the cursor after pressing Enter in an
    editor) encodes that line as the start of a statement at that indentation, which is what
    the model saw in training, instead of as a blank line.
    """
    encoded, stack = _encode(src, statement_markers, prompt=True)
    return encoded, DecoderState(stack, at_line_start=src == "" or src.endswith("\n"))


def encode_continuation(src: str, state: "DecoderState",
                        statement_markers: dict[int, str] | None = None) -> str:
    """The encoded form of `src` as it reads after text that left the encoder in `state`
    (from `encode_prompt`), exactly as `src` is encoded inside the whole document: its
    indentation markers continue the prefix's block stack, and a first line that
    continues the prefix's last line gets no markers. This is the fill-in-the-middle suffix
    as training sees it (the training objective cuts the whole document's ids). `state` is
    not changed; `statement_markers` number the lines of `src`."""
    return _encode(src, statement_markers, prompt=False, stack=list(state.stack),
                   at_line_start=state.at_line_start)[0]


def _encode(src: str, statement_markers, prompt: bool, stack: list[str] | None = None,
            at_line_start: bool = True) -> tuple[str, list[str]]:
    lines = src.split("\n")
    stack = stack if stack is not None else [""]
    out = []
    last = len(lines) - 1
    for number, line in enumerate(lines):
        if number == 0 and not at_line_start:
            out.append(_escape(line))
            continue
        if prompt and number == last and line and _is_blank(line) and "\r" not in line and "\v" not in line:
            out.append(_indent_markers(line, stack))
            break
        if _is_blank(line):
            out.append(line)
            continue
        indent = _leading_indent(line)
        marker = statement_markers.get(number, "") if statement_markers else ""
        out.append(_indent_markers(indent, stack) + marker + _escape(line[len(indent):]))
    return "\n".join(out), stack


@dataclass
class DecoderState:
    """Where the decoder stands: the indentation stack and whether a line has just begun.

    `decode` takes and updates one, so a completion can be decoded on its own, starting
    from the state at the end of its prompt.
    """

    stack: list[str] = field(default_factory=lambda: [""])
    at_line_start: bool = True

    def copy(self) -> "DecoderState":
        return DecoderState(list(self.stack), self.at_line_start)


def decode(encoded: str, state: DecoderState | None = None) -> str:
    """Inverse of `encode`. Total: any string decodes (model output may be ill-formed)."""
    state = state if state is not None else DecoderState()
    out: list[str] = []
    for i, segment in enumerate(encoded.split("\n")):
        if i:
            out.append("\n")
            state.at_line_start = True
        if not segment:
            continue
        if state.at_line_start:
            segment = _decode_line_start(segment, state, out)
        out.append(_unescape(segment))
        state.at_line_start = False
    return "".join(out)


class StreamDecoder:
    """`decode` for encoded text that arrives in pieces (a model's output, token by token).

    `add` returns the decoded text that later pieces cannot change and `finish` the rest;
    together they are `decode` of all the pieces at once, from the same state. Held back:
    the start of a line until a character that is neither blank nor a marker (more markers
    or indentation may follow), and an escape character until the character it escapes.
    """

    def __init__(self, state: DecoderState | None = None):
        self.state = state.copy() if state is not None else DecoderState()
        self._pending = ""

    def add(self, encoded: str) -> str:
        text = self._pending + encoded
        ready = _decidable_length(text, self.state.at_line_start)
        self._pending = text[ready:]
        return decode(text[:ready], self.state)

    def finish(self) -> str:
        text, self._pending = self._pending, ""
        return decode(text, self.state)


_LINE_START_MARKERS = frozenset((INDENT4, INDENT, DEDENT, *_STATEMENT_MARKER_CHARS))


def _decidable_length(text: str, at_line_start: bool) -> int:
    """How much of `text`, read from a state at a line start or not, decodes for good."""
    last_line = text.rfind("\n") + 1
    escapes = len(text) - len(text.rstrip(ESCAPE))  # pairs escape each other; an odd one waits
    ready = len(text) - escapes % 2
    # A line start that is blank or markers up to a waiting escape waits too: whether the
    # line's indentation is written depends on the character after the blanks.
    if (last_line or at_line_start) and all(
            c in _LINE_START_MARKERS or c in _BLANK_CHARS for c in text[last_line:ready]):
        return last_line
    return ready


def _decode_line_start(segment: str, state: DecoderState, out: list[str]) -> str:
    """Consume the markers at the start of a line, emit its indentation, return the rest."""
    stack = state.stack
    pos, had_markers = 0, False
    while pos < len(segment):
        ch = segment[pos]
        if ch == DEDENT:
            if len(stack) > 1:
                stack.pop()
            pos += 1
        elif ch == INDENT4:
            stack.append(stack[-1] + "    ")
            pos += 1
        elif ch == INDENT:
            end = pos + 1
            while end < len(segment) and segment[end] in _INDENT_CHARS:
                end += 1
            stack.append(stack[-1] + segment[pos + 1:end])
            pos = end
        elif ch in _STATEMENT_MARKER_CHARS:
            pos += 1
        else:
            break
        had_markers = True
    rest = segment[pos:]
    verbatim = not had_markers and (_is_blank(rest) or rest[0] in _INDENT_CHARS)
    if not verbatim:
        out.append(stack[-1])
    return rest


def _unescape(text: str) -> str:
    if not any(_is_reserved(c) for c in text):
        return text
    out, i = [], 0
    while i < len(text):
        c = text[i]
        if c == ESCAPE and i + 1 < len(text):
            out.append(text[i + 1])
            i += 2
            continue
        if not _is_reserved(c):  # stray markers in model output are dropped
            out.append(c)
        i += 1
    return "".join(out)


def annotate_statements(src: str) -> dict[int, str]:
    """Statement-type markers for the `ast` variant: 0-based line -> marker character.

    Only statements of `STATEMENT_TYPES` that begin their line get a marker (not `a = 1` in
    `x; a = 1`), and an expression statement only where its first token does not name it.
    Code that does not parse, such as a prompt that ends inside a block, is retried with a
    `pass` closing the open block; if that fails too it gets no markers.
    """
    tree = _parse_leniently(src)
    if tree is None:
        return {}
    lines = src.split("\n")
    markers: dict[int, str] = {}
    for node in ast.walk(tree):
        name = type(node).__name__
        if name not in _STATEMENT_MARKER or not isinstance(node, ast.stmt):
            continue
        if isinstance(node, ast.Expr) and isinstance(node.value, _NAMED_BY_FIRST_TOKEN):
            continue
        _mark(markers, lines, node.lineno - 1, node.col_offset, name)
    return markers


def _mark(markers, lines, line_number, col, name) -> None:
    # col_offset is in UTF-8 bytes; indentation is ASCII, so it equals the char count there.
    if line_number < len(lines) and col == len(_leading_indent(lines[line_number])):
        markers.setdefault(line_number, _STATEMENT_MARKER[name])


def _parse_leniently(src: str) -> ast.AST | None:
    candidates = [src]
    stripped = src.rstrip(_BLANK_CHARS + "\n")
    if stripped:
        last_line = stripped.split("\n")[-1]
        candidates.append(stripped + "\n" + _leading_indent(last_line) + "    pass\n")
        candidates.append(stripped + "\n" + _leading_indent(last_line) + "pass\n")
    for candidate in candidates:
        try:
            return ast.parse(candidate)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue
    return None
