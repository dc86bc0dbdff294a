"""Property-based fuzzing of the base protocol and of params (hypothesis), bounded in time.

The frame parser alone gets hundreds of examples, cut into arbitrary chunks as pipes cut
them; the real server process gets fewer, each ended by a probe that must be answered.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pycodesmall.lsp_server.framing import FrameParser, Message

from lsp_raw import PROBE, RawServer

URI = "file:///project/fuzz.py"
INTERNAL_ERROR = -32603

JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=10)
NUMBERS = st.sampled_from([0, 1, -1, 2**31 - 1, 2**31, 2**40, 2**64]) | st.integers()


def _maybe(value):
    """Mostly `value`, so that whole requests get through to the model too."""
    return st.one_of(st.just(value), st.just(value), JSON)


def _drop_some(params: st.SearchStrategy[dict]) -> st.SearchStrategy[dict]:
    return st.tuples(params, st.sets(st.sampled_from(["textDocument", "position", "context"]), max_size=1)).map(
        lambda pair: {k: v for k, v in pair[0].items() if k not in pair[1]})


POSITION_PARAMS = _drop_some(st.fixed_dictionaries({
    "textDocument": _maybe({"uri": URI}),
    "position": st.one_of(st.fixed_dictionaries({"line": NUMBERS, "character": NUMBERS}),
                          st.fixed_dictionaries({"line": st.integers(0, 3), "character": st.integers(0, 9)}), JSON),
    "context": _maybe({"triggerKind": 1}),
}))
PARAMS = st.one_of(POSITION_PARAMS, JSON)
REQUEST_METHODS = st.sampled_from([
    "textDocument/inlineCompletion", "textDocument/completion", "textDocument/hover",
    "workspace/executeCommand", "initialize", PROBE])
TEXTS = st.one_of(st.text(max_size=40), st.just("x = '\ud800'\ny = "), st.just("import os\n\nos."))
NOTIFICATIONS = st.one_of(
    st.builds(lambda version, text: {"method": "textDocument/didOpen", "params": {"textDocument": {
        "uri": URI, "languageId": "python", "version": version, "text": text}}}, NUMBERS, TEXTS),
    st.builds(lambda params: {"method": "textDocument/didChange", "params": params}, st.one_of(
        st.builds(lambda line, character, text: {
            "textDocument": {"uri": URI, "version": 2},
            "contentChanges": [{"range": {"start": {"line": line, "character": character},
                                          "end": {"line": line, "character": character}}, "text": text}]},
            NUMBERS, NUMBERS, TEXTS),
        JSON)),
    st.builds(lambda params: {"method": "textDocument/didClose", "params": params}, _maybe({"textDocument": {"uri": URI}})),
    st.builds(lambda params: {"method": "$/cancelRequest", "params": params}, _maybe({"id": "r0"})),
    # Settings that keep every decode short (no model, device, debounce or candidates).
    st.builds(lambda params: {"method": "workspace/didChangeConfiguration", "params": {"settings": params}},
              st.one_of(st.dictionaries(st.sampled_from(["maxNewTokens", "maxLines", "temperature", "validate", "colour"]),
                                        st.sampled_from([0, 1, 16, 512, 10**9, "x", None, True, 0.5]), max_size=3),
                        JSON)),
).map(lambda message: {"jsonrpc": "2.0", **message})


def encode(message: dict) -> bytes:
    return json.dumps(message).encode()


def as_read(message: dict):
    """What the server reads: `message`, with each half of a surrogate pair as U+FFFD."""
    def clean(value):
        if isinstance(value, str):
            return re.sub("[\ud800-\udfff]", "\ufffd", value)
        if isinstance(value, list):
            return [clean(v) for v in value]
        if isinstance(value, dict):
            return {clean(k): clean(v) for k, v in value.items()}
        return value
    return clean(json.loads(encode(message)))


@st.composite
def frames(draw, body: bytes) -> bytes:
    """`body` framed in any of the ways a correct client may frame it."""
    name = draw(st.sampled_from([b"Content-Length", b"content-length", b"CONTENT-LENGTH"]))
    end = draw(st.sampled_from([b"\r\n", b"\n"]))
    length = name + b":" + draw(st.sampled_from([b" ", b"", b"  "])) + b"%d" % len(body) + end
    content_type = b"Content-Type: application/vscode-jsonrpc; charset=utf-8" + end
    headers = draw(st.sampled_from([length, content_type + length, length + content_type]))
    return headers + end + body


def bad_frames() -> st.SearchStrategy[bytes]:
    body = encode({"jsonrpc": "2.0", "method": "textDocument/didClose", "params": {"textDocument": {"uri": URI}}})
    return st.one_of(
        st.binary(max_size=80),
        st.builds(lambda n, cut: b"Content-Length: %d\r\n\r\n" % max(0, len(body) + n) + body[:cut],
                  st.integers(-30, 60), st.integers(0, len(body))),
        st.builds(lambda value: b"Content-Length: " + value + b"\r\n\r\n" + body,
                  st.binary(max_size=12) | st.sampled_from([b"-1", b"1e3", b"0x10", b"99999999999999999999"])),
        st.lists(st.sampled_from([b"Content-Length: 5\r\n", b"\r\n", b"\n", b"X-Thing: y\r\n", b"content-length:12\n",
                                  b"Content-Length: 0\r\n\r\n", b"{", b"}", b'"', b"\r", b"Content-Le"]),
                 max_size=6).map(b"".join),
    )


def fed_in_chunks(data: bytes, cuts: list[float]) -> list:
    parser, events, start = FrameParser(), [], 0
    for end in sorted({int(c * len(data)) for c in cuts}) + [len(data)]:
        events += parser.feed(data[start:end])
        start = end
    return events + parser.close()


CUTS = st.lists(st.floats(0, 1), max_size=6)
PURE = settings(max_examples=300, deadline=timedelta(seconds=5), suppress_health_check=[HealthCheck.too_slow])


@PURE
@given(st.lists(st.one_of(NOTIFICATIONS, st.builds(
    lambda id, method, params: {"jsonrpc": "2.0", "id": id, "method": method, "params": params},
    st.integers() | st.text(max_size=8), REQUEST_METHODS, PARAMS)), min_size=1, max_size=4).flatmap(
    lambda messages: st.tuples(st.just(messages), st.tuples(*(frames(encode(m)) for m in messages)))), CUTS)
def test_correct_frames_are_read_back_exactly_in_any_chunks(framed, cuts):
    messages, encoded = framed
    events = fed_in_chunks(b"".join(encoded), cuts)
    assert events == [Message(as_read(m)) for m in messages]


def test_one_length_written_twice_in_two_ways_is_one_length():
    body = encode({"jsonrpc": "2.0", "id": 1, "method": PROBE, "params": {}})
    data = b"Content-Length: 0%d\r\ncontent-length: %d\r\n\r\n" % (len(body), len(body)) + body
    assert fed_in_chunks(data, []) == [Message(json.loads(body))]


@PURE
@given(bad_frames(), st.sampled_from(["a", "b"]).flatmap(
    lambda id: frames(encode({"jsonrpc": "2.0", "id": id, "method": PROBE, "params": {}}))), CUTS)
def test_a_frame_after_any_garbage_is_read(garbage, probe, cuts):
    events = fed_in_chunks(garbage + probe, cuts)
    messages = [e.value for e in events if isinstance(e, Message)]
    assert messages and messages[-1] == json.loads(probe[probe.index(b"{"):])


@pytest.fixture(scope="module")
def server(lsp_model_dir):
    raw = RawServer(lsp_model_dir)
    raw.initialize()
    yield raw
    raw.close()


REQUESTS = st.one_of(
    st.builds(lambda method, params: ("request", method, params), REQUEST_METHODS, PARAMS),
    st.builds(lambda line, character: ("request", "textDocument/inlineCompletion", {
        "textDocument": {"uri": URI}, "position": {"line": line, "character": character},
        "context": {"triggerKind": 1}}), st.integers(0, 4), st.integers(0, 2**31 - 1) | st.integers(0, 9)))
SERVER_FUZZ = settings(max_examples=150, deadline=timedelta(seconds=30),
                       suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@SERVER_FUZZ
@given(st.lists(st.one_of(REQUESTS, NOTIFICATIONS.map(lambda m: ("notification", m)),
                          bad_frames().map(lambda b: ("bytes", b))), max_size=5))
def test_the_server_answers_every_request_whatever_comes_around_it(server, items):
    server.sent = getattr(server, "sent", 0) + 1
    ids = []
    data = b""
    for n, item in enumerate(items):
        if item[0] == "request":
            ids.append(f"r{server.sent}-{n}")
            message = {"jsonrpc": "2.0", "id": ids[-1], "method": item[1], "params": item[2]}
            body = encode(message)
        elif item[0] == "notification":
            body = encode(item[1])
        else:
            data += item[1]
            continue
        data += b"Content-Length: %d\r\n\r\n" % len(body) + body
    probe = f"probe{server.sent}"
    ids.append(probe)
    body = encode({"jsonrpc": "2.0", "id": probe, "method": PROBE})
    server.send(data + b"Content-Length: %d\r\n\r\n" % len(body) + body)
    for id in ids:
        response = server.response(id, timeout=20)
        assert response.get("error", {}).get("code") != INTERNAL_ERROR, response
    assert server.process.poll() is None
