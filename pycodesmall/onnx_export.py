"""Export a model directory to ONNX for the ONNX Runtime backend.

The graph is the decoder with the KV cache as inputs and outputs, all axes that change
between calls dynamic:

    inputs   input_ids (B, S) int64, position_ids (B, S) int64,
             attention_mask (B, 1, S, P+S) bool (True where a query may attend),
             logits_index (K,) int64 (which of the S positions get logits),
             past.{i}.key / past.{i}.value (B, n_kv_heads, P, head_dim) for each layer i
    outputs  logits (B, K, vocab) float32,
             present.{i}.key / present.{i}.value (B, n_kv_heads, P+S, head_dim)

It is traced from the same `Transformer` as the torch backend (with its fused inference
weights), checked with `onnx.checker`, optimized by ONNX Runtime and saved beside the
weights (or, when that folder is read-only, in the user cache) with a JSON record of the
source files' sha256, so a stale export is detected and re-made.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import warnings
from pathlib import Path

import torch
from torch import nn

from pycodesmall.config import ModelConfig
from pycodesmall.errors import ConfigError, MissingExtraError
from pycodesmall.model import Transformer
from pycodesmall.weights import WEIGHTS_NAME, load_weights

__all__ = ["export_onnx", "current_export", "default_out_dir", "onnx_path", "require_onnxruntime",
           "DTYPES", "QUANTIZATIONS"]

DTYPES = {"fp32": torch.float32, "fp16": torch.float16}
QUANTIZATIONS = (None, "int8")
OPSET = 18


def require_onnxruntime(purpose: str):
    """The `onnxruntime` module, or a MissingExtraError naming the extra to install."""
    try:
        import onnxruntime
    except ImportError:
        raise MissingExtraError("onnxruntime", "onnx", purpose) from None
    return onnxruntime


def onnx_path(directory: str | Path, dtype: str = "fp32", quantize: str | None = None) -> Path:
    """Where the export of one variant lives: model.onnx for fp32, model-int8.onnx, ..."""
    variant = quantize or dtype
    return Path(directory) / ("model.onnx" if variant == "fp32" else f"model-{variant}.onnx")


def _record_path(path: Path) -> Path:
    return path.with_name(path.name + ".json")


def source_digest(model_dir: str | Path) -> str:
    """sha256 of config.json and the weights: what an export must be re-made after changing."""
    digest = hashlib.sha256()
    for name in ("config.json", WEIGHTS_NAME):
        with open(Path(model_dir) / name, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def default_out_dir(model_dir: str | Path, digest: str | None = None) -> Path:
    """Beside the weights, or in the user cache when that folder is read-only (a model
    installed with the package); cache folders are named after the source digest."""
    model_dir = Path(model_dir)
    if os.access(model_dir, os.W_OK):
        return model_dir
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "pycodesmall" / "onnx" / (digest or source_digest(model_dir))[:16]


def current_export(model_dir: str | Path, out_dir: str | Path | None = None, dtype: str = "fp32",
                   quantize: str | None = None) -> Path | None:
    """The export of `model_dir`'s current weights, or None when missing or stale."""
    digest = source_digest(model_dir)
    path = onnx_path(out_dir or default_out_dir(model_dir, digest), dtype, quantize)
    try:
        record = json.loads(_record_path(path).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    if not path.is_file() or record.get("source_sha256") != digest:
        return None
    return path


class _GrowingCache:
    """A layer cache for tracing: `update` appends the new keys/values (present = past + new)."""

    def __init__(self, k: torch.Tensor, v: torch.Tensor):
        self.k, self.v = k, v

    def update(self, k: torch.Tensor, v: torch.Tensor, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        self.k, self.v = torch.cat([self.k, k], dim=2), torch.cat([self.v, v], dim=2)
        return self.k, self.v


class ExportedDecoder(nn.Module):
    """The graph's signature around `Transformer` (see the module docstring)."""

    def __init__(self, model: Transformer):
        super().__init__()
        self.model = model

    def forward(self, input_ids, position_ids, attention_mask, logits_index, past):
        caches = [_GrowingCache(k, v) for k, v in zip(past[0::2], past[1::2])]
        hidden = self.model.hidden_states(input_ids, position_ids, attention_mask, caches)
        logits = self.model.logits(hidden.index_select(1, logits_index)).float()
        return (logits, *[t for cache in caches for t in (cache.k, cache.v)])


def input_names(config: ModelConfig) -> list[str]:
    return ["input_ids", "position_ids", "attention_mask", "logits_index",
            *[f"past.{i}.{kv}" for i in range(config.num_hidden_layers) for kv in ("key", "value")]]


def output_names(config: ModelConfig) -> list[str]:
    return ["logits", *[f"present.{i}.{kv}" for i in range(config.num_hidden_layers)
                        for kv in ("key", "value")]]


def _trace(model: Transformer, path: Path) -> None:
    """torch.onnx (dynamo) export of `ExportedDecoder` with dynamic batch and sequence axes."""
    c = model.config
    dtype = next(model.parameters()).dtype
    B, S, P = 2, 3, 4  # sample sizes above 1, so that no axis is specialised
    past = tuple(torch.zeros(B, c.num_key_value_heads, P, c.head_dim, dtype=dtype)
                 for _ in range(2 * c.num_hidden_layers))
    args = (torch.zeros(B, S, dtype=torch.long), torch.arange(P, P + S).expand(B, S).contiguous(),
            torch.ones(B, 1, S, P + S, dtype=torch.bool), torch.arange(S - 2, S), past)
    dyn = torch.export.Dim.DYNAMIC
    shapes = ({0: dyn, 1: dyn}, {0: dyn, 1: dyn}, {0: dyn, 2: dyn, 3: dyn}, {0: dyn},
              tuple({0: dyn, 2: dyn} for _ in past))
    exporter_log = logging.getLogger("torch.onnx")
    level = exporter_log.level
    exporter_log.setLevel(logging.ERROR)  # notices about optional torchvision operators
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")  # the exporter's deprecation and tracing notices
            torch.onnx.export(ExportedDecoder(model), args, str(path), input_names=input_names(c),
                              output_names=output_names(c), dynamic_shapes=shapes, dynamo=True,
                              external_data=False, opset_version=OPSET, verbose=False)
    finally:
        exporter_log.setLevel(level)


def export_onnx(model_dir: str | Path, out_dir: str | Path | None = None, dtype: str = "fp32",
                quantize: str | None = None, force: bool = False) -> Path:
    """Export `model_dir` (config.json + model.safetensors) and return the .onnx path.

    An up-to-date export is reused unless `force`. `quantize="int8"` applies ONNX Runtime's
    dynamic int8 quantization to the fp32 export's MatMul weights (activations quantized
    on the fly).
    """
    if dtype not in DTYPES:
        raise ConfigError(f"unknown dtype {dtype!r}; choose from {', '.join(DTYPES)}")
    if quantize not in QUANTIZATIONS:
        raise ConfigError(f"unknown quantization {quantize!r}; the only one is 'int8'")
    if quantize is not None and dtype != "fp32":
        raise ConfigError("int8 quantization starts from the fp32 export: use --dtype fp32")
    ort = require_onnxruntime("Exporting to ONNX")
    try:
        import onnx
    except ImportError:
        raise MissingExtraError("onnx", "onnx", "Exporting to ONNX") from None
    model_dir = Path(model_dir)
    out_dir = Path(out_dir or default_out_dir(model_dir))
    out_dir.mkdir(parents=True, exist_ok=True)
    if not force and (existing := current_export(model_dir, out_dir, dtype, quantize)):
        return existing
    path = onnx_path(out_dir, dtype, quantize)
    with tempfile.TemporaryDirectory(dir=out_dir) as tmp:
        if quantize == "int8":  # from the fp32 export (made first when missing or stale)
            from onnxruntime.quantization import QuantType, quantize_dynamic

            source = Path(tmp) / "quantized.onnx"
            quantize_dynamic(export_onnx(model_dir, out_dir, force=force), source,
                             weight_type=QuantType.QInt8, op_types_to_quantize=["MatMul"])
        else:
            config = ModelConfig.from_file(model_dir / "config.json")
            model = Transformer(config)
            load_weights(model, model_dir / WEIGHTS_NAME)
            source = Path(tmp) / "traced.onnx"
            _trace(model.to(DTYPES[dtype]).eval().fuse_for_inference(), source)
            onnx.checker.check_model(str(source), full_check=True)
        # Saved at the "extended" level: the "all" level adds CPU-only layout changes that
        # would tie the file to one execution provider; sessions apply those at load time.
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
        options.optimized_model_filepath = str(Path(tmp) / "optimized.onnx")
        ort.InferenceSession(str(source), options, providers=["CPUExecutionProvider"])
        Path(options.optimized_model_filepath).replace(path)
    record = {"source_sha256": source_digest(model_dir), "dtype": dtype, "quantize": quantize,
              "opset": OPSET, "onnxruntime": ort.__version__, "torch": torch.__version__}
    _record_path(path).write_text(json.dumps(record, indent=2) + "\n")
    return path
