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

DEFINITION = ("a shown completion adds a syntax error when no continuation typed after it "
              "(close its open string and brackets or leave the brackets to the suffix, an "
              "operand, the rest of a header, an indented pass body; then the suffix) makes "
              "the file parse with compile()")


def _continuation_parts(source: str) -> tuple[list[str], str, str]:
    """What closes `source`'s open string (candidates), its open brackets, and the
    indentation of the line where its last statement starts."""
    quotes, stack, indent, at_line_start = [""], [], "", True
    pairs = {"(": ")", "[": "]", "{": "}"}
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type == tokenize.ERRORTOKEN and tok.string.strip() in ("'", '"'):
                quotes = [tok.string.strip()]
                break
            if tok.type in (tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT):
                at_line_start = True
                continue
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
    return quotes, "".join(reversed(stack)), indent


def adds_syntax_error(prefix: str, text: str, suffix: str) -> bool:
    """No continuation typed after `text` makes prefix + text + continuation + suffix parse."""
    source = prefix + text
    if syntax_error(source + suffix) is None:
        return False  # before tokenizing: that is the slow part in a long file
    quotes, closers, indent = _continuation_parts(source)
    unit = "\t" if indent.startswith("\t") else "    "
    tails = ["", ":", "():", " in _:", " else _", " as _:", ": _", " _:", " import _"]
    for quote in quotes:
        for operand in ("", " _", " in _", " _ in _", "=_"):
            # Without the closers too: inside a call spread over lines the suffix closes it.
            for closing in dict.fromkeys((closers, "")):
                for tail in tails:
                    x = quote + operand + closing + tail
                    bodies = [""] if not x.endswith(":") else [
                        "", f"\n{indent}{unit}pass", f"\n{indent}{unit}pass\n{indent}except Exception:\n"
                        f"{indent}{unit}pass", " pass"]
                    for body in bodies:
                        if syntax_error(source + x + body + suffix) is None:
                            return False
    for x in ("pass", "if _:", f"\n{indent}def _(): pass"):
        if syntax_error(source + x + suffix) is None:
            return False
    return True
