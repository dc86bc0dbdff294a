"""Export a model directory to ONNX for the ONNX Runtime backend.

The graph (`pycodesmall.onnx_graph`: the decoder in ONNX Runtime's fused operators, the KV
cache updated in place) is checked with `onnx.checker`, optimized by ONNX Runtime and
saved beside the weights (in the user cache for a model inside the package or a read-only
folder) with a JSON record of the source files' sha256 and of the graph's layout version, so a stale
export (new weights, or an export made by an older pycodesmall) is detected and re-made.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

import torch

from pycodesmall.config import ModelConfig
from pycodesmall.errors import ConfigError, MissingExtraError
from pycodesmall.onnx_graph import GRAPH_LAYOUT, OPSET, build_decoder
from pycodesmall.weights import WEIGHTS_NAME, load_model

__all__ = ["export_onnx", "current_export", "default_out_dir", "onnx_path", "require_onnxruntime",
           "DTYPES", "QUANTIZATIONS"]

DTYPES = {"fp32": torch.float32, "fp16": torch.float16}
QUANTIZATIONS = (None, "int8")


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
    """Beside the weights, except for a model inside the package (an installation's files
    are not for writing, and in a source checkout the export would land among tracked
    files) or in a read-only folder: those go to the user cache, named by source digest."""
    model_dir = Path(model_dir)
    package = Path(__file__).resolve().parent
    if os.access(model_dir, os.W_OK) and package not in model_dir.resolve().parents:
        return model_dir
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "pycodesmall" / "onnx" / (digest or source_digest(model_dir))[:16]


def current_export(model_dir: str | Path, out_dir: str | Path | None = None, dtype: str = "fp32",
                   quantize: str | None = None) -> Path | None:
    """The export of `model_dir`'s current weights in this version's graph layout, or None
    when missing or stale."""
    digest = source_digest(model_dir)
    path = onnx_path(out_dir or default_out_dir(model_dir, digest), dtype, quantize)
    try:
        record = json.loads(_record_path(path).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    if (not path.is_file() or record.get("source_sha256") != digest
            or record.get("graph_layout") != GRAPH_LAYOUT):
        return None
    return path


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
    model_dir = Path(model_dir)
    out_dir = Path(out_dir or default_out_dir(model_dir))
    if not force and (existing := current_export(model_dir, out_dir, dtype, quantize)):
        return existing
    ort = require_onnxruntime("Exporting to ONNX")
    try:
        import onnx
    except ImportError:
        raise MissingExtraError("onnx", "onnx", "Exporting to ONNX") from None
    out_dir.mkdir(parents=True, exist_ok=True)
    path = onnx_path(out_dir, dtype, quantize)
    with tempfile.TemporaryDirectory(dir=out_dir) as tmp:
        if quantize == "int8":  # from the fp32 export (made first when missing or stale)
            from onnxruntime.quantization import QuantType, quantize_dynamic

            source = Path(tmp) / "quantized.onnx"
            # DefaultTensorType: the quantizer's shape inference cannot see through ORT's
            # contrib operators, and every activation here is float32
            quantize_dynamic(export_onnx(model_dir, out_dir, force=force), source,
                             weight_type=QuantType.QInt8, op_types_to_quantize=["MatMul"],
                             extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
        else:
            config = ModelConfig.from_file(model_dir / "config.json")
            model = load_model(config, model_dir / WEIGHTS_NAME)
            source = Path(tmp) / "built.onnx"
            onnx.save(build_decoder(model, DTYPES[dtype]), source)
            onnx.checker.check_model(str(source), full_check=True)
        # Saved at the "extended" level: the "all" level adds CPU-only layout changes that
        # would tie the file to one execution provider; sessions apply those at load time.
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
        options.optimized_model_filepath = str(Path(tmp) / "optimized.onnx")
        ort.InferenceSession(str(source), options, providers=["CPUExecutionProvider"])
        Path(options.optimized_model_filepath).replace(path)
    record = {"source_sha256": source_digest(model_dir), "graph_layout": GRAPH_LAYOUT, "dtype": dtype,
              "quantize": quantize, "opset": OPSET, "onnxruntime": ort.__version__, "torch": torch.__version__}
    _record_path(path).write_text(json.dumps(record, indent=2) + "\n")
    return path
