"""The running interpreter's standard library, split into packages by top-level name.

`test`, `idlelib` and `lib2to3` are packages like any other; the deliberately broken
files under `test/` are for the parse filter to count.
"""

from __future__ import annotations

import platform
import sysconfig
from collections.abc import Iterator
from pathlib import Path

from pycodesmall.training.corpus.config import StdlibSource
from pycodesmall.training.corpus.sources import CODE_SUFFIXES, SourceFile

_SKIPPED_DIRS = {"site-packages", "dist-packages", "__pycache__", "lib-dynload"}


class Stdlib:
    def __init__(self, config: StdlibSource):
        self.root = Path(sysconfig.get_paths()["stdlib"])
        self.config = config

    def provenance(self) -> list[dict]:
        return [{"source": "stdlib", "name": "python-stdlib", "version": platform.python_version(),
                 "implementation": platform.python_implementation(), "path": str(self.root),
                 "licence": "PSF-2.0", "packages": list(self.config.packages) or "all"}]

    def files(self) -> Iterator[SourceFile]:
        wanted = set(self.config.packages)
        for entry in sorted(self.root.iterdir()):
            package = entry.name if entry.is_dir() else entry.stem
            if wanted and package not in wanted:
                continue
            skipped = entry.name in _SKIPPED_DIRS or entry.name.startswith("config-")
            if entry.is_dir() and not skipped:
                paths = sorted(p for p in entry.rglob("*") if p.suffix in CODE_SUFFIXES
                               and p.is_file() and "__pycache__" not in p.parts)
            elif entry.is_file() and entry.suffix in CODE_SUFFIXES:
                paths = [entry]
            else:
                continue
            for path in paths:
                yield SourceFile("stdlib", package, path.relative_to(self.root).as_posix(),
                                 path.read_bytes(), "PSF-2.0")
