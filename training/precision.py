"""Training precision: fp32, or bf16 autocast where the hardware computes in bf16 natively.

Under bf16 autocast the weights, gradients and optimizer state stay fp32 and only the
matrix products (linear layers, attention) run in bf16; losses and norms stay fp32, and bf16
has fp32's exponent range, so no loss scaling is needed. `auto` takes bf16 where it is
fast: CUDA devices that support it and CPUs with native bf16 instructions (AVX512_BF16 or
AMX); elsewhere a CPU emulates bf16, slower than fp32, so `auto` takes fp32.
"""

from __future__ import annotations

import contextlib

import torch

__all__ = ["native_bf16", "resolve_precision", "autocast"]


def native_bf16(device: torch.device) -> bool:
    """Whether `device` computes bf16 products in hardware."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    # torch's own CPU feature probes (private, as inductor uses them); absent means unknown: no
    for probe in ("_is_avx512_bf16_supported", "_is_amx_tile_supported"):
        if getattr(torch.cpu, probe, lambda: False)():
            return True
    return False


def resolve_precision(precision: str, device: torch.device) -> str:
    """"fp32" or "bf16" for a config's `train.precision` ("auto", "fp32" or "bf16") on `device`."""
    if precision == "auto":
        return "bf16" if native_bf16(device) else "fp32"
    return precision


def autocast(precision: str, device: torch.device) -> contextlib.AbstractContextManager:
    """A fresh context that runs its block in `precision` ("fp32" or "bf16") on `device`."""
    if precision == "bf16":
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()
