"""Reading and writing model weights as safetensors with Hugging Face Llama names.

Only safetensors are ever read (never pickles). Every way a weights file can be wrong, be
it missing, truncated, corrupted or shaped for another config, ends in a `WeightsError`
that names the file and the problem.
"""

from __future__ import annotations

from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from pycodesmall.errors import WeightsError
from pycodesmall.model import Transformer

__all__ = ["save_weights", "load_weights", "WEIGHTS_NAME"]

WEIGHTS_NAME = "model.safetensors"


def save_weights(model: Transformer, path: str | Path, dtype: torch.dtype | None = None) -> None:
    """Write `model`'s parameters; the tied `lm_head.weight` is left out, as Hugging Face does."""
    state = model.state_dict()
    if model.config.tie_word_embeddings:
        state.pop("lm_head.weight", None)
    state = {k: (v.to(dtype) if dtype is not None else v).detach().cpu().contiguous()
             for k, v in state.items()}
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    save_file(state, str(tmp), metadata={"format": "pt"})
    tmp.chmod(0o644)  # safetensors creates the file private to its owner; weights are for all
    tmp.replace(path)


def load_weights(model: Transformer, path: str | Path) -> None:
    """Fill `model` from `path`, casting to the model's dtype; strict about names and shapes."""
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"weights file {path} is missing")
    try:
        state = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as e:
        raise WeightsError(f"weights file {path} is truncated or corrupted ({e})") from None
    expected = model.state_dict()
    if model.config.tie_word_embeddings:
        expected.pop("lm_head.weight", None)
        state.pop("lm_head.weight", None)  # some exporters write the tied copy too
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    if missing or unexpected:
        raise WeightsError(
            f"weights in {path} do not match the config: "
            f"{len(missing)} missing (e.g. {missing[:3]}), {len(unexpected)} unexpected "
            f"(e.g. {unexpected[:3]})")
    wrong = [f"{k}: file {tuple(state[k].shape)} vs config {tuple(v.shape)}"
             for k, v in expected.items() if state[k].shape != v.shape]
    if wrong:
        raise WeightsError(f"weights in {path} do not match the config: " + "; ".join(wrong[:3]))
    with torch.no_grad():
        for name, param in model.named_parameters():
            if name in state:
                param.copy_(state[name].to(param.dtype))
