"""Export a trained model as a pretrained directory: config.json, model.safetensors,
tokenizer.json, loadable by `pycodesmall.load(dir)` and `transformers`.

Stands in for the library's `save_pretrained` until it lands in `pycodesmall`.
"""

from __future__ import annotations

from pathlib import Path

from safetensors.torch import save_file

from pycodesmall.model import Transformer
from pycodesmall.tokenizer import PythonTokenizer

__all__ = ["export_pretrained"]


def export_pretrained(model: Transformer, tokenizer: PythonTokenizer, directory: str | Path) -> Path:
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    model.config.save(directory)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    if model.config.tie_word_embeddings:
        del state["lm_head.weight"]  # the same tensor as model.embed_tokens.weight
    save_file(state, str(directory / "model.safetensors"), metadata={"format": "pt"})
    tokenizer.save(directory)
    return directory
