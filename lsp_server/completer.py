"""Completions for the server: one model, one worker thread, the newest request wins.

Model work (loading, decoding, validating) runs on a single worker thread so the event
loop keeps reading messages. Each request gets a `threading.Event` that the engine polls
through `should_cancel` before every model call: setting it (on `$/cancelRequest`, or when
a newer request for the same document arrives) stops the decode within one token step.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import threading
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pycodesmall
from pycodesmall import CodeModel, PycodesmallError
from pycodesmall.runtime import Cancelled

from pycodesmall.lsp_server.candidates import Candidate, rank_candidates
from pycodesmall.lsp_server.context import Prompt, build_prompt
from pycodesmall.lsp_server.settings import Settings
from pycodesmall.lsp_server.suggestion_cache import SuggestionCache

__all__ = ["Completer", "suggest", "prompt_for"]

CHARS_PER_TOKEN = 3  # the first estimate for Python code; `prompt_for` measures it where it matters
# Of the prompt's room, at most, for the text after the cursor. It comes first in the prompt,
# so a change in it recomputes the whole prompt: kept short for latency.
SUFFIX_SHARE = 0.1


def prompt_for(model: CodeModel, source: str, offset: int, settings: Settings) -> Prompt:
    """The window of `source` around `offset` that fits this model's context.

    A window that had to be cut is cut again at the chars per token that its own text takes
    (rounded down to a quarter, so that it stays put while the user types), to fill the
    context; the library trims the few tokens that may still be over.
    """
    room = model.context_length - settings.max_new_tokens - 3
    prompt = _window(source, offset, room * CHARS_PER_TOKEN)
    if prompt.cut:
        prefix_ids, suffix_ids, _ = model.tokenizer.encode_infill(prompt.prefix, prompt.suffix)
        tokens = max(1, len(prefix_ids) + len(suffix_ids))
        chars_per_token = int(4 * len(prompt.prefix + prompt.suffix) / tokens) / 4
        prompt = _window(source, offset, int(room * max(1.0, chars_per_token)))
    return prompt


def _window(source: str, offset: int, chars: int) -> Prompt:
    suffix_chars = int(chars * SUFFIX_SHARE)
    return build_prompt(source, offset, chars - suffix_chars, suffix_chars)


def suggest(model: CodeModel, prompt: Prompt, settings: Settings,
            should_cancel: Callable[[], bool] | None = None) -> list[Candidate]:
    """Decode `settings.candidates` completions for `prompt` and rank them; raises `Cancelled`."""
    if not prompt.prefix.strip() and not prompt.suffix.strip():
        return []
    with warnings.catch_warnings():
        # The window is an estimate; the library trims a few more tokens and says so.
        warnings.simplefilter("ignore", UserWarning)
        completions = pycodesmall.complete(
            prompt.prefix, model=model, suffix=prompt.suffix, n=settings.candidates,
            max_new_tokens=settings.max_new_tokens, temperature=settings.temperature,
            repetition_penalty=settings.repetition_penalty, max_lines=settings.max_lines,
            validate=False, should_cancel=should_cancel)
    if settings.candidates == 1:
        completions = [completions]
    return rank_candidates(*prompt.check, completions, settings.validate)


class Completer:
    """Owns the model and the worker thread; `complete` is called from the event loop."""

    def __init__(self) -> None:
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pycodesmall-model")
        self._model: CodeModel | None = None
        self._model_key: tuple | None = None
        self._tickets = itertools.count()
        self._latest: dict[str, int] = {}
        self._running: dict[str, threading.Event] = {}
        self.cache = SuggestionCache()
        self.decodes = 0  # how many requests reached the model, for tests and the benchmark

    @property
    def model(self) -> CodeModel | None:
        return self._model

    def needs_load(self, settings: Settings) -> bool:
        return settings.model_key() != self._model_key or self._model is None

    async def load(self, settings: Settings) -> str | None:
        """Load the model `settings` name unless it is loaded; an error message, or None."""
        if not self.needs_load(settings):
            return None

        def load() -> None:
            self._model = None
            self._model_key = settings.model_key()
            self.cache.clear()
            self._model = pycodesmall.load(settings.model, device=settings.device,
                                           backend=settings.backend).reuse_prefixes()

        try:
            await asyncio.get_running_loop().run_in_executor(self._worker, load)
        except PycodesmallError as e:
            return str(e)
        except (OSError, RuntimeError, ValueError) as e:
            return f"{type(e).__name__}: {e}"
        return None

    async def complete(self, uri: str, source: str, offset: int,
                       settings: Settings) -> list[Candidate]:
        """Ranked suggestions at `offset`; empty when superseded, cancelled or without a model.

        Cancelling the calling task (what pygls does on `$/cancelRequest`) stops the decode.
        """
        ticket = next(self._tickets)
        self._latest[uri] = ticket
        if (previous := self._running.pop(uri, None)) is not None:
            previous.set()
        # Everything that changes the suggestions, so that no stale one is served; not the debounce.
        scope = (uri, self._model_key, dataclasses.replace(settings, debounce_ms=0))
        prefix, suffix = source[:offset], source[offset:]
        if (cached := self.cache.get(scope, prefix, suffix)) is not None:
            return [Candidate(text, 0.0) for text in cached]
        if settings.debounce_ms:
            await asyncio.sleep(settings.debounce_ms / 1000)
            if self._latest.get(uri) != ticket:
                return []
        cancel = threading.Event()
        self._running[uri] = cancel

        def work() -> list[Candidate]:
            model = self._model
            if model is None or cancel.is_set():
                return []
            self.decodes += 1
            # The server refuses settings that do not fit its model; a request that arrives
            # while another model loads may still carry some, so fit them here as well.
            fitting, _ = settings.fitted(model.context_length, settings)
            return suggest(model, prompt_for(model, source, offset, fitting), fitting, cancel.is_set)

        try:
            candidates = await asyncio.get_running_loop().run_in_executor(self._worker, work)
        except Cancelled:
            return []
        except asyncio.CancelledError:
            cancel.set()
            raise
        finally:
            if self._running.get(uri) is cancel:
                del self._running[uri]
        self.cache.put(scope, prefix, suffix, [c.text for c in candidates])
        return candidates

    def forget(self, uri: str) -> None:
        """Stop work for a closed document."""
        self._latest.pop(uri, None)
        if (running := self._running.pop(uri, None)) is not None:
            running.set()

    def close(self) -> None:
        """Stop every decode and the worker, without waiting for the model."""
        for event in self._running.values():
            event.set()
        self._worker.shutdown(wait=False, cancel_futures=True)
