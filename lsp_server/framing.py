"""The LSP base protocol, read byte by byte: frames in, JSON values out, never stuck.

A frame is a header part, lines of `Name: value` ended by an empty line, then a body of
`Content-Length` bytes holding one JSON value in UTF-8. The server reads frames with
`FrameParser`, not with pygls' reader, which waits forever after one bad frame (it trusts
`Content-Length` and matches the header name case-sensitively).

What is accepted, and why:

- Header names in any case. The specification says header fields follow HTTP semantics,
  and HTTP field names are case-insensitive (RFC 9110, 5.1). Lines may end in a bare LF as
  well as CRLF: unambiguous, and what hand-written clients send.
- A wrong `Content-Length`. The body is one JSON value, and a JSON value never holds a raw
  line break inside a string nor the word `Content-Length` outside one, so the next header
  line can be found inside a body that claims to be longer, and the value that really
  ends a body that claims to be shorter can be decoded. Either way the message is kept.
- Anything else broken (no `Content-Length`, two different ones, a malformed line, a body
  that is not UTF-8 JSON) costs that frame only: the parser reports it and starts again at
  the next `Content-Length` header.

Text that is not Unicode cannot enter: JSON may escape half a surrogate pair (`"\\ud800"`),
which Python decodes to a string that cannot be encoded to UTF-8 or UTF-16 later; each such
code point becomes U+FFFD, which takes the same one UTF-16 unit, so positions still agree
with the client's.
"""

from __future__ import annotations

import codecs
import json
import re
from dataclasses import dataclass
from typing import Any

__all__ = ["FrameParser", "Message", "Undecodable", "Skipped", "MAX_BODY_BYTES"]

MAX_HEADER_BYTES = 8192
MAX_BODY_BYTES = 256 * 2**20

_HEADER_LINE = re.compile(rb"([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*([\x20-\x7e]*?)[ \t]*\r?\n")
# The line that starts a frame: cannot occur inside a JSON value (see the module docstring).
_CONTENT_LENGTH_LINE = re.compile(rb"content-length:[ \t]{0,8}[0-9]{1,15}[ \t]{0,8}\r?\n", re.IGNORECASE)
_LENGTH_VALUE_SO_FAR = re.compile(rb"[ \t]{0,8}[0-9]{0,15}[ \t]{0,8}\r?")
_LONGEST_MATCH = 64  # bytes a match can span, kept back when a scan stops at the end of the data
_LONE_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True)
class Message:
    """A body that decoded to a JSON value (not yet checked to be a JSON-RPC message)."""

    value: Any


@dataclass(frozen=True)
class Undecodable:
    """A framed body that is not one JSON value in UTF-8: the JSON-RPC parse error."""

    reason: str


@dataclass(frozen=True)
class Skipped:
    """Bytes that were not part of any frame, dropped while looking for the next header."""

    reason: str
    size: int


