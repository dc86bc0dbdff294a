"""The study's TOML config files: reading them, and building typed dataclasses from them.

Every dataclass field has a default, so a file states only what differs. A key the
dataclass does not know, or a value of the wrong type, is a `ConfigError` that names the
file and the dotted key: a typo must never silently run with a default.
"""

from __future__ import annotations

import dataclasses
import sys
import typing
from pathlib import Path
from typing import Any

from pycodesmall.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = ["read_toml", "from_table", "tomllib"]

_TYPE_NAMES = {int: "an integer", float: "a number", bool: "true or false", str: "a string"}


def read_toml(path: str | Path, what: str = "config file") -> dict[str, Any]:
    """The parsed table of `path`; a missing file or bad TOML is a `ConfigError`."""
    path = Path(path)
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"no {what} at {path}") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path} is not valid TOML: {e}") from None


def from_table(cls: type, table: Any, source: str, where: str = "") -> Any:
    """An instance of dataclass `cls` from a TOML table, nested dataclasses and tuples included.

    `source` (the file) and `where` (the dotted path of the table, empty at the top) name
    the offending key in errors.
    """
    label = f"[{where}]" if where else "the top level"
    if not isinstance(table, dict):
        raise ConfigError(f"{source}: {label} must be a table, got {table!r}")
    fields = [f.name for f in dataclasses.fields(cls)]
    unknown = sorted(set(table) - set(fields))
    if unknown:
        raise ConfigError(f"{source}: unknown key(s) {', '.join(_dotted(where, k) for k in unknown)}; "
                          f"{label} takes {', '.join(fields)}")
    hints = typing.get_type_hints(cls)
    values = {key: _convert(hints[key], value, source, _dotted(where, key)) for key, value in table.items()}
    try:
        return cls(**values)
    except TypeError as e:  # a field without a default is missing
        raise ConfigError(f"{source}: {label}: {e}") from None


def _convert(hint: Any, value: Any, source: str, key: str) -> Any:
    if dataclasses.is_dataclass(hint):
        return from_table(hint, value, source, key)
    origin = typing.get_origin(hint)
    if origin is tuple:
        if not isinstance(value, list):
            raise ConfigError(f"{source}: {key} must be a list, got {value!r}")
        item = typing.get_args(hint)[0]
        return tuple(_convert(item, v, source, f"{key}[{i}]") for i, v in enumerate(value))
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{source}: {key} must be a table, got {value!r}")
        return value
    accepted = (int, float) if hint is float else hint
    if not isinstance(value, accepted) or (hint is not bool and isinstance(value, bool)):
        raise ConfigError(f"{source}: {key} must be {_TYPE_NAMES.get(hint, hint)}, got {value!r}")
    return float(value) if hint is float else value


def _dotted(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key
