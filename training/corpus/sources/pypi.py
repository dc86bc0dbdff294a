"""PyPI distributions pinned by `name==version` in a manifest, fetched with pip into a cache.

Each requirement gets its own cache folder holding the one archive pip downloaded, so a
rebuild reads the cache and a changed pin downloads anew. The source distribution is
preferred; a wheel is the fallback for projects without one (pure-Python wheels hold the
same .py files). Files are read straight from the archive, never unpacked.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from tqdm import tqdm

from pycodesmall.errors import ConfigError
from pycodesmall.training.corpus.checksums import sha256_file
from pycodesmall.training.corpus.licences import metadata_licence
from pycodesmall.training.corpus.sources import CODE_SUFFIXES, SourceFile

__all__ = ["Requirement", "read_manifest", "PyPI"]

_ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar.bz2", ".tar.xz", ".zip", ".whl")
_LICENCE_FILE = re.compile(r"(LICEN[CS]E|COPYING)(\.\w+)?$", re.IGNORECASE)


@dataclass(frozen=True)
class Requirement:
    name: str
    version: str

    def __str__(self) -> str:
        return f"{self.name}=={self.version}"


def read_manifest(path: str | Path) -> list[Requirement]:
    """Pins from a manifest: one `name==version` a line, `#` comments and blank lines ignored."""
    requirements = []
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        name, sep, version = line.partition("==")
        if not sep or not name.strip() or not version.strip():
            raise ConfigError(f"{path}:{number}: expected name==version, got {line!r}")
        requirements.append(Requirement(name.strip(), version.strip()))
    names = [r.name.lower() for r in requirements]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ConfigError(f"{path}: listed more than once: {', '.join(duplicates)}")
    return requirements


class PyPI:
    def __init__(self, manifest: str | Path, cache: str | Path):
        try:
            self.requirements = read_manifest(manifest)
        except FileNotFoundError:
            raise ConfigError(f"no PyPI manifest at {manifest}") from None
        self.cache = Path(cache)
        self.records: list[dict] = []

    def provenance(self) -> list[dict]:
        return self.records

    def files(self) -> Iterator[SourceFile]:
        archives = {}
        for requirement in tqdm(self.requirements, desc="fetch pypi", unit="pkg", leave=False):
            record = {"source": "pypi", "name": requirement.name, "version": requirement.version}
            self.records.append(record)
            try:
                archives[requirement] = self.fetch(requirement)
            except RuntimeError as e:
                record["error"] = str(e)
                tqdm.write(f"skipping {requirement}: {e}")
        for record, requirement in zip(self.records, self.requirements):
            if requirement not in archives:
                continue
            archive = archives[requirement]
            members, pkg_info, licence_text = _read_archive(archive)
            licence = metadata_licence(pkg_info, licence_text)
            record.update(archive=archive.name, sha256=sha256_file(archive), licence=licence[:200])
            for path, data in members:
                yield SourceFile("pypi", requirement.name, path, data, licence)

    def fetch(self, requirement: Requirement) -> Path:
        """The cached archive of `requirement`, downloaded with pip when missing."""
        folder = self.cache / f"{requirement.name}-{requirement.version}"
        archive = _archive_in(folder)
        if archive:
            return archive
        folder.mkdir(parents=True, exist_ok=True)
        errors = []
        # `--no-binary NAME` rather than `:all:`: pip would otherwise build every build
        # dependency (setuptools, hatchling, ...) from source too.
        for kind in ("--no-binary", "--only-binary"):
            for leftover in folder.iterdir():  # a half-finished attempt must not pass for a result
                leftover.unlink()
            command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                       kind, requirement.name, str(requirement), "--dest", str(folder)]
            result = subprocess.run(command, capture_output=True, text=True)
            archive = _archive_in(folder)
            if result.returncode == 0 and archive:
                return archive
            lines = result.stderr.strip().splitlines()
            errors.append(f"{kind}: {lines[-1] if lines else 'no archive'}")
        raise RuntimeError(f"pip download failed ({'; '.join(errors)})")


def _archive_in(folder: Path) -> Path | None:
    if not folder.is_dir():
        return None
    found = sorted(p for p in folder.iterdir() if p.name.endswith(_ARCHIVE_SUFFIXES))
    return found[0] if found else None


def _read_archive(archive: Path) -> tuple[list[tuple[str, bytes]], str, str]:
    """(code files, PKG-INFO or METADATA text, LICENSE text) of an sdist or wheel."""
    is_wheel = archive.suffix == ".whl"
    members: list[tuple[str, bytes]] = []
    pkg_info = licence_text = ""
    for name, read in _members(archive):
        parts = PurePosixPath(name).parts
        # An sdist wraps everything in one `name-version/` folder; a wheel does not.
        inner = parts if is_wheel else parts[1:]
        if not inner:
            continue
        top_level = len(inner) == 1 or (is_wheel and inner[0].endswith(".dist-info"))
        if inner[-1] in ("PKG-INFO", "METADATA") and top_level and not pkg_info:
            pkg_info = read().decode("utf-8", "replace")
        elif (_LICENCE_FILE.match(inner[-1]) and (top_level or "licenses" in inner)
              and not licence_text):
            licence_text = read().decode("utf-8", "replace")
        elif name.endswith(CODE_SUFFIXES):
            members.append(("/".join(inner), read()))
    return sorted(members), pkg_info, licence_text


def _members(archive: Path) -> Iterator[tuple[str, Callable[[], bytes]]]:
    if archive.name.endswith((".zip", ".whl")):
        with zipfile.ZipFile(archive) as z:
            for info in z.infolist():
                if not info.is_dir():
                    yield info.filename, lambda info=info: z.read(info)
    else:
        with tarfile.open(archive) as t:
            for member in t:
                if member.isfile():
                    yield member.name, lambda member=member: t.extractfile(member).read()
