"""A local folder of code, with the licence its owner states in the config."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from pycodesmall.errors import ConfigError
from pycodesmall.training.corpus.config import LocalSource
from pycodesmall.training.corpus.sources import CODE_SUFFIXES, SourceFile

_SKIPPED_DIRS = {"__pycache__", "site-packages", "node_modules"}


class LocalFolder:
    def __init__(self, config: LocalSource):
        self.root = Path(config.path).expanduser()
        if not self.root.is_dir():
            raise ConfigError(f"sources.local: {config.path} is not a directory")
        self.config = config
        self.package = config.package or self.root.resolve().name

    def provenance(self) -> list[dict]:
        return [{"source": "local", "name": self.package, "path": str(self.root),
                 "licence": self.config.licence}]

    def files(self) -> Iterator[SourceFile]:
        for path in sorted(self.root.rglob("*")):
            relative = path.relative_to(self.root)
            hidden = any(part.startswith(".") or part in _SKIPPED_DIRS for part in relative.parts)
            if path.suffix in CODE_SUFFIXES and path.is_file() and not hidden:
                yield SourceFile("local", self.package, relative.as_posix(), path.read_bytes(),
                                 self.config.licence)
