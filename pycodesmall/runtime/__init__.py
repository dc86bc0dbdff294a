"""Inference runtime: the engine (sampling, stop rules, batching) and its backends.

A backend only runs the model: `prefill` a left-padded batch of prompts, then `step` one
token per sequence, keeping its own preallocated KV cache. Everything else lives in the
engine, so a new backend (ONNX Runtime) plugs in without touching sampling or stop logic.
"""

from pycodesmall.runtime.backend import Backend
from pycodesmall.runtime.engine import Cancelled, Engine, Generation, SamplingParams
from pycodesmall.runtime.stop_rules import StopRules

__all__ = ["Backend", "Cancelled", "Engine", "Generation", "SamplingParams", "StopRules"]
