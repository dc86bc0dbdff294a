"""The language server: thin pygls handlers over `Completer` and `Settings`.

Inline completion (LSP 3.18 ghost text) is offered to clients that support it; the others
get the same suggestions through `textDocument/completion`. Progress and failures of model
loading reach the user through `window/showMessage` and a `pycodesmall/status` notification
(the VS Code status bar shows it); the server keeps answering, with empty results, when no
model could be loaded.

Messages are read by `protocol.serve` (framing that recovers from bad frames, an answer to
every request) rather than by pygls' reader; `start_io` and `start_tcp` return the exit code.
"""

from __future__ import annotations

import asyncio
import re
import sys
from importlib.metadata import version
from typing import BinaryIO
from urllib.parse import unquote

from lsprotocol import types
from pygls.io_ import StdoutWriter
from pygls.lsp.server import LanguageServer
from pygls.workspace import TextDocument

from pycodesmall.lsp_server.candidates import Candidate
from pycodesmall.lsp_server.completer import Completer
from pycodesmall.lsp_server.protocol import PycodesmallProtocol, serve, stdin_reader
from pycodesmall.lsp_server.settings import Settings

__all__ = ["PycodesmallServer", "create_server", "STATUS"]

STATUS = "pycodesmall/status"
_WORD_BEFORE = re.compile(r"\w*$")


class PycodesmallServer(LanguageServer):
    protocol: PycodesmallProtocol

    def __init__(self, defaults: Settings):
        super().__init__("pycodesmall-lsp", version("pycodesmall"),
                         text_document_sync_kind=types.TextDocumentSyncKind.Incremental,
                         protocol_cls=PycodesmallProtocol)
        self.settings = defaults
        self.completer = Completer()
        self.initialization_options: object = None
        # Settings arrive from `initialized` and didChangeConfiguration, possibly at once (Neovim
        # sends both at startup): applied one after the other, a model loads once.
        self._applying_settings = asyncio.Lock()

    def start_io(self, stdin: BinaryIO | None = None, stdout: BinaryIO | None = None) -> int:
        """Serve over stdin/stdout until `exit` or the end of input; the exit code."""
        self.protocol.set_writer(StdoutWriter(stdout or sys.stdout.buffer))

        async def run() -> int:
            return await serve(stdin_reader(stdin or sys.stdin.buffer), self.protocol)

        return asyncio.run(run())

    def start_tcp(self, host: str, port: int) -> int:
        """Serve the first client that connects to `host:port`; the exit code."""

        async def run() -> int:
            finished: asyncio.Future[int] = asyncio.get_running_loop().create_future()

            async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
                if finished.done() or self.protocol.writer is not None:
                    writer.close()  # one client per server, as over stdio
                    return
                self.protocol.set_writer(writer)
                code = 1
                try:
                    code = await serve(lambda: reader.read(65536), self.protocol)
                finally:
                    writer.close()
                    if not finished.done():
                        finished.set_result(code)

            async with await asyncio.start_server(connection, host, port):
                return await finished

        return asyncio.run(run())

    def warn(self, problems: list[str]) -> None:
        if problems:
            self.window_show_message(types.ShowMessageParams(
                types.MessageType.Warning, "pycodesmall: " + "; ".join(problems)))

    def report_status(self, state: str, message: str) -> None:
        self.protocol.notify(STATUS, {"state": state, "message": message})

    async def apply_settings(self, raw: object) -> None:
        """Apply editor settings, then load the model they name if it is not loaded yet.

        Values that do not fit the model (checked once it is loaded) are refused like any
        bad value: said in a message, the previous value kept.
        """
        async with self._applying_settings:
            await self._apply_settings(raw)

    async def _apply_settings(self, raw: object) -> None:
        previous = self.settings
        settings, problems = previous.updated(raw)
        if self.completer.model is not None and not self.completer.needs_load(settings):
            settings, unfit = settings.fitted(self.completer.model.context_length, previous)
            problems += unfit
        self.settings = settings
        self.warn(problems)
        if not self.completer.needs_load(self.settings):
            return
        name = self.settings.model or "the bundled model"
        self.report_status("loading", f"loading {name}")
        error = await self.completer.load(self.settings)
        if error is None:
            self.settings, unfit = self.settings.fitted(self.completer.model.context_length, previous)
            self.warn(unfit)
            self.report_status("ready", repr(self.completer.model))
            return
        # The message first: a client that waits for the status has the message by then.
        self.window_show_message(types.ShowMessageParams(
            types.MessageType.Error,
            f"pycodesmall: could not load the model ({error}). Completions are off until "
            "the `pycodesmall.model` setting names a model that loads; run "
            "`pycodesmall-lsp --check` to see why."))
        self.report_status("error", error)

    async def suggestions(self, uri: str, position: types.Position
                          ) -> tuple[TextDocument, int, list[Candidate]] | None:
        """The open document, the cursor's offset in it (clamped to the text) and suggestions."""
        # Open documents only (pygls would read others from disk), under pygls' unquoted keys.
        document = self.workspace.text_documents.get(unquote(uri))
        if document is None:
            return None
        offset = document.offset_at_position(types.Position(position.line, position.character))
        return document, offset, await self.completer.complete(uri, document.source, offset, self.settings)


