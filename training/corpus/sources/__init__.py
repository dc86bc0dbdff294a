"""Where corpus files come from. Every source yields `SourceFile`s and records its provenance.

A source only finds and reads files; deciding what stays in the corpus is the pipeline's
job (`pycodesmall.training.corpus.build`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

__all__ = ["Source", "SourceFile"]

CODE_SUFFIXES = (".py", ".ipynb")


@dataclass(frozen=True)
class SourceFile:
    source: str  # "stdlib", "local", "pypi" or "huggingface"
    package: str  # the unit of splitting: a stdlib top-level package, a distribution, a repository
    path: str  # inside the package, for the record
    data: bytes
    licence: str  # as stated by the package, judged by `licences.classify`

    @property
    def package_key(self) -> str:
        return f"{self.source}:{self.package}"


class Source(Protocol):
    def files(self) -> Iterator[SourceFile]:
        """Every candidate file, in a fixed order (the first copy of a duplicate is kept)."""

    def provenance(self) -> list[dict]:
        """What was read (names, versions, archive hashes), for the build report; complete
        once `files` is exhausted."""
