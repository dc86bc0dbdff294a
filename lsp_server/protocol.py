"""pygls' protocol with the lifecycle and error answers of LSP 3.17, and the loop that feeds it.

pygls leaves a client waiting where the specification asks for an answer: a request whose
params do not fit its type (pygls fails before it knows the id), requests before
`initialize` (answered -32601) or after `shutdown` (dropped), and a second `initialize`.
`PycodesmallProtocol` answers each, so every request gets exactly one response:

- before `initialize` succeeds: -32002 ServerNotInitialized (notifications are dropped);
- a second `initialize`, or any request after `shutdown`: -32600 InvalidRequest;
- params that do not fit the method's type: -32602 InvalidParams, saying which field;
- a body that is not JSON: -32700 ParseError, and not a JSON-RPC message: -32600, with a
  null id when none can be read (JSON-RPC 2.0, section 5).

`exit` stops the loop with code 0 after `shutdown` and 1 otherwise; so does the end of the
input stream. (pygls computes that code, then its `start_io` swallows the `SystemExit`.)
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import Awaitable, Callable
from typing import Any, BinaryIO

import cattrs
from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pygls.protocol import LanguageServerProtocol, lsp_method
from pygls.protocol.json_rpc import RPCRequest

from pycodesmall.lsp_server.framing import FrameParser, Message, Skipped, Undecodable

__all__ = ["PycodesmallProtocol", "serve", "stdin_reader"]

logger = logging.getLogger(__name__)

_READ_SIZE = 65536


class _LateCancelIsNormal(logging.Filter):
    """pygls warns of a `$/cancelRequest` for a request it has already answered. LSP allows
    that race (the answer may be on its way while the client gives up on it), and an editor
    typing fast makes it every few keystrokes: a debug line, not a warning."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not str(record.msg).startswith("Cancel notification for unknown message id"):
            return True
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return logging.getLogger().isEnabledFor(logging.DEBUG)


_LATE_CANCEL = _LateCancelIsNormal()


class PycodesmallProtocol(LanguageServerProtocol):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        logging.getLogger("pygls.protocol.json_rpc").addFilter(_LATE_CANCEL)  # once: addFilter skips a repeat
        self.initialized = False
        self.exit_code: int | None = None  # set by `exit` (or the end of input): stop reading

    # -- what comes in ------------------------------------------------------------------

    def receive(self, event: Message | Undecodable | Skipped) -> None:
        """Handle one event of the frame parser; answer every request, whatever is wrong."""
        if isinstance(event, Skipped):
            logger.warning("skipped %d bytes of input: %s", event.size, event.reason)
            return
        if isinstance(event, Undecodable):
            logger.warning("a message could not be read: %s", event.reason)
            self._send_error(None, types.ErrorCodes.ParseError, f"Parse error: {event.reason}")
            return
        data = event.value
        if not isinstance(data, dict):
            self._send_error(None, types.ErrorCodes.InvalidRequest,
                             f"Invalid request: a message is a JSON object, not {type(data).__name__}")
            return
        id, method = data.get("id"), data.get("method")
        id_ok = id is None or (isinstance(id, (int, str)) and not isinstance(id, bool))
        response = method is None and ("result" in data or "error" in data)
        if (data.get("jsonrpc") != "2.0" or not id_ok or not isinstance(method, (str, type(None)))
                or (method is None and not response)):
            if response:  # a client's answer to a server request is never answered
                logger.warning("dropped a malformed response: %.200r", data)
            else:
                self._send_error(id if id_ok else None, types.ErrorCodes.InvalidRequest,
                                 'Invalid request: not a JSON-RPC 2.0 message ("jsonrpc": "2.0", '
                                 'an integer or string "id", a string "method")')
            return
        is_request = method is not None and id is not None
        if method is not None and (refusal := self._refusal(method, is_request)) is not None:
            if is_request:
                self._send_error(id, *refusal)
            return
        try:
            message = self.structure_message(data)
        except JsonRpcException as error:
            if method == types.EXIT:  # `exit` with stray params is still `exit`
                message = types.ExitNotification()
            elif is_request and not self._handles(method):
                self._send_error(id, types.ErrorCodes.MethodNotFound, f"Method Not Found: {method}")
                return
            elif is_request:
                self._send_error(id, types.ErrorCodes.InvalidParams,
                                 f"Invalid params for {method}: {_why(error)}")
                return
            else:
                logger.warning("dropped %s: %s", method or f"the response to {id!r}", _why(error))
                return
        self.handle_message(message)

    def handle_message(self, message: Any) -> None:
        method = getattr(message, "method", None)
        if method is not None and (refusal := self._refusal(method, isinstance(message, RPCRequest))):
            if isinstance(message, RPCRequest):
                self._send_error(message.id, *refusal)
            return
        super().handle_message(message)

    def _refusal(self, method: str, is_request: bool) -> tuple[int, str] | None:
        """The error for `method` in the server's state, or None when it may run."""
        if method == types.EXIT:
            return None
        if not self.initialized:
            if method == types.INITIALIZE and is_request:
                return None
            return (types.ErrorCodes.ServerNotInitialized,
                    f"Server not initialized: {method} before `initialize`; send `initialize` first")
        if method == types.INITIALIZE:
            return (types.ErrorCodes.InvalidRequest,
                    "Invalid request: `initialize` was already received; a server is initialized once")
        if self._shutdown:
            return (types.ErrorCodes.InvalidRequest,
                    f"Invalid request: {method} after `shutdown`; only `exit` is accepted now")
        return None

    def _handles(self, method: str) -> bool:
        return method in self.fm.builtin_features or method in self.fm.features

    def _send_error(self, id: int | str | None, code: int, message: str) -> None:
        # A plain dict: lsprotocol's converter would leave out a null id, which JSON-RPC requires.
        self._send_data({"jsonrpc": "2.0", "id": id, "error": {"code": int(code), "message": message}})

    # -- the lifecycle ------------------------------------------------------------------

    @lsp_method(types.INITIALIZE)
    def lsp_initialize(self, params: types.InitializeParams):
        result = yield from super().lsp_initialize(params)
        self.initialized = True
        return result

    @lsp_method(types.EXIT)
    def lsp_exit(self, *args):
        """Stop reading; the caller exits with `exit_code` once the loop has ended."""
        self.exit_code = 0 if self._shutdown else 1
        if (user_handler := self.fm.features.get(types.EXIT)) is not None:
            yield user_handler, args, None


