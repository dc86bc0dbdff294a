"""Where models come from: a local directory, a model bundled in the package, or the Hub.

Released models are listed in `RELEASED`. Hub downloads go through `huggingface_hub`
(its standard cache, a pinned revision for released models), and `HF_HUB_OFFLINE=1`
limits resolution to what is already cached.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from pycodesmall.errors import ModelNotFoundError

__all__ = ["ReleasedModel", "RELEASED", "DEFAULT_MODEL", "resolve", "list_models", "MODEL_FILES"]

MODEL_FILES = ["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"]


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


def resolve(name: str | os.PathLike, revision: str | None = None) -> Path:
    """The local directory holding model `name`, downloading it from the Hub if needed."""
    path = Path(name).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise ModelNotFoundError(f"{path} is a directory but holds no config.json")
        return path
    name = str(name)
    released = RELEASED.get(name)
    if released is not None and released.bundled:
        path = bundled_path(name)
        if not (path / "config.json").is_file():
            raise ModelNotFoundError(
                f"the bundled model {name!r} is missing from this installation ({path}); "
                "reinstall pycodesmall")
        return path
    if released is not None:
        return _download(released.repo_id, revision or released.revision)
    if _looks_like_repo_id(name):
        return _download(name, revision)
    known = ", ".join(sorted(RELEASED))
    raise ModelNotFoundError(
        f"unknown model {name!r}: not a local directory, not a released model ({known}), "
        "and not a Hugging Face repo id of the form 'org/name'")


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
