"""`pycodesmall-lsp --check`: load the model, complete a sample, print what happened and how fast.

When an editor shows nothing, this tells the user whether the model loads, how long a
completion takes on their machine and what the server would answer.
"""

from __future__ import annotations

import platform
import time
from collections.abc import Callable
from importlib.metadata import version

import torch

import pycodesmall
from pycodesmall import PycodesmallError

from pycodesmall.lsp_server.completer import prompt_for, suggest
from pycodesmall.lsp_server.settings import Settings

__all__ = ["run_check"]

SAMPLE = '''import os


def list_python_files(folder):
    """The .py files directly in `folder`, sorted."""
    names = sorted(os.listdir(folder))
    return [name for name in names if '''


def run_check(settings: Settings, echo: Callable[[str], None] = print) -> int:
    """Print a report; 0 when a completion ran, 1 when the model could not be used."""
    echo(f"pycodesmall {version('pycodesmall')}, pygls {version('pygls')}, torch {torch.__version__}, "
         f"Python {platform.python_version()}, {torch.get_num_threads()} CPU threads")
    echo(f"settings: {settings}")
    started = time.perf_counter()
    try:
        model = pycodesmall.load(settings.model, device=settings.device,
                                 backend=settings.backend).reuse_prefixes()
    except PycodesmallError as e:
        echo(f"FAILED to load the model: {e}")
        return 1
    echo(f"model: {model!r}, loaded in {_ms(started)}")
    prompt = prompt_for(model, SAMPLE, len(SAMPLE), settings)
    for attempt in ("first", "second"):  # the second reuses the first one's prompt cache
        started = time.perf_counter()
        try:
            candidates = suggest(model, prompt, settings)
        except PycodesmallError as e:
            echo(f"FAILED to complete: {e}")
            return 1
        echo(f"{attempt} completion: {_ms(started)}, {len(candidates)} valid suggestion(s)")
    for candidate in candidates:
        echo(f"  suggestion: {candidate.text!r}")
    if not candidates:
        echo("  no suggestion passed validation for this sample; the server would show nothing here")
    return 0


def _ms(started: float) -> str:
    return f"{(time.perf_counter() - started) * 1000:.0f} ms"
