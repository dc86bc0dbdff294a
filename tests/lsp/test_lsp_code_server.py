"""The extension in a real VS Code: code-server serves it, Playwright drives it through Chromium.

It types a line, waits for the server's suggestion as ghost text, accepts it with Tab, saves
and reads the file back. Needs code-server (editors/vscode/scripts/install-code-server.sh,
which `.ci/run` calls), Debian's chromium and `npm ci` in editors/vscode; skipped without them.
With PYCODESMALL_SCREENSHOTS=DIR each test saves what the editor showed there; the bundled
model's is editors/screenshots/vscode-ghost-text.png.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest

from pycodesmall.hub import DEFAULT_MODEL

from lsp_e2e import SERVER, library_suggestions

sync_api = pytest.importorskip("playwright.sync_api", reason="needs the playwright package ([dev] extra)")

VSCODE = Path(__file__).resolve().parents[2] / "editors" / "vscode"


def code_server_home() -> Path:
    """Where editors/vscode/scripts/install-code-server.sh installs: the same variables and default."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return Path(os.environ.get("PYCODESMALL_CODE_SERVER_HOME") or cache / "pycodesmall" / "code-server")


CODE_SERVER = code_server_home() / "bin" / "code-server"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
TIMEOUT_S = 180  # VS Code's first start takes tens of seconds on two busy cores

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CODE_SERVER.is_file(),
                       reason=f"needs code-server at {CODE_SERVER}: run editors/vscode/scripts/install-code-server.sh"),
    pytest.mark.skipif(not CHROMIUM.is_file(), reason=f"needs Debian's chromium at {CHROMIUM}"),
    pytest.mark.skipif(not (VSCODE / "node_modules").is_dir(), reason="needs `npm ci` in editors/vscode"),
]

# A quiet, predictable window: no welcome page, trust prompt, update check or telemetry, and
# no suggestion menu, whose Tab would compete with the ghost text's.
EDITOR_SETTINGS = {
    "telemetry.telemetryLevel": "off",
    "update.mode": "none",
    "extensions.autoCheckUpdates": False,
    "extensions.autoUpdate": False,
    "extensions.ignoreRecommendations": True,
    "security.workspace.trust.enabled": False,
    "workbench.startupEditor": "none",
    "workbench.tips.enabled": False,
    "workbench.secondarySideBar.defaultVisibility": "hidden",
    "chat.disableAIFeatures": True,
    "editor.quickSuggestions": {"other": False, "comments": False, "strings": False},
    "editor.suggestOnTriggerCharacters": False,
    "editor.wordBasedSuggestions": "off",
    "editor.inlineSuggest.enabled": True,
}


