"""`pycodesmall demo` in headless Chromium: type Python, see the ghost text, accept it with Tab.

With the bundled model, the one a user gets, so that the suggestion (and the screenshot the
test saves when PYCODESMALL_SCREENSHOTS names a folder) is the model's real answer.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from pycodesmall.lsp_server.completer import prompt_for, suggest
from pycodesmall.lsp_server.settings import Settings

from demo_http import serving

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
SAMPLE = '''def read_text(path):
    """The text of the file at path."""
    with open(path) as f:
        return f.'''


@pytest.fixture(scope="module")
def playwright_api():
    api = pytest.importorskip("playwright.sync_api", reason="the browser test needs playwright "
                              "(pip install 'pycodesmall[dev]')")
    if not CHROMIUM.exists():
        pytest.skip(f"the browser test runs the system's Chromium, {CHROMIUM}: apt-get install chromium")
    return api


def test_ghost_text_appears_as_you_type_and_tab_accepts_it(playwright_api):
    expect = playwright_api.expect
    with serving(Settings(debounce_ms=0)) as server:  # the CLI's settings
        model, settings = server.completer.model, server.settings
        expected = suggest(model, prompt_for(model, SAMPLE, len(SAMPLE), settings), settings)
        assert expected and len(expected[0].text) > 1, "no suggestion for SAMPLE: pick another"
        suggestion = expected[0].text
        with playwright_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
            try:
                page = browser.new_page(viewport={"width": 1000, "height": 460})
                requested, errors = [], []
                page.on("request", lambda request: requested.append(request.url))
                page.on("pageerror", lambda error: errors.append(str(error)))
                page.goto(server.url)
                expect(page.locator("#model")).to_have_text(model.name)
                ghost = page.locator("#overlay .ghost")
                editor = page.locator("#code")
                editor.press_sequentially(SAMPLE, delay=10)  # pauses and stale answers on the way
                expect(ghost).to_have_text(suggestion, timeout=20_000)
                if folder := os.environ.get("PYCODESMALL_SCREENSHOTS"):
                    Path(folder).mkdir(parents=True, exist_ok=True)
                    page.screenshot(path=Path(folder) / "demo.png")
                page.keyboard.press("Escape")
                expect(ghost).to_have_count(0)
                # Typing the suggestion's first character leaves the rest of it to accept.
                page.keyboard.type(suggestion[0])
                expect(ghost).to_have_text(suggestion[1:])
                page.keyboard.press("Tab")
                expect(editor).to_have_value(SAMPLE + suggestion)
                expect(page.locator("#backend")).to_have_text(model.backend.name)
                expect(page.locator("#device")).to_have_text(str(model.device))
                expect(page.locator("#latency")).to_have_text(re.compile(r"^\d+ ms \(round trip \d+ ms\)$"))
                expect(page.locator("#requests li.shown").first).to_contain_text(" ms ")
            finally:
                browser.close()
        assert not errors
        assert all(url.startswith(server.url) for url in requested), requested
