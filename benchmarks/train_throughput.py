"""Training throughput of `train.py`'s own step function in fp32, bf16 and compiled bf16,
against a plain loop over `transformers`' LlamaForCausalLM, for each preset up to `small`.

    python benchmarks/train_throughput.py [--presets nano,micro,tiny,small] [--steps 2] [--rounds 2]

Every pycodesmall variant calls `pycodesmall.training.train.train_step`, the function the
training loop calls, with its data (`Batches` over random token ids), optimizer and loss;
only `train.precision` and `train.compile` differ. The baseline is a nanoGPT-style loop over
LlamaForCausalLM built from the same `config.json`, in fp32 (eager), with the same batches,
optimizer and loss. Setting: batch 8 x 512 tokens, vocabulary 8192, one process, gradient
clipping at 1.0.

Model-FLOPs utilisation is the model's training FLOPs per token
(`pycodesmall.training.study.flops`: 6 x the linear weights, causal attention, the output
layer) times tokens/s, over the peak of a plain matrix product in the same precision,
measured here first. Each variant runs `--warmup` untimed steps (compilation included,
timed separately); then the variants of a preset take turns for `--rounds` rounds of
`--steps` timed steps, so that a change in the machine's load hits all of them alike.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
import torch
from transformers import LlamaConfig, LlamaForCausalLM

from pycodesmall.model import Transformer
from pycodesmall.training.data_loader import Batches, Split
from pycodesmall.training.distributed import Distributed
from pycodesmall.training.precision import native_bf16
from pycodesmall.training.provenance import provenance
from pycodesmall.training.study.flops import training_flops_per_token
from pycodesmall.training.train import configure_optimizer, loss_fn, train_step
from pycodesmall.training.train_config import TrainConfig

BATCH, BLOCK, VOCAB = 8, 512, 8192
PRESETS = ("nano", "micro", "tiny", "small")
VARIANTS = {"fp32": dict(precision="fp32", compile=False), "bf16": dict(precision="bf16", compile=False),
            "bf16_compiled": dict(precision="bf16", compile=True)}
CPU = Distributed(rank=0, world_size=1, device=torch.device("cpu"))


def matmul_peak(repeats: int = 5) -> dict:
    """FLOP/s of the fastest of a few plain matrix products, per precision: the peak that
    model-FLOPs utilisation is measured against."""
    shapes = [(1024, 1024, 1024), (2048, 2048, 2048), (4096, 192, 512), (4096, 384, 1024)]
    result = {}
    for name, dtype in (("fp32", torch.float32), ("bf16", torch.bfloat16)):
        rates = {}
        for m, k, n in shapes:
            a, b = torch.randn(m, k, dtype=dtype), torch.randn(k, n, dtype=dtype)
            a @ b  # warm up
            best = min(_timed(lambda: a @ b) for _ in range(repeats))
            rates[f"{m}x{k} @ {k}x{n}"] = 2 * m * k * n / best
        result[name] = {"peak_flops": max(rates.values()), "by_shape": rates}
    return result


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def training_config(preset: str, precision: str, compile_model: bool) -> TrainConfig:
    cfg = TrainConfig()
    cfg.model.preset, cfg.model.block_size = preset, BLOCK
    cfg.train.batch_size, cfg.train.grad_accum = BATCH, 1
    cfg.train.precision, cfg.train.compile = precision, compile_model
    return cfg


def pycodesmall_loop(preset: str, precision: str, compile: bool, batches: Batches):
    """The training program's step as `train.py` runs it, on one process."""
    cfg = training_config(preset, precision, compile)
    model = Transformer(cfg.model_config(VOCAB))
    optimizer = configure_optimizer(model, cfg)
    forward = torch.compile(model) if cfg.train.compile else model  # as train.py does

    def step(i: int) -> None:
        loss, _ = train_step(forward, optimizer, batches, i, cfg.optimizer.lr, cfg, CPU, cfg.train.precision)
        loss.item()
    return model, step


def transformers_loop(preset: str, batches: Batches):
    """A plain fp32 loop over LlamaForCausalLM of the same config.json."""
    cfg = training_config(preset, "fp32", False)
    model = LlamaForCausalLM(LlamaConfig.from_dict(cfg.model_config(VOCAB).to_hf_dict()))
    optimizer = configure_optimizer(model, cfg)

    def step(i: int) -> None:
        x, y = batches.micro_batch(i, 0)
        loss = loss_fn(model(input_ids=x).logits, y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.optimizer.grad_clip)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        loss.item()
    return model, step


