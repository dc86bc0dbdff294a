"""Where models come from: a local directory, a model bundled in the package, or the Hub.

Released models are listed in `RELEASED`. Hub downloads go through `huggingface_hub`
(its standard cache, a pinned revision for released models), and `HF_HUB_OFFLINE=1`
limits resolution to what is already cached.
"""

from __future__ import annotations

import errno
import os
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from pycodesmall.errors import ModelNotFoundError

__all__ = ["ReleasedModel", "RELEASED", "DEFAULT_MODEL", "resolve", "list_models", "is_released",
           "MODEL_FILES", "HUB_PREFIX"]

MODEL_FILES = ["config.json", "model.safetensors", "model.safetensors.sha256", "tokenizer.json",
               "tokenizer_config.json"]
HUB_PREFIX = "hf://"  # forces a name to be read as a Hub repo id


@dataclass(frozen=True)
class ReleasedModel:
    name: str
    description: str
    bundled: bool = False  # shipped inside the wheel under pycodesmall/models/<name>
    repo_id: str | None = None  # Hugging Face Hub repo for models too large for the wheel
    revision: str | None = None  # pinned commit of repo_id

    @property
    def source(self) -> str:
        return "bundled with the package" if self.bundled else f"hf://{self.repo_id}@{self.revision}"


RELEASED: dict[str, ReleasedModel] = {
    m.name: m for m in [
        ReleasedModel("pycodesmall-tiny", "the smallest model, trained on CPU; works offline",
                      bundled=True),
    ]
}
DEFAULT_MODEL = "pycodesmall-tiny"


def list_models() -> list[ReleasedModel]:
    """Released models, each with where it comes from."""
    return list(RELEASED.values())


def bundled_path(name: str) -> Path:
    return Path(str(resources.files("pycodesmall") / "models" / name))


def is_released(name: str | os.PathLike) -> bool:
    """Whether `load(name)` takes a released model (whose weights must carry a checksum)."""
    return isinstance(name, str) and name in RELEASED and not Path(name).is_dir()


def resolve(name: str | os.PathLike, revision: str | None = None) -> Path:
    """The local directory holding model `name`, downloading it from the Hub if needed.

    In this order: `hf://org/name` is always a Hub repo; an existing directory is a local
    model; a released name is that model (bundled or from its pinned Hub repo); a name that
    looks like a local path is one, and fails here, without a network request, when it does
    not resolve; anything else of the form `org/name` is a Hub repo id.

    A name looks local when it starts like a path (`/`, `./`, `../`, `~`, or is `.` or `..`),
    when something exists at it (a file, a broken symbolic link, a link loop), or when it
    has a path separator and its first part exists here: `m/typo` beside a folder `m` is a
    mistyped path, not a repo of a user `m`. A Hub repo that clashes with a local folder of
    its owner's name is reached as `hf://org/name`.
    """
    if isinstance(name, str) and name.startswith(HUB_PREFIX):
        repo_id = name[len(HUB_PREFIX):]
        if not _looks_like_repo_id(repo_id):
            raise ModelNotFoundError(f"{name!r} does not name a Hugging Face repo: write hf://org/name")
        return _download(repo_id, revision)
    text = os.fspath(name)
    try:
        path = Path(text).expanduser()
    except RuntimeError:  # ~user of a user that does not exist
        raise ModelNotFoundError(f"model {text!r}: cannot expand {text.split(os.sep)[0]!r} "
                                 "to a home directory") from None
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise ModelNotFoundError(f"{path} is a directory but holds no config.json")
        return path
    released = RELEASED.get(text)
    if released is not None and released.bundled:
        path = bundled_path(text)
        if not (path / "config.json").is_file():
            raise ModelNotFoundError(
                f"the bundled model {text!r} is missing from this installation ({path}); "
                "reinstall pycodesmall")
        return path
    if released is not None:
        return _download(released.repo_id, revision or released.revision)
    local = _local_reason(text, path)
    if local is not None:
        raise ModelNotFoundError(f"{text}: {local}")
    if _looks_like_repo_id(text):
        return _download(text, revision)
    known = ", ".join(sorted(RELEASED))
    raise ModelNotFoundError(
        f"unknown model {text!r}: not a local directory, not a released model ({known}), "
        "and not a Hugging Face repo id of the form 'org/name'")


def _separators() -> list[str]:
    return [s for s in (os.sep, os.altsep) if s]


def _local_reason(text: str, path: Path) -> str | None:
    """Why `text`, which looks like a local path, is not a model directory; None when it
    does not look like a local path (see `resolve`)."""
    first = re.split("|".join(map(re.escape, _separators())), text, maxsplit=1)[0]
    explicit = (text in (".", "..") or text.startswith("~") or os.path.isabs(text)
                or any(text.startswith(p + s) for p in (".", "..") for s in _separators()))
    has_separator = any(s in text for s in _separators())
    if not (explicit or os.path.lexists(text) or (has_separator and first and os.path.lexists(first))):
        return None
    try:
        os.stat(path)
    except OSError as e:
        if e.errno == errno.ELOOP:
            return "is a symbolic link loop, not a model directory"
        broken = _broken_link(path)
        if broken is not None:
            return f"is a broken symbolic link ({broken} points to {os.readlink(broken)}, which does not exist)"
        if e.errno == errno.ENOTDIR:
            return "no such directory: a part of the path is a file"
        hint = ""
        if not explicit and has_separator:
            hint = (f" ({first} exists here, so this is taken as a local path, not a Hub repo id; "
                    f"for the Hub repo write {HUB_PREFIX}{text})")
        return f"no such directory{hint}"
    return "is a file, not a model directory (give the directory that holds config.json)"


def _broken_link(path: Path) -> Path | None:
    """The first link along `path` whose target is missing, or None."""
    for end in range(1, len(path.parts) + 1):
        current = Path(*path.parts[:end])
        if current.is_symlink() and not current.exists():
            return current
        if not current.exists():
            return None
    return None


def _looks_like_repo_id(name: str) -> bool:
    parts = name.split("/")
    return len(parts) == 2 and all(parts) and not name.startswith((".", "/", "~"))


def _offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


def _download(repo_id: str, revision: str | None) -> Path:
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import (GatedRepoError, HFValidationError, LocalEntryNotFoundError,
                                        RepositoryNotFoundError, RevisionNotFoundError)

    offline = _offline()
    try:
        path = Path(snapshot_download(repo_id, revision=revision, allow_patterns=MODEL_FILES,
                                      local_files_only=offline))
    except RevisionNotFoundError:
        raise ModelNotFoundError(f"revision {revision!r} does not exist in {repo_id}") from None
    except (RepositoryNotFoundError, GatedRepoError, HFValidationError):
        raise ModelNotFoundError(f"no accessible Hugging Face repo {repo_id!r}") from None
    except LocalEntryNotFoundError:
        if offline:
            raise ModelNotFoundError(
                f"{repo_id} is not in the local Hugging Face cache and HF_HUB_OFFLINE is set; "
                f"run `pycodesmall download {repo_id}` while online") from None
        raise ModelNotFoundError(
            f"could not download {repo_id} from the Hugging Face Hub (no connection?) and it is "
            "not in the local cache") from None
    if not (path / "config.json").is_file():
        raise ModelNotFoundError(f"{repo_id} has no config.json: not a pycodesmall model")
    return path
