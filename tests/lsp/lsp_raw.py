"""A byte-level client for the real server process: for frames and messages no LSP client sends.

pytest-lsp's client always frames and types its messages correctly; the protocol tests need
to send broken frames, untyped params and requests in the wrong order, and to see exactly
what comes back (including responses whose id is null).
"""

from __future__ import annotations

import json
import queue
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from lsp_e2e import server_command

PROBE = "pycodesmall/noSuchMethod"  # a request every server state answers, without the model


def frame(message: dict | bytes) -> bytes:
    body = message if isinstance(message, bytes) else json.dumps(message).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def request(id: int | str, method: str, params: object = None) -> dict:
    message = {"jsonrpc": "2.0", "id": id, "method": method}
    if params is not None:
        message["params"] = params
    return message


def notification(method: str, params: object = None) -> dict:
    message = {"jsonrpc": "2.0", "method": method}
    if params is not None:
        message["params"] = params
    return message


class RawServer:
    """The server process, its stdout parsed into messages on a thread, its stderr in a file."""

    def __init__(self, model_dir: Path | str):
        self.log = tempfile.TemporaryFile()
        self.process = subprocess.Popen(server_command(model_dir), stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=self.log)
        self.messages: queue.Queue[dict] = queue.Queue()
        self.seen: list[dict] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        stdout = self.process.stdout
        while True:
            length = None
            while (line := stdout.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode("ascii").partition(":")
                if name.lower() == "content-length":
                    length = int(value)
            if not line or length is None:
                return
            self.messages.put(json.loads(stdout.read(length)))

    def send(self, data: bytes) -> None:
        self.process.stdin.write(data)
        self.process.stdin.flush()

    def request(self, id: int | str, method: str, params: object = None) -> None:
        self.send(frame(request(id, method, params)))

    def notify(self, method: str, params: object = None) -> None:
        self.send(frame(notification(method, params)))

    def next_message(self, timeout: float) -> dict | None:
        try:
            message = self.messages.get(timeout=timeout)
        except queue.Empty:
            return None
        self.seen.append(message)
        return message

    def response(self, id: int | str | None, timeout: float = 30.0) -> dict:
        """The response to request `id` (None: a response with a null id), skipping the rest."""
        for message in self.seen:
            if "method" not in message and message.get("id", "absent") == id:
                self.seen.remove(message)
                return message
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            message = self.next_message(left)
            if message is not None and "method" not in message and message.get("id", "absent") == id:
                self.seen.remove(message)
                return message
        raise AssertionError(f"no response to request {id!r} within {timeout} s; "
                             f"server log:\n{self.stderr()[-3000:]}")

    def notifications(self, method: str) -> list[dict]:
        while self.next_message(0.0) is not None:
            pass
        return [m for m in self.seen if m.get("method") == method]

    def initialize(self, options: dict | None = None, wait_for_model: bool = True) -> dict:
        self.request("init", "initialize", {"processId": None, "rootUri": None, "capabilities": {
            "textDocument": {"inlineCompletion": {}}},
            "initializationOptions": {"debounceMs": 0, "repetitionPenalty": 1.0, **(options or {})}})
        result = self.response("init", timeout=60)
        self.notify("initialized", {})
        if wait_for_model:
            deadline = time.monotonic() + 60
            while not any(m["params"]["state"] != "loading" for m in self.notifications("pycodesmall/status")):
                assert time.monotonic() < deadline, "the model did not load"
                self.next_message(0.5)
        return result

    def wait(self, timeout: float = 30.0) -> int:
        return self.process.wait(timeout)

    def stderr(self) -> str:
        self.log.seek(0)
        return self.log.read().decode(errors="replace")

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.process.stdin.close()
        self.process.stdout.close()
        self.log.close()