@pytest.fixture(scope="module")
def vsix(tmp_path_factory) -> Path:
    """The extension as users install it: `vsce package` runs its `vscode:prepublish` build."""
    path = tmp_path_factory.mktemp("vsix") / "pycodesmall.vsix"
    result = subprocess.run(["npm", "exec", "--", "vsce", "package", "--out", str(path)], cwd=VSCODE,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def code_server(root: Path, vsix: Path, settings: dict, folder: Path) -> Iterator[str]:
    """code-server with the extension and these user settings, serving `folder`; yields its URL.

    Its state (user data, extensions, XDG folders) stays under `root`; it and everything it
    started are killed at the end.
    """
    env = {**os.environ, "XDG_CONFIG_HOME": str(root / "config"), "XDG_DATA_HOME": str(root / "data")}
    dirs = ["--user-data-dir", str(root / "user-data"), "--extensions-dir", str(root / "extensions")]
    subprocess.run([str(CODE_SERVER), *dirs, "--install-extension", str(vsix)], env=env, check=True,
                   capture_output=True, timeout=TIMEOUT_S)  # refused if VS Code is older than engines.vscode
    (root / "user-data" / "User").mkdir(parents=True, exist_ok=True)
    (root / "user-data" / "User" / "settings.json").write_text(json.dumps(settings, indent=2))
    url = f"http://127.0.0.1:{free_port()}"
    with open(root / "code-server.log", "wb") as log:
        process = subprocess.Popen(
            [str(CODE_SERVER), *dirs, "--auth", "none", "--bind-addr", url.removeprefix("http://"),
             "--disable-telemetry", "--disable-update-check", "--disable-workspace-trust", str(folder)],
            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + TIMEOUT_S
        while True:
            assert process.poll() is None, (root / "code-server.log").read_text()
            try:
                urllib.request.urlopen(f"{url}/healthz", timeout=5).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "code-server did not answer"
                time.sleep(0.5)
        yield f"{url}/?folder={folder}"
    finally:
        for pid in process_tree(process.pid):
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def process_tree(pid: int) -> list[int]:
    """`pid` and all it started: the group kill misses the language server, which VS Code
    starts in a session of its own."""
    tree = [pid]
    for parent in tree:  # grows while it is walked: breadth first
        for children in Path(f"/proc/{parent}/task").glob("*/children"):
            with suppress(OSError):
                tree += map(int, children.read_text().split())
    return tree


def ghost_text(page) -> str:
    """The inline suggestion VS Code shows on the cursor's line (spaces come as no-break spaces)."""
    return "".join(page.locator(".ghost-text-decoration").all_text_contents()).replace("\xa0", " ")


def check_ghost_text_is_shown_and_accepted(tmp_path: Path, vsix: Path, model: str, before: str, typed: str,
                                           screenshot: str) -> None:
    """Open a file holding `before`, type `typed` at its end, and expect the library's suggestion."""
    expected = library_suggestions(model, before + typed)
    assert expected and expected[0].strip(), f"{model} suggests nothing here: pick another text"
    folder = tmp_path / "project"
    folder.mkdir()
    source = folder / "example.py"
    source.write_text(before)
    settings = {**EDITOR_SETTINGS, "pycodesmall.serverCommand": SERVER, "pycodesmall.model": model,
                "pycodesmall.repetitionPenalty": 1.0}  # plain greedy, as `expected` was computed
    with code_server(tmp_path / "code-server", vsix, settings, folder) as url, \
            sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 960, "height": 420})
        page.set_default_timeout(TIMEOUT_S * 1000)
        page.goto(url)
        page.locator(".monaco-workbench").wait_for()
        page.keyboard.press("Control+P")
        page.locator(".quick-input-widget input").wait_for()
        page.keyboard.type(source.name)
        page.locator(".quick-input-list", has_text=source.name).wait_for()
        page.keyboard.press("Enter")
        # The extension starts with the first Python file; its status item sparkles once the model is loaded.
        page.locator('[id="pycodesmall.pycodesmall"] .codicon-sparkle').wait_for()
        page.keyboard.press("Control+End")
        page.keyboard.type(typed, delay=20)
        deadline = time.monotonic() + 60
        while (shown := ghost_text(page)) != expected[0] and time.monotonic() < deadline:
            page.wait_for_timeout(200)
        assert shown == expected[0]
        if directory := os.environ.get("PYCODESMALL_SCREENSHOTS"):
            page.screenshot(path=Path(directory) / screenshot)
        page.keyboard.press("Tab")
        page.keyboard.press("Control+S")
        deadline = time.monotonic() + 30
        while source.read_text() == before and time.monotonic() < deadline:
            time.sleep(0.2)
    assert source.read_text() == before + typed + expected[0]


def test_random_weights_ghost_text_is_shown_and_accepted(tmp_path, vsix, lsp_model_dir):
    """The other LSP tests' model: its answers are noise, but exactly the library's."""
    check_ghost_text_is_shown_and_accepted(tmp_path, vsix, str(lsp_model_dir), "import os\n\n", "x = os.",
                                           "vscode-ghost-text-random-weights.png")


def test_bundled_model_ghost_text_is_shown_and_accepted(tmp_path, vsix):
    """The model users get without settings, whose suggestion makes sense (the README's screenshot)."""
    check_ghost_text_is_shown_and_accepted(
        tmp_path, vsix, DEFAULT_MODEL, "class Point:\n    def __init__(self, x, y):\n        self.x = x\n",
        "        self.", "vscode-ghost-text.png")
