"""Typed server settings, read from `initializationOptions` and `didChangeConfiguration`.

Editors send camelCase JSON (`maxNewTokens`), sometimes under a `pycodesmall` section.
A bad value never stops the server: it is reported in words and the previous value kept.
Values are checked twice: alone when they arrive (`updated`), and against the model's
context once it is known (`fitted`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pycodesmall.api import DEFAULT_REPETITION_PENALTY
from pycodesmall.pretrained import BACKENDS

__all__ = ["Settings", "SECTION"]

SECTION = "pycodesmall"


@dataclass(frozen=True)
class Settings:
    model: str | None = None  # released name, directory or Hub id; None: the bundled default
    backend: str = "auto"
    device: str = "auto"
    max_new_tokens: int = 48
    max_lines: int = 1
    temperature: float = 0.0
    repetition_penalty: float = DEFAULT_REPETITION_PENALTY
    candidates: int = 1
    debounce_ms: int = 30
    validate: bool = True

    def updated(self, raw: Any) -> tuple["Settings", list[str]]:
        """These settings with the valid values of `raw` applied, and a message per bad one."""
        if raw is None:
            return self, []
        if isinstance(raw, Mapping) and isinstance(raw.get(SECTION), Mapping):
            raw = raw[SECTION]
        if not isinstance(raw, Mapping):
            return self, [f"settings must be an object, got {type(raw).__name__}"]
        changes, problems = {}, []
        for key, value in raw.items():
            name = _FIELD_BY_KEY.get(key)
            if name is None:
                problems.append(f"unknown setting {key!r}; known: {', '.join(sorted(_KEY_BY_FIELD.values()))}")
                continue
            try:
                changes[name] = _CHECKS[name](value)
            except ValueError as e:
                problems.append(f"{_KEY_BY_FIELD[name]}: {e}; keeping {getattr(self, name)!r}")
        return dataclasses.replace(self, **changes), problems

    def fitted(self, context_length: int, previous: "Settings") -> tuple["Settings", list[str]]:
        """These settings for a model with `context_length` tokens, and a message per change.

        New tokens may take at most three quarters of the context, so that the code before
        the cursor keeps the rest; a value beyond that is replaced by `previous`'s, or by the
        limit when that does not fit either.
        """
        limit = _max_new_tokens_for(context_length)
        if self.max_new_tokens <= limit:
            return self, []
        if previous.max_new_tokens <= limit:
            kept, instead = previous.max_new_tokens, f"keeping {previous.max_new_tokens}"
        else:
            kept, instead = limit, f"using {limit}"
        return dataclasses.replace(self, max_new_tokens=kept), [
            f"maxNewTokens: {self.max_new_tokens} leaves too little of this model's "
            f"{context_length}-token context for the code before the cursor (at most {limit}); "
            f"{instead}"]

    def model_key(self) -> tuple[str | None, str, str]:
        """What picks the model: a change here means loading another one."""
        return (self.model, self.backend, self.device)


def _max_new_tokens_for(context_length: int) -> int:
    """The most new tokens a completion may ask of a model with `context_length` tokens."""
    return max(1, context_length - context_length // 4)


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _integer(low: int, high: int) -> Callable[[Any], int]:
    def check(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ValueError(f"must be an integer from {low} to {high}, got {value!r}")
        return value
    return check


def _number(low: float, high: float) -> Callable[[Any], float]:
    def check(value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
            raise ValueError(f"must be a number from {low} to {high}, got {value!r}")
        return float(value)
    return check


def _choice(options: tuple[str, ...]) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        if value not in options:
            raise ValueError(f"must be one of {', '.join(options)}, got {value!r}")
        return value
    return check


def _optional_text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError(f"must be a string, got {value!r}")
    return value


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"must be a non-empty string, got {value!r}")
    return value


def _boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"must be true or false, got {value!r}")
    return value


_CHECKS: dict[str, Callable[[Any], Any]] = {
    "model": _optional_text,
    "backend": _choice(BACKENDS),
    "device": _text,
    "max_new_tokens": _integer(1, 512),
    "max_lines": _integer(1, 100),
    "temperature": _number(0.0, 2.0),
    "repetition_penalty": _number(1.0, 2.0),
    "candidates": _integer(1, 8),
    "debounce_ms": _integer(0, 2000),
    "validate": _boolean,
}
assert set(_CHECKS) == {f.name for f in dataclasses.fields(Settings)}
_KEY_BY_FIELD = {name: _camel(name) for name in _CHECKS}
_FIELD_BY_KEY = {key: name for name, key in _KEY_BY_FIELD.items()}
