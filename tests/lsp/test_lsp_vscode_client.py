"""The VS Code extension: its Node test against the real server, and its packaging.

Both need `npm ci` in editors/vscode (`.ci/run` does it); without node_modules they are
skipped with that reason.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from lsp_e2e import SOURCE, library_suggestions

VSCODE = Path(__file__).resolve().parents[2] / "editors" / "vscode"

pytestmark = pytest.mark.skipif(
    not (VSCODE / "node_modules").is_dir() or shutil.which("npm") is None,
    reason="needs Node.js and `npm ci` in editors/vscode")


def npm(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(["npm", *args], cwd=VSCODE, env=env, capture_output=True, text=True, timeout=300)


def test_node_client_gets_validated_inline_completions_from_the_real_server(lsp_model_dir):
    expected = library_suggestions(lsp_model_dir, SOURCE)
    env = {**os.environ, "PYCODESMALL_PYTHON": sys.executable, "PYCODESMALL_TEST_MODEL": str(lsp_model_dir),
           "PYCODESMALL_TEST_SOURCE": SOURCE, "PYCODESMALL_TEST_EXPECTED": json.dumps(expected)}
    result = npm("test", env=env)  # type-checks and compiles with tsc, then runs node --test
    assert result.returncode == 0, result.stdout + result.stderr
    assert "# pass 1" in result.stdout


def test_extension_packages_into_a_vsix(tmp_path):
    result = npm("exec", "--", "vsce", "package", "--out", str(tmp_path / "pycodesmall.vsix"))
    assert result.returncode == 0, result.stdout + result.stderr
    names = zipfile.ZipFile(tmp_path / "pycodesmall.vsix").namelist()
    assert "extension/out/extension.js" in names and "extension/package.json" in names
    assert not any(name.startswith(("extension/src/", "extension/scripts/")) for name in names)
