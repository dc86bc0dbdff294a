"""`pycodesmall demo`: ghost text in a local web page, from the language server's completer.

The page (`demo_page/`, served from the package, nothing from elsewhere) sends the editor's
text and cursor to `POST /api/complete`; the answer comes from `Completer.complete`, the
call that serves the language server's requests, so the demo shows what an editor would:
the same context window, fill-in-the-middle encoding, validation and ranking, and a newer
request from a page stops the older one still decoding. `GET /api/info` names the model.

The standard library's threading HTTP server is enough for one user on this machine, and a
request waiting on the model must not hold up the newer one that supersedes it. The
completer is asynchronous, so its event loop runs in a thread of its own.
"""

from __future__ import annotations

import asyncio
import errno
import json
import sys
import threading
import time
from collections.abc import Coroutine
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from importlib.metadata import version
from typing import Any
from urllib.parse import urlsplit

from pycodesmall import PycodesmallError
from pycodesmall.lsp_server.completer import Completer
from pycodesmall.lsp_server.settings import Settings

__all__ = ["DemoServer", "start_demo", "BadRequest", "parse_request"]

MAX_BODY = 4 * 2**20  # bytes; far more than a file the context window could show
_PAGES = {"/": ("index.html", "text/html"), "/demo.js": ("demo.js", "text/javascript"),
          "/demo.css": ("demo.css", "text/css")}
_ROUTES = {"GET": {*_PAGES, "/api/info"}, "POST": {"/api/complete"}}


class BadRequest(ValueError):
    """A request the API cannot answer; the message says why, for the HTTP response."""

    def __init__(self, message: str, status: HTTPStatus = HTTPStatus.BAD_REQUEST):
        super().__init__(message)
        self.status = status


def parse_request(body: bytes) -> tuple[str, str, int]:
    """(document, text, offset) of a completion request.

    The body is a JSON object: `text`, the cursor as `offset` or as `line` and `character`
    (zero-based; lines end at "\\n"; both offsets count characters, that is code points, not
    UTF-16 units), and optionally `document`: requests for the same document supersede each
    other, as an editor's do.
    """
    try:
        request = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise BadRequest(f"the request body is not JSON: {e}") from None
    if not isinstance(request, dict):
        raise BadRequest(f"the request body must be a JSON object, got {type(request).__name__}")
    text, document = request.get("text"), request.get("document", "demo")
    if not isinstance(text, str):
        raise BadRequest("`text` must be a string: the code in the editor")
    if not isinstance(document, str):
        raise BadRequest("`document` must be a string")
    if "offset" in request:
        return document, text, _index(request, "offset", len(text))
    if "line" not in request or "character" not in request:
        raise BadRequest("give the cursor as `offset`, or as `line` and `character`")
    lines = text.split("\n")
    line = _index(request, "line", len(lines) - 1)
    character = _index(request, "character", len(lines[line]))
    return document, text, sum(len(above) + 1 for above in lines[:line]) + character


def _index(request: dict, key: str, highest: int) -> int:
    value = request[key]
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= highest:
        raise BadRequest(f"`{key}` must be an integer from 0 to {highest}, got {value!r}")
    return value


class DemoServer(ThreadingHTTPServer):
    """The page and its API over one `Completer` and one model."""

    daemon_threads = True  # a request still waiting on the model must not keep the process up

    def __init__(self, address: tuple[str, int], settings: Settings):
        self.settings = settings
        self.completer = Completer()
        self._loop = asyncio.new_event_loop()
        self._loop_thread = threading.Thread(target=self._loop.run_forever, daemon=True,
                                             name="pycodesmall-demo-loop")
        self._loop_thread.start()
        super().__init__(address, _Handler)  # when it cannot listen, it calls server_close

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}/"

    def run(self, coroutine: Coroutine) -> Any:
        """Run `coroutine` on the completer's event loop; its result, once it is done."""
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

    def load_model(self) -> None:
        """Load the model `settings` name; raises `PycodesmallError` with the reason if it fails."""
        error = self.run(self.completer.load(self.settings))
        if error is not None:
            raise PycodesmallError(error)
        # Settings come from the command line, not an editor: no one to tell that a short
        # context got fewer new tokens than the default.
        self.settings, _ = self.settings.fitted(self.completer.model.context_length, self.settings)

    def info(self) -> dict[str, Any]:
        model = self.completer.model
        return {"model": model.name, "backend": model.backend.name, "device": str(model.device),
                "context_length": model.context_length, "version": version("pycodesmall")}

    def answer(self, body: bytes) -> dict[str, Any]:
        """The answer to a completion request. `suggestions` is empty when none was valid, or
        when a newer request for the same document superseded this one.

        latency_ms: from the request's arrival to its answer, on the server.
        """
        started = time.perf_counter()
        document, text, offset = parse_request(body)
        try:
            candidates = self.run(self.completer.complete(document, text, offset, self.settings))
        except PycodesmallError as e:  # text the library refuses, such as a lone surrogate
            raise BadRequest(str(e)) from None
        model = self.completer.model
        return {"suggestions": [c.text for c in candidates], "model": model.name,
                "backend": model.backend.name,
                "latency_ms": round((time.perf_counter() - started) * 1000, 1)}

    def handle_error(self, request, client_address) -> None:
        """A page that went away mid-request (reloaded, closed) is not worth a traceback."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)

    def server_close(self) -> None:
        """Stop listening, stop any decode, and end the event loop's thread."""
        super().server_close()
        self.completer.close()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._loop_thread.join()
        self._loop.close()


