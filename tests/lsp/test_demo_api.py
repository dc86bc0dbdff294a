"""The JSON API of `pycodesmall demo`, against the real server: the language server's answers,
clear errors for bad requests, and superseded requests that stop decoding."""

from __future__ import annotations

import functools
import http.client
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from click.testing import CliRunner

from pycodesmall import PycodesmallError
from pycodesmall.cli import main
from pycodesmall.lsp_server.demo import start_demo
from pycodesmall.lsp_server.settings import Settings

from demo_http import call, serving
from lsp_e2e import SOURCE, library_suggestions

FIM_TEXT = SOURCE + "\n\nprint(x)\n"


@pytest.fixture(scope="module")
def demo(lsp_model_dir):
    with serving(Settings(model=str(lsp_model_dir), device="cpu", repetition_penalty=1.0,
                          debounce_ms=0)) as server:
        yield server


def test_info_names_the_model_and_its_backend(demo):
    status, info = call(demo, "/api/info")
    model = demo.completer.model
    assert status == 200
    assert info["model"] == model.name and info["backend"] == model.backend.name
    assert info["device"] == "cpu" and info["context_length"] == 512


def test_requests_addressed_to_another_host_are_refused(demo):
    # A page of another site whose name was made to resolve to 127.0.0.1 sends its own Host.
    host, port = demo.server_address[:2]
    connection = http.client.HTTPConnection(host, port, timeout=30)
    connection.request("GET", "/api/info", headers={"Host": f"attacker.example:{port}"})
    assert connection.getresponse().status == 403
    connection.close()
    assert call(demo, "/api/info")[0] == 200


def test_suggestions_are_the_language_server_s(demo, lsp_model_dir):
    expected = library_suggestions(lsp_model_dir, SOURCE)
    assert expected
    status, answer = call(demo, "/api/complete", {"text": SOURCE, "offset": len(SOURCE)})
    assert status == 200 and answer["suggestions"] == expected
    assert answer["model"] == demo.completer.model.name
    assert answer["backend"] == demo.completer.model.backend.name
    assert answer["latency_ms"] >= 0
    last_line = SOURCE.split("\n")[-1]
    _, by_position = call(demo, "/api/complete", {"text": SOURCE, "line": SOURCE.count("\n"),
                                                  "character": len(last_line), "document": "other"})
    assert by_position["suggestions"] == expected


def test_code_after_the_cursor_is_filled_in_the_middle(demo, lsp_model_dir):
    offset = len(SOURCE)
    _, answer = call(demo, "/api/complete", {"text": FIM_TEXT, "offset": offset})
    assert answer["suggestions"] == library_suggestions(lsp_model_dir, FIM_TEXT, offset)


def test_offsets_count_characters_not_utf16_units(demo, lsp_model_dir):
    text = "s = '\U0001F600'\n" + SOURCE
    _, by_offset = call(demo, "/api/complete", {"text": text, "offset": len(text)})
    _, by_position = call(demo, "/api/complete", {"text": text, "line": text.count("\n"),
                                                  "character": len(SOURCE.split("\n")[-1])})
    assert by_offset["suggestions"] == by_position["suggestions"] == library_suggestions(lsp_model_dir, text)


@pytest.mark.parametrize("body, message", [
    (b"{", "the request body is not JSON"),
    (b"\xff", "the request body is not JSON"),
    (b"[1]", "must be a JSON object, got list"),
    (b'{"offset": 0}', "`text` must be a string"),
    (b'{"text": "x"}', "give the cursor as `offset`, or as `line` and `character`"),
    (b'{"text": "x", "offset": 2}', "`offset` must be an integer from 0 to 1, got 2"),
    (b'{"text": "x", "offset": true}', "`offset` must be an integer from 0 to 1, got True"),
    (b'{"text": "a\\nb", "line": 2, "character": 0}', "`line` must be an integer from 0 to 1"),
    (b'{"text": "a\\nb", "line": 1, "character": 3}', "`character` must be an integer from 0 to 1"),
    (b'{"text": "x", "offset": 1, "document": 7}', "`document` must be a string"),
    (b'{"text": "x = \\ud800", "offset": 5}', "lone surrogate"),
])
def test_bad_requests_get_400_and_the_reason(demo, body, message):
    status, answer = call(demo, "/api/complete", body)
    assert status == 400 and message in answer["error"]


