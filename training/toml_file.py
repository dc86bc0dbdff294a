"""Reading the study's TOML config files, with errors that name the file."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from pycodesmall.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = ["read_toml", "tomllib"]


def read_toml(path: str | Path, what: str = "config file") -> dict[str, Any]:
    """The parsed table of `path`; a missing file or bad TOML is a `ConfigError`."""
    path = Path(path)
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"no {what} at {path}") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path} is not valid TOML: {e}") from None
