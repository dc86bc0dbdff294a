"""Helpers for the tests of `pycodesmall demo`: a real server in a thread, and plain HTTP calls."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager

from pycodesmall.lsp_server.demo import DemoServer, start_demo
from pycodesmall.lsp_server.settings import Settings


@contextmanager
def serving(settings: Settings) -> Iterator[DemoServer]:
    """A demo server on a free port of 127.0.0.1, serving from a thread until the block ends."""
    with start_demo(settings, "127.0.0.1", 0) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield server
        finally:
            server.shutdown()
            thread.join()


def call(server: DemoServer, path: str, body: bytes | dict | None = None) -> tuple[int, dict]:
    """GET `path`, or POST `body` (bytes as they are, else as JSON) to it: the status and JSON answer."""
    data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
    request = urllib.request.Request(server.url + path.lstrip("/"), data=data,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as e:
        with e:
            return e.code, json.load(e)