def test_a_request_without_content_length_gets_411(demo):
    connection = http.client.HTTPConnection(*demo.server_address[:2], timeout=10)
    try:
        connection.putrequest("POST", "/api/complete")
        connection.endheaders()
        assert connection.getresponse().status == 411
    finally:
        connection.close()


def test_unknown_routes_get_404_and_wrong_methods_405(demo):
    assert call(demo, "/api/nothing") == (404, {"error": "no such page: /api/nothing"})
    assert call(demo, "/api/nothing", {"text": ""})[0] == 404
    assert call(demo, "/api/complete") == (405, {"error": "/api/complete does not take GET"})
    assert call(demo, "/api/info", {})[0] == 405


@pytest.mark.parametrize("path, kind", [("/", "text/html"), ("/demo.js", "text/javascript"),
                                        ("/demo.css", "text/css")])
def test_the_page_is_served_from_the_package_and_loads_nothing_else(demo, path, kind):
    with urllib.request.urlopen(demo.url + path.lstrip("/"), timeout=10) as response:
        assert response.headers["Content-Type"] == f"{kind}; charset=utf-8"
        assert response.headers["Content-Security-Policy"] == "default-src 'self'"
        assert "://" not in response.read().decode()


def test_a_newer_request_for_the_document_stops_the_older_one(slow_model_dir):
    text = "x = 1\n"  # at the top level no line ends the block: the decode runs to its limit
    settings = Settings(model=str(slow_model_dir), device="cpu", max_new_tokens=500,
                        max_lines=100, validate=False, debounce_ms=0)
    with serving(settings) as server, ThreadPoolExecutor(2) as pool:
        first = pool.submit(call, server, "/api/complete", {"text": text, "offset": len(text)})
        deadline = time.monotonic() + 30
        while server.completer.decodes == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.2)
        # Blank text: nothing to decode, so it ends as soon as the model is free.
        newer = pool.submit(call, server, "/api/complete", {"text": "", "offset": 0})
        status, answer = first.result(timeout=5)  # stopped within a step, not after 500
        assert status == 200 and answer["suggestions"] == []
        assert newer.result(timeout=5)[1]["suggestions"] == []


def test_a_port_in_use_is_refused_in_words():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(PycodesmallError, match=f"port {port} on 127.0.0.1 is in use"):
            start_demo(Settings(), "127.0.0.1", port)


def test_an_unknown_model_gets_the_error_every_command_gives():
    runner = CliRunner()
    demo = runner.invoke(main, ["demo", "--no-browser", "--port", "0", "--model", "no-such-model"])
    complete = runner.invoke(main, ["complete", "--model", "no-such-model", "x = 1"])
    assert demo.exit_code == complete.exit_code == 1
    assert "unknown model 'no-such-model'" in demo.stderr
    assert demo.stderr.splitlines()[-1] == complete.stderr.splitlines()[-1]


def test_the_command_prints_the_address_and_stops_on_ctrl_c(lsp_model_dir):
    command = [str(Path(sys.executable).with_name("pycodesmall")), "demo", "--no-browser",
               "--port", "0", "--model", str(lsp_model_dir), "--device", "cpu"]
    # Ctrl+C as a terminal sends it. A test run started in the background (nohup, `cmd &`)
    # inherits SIGINT ignored, and Python keeps an ignored SIGINT ignored: restore it.
    restore_sigint = functools.partial(signal.signal, signal.SIGINT, signal.SIG_DFL)
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               preexec_fn=restore_sigint)
    try:
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), process.stderr.read()
        with urllib.request.urlopen(url + "api/info", timeout=10) as response:
            assert response.status == 200
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
    finally:
        process.kill()  # a no-op once it has exited; never leaves the test waiting on it
        process.communicate()
