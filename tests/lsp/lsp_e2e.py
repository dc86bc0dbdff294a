"""Helpers for the end-to-end tests: the real server process, a pytest-lsp client, expected answers."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from pathlib import Path

import pycodesmall
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities
from pytest_lsp.client import make_test_lsp_client

from pycodesmall.lsp_server.completer import prompt_for, suggest
from pycodesmall.lsp_server.settings import Settings

STATUS = "pycodesmall/status"
SOURCE = "import os\n\nx = os."  # where the fixture model's valid answer is not blank


# The console script, not `python -m`: from the repository root `-m` would find the source
# folder `pycodesmall/`, which lacks the `lsp_server` that only the installed package maps in.
SERVER = [str(Path(sys.executable).with_name("pycodesmall-lsp"))]


def server_command(model_dir: Path | str) -> list[str]:
    return [*SERVER, "--model", str(model_dir)]


def _client_recording_status() -> LanguageClient:
    """A test client that keeps every `pycodesmall/status` and knows when loading ended."""
    client = make_test_lsp_client()
    client.statuses = []
    client.model_settled = asyncio.Event()

    @client.feature(STATUS)
    def on_status(params) -> None:
        client.statuses.append((params.state, params.message))
        if params.state != "loading":
            client.model_settled.set()

    return client


async def start_client(model_dir: Path | str, editor: str = "visual-studio-code",
                       options: dict | None = None,
                       while_loading: Callable[[LanguageClient], None] | None = None) -> LanguageClient:
    """A client talking to a fresh server process, initialized, with the model loaded (or failed).

    `while_loading(client)` runs right after `initialized` is sent, before the model settles."""
    config = ClientServerConfig(server_command(model_dir), client_factory=_client_recording_status)
    client = await config.start()
    capabilities = client_capabilities(editor)
    if editor == "visual-studio-code":  # the recorded capabilities predate LSP 3.18
        capabilities.text_document.inline_completion = types.InlineCompletionClientCapabilities()
    client.initialize_result = await client.initialize_session(types.InitializeParams(
        capabilities=capabilities,
        initialization_options={"debounceMs": 0, "repetitionPenalty": 1.0, **(options or {})}))
    if while_loading is not None:
        while_loading(client)
    await asyncio.wait_for(client.model_settled.wait(), timeout=60)
    return client


def library_suggestions(model_dir, text: str, offset: int | None = None, **settings) -> list[str]:
    """What the server should answer at `offset` (default: the end), computed in this process
    with the same code path.

    Plain greedy decoding (no repetition penalty), as every test client asks for: the
    fixture's random weights give non-blank answers to SOURCE that way.
    """
    chosen = Settings(model=str(model_dir), **{"repetition_penalty": 1.0, **settings})
    model = pycodesmall.load(str(model_dir), device="cpu")
    offset = len(text) if offset is None else offset
    return [c.text for c in suggest(model, prompt_for(model, text, offset, chosen), chosen)]
