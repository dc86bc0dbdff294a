"""Per-file quality filters. Each returns the name of the reason a file is dropped, or None.

The reason names are the keys of the build report's filter counts.
"""

from __future__ import annotations

import ast
import fnmatch
import re
import warnings
from pathlib import PurePosixPath

from pycodesmall.training.corpus.config import FiltersConfig

__all__ = ["decode", "parses", "FileFilter"]


def decode(data: bytes) -> str | None:
    """The file as text, or None when it is not UTF-8 (a BOM is accepted and removed)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None


def parses(text: str) -> bool:
    """Whether the running interpreter's parser accepts the file."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # invalid escape sequences and the like still parse
        try:
            ast.parse(text)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return False
    return True


class FileFilter:
    """Size, line-length and generated-file checks, in that order (cheapest first)."""

    def __init__(self, config: FiltersConfig):
        self.config = config
        self._generated = re.compile("|".join(re.escape(m) for m in config.generated_markers),
                                     re.IGNORECASE) if config.generated_markers else None

    def reject_reason(self, path: str, text: str) -> str | None:
        c = self.config
        size = len(text.encode("utf-8"))
        if size < c.min_bytes:
            return "too_small"
        if size > c.max_bytes:
            return "too_large"
        lines = text.splitlines() or [""]
        if max(map(len, lines)) > c.max_line_length or size / len(lines) > c.max_mean_line_length:
            return "long_lines"
        if self.is_generated(path, text):
            return "generated"
        return None

    def is_generated(self, path: str, text: str) -> bool:
        name = PurePosixPath(path).name
        if any(fnmatch.fnmatch(name, pattern) for pattern in self.config.generated_name_patterns):
            return True
        if self._generated is None:
            return False
        n = self.config.generated_header_lines
        header = "\n".join(text.split("\n", n)[:n])
        return bool(self._generated.search(header))
