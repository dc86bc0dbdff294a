"""Exceptions that pycodesmall raises for problems a user can fix.

Each one carries a message written for the user; callers (CLI, LSP) print it as is
instead of a traceback from deep inside torch or safetensors.
"""

__all__ = [
    "PycodesmallError",
    "ModelNotFoundError",
    "WeightsError",
    "ConfigError",
    "MissingExtraError",
]


class PycodesmallError(Exception):
    """Base class of every error pycodesmall raises on purpose."""


class ModelNotFoundError(PycodesmallError):
    """A model name that is neither a local directory, a bundled model nor a reachable Hub repo."""


class WeightsError(PycodesmallError):
    """Weights that are missing, truncated, corrupted or do not fit the config."""


class ConfigError(PycodesmallError, ValueError):
    """A configuration with unknown keys or values that cannot work together."""


class MissingExtraError(PycodesmallError, ImportError):
    """An optional dependency is not installed; the message names the extra to install."""

    def __init__(self, package: str, extra: str, purpose: str):
        super().__init__(
            f"{purpose} needs the '{package}' package: pip install 'pycodesmall[{extra}]'"
        )
        self.package = package
        self.extra = extra
