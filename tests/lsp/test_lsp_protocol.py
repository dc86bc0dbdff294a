"""The base protocol and the lifecycle of LSP 3.17, through the real server process, byte by byte.

Every request gets exactly one response; a broken frame costs at most that frame; the exit
code says whether `shutdown` came first.
"""

from __future__ import annotations

import time

import pytest
from lsprotocol import types

from lsp_e2e import SOURCE, library_suggestions, start_client
from lsp_raw import PROBE, RawServer, frame

URI = "file:///project/example.py"
METHOD_NOT_FOUND, INVALID_PARAMS, INVALID_REQUEST, PARSE_ERROR = -32601, -32602, -32600, -32700
SERVER_NOT_INITIALIZED = -32002


@pytest.fixture
def raw(lsp_model_dir):
    server = RawServer(lsp_model_dir)
    yield server
    server.close()


def open_document(raw: RawServer, text: str, uri: str = URI) -> None:
    raw.notify("textDocument/didOpen", {"textDocument": {
        "uri": uri, "languageId": "python", "version": 1, "text": text}})


def inline_params(line: int, character: int, uri: str = URI) -> dict:
    return {"textDocument": {"uri": uri}, "position": {"line": line, "character": character},
            "context": {"triggerKind": 2}}


def error_code(response: dict) -> int | None:
    return response.get("error", {}).get("code")


def assert_probe_answered(raw: RawServer, id: str = "probe") -> None:
    raw.request(id, PROBE, {})
    assert error_code(raw.response(id)) == METHOD_NOT_FOUND


def test_exit_without_shutdown_exits_with_code_1(raw):
    raw.initialize(wait_for_model=False)
    raw.notify("exit")
    assert raw.wait() == 1


def test_exit_after_shutdown_exits_with_code_0(raw):
    raw.initialize(wait_for_model=False)
    raw.request(1, "shutdown")
    assert raw.response(1)["result"] is None
    raw.notify("exit")
    assert raw.wait() == 0


@pytest.mark.parametrize("params", [
    {"position": {"line": 0, "character": 0}, "context": {"triggerKind": 2}},  # no textDocument
    "a string",
    [1, 2],
    None,
    inline_params(2**40, 0),
    inline_params(0, -1),
    {**inline_params(0, 0), "position": {"line": "two", "character": 0}},
], ids=["no-textDocument", "string", "array", "missing", "line-2**40", "negative-character", "line-a-string"])
def test_every_request_with_invalid_params_gets_invalid_params(raw, params):
    raw.initialize()
    open_document(raw, SOURCE)
    raw.request(7, "textDocument/inlineCompletion", params)
    response = raw.response(7)
    assert error_code(response) == INVALID_PARAMS, response
    assert "inlineCompletion" in response["error"]["message"]
    raw.request(8, "textDocument/inlineCompletion", inline_params(2, 5))
    assert "result" in raw.response(8)


def test_requests_before_initialize_get_server_not_initialized(raw):
    raw.notify("textDocument/didOpen", {"textDocument": {
        "uri": URI, "languageId": "python", "version": 1, "text": SOURCE}})  # dropped
    raw.request(1, "textDocument/inlineCompletion", inline_params(2, 5))
    raw.request(2, "shutdown")
    raw.request(3, PROBE, {})
    for id in (1, 2, 3):
        response = raw.response(id)
        assert error_code(response) == SERVER_NOT_INITIALIZED, response
        assert "initialize" in response["error"]["message"]
    raw.initialize()
    raw.request(4, "textDocument/inlineCompletion", inline_params(2, 5))
    assert raw.response(4)["result"]["items"] == []  # the early didOpen was dropped
    raw.request(5, "shutdown")
    raw.response(5)
    raw.notify("exit")
    assert raw.wait() == 0


def test_exit_before_initialize_exits_with_code_1(raw):
    raw.notify("exit")
    assert raw.wait() == 1


def test_a_second_initialize_is_an_invalid_request(raw):
    raw.initialize()
    raw.request("again", "initialize", {"processId": None, "rootUri": None, "capabilities": {}})
    response = raw.response("again")
    assert error_code(response) == INVALID_REQUEST, response
    assert "initialize" in response["error"]["message"] and "already" in response["error"]["message"]
    assert_probe_answered(raw)


def test_requests_after_shutdown_are_invalid_requests(raw):
    raw.initialize()
    raw.request(1, "shutdown")
    raw.response(1)
    raw.request(2, "textDocument/inlineCompletion", inline_params(2, 5))
    raw.request(3, "shutdown")
    for id in (2, 3):
        response = raw.response(id)
        assert error_code(response) == INVALID_REQUEST, response
        assert "shutdown" in response["error"]["message"]
    raw.notify("exit")
    assert raw.wait() == 0


PROBE_BODY = b'{"jsonrpc": "2.0", "id": "bad", "method": "%s", "params": {}}' % PROBE.encode()