def measure(loops: dict, warmup: int, steps: int, rounds: int) -> dict:
    results = {}
    for name, (model, step) in loops.items():
        t0 = time.time()
        for i in range(warmup):
            step(i)
        results[name] = {"parameters": sum(p.numel() for p in model.parameters()), "warmup_steps": warmup,
                         "warmup_s": time.time() - t0, "round_tokens_per_s": []}
    for r in range(rounds):
        for name, (_, step) in loops.items():
            t0 = time.time()
            for i in range(steps):
                step(warmup + r * steps + i)
            results[name]["round_tokens_per_s"].append(steps * BATCH * BLOCK / (time.time() - t0))
    for result in results.values():
        rates = result["round_tokens_per_s"]
        result["tokens_per_s"] = len(rates) / sum(1 / rate for rate in rates)  # total tokens / total time
        result["timed_steps"] = rounds * steps
    return results


def benchmark_preset(preset: str, peaks: dict, batches: Batches, args) -> dict:
    loops = {}
    for name, variant in VARIANTS.items():
        torch.manual_seed(0)
        loops[name] = pycodesmall_loop(preset, variant["precision"], variant["compile"], batches)
    torch.manual_seed(0)
    loops["transformers_fp32"] = transformers_loop(preset, batches)
    load_before = os.getloadavg()
    runs = measure(loops, args.warmup, args.steps, args.rounds)
    config = training_config(preset, "fp32", False).model_config(VOCAB)
    flops = training_flops_per_token(config, BLOCK)
    for name, run in runs.items():
        precision = "fp32" if name in ("fp32", "transformers_fp32") else "bf16"
        run["model_flops_per_s"] = flops.total * run["tokens_per_s"]
        run["mfu"] = run["model_flops_per_s"] / peaks[precision]["peak_flops"]
        run["mfu_against"] = f"{precision} matmul peak"
    rate = {name: run["tokens_per_s"] for name, run in runs.items()}
    result = {"model": config.to_hf_dict(), "flops_per_token": flops.to_dict(), "runs": runs,
              "ratios": {"bf16_vs_fp32": rate["bf16"] / rate["fp32"],
                         "bf16_vs_transformers_fp32": rate["bf16"] / rate["transformers_fp32"],
                         "compiled_vs_eager_bf16": rate["bf16_compiled"] / rate["bf16"],
                         "fp32_vs_transformers_fp32": rate["fp32"] / rate["transformers_fp32"]},
              "load_average_before": load_before, "load_average_after": os.getloadavg()}
    print(f"{preset}: " + ", ".join(f"{name} {r:.0f}" for name, r in rate.items()) + " tokens/s; "
          + ", ".join(f"{k} {v:.2f}" for k, v in result["ratios"].items()), flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", default=",".join(PRESETS))
    parser.add_argument("--steps", type=int, default=2, help="timed steps per variant and round")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--note", default="", help="what else ran on the machine meanwhile, kept with the result "
                        "beside the load averages")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "train_throughput.json"))
    args = parser.parse_args()
    presets = args.presets.split(",")
    settings = {"batch": BATCH, "block_size": BLOCK, "vocab_size": VOCAB, "presets": presets,
                "variants": VARIANTS, "baseline": "transformers LlamaForCausalLM, fp32, eager",
                "steps": args.steps, "rounds": args.rounds, "warmup": args.warmup}
    result = provenance(settings)
    result["native_bf16"] = native_bf16(CPU.device)
    t_start = time.time()
    result["load_average_before"] = os.getloadavg()
    peaks = matmul_peak()
    result["matmul"] = peaks
    print(", ".join(f"{k} matmul peak {v['peak_flops'] / 1e9:.0f} GFLOP/s" for k, v in peaks.items()), flush=True)
    tokens = np.random.default_rng(0).integers(0, VOCAB, size=2_000_000, dtype=np.uint16)
    batches = Batches(Split(tokens, len(tokens) * 3), "train", BLOCK, BATCH, seed=0)
    result["presets"] = {preset: benchmark_preset(preset, peaks, batches, args) for preset in presets}
    result["load_average_after"] = os.getloadavg()
    result["note"] = args.note
    result["wall_time_s"] = time.time() - t_start
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
