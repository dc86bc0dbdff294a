"""The Neovim plugin for real: headless Neovim attaches the real server and asks for suggestions.

Debian's Neovim is 0.7, so this exercises the oldest path (vim.lsp.start_client and the
completion fallback); newer Neovims take the vim.lsp.start or vim.lsp.config paths.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from lsp_e2e import SERVER, SOURCE, library_suggestions

HERE = Path(__file__).resolve().parent
PLUGIN = HERE.parents[1] / "editors" / "neovim"


@pytest.mark.skipif(shutil.which("nvim") is None, reason="needs Neovim (apt-get install -y neovim)")
def test_headless_neovim_gets_validated_suggestions_from_the_real_server(lsp_model_dir, tmp_path):
    source = tmp_path / "example.py"
    source.write_text(SOURCE)
    env = {**os.environ, "PYCODESMALL_PLUGIN": str(PLUGIN), "PYCODESMALL_FILE": str(source),
           "PYCODESMALL_CMD": json.dumps(SERVER),
           "PYCODESMALL_TEST_MODEL": str(lsp_model_dir), "PYCODESMALL_RESULT": str(tmp_path / "result.json"),
           "XDG_STATE_HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path)}
    run = subprocess.run(["nvim", "--headless", "--clean", "-c", f"luafile {HERE / 'neovim_suggestions.lua'}"],
                         env=env, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
    assert run.returncode == 0, run.stdout + run.stderr
    result = json.loads((tmp_path / "result.json").read_text())
    assert result["filetype"] == "python" and result["settled"], result
    assert result["status"]["state"] == "ready", result
    expected = library_suggestions(lsp_model_dir, SOURCE)
    assert expected and result["suggestions"] == expected, result
