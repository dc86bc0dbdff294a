"""End to end: a pytest-lsp client against the real `pycodesmall-lsp` process."""

from __future__ import annotations

import asyncio
import time

import pycodesmall
import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcMethodNotFound, JsonRpcRequestCancelled

from lsp_e2e import SOURCE, library_suggestions, start_client

URI = "file:///project/my%20example.py"  # quoted, as editors send paths with spaces


def open_document(client, text: str = SOURCE, uri: str = URI) -> None:
    client.text_document_did_open(types.DidOpenTextDocumentParams(
        types.TextDocumentItem(uri=uri, language_id="python", version=1, text=text)))


def end_of(text: str) -> types.Position:
    lines = text.split("\n")
    return types.Position(len(lines) - 1, len(lines[-1]))


def inline_params(position: types.Position, uri: str = URI) -> types.InlineCompletionParams:
    return types.InlineCompletionParams(
        context=types.InlineCompletionContext(types.InlineCompletionTriggerKind.Automatic),
        text_document=types.TextDocumentIdentifier(uri), position=position)


async def inline(client, position: types.Position, uri: str = URI) -> list[str]:
    result = await client.text_document_inline_completion_async(inline_params(position, uri))
    return [item.insert_text for item in result.items]


async def test_inline_completion_returns_the_validated_suggestion(client, lsp_model_dir):
    capabilities = client.initialize_result.capabilities
    assert capabilities.inline_completion_provider is not None and capabilities.completion_provider is None
    assert capabilities.text_document_sync.change == types.TextDocumentSyncKind.Incremental
    open_document(client)
    answer = await inline(client, end_of(SOURCE))
    assert client.statuses[-1][0] == "ready"
    assert answer and answer == library_suggestions(lsp_model_dir, SOURCE)
    assert all(pycodesmall.validate(SOURCE, text).valid for text in answer)


async def test_typing_through_a_suggestion_is_answered_from_the_cache(client):
    open_document(client)
    [first] = await inline(client, end_of(SOURCE))
    # From now on a request that reaches the model waits a second first; the cache does not.
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams({"debounceMs": 1000}))
    typed = SOURCE + first[:3]
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        types.VersionedTextDocumentIdentifier(version=2, uri=URI),
        [types.TextDocumentContentChangePartial(types.Range(end_of(SOURCE), end_of(SOURCE)), first[:3])]))
    started = time.perf_counter()
    assert await inline(client, end_of(typed)) == [first[3:]]
    assert time.perf_counter() - started < 0.5


async def test_clients_without_inline_completion_get_menu_items(lsp_model_dir):
    client = await start_client(lsp_model_dir, editor="neovim@v0.9.1")
    try:
        assert client.capabilities.text_document.inline_completion is None
        capabilities = client.initialize_result.capabilities
        assert capabilities.completion_provider is not None and capabilities.inline_completion_provider is None
        text = SOURCE + "na"  # a word under way: items replace it, so the menu filters by it
        open_document(client, text)
        result = await client.text_document_completion_async(types.CompletionParams(
            types.TextDocumentIdentifier(URI), end_of(text)))
        expected = library_suggestions(lsp_model_dir, text)
        assert expected and [item.text_edit.new_text for item in result.items] == ["na" + t for t in expected]
        for item in result.items:
            assert item.text_edit.range == types.Range(end_of(SOURCE), end_of(text))
            assert pycodesmall.validate(SOURCE, item.text_edit.new_text).valid
    finally:
        await client.shutdown_session()
        await client.stop()