@pytest.mark.parametrize("bad_frame, answered", [
    # Lenient on what is unambiguous: header names are case-insensitive (HTTP semantics, as
    # the base protocol says) and a bare LF ends a line as well as CRLF.
    (b"content-length: %d\r\n\r\n" % len(PROBE_BODY) + PROBE_BODY, True),
    (b"CONTENT-LENGTH:%d\n\n" % len(PROBE_BODY) + PROBE_BODY, True),
    (b"Content-Type: application/vscode-jsonrpc; charset=utf-8\r\nContent-Length: %d\r\n\r\n"
     % len(PROBE_BODY) + PROBE_BODY, True),
    # A length too small or too large: the body is still one JSON value before the next header.
    (b"Content-Length: %d\r\n\r\n" % (len(PROBE_BODY) - 9) + PROBE_BODY, True),
    (b"Content-Length: %d\r\n\r\n" % (len(PROBE_BODY) + 500) + PROBE_BODY, True),
    # Broken beyond repair: skipped up to the next header.
    (b"\r\n" + PROBE_BODY, False),
    (b"Content-Length: many\r\n\r\n" + PROBE_BODY, False),
    (b"Content-Length: 5\r\nContent-Length: 6\r\n\r\n" + PROBE_BODY, False),
    (b"Content-Length: 99999999999999999999\r\n\r\n" + PROBE_BODY, False),
    (b"Content-Length 20\r\n\r\n" + PROBE_BODY, False),
    (b"Content-Length: 12\r\n\r\n{\"jsonrpc\": ", False),
    (b"Content-Length: 12\r\n\r\n\xff\xfe not json!", False),
    (b"Content-Le", False),
], ids=["lower-case-name", "upper-case-name-LF-only", "content-type-first", "length-too-small",
        "length-too-large", "no-header", "length-not-a-number", "two-lengths", "length-huge",
        "no-colon", "truncated-json", "not-utf8", "cut-header"])
def test_after_a_bad_frame_the_next_request_is_answered(raw, bad_frame, answered):
    raw.initialize(wait_for_model=False)
    raw.send(bad_frame)
    if answered:
        assert error_code(raw.response("bad")) == METHOD_NOT_FOUND
    assert_probe_answered(raw)
    raw.request("after", PROBE, {})  # and framing stays in step afterwards
    assert error_code(raw.response("after")) == METHOD_NOT_FOUND


def test_a_body_that_is_not_json_rpc_gets_an_error_with_a_null_id(raw):
    raw.initialize(wait_for_model=False)
    raw.send(frame(b"{not json"))
    assert error_code(raw.response(None)) == PARSE_ERROR
    raw.send(frame(b"[1, 2]"))
    assert error_code(raw.response(None)) == INVALID_REQUEST
    raw.send(frame({"jsonrpc": "1.0", "id": 9, "method": PROBE}))
    assert error_code(raw.response(9)) == INVALID_REQUEST
    raw.send(frame({"jsonrpc": "2.0", "id": {"not": "an id"}, "method": PROBE}))
    assert error_code(raw.response(None)) == INVALID_REQUEST
    assert_probe_answered(raw)


def test_a_lone_surrogate_in_a_document_still_gets_suggestions(raw, lsp_model_dir):
    raw.initialize()
    text = "# \ud800 stray half of a pair\n" + SOURCE
    open_document(raw, text)
    lines = text.split("\n")
    raw.request(1, "textDocument/inlineCompletion", inline_params(len(lines) - 1, len(lines[-1])))
    response = raw.response(1)
    assert "result" in response, response
    expected = library_suggestions(lsp_model_dir, text.replace("\ud800", "\ufffd"))
    assert [item["insertText"] for item in response["result"]["items"]] == expected


def test_exit_during_a_long_decode_is_quick(slow_model_dir):
    raw = RawServer(slow_model_dir)
    try:
        raw.initialize({"maxNewTokens": 500, "maxLines": 100})
        open_document(raw, "x = 1\n")
        raw.request(1, "textDocument/inlineCompletion", inline_params(1, 0))
        time.sleep(1.0)
        assert raw.process.poll() is None
        started = time.perf_counter()
        raw.notify("exit")
        assert raw.wait() == 1
        assert time.perf_counter() - started < 0.5
    finally:
        raw.close()


async def test_max_new_tokens_beyond_the_context_is_refused_with_a_message(lsp_model_dir):
    client = await start_client(lsp_model_dir, options={"maxNewTokens": 512})
    try:
        assert client.statuses[-1][0] == "ready"
        [warning] = [m for m in client.messages if m.type == types.MessageType.Warning]
        assert "maxNewTokens" in warning.message and "512-token context" in warning.message
        assert "keeping 48" in warning.message
        client.text_document_did_open(types.DidOpenTextDocumentParams(
            types.TextDocumentItem(uri=URI, language_id="python", version=1, text=SOURCE)))
        lines = SOURCE.split("\n")
        params = types.InlineCompletionParams(
            context=types.InlineCompletionContext(types.InlineCompletionTriggerKind.Automatic),
            text_document=types.TextDocumentIdentifier(URI),
            position=types.Position(len(lines) - 1, len(lines[-1])))
        result = await client.text_document_inline_completion_async(params)
        assert [i.insert_text for i in result.items] == library_suggestions(lsp_model_dir, SOURCE)
        # The same through didChangeConfiguration: the previous valid value stays.
        client.workspace_did_change_configuration(types.DidChangeConfigurationParams(
            {"pycodesmall": {"maxNewTokens": 16}}))
        client.workspace_did_change_configuration(types.DidChangeConfigurationParams(
            {"pycodesmall": {"maxNewTokens": 500}}))
        result = await client.text_document_inline_completion_async(params)
        warnings = [m for m in client.messages if m.type == types.MessageType.Warning]
        assert len(warnings) == 2 and "keeping 16" in warnings[-1].message
        assert [i.insert_text for i in result.items] == library_suggestions(
            lsp_model_dir, SOURCE, max_new_tokens=16)
    finally:
        await client.shutdown_session()
        await client.stop()


def test_a_cancel_for_a_request_already_answered_is_not_a_warning(raw):
    """LSP lets a cancel cross the answer; pygls' warning about it would fill the log."""
    raw.initialize(wait_for_model=False)
    assert_probe_answered(raw, id="answered")
    raw.notify("$/cancelRequest", {"id": "answered"})
    assert_probe_answered(raw)  # the cancel has been read by now
    raw.request(1, "shutdown")
    raw.response(1)
    raw.notify("exit")
    assert raw.wait() == 0
    log = raw.stderr()
    assert "Cancel notification" not in log, log