def start_demo(settings: Settings, host: str = "127.0.0.1", port: int = 0) -> DemoServer:
    """A demo server listening on `host:port` (0: any free port) with its model loaded.

    Call `serve_forever` on it; as a context manager it closes. Raises `PycodesmallError`
    with a message for the user when the port is taken or the model does not load.
    """
    try:
        server = DemoServer((host, port), settings)
    except OSError as e:
        if e.errno == errno.EADDRINUSE:
            raise PycodesmallError(f"port {port} on {host} is in use (by another demo?): choose "
                                   "another port, or port 0 for any free one") from None
        raise PycodesmallError(f"cannot listen on {host}:{port}: {e.strerror or e}") from None
    try:
        server.load_model()
    except BaseException:
        server.server_close()
        raise
    return server


class _Handler(BaseHTTPRequestHandler):
    server: DemoServer

    def do_GET(self) -> None:
        path = self._route("GET")
        if path == "/api/info":
            self._send_json(HTTPStatus.OK, self.server.info())
        elif path is not None:
            name, kind = _PAGES[path]
            page = resources.files(__package__).joinpath("demo_page", name).read_bytes()
            self._send(HTTPStatus.OK, f"{kind}; charset=utf-8", page)

    def do_POST(self) -> None:
        if self._route("POST") is None:
            return
        try:
            self._send_json(HTTPStatus.OK, self.server.answer(self._body()))
        except BadRequest as e:
            self._send_json(e.status, {"error": str(e)})

    def _route(self, method: str) -> str | None:
        """The request's path if `method` serves it; otherwise answer 403, 404 or 405 and None."""
        path = urlsplit(self.path).path
        if not self._host_allowed():
            self._send_json(HTTPStatus.FORBIDDEN, {"error": "this demo answers only requests "
                                                   "addressed to the host it listens on"})
            return None
        if path in _ROUTES[method]:
            return path
        if any(path in paths for paths in _ROUTES.values()):
            self._send_json(HTTPStatus.METHOD_NOT_ALLOWED, {"error": f"{path} does not take {method}"})
        else:
            self._send_json(HTTPStatus.NOT_FOUND, {"error": f"no such page: {path}"})
        return None

    def _host_allowed(self) -> bool:
        """On a loopback address, only requests addressed to this machine: another site's page
        whose name is made to resolve to 127.0.0.1 (DNS rebinding) sends its own Host."""
        listening = self.server.server_address[0]
        if listening not in ("127.0.0.1", "::1"):
            return True
        host = urlsplit("//" + self.headers.get("Host", "")).hostname
        return host in ("127.0.0.1", "localhost", "::1")

    def _body(self) -> bytes:
        length = self.headers.get("Content-Length", "")
        if not (length.isascii() and length.isdigit()):
            raise BadRequest("the request needs a Content-Length header", HTTPStatus.LENGTH_REQUIRED)
        length = int(length)
        if length > MAX_BODY:
            raise BadRequest(f"the request body is over {MAX_BODY} bytes",
                             HTTPStatus.REQUEST_ENTITY_TOO_LARGE)
        return self.rfile.read(length)

    def _send_json(self, status: HTTPStatus, value: dict) -> None:
        self._send(status, "application/json", json.dumps(value).encode())

    def _send(self, status: HTTPStatus, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        # The page works offline: nothing but this server may be loaded or called.
        self.send_header("Content-Security-Policy", "default-src 'self'")
        self.end_headers()
        self.wfile.write(body)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Quiet: the page sends a request per pause in typing. Errors are still logged."""
