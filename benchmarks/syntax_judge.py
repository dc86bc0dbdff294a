"""The benchmarks' judge of "a shown completion adds a syntax error the file did not have".

Parsing the file with the completion is not enough: the user has not finished typing, so
a completion that leaves a bracket, a string or a block header open is fine as long as
something typed after it can make the file parse. The judge tries a fixed set of such
continuations; `validation_states.py` checks it on held-out text (every true beginning of
the removed text must pass), and `editor_replay.py` applies it to what the server shows.
"""

from __future__ import annotations

import io
import tokenize

from pycodesmall.syntax import syntax_error

__all__ = ["adds_syntax_error", "DEFINITION"]

DEFINITION = ("a shown completion adds a syntax error when no continuation typed after it makes "
              "the file parse with compile(): close its open string or end its comment, an "
              "operand, the rest of a header or an expression (else _, : _) after or inside its "
              "brackets, closed or left to the suffix, an indented pass body; then the suffix")


def _continuation_parts(source: str) -> tuple[list[str], str, str]:
    """What closes `source`'s open string or the comment it ends with (candidates), its open
    brackets, and the indentation of the line where its last statement starts."""
    quotes, stack, indent, at_line_start, comment_end = [""], [], "", True, None
    pairs = {"(": ")", "[": "]", "{": "}"}
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type == tokenize.ERRORTOKEN and tok.string.strip() in ("'", '"'):
                quotes = [tok.string.strip()]
                break
            if tok.type in (tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT):
                at_line_start = True
                continue
            if tok.type == tokenize.COMMENT:
                comment_end, comment_indent = tok.end, tok.line[:len(tok.line) - len(tok.line.lstrip())]
            if tok.type in (tokenize.NL, tokenize.COMMENT, tokenize.ENDMARKER):
                continue  # the end of the source starts no statement
            if at_line_start:
                indent, at_line_start = tok.line[:tok.start[1]], False
            if tok.type == tokenize.OP and tok.string in pairs:
                stack.append(pairs[tok.string])
            elif tok.type == tokenize.OP and tok.string in ")]}" and stack:
                stack.pop()
    except tokenize.TokenError as e:
        if "string" in str(e.args[0]):
            quotes = ['"""', "'''"]
    except (IndentationError, SyntaxError):
        pass
    if comment_end == (source.count("\n") + 1, len(source) - source.rfind("\n") - 1):
        quotes = ["\n" + comment_indent]  # what is typed after a comment goes on the next line
    return quotes, "".join(reversed(stack)), indent


def adds_syntax_error(prefix: str, text: str, suffix: str) -> bool:
    """No continuation typed after `text` makes prefix + text + continuation + suffix parse."""
    source = prefix + text
    if syntax_error(source + suffix) is None:
        return False  # before tokenizing: that is the slow part in a long file
    return all(syntax_error(source + x + suffix) is not None for x in _continuations(source))


def _continuations(source: str):
    """What might be typed after `source`: close its string (or comment), an operand, its
    brackets, the rest of a header with a body; or a statement of its own."""
    quotes, closers, indent = _continuation_parts(source)
    unit = "\t" if indent.startswith("\t") else "    "
    tails = ["", ":", "():", " in _:", " else _", " as _:", ": _", " _:", " import _"]
    for quote in quotes:
        for operand in ("", " _", " in _", " _ in _", "=_"):
            # Without the closers too: inside a call spread over lines the suffix closes it.
            for closing in dict.fromkeys((closers, "")):
                for tail in tails:
                    # A header goes on after the brackets; `else _` and `: _` inside them.
                    for x in dict.fromkeys((quote + operand + closing + tail, quote + operand + tail + closing)):
                        yield x
                        if x.endswith(":"):
                            yield from (f"{x}\n{indent}{unit}pass", f"{x} pass",
                                        f"{x}\n{indent}{unit}pass\n{indent}except Exception:\n{indent}{unit}pass")
    yield from ("pass", "if _:", f"\n{indent}def _(): pass")