def _why(error: JsonRpcException) -> str:
    cause = error.__cause__
    if isinstance(cause, cattrs.ClassValidationError):
        return "; ".join(cattrs.transform_error(cause, path="$"))
    return str(cause or error)


class _Discard:
    """The writer once the client is gone: late results of cancelled requests go nowhere."""

    def write(self, data: bytes) -> None:
        pass

    def close(self) -> None:
        pass


async def serve(read: Callable[[], Awaitable[bytes]], protocol: PycodesmallProtocol) -> int:
    """Read frames with `read` (b"" at the end) into `protocol` until `exit`; the exit code."""
    parser = FrameParser()
    try:
        while protocol.exit_code is None:
            data = await read()
            for event in parser.feed(data) if data else parser.close():
                try:
                    protocol.receive(event)
                except BrokenPipeError:
                    raise
                except Exception:  # a bug in a handler must not end the session
                    logger.exception("could not handle %.200r", event)
                if protocol.exit_code is not None:
                    break
            if not data and protocol.exit_code is None:
                logger.info("the input stream ended without `exit`")
                protocol.exit_code = 0 if protocol._shutdown else 1
    except BrokenPipeError:
        logger.error("the connection to the client is lost")
        protocol.exit_code = 1
    protocol.set_writer(_Discard())
    return protocol.exit_code


def stdin_reader(stdin: BinaryIO) -> Callable[[], Awaitable[bytes]]:
    """`read` for `serve` from a blocking stream, on a daemon thread.

    A daemon, so that a client that keeps the pipe open after `exit` cannot keep the process
    alive (pygls reads stdin on a pool thread that exiting has to join). It reads the file
    descriptor, not the buffered stream: a daemon thread blocked inside a buffered reader
    holds its lock, and the interpreter aborts when it finds that lock taken at exit.
    """
    loop = asyncio.get_running_loop()
    chunks: asyncio.Queue[bytes] = asyncio.Queue()
    try:
        descriptor = stdin.fileno()
        read = lambda size: os.read(descriptor, size)  # noqa: E731
    except (AttributeError, OSError, ValueError):
        read = getattr(stdin, "read1", None) or stdin.read

    def pump() -> None:
        while True:
            try:
                data = read(_READ_SIZE)
            except (OSError, ValueError):
                data = b""
            try:
                loop.call_soon_threadsafe(chunks.put_nowait, data)
            except RuntimeError:  # the loop is closed: the server has exited
                return
            if not data:
                return

    threading.Thread(target=pump, name="pycodesmall-stdin", daemon=True).start()
    return chunks.get
