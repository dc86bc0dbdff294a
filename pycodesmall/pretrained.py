"""`CodeModel`: a tokenizer, a model config and a runtime backend, loaded as one."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from pathlib import Path

import torch

from pycodesmall.bits_per_byte import BitsPerByte, bits_per_byte, token_logprobs
from pycodesmall.config import ModelConfig
from pycodesmall.errors import ConfigError, MissingExtraError
from pycodesmall.model import Transformer
from pycodesmall.runtime import Engine
from pycodesmall.runtime.prefix_reuse import PrefixReuse
from pycodesmall.runtime.torch_backend import TorchBackend
from pycodesmall.tokenizer import PythonTokenizer
from pycodesmall.weights import WEIGHTS_NAME, load_model, save_weights

__all__ = ["CodeModel", "pick_device", "available_memory", "BACKENDS"]

log = logging.getLogger(__name__)

BACKENDS = ("auto", "torch", "onnx", "onnx-int8")


def pick_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except RuntimeError:
        raise ConfigError(f"unknown device {device!r}; use 'auto', 'cpu' or 'cuda[:N]'") from None
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device 'cuda' was asked for but CUDA is not available")
    return resolved


def available_memory(device: torch.device) -> int | None:
    """Bytes a new allocation on `device` can take now (within a cgroup's limit on Linux),
    or None where that cannot be told."""
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return free + torch.cuda.memory_reserved(device) - torch.cuda.memory_allocated(device)
    found = []
    try:
        with open("/proc/meminfo") as f:
            found += [int(line.split()[1]) * 1024 for line in f if line.startswith("MemAvailable:")]
    except (OSError, ValueError, IndexError):
        pass
    try:
        cgroup = Path("/sys/fs/cgroup")
        limit = (cgroup / "memory.max").read_text().strip()
        if limit != "max":
            used = int((cgroup / "memory.current").read_text())
            stat = dict(line.split() for line in (cgroup / "memory.stat").read_text().splitlines())
            found.append(int(limit) - used + int(stat.get("inactive_file", 0)))  # page cache it can drop
    except (OSError, ValueError):
        pass
    return max(0, min(found)) if found else None


def _onnx_export_for(backend: str, source: Path | None, device: torch.device) -> Path | None:
    """The ONNX file to run, or None for the torch backend.

    "auto" takes ONNX Runtime on CPU when it is installed, as it decodes faster there
    (benchmarks/results/generation*.json), exporting the weights first when no up-to-date
    export exists (about a second for the bundled model); PyTorch when that cannot be done.
    "onnx" and "onnx-int8" export when needed and fail loudly. int8 costs some accuracy,
    so only an explicit "onnx-int8" uses it. On CUDA the export is fp16: ONNX Runtime's
    CUDA attention operator has no fp32 kernel.
    """
    if backend == "torch" or (backend == "auto" and (source is None or device.type != "cpu")):
        return None
    from pycodesmall import onnx_export

    if backend == "auto":
        try:
            onnx_export.require_onnxruntime("The ONNX Runtime backend")
            return onnx_export.export_onnx(source)
        except (MissingExtraError, ConfigError, OSError) as reason:
            log.info("backend 'auto' runs PyTorch: %s", reason)
            return None
    if source is None:
        raise ConfigError(f"backend {backend!r} runs an export of saved weights: save the model "
                          "with save_pretrained and load it from that directory")
    if backend == "onnx-int8":
        if device.type != "cpu":
            raise ConfigError("the int8 ONNX export runs on the CPU; use backend='onnx' on CUDA")
        return onnx_export.export_onnx(source, quantize="int8")
    return onnx_export.export_onnx(source, dtype="fp16" if device.type == "cuda" else "fp32")


class CodeModel:
    """What `pycodesmall.load` returns: tokenizer, config, weights and a ready engine."""

    def __init__(self, model: Transformer, tokenizer: PythonTokenizer, name: str = "model",
                 device: str = "cpu", backend: str = "auto", source: Path | None = None):
        """`source`: the directory the weights came from, which the ONNX backends export."""
        if model.config.vocab_size < tokenizer.vocab_size:
            raise ConfigError(f"the tokenizer has {tokenizer.vocab_size} tokens but the model "
                              f"only {model.config.vocab_size}")
        if backend not in BACKENDS:
            raise ConfigError(f"unknown backend {backend!r}; choose from {', '.join(BACKENDS)}")
        self.name = name
        self.config = model.config
        self.tokenizer = tokenizer
        self.device = pick_device(device)
        # fp32 on CPU; bf16 on GPUs that have it (fp16 otherwise), as decoding is memory-bound.
        dtype = torch.float32
        if self.device.type == "cuda":
            dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        onnx_file = _onnx_export_for(backend, source, self.device)
        if onnx_file is None:
            self.backend = TorchBackend(model, self.device, dtype)
            self._module = self.backend.model
        else:
            from pycodesmall.runtime.onnx_backend import OnnxBackend

            self.backend = OnnxBackend(onnx_file, model.config, self.device,
                                       name="onnx-int8" if backend == "onnx-int8" else "onnx")
            self._module = model.to(self.device).eval()  # for scoring and saving
        self.engine = Engine(self.backend, eos_id=tokenizer.eot_id, pad_id=tokenizer.pad_id)

    @property
    def module(self) -> Transformer:
        return self._module

    def reuse_prefixes(self) -> "CodeModel":
        """Make single-prompt requests reuse the keys and values of the beginning they share
        with the previous prompt, as an editor's consecutive requests do; returns `self`.
        For one caller at a time: the reused state belongs to the last request."""
        if not isinstance(self.engine.backend, PrefixReuse):
            self.engine.backend = PrefixReuse(self.backend)
        return self

    @property
    def context_length(self) -> int:
        return self.config.max_position_embeddings

    @classmethod
    def from_directory(cls, directory: str | Path, name: str | None = None, device: str = "auto",
                       backend: str = "auto", require_checksum: bool = False) -> "CodeModel":
        """Load a saved model; `require_checksum`: refuse weights without their checksum
        file (released models carry one, see `pycodesmall.weights`)."""
        directory = Path(directory)
        config = ModelConfig.from_file(directory / "config.json")
        tokenizer = PythonTokenizer.from_file(directory / "tokenizer.json")
        model = load_model(config, directory / WEIGHTS_NAME, require_checksum)
        return cls(model, tokenizer, name or directory.name, device, backend, source=directory)

    def save_pretrained(self, directory: str | Path, dtype: torch.dtype | None = None) -> Path:
        """Write config.json, model.safetensors (with its checksum) and tokenizer.json; `load`
        reads them back."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        config = self.config
        config.bos_token_id = None
        config.eos_token_id = self.tokenizer.eot_id
        config.pad_token_id = self.tokenizer.pad_id
        config.save(directory)
        save_weights(self.module, directory / WEIGHTS_NAME, dtype)
        self.tokenizer.save(directory)
        return directory

    @torch.inference_mode()
    def score_window(self, ids: Sequence[int]) -> list[float]:
        """Natural-log probabilities of ids[1:] given the ids before them; at most one context."""
        window = torch.tensor(list(ids), dtype=torch.long, device=self.device)
        logits = self.module(window[None])[0].float()  # (T, V)
        return torch.log_softmax(logits[:-1], dim=-1).gather(-1, window[1:, None])[:, 0].tolist()

    def score(self, ids: Sequence[int]) -> list[float]:
        """Natural-log probabilities of ids[1:], each given the ids before it, for sequences
        of any length (windowed as `pycodesmall.bits_per_byte` defines)."""
        return token_logprobs(self.score_window, ids, self.context_length)

    def bits_per_byte(self, texts: str | Iterable[str]) -> BitsPerByte:
        """Bits per byte of one text or several together (`pycodesmall.bits_per_byte`)."""
        texts = [texts] if isinstance(texts, str) else texts
        return bits_per_byte(self.score_window, self.tokenizer.encode, self.tokenizer.eot_id,
                             texts, self.context_length)

    def __repr__(self) -> str:
        params = self.config.num_parameters() / 1e6
        return (f"CodeModel({self.name!r}, {params:.1f}M parameters, tokenizer={self.tokenizer.variant}, "
                f"backend={self.backend.name}, device={self.device})")