def create_server(defaults: Settings = Settings()) -> PycodesmallServer:
    """A server whose settings start from `defaults` (the command line)."""
    server = PycodesmallServer(defaults)

    @server.feature(types.INITIALIZE)
    def initialize(ls: PycodesmallServer, params: types.InitializeParams) -> None:
        ls.initialization_options = params.initialization_options  # applied once initialized
        inline = params.capabilities.text_document is not None and \
            params.capabilities.text_document.inline_completion is not None
        if inline:
            ls.feature(types.TEXT_DOCUMENT_INLINE_COMPLETION, types.InlineCompletionOptions())(inline_completion)
        else:
            ls.feature(types.TEXT_DOCUMENT_COMPLETION,
                       types.CompletionOptions(trigger_characters=[".", "(", " "]))(completion)

    @server.feature(types.INITIALIZED)
    async def initialized(ls: PycodesmallServer, params: types.InitializedParams) -> None:
        await ls.apply_settings(ls.initialization_options)

    @server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    async def did_change_configuration(ls: PycodesmallServer,
                                       params: types.DidChangeConfigurationParams) -> None:
        await ls.apply_settings(params.settings)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: PycodesmallServer, params: types.DidCloseTextDocumentParams) -> None:
        ls.completer.forget(params.text_document.uri)

    @server.feature(types.SHUTDOWN)
    def shutdown(ls: PycodesmallServer, params: None) -> None:
        ls.completer.close()

    @server.feature(types.EXIT)
    def on_exit(ls: PycodesmallServer, params: None) -> None:
        ls.completer.close()  # stop decodes now, not when the event loop winds down

    return server


async def inline_completion(ls: PycodesmallServer, params: types.InlineCompletionParams
                            ) -> types.InlineCompletionList:
    found = await ls.suggestions(params.text_document.uri, params.position)
    if found is None:
        return types.InlineCompletionList(items=[])
    document, offset, candidates = found
    cursor = _position_at(document, offset)
    return types.InlineCompletionList(items=[
        types.InlineCompletionItem(insert_text=c.text, range=types.Range(cursor, cursor))
        for c in candidates])


async def completion(ls: PycodesmallServer, params: types.CompletionParams) -> types.CompletionList:
    """Menu items that replace the word before the cursor, so that clients filter them by it."""
    found = await ls.suggestions(params.text_document.uri, params.position)
    if found is None:
        return types.CompletionList(is_incomplete=True, items=[])
    document, offset, candidates = found
    source = document.source
    word = _WORD_BEFORE.search(source, source.rfind("\n", 0, offset) + 1, offset).group()
    start = _position_at(document, offset - len(word))
    cursor = _position_at(document, offset)
    items = []
    for rank, candidate in enumerate(candidates):
        text = word + candidate.text
        items.append(types.CompletionItem(
            label=text.split("\n", 1)[0].strip() or text.strip(),
            kind=types.CompletionItemKind.Snippet,
            detail="pycodesmall",
            documentation=types.MarkupContent(types.MarkupKind.Markdown, f"```python\n{text}\n```"),
            filter_text=text,
            sort_text=f"{rank:02d}",
            insert_text_format=types.InsertTextFormat.PlainText,
            text_edit=types.TextEdit(types.Range(start, cursor), text)))
    return types.CompletionList(is_incomplete=True, items=items)


def _position_at(document: TextDocument, offset: int) -> types.Position:
    """The client position of `offset`, also at the very end of a file (where pygls is off)."""
    source = document.source
    line_start = source.rfind("\n", 0, offset) + 1
    return types.Position(source.count("\n", 0, offset),
                          document.position_codec.client_num_units(source[line_start:offset]))