class FrameParser:
    """Feed it the bytes as they come; it returns what they completed, in order."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._length: int | None = None  # of the body being read; None while reading headers
        self._body_start = 0
        self._scanned = 0  # where the search for a next header inside the body goes on
        self._next_header: int | None = None

    def feed(self, data: bytes) -> list[Message | Undecodable | Skipped]:
        self._buffer += data
        events: list[Message | Undecodable | Skipped] = []
        while (event := self._next(end_of_stream=False)) is not None:
            events.append(event)
        return events

    def close(self) -> list[Message | Undecodable | Skipped]:
        """At the end of the stream: what is left is a last message or garbage."""
        events = []
        while (event := self._next(end_of_stream=True)) is not None:
            events.append(event)
        if self._buffer.strip():
            events.append(Skipped("the stream ended inside a frame", len(self._buffer)))
        self._buffer.clear()
        return events

    def _next(self, end_of_stream: bool) -> Message | Undecodable | Skipped | None:
        if self._length is None:
            return self._read_header()
        return self._read_body(end_of_stream)

    def _read_header(self) -> Skipped | Message | Undecodable | None:
        buffer, position, lengths = self._buffer, 0, set()
        while True:
            line_end = buffer.find(b"\n", position)
            if line_end < 0:
                if len(buffer) > MAX_HEADER_BYTES:
                    return self._skip("a header longer than %d bytes" % MAX_HEADER_BYTES)
                return None
            line = bytes(buffer[position:line_end + 1])
            if line in (b"\n", b"\r\n"):
                if position == 0:  # blank lines between frames
                    del buffer[:line_end + 1]
                    continue
                break
            match = _HEADER_LINE.fullmatch(line)
            if match is None or line_end > MAX_HEADER_BYTES:
                return self._skip(f"a malformed header line {line[:80]!r}")
            if match.group(1).lower() == b"content-length":
                value = match.group(2)  # "010" and "10" are one length, not two
                lengths.add(value.lstrip(b"0") or b"0" if value.isdigit() else value)
            position = line_end + 1
        if not lengths:
            return self._skip("a header without Content-Length")
        if len(lengths) > 1:
            return self._skip("a header with different Content-Length values")
        [value] = lengths
        if not value.isdigit() or int(value) > MAX_BODY_BYTES:
            return self._skip(f"Content-Length {value[:40]!r} (not a length up to {MAX_BODY_BYTES} bytes)")
        self._length = int(value)
        self._body_start = self._scanned = line_end + 1
        self._next_header = None
        return self._read_body(end_of_stream=False)

    def _skip(self, reason: str) -> Skipped:
        """Drop bytes up to the next `Content-Length` header line after the first byte.

        Without one, keep what could still begin it: a header line ends in the only line
        break it has, so it begins after the last line break there is.
        """
        buffer = self._buffer
        match = _CONTENT_LENGTH_LINE.search(buffer, 1)
        if match is not None:
            size = match.start()
        else:
            size = max(1, len(buffer) - _LONGEST_MATCH, buffer.rfind(b"\n") + 1)
        del buffer[:size]
        return Skipped(reason, size)

    def _read_body(self, end_of_stream: bool) -> Message | Undecodable | None:
        buffer, start = self._buffer, self._body_start
        end = start + self._length
        if self._next_header is None:
            match = _CONTENT_LENGTH_LINE.search(buffer, max(start, self._scanned - _LONGEST_MATCH))
            self._scanned = len(buffer)
            self._next_header = match.start() if match else None
        following = self._next_header
        if following is not None and following < end:  # declared longer than it is
            return self._finish(_decode(buffer[start:following]), following)
        if len(buffer) >= end:
            decoded = _decode(buffer[start:end])
            if isinstance(decoded, Message):
                return self._finish(decoded, end)
        # Declared too short, or a body that has not all arrived yet: a whole JSON value
        # with nothing but blank space after it, up to the next header, is the message.
        limit = following if following is not None else len(buffer)
        last = limit - 1
        while last >= start and buffer[last] in b" \t\r\n":
            last -= 1
        if last >= start and buffer[last] in b"}]":
            found = _decode_prefix(buffer, start, limit)
            if found is not None:
                return self._finish(*found)
        if following is not None:
            return self._finish(_decode(buffer[start:following]), following)
        if len(buffer) == end and not _may_begin_header(buffer[max(start, end - _LONGEST_MATCH):end]):
            # The data stops where the header said it would: the length was right.
            return self._finish(_decode(buffer[start:end]), end)
        if end_of_stream and len(buffer) > start:
            return self._finish(_decode(buffer[start:]), len(buffer))
        return None

    def _finish(self, event: Message | Undecodable, consumed: int) -> Message | Undecodable:
        del self._buffer[:consumed]
        self._length = None
        return event


def _may_begin_header(tail: bytes | bytearray) -> bool:
    """Whether `tail` ends with what could be the first bytes of a `Content-Length` line."""
    name = b"content-length:"
    tail = bytes(tail).lower()
    for i in range(len(tail)):
        rest = tail[i:]
        if name.startswith(rest) or (rest.startswith(name) and _LENGTH_VALUE_SO_FAR.fullmatch(rest[len(name):])):
            return True
    return False


def _decode(body: bytes | bytearray) -> Message | Undecodable:
    try:
        text = bytes(body).decode("utf-8")
    except UnicodeDecodeError as e:
        return Undecodable(f"the body is not UTF-8 ({e.reason} at byte {e.start})")
    try:
        value = json.loads(text)
        if _LONE_SURROGATE_ESCAPE.search(text):
            value = _without_lone_surrogates(value)
    except ValueError as e:
        return Undecodable(f"the body is not JSON ({e})")
    except RecursionError:
        return Undecodable("the body nests too deeply")
    return Message(value)


def _decode_prefix(buffer: bytearray, start: int, limit: int) -> tuple[Message, int] | None:
    """The JSON value at `start` and where it ends, if only blank space follows it up to `limit`."""
    try:
        text = codecs.getincrementaldecoder("utf-8")().decode(bytes(buffer[start:limit]))
    except UnicodeDecodeError:
        return None
    if not text.lstrip().startswith(("{", "[")):
        return None
    try:
        value, end = json.JSONDecoder().raw_decode(text, len(text) - len(text.lstrip()))
    except (ValueError, RecursionError):
        return None
    if text[end:].strip():
        return None
    decoded = _decode(text[:end].encode("utf-8"))
    return (decoded, start + len(text[:end].encode("utf-8"))) if isinstance(decoded, Message) else None


def _without_lone_surrogates(value: Any) -> Any:
    if isinstance(value, str):
        return _LONE_SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [_without_lone_surrogates(v) for v in value]
    if isinstance(value, dict):
        return {_without_lone_surrogates(k): _without_lone_surrogates(v) for k, v in value.items()}
    return value