async def test_cancel_request_and_newer_requests_stop_a_long_decode(slow_model_dir):
    text = "x = 1\n"  # at the top level no line ends the block: the decode runs to its limit
    client = await start_client(slow_model_dir, options={"maxNewTokens": 500, "maxLines": 100})
    try:
        open_document(client, text)
        first = asyncio.ensure_future(client.protocol.send_request_async(
            types.TEXT_DOCUMENT_INLINE_COMPLETION, inline_params(end_of(text)), msg_id="long-1"))
        await asyncio.sleep(0.5)
        newer = asyncio.ensure_future(client.protocol.send_request_async(
            types.TEXT_DOCUMENT_INLINE_COMPLETION, inline_params(end_of(text)), msg_id="long-2"))
        # Superseded by `newer`: stopped after its current step, not after 500 of them.
        assert not (await asyncio.wait_for(first, 5.0)).items
        await asyncio.sleep(0.5)
        started = time.perf_counter()
        client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id="long-2"))
        with pytest.raises(JsonRpcRequestCancelled):
            await asyncio.wait_for(newer, 1.0)
        cancelled_after = time.perf_counter() - started
        assert cancelled_after < 0.1, cancelled_after
        # The worker is free again: a one-token request is not stuck behind 500 steps.
        client.workspace_did_change_configuration(types.DidChangeConfigurationParams(
            {"pycodesmall": {"maxNewTokens": 1}}))
        started = time.perf_counter()
        await inline(client, end_of(text))
        assert time.perf_counter() - started < 5.0
    finally:
        await client.shutdown_session()
        await client.stop()


async def test_bad_requests_get_empty_results_or_errors_and_the_server_keeps_answering(client, lsp_model_dir):
    assert await inline(client, types.Position(0, 0), uri="file:///never/opened.py") == []
    open_document(client)
    past_end = await inline(client, types.Position(40, 200))
    assert past_end and past_end == library_suggestions(lsp_model_dir, SOURCE)
    with pytest.raises(JsonRpcMethodNotFound):
        await client.protocol.send_request_async("pycodesmall/noSuchMethod", {})
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(
        {"pycodesmall": {"maxNewTokens": "many", "temperature": 0.0, "colour": "blue"}}))
    assert await inline(client, end_of(SOURCE)) == library_suggestions(lsp_model_dir, SOURCE)
    [warning] = [m for m in client.messages if m.type == types.MessageType.Warning]
    assert "maxNewTokens" in warning.message and "colour" in warning.message


async def test_storms_of_changes_and_huge_files(client, lsp_model_dir):
    text = "\n".join(f"def function_{i}(a, b):\n    return a + b * {i}\n" for i in range(4000)) + "\nx = "
    assert text.count("\n") > 10_000
    open_document(client, "")
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        types.VersionedTextDocumentIdentifier(version=2, uri=URI), [types.TextDocumentContentChangeWholeDocument(text)]))
    for version, character in enumerate("import os  ", start=3):  # one change per keystroke
        position = types.Position(0, version - 3)
        client.text_document_did_change(types.DidChangeTextDocumentParams(
            types.VersionedTextDocumentIdentifier(version=version, uri=URI),
            [types.TextDocumentContentChangePartial(types.Range(position, position), character)]))
    final = "import os  " + text
    storm = [asyncio.ensure_future(inline(client, end_of(final))) for _ in range(20)]
    answers = await asyncio.gather(*storm)
    assert answers[-1] == library_suggestions(lsp_model_dir, final)
    assert all(a in ([], answers[-1]) for a in answers)


async def test_settings_sent_again_while_the_model_loads_load_it_once(lsp_model_dir):
    # Neovim 0.8+ sends `settings` as didChangeConfiguration right after `initialized`.
    def send_settings_again(client):
        client.workspace_did_change_configuration(types.DidChangeConfigurationParams(
            {"debounceMs": 0, "repetitionPenalty": 1.0}))
    client = await start_client(lsp_model_dir, while_loading=send_settings_again)
    try:
        open_document(client)
        answer = await inline(client, end_of(SOURCE))  # answered after both settings are applied
        assert [state for state, _ in client.statuses] == ["loading", "ready"]
        assert answer == library_suggestions(lsp_model_dir, SOURCE)
    finally:
        await client.shutdown_session()
        await client.stop()


async def test_a_model_that_fails_to_load_is_reported_and_the_server_keeps_running(tmp_path):
    client = await start_client(tmp_path / "no-such-model")
    try:
        assert client.statuses[-1][0] == "error"
        [error] = [m for m in client.messages if m.type == types.MessageType.Error]
        assert "could not load the model" in error.message and "no-such-model" in error.message
        open_document(client)
        assert await inline(client, end_of(SOURCE)) == []
    finally:
        await client.shutdown_session()
        await client.stop()
    assert client._server.returncode == 0
