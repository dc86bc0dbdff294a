"""Reading and writing model weights as safetensors with Hugging Face Llama names.

Only safetensors are ever read (never pickles). Every way a weights file can be wrong, be
it missing, truncated, corrupted, non-finite or shaped for another config, ends in a
`WeightsError` that names the file and the problem.

`save_weights` writes a checksum beside the weights (`model.safetensors.sha256`, in the
format of `sha256sum`, so `sha256sum -c model.safetensors.sha256` checks it too), and
`load_weights` verifies it when present: a flipped bit in a tensor leaves a file that
parses and loads, which only the checksum can tell. Released models must carry one.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file

from pycodesmall.config import ModelConfig
from pycodesmall.errors import WeightsError
from pycodesmall.model import Transformer

__all__ = ["save_weights", "load_weights", "load_model", "checksum_path", "write_checksum",
           "WEIGHTS_NAME", "CHECKSUM_SUFFIX"]

WEIGHTS_NAME = "model.safetensors"
CHECKSUM_SUFFIX = ".sha256"
_LAYER = re.compile(r"model\.layers\.(\d+)\.")


def checksum_path(path: str | Path) -> Path:
    path = Path(path)
    return path.with_name(path.name + CHECKSUM_SUFFIX)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_checksum(path: str | Path, name: str | None = None) -> Path:
    """Record the sha256 of weights file `path` (under file name `name`) beside it."""
    path = Path(path)
    target = checksum_path(path.with_name(name or path.name))
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_text(f"{_sha256(path)}  {name or path.name}\n")
    tmp.replace(target)
    return target


def _verify_checksum(path: Path, required: bool) -> None:
    record = checksum_path(path)
    if not record.is_file():
        if required:
            raise WeightsError(f"weights file {path} has no checksum ({record.name}) though it belongs "
                               "to a released model: reinstall pycodesmall or download the model again")
        return
    fields = record.read_text(encoding="utf-8", errors="replace").split()
    if len(fields) != 2 or not re.fullmatch(r"[0-9a-f]{64}", fields[0]) or fields[1].lstrip("*") != path.name:
        raise WeightsError(f"{record} is an unreadable checksum file: expected '<sha256>  {path.name}'")
    if _sha256(path) != fields[0]:
        raise WeightsError(f"weights file {path} is corrupted: its contents do not match its checksum "
                           f"in {record.name}")


def save_weights(model: Transformer, path: str | Path, dtype: torch.dtype | None = None) -> None:
    """Write `model`'s parameters and their checksum; the tied `lm_head.weight` is left out,
    as Hugging Face does."""
    state = model.state_dict()
    if model.config.tie_word_embeddings:
        state.pop("lm_head.weight", None)
    state = {k: (v.to(dtype) if dtype is not None else v).detach().cpu().contiguous()
             for k, v in state.items()}
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    save_file(state, str(tmp), metadata={"format": "pt"})
    tmp.chmod(0o644)  # safetensors creates the file private to its owner; weights are for all
    write_checksum(tmp, path.name)
    tmp.replace(path)


def _header_shapes(path: Path) -> dict[str, tuple[int, ...]]:
    """Tensor names and shapes from the file's header, without reading any tensor."""
    if not path.is_file():
        raise WeightsError(f"weights file {path} is missing")
    try:
        with safe_open(str(path), framework="pt") as f:
            return {name: tuple(f.get_slice(name).get_shape()) for name in f.keys()}
    except (SafetensorError, OSError, ValueError) as e:
        raise WeightsError(f"weights file {path} is truncated or corrupted ({e})") from None


def _expected_shapes(model: Transformer) -> dict[str, tuple[int, ...]]:
    shapes = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    if model.config.tie_word_embeddings:
        shapes.pop("lm_head.weight", None)
    return shapes


def _check_fit(found: dict[str, tuple[int, ...]], expected: dict[str, tuple[int, ...]], path: Path,
               tied: bool) -> None:
    if tied:
        found = {k: v for k, v in found.items() if k != "lm_head.weight"}  # some exporters write the tied copy
    missing = sorted(set(expected) - set(found))
    unexpected = sorted(set(found) - set(expected))
    if missing or unexpected:
        raise WeightsError(
            f"weights in {path} do not match the config: "
            f"{len(missing)} missing (e.g. {missing[:3]}), {len(unexpected)} unexpected "
            f"(e.g. {unexpected[:3]})")
    wrong = [f"{k}: file {found[k]} vs config {v}" for k, v in expected.items() if found[k] != v]
    if wrong:
        raise WeightsError(f"weights in {path} do not match the config: " + "; ".join(wrong[:3]))


def load_model(config: ModelConfig, path: str | Path, require_checksum: bool = False) -> Transformer:
    """The model of `config` with the weights of `path`, checked against the file's header
    before any memory is allocated for it.

    The layer count and the embedding's shape come first, as they are read off the header
    directly; then the model is laid out on the meta device (no storage) and every name
    and shape compared. So a config.json that asks for 10**12 tokens or 10**6 layers fails
    in milliseconds instead of allocating until the machine runs out of memory, and the
    model built afterwards is no larger than the file."""
    path = Path(path)
    found = _header_shapes(path)
    layers = {int(m.group(1)) for name in found if (m := _LAYER.match(name))}
    if len(layers) != config.num_hidden_layers:
        raise WeightsError(f"weights in {path} do not match the config: the weights hold {len(layers)} "
                           f"layers but config.json says {config.num_hidden_layers}")
    embedding = found.get("model.embed_tokens.weight")
    if embedding is not None and embedding != (config.vocab_size, config.hidden_size):
        raise WeightsError(f"weights in {path} do not match the config: model.embed_tokens.weight: "
                           f"file {embedding} vs config {(config.vocab_size, config.hidden_size)}")
    with torch.device("meta"):
        layout = Transformer(config)
    _check_fit(found, _expected_shapes(layout), path, config.tie_word_embeddings)
    del layout
    model = Transformer(config)
    load_weights(model, path, require_checksum)
    return model


def load_weights(model: Transformer, path: str | Path, require_checksum: bool = False) -> None:
    """Fill `model` from `path`, casting to the model's dtype; strict about names and shapes,
    verifies the checksum beside the file (which `require_checksum` demands), and refuses
    non-finite values."""
    path = Path(path)
    _check_fit(_header_shapes(path), _expected_shapes(model), path, model.config.tie_word_embeddings)
    _verify_checksum(path, require_checksum)
    try:
        state = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as e:
        raise WeightsError(f"weights file {path} is truncated or corrupted ({e})") from None
    for name, tensor in state.items():
        if tensor.is_floating_point() and not (finite := torch.isfinite(tensor)).all():
            raise WeightsError(f"weights in {path} hold non-finite values ({int((~finite).sum())} of "
                               f"{tensor.numel()} in {name}): the file is corrupted or its training "
                               "diverged")
    with torch.no_grad():
        for name, param in model.named_parameters():
            if name in state:
                param.copy_(state[name].to(param.dtype))
